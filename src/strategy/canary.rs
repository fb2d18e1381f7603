//! Argo Rollouts canary (rollout/canary.go) over the replica arithmetic of `argo_canary`.
//!
//! Steps run in order: `setWeight` completes when the canary and stable are at their counts
//! for the weight (and, with traffic routing, once the router weight is set — the weight moves
//! only when the canary pods for it are available); `pause` with a duration completes strictly
//! after it, an indefinite `pause` when a human promotes (`promote_at`); `setCanaryScale` fixes
//! the canary's size (traffic routing only); an inline `analysis` step completes when its run
//! succeeds. A background analysis runs from `startingStep`. A failed analysis aborts: weight
//! back to 0 (all traffic to stable); a basic canary scales the canary down through the normal
//! arithmetic, a routed one after `abortScaleDownDelaySeconds`. After the last step the weight
//! is 100; once the canary is fully available it becomes the stable, and the previous stable is
//! scaled down (a routed canary keeps it for `scaleDownDelaySeconds`, default 30 s).
//!
//! Without traffic routing the weight is only approximated by the ratio of pods (a plain
//! Service splits by endpoints); with it, the router splits exactly.

use super::argo_canary::{
    abort_step_down_weight, at_desired_counts, resolve_argo_fenceposts, traffic_routed_counts,
    CanaryScale, RsCounts, RsCreated, TrafficRouting, TrafficWeights,
};
use super::{all_traffic_to, max_revision, newest_of, Action, Controller, Decision, IntOrPercent};
use super::{DeploymentCtx, Limit, PeakPods, StrategyConfig, StrategyDef};
use super::{Report, RsStatus, View, Wait};
use crate::analysis::{AnalysisRun, AnalysisSpec, RunPhase};
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;

/// One canary step.
#[derive(Clone, Debug, PartialEq)]
pub enum CanaryStep {
    /// `setWeight: W` (percent).
    SetWeight(u32),
    /// `pause: {duration}`, or indefinite (`None`) until a promote.
    Pause(Option<SimDuration>),
    /// `setCanaryScale`.
    SetCanaryScale(CanaryScale),
    /// An inline `analysis` step.
    Analysis(AnalysisSpec),
}

/// The canary strategy's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CanarySpec {
    /// `spec.replicas`.
    pub replicas: u32,
    /// Number of versions (length of the weight vector).
    pub versions: usize,
    /// The steps.
    pub steps: Vec<CanaryStep>,
    /// `maxSurge` (Argo default 25 %).
    pub max_surge: IntOrPercent,
    /// `maxUnavailable` (Argo default 25 %).
    pub max_unavailable: IntOrPercent,
    /// Traffic routing (`None`: a basic canary, weights approximated by pod counts).
    pub traffic_routing: Option<TrafficRouting>,
    /// Background analysis and its `startingStep`.
    pub background_analysis: Option<(AnalysisSpec, usize)>,
    /// `scaleDownDelaySeconds` for the previous stable after promotion (routed canaries).
    pub scale_down_delay: SimDuration,
    /// `abortScaleDownDelaySeconds` for a routed canary (`None`: keep the canary up).
    pub abort_scale_down_delay: Option<SimDuration>,
    /// Times a human runs `kubectl argo rollouts promote` (ends an indefinite pause).
    pub promote_at: Vec<SimTime>,
}

/// `strategy = "canary"` (Argo Rollouts).
pub const DEF: StrategyDef = StrategyDef {
    name: "canary",
    keys: &[
        "max_surge",
        "max_unavailable",
        "analysis",
        "promote_at",
        "scale_down_delay",
        "abort_scale_down_delay",
        "steps",
        "traffic_routing",
        "max_traffic_weight",
        "min_pods_per_replica_set",
        "dynamic_stable_scale",
    ],
    title: None,
    foreign_key_help: super::no_foreign_key_help,
    resolve: super::canary_settings::resolve,
};

