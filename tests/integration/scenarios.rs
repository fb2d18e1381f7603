//! Every shipped scenario runs through the CLI and teaches its lesson: the qualitative outcome
//! each header comment promises is asserted here.

use crate::common::{f, run_scenario, u};

#[test]
fn every_shipped_scenario_validates() {
    let dir = crate::common::root().join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let o = crate::common::rollsim(&["validate", path.to_str().unwrap()]);
            assert!(
                o.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 8, "expected the shipped scenarios, found {n}");
}

#[test]
fn steady_has_no_failures_and_no_rollout() {
    let (s, _) = run_scenario("steady", &[]);
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    assert_eq!(s["rollout"]["outcome"], "none");
    assert_eq!(u(&s, &["capacity", "peak_pods"]), 10);
    assert_eq!(f(&s, &["exposure", "mixed_version_s"]), 0.0);
}

#[test]
fn recreate_has_a_window_without_endpoints() {
    let (s, _) = run_scenario("recreate", &[]);
    assert!(u(&s, &["requests", "failed_by_cause", "no_endpoints"]) > 0);
    assert_eq!(u(&s, &["capacity", "min_ready_pods"]), 0);
    assert_eq!(s["rollout"]["outcome"], "completed");
    assert_eq!(f(&s, &["exposure", "mixed_version_s"]), 0.0);
}

#[test]
fn rolling_with_defaults_completes_within_its_surge_and_unavailability() {
    let (s, _) = run_scenario("rolling", &[]);
    assert_eq!(s["rollout"]["outcome"], "completed");
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    // 10 replicas, 25%/25%: at most 13 pods counted, at least 8 ready.
    assert_eq!(u(&s, &["capacity", "peak_pods"]), 13);
    assert_eq!(u(&s, &["capacity", "min_ready_pods"]), 8);
    // Terminating pods are not counted against maxSurge (Kubernetes counts spec replicas).
    assert!(u(&s, &["capacity", "peak_pods_incl_terminating"]) > 13);
    assert!(f(&s, &["exposure", "mixed_version_s"]) > 0.0);
}

#[test]
fn rolling_without_prestop_drops_connections_behind_kube_proxy() {
    let (s, _) = run_scenario("rolling-no-prestop", &[]);
    let refused = u(&s, &["requests", "failed_by_cause", "connection_refused"]);
    assert!(refused > 100, "connection_refused = {refused}");
    assert_eq!(u(&s, &["requests", "retries"]), 0);
    // Only the old version's terminating pods refuse.
    assert_eq!(u(&s, &["versions", "v2", "failed"]), 0);
}

#[test]
fn nginx_retries_and_passive_checks_hide_most_of_the_race() {
    let (bare, _) = run_scenario("rolling-no-prestop", &[]);
    let (nginx, _) = run_scenario("rolling-no-prestop-nginx", &[]);
    let failed_bare = u(&bare, &["requests", "failed"]);
    let failed_nginx = u(&nginx, &["requests", "failed"]);
    assert!(
        failed_nginx * 10 < failed_bare,
        "{failed_nginx} vs {failed_bare}"
    );
    assert!(u(&nginx, &["requests", "retries"]) > 0);
    // Same traffic: common random numbers across load balancers.
    assert_eq!(
        u(&bare, &["requests", "total"]),
        u(&nginx, &["requests", "total"])
    );
}

#[test]
fn rolling_safe_fails_nothing_and_never_drops_below_replicas() {
    let (s, _) = run_scenario("rolling-safe", &[]);
    assert_eq!(s["rollout"]["outcome"], "completed");
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    assert!(u(&s, &["capacity", "min_ready_pods"]) >= 10);
    assert!(u(&s, &["capacity", "peak_pods"]) <= 11);
}

#[test]
fn rolling_without_readiness_sends_traffic_to_pods_that_do_not_listen() {
    let (s, _) = run_scenario("rolling-no-readiness", &[]);
    let (safe, _) = run_scenario("rolling", &[]);
    assert!(
        u(
            &s,
            &["versions", "v2", "failed_by_cause", "connection_refused"]
        ) > 100
    );
    // Cold pods serve slowly: the tail is worse than the same rollout with a probe.
    assert!(f(&s, &["latency_ms", "p99"]) > 1.5 * f(&safe, &["latency_ms", "p99"]));
}

