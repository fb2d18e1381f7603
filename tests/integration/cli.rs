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

/// `rollsim plan x | head`: a reader that goes away must not make rollsim panic.
#[test]
fn a_closed_stdout_pipe_ends_quietly_without_a_panic() {
    use std::process::{Command, Stdio};
    for args in [
        &["plan", "scenarios/rolling.toml"][..],
        &["plan", "scenarios/canary-bad-release.toml", "--json"][..],
        &[
            "validate",
            "scenarios/rolling.toml",
            "scenarios/blue-green.toml",
        ][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rollsim"))
            .args(args)
            .current_dir(crate::common::root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before rollsim writes
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(o.status.code(), Some(101), "{args:?}: {err}");
    }
}

#[test]
fn help_help_works() {
    for args in [
        &["help", "--help"][..],
        &["help", "run", "--help"][..],
        &["help", "-h"][..],
    ] {
        let o = rollsim(args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage: rollsim"),
            "{args:?}"
        );
    }
}

#[test]
fn validate_takes_several_files_and_reports_each() {
    let dir = temp_dir("validate-many");
    let bad1 = dir.join("bad1.toml");
    let bad2 = dir.join("bad2.toml");
    std::fs::write(&bad1, "duration = true\n").unwrap();
    std::fs::write(&bad2, "duration = \"1m\"\n[traffic]\nrate = \"x\"\n").unwrap();
    let o = rollsim(&[
        "validate",
        "scenarios/rolling.toml",
        bad1.to_str().unwrap(),
        bad2.to_str().unwrap(),
        "scenarios/blue-green.toml",
    ]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(out.contains("scenarios/rolling.toml: ok"), "{out}");
    assert!(out.contains("scenarios/blue-green.toml: ok"), "{out}");
    assert!(err.contains("bad1.toml:1:12"), "{err}");
    assert!(err.contains("bad2.toml:3:8"), "{err}");
    let o = rollsim(&[
        "validate",
        "scenarios/rolling.toml",
        "scenarios/blue-green.toml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let o = rollsim(&["validate"]);
    assert_eq!(o.status.code(), Some(2));
}
