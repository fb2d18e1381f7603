//! Kubernetes `RollingUpdate`, reproducing the Deployment controller's `rolloutRolling`
//! (pkg/controller/deployment/rolling.go) move for move:
//!
//! 1. find or create the new ReplicaSet (created at `NewRSNewReplicas`; creating it is not the
//!    sync's move, so the same sync goes on to step 3);
//! 2. scale the new ReplicaSet up to `NewRSNewReplicas` = `new + min(replicas + maxSurge −
//!    Σspec, replicas − new)` — counted on **spec** replicas, so terminating pods do not use the
//!    surge budget — and stop if that changed anything;
//! 3. scale old ReplicaSets down (`reconcileOldReplicaSets`): budget `Σspec − minAvailable −
//!    (new.spec − new.available)`; first remove unavailable old pods (oldest ReplicaSet first),
//!    then remove `Σavailable − minAvailable` available ones, oldest ReplicaSet first;
//! 4. report completion.
//!
//! `kubectl rollout undo` makes the previous revision's ReplicaSet the new one again (its
//! revision bumped to max + 1) and the same arithmetic rolls back: a rollback takes as long as a
//! rollout. Optionally (`rollback_on_stall`) the controller undoes by itself when the progress
//! deadline passes, as Argo Rollouts' `progressDeadlineAbort` or a pipeline would; plain
//! Kubernetes only reports the stall.

use super::progress::{ProgressState, ProgressTracker};
use super::{
    max_revision, resolve_fenceposts, Action, Controller, Decision, IntOrPercent, Limit, Report,
    RsStatus, View,
};
use super::{settings, DeploymentCtx, PeakPods, StrategyConfig, StrategyDef, StrategySpec};
use crate::analysis::{AnalysisRun, AnalysisSpec, RunPhase};
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;
use crate::scenario::RolloutInput;

/// The RollingUpdate strategy's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct RollingSpec {
    /// `spec.replicas`.
    pub replicas: u32,
    /// `maxSurge`.
    pub max_surge: IntOrPercent,
    /// `maxUnavailable`.
    pub max_unavailable: IntOrPercent,
    /// `progressDeadlineSeconds` (`None`: no deadline).
    pub progress_deadline: Option<SimDuration>,
    /// Undo automatically when the progress deadline passes.
    pub rollback_on_stall: bool,
    /// Background analysis of the new version from the start of the rollout; failure undoes
    /// the rollout (which then takes as long as a rollout).
    pub analysis: Option<AnalysisSpec>,
}

/// The RollingUpdate controller.
#[derive(Clone, Debug)]
pub struct RollingUpdate {
    spec: RollingSpec,
    template: VersionId,
    progress: ProgressTracker,
    reported_complete: bool,
    rolled_back: bool,
    run: Option<AnalysisRun>,
    /// How much of the analysis run's course was reported: 0 nothing, 1 its start, 2 its end.
    run_reported: u8,
    stable: VersionId,
}

impl RollingUpdate {
    /// A controller whose Deployment currently runs `template`.
    pub fn new(spec: RollingSpec, template: VersionId) -> Self {
        let progress = ProgressTracker::new(spec.progress_deadline);
        RollingUpdate {
            spec,
            template,
            progress,
            reported_complete: true,
            rolled_back: false,
            run: None,
            run_reported: 0,
            stable: template,
        }
    }

    fn fenceposts(&self) -> (u32, u32) {
        resolve_fenceposts(
            self.spec.max_surge,
            self.spec.max_unavailable,
            self.spec.replicas,
        )
    }
}

/// `NewRSNewReplicas` for a rolling update.
fn new_rs_new_replicas(rss: &[RsStatus], new_spec: u32, replicas: u32, surge: u32) -> u32 {
    let current: u64 = rss.iter().map(|r| u64::from(r.spec)).sum();
    let max_total = u64::from(replicas) + u64::from(surge);
    if current >= max_total {
        return new_spec;
    }
    let up = (max_total - current).min(u64::from(replicas.saturating_sub(new_spec)));
    new_spec + up as u32
}

