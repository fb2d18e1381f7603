//! Unit tests of the balancer.

use super::*;
use crate::engine::SimDuration;
use crate::model::{Dist, Phase, PodSpec, RsId, VersionSpec};

fn spec(policy: LbPolicy, max_fails: u32) -> LbSpec {
    LbSpec {
        preset: "test".into(),
        policy,
        propagation: Propagation::both(Dist::Constant(SimDuration::ZERO)),
        retries: 1,
        retry_on_reset: true,
        retry_non_idempotent: false,
        max_fails,
        fail_window: SimDuration::from_secs(10),
        ejection: SimDuration::from_secs(10),
        max_ejection_percent: 100,
        health_scope: HealthScope::Shared,
        workers: 1,
        reload_overlap: SimDuration::ZERO,
        attempt_overhead: SimDuration::ZERO,
        health_check: None,
        deregistration_delay: None,
        slow_start: SimDuration::ZERO,
    }
}

/// nginx's defaults: round robin, `max_fails=1`, state per reload, 100 ms overlap.
pub(super) fn nginx_spec() -> LbSpec {
    LbSpec {
        health_scope: HealthScope::PerReload,
        reload_overlap: SimDuration::from_millis(100),
        retries: u32::MAX,
        ..spec(LbPolicy::RoundRobin, 1)
    }
}

pub(super) fn pods(n: u32) -> Vec<Pod> {
    let v = VersionSpec {
        name: "v".into(),
        service: Dist::Constant(SimDuration::from_millis(1)),
        error_rate: 0.0,
        pod: PodSpec {
            concurrency: 4,
            queue: None,
            startup: Dist::Constant(SimDuration::ZERO),
            app_init: Dist::Constant(SimDuration::ZERO),
            warmup: None,
            readiness: None,
            pre_stop: SimDuration::ZERO,
            grace: SimDuration::from_secs(30),
            on_sigterm: crate::model::OnSigterm::Drain,
        },
        faults: vec![],
        bad: false,
    };
    (0..n)
        .map(|i| {
            let mut p = Pod::new(PodId(i), RsId(0), VersionId(0), &v, SimTime::ZERO);
            p.phase = Phase::Running;
            p.listening = true;
            p
        })
        .collect()
}

pub(super) fn req() -> Request {
    Request {
        arrived: SimTime::ZERO,
        user: 0,
        luck: 0,
        idempotent: true,
        attempts: 0,
        last_pod: u32::MAX,
        synthetic_for: 0,
    }
}

pub(super) fn lb_with(policy: LbPolicy, n: u32, max_fails: u32) -> Balancer {
    let mut lb = Balancer::new(spec(policy, max_fails), 2, 1);
    for i in 0..n {
        lb.set_member(PodId(i), VersionId((i % 2) as u16), true);
    }
    lb
}

#[test]
fn round_robin_visits_every_endpoint_in_turn() {
    let ps = pods(4);
    let mut lb = lb_with(LbPolicy::RoundRobin, 4, 0);
    let mut seen: Vec<u32> = (0..8)
        .map(|_| match lb.pick(&req(), &ps, SimTime::ZERO) {
            Pick::Endpoint(p) => p.0,
            Pick::NoEndpoint => panic!(),
        })
        .collect();
    assert_eq!(&seen[..4], &seen[4..]);
    seen.truncate(4);
    seen.sort();
    assert_eq!(seen, [0, 1, 2, 3]);
}

#[test]
fn least_request_prefers_the_idler_of_two() {
    let mut ps = pods(2);
    for _ in 0..3 {
        ps[0].offer(req());
    }
    let mut lb = lb_with(LbPolicy::LeastRequest, 2, 0);
    let to_idle = (0..1000)
        .filter(|_| lb.pick(&req(), &ps, SimTime::ZERO) == Pick::Endpoint(PodId(1)))
        .count();
    // Both draws land on pod 0 a quarter of the time; otherwise pod 1 wins.
    assert!((700..=800).contains(&to_idle), "{to_idle}");
}

#[test]
fn weights_route_by_version_and_empty_versions_answer_503() {
    let ps = pods(4);
    let mut lb = lb_with(LbPolicy::Random, 4, 0);
    lb.set_weights(Some(vec![90, 10]));
    let to_v1 = (0..10_000)
        .filter(|_| match lb.pick(&req(), &ps, SimTime::ZERO) {
            Pick::Endpoint(p) => p.0 % 2 == 1,
            Pick::NoEndpoint => false,
        })
        .count();
    assert!((900..=1100).contains(&to_v1), "{to_v1}");
    lb.set_member(PodId(1), VersionId(1), false);
    lb.set_member(PodId(3), VersionId(1), false);
    let failed = (0..10_000)
        .filter(|_| lb.pick(&req(), &ps, SimTime::ZERO) == Pick::NoEndpoint)
        .count();
    assert!((900..=1100).contains(&failed), "{failed}");
    assert_eq!(lb.versions_receiving_traffic(), 1);
}

#[test]
fn stale_updates_are_ignored() {
    let mut lb = lb_with(LbPolicy::Random, 0, 0);
    let t = SimTime::ZERO;
    assert!(!lb.apply_update(PodId(0), VersionId(0), 2, false, t).changed);
    assert!(!lb.apply_update(PodId(0), VersionId(0), 1, true, t).changed);
    assert_eq!(lb.endpoint_count(), 0);
    assert!(lb.apply_update(PodId(0), VersionId(0), 3, true, t).changed);
    assert_eq!(lb.endpoint_count(), 1);
}

#[test]
fn retries_avoid_the_last_endpoint_and_ejected_ones() {
    let ps = pods(2);
    let mut lb = lb_with(LbPolicy::Random, 2, 1);
    let mut r = req();
    r.last_pod = 0;
    for _ in 0..100 {
        assert_eq!(lb.pick(&r, &ps, SimTime::ZERO), Pick::Endpoint(PodId(1)));
    }
    lb.record_failure(&req(), PodId(1), SimTime::ZERO);
    let r = req();
    for _ in 0..100 {
        assert_eq!(lb.pick(&r, &ps, SimTime(1)), Pick::Endpoint(PodId(0)));
    }
    // Ejection expires.
    let later = SimTime(11_000_000);
    let to_1 = (0..100)
        .filter(|_| lb.pick(&r, &ps, later) == Pick::Endpoint(PodId(1)))
        .count();
    assert!(to_1 > 20);
}

#[test]
fn retry_budget_and_idempotency() {
    let lb = lb_with(LbPolicy::Random, 2, 0);
    let mut r = req();
    r.attempts = 1;
    assert!(lb.may_retry(&r, true));
    r.attempts = 2;
    assert!(!lb.may_retry(&r, true));
    r.attempts = 1;
    r.idempotent = false;
    assert!(!lb.may_retry(&r, true));
    assert!(lb.may_retry(&r, false));
}
