//! Argo Rollouts blue-green (rollout/bluegreen.go, utils/replicaset/bluegreen.go):
//!
//! * the new ReplicaSet comes up behind the **preview** service at `previewReplicaCount`
//!   (default: full size) while the **active** service keeps every production request on the
//!   stable ReplicaSet, which stays at `replicas` throughout;
//! * nothing happens until the preview is fully available; then an optional smoke test (a
//!   synthetic load sent only to the preview, standing in for a test Job) and
//!   **pre-promotion analysis** must pass; failure aborts;
//! * then the pause: `autoPromotionEnabled: false` waits for a promote (`promote_at`),
//!   `autoPromotionSeconds` waits that long; the preview is scaled to full size if it was not;
//! * the **switch** is one atomic selector change — all traffic to the new version — which the
//!   balancer still learns only after its propagation delay;
//! * **post-promotion analysis** runs after the switch; failure aborts back to the old
//!   ReplicaSet, which is still running (it is not scaled down while the analysis runs);
//! * the old ReplicaSet is scaled down `scaleDownDelaySeconds` (default 30 s) after the switch,
//!   so a rollback inside that window is instant; after an abort the preview is scaled down
//!   after `abortScaleDownDelaySeconds` (default 30 s; `None` keeps it).

use super::{
    all_traffic_to, newest_of, Action, Controller, Decision, Limit, Report, RsStatus, Wait,
};
use super::{settings, DeploymentCtx, PeakPods, StrategyConfig, StrategyDef, StrategySpec, View};
use crate::analysis::{AnalysisRun, AnalysisSpec, RunPhase};
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;
use crate::scenario::RolloutInput;

/// A smoke test: synthetic requests sent only to the preview.
#[derive(Clone, Debug, PartialEq)]
pub struct SmokeTest {
    /// How many requests.
    pub requests: u32,
    /// Spread evenly over this long.
    pub over: SimDuration,
}

/// The blue-green strategy's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct BlueGreenSpec {
    /// `spec.replicas`.
    pub replicas: u32,
    /// Number of versions (length of the weight vector).
    pub versions: usize,
    /// `previewReplicaCount` (`None`: full size).
    pub preview_replicas: Option<u32>,
    /// `autoPromotionEnabled`.
    pub auto_promotion: bool,
    /// `autoPromotionSeconds` (zero: promote as soon as ready).
    pub auto_promotion_after: SimDuration,
    /// A human's `kubectl argo rollouts promote`, when auto-promotion is off.
    pub promote_at: Option<SimTime>,
    /// `scaleDownDelaySeconds`.
    pub scale_down_delay: SimDuration,
    /// `abortScaleDownDelaySeconds` (`None`: keep the preview after an abort).
    pub abort_scale_down_delay: Option<SimDuration>,
    /// Smoke test against the preview before promotion.
    pub smoke_test: Option<SmokeTest>,
    /// `prePromotionAnalysis`.
    pub pre_promotion: Option<AnalysisSpec>,
    /// `postPromotionAnalysis`.
    pub post_promotion: Option<AnalysisSpec>,
}

/// `strategy = "blue_green"`.
pub const DEF: StrategyDef = StrategyDef {
    name: "blue_green",
    keys: &[
        "preview_replicas",
        "auto_promotion",
        "auto_promotion_after",
        "smoke_test",
        "pre_promotion_analysis",
        "post_promotion_analysis",
        "promote_at",
        "scale_down_delay",
        "abort_scale_down_delay",
    ],
    title: None,
    foreign_key_help: super::no_foreign_key_help,
    resolve,
};

/// Resolves `strategy = "blue_green"`: the preview's size, promotion (automatic after a delay,
/// or at `promote_at`), Argo's scale-down delays, a smoke test and the two analyses.
fn resolve(inp: &mut RolloutInput<'_, '_>) -> Option<StrategySpec> {
    let (r, replicas) = (inp.raw(), inp.replicas());
    let preview = r.preview_replicas.map(|n| {
        inp.count(
            &["preview_replicas"],
            Some(n),
            replicas,
            1,
            i64::from(replicas.max(1)),
        )
    });
    let smoke_test = r.smoke_test.as_ref().and_then(|s| {
        let over = inp.duration(&["smoke_test", "over"], &s.over)?;
        Some(SmokeTest {
            requests: inp.count(
                &["smoke_test", "requests"],
                Some(s.requests),
                1,
                1,
                10_000_000,
            ),
            over,
        })
    });
    let auto_promotion_after = inp.opt_duration(
        &["auto_promotion_after"],
        &r.auto_promotion_after,
        SimDuration::ZERO,
    );
    let promote_at = settings::promote_times(inp).first().copied();
    let scale_down_delay = settings::scale_down_delay(inp);
    let abort_scale_down_delay = settings::abort_delay(inp);
    let pre_promotion = settings::analysis(
        inp,
        "pre_promotion_analysis",
        &r.pre_promotion_analysis,
        Some(3),
    );
    let post_promotion = settings::analysis(
        inp,
        "post_promotion_analysis",
        &r.post_promotion_analysis,
        Some(3),
    );
    Some(StrategySpec::new(BlueGreenSpec {
        replicas,
        versions: inp.versions(),
        preview_replicas: preview,
        auto_promotion: r.auto_promotion.unwrap_or(true),
        auto_promotion_after,
        promote_at,
        scale_down_delay,
        abort_scale_down_delay,
        smoke_test,
        pre_promotion,
        post_promotion,
    }))
}

