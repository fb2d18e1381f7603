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
        conversion_rate: None,
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
        last_pod: None,
        synthetic_for: None,
        handshake: false,
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
    r.last_pod = Some(PodId(0));
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

fn pick_pod(lb: &mut Balancer, r: &Request, ps: &[Pod], now: SimTime) -> u32 {
    match lb.pick(r, ps, now) {
        Pick::Endpoint(p) => p.0,
        Pick::NoEndpoint => panic!("no endpoint"),
    }
}

/// nginx with `n` endpoints of version 0.
fn nginx_with(n: u32, workers: u32) -> Balancer {
    let mut lb = Balancer::new(
        LbSpec {
            workers,
            ..nginx_spec()
        },
        2,
        1,
    );
    for i in 0..n {
        lb.set_member(PodId(i), VersionId(0), true);
    }
    lb
}

fn req_at(t: SimTime, luck: u64) -> Request {
    Request {
        arrived: t,
        luck,
        ..req()
    }
}

#[test]
fn nginx_forgets_failures_at_every_reload_but_envoy_does_not() {
    let ps = pods(4);
    let t1 = SimTime(1_000_000);
    for (scope, forgets) in [(HealthScope::PerReload, true), (HealthScope::Shared, false)] {
        let mut lb = nginx_with(3, 1);
        lb.spec.health_scope = scope;
        lb.record_failure(&req_at(t1, 7), PodId(0), t1);
        let after = |lb: &mut Balancer, t: SimTime| {
            (0..30)
                .filter(|i| pick_pod(lb, &req_at(t, *i), &ps, t) == 0)
                .count()
        };
        assert_eq!(
            after(&mut lb, SimTime(1_500_000)),
            0,
            "ejected in its generation"
        );
        // An unrelated endpoint change: a reload for nginx.
        let t2 = SimTime(2_000_000);
        let u = lb.apply_update(PodId(3), VersionId(0), 1, true, t2);
        assert!(u.changed);
        // After the overlap, only new workers accept: they do not know pod 0 failed.
        let t3 = SimTime(2_200_000);
        assert_eq!(after(&mut lb, t3) > 0, forgets, "{scope:?}");
        assert_eq!(lb.reloads(), u64::from(forgets));
    }
}

#[test]
fn old_workers_keep_the_old_view_for_the_overlap() {
    let ps = pods(3);
    let mut lb = nginx_with(3, 1);
    let t = SimTime(5_000_000);
    assert!(lb.apply_update(PodId(2), VersionId(0), 1, false, t).changed);
    // Within 100 ms some new connections land on old workers, which still send to pod 2.
    let during = SimTime(5_050_000);
    let to_2 = (0..300)
        .filter(|i| pick_pod(&mut lb, &req_at(during, *i), &ps, during) == 2)
        .count();
    assert!(to_2 > 20, "{to_2}");
    let after = SimTime(5_100_000);
    for i in 0..300 {
        assert_ne!(pick_pod(&mut lb, &req_at(after, i), &ps, after), 2);
    }
    // A request accepted before the reload is still proxied by an old worker.
    let early = req_at(SimTime(4_000_000), 3);
    let hits = (0..10)
        .filter(|_| pick_pod(&mut lb, &early, &ps, after) == 2)
        .count();
    assert!(hits > 0);
}

#[test]
fn each_worker_process_counts_its_own_failures() {
    let ps = pods(3);
    let mut lb = nginx_with(3, 2);
    let t = SimTime(1_000_000);
    // Find requests handled by each of the two workers: a failure one worker sees leaves
    // pod 0 in the other's rotation.
    let mut seen = [false; 2];
    lb.record_failure(&req_at(t, 0), PodId(0), t);
    for luck in 0..40 {
        let r = req_at(t, luck);
        let (_, w) = lb.worker_of(&r);
        let hits = (0..6)
            .filter(|_| pick_pod(&mut lb, &r, &ps, t) == 0)
            .count();
        seen[w] = seen[w] || hits > 0;
    }
    let (_, failed_worker) = lb.worker_of(&req_at(t, 0));
    assert!(!seen[failed_worker]);
    assert!(seen[1 - failed_worker]);
}

#[test]
fn a_reload_restarts_round_robin_at_the_first_peer() {
    let ps = pods(4);
    let mut lb = nginx_with(3, 1);
    let t = SimTime(1_000_000);
    let _ = lb.apply_update(PodId(3), VersionId(0), 1, true, t);
    let after = SimTime(2_000_000);
    assert_eq!(pick_pod(&mut lb, &req_at(after, 1), &ps, after), 0);
    assert_eq!(pick_pod(&mut lb, &req_at(after, 2), &ps, after), 1);
}