impl Controller for RollingUpdate {
    fn replicas(&self) -> u32 {
        self.spec.replicas
    }

    fn start(&mut self, target: VersionId, now: SimTime) {
        // A later rollout (`[[steps]]`) starts from the template in force: a new template
        // hash, hence a new ReplicaSet (or an old one of that version, revision bumped).
        self.stable = self.template;
        self.template = target;
        self.progress.restart(now);
        self.reported_complete = false;
        self.rolled_back = false;
        self.run_reported = 0;
        self.run = self
            .spec
            .analysis
            .clone()
            .map(|a| AnalysisRun::start(a, target, Some(self.stable), now));
    }

    fn undo(&mut self, replica_sets: &[RsStatus], now: SimTime) -> bool {
        let mut by_rev: Vec<&RsStatus> = replica_sets.iter().collect();
        by_rev.sort_by_key(|r| std::cmp::Reverse(r.revision));
        let Some(prev) = by_rev.iter().find(|r| r.version != self.template) else {
            return false;
        };
        self.template = prev.version;
        self.progress.restart(now);
        self.reported_complete = false;
        self.rolled_back = true;
        true
    }

    fn reconcile(&mut self, view: &View<'_>) -> Decision {
        let mut d = Decision::default();
        if let Some(run) = self.run.as_mut().filter(|_| !self.rolled_back) {
            if self.run_reported == 0 {
                self.run_reported = 1;
                d.reports.push(Report::AnalysisStarted("background"));
            }
            let phase = run.advance(view.now, view.monitor);
            if phase != RunPhase::Running && self.run_reported == 1 {
                self.run_reported = 2;
                d.reports.push(Report::AnalysisDone("background", phase));
            }
            match phase {
                RunPhase::Failed => {
                    self.run = None;
                    if self.undo(view.replica_sets, view.now) {
                        d.reports.push(Report::RollbackStarted);
                        d.why
                            .set("analysis failed: roll back to the previous revision");
                    }
                }
                RunPhase::Running => d.requeue_at = run.due(),
                _ => {}
            }
        }
        let replicas = self.spec.replicas;
        let (surge, unavailable) = self.fenceposts();
        let mut rss: Vec<RsStatus> = view.replica_sets.to_vec();
        let max_rev = max_revision(&rss);
        let mut created = false;
        let new_idx = match rss.iter().position(|r| r.version == self.template) {
            Some(i) => {
                if rss[i].revision != max_rev
                    || rss.iter().filter(|r| r.revision == max_rev).count() > 1
                {
                    rss[i].revision = max_rev + 1;
                    d.actions.push(Action::SetRevision {
                        rs: rss[i].id,
                        revision: max_rev + 1,
                    });
                }
                i
            }
            None => {
                let n = new_rs_new_replicas(&rss, 0, replicas, surge);
                d.actions.push(Action::CreateReplicaSet {
                    version: self.template,
                    replicas: n,
                    revision: max_rev + 1,
                });
                d.why.set(crate::why!(
                    "create the new ReplicaSet at {}: maxSurge {} allows {} pods in all",
                    n,
                    surge,
                    replicas + surge
                ));
                created = true;
                rss.push(RsStatus {
                    id: crate::model::RsId(u32::MAX),
                    version: self.template,
                    revision: max_rev + 1,
                    spec: n,
                    replicas: 0,
                    ready: 0,
                    available: 0,
                    terminating: 0,
                });
                rss.len() - 1
            }
        };

        // reconcileNewReplicaSet
        if !created {
            let new = &rss[new_idx];
            let target = if new.spec == replicas {
                new.spec
            } else if new.spec > replicas {
                replicas
            } else {
                new_rs_new_replicas(&rss, new.spec, replicas, surge)
            };
            if target != new.spec {
                let total: u32 = rss.iter().map(|r| r.spec).sum();
                d.why.set(crate::why!(
                    "scale up the new ReplicaSet {}→{}: {} pods counted (spec), \
                     maxSurge {} allows {}",
                    new.spec,
                    target,
                    total,
                    surge,
                    replicas + surge
                ));
                d.actions.push(Action::Scale {
                    rs: new.id,
                    replicas: target,
                });
                return self.finish(d, &rss, view.now);
            }
        }

        // reconcileOldReplicaSets
        let old_total: u32 = rss
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != new_idx)
            .map(|(_, r)| r.spec)
            .sum();
        if old_total > 0 {
            let all_spec: i64 = rss.iter().map(|r| i64::from(r.spec)).sum();
            let min_available = i64::from(replicas) - i64::from(unavailable);
            let new = &rss[new_idx];
            let new_unavailable = i64::from(new.spec) - i64::from(new.available);
            let max_scaled_down = all_spec - min_available - new_unavailable;
            if max_scaled_down > 0 {
                let mut moves: Vec<(usize, u32)> = Vec::new();
                // cleanupUnhealthyReplicas: oldest first.
                let mut cleaned = 0i64;
                for (i, r) in rss.iter().enumerate() {
                    if i == new_idx || cleaned >= max_scaled_down {
                        continue;
                    }
                    if r.spec == 0 || r.spec <= r.available {
                        continue;
                    }
                    let n = (max_scaled_down - cleaned).min(i64::from(r.spec - r.available));
                    moves.push((i, r.spec - n as u32));
                    cleaned += n;
                }
                for (i, spec) in &moves {
                    rss[*i].spec = *spec;
                }
                // scaleDownOldReplicaSetsForRollingUpdate: bounded by availability.
                let available: i64 = rss.iter().map(|r| i64::from(r.available)).sum();
                let mut scaled = 0i64;
                if available > min_available {
                    let budget = available - min_available;
                    for (i, r) in rss.iter_mut().enumerate() {
                        if i == new_idx || scaled >= budget || r.spec == 0 {
                            continue;
                        }
                        let n = i64::from(r.spec).min(budget - scaled);
                        r.spec -= n as u32;
                        moves.push((i, r.spec));
                        scaled += n;
                    }
                }
                if !moves.is_empty() {
                    // One Scale per ReplicaSet touched, in the order first touched.
                    let mut seen = Vec::new();
                    for (i, _) in &moves {
                        if !seen.contains(i) {
                            seen.push(*i);
                            d.actions.push(Action::Scale {
                                rs: rss[*i].id,
                                replicas: rss[*i].spec,
                            });
                        }
                    }
                    let first = d.why.is_empty();
                    let reason = crate::why!(
                        "{}scale down old ReplicaSets by {}: {} unavailable cleaned up, {} \
                         available removed keeping minAvailable {} \
                         (replicas {} − maxUnavailable {})",
                        if first { "" } else { "then " },
                        cleaned + scaled,
                        cleaned,
                        scaled,
                        min_available,
                        replicas,
                        unavailable
                    );
                    d.why.push(reason);
                    return self.finish(d, &rss, view.now);
                }
            }
            if d.why.is_empty() {
                d.why.set(crate::why!(
                    "wait: scaling old pods down would leave fewer than minAvailable \
                     {} available, and the new ReplicaSet is at its surge limit",
                    min_available
                ));
            }
        }
        self.finish(d, &rss, view.now)
    }

    fn limits(&self) -> Vec<Limit> {
        let (surge, unavailable) = self.fenceposts();
        let r = self.spec.replicas;
        let describe = |key, v: IntOrPercent, resolved: u32, how: &str| match v {
            IntOrPercent::Int(_) => Limit::count(key, resolved),
            IntOrPercent::Percent(p) => Limit::count_because(
                key,
                resolved,
                format!("{resolved} ({p}% of {r}, rounded {how})"),
            ),
        };
        let mut out = vec![
            describe("maxSurge", self.spec.max_surge, surge, "up"),
            describe(
                "maxUnavailable",
                self.spec.max_unavailable,
                unavailable,
                "down",
            ),
        ];
        // `ResolveFenceposts` raises maxUnavailable to 1 only when both resolved to 0.
        if super::fenceposts::both_resolved_to_zero(
            self.spec.max_surge,
            self.spec.max_unavailable,
            r,
        ) {
            out.push(Limit::note(
                "note",
                "both resolved to 0, so maxUnavailable became 1",
            ));
        }
        out.push(Limit::count("minAvailable", r - unavailable));
        out.push(Limit::count("maxTotalPods", r + surge));
        out
    }
}

