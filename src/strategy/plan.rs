//! The teaching view: a controller's moves replayed as if every pod became ready and available
//! the instant it was created and vanished the instant it was deleted. Real rollouts take
//! longer, but they take these same steps in this order. Analyses are assumed to pass, and
//! pauses, analysis intervals and scale-down delays advance the plan's clock.

use serde::Serialize;

use super::{Action, Controller, RsStatus, View};
use crate::engine::SimTime;
use crate::model::{RsId, VersionId};

/// One ReplicaSet after a plan step.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PlanRs {
    /// Version name.
    pub version: String,
    /// Revision.
    pub revision: u64,
    /// `spec.replicas`.
    pub desired: u32,
    /// Pods that exist.
    pub existing: u32,
    /// Pods ready.
    pub ready: u32,
}

/// One controller move.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlanStep {
    /// 1-based step number.
    pub step: u32,
    /// Seconds after the rollout started (pauses and analysis intervals advance the clock).
    pub at_s: f64,
    /// What the controller did and why.
    pub why: String,
    /// Every ReplicaSet after the move.
    pub replica_sets: Vec<PlanRs>,
    /// Pods in all after the move.
    pub total_pods: u32,
    /// Router weights after the move, per version name (empty: split by endpoints).
    pub weights: Vec<(String, u32)>,
}

/// Replays `controller` from a fleet of `replicas` ready pods of `from` to `to`.
pub fn plan(
    controller: &mut dyn Controller,
    from: VersionId,
    to: VersionId,
    version_names: &[String],
) -> Vec<PlanStep> {
    let replicas = controller.replicas();
    let mut rss = vec![RsStatus {
        id: RsId(0),
        version: from,
        revision: 1,
        spec: replicas,
        replicas,
        ready: replicas,
        available: replicas,
        terminating: 0,
    }];
    controller.start(to, SimTime::ZERO);
    let monitor = crate::analysis::Monitor::dry_run();
    let mut steps = Vec::new();
    let mut now = SimTime::ZERO;
    let mut step = 0;
    let mut weights: Vec<(String, u32)> = controller
        .initial_weights()
        .map(|w| named_weights(&w, version_names))
        .unwrap_or_default();
    for _ in 0..10_000 {
        let d = controller.reconcile(&View {
            now,
            replica_sets: &rss,
            monitor: &monitor,
        });
        if d.actions.is_empty() {
            // Nothing to scale now: follow the controller's clock (pauses, analysis, delays).
            match d.requeue_at {
                Some(t) if t > now => {
                    now = t;
                    continue;
                }
                Some(_) if !d.actions.is_empty() || !d.reports.is_empty() => continue,
                Some(_) => continue,
                None if !d.reports.is_empty() => continue,
                None => break,
            }
        }
        step += 1;
        for a in &d.actions {
            match *a {
                Action::CreateReplicaSet {
                    version,
                    replicas,
                    revision,
                } => rss.push(RsStatus {
                    id: RsId(rss.len() as u32),
                    version,
                    revision,
                    spec: replicas,
                    replicas,
                    ready: replicas,
                    available: replicas,
                    terminating: 0,
                }),
                Action::Scale { rs, replicas } => {
                    let r = &mut rss[rs.index()];
                    r.spec = replicas;
                    r.replicas = replicas;
                    r.ready = replicas;
                    r.available = replicas;
                }
                Action::SetRevision { rs, revision } => rss[rs.index()].revision = revision,
                Action::SetWeights(ref w) => {
                    weights = w
                        .as_ref()
                        .map(|w| named_weights(w, version_names))
                        .unwrap_or_default()
                }
                Action::SmokeTest { .. } => {}
            }
        }
        steps.push(PlanStep {
            step,
            at_s: (now.as_secs_f64() * 1000.0).round() / 1000.0,
            why: d.why,
            total_pods: rss.iter().map(|r| r.replicas).sum(),
            weights: weights.clone(),
            replica_sets: rss
                .iter()
                .map(|r| PlanRs {
                    version: version_names[r.version.index()].clone(),
                    revision: r.revision,
                    desired: r.spec,
                    existing: r.replicas,
                    ready: r.ready,
                })
                .collect(),
        });
    }
    steps
}

fn named_weights(w: &[u32], names: &[String]) -> Vec<(String, u32)> {
    w.iter()
        .enumerate()
        .filter(|(_, w)| **w > 0)
        .map(|(i, w)| (names[i].clone(), *w))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::rolling::RollingSpec;
    use crate::strategy::{IntOrPercent, Recreate, RollingUpdate};

    fn names() -> Vec<String> {
        vec!["v1".into(), "v2".into()]
    }

    #[test]
    fn rolling_defaults_on_ten_replicas_take_five_moves() {
        let mut c = RollingUpdate::new(
            RollingSpec {
                replicas: 10,
                max_surge: IntOrPercent::Percent(25),
                max_unavailable: IntOrPercent::Percent(25),
                progress_deadline: None,
                rollback_on_stall: false,
                analysis: None,
            },
            VersionId(0),
        );
        let steps = plan(&mut c, VersionId(0), VersionId(1), &names());
        let shape: Vec<(u32, u32)> = steps
            .iter()
            .map(|s| (s.replica_sets[0].desired, s.replica_sets[1].desired))
            .collect();
        assert_eq!(shape, [(8, 3), (8, 5), (3, 5), (3, 10), (0, 10)]);
        assert!(steps.iter().all(|s| s.total_pods <= 13));
    }

    #[test]
    fn recreate_is_two_moves() {
        let mut c = Recreate::new(4, VersionId(0), None, false);
        let steps = plan(&mut c, VersionId(0), VersionId(1), &names());
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].total_pods, 0);
        assert_eq!(steps[1].total_pods, 4);
    }
}
