//! Driving a feature flag: publishing rule changes on schedule, each pod's SDK learning them
//! after its own delay, the kill switch (timed, or thrown by the flag's analysis), and choosing
//! the variant a request runs.
//!
//! What the flag's release *did* is measured from the rules the pods' SDKs had applied, not
//! from when the rules were published (LaunchDarkly's server SDKs evaluate locally against
//! the last rules they streamed or polled): the variant serves while some listening pod's SDK
//! gives the path to someone, its base version while some pod's SDK withholds it from
//! someone, and the release ends when every such pod runs the 100 % rules.

use super::{Event, Simulation};
use crate::analysis::{AnalysisRun, RunPhase};
use crate::engine::SimTime;
use crate::flags::FlagRules;
use crate::metrics::{EventDetail, EventKind};
use crate::model::{Phase, PodId, VersionId};

/// Whether `rules` give the path to some users.
fn on_for_some(rules: &FlagRules) -> bool {
    !rules.killed && (rules.internal || rules.beta || rules.percent > 0.0)
}

/// Whether `rules` withhold the path from some users.
fn off_for_some(rules: &FlagRules) -> bool {
    rules.killed || rules.percent < 100.0
}

/// What happens to the flag's rules.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FlagChange {
    /// Schedule step `i` takes effect.
    Step(usize),
    /// The kill switch is thrown.
    Kill,
}

impl Simulation {
    /// Schedules the flag's steps, kill switch and analysis.
    pub(super) fn schedule_flag(&mut self) {
        let Some(f) = self.flag.as_ref().map(|f| f.spec().clone()) else {
            return;
        };
        for (i, (at, _)) in f.schedule.iter().enumerate() {
            self.queue.schedule(*at, Event::Flag(FlagChange::Step(i)));
        }
        if let Some(at) = f.kill_at {
            self.queue.schedule(at, Event::Flag(FlagChange::Kill));
        }
    }

    pub(super) fn flag_change(&mut self, now: SimTime, change: FlagChange) {
        let Some(spec) = self.flag.as_ref().map(|f| f.spec().clone()) else {
            return;
        };
        let current = self.flag_rules.last().cloned().unwrap_or(FlagRules::DARK);
        if current.killed {
            return; // a thrown kill switch stays thrown
        }
        let flag_only = self.scenario.rollout.is_none();
        let rules = match change {
            FlagChange::Step(i) => spec.schedule[i].1.clone(),
            FlagChange::Kill => {
                self.rollout.flag.killed.get_or_insert(now);
                if flag_only {
                    self.rollout.abort.get_or_insert(now);
                }
                FlagRules {
                    killed: true,
                    ..current
                }
            }
        };
        let (kind, detail) = if rules.killed {
            (EventKind::FlagKilled, EventDetail::None)
        } else {
            (
                EventKind::FlagPublished,
                EventDetail::FlagPercent(rules.percent),
            )
        };
        self.rollout.note(now, kind, detail);
        if on_for_some(&rules) {
            self.rollout.flag.start.get_or_insert(now);
            if flag_only {
                self.rollout.start.get_or_insert(now);
            }
        }
        if rules.percent >= 100.0 && !rules.killed {
            self.rollout.flag.full_published.get_or_insert(now);
        }
        if let (Some(a), None) = (&spec.analysis, &self.flag_run) {
            if rules.internal || rules.beta || rules.percent > 0.0 {
                let baseline = spec.in_versions.first().copied();
                let run = AnalysisRun::start(a.clone(), spec.variant, baseline, now);
                if let Some(t) = run.due() {
                    self.queue.schedule(t, Event::FlagAnalysis);
                }
                self.flag_run = Some(run);
            }
        }
        self.flag_rules.push(rules);
        self.recount_serving_versions(now);
        let rev = (self.flag_rules.len() - 1) as u32;
        self.cluster.flag_rev = rev;
        for i in 0..self.cluster.pods.len() {
            if self.cluster.pods[i].phase == Phase::Running {
                let delay = spec.propagation.sample(&mut self.control);
                let pod = PodId(i as u32);
                self.queue
                    .schedule(now + delay, Event::FlagSync { pod, rev });
            }
        }
    }

