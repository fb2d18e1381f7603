//! The command line as a user meets it: the readable summary, outputs where promised, the plan.

use crate::common::{rollsim, temp_dir};

#[test]
fn run_prints_a_summary_and_writes_both_files() {
    let dir = temp_dir("cli-run");
    let o = rollsim(&[
        "run",
        "scenarios/rolling.toml",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    for needle in [
        "requests",
        "latency",
        "rollout    completed",
        "capacity",
        "wrote",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    assert!(csv.starts_with("t_s,version,pods,ready,arrivals,ok,failed,p50_ms,p99_ms,"));
    // 300 one-second buckets × 2 versions, plus the drain's partial bucket, plus the header.
    assert_eq!(csv.lines().count(), 603);
    assert!(csv.lines().last().unwrap().starts_with("300,v2,10,10,0,"));
    let s = crate::common::read_summary(&dir);
    for key in [
        "scenario",
        "seed",
        "strategy",
        "events_processed",
        "requests",
        "latency_ms",
        "versions",
        "rollout",
        "exposure",
        "capacity",
    ] {
        assert!(!s[key].is_null(), "summary.json lacks {key}");
    }
    for key in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(s["latency_ms"][key].is_number(), "latency_ms.{key}");
    }
    assert!(!dir.read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
fn quiet_prints_nothing() {
    let dir = temp_dir("cli-quiet");
    let o = rollsim(&[
        "run",
        "scenarios/steady.toml",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(o.stdout.is_empty());
}

#[test]
fn plan_shows_the_controller_moves_as_text_and_json() {
    let o = rollsim(&["plan", "scenarios/rolling.toml"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("maxSurge        3 (25% of 10, rounded up)"),
        "{text}"
    );
    assert!(
        text.contains("maxUnavailable  2 (25% of 10, rounded down)"),
        "{text}"
    );
    let o = rollsim(&["plan", "scenarios/rolling.toml", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let steps = v["steps"].as_array().unwrap();
    let shape: Vec<(u64, u64)> = steps
        .iter()
        .map(|s| {
            let rs = s["replica_sets"].as_array().unwrap();
            (
                rs[0]["desired"].as_u64().unwrap(),
                rs[1]["desired"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shape, [(8, 3), (8, 5), (3, 5), (3, 10), (0, 10)]);
    assert!(steps
        .iter()
        .all(|s| s["why"].as_str().is_some_and(|w| !w.is_empty())));
}

#[test]
fn validate_accepts_a_good_scenario() {
    let o = rollsim(&["validate", "scenarios/rolling-safe.toml"]);
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout).unwrap().contains(": ok"));
}
