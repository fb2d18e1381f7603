//! What the pods of a rollout are waiting for at this instant: the refinement of "waiting for
//! pods" in the rollout's time breakdown (`rollout.time_breakdown_s`).
//!
//! A pod on its way to available goes Pending (no node with room: the scheduler) → Creating
//! (bound; image pull and container start) → Running but not listening (application start-up)
//! → listening or Ready but not yet available (readiness probe thresholds, then
//! `minReadySeconds`). Kubernetes' Deployment controller moves on when a new pod becomes
//! available, so the pod *nearest* to available is the one the rollout waits on; its phase
//! names the wait. When every pod that exists is available but old ones are still
//! terminating (preStop, grace period), the rollout waits for termination.

use super::{Cluster, Phase};

/// The phase the most advanced not-yet-available pod is in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodWait {
    /// Every pod is available and none is terminating: nothing to wait for on the pods' side.
    Nothing,
    /// Pods terminate (preStop, SIGTERM, grace period) and none is on its way up.
    Terminating,
    /// Pending: no node has room.
    Scheduling,
    /// Bound: image pull, container start, application start-up (`app_init`).
    Starting,
    /// Listening (or Ready without a probe) but not available: readiness probe thresholds and
    /// `minReadySeconds`.
    Readiness,
}

/// What `cluster`'s pods wait for now (see the module comment).
pub fn pod_wait(cluster: &Cluster) -> PodWait {
    let mut best = PodWait::Nothing;
    for rs in &cluster.replica_sets {
        if rs.terminating > 0 && best < PodWait::Terminating {
            best = PodWait::Terminating;
        }
        if rs.available as usize == rs.pods.len() {
            continue;
        }
        for id in &rs.pods {
            let pod = &cluster.pods[id.index()];
            let wait = match pod.phase {
                _ if pod.available => continue,
                Phase::Pending => PodWait::Scheduling,
                Phase::Creating => PodWait::Starting,
                Phase::Running if pod.listening || pod.ready => PodWait::Readiness,
                Phase::Running => PodWait::Starting,
                Phase::Gone => continue,
            };
            best = best.max(wait);
        }
    }
    best
}