    pub(super) fn flag_sync(&mut self, now: SimTime, pod: PodId, rev: u32) {
        let p = &mut self.cluster.pods[pod.index()];
        if rev > p.flag_rev {
            p.flag_rev = rev;
            self.recount_serving_versions(now);
        }
    }

    /// Variants serving now: the versions the balancer sends traffic to, with a flag's variant
    /// and the versions it ships in counted apart by the rules their listening pods' SDKs hold.
    /// Feeds `mixed_version_s`, the flag's own mixed seconds and the flag release's end.
    pub(super) fn recount_serving_versions(&mut self, now: SimTime) {
        let lb = &self.lb;
        let receiving = |v: usize| {
            lb.endpoints_of(VersionId(v as u16)) > 0
                && lb
                    .weights()
                    .is_none_or(|w| w.get(v).copied().unwrap_or(0) > 0)
        };
        let Some(spec) = self.flag.as_ref().map(|f| f.spec()) else {
            let n = self.lb.versions_receiving_traffic();
            self.metrics.serving_versions(now, n);
            return;
        };
        let versions = self.scenario.versions.len();
        let mut serving = 0u64; // bitmask over version slots (as the recorder's, capped)
        for v in 0..versions {
            if receiving(v) {
                serving |= 1 << v.min(63);
            }
        }
        let (mut variant_on, mut base_on) = (false, false);
        for v in &spec.in_versions {
            if serving & (1 << v.index().min(63)) == 0 {
                continue;
            }
            let (mut on, mut off) = (false, false);
            for p in &self.cluster.pods {
                if p.version == *v && p.phase == Phase::Running && p.listening {
                    let rules =
                        &self.flag_rules[(p.flag_rev as usize).min(self.flag_rules.len() - 1)];
                    on |= on_for_some(rules);
                    off |= off_for_some(rules);
                }
            }
            if !off {
                serving &= !(1 << v.index().min(63));
            }
            variant_on |= on;
            base_on |= off;
        }
        if variant_on {
            serving |= 1 << spec.variant.index().min(63);
        }
        self.metrics
            .serving_versions(now, serving.count_ones() as usize);
        self.metrics.flag_mixed(now, variant_on && base_on);
        let f = &mut self.rollout.flag;
        if f.full_published.is_some()
            && f.killed.is_none()
            && f.end.is_none()
            && variant_on
            && !base_on
        {
            f.end = Some(now);
            if self.scenario.rollout.is_none() {
                self.rollout.end = Some(now);
            }
        }
    }

    pub(super) fn flag_analysis(&mut self, now: SimTime) {
        let Some(run) = self.flag_run.as_mut() else {
            return;
        };
        match run.advance(now, &self.monitor) {
            RunPhase::Running => {
                if let Some(t) = run.due() {
                    self.queue.schedule(t, Event::FlagAnalysis);
                }
            }
            RunPhase::Failed => self.flag_change(now, FlagChange::Kill),
            _ => {}
        }
    }

    /// The variant `user` runs on `pod` now: the flag's variant if the pod's SDK says so.
    pub(super) fn variant_for(&mut self, pod: PodId, user: u32) -> VersionId {
        let p = &self.cluster.pods[pod.index()];
        let (version, rev) = (p.version, p.flag_rev as usize);
        match self.flag.as_mut() {
            Some(f) if user != u32::MAX => {
                let rules = &self.flag_rules[rev.min(self.flag_rules.len() - 1)];
                if f.on(rules, version, user) {
                    f.spec().variant
                } else {
                    version
                }
            }
            _ => version,
        }
    }
}
