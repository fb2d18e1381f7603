//! Blue-green, canary, Flagger and feature-flag scenarios: each one's lesson, and the issue's
//! comparisons between strategies facing the same bad release on the same traffic.

use crate::common::{f, run_scenario, u};

#[test]
fn blue_green_doubles_the_fleet_and_fails_nothing() {
    let (s, _) = run_scenario("blue-green", &[]);
    assert_eq!(s["rollout"]["outcome"], "completed");
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    assert_eq!(u(&s, &["capacity", "peak_pods"]), 20, "2 × replicas");
    // The switch is atomic: no time with two versions receiving traffic.
    assert_eq!(f(&s, &["exposure", "mixed_version_s"]), 0.0);
    assert_eq!(f(&s, &["exposure", "max_new_traffic_share"]), 1.0);
}

#[test]
fn blue_green_bad_release_rolls_back_within_the_scale_down_delay() {
    let (s, _) = run_scenario("blue-green-bad-release", &[]);
    assert_eq!(s["rollout"]["outcome"], "aborted");
    let abort = f(&s, &["rollout", "rollback_at_s"]);
    // Switch happens after the preview is ready (≥ 60 s + start-up), scale-down delay 60 s.
    assert!(abort < 60.0 + 30.0 + 60.0, "aborted at {abort}");
    // Rollback is a selector switch: ≤ the propagation delay (3 s max) + one interval (10 s).
    let rollback = f(&s, &["rollout", "rollback_s"]);
    assert!(rollback <= 3.0 + 10.0, "rollback_s {rollback}");
    assert!(f(&s, &["rollout", "detect_s"]) <= 20.0);
    assert!(u(&s, &["exposure", "bad_failed"]) > 0);
    // The old fleet was still there: nothing but the bad release's own errors failed.
    assert_eq!(
        u(&s, &["requests", "failed"]),
        u(&s, &["requests", "failed_by_cause", "app_error"])
    );
}

#[test]
fn canary_steps_through_its_weights_and_completes() {
    let (s, dir) = run_scenario("canary", &[]);
    assert_eq!(s["rollout"]["outcome"], "completed");
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    // Three 30 s pauses: at least 90 s.
    assert!(f(&s, &["rollout", "duration_s"]) >= 90.0);
    // The router holds 10 % for a while: some bucket has v2 between 5 and 15 %.
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    // By name: columns are appended after it (`connections`).
    let col = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "traffic_share")
        .unwrap();
    let shares: Vec<f64> = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("v2"))
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    assert!(
        shares.iter().any(|x| (0.05..0.15).contains(x)),
        "no bucket near 10 %"
    );
}

#[test]
fn canary_bad_release_is_rolled_back_and_exposes_far_fewer_requests_than_rolling() {
    let (canary, _) = run_scenario("canary-bad-release", &[]);
    let (rolling, _) = run_scenario("rolling-bad-release", &[]);
    assert_eq!(canary["rollout"]["outcome"], "aborted");
    assert_eq!(rolling["rollout"]["outcome"], "rolled_back");
    let bad_canary = u(&canary, &["exposure", "bad_requests"]);
    let bad_rolling = u(&rolling, &["exposure", "bad_requests"]);
    assert!(
        bad_canary * 10 < bad_rolling,
        "{bad_canary} vs {bad_rolling}"
    );
    assert!(f(&canary, &["exposure", "max_new_traffic_share"]) < 0.2);
    // Same traffic for both strategies.
    assert_eq!(
        u(&canary, &["requests", "total"]),
        u(&rolling, &["requests", "total"])
    );
    // Rolling back a RollingUpdate takes a rollout's time; a canary abort a weight change.
    assert!(f(&canary, &["rollout", "rollback_s"]) < f(&rolling, &["rollout", "rollback_s"]));
}

#[test]
fn basic_canary_approximates_weights_with_pods() {
    let (s, _) = run_scenario("canary-no-traffic-routing", &[]);
    assert_eq!(s["strategy"], "canary_basic");
    assert_eq!(s["rollout"]["outcome"], "completed");
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    // maxSurge 25 %, maxUnavailable 0: never more than 13 pods, never fewer than 10 ready.
    assert!(u(&s, &["capacity", "peak_pods"]) <= 13);
    assert!(u(&s, &["capacity", "min_ready_pods"]) >= 10);
}

#[test]
fn flagger_promotes_after_its_weight_steps() {
    let (s, _) = run_scenario("flagger-canary", &[]);
    assert_eq!(s["rollout"]["outcome"], "completed");
    // Detection within a tick (0–15 s), then weights 20, 40, 60, Promoting, Finalising and
    // Succeeded on 15 s ticks: 90–105 s when the canary is ready by the first analysis tick.
    let d = f(&s, &["rollout", "duration_s"]);
    assert!((90.0..105.0).contains(&d), "{d}");
    assert_eq!(u(&s, &["requests", "failed"]), 0);
}

#[test]
fn flag_rollout_changes_no_pods_and_exposes_users_gradually() {
    let (s, _) = run_scenario("flag-rollout", &[]);
    assert_eq!(s["strategy"], "feature_flag");
    assert_eq!(s["rollout"]["outcome"], "completed");
    assert_eq!(u(&s, &["capacity", "peak_pods"]), 10);
    assert!(u(&s, &["versions", "checkout-v2", "requests"]) > 0);
    assert!(u(&s, &["exposure", "users_exposed"]) > 15_000);
    // SDKs polling every 30 s: some users bounce between paths while pods catch up.
    assert!(u(&s, &["exposure", "users_flapped"]) > 0);
}

#[test]
fn flag_kill_switch_stops_the_bad_path_within_the_polling_interval() {
    let (s, _) = run_scenario("flag-kill-switch", &[]);
    assert_eq!(s["rollout"]["outcome"], "aborted");
    let rollback = f(&s, &["rollout", "rollback_s"]);
    assert!(
        rollback <= 30.0,
        "rollback_s {rollback} beyond the 30 s poll"
    );
    assert!(u(&s, &["exposure", "bad_requests"]) < 1_000);
    assert_eq!(u(&s, &["versions", "v1", "failed"]), 0);
}

#[test]
fn canary_plus_flag_releases_the_feature_only_on_v2() {
    let (s, _) = run_scenario("canary-plus-flag", &[]);
    assert_eq!(s["strategy"], "canary+flag");
    assert_eq!(s["rollout"]["outcome"], "completed");
    assert!(u(&s, &["versions", "checkout-v2", "requests"]) > 0);
    assert!(u(&s, &["versions", "v2", "requests"]) > 0);
}

#[test]
fn every_strategy_sees_the_same_traffic() {
    let names = [
        "steady",
        "rolling",
        "recreate",
        "blue-green",
        "canary",
        "canary-no-traffic-routing",
        "flagger-canary",
        "flag-rollout",
    ];
    let totals: Vec<u64> = names
        .iter()
        .map(|n| u(&run_scenario(n, &[]).0, &["requests", "total"]))
        .collect();
    assert!(
        totals.windows(2).all(|w| w[0] == w[1]),
        "{names:?}: {totals:?}"
    );
}