/// `strategy = "rolling"`.
pub const DEF: StrategyDef = StrategyDef {
    name: "rolling",
    keys: &[
        "max_surge",
        "max_unavailable",
        "rollback_on_stall",
        "analysis",
    ],
    title: None,
    foreign_key_help: super::no_foreign_key_help,
    resolve,
};

/// Resolves `strategy = "rolling"`: maxSurge / maxUnavailable (Kubernetes' strict
/// int-or-percent) and an optional analysis.
fn resolve(inp: &mut RolloutInput<'_, '_>) -> Option<StrategySpec> {
    let (max_surge, max_unavailable) = settings::fenceposts(inp, false);
    let analysis = settings::analysis(inp, "analysis", &inp.raw().analysis, None);
    Some(StrategySpec::new(RollingSettings {
        max_surge,
        max_unavailable,
        analysis,
    }))
}

/// A RollingUpdate's own settings (the Deployment supplies the rest).
#[derive(Clone, Debug, PartialEq)]
pub struct RollingSettings {
    /// `maxSurge`.
    pub max_surge: IntOrPercent,
    /// `maxUnavailable`.
    pub max_unavailable: IntOrPercent,
    /// Background analysis; failure rolls back (`kubectl rollout undo`).
    pub analysis: Option<AnalysisSpec>,
}

