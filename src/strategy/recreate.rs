//! Kubernetes `Recreate` (pkg/controller/deployment/recreate.go): scale every old ReplicaSet to
//! 0, wait until no old pod is running (terminating pods still count), then scale the new one
//! to `replicas` in one step. The downtime baseline.

use super::progress::{ProgressState, ProgressTracker};
use super::{max_revision, Action, Controller, Decision, Limit, Report, RsStatus, View};
use super::{DeploymentCtx, PeakPods, StrategyConfig, StrategyDef, StrategySpec};
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;

/// The Recreate controller.
#[derive(Clone, Debug)]
pub struct Recreate {
    replicas: u32,
    template: VersionId,
    progress: ProgressTracker,
    reported_complete: bool,
    rollback_on_stall: bool,
    rolled_back: bool,
}

impl Recreate {
    /// A controller whose Deployment currently runs `template`.
    pub fn new(
        replicas: u32,
        template: VersionId,
        deadline: Option<SimDuration>,
        rollback_on_stall: bool,
    ) -> Self {
        Recreate {
            replicas,
            template,
            progress: ProgressTracker::new(deadline),
            reported_complete: true,
            rollback_on_stall,
            rolled_back: false,
        }
    }
}

impl Controller for Recreate {
    fn replicas(&self) -> u32 {
        self.replicas
    }

    fn start(&mut self, target: VersionId, now: SimTime) {
        self.template = target;
        self.progress.restart(now);
        self.reported_complete = false;
        self.rolled_back = false;
    }

    fn undo(&mut self, replica_sets: &[RsStatus], now: SimTime) -> bool {
        let mut by_rev: Vec<&RsStatus> = replica_sets.iter().collect();
        by_rev.sort_by_key(|r| std::cmp::Reverse(r.revision));
        match by_rev.iter().find(|r| r.version != self.template) {
            Some(prev) => {
                self.start(prev.version, now);
                self.rolled_back = true;
                true
            }
            None => false,
        }
    }

    fn reconcile(&mut self, view: &View<'_>) -> Decision {
        let mut d = Decision::default();
        let rss = view.replica_sets;
        let old_scaled: Vec<&RsStatus> = rss
            .iter()
            .filter(|r| r.version != self.template && r.spec > 0)
            .collect();
        if !old_scaled.is_empty() {
            for r in &old_scaled {
                d.actions.push(Action::Scale {
                    rs: r.id,
                    replicas: 0,
                });
            }
            d.why.set("scale every old ReplicaSet to 0 (Recreate)");
            return d;
        }
        let old_running: u32 = rss
            .iter()
            .filter(|r| r.version != self.template)
            .map(|r| r.replicas + r.terminating)
            .sum();
        if old_running > 0 {
            d.why.set(crate::why!(
                "wait: {} old pods still running or terminating",
                old_running
            ));
            return d;
        }
        let max_rev = max_revision(rss);
        match rss.iter().find(|r| r.version == self.template) {
            None => {
                d.actions.push(Action::CreateReplicaSet {
                    version: self.template,
                    replicas: self.replicas,
                    revision: max_rev + 1,
                });
                d.why.set(crate::why!(
                    "create the new ReplicaSet at {}",
                    self.replicas
                ));
            }
            Some(new) if new.spec != self.replicas => {
                if new.revision != max_rev {
                    d.actions.push(Action::SetRevision {
                        rs: new.id,
                        revision: max_rev + 1,
                    });
                }
                d.actions.push(Action::Scale {
                    rs: new.id,
                    replicas: self.replicas,
                });
                d.why
                    .set(crate::why!("scale the new ReplicaSet to {}", self.replicas));
            }
            Some(_) => {}
        }
        let state = self.progress.sync(
            rss,
            self.template,
            self.replicas,
            view.now,
            &mut d.requeue_at,
        );
        match state {
            ProgressState::Complete if !self.reported_complete && d.actions.is_empty() => {
                self.reported_complete = true;
                d.reports.push(Report::Completed);
                d.why.set("complete: every replica updated and available");
            }
            ProgressState::TimedOut => {
                d.reports.push(Report::Stalled);
                if self.rollback_on_stall && !self.rolled_back && self.undo(rss, view.now) {
                    d.reports.push(Report::RollbackStarted);
                    d.requeue_at = Some(view.now);
                }
            }
            _ => {}
        }
        d
    }

    fn limits(&self) -> Vec<Limit> {
        vec![Limit::count("replicas", self.replicas)]
    }
}

/// `strategy = "recreate"`: no settings of its own.
pub const DEF: StrategyDef = StrategyDef {
    name: "recreate",
    keys: &["rollback_on_stall"],
    title: Some("the Recreate strategy"),
    foreign_key_help,
    resolve: |_| Some(StrategySpec::new(RecreateSpec)),
};

/// Kubernetes' validation rejects `rollingUpdate` with `type: Recreate`
/// (`ValidateDeploymentStrategy`: "may not be specified when strategy `type` is 'Recreate'").
fn foreign_key_help(key: &str) -> Option<&'static str> {
    key.starts_with("max_").then_some(
        "Kubernetes rejects a Recreate deployment with rollingUpdate settings; remove it or use strategy = \"rolling\"",
    )
}

/// Kubernetes `Recreate` has no settings besides the Deployment's.
#[derive(Clone, Debug, PartialEq)]
pub struct RecreateSpec;

impl StrategyConfig for RecreateSpec {
    fn output_name(&self) -> &'static str {
        "recreate"
    }
    fn build(&self, d: &DeploymentCtx) -> Box<dyn Controller> {
        Box::new(Recreate::new(
            d.replicas,
            d.initial,
            d.progress_deadline,
            d.rollback_on_stall,
        ))
    }
    /// Old pods go before new ones are created: never more than the replicas.
    fn peak_pods(&self, replicas: u32) -> PeakPods {
        PeakPods::replicas(replicas)
    }
    fn enforces_progress_deadline(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RsId;

    fn rs(id: u32, version: u16, spec: u32, replicas: u32, terminating: u32) -> RsStatus {
        RsStatus {
            id: RsId(id),
            version: VersionId(version),
            revision: u64::from(id) + 1,
            spec,
            replicas,
            ready: replicas,
            available: replicas,
            terminating,
        }
    }

    #[test]
    fn scales_old_to_zero_then_waits_then_creates_new() {
        let mut c = Recreate::new(4, VersionId(0), None, false);
        c.start(VersionId(1), SimTime::ZERO);
        let monitor = crate::analysis::Monitor::new(1, SimDuration::from_secs(1));
        let mut decide = |rss: &[RsStatus]| {
            c.reconcile(&View {
                now: SimTime::ZERO,
                replica_sets: rss,
                monitor: &monitor,
            })
        };
        let d = decide(&[rs(0, 0, 4, 4, 0)]);
        assert_eq!(
            d.actions,
            [Action::Scale {
                rs: RsId(0),
                replicas: 0
            }]
        );
        let d = decide(&[rs(0, 0, 0, 0, 4)]);
        assert!(d.actions.is_empty());
        let d = decide(&[rs(0, 0, 0, 0, 0)]);
        assert_eq!(
            d.actions,
            [Action::CreateReplicaSet {
                version: VersionId(1),
                replicas: 4,
                revision: 2
            }]
        );
        let d = decide(&[rs(0, 0, 0, 0, 0), rs(1, 1, 4, 4, 0)]);
        assert_eq!(d.reports, [Report::Completed]);
    }
}