impl StrategyConfig for CanarySpec {
    fn output_name(&self) -> &'static str {
        if self.traffic_routing.is_some() {
            "canary"
        } else {
            "canary_basic"
        }
    }
    fn build(&self, d: &DeploymentCtx) -> Box<dyn Controller> {
        Box::new(Canary::new(self.clone(), d.initial))
    }
    /// Without traffic routing, the replicas plus Argo's resolved maxSurge; with it, a canary
    /// that may grow to the stable's size beside it.
    fn peak_pods(&self, replicas: u32) -> PeakPods {
        if self.traffic_routing.is_some() {
            return PeakPods::stable_and_canary(replicas);
        }
        let (surge, _) = super::argo_canary::resolve_argo_fenceposts(
            Some(self.max_surge),
            Some(self.max_unavailable),
            replicas,
        );
        PeakPods::surge(replicas, surge)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Stage {
    Steady,
    Stepping,
    Promoted { at: SimTime },
    Done,
    Aborted { at: SimTime },
}

/// The canary controller.
#[derive(Clone, Debug)]
pub struct Canary {
    spec: CanarySpec,
    stable: VersionId,
    target: VersionId,
    stage: Stage,
    step: usize,
    step_started: SimTime,
    paused_reported: bool,
    inline: Option<AnalysisRun>,
    background: Option<AnalysisRun>,
    router: Option<TrafficWeights>,
    pending: Option<Decision>,
}

fn counts(r: Option<&RsStatus>) -> RsCounts {
    r.map_or(
        RsCounts {
            spec: 0,
            available: 0,
        },
        |r| RsCounts {
            spec: r.spec,
            available: r.available,
        },
    )
}

impl Canary {
    /// A controller whose stable version is `stable`.
    pub fn new(spec: CanarySpec, stable: VersionId) -> Self {
        Canary {
            spec,
            stable,
            target: stable,
            stage: Stage::Steady,
            step: 0,
            step_started: SimTime::ZERO,
            paused_reported: false,
            inline: None,
            background: None,
            router: None,
            pending: None,
        }
    }

    fn fenceposts(&self) -> (u32, u32) {
        resolve_argo_fenceposts(
            Some(self.spec.max_surge),
            Some(self.spec.max_unavailable),
            self.spec.replicas,
        )
    }

    fn abort(&mut self, d: &mut Decision, now: SimTime, why: &'static str) {
        self.stage = Stage::Aborted { at: now };
        d.reports.push(Report::Aborted);
        d.why.set(crate::why!("abort: {}; weight back to 0", why));
        // A stable at full size takes all traffic back at once; one scaled down by
        // dynamicStableScale gets it back step by step as it scales up (see `aborted`).
        if self
            .spec
            .traffic_routing
            .is_some_and(|t| !t.dynamic_stable_scale)
        {
            self.set_router(d, 0);
        }
        d.requeue_at = Some(now);
    }

    /// An aborted rollout: scale the stable back, move traffic back, scale the canary down.
    fn aborted(
        &mut self,
        d: &mut Decision,
        now: SimTime,
        at: SimTime,
        stable: Option<&RsStatus>,
        canary: &RsStatus,
    ) {
        let r = self.spec.replicas;
        let want = match self.spec.traffic_routing {
            None => self.desired(stable, Some(canary), 0),
            Some(routing) if routing.dynamic_stable_scale => {
                // Argo steps the weight back down through the setWeight steps as the stable's
                // available pods grow, keeping the canary large enough for the weight it still
                // gets (utils/replicaset/canary.go, GetDesiredCanaryWeight on abort).
                let set_weights: Vec<u32> = self
                    .spec
                    .steps
                    .iter()
                    .filter_map(|s| match s {
                        CanaryStep::SetWeight(w) => Some(*w),
                        _ => None,
                    })
                    .collect();
                let stable_available = stable.map_or(0, |s| s.available);
                let w = abort_step_down_weight(
                    r,
                    routing.max_weight,
                    &set_weights,
                    stable_available,
                    canary.available,
                    false,
                );
                let current = self.router.map_or(0, |x| x.canary);
                if w < current {
                    self.set_router(d, w);
                }
                let (c, _) = traffic_routed_counts(
                    r,
                    &routing,
                    w,
                    CanaryScale::MatchTrafficWeight,
                    self.router,
                    true,
                );
                (c, r)
            }
            Some(_) => match self.spec.abort_scale_down_delay {
                Some(delay) if now >= at + delay => (0, r),
                Some(delay) => {
                    merge_requeue(d, Some(at + delay));
                    (canary.spec, r)
                }
                None => (canary.spec, r),
            },
        };
        Self::scale_toward(d, stable, canary, want);
    }

    /// Applies one scale move toward `(want_canary, want_stable)`: stable first, then canary.
    fn scale_toward(
        d: &mut Decision,
        stable: Option<&RsStatus>,
        canary: &RsStatus,
        want: (u32, u32),
    ) -> bool {
        let moves = [(stable, want.1, "stable"), (Some(canary), want.0, "canary")];
        for (rs, target, role) in moves {
            if let Some(rs) = rs.filter(|rs| rs.spec != target) {
                d.actions.push(Action::Scale {
                    rs: rs.id,
                    replicas: target,
                });
                d.why.push(crate::why!(
                    "scale the {} ReplicaSet {}→{}",
                    role,
                    rs.spec,
                    target
                ));
                return true;
            }
        }
        false
    }

    fn run_background(&mut self, d: &mut Decision, view: &View<'_>) -> bool {
        let Some((spec, starting)) = self.spec.background_analysis.clone() else {
            return false;
        };
        if self.step < starting {
            return false;
        }
        if self.background.is_none() {
            d.reports.push(Report::AnalysisStarted("background"));
        }
        let run = self.background.get_or_insert_with(|| {
            AnalysisRun::start(spec, self.target, Some(self.stable), view.now)
        });
        match run.advance(view.now, view.monitor) {
            RunPhase::Failed => {
                d.reports
                    .push(Report::AnalysisDone("background", RunPhase::Failed));
                self.abort(d, view.now, "background analysis failed");
                true
            }
            phase => {
                if phase == RunPhase::Running {
                    merge_requeue(d, run.due());
                }
                false
            }
        }
    }

    /// Whether the current step is complete; may start runs, report pauses, set requeues.
    fn step_complete(
        &mut self,
        d: &mut Decision,
        view: &View<'_>,
        at_counts: bool,
    ) -> Option<bool> {
        let now = view.now;
        match self.spec.steps[self.step].clone() {
            CanaryStep::SetWeight(_) | CanaryStep::SetCanaryScale(_) => Some(at_counts),
            CanaryStep::Pause(Some(dur)) => {
                let end = self.step_started + dur;
                if now > end {
                    Some(true)
                } else {
                    merge_requeue(d, Some(end + SimDuration::from_micros(1)));
                    d.why.set(crate::why!("pause {} (until {})", dur, end));
                    d.wait = Wait::Pause;
                    Some(false)
                }
            }
            CanaryStep::Pause(None) => {
                let promoted = self
                    .spec
                    .promote_at
                    .iter()
                    .any(|t| *t >= self.step_started && *t <= now);
                if promoted {
                    return Some(true);
                }
                if !self.paused_reported {
                    self.paused_reported = true;
                    d.reports.push(Report::Paused);
                }
                let next = self
                    .spec
                    .promote_at
                    .iter()
                    .copied()
                    .filter(|t| *t > now)
                    .min();
                merge_requeue(d, next);
                d.why.set("paused indefinitely: waiting for a promote");
                d.wait = Wait::Pause;
                Some(false)
            }
            CanaryStep::Analysis(spec) => {
                if self.inline.is_none() {
                    d.reports.push(Report::AnalysisStarted("inline"));
                }
                let run = self.inline.get_or_insert_with(|| {
                    AnalysisRun::start(spec, self.target, Some(self.stable), now)
                });
                match run.advance(now, view.monitor) {
                    RunPhase::Successful => {
                        self.inline = None;
                        d.reports
                            .push(Report::AnalysisDone("inline", RunPhase::Successful));
                        Some(true)
                    }
                    RunPhase::Failed => {
                        d.reports
                            .push(Report::AnalysisDone("inline", RunPhase::Failed));
                        self.abort(d, now, "inline analysis failed");
                        None
                    }
                    RunPhase::Inconclusive => {
                        if !self.paused_reported {
                            self.paused_reported = true;
                            d.reports
                                .push(Report::AnalysisDone("inline", RunPhase::Inconclusive));
                            d.reports.push(Report::Paused);
                        }
                        d.why.set("paused: analysis inconclusive");
                        d.wait = Wait::Pause;
                        Some(false)
                    }
                    RunPhase::Running => {
                        merge_requeue(d, run.due());
                        d.why
                            .set(crate::why!("analysis step: {} measurements", run.taken()));
                        d.wait = Wait::Analysis;
                        Some(false)
                    }
                }
            }
        }
    }
}

fn merge_requeue(d: &mut Decision, at: Option<SimTime>) {
    if let Some(at) = at {
        d.requeue_at = Some(d.requeue_at.map_or(at, |r| r.min(at)));
    }
}

impl Controller for Canary {
    fn replicas(&self) -> u32 {
        self.spec.replicas
    }

    fn initial_weights(&self) -> Option<Vec<u32>> {
        self.spec
            .traffic_routing
            .map(|_| all_traffic_to(self.spec.versions, self.stable))
    }

    fn start(&mut self, target: VersionId, now: SimTime) {
        // A later rollout (`[[steps]]`) starts afresh from the stable (last promoted) version.
        self.target = target;
        self.stage = Stage::Stepping;
        self.step = 0;
        self.step_started = now;
        self.paused_reported = false;
        self.inline = None;
        self.background = None;
        self.pending = None;
        if self.spec.traffic_routing.is_some() {
            self.router = Some(TrafficWeights {
                canary: 0,
                stable: self.max_weight(),
            });
        }
    }

    fn undo(&mut self, _rss: &[RsStatus], now: SimTime) -> bool {
        if matches!(self.stage, Stage::Stepping) {
            let mut d = Decision::default();
            self.abort(&mut d, now, "manual abort");
            self.pending = Some(d);
            return true;
        }
        false
    }

    fn reconcile(&mut self, view: &View<'_>) -> Decision {
        let mut d = self.pending.take().unwrap_or_default();
        let now = view.now;
        let rss = view.replica_sets;
        if matches!(self.stage, Stage::Steady | Stage::Done) {
            return d;
        }
        let Some(canary) = newest_of(rss, self.target).cloned() else {
            d.actions.push(Action::CreateReplicaSet {
                version: self.target,
                replicas: 0,
                revision: max_revision(rss) + 1,
            });
            d.why.set("create the canary ReplicaSet");
            return d;
        };
        let stable = newest_of(rss, self.stable).cloned();
        let older: Vec<&RsStatus> = rss
            .iter()
            .filter(|r| r.id != canary.id && stable.as_ref().is_none_or(|s| s.id != r.id))
            .collect();
        if let Stage::Promoted { at } = self.stage {
            let delay = if self
                .spec
                .traffic_routing
                .is_some_and(|t| !t.dynamic_stable_scale)
            {
                self.spec.scale_down_delay
            } else {
                SimDuration::ZERO
            };
            let old: Vec<&RsStatus> = rss.iter().filter(|r| r.id != canary.id).collect();
            if old.iter().any(|r| r.spec > 0) {
                if now < at + delay {
                    d.requeue_at = Some(at + delay);
                    d.wait = Wait::ScaleDownDelay;
                    d.why.set(crate::why!(
                        "keep the previous stable for scaleDownDelaySeconds ({})",
                        delay
                    ));
                } else {
                    for r in old.iter().filter(|r| r.spec > 0) {
                        d.actions.push(Action::Scale {
                            rs: r.id,
                            replicas: 0,
                        });
                    }
                    d.why.set("scale the previous stable down");
                }
            } else if old.iter().all(|r| r.replicas == 0) {
                self.stage = Stage::Done;
                d.reports.push(Report::Completed);
                d.why.set("complete: the canary is the stable");
            }
            return d;
        }
        // Older ReplicaSets (neither stable nor canary) head for 0 first.
        if let Some(o) = older.iter().find(|r| r.spec > 0) {
            d.actions.push(Action::Scale {
                rs: o.id,
                replicas: 0,
            });
            d.why.set("scale an older ReplicaSet to 0");
            return d;
        }
        if let Stage::Aborted { at } = self.stage {
            self.aborted(&mut d, now, at, stable.as_ref(), &canary);
            return d;
        }
        if self.run_background(&mut d, view) {
            return d;
        }
        let want = self.desired(stable.as_ref(), Some(&canary), 0);
        let at_counts = at_desired_counts(
            want.0,
            want.1,
            counts(Some(&canary)),
            stable.as_ref().map(|s| RsCreated {
                spec: s.spec,
                replicas: s.replicas,
            }),
            0,
            self.spec.traffic_routing.as_ref(),
        );
        // With traffic routing the router is reconciled before the ReplicaSets, from the counts
        // as they are (Argo's order: reconcileTrafficRouting, then the replica moves).
        let routed = self.spec.traffic_routing.is_some();
        if routed {
            let w = self.router_target(&canary, at_counts);
            self.set_router(&mut d, w);
        }
        let moved = Self::scale_toward(&mut d, stable.as_ref(), &canary, want);
        if moved {
            return d;
        }
        if self.step >= self.spec.steps.len() {
            // Full promotion once the canary is fully available.
            if canary.available >= self.spec.replicas {
                self.stage = Stage::Promoted { at: now };
                self.stable = self.target;
                self.background = None;
                d.reports.push(Report::Promoted);
                d.why.set("fully promoted: the canary becomes the stable");
                d.requeue_at = Some(now);
            } else if d.why.is_empty() {
                d.why.set(crate::why!(
                    "wait: canary {}/{} available",
                    canary.available,
                    self.spec.replicas
                ));
            }
            return d;
        }
        // The router holds the weight just reconciled (verified at once here).
        match self.step_complete(&mut d, view, at_counts) {
            Some(true) => {
                if matches!(self.spec.steps[self.step], CanaryStep::Pause(_)) {
                    d.reports.push(Report::PauseEnded);
                }
                self.step += 1;
                self.step_started = now;
                self.paused_reported = false;
                if let Some(CanaryStep::Pause(Some(dur))) = self.spec.steps.get(self.step) {
                    d.reports.push(Report::PauseStarted(*dur));
                }
                d.why.push(crate::why!(
                    "step {} of {} complete",
                    self.step,
                    self.spec.steps.len()
                ));
                d.requeue_at = Some(now);
            }
            Some(false) if d.why.is_empty() => {
                d.why.set(crate::why!(
                    "step {}: waiting for counts {}/{}",
                    self.step + 1,
                    want.0,
                    want.1
                ));
            }
            _ => {}
        }
        d
    }

    fn limits(&self) -> Vec<Limit> {
        super::canary_limits::limits(&self.spec, self.fenceposts())
    }
}

/// The weight and count side of the controller (`trafficrouting.go`), in its own file.
#[path = "canary_weights.rs"]
mod weights;

#[cfg(test)]
#[path = "canary_tests.rs"]
mod tests;