impl StrategyConfig for RollingSettings {
    fn output_name(&self) -> &'static str {
        "rolling"
    }
    fn build(&self, d: &DeploymentCtx) -> Box<dyn Controller> {
        Box::new(RollingUpdate::new(
            RollingSpec {
                replicas: d.replicas,
                max_surge: self.max_surge,
                max_unavailable: self.max_unavailable,
                progress_deadline: d.progress_deadline,
                rollback_on_stall: d.rollback_on_stall,
                analysis: self.analysis.clone(),
            },
            d.initial,
        ))
    }
    /// The replicas plus maxSurge, rounded up as `ResolveFenceposts` does.
    fn peak_pods(&self, replicas: u32) -> PeakPods {
        let (surge, _) = super::resolve_fenceposts(self.max_surge, self.max_unavailable, replicas);
        PeakPods::surge(replicas, surge)
    }
    fn enforces_progress_deadline(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl RollingUpdate {
    /// Progress bookkeeping after the move (status computed from the post-move specs would lag
    /// in the real controller too; it reads the objects as they were at the start of the sync).
    fn finish(&mut self, mut d: Decision, rss: &[RsStatus], now: SimTime) -> Decision {
        let state = self.progress.sync(
            rss,
            self.template,
            self.spec.replicas,
            now,
            &mut d.requeue_at,
        );
        match state {
            ProgressState::Complete if !self.reported_complete && d.actions.is_empty() => {
                self.reported_complete = true;
                d.reports.push(Report::Completed);
                if d.why.is_empty() {
                    d.why.set("complete: every replica updated and available");
                }
            }
            ProgressState::TimedOut => {
                d.reports.push(Report::Stalled);
                if self.spec.rollback_on_stall && !self.rolled_back {
                    d.reports.push(Report::RollbackStarted);
                    if self.undo(rss, now) {
                        d.requeue_at = Some(now);
                    }
                }
            }
            _ => {}
        }
        d
    }

    /// Whether the controller has rolled back (by undo or after a stall).
    pub fn rolled_back(&self) -> bool {
        self.rolled_back
    }
}

#[cfg(test)]
#[path = "rolling_tests.rs"]
mod tests;
