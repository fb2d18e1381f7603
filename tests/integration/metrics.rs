//! What the reported numbers mean: missing latency is null, exposure counts at routing,
//! `users_both_versions` agrees with `mixed_version_s`, a flag release is measured from what
//! pods' SDKs applied, and the time series reconciles with the summary's per-version counts.

use std::path::PathBuf;

use crate::common::{f, read_summary, root, run_into, run_scenario, u, variant};

/// `scenarios/<base>.toml` with text replacements, run with `extra` arguments; returns the
/// summary, the output folder and stdout.
fn run_variant(
    base: &str,
    tag: &str,
    subs: &[(&str, &str)],
    extra: &[&str],
) -> (serde_json::Value, PathBuf, String) {
    let file = variant(base, tag, subs);
    let out = file.with_file_name("out");
    let o = run_into(&file, &out, extra);
    assert!(
        o.status.success(),
        "{tag}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (
        read_summary(&out),
        out,
        String::from_utf8(o.stdout).unwrap(),
    )
}

/// v2 of `rolling.toml` answers nothing in time: every request it accepts times out.
const V2: &str = "[versions.v2]\nservice = { dist = \"lognormal\", mean = \"35ms\", p99 = \"180ms\" }\nerror_rate = 0.0\n";
const V2_TIMES_OUT: &str = "[versions.v2]\nservice = \"20s\"\nerror_rate = 0.0\n";

#[test]
fn a_version_with_no_successful_response_has_null_latency_and_still_exposes_users() {
    let (s, dir, stdout) = run_variant(
        "rolling",
        "no-success",
        &[
            (V2, V2_TIMES_OUT),
            ("timeout = \"10s\"", "timeout = \"1s\""),
        ],
        &[],
    );
    assert!(u(&s, &["versions", "v2", "requests"]) > 0);
    assert_eq!(u(&s, &["versions", "v2", "ok"]), 0);
    for key in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(
            s["versions"]["v2"]["latency_ms"][key].is_null(),
            "versions.v2.latency_ms.{key} = {}",
            s["versions"]["v2"]["latency_ms"][key]
        );
        assert!(s["versions"]["v1"]["latency_ms"][key].is_number());
    }
    assert!(
        stdout.contains("p99 — ms"),
        "the text shows a dash:\n{stdout}"
    );
    // The CSV leaves v2's percentile cells empty, never 0.
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let v2_rows: Vec<&str> = csv.lines().filter(|l| l.contains(",v2,")).collect();
    assert!(!v2_rows.is_empty());
    for row in v2_rows {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!((cols[7], cols[8]), ("", ""), "{row}");
    }
    // Exposure is routing: every user v2 accepted a request from was exposed, though it
    // answered none of them.
    assert!(u(&s, &["exposure", "users_exposed"]) > 1_000);
}

#[test]
fn users_both_versions_is_zero_without_mixed_version_time_on_every_shipped_scenario() {
    let dir = root().join("scenarios");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let (s, _) = run_scenario(&name, &[]);
        let mixed = f(&s, &["exposure", "mixed_version_s"]);
        let both = u(&s, &["exposure", "users_both_versions"]);
        if mixed == 0.0 {
            assert_eq!(both, 0, "{name}: {both} users on two versions in 0 s");
        }
        assert!(
            both <= u(&s, &["exposure", "users_total"]),
            "{name}: {both} users on two versions"
        );
    }
}

#[test]
fn recreate_exposes_nobody_to_two_versions_at_once_while_rolling_does() {
    for seed in ["1", "2", "3"] {
        let (recreate, _) = run_scenario("recreate", &["--seed", seed]);
        assert_eq!(f(&recreate, &["exposure", "mixed_version_s"]), 0.0);
        assert_eq!(u(&recreate, &["exposure", "users_both_versions"]), 0);
        // Every returning user met v2 after the gap.
        assert!(u(&recreate, &["exposure", "users_exposed"]) > 19_000);
        let (rolling, _) = run_scenario("rolling", &["--seed", seed]);
        assert!(f(&rolling, &["exposure", "mixed_version_s"]) > 5.0);
        assert!(u(&rolling, &["exposure", "users_both_versions"]) > 0);
    }
}

/// Column `col` of `csv` summed per version.
fn per_version_sum(csv: &str, cols: &[&str]) -> std::collections::BTreeMap<String, u64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| header.iter().position(|h| h == c).unwrap())
        .collect();
    let mut out = std::collections::BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let n: u64 = idx.iter().map(|i| cells[*i].parse::<u64>().unwrap()).sum();
        *out.entry(cells[1].to_string()).or_default() += n;
    }
    out
}

