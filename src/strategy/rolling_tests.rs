//! The RollingUpdate controller on hand-made views: surge and unavailability limits, scaling
//! order, the progress deadline and rollback, as `pkg/controller/deployment/rolling.go` takes them.

use super::*;
use crate::analysis::Monitor;
use crate::model::RsId;
use crate::strategy::test_support::{rs, scales, V1, V2};
use IntOrPercent::{Int, Percent};

fn controller(surge: IntOrPercent, unavailable: IntOrPercent) -> RollingUpdate {
    let mut c = RollingUpdate::new(
        RollingSpec {
            replicas: 10,
            max_surge: surge,
            max_unavailable: unavailable,
            progress_deadline: None,
            rollback_on_stall: false,
            analysis: None,
        },
        VersionId(0),
    );
    c.start(VersionId(1), SimTime::ZERO);
    c
}

fn decide(c: &mut RollingUpdate, rss: &[RsStatus]) -> Decision {
    let monitor = Monitor::new(1, SimDuration::from_secs(1));
    c.reconcile(&View {
        now: SimTime::ZERO,
        replica_sets: rss,
        monitor: &monitor,
    })
}

#[test]
fn max_unavailable_zero_resolves_to_one_and_scales_old_by_one() {
    // Upstream test: maxSurge 0, maxUnavailable 0 (→1), 10 old available, new at 0.
    let mut c = controller(Int(0), Int(0));
    let d = decide(&mut c, &[rs(0, V1, 10, 10), rs(1, V2, 0, 0)]);
    assert_eq!(scales(&d), [(0, 9)]);
}

#[test]
fn unhealthy_old_pods_are_cleaned_up_first() {
    let mut c = controller(Int(0), Int(2));
    // 8 of 10 old available: only the 2 unavailable go.
    let d = decide(&mut c, &[rs(0, V1, 10, 8), rs(1, V2, 0, 0)]);
    assert_eq!(scales(&d), [(0, 8)]);
    // 9 of 10 available: 1 unhealthy then 1 healthy.
    let d = decide(&mut c, &[rs(0, V1, 10, 9), rs(1, V2, 0, 0)]);
    assert_eq!(scales(&d), [(0, 8)]);
}

#[test]
fn unavailable_new_pods_block_old_scale_down() {
    let mut c = controller(Int(0), Int(2));
    let d = decide(&mut c, &[rs(0, V1, 8, 8), rs(1, V2, 2, 0)]);
    assert!(scales(&d).is_empty());
}

#[test]
fn default_25_percent_walk_matches_the_derived_illustration() {
    // 10 replicas, surge 3, unavailable 2; every pod available before the next sync.
    let mut c = controller(Percent(25), Percent(25));
    let d = decide(&mut c, &[rs(0, V1, 10, 10)]);
    assert_eq!(
        d.actions[0],
        Action::CreateReplicaSet {
            version: VersionId(1),
            replicas: 3,
            revision: 2
        }
    );
    assert_eq!(scales(&d), [(0, 8)]);
    let d = decide(&mut c, &[rs(0, V1, 8, 8), rs(1, V2, 3, 3)]);
    assert_eq!(scales(&d), [(1, 5)]);
    let d = decide(&mut c, &[rs(0, V1, 8, 8), rs(1, V2, 5, 5)]);
    assert_eq!(scales(&d), [(0, 3)]);
    let d = decide(&mut c, &[rs(0, V1, 3, 3), rs(1, V2, 5, 5)]);
    assert_eq!(scales(&d), [(1, 10)]);
    let d = decide(&mut c, &[rs(0, V1, 3, 3), rs(1, V2, 10, 10)]);
    assert_eq!(scales(&d), [(0, 0)]);
    let d = decide(&mut c, &[rs(0, V1, 0, 0), rs(1, V2, 10, 10)]);
    assert!(d.actions.is_empty());
    assert_eq!(d.reports, [Report::Completed]);
}

#[test]
fn surge_one_unavailable_zero_alternates() {
    let mut c = controller(Int(1), Int(0));
    let d = decide(&mut c, &[rs(0, V1, 10, 10)]);
    assert!(matches!(
        d.actions[0],
        Action::CreateReplicaSet { replicas: 1, .. }
    ));
    assert!(scales(&d).is_empty());
    let d = decide(&mut c, &[rs(0, V1, 10, 10), rs(1, V2, 1, 1)]);
    assert_eq!(scales(&d), [(0, 9)]);
    let d = decide(&mut c, &[rs(0, V1, 9, 9), rs(1, V2, 1, 1)]);
    assert_eq!(scales(&d), [(1, 2)]);
}

#[test]
fn undo_targets_the_previous_revision_and_bumps_it() {
    let mut c = controller(Percent(25), Percent(25));
    let rss = [rs(0, V1, 5, 5), rs(1, V2, 5, 5)];
    assert!(c.undo(&rss, SimTime::ZERO));
    let d = decide(&mut c, &rss);
    assert_eq!(
        d.actions[0],
        Action::SetRevision {
            rs: RsId(0),
            revision: 3
        }
    );
    // The old ReplicaSet is the new one again: it grows within the surge budget (10 + 3).
    assert_eq!(scales(&d), [(0, 8)]);
}

#[test]
fn stall_is_reported_after_the_deadline_and_can_trigger_undo() {
    let mut c = RollingUpdate::new(
        RollingSpec {
            replicas: 2,
            max_surge: Int(1),
            max_unavailable: Int(0),
            progress_deadline: Some(SimDuration::from_secs(10)),
            rollback_on_stall: true,
            analysis: None,
        },
        VersionId(0),
    );
    c.start(VersionId(1), SimTime::ZERO);
    let rss = [rs(0, V1, 2, 2), rs(1, V2, 1, 0)];
    let monitor = Monitor::new(1, SimDuration::from_secs(1));
    let d = c.reconcile(&View {
        now: SimTime(5_000_000),
        replica_sets: &rss,
        monitor: &monitor,
    });
    // The new ReplicaSet's first pod counts as progress at 5 s: deadline 15 s, +1 s slack.
    assert_eq!(d.requeue_at, Some(SimTime(16_000_000)));
    let d = c.reconcile(&View {
        now: SimTime(16_000_000),
        replica_sets: &rss,
        monitor: &monitor,
    });
    assert_eq!(d.reports, [Report::Stalled, Report::RollbackStarted]);
    assert!(c.rolled_back());
}