fn alb() -> Balancer {
    let mut lb = Balancer::new(
        LbSpec {
            health_check: Some(TargetHealthCheck {
                interval: SimDuration::from_secs(30),
                healthy_threshold: 5,
                unhealthy_threshold: 2,
            }),
            deregistration_delay: Some(SimDuration::from_secs(300)),
            retries: 0,
            ..spec(LbPolicy::RoundRobin, 0)
        },
        2,
        1,
    );
    lb.set_member(PodId(0), VersionId(0), true);
    lb
}

#[test]
fn an_alb_target_takes_traffic_only_after_a_passing_health_check() {
    let mut ps = pods(2);
    let mut lb = alb();
    let t = SimTime(10_000_000);
    let u = lb.apply_update(PodId(1), VersionId(0), 1, true, t);
    assert!(!u.changed, "registered, initial: no traffic yet");
    let first = u.health_check_at.unwrap();
    assert!(first >= t && first < t + SimDuration::from_secs(30));
    assert_eq!(lb.endpoint_count(), 1);
    // Not listening yet: the check fails and the target stays out.
    ps[1].listening = false;
    let u = lb.health_check(PodId(1), 1, &ps, first);
    assert!(!u.changed);
    let next = u.health_check_at.unwrap();
    assert_eq!(next, first + SimDuration::from_secs(30));
    ps[1].listening = true;
    assert!(lb.health_check(PodId(1), 1, &ps, next).changed);
    assert_eq!(lb.endpoint_count(), 2);
    // A stale chain (from an older registration) ends.
    assert_eq!(lb.health_check(PodId(1), 0, &ps, next), Update::default());
}

#[test]
fn a_deregistered_alb_target_drains_for_the_deregistration_delay() {
    let mut lb = alb();
    let t = SimTime(1_000_000);
    assert_eq!(lb.closes_at(PodId(0)), None);
    assert!(lb.apply_update(PodId(0), VersionId(0), 1, false, t).changed);
    assert_eq!(lb.endpoint_count(), 0);
    assert_eq!(
        lb.closes_at(PodId(0)),
        Some(t + SimDuration::from_secs(300))
    );
}

#[test]
fn slow_start_ramps_a_new_target_linearly() {
    let mut ps = pods(2);
    let mut lb = alb();
    lb.spec.slow_start = SimDuration::from_secs(100);
    ps[1].listening = true;
    let u = lb.apply_update(PodId(1), VersionId(0), 1, true, SimTime::ZERO);
    let at = u.health_check_at.unwrap();
    assert!(lb.health_check(PodId(1), 1, &ps, at).changed);
    let share = |lb: &mut Balancer, t: SimTime| {
        (0..4000)
            .filter(|_| lb.pick(&req(), &ps, t) == Pick::Endpoint(PodId(1)))
            .count() as f64
            / 4000.0
    };
    let early = share(&mut lb, at + SimDuration::from_secs(10));
    let late = share(&mut lb, at + SimDuration::from_secs(200));
    assert!(early < 0.2, "{early}");
    assert!((0.45..0.55).contains(&late), "{late}");
}

#[test]
fn each_attempt_pays_the_overhead() {
    let mut lb = lb_with(LbPolicy::Random, 2, 0);
    lb.spec.attempt_overhead = SimDuration::from_micros(500);
    assert_eq!(lb.attempt_overhead(1), SimDuration::from_micros(500));
    assert_eq!(lb.attempt_overhead(3), SimDuration::from_micros(1500));
}

#[test]
fn an_alb_target_group_with_only_unhealthy_targets_fails_open() {
    let mut ps = pods(2);
    let mut lb = alb();
    let t = SimTime(1_000_000);
    let u = lb.apply_update(PodId(1), VersionId(0), 1, true, t);
    ps[1].listening = false;
    let mut at = u.health_check_at.unwrap();
    for _ in 0..2 {
        at = lb
            .health_check(PodId(1), 1, &ps, at)
            .health_check_at
            .unwrap();
    }
    // Pod 0, the only healthy target, leaves: pod 1 is unhealthy and gets the traffic.
    let _ = lb.apply_update(PodId(0), VersionId(0), 1, false, at);
    assert_eq!(lb.endpoint_count(), 0);
    assert_eq!(lb.pick(&req(), &ps, at), Pick::Endpoint(PodId(1)));
    // Deregistered too: nothing left, 503.
    let _ = lb.apply_update(PodId(1), VersionId(0), 2, false, at);
    assert_eq!(lb.pick(&req(), &ps, at), Pick::NoEndpoint);
}