#[test]
fn rolling_without_room_to_surge_stalls_and_is_rolled_back() {
    let (s, _) = run_scenario("rolling-surge-no-room", &[]);
    assert_eq!(s["rollout"]["outcome"], "rolled_back");
    // Deadline 120 s from the start at 60 s, checked 1 s after it passed.
    assert_eq!(f(&s, &["rollout", "stalled_at_s"]), 181.0);
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    assert_eq!(u(&s, &["versions", "v2", "requests"]), 0);
    assert_eq!(u(&s, &["capacity", "min_ready_pods"]), 12);
}

const SEEDS: [&str; 3] = ["1", "2", "3"];

#[test]
fn flag_kill_switch_fires_after_real_users_and_is_the_fastest_rollback() {
    for seed in SEEDS {
        let (flag, _) = run_scenario("flag-kill-switch", &["--seed", seed]);
        assert_eq!(flag["rollout"]["outcome"], "aborted", "seed {seed}");
        // The 10 % step is published at 90 s; internal users alone never give the analysis
        // its 100 requests, so the kill comes at a measurement after it.
        let killed = f(&flag, &["flag", "killed_at_s"]);
        assert!(killed >= 100.0, "seed {seed}: killed at {killed} s");
        assert!(
            u(&flag, &["exposure", "users_exposed"]) > 400,
            "seed {seed}: real users, not only the 200 internal ones, met the path"
        );
        // Streaming SDKs: the path's last answer comes within a second of the kill, before
        // any deployment strategy's rollback of the same kind of bad release.
        let kill = f(&flag, &["rollout", "rollback_s"]);
        assert!(kill < 1.0, "seed {seed}: rollback_s {kill}");
        for other in ["canary-bad-release", "blue-green-bad-release"] {
            let (s, _) = run_scenario(other, &["--seed", seed]);
            let theirs = f(&s, &["rollout", "rollback_s"]);
            assert!(
                kill < theirs,
                "seed {seed}: kill {kill} s vs {other} {theirs} s"
            );
        }
    }
}

#[test]
fn a_polling_sdk_delays_the_kill_by_up_to_its_interval() {
    for seed in SEEDS {
        let (polling, _) = run_scenario("flag-kill-switch-polling", &["--seed", seed]);
        let (streaming, _) = run_scenario("flag-kill-switch", &["--seed", seed]);
        assert_eq!(polling["rollout"]["outcome"], "aborted", "seed {seed}");
        assert!(
            f(&polling, &["flag", "killed_at_s"]) >= 100.0,
            "seed {seed}"
        );
        let slow = f(&polling, &["rollout", "rollback_s"]);
        assert!(
            slow > 10.0 && slow <= 30.0,
            "seed {seed}: rollback_s {slow}"
        );
        assert!(slow > 10.0 * f(&streaming, &["rollout", "rollback_s"]));
    }
}

#[test]
fn blue_green_bad_release_exposes_everyone_in_its_window_a_fifth_of_users() {
    for seed in SEEDS {
        let (s, _) = run_scenario("blue-green-bad-release", &["--seed", seed]);
        assert_eq!(s["rollout"]["outcome"], "aborted", "seed {seed}");
        // All traffic went to v2 between the switch and the switch back ...
        assert_eq!(f(&s, &["exposure", "max_new_traffic_share"]), 1.0);
        // ... which lasted about 10 s: some fifth of the users were exposed, not all.
        let exposed = u(&s, &["exposure", "users_exposed"]) as f64;
        let share = exposed / u(&s, &["exposure", "users_total"]) as f64;
        assert!((0.1..0.35).contains(&share), "seed {seed}: {share:.3}");
        // One in five of v2's requests failed.
        let failed = u(&s, &["exposure", "bad_failed"]) as f64;
        let ratio = failed / u(&s, &["exposure", "bad_requests"]) as f64;
        assert!((0.15..0.25).contains(&ratio), "seed {seed}: {ratio:.3}");
        // A canary of the same release exposes a small fraction of that.
        let (canary, _) = run_scenario("canary-bad-release", &["--seed", seed]);
        assert!(u(&canary, &["exposure", "users_exposed"]) as f64 * 5.0 < exposed);
    }
}
