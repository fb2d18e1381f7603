//! Driving a feature flag: publishing rule changes on schedule, each pod's SDK learning them
//! after its own delay, the kill switch (timed, or thrown by the flag's analysis), and choosing
//! the variant a request runs.

use super::{Event, Simulation};
use crate::analysis::{AnalysisRun, RunPhase};
use crate::engine::SimTime;
use crate::flags::FlagRules;
use crate::model::{Phase, PodId, VersionId};

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
        let rules = match change {
            FlagChange::Step(i) => spec.schedule[i].1.clone(),
            FlagChange::Kill => {
                self.rollout.abort.get_or_insert(now);
                FlagRules {
                    killed: true,
                    ..current
                }
            }
        };
        if self.flag_rules.len() == 1 && self.scenario.rollout.is_none() {
            self.rollout.start.get_or_insert(now);
        }
        if rules.percent >= 100.0 && !rules.killed && self.scenario.rollout.is_none() {
            self.rollout.end = Some(now);
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

    pub(super) fn flag_sync(&mut self, pod: PodId, rev: u32) {
        let p = &mut self.cluster.pods[pod.index()];
        p.flag_rev = p.flag_rev.max(rev);
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