#[test]
fn per_version_arrivals_and_requests_reconcile_with_the_time_series_under_retries() {
    // nginx retries connection errors on another endpoint: a request first routed to a
    // terminating v1 pod may be answered by v2.
    let (s, dir) = run_scenario("rolling-no-prestop-nginx", &[]);
    assert!(u(&s, &["requests", "retries"]) > 0);
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let arrivals = per_version_sum(&csv, &["arrivals"]);
    let outcomes = per_version_sum(&csv, &["ok", "failed"]);
    let mut moved = 0;
    for v in ["v1", "v2"] {
        let a = u(&s, &["versions", v, "arrivals"]);
        let r = u(&s, &["versions", v, "requests"]);
        assert_eq!(arrivals[v], a, "{v}: CSV arrivals vs versions.{v}.arrivals");
        assert_eq!(
            outcomes[v], r,
            "{v}: CSV ok+failed vs versions.{v}.requests"
        );
        moved += a.abs_diff(r);
    }
    assert!(moved > 0, "retries moved no request between versions");
    // Both add up to the run's total.
    let total = u(&s, &["requests", "total"]);
    assert_eq!(arrivals.values().sum::<u64>(), total);
    assert_eq!(outcomes.values().sum::<u64>(), total);
}

#[test]
fn a_flag_release_ends_when_the_last_sdk_applied_100_percent() {
    // Polling every 30 s: the 100 % rules published at 210 s reach the last pod up to 30 s
    // later, and the old path serves until then.
    for seed in ["1", "2", "42"] {
        let (s, _) = run_scenario("flag-rollout", &["--seed", seed]);
        let flag = &s["flag"];
        assert_eq!(flag["outcome"], "completed");
        let end = f(flag, &["end_s"]);
        assert!(end > 210.0 && end <= 240.0, "seed {seed}: flag end_s {end}");
        assert_eq!(f(&s, &["rollout", "end_s"]), end);
        // Internal users from 60 s, the old path until the end: at least 150 s of mixed time.
        let mixed = f(flag, &["mixed_version_s"]);
        assert!(mixed > 150.0 && mixed <= end - 60.0, "seed {seed}: {mixed}");
        assert_eq!(f(&s, &["exposure", "mixed_version_s"]), mixed);
    }
    // Streaming (50–500 ms): the same schedule ends within half a second of publication.
    let (s, _, _) = run_variant(
        "flag-rollout",
        "flag-streaming",
        &[("poll_interval = \"30s\"\n", "")],
        &["--quiet"],
    );
    let end = f(&s, &["flag", "end_s"]);
    assert!(end > 210.0 && end <= 210.5, "streaming flag end_s {end}");
}

#[test]
fn canary_plus_flag_reports_the_flag_phase_beside_the_canary() {
    let (s, _) = run_scenario("canary-plus-flag", &[]);
    let canary_end = f(&s, &["rollout", "end_s"]);
    let flag = &s["flag"];
    assert_eq!(flag["key"], "new-checkout");
    assert_eq!(flag["outcome"], "completed");
    // The flag starts at 2m30s, after the canary completed, and ends once every v2 pod's SDK
    // applied 100 % (3m30s + streaming delay).
    assert_eq!(f(flag, &["start_s"]), 150.0);
    assert!(canary_end < 150.0);
    let end = f(flag, &["end_s"]);
    assert!(end > 210.0 && end < 211.0, "flag end_s {end}");
    let mixed = f(flag, &["mixed_version_s"]);
    assert!((59.0..=61.0).contains(&mixed), "flag mixed {mixed}");
    assert!(u(flag, &["users_exposed"]) > 15_000);
}

#[test]
fn a_kill_switch_inside_a_completed_canary_aborts_the_flag_not_the_canary() {
    let schedule =
        "schedule = [{ at = \"2m30s\", percent = 10 }, { at = \"3m30s\", percent = 100 }]";
    let (s, _, _) = run_variant(
        "canary-plus-flag",
        "canary-flag-kill",
        &[(schedule, &format!("{schedule}\nkill_at = \"4m\""))],
        &["--quiet"],
    );
    assert_eq!(s["rollout"]["outcome"], "completed", "the canary completed");
    assert!(s["rollout"]["rollback_at_s"].is_null());
    let flag = &s["flag"];
    assert_eq!(flag["outcome"], "aborted");
    assert_eq!(f(flag, &["killed_at_s"]), 240.0);
    // Streaming SDKs: the path stops within a second of the kill.
    let rollback = f(flag, &["rollback_s"]);
    assert!(rollback < 1.0, "flag rollback_s {rollback}");
    assert!(f(flag, &["detect_s"]) > 80.0, "from 150 s to 240 s");
}
