//! Fixtures the controller unit tests share (`canary_tests`, `blue_green_tests`,
//! `rolling_tests`): hand-made ReplicaSet statuses, times, one reconcile on a view, and the
//! moves read back out of a [`Decision`]. One copy, so every controller's tests describe a
//! ReplicaSet the same way the controller manager reports it.

use super::{Action, Controller, Decision, RsStatus, View};
use crate::analysis::Monitor;
use crate::engine::{SimDuration, SimTime};
use crate::model::{RsId, VersionId};

/// The stable (old) version.
pub const V1: VersionId = VersionId(0);
/// The version rolled out.
pub const V2: VersionId = VersionId(1);

/// A settled ReplicaSet: `spec` pods, all created, `available` of them ready and available,
/// none terminating; its revision follows its id (as the Deployment controller numbers them).
pub fn rs(id: u32, version: VersionId, spec: u32, available: u32) -> RsStatus {
    RsStatus {
        id: RsId(id),
        version,
        revision: u64::from(id) + 1,
        spec,
        replicas: spec,
        ready: available,
        available,
        terminating: 0,
    }
}

/// `s` seconds after the start.
pub fn at(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

/// One reconcile of `c` at `now` over `rss`, with a monitor that has measured nothing.
pub fn decide(c: &mut impl Controller, now: SimTime, rss: &[RsStatus]) -> Decision {
    let monitor = Monitor::dry_run();
    c.reconcile(&View {
        now,
        replica_sets: rss,
        monitor: &monitor,
    })
}

/// The `(ReplicaSet id, replicas)` of each scale move in `d`, in order.
pub fn scales(d: &Decision) -> Vec<(u32, u32)> {
    d.actions
        .iter()
        .filter_map(|a| match a {
            Action::Scale { rs, replicas } => Some((rs.0, *replicas)),
            _ => None,
        })
        .collect()
}
