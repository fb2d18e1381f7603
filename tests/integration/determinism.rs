//! Same scenario and seed ⇒ byte-identical outputs; a different seed ⇒ different traffic; and
//! strategies compared on one seed see the same requests (common random numbers).

use crate::common::{f, rollsim, temp_dir, u};

fn outputs(scenario: &str, seed: &str, tag: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = temp_dir(tag);
    let o = rollsim(&[
        "run",
        scenario,
        "--quiet",
        "--seed",
        seed,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        std::fs::read(dir.join("summary.json")).unwrap(),
        std::fs::read(dir.join("timeseries.csv")).unwrap(),
    )
}

/// Literal expected values of `rolling-no-prestop` on two seeds: a change that alters
/// results — a different draw order, an RNG stream consumed elsewhere, an event scheduled in
/// another order — fails here even if it is deterministic, and so does a seed that is ignored.
/// A fix that legitimately changes these numbers updates them (and says why in its commit):
/// kube-proxy's 0.2 ms per-attempt overhead moved p99 and the 60 s row's p50; the
/// `session_lost` and database failure causes added three zero columns before `traffic_share`;
/// long-lived connections a zero `connections` column after it.
#[test]
fn same_seed_gives_byte_identical_outputs() {
    let a = outputs("scenarios/rolling-no-prestop.toml", "7", "det-a");
    let b = outputs("scenarios/rolling-no-prestop.toml", "7", "det-b");
    assert!(a == b, "outputs differ between two runs with seed 7");
    let c = outputs("scenarios/rolling-no-prestop.toml", "8", "det-c");
    // (seed, events, requests, ok, connection_refused, p99 ms, rollout end s)
    let expected = [
        (
            &a, "7", 298_947, 149_958, 148_584, 1_374, 191.743, 82.730614,
        ),
        (
            &c, "8", 299_276, 150_085, 148_786, 1_299, 191.743, 81.974243,
        ),
    ];
    for (out, seed, events, total, ok, refused, p99, end_s) in expected {
        let s: serde_json::Value = serde_json::from_slice(&out.0).unwrap();
        let got = (
            u(&s, &["events_processed"]),
            u(&s, &["requests", "total"]),
            u(&s, &["requests", "ok"]),
            u(&s, &["requests", "failed_by_cause", "connection_refused"]),
            f(&s, &["latency_ms", "p99"]),
            f(&s, &["rollout", "end_s"]),
        );
        assert_eq!(
            got,
            (events, total, ok, refused, p99, end_s),
            "seed {seed}: (events, requests, ok, connection_refused, p99 ms, rollout end s)"
        );
    }
    // The time series too: the first second of the rollout on seed 7, both versions.
    let csv = String::from_utf8(a.1).unwrap();
    let rows: Vec<&str> = csv.lines().filter(|l| l.starts_with("60,")).collect();
    assert_eq!(
        rows,
        [
            "60,v1,8,8,502,392,114,28.159,183.295,114,0,0,0,0,0,0,0,0,0,0,1.0000,0",
            "60,v2,5,0,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,0.0000,0",
        ]
    );
}

#[test]
fn a_run_with_a_database_is_byte_identical_on_the_same_seed() {
    let a = outputs("scenarios/db-connection-exhaustion.toml", "9", "det-db-a");
    let b = outputs("scenarios/db-connection-exhaustion.toml", "9", "det-db-b");
    assert!(a == b, "outputs differ between two runs with seed 9");
}

#[test]
fn strategies_see_identical_traffic() {
    let per_bucket_arrivals = |scenario: &str, tag: &str| {
        let dir = temp_dir(tag);
        let o = rollsim(&["run", scenario, "--quiet", "--out", dir.to_str().unwrap()]);
        assert!(o.status.success());
        let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
        let summary = crate::common::read_summary(&dir);
        // Sum arrivals over versions per bucket: routing differs, arrivals must not.
        let mut by_t = std::collections::BTreeMap::<String, u64>::new();
        for line in csv.lines().skip(1) {
            let cols: Vec<&str> = line.split(',').collect();
            *by_t.entry(cols[0].to_string()).or_default() += cols[4].parse::<u64>().unwrap();
        }
        (u(&summary, &["requests", "total"]), by_t)
    };
    let rolling = per_bucket_arrivals("scenarios/rolling.toml", "crn-rolling");
    let recreate = per_bucket_arrivals("scenarios/recreate.toml", "crn-recreate");
    let steady = per_bucket_arrivals("scenarios/steady.toml", "crn-steady");
    assert_eq!(rolling, recreate);
    assert_eq!(rolling, steady);
}

#[test]
fn flag_scenarios_give_byte_identical_outputs() {
    // Flag rules reach pods on the control stream; what pods' SDKs applied drives the flag's
    // mixed time and end, so it must replay exactly.
    for scenario in [
        "scenarios/flag-kill-switch-polling.toml",
        "scenarios/canary-plus-flag.toml",
    ] {
        let a = outputs(scenario, "5", "det-flag-a");
        let b = outputs(scenario, "5", "det-flag-b");
        assert!(
            a == b,
            "{scenario}: outputs differ between two runs with seed 5"
        );
    }
}