impl StrategyConfig for BlueGreenSpec {
    fn output_name(&self) -> &'static str {
        "blue_green"
    }
    fn build(&self, d: &DeploymentCtx) -> Box<dyn Controller> {
        Box::new(BlueGreen::new(self.clone(), d.initial))
    }
    /// The active set plus the preview set (`previewReplicaCount`, default all replicas).
    fn peak_pods(&self, replicas: u32) -> PeakPods {
        let preview = self.preview_replicas.unwrap_or(replicas);
        PeakPods {
            pods: u64::from(replicas) + u64::from(preview),
            why: format!("{replicas} active + {preview} preview replicas"),
            at: &["rollout", "strategy"],
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Stage {
    Steady,
    Preview,
    Switched { at: SimTime },
    Promoted { at: SimTime },
    Done,
    Aborted { at: SimTime },
}

/// The blue-green controller.
#[derive(Clone, Debug)]
pub struct BlueGreen {
    spec: BlueGreenSpec,
    stable: VersionId,
    target: VersionId,
    stage: Stage,
    checkpoint: bool,
    smoke_started: bool,
    pause_started: Option<SimTime>,
    paused_reported: bool,
    /// The pre-promotion run's success was reported (it is re-read at each reconcile).
    pre_reported: bool,
    pre: Option<AnalysisRun>,
    post: Option<AnalysisRun>,
    /// A decision made outside reconcile (a manual abort), applied at the next reconcile.
    pending: Option<Decision>,
}

impl BlueGreen {
    /// A controller whose active service points at `stable`.
    pub fn new(spec: BlueGreenSpec, stable: VersionId) -> Self {
        BlueGreen {
            spec,
            stable,
            target: stable,
            stage: Stage::Steady,
            checkpoint: false,
            smoke_started: false,
            pause_started: None,
            paused_reported: false,
            pre_reported: false,
            pre: None,
            post: None,
            pending: None,
        }
    }

    fn weights_to(&self, v: VersionId) -> Action {
        Action::SetWeights(Some(all_traffic_to(self.spec.versions, v)))
    }

    fn abort(&mut self, d: &mut Decision, now: SimTime, why: &'static str) {
        d.actions.push(self.weights_to(self.stable));
        d.reports.push(Report::Aborted);
        d.why.set(crate::why!(
            "abort: {}; active service back to the stable version",
            why
        ));
        self.stage = Stage::Aborted { at: now };
        if let Some(delay) = self.spec.abort_scale_down_delay {
            d.requeue_at = Some(now + delay);
        }
    }

    fn preview_size(&self) -> u32 {
        if self.checkpoint {
            self.spec.replicas
        } else {
            self.spec
                .preview_replicas
                .unwrap_or(self.spec.replicas)
                .min(self.spec.replicas)
        }
    }

    /// Before the switch: preview up, smoke test, pre-promotion analysis, pause, full size.
    fn before_switch(&mut self, view: &View<'_>, new: &RsStatus, d: &mut Decision) {
        let now = view.now;
        let size = self.preview_size();
        if new.spec != size {
            d.actions.push(Action::Scale {
                rs: new.id,
                replicas: size,
            });
            d.why
                .set(crate::why!("scale the preview ReplicaSet to {}", size));
            return;
        }
        if new.available < size {
            d.why.set(crate::why!(
                "wait: preview {}/{} available",
                new.available,
                size
            ));
            return;
        }
        if !self.checkpoint {
            if let Some(smoke) = self.spec.smoke_test.clone() {
                if !self.smoke_started {
                    self.smoke_started = true;
                    d.actions.push(Action::SmokeTest {
                        version: self.target,
                        requests: smoke.requests,
                        over: smoke.over,
                    });
                }
            }
            if let Some(spec) = self.spec.pre_promotion.clone() {
                if self.pre.is_none() {
                    d.reports.push(Report::AnalysisStarted("pre-promotion"));
                }
                let run = self.pre.get_or_insert_with(|| {
                    AnalysisRun::start(spec, self.target, Some(self.stable), now)
                });
                match run.advance(now, view.monitor) {
                    RunPhase::Running => {
                        d.requeue_at = run.due();
                        d.why.set(crate::why!(
                            "pre-promotion analysis: {} measurements taken",
                            run.taken()
                        ));
                        d.wait = Wait::Analysis;
                        return;
                    }
                    RunPhase::Failed => {
                        d.reports
                            .push(Report::AnalysisDone("pre-promotion", RunPhase::Failed));
                        return self.abort(d, now, "pre-promotion analysis failed");
                    }
                    RunPhase::Inconclusive => {
                        if !self.paused_reported {
                            self.paused_reported = true;
                            d.reports.push(Report::AnalysisDone(
                                "pre-promotion",
                                RunPhase::Inconclusive,
                            ));
                            d.reports.push(Report::Paused);
                        }
                        d.why.set("paused: pre-promotion analysis inconclusive");
                        d.wait = Wait::Pause;
                        return;
                    }
                    RunPhase::Successful => {
                        if !self.pre_reported {
                            self.pre_reported = true;
                            d.reports
                                .push(Report::AnalysisDone("pre-promotion", RunPhase::Successful));
                        }
                    }
                }
            }
            if !self.spec.auto_promotion {
                match self.spec.promote_at {
                    Some(t) if now >= t => {}
                    other => {
                        if !self.paused_reported {
                            self.paused_reported = true;
                            d.reports.push(Report::Paused);
                        }
                        d.requeue_at = other;
                        d.why.set("paused (BlueGreenPause): waiting for a promote");
                        d.wait = Wait::Pause;
                        return;
                    }
                }
            } else if !self.spec.auto_promotion_after.is_zero() {
                if self.pause_started.is_none() {
                    d.reports
                        .push(Report::PauseStarted(self.spec.auto_promotion_after));
                }
                let since = *self.pause_started.get_or_insert(now);
                let at = since + self.spec.auto_promotion_after;
                if now <= at {
                    d.requeue_at = Some(at + SimDuration::from_micros(1));
                    d.why
                        .set(crate::why!("paused: auto-promotion in {}", at - now));
                    d.wait = Wait::Pause;
                    return;
                }
            }
            self.checkpoint = true;
            if self.paused_reported || self.pause_started.is_some() {
                d.reports.push(Report::PauseEnded);
            }
            if new.spec < self.spec.replicas {
                d.actions.push(Action::Scale {
                    rs: new.id,
                    replicas: self.spec.replicas,
                });
                d.why
                    .set("checkpoint passed: scale the preview to full size");
                return;
            }
        }
        if new.available < self.spec.replicas {
            d.why.set("wait: new ReplicaSet not fully available");
            return;
        }
        d.actions.push(self.weights_to(self.target));
        d.why.set("switch the active service to the new ReplicaSet");
        self.stage = Stage::Switched { at: now };
        if let Some(spec) = self.spec.post_promotion.clone() {
            d.reports.push(Report::AnalysisStarted("post-promotion"));
            let run = AnalysisRun::start(spec, self.target, Some(self.stable), now);
            d.requeue_at = run.due();
            d.wait = Wait::Analysis;
            self.post = Some(run);
        } else {
            self.promote(d, now);
        }
    }

    fn promote(&mut self, d: &mut Decision, now: SimTime) {
        d.reports.push(Report::Promoted);
        self.stage = Stage::Promoted { at: now };
        d.requeue_at = Some(now + self.spec.scale_down_delay);
        if !self.spec.scale_down_delay.is_zero() {
            d.wait = Wait::ScaleDownDelay;
        }
    }
}

impl Controller for BlueGreen {
    fn replicas(&self) -> u32 {
        self.spec.replicas
    }

    fn initial_weights(&self) -> Option<Vec<u32>> {
        Some(all_traffic_to(self.spec.versions, self.stable))
    }

    fn start(&mut self, target: VersionId, _now: SimTime) {
        // A later rollout (`[[steps]]`) starts afresh from the promoted (stable) ReplicaSet:
        // Argo keeps no state of the previous one but the stable hash.
        self.target = target;
        self.stage = Stage::Preview;
        self.checkpoint = false;
        self.smoke_started = false;
        self.pause_started = None;
        self.paused_reported = false;
        self.pre = None;
        self.post = None;
        self.pending = None;
    }

    fn undo(&mut self, _replica_sets: &[RsStatus], now: SimTime) -> bool {
        match self.stage {
            Stage::Preview | Stage::Switched { .. } | Stage::Promoted { .. } => {
                let mut d = Decision::default();
                self.abort(&mut d, now, "manual abort");
                self.pending = Some(d);
                true
            }
            _ => false,
        }
    }

    fn reconcile(&mut self, view: &View<'_>) -> Decision {
        let mut d = self.pending.take().unwrap_or_default();
        let now = view.now;
        let rss = view.replica_sets;
        if self.stage == Stage::Steady || self.stage == Stage::Done {
            return d;
        }
        if let Stage::Aborted { at } = self.stage {
            if let (Some(delay), Some(new)) = (
                self.spec.abort_scale_down_delay,
                newest_of(rss, self.target),
            ) {
                if now >= at + delay && new.spec > 0 {
                    d.actions.push(Action::Scale {
                        rs: new.id,
                        replicas: 0,
                    });
                    d.why
                        .set("abortScaleDownDelaySeconds passed: scale the preview down");
                } else if new.spec > 0 {
                    d.requeue_at = Some(at + delay);
                }
            }
            return d;
        }
        let Some(new) = newest_of(rss, self.target).cloned() else {
            let max_rev = super::max_revision(rss);
            let size = self.preview_size();
            d.actions.push(Action::CreateReplicaSet {
                version: self.target,
                replicas: size,
                revision: max_rev + 1,
            });
            d.why.set(crate::why!(
                "create the preview ReplicaSet at {} behind the preview service",
                size
            ));
            return d;
        };
        match self.stage.clone() {
            Stage::Preview => self.before_switch(view, &new, &mut d),
            Stage::Switched { .. } => {
                let run = self
                    .post
                    .as_mut()
                    .expect("post-promotion run exists after the switch");
                match run.advance(now, view.monitor) {
                    RunPhase::Running => {
                        d.requeue_at = run.due();
                        d.why.set(crate::why!(
                            "post-promotion analysis: {} measurements",
                            run.taken()
                        ));
                        d.wait = Wait::Analysis;
                    }
                    RunPhase::Failed => {
                        d.reports
                            .push(Report::AnalysisDone("post-promotion", RunPhase::Failed));
                        self.abort(&mut d, now, "post-promotion analysis failed");
                    }
                    RunPhase::Inconclusive => {
                        if !self.paused_reported {
                            self.paused_reported = true;
                            d.reports.push(Report::AnalysisDone(
                                "post-promotion",
                                RunPhase::Inconclusive,
                            ));
                            d.reports.push(Report::Paused);
                        }
                        d.why.set("paused: post-promotion analysis inconclusive");
                        d.wait = Wait::Pause;
                    }
                    RunPhase::Successful => {
                        d.reports
                            .push(Report::AnalysisDone("post-promotion", RunPhase::Successful));
                        self.promote(&mut d, now);
                    }
                }
            }
            Stage::Promoted { at } => {
                let scale_at = at + self.spec.scale_down_delay;
                let old: Vec<&RsStatus> = rss
                    .iter()
                    .filter(|r| r.id != new.id && (r.spec > 0 || r.replicas > 0))
                    .collect();
                if now < scale_at && old.iter().any(|r| r.spec > 0) {
                    d.requeue_at = Some(scale_at);
                    d.wait = Wait::ScaleDownDelay;
                    d.why.set(crate::why!(
                        "keep the old ReplicaSet until scaleDownDelaySeconds ({})",
                        self.spec.scale_down_delay
                    ));
                } else if old.iter().any(|r| r.spec > 0) {
                    for r in old.iter().filter(|r| r.spec > 0) {
                        d.actions.push(Action::Scale {
                            rs: r.id,
                            replicas: 0,
                        });
                    }
                    d.why.set("scale the old ReplicaSet down");
                } else if old.is_empty() {
                    self.stable = self.target;
                    self.stage = Stage::Done;
                    d.reports.push(Report::Completed);
                    d.why.set("complete: the new ReplicaSet is stable");
                }
            }
            _ => {}
        }
        d
    }

    fn limits(&self) -> Vec<Limit> {
        vec![
            Limit::count("replicas", self.spec.replicas),
            Limit::count("previewReplicaCount", self.preview_size()),
            Limit::duration("scaleDownDelaySeconds", self.spec.scale_down_delay),
        ]
    }
}

#[cfg(test)]
#[path = "blue_green_tests.rs"]
mod tests;
