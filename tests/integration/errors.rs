//! Bad input: a clear error naming file, line and column, what is wrong and how to fix it;
//! exit code 2; nothing written.

use crate::common::{rollsim, run_into, temp_dir};

const GOOD: &str = r#"duration = "1m"
[traffic]
rate = 10
[versions.v1]
service = "50ms"
[versions.v2]
service = "40ms"
[deployment]
replicas = 3
version = "v1"
[rollout]
to = "v2"
at = "10s"
strategy = "rolling"
max_surge = 1
max_unavailable = 0
"#;

/// Writes `text` as a scenario, runs `rollsim run` on it, and returns (exit code, stderr,
/// whether the output folder got any file).
fn run_bad(text: &str, tag: &str) -> (i32, String, bool) {
    let dir = temp_dir(tag);
    let file = dir.join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.join("out");
    let o = run_into(&file, &out, &[]);
    let wrote = out.exists() && out.read_dir().unwrap().next().is_some();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8(o.stderr).unwrap(),
        wrote,
    )
}

fn assert_rejected(text: &str, tag: &str, line: usize, needles: &[&str]) -> String {
    let (code, err, wrote) = run_bad(text, tag);
    assert_eq!(code, 2, "exit code for {tag}: {err}");
    assert!(!wrote, "{tag}: outputs written despite the error");
    assert!(
        err.contains(&format!("bad.toml:{line}:")),
        "{tag}: no file:line {line} in\n{err}"
    );
    for n in needles {
        assert!(err.contains(n), "{tag}: {n:?} missing in\n{err}");
    }
    assert!(err.contains("help:"), "{tag}: no help in\n{err}");
    err
}

#[test]
fn good_scenario_runs() {
    let (code, err, wrote) = run_bad(GOOD, "good");
    assert_eq!(code, 0, "{err}");
    assert!(wrote);
}

#[test]
fn both_fenceposts_zero_is_rejected_like_kubernetes() {
    let text = GOOD.replace("max_surge = 1", "max_surge = \"0%\"");
    let err = assert_rejected(
        &text,
        "zero",
        16,
        &["both 0", "may not be 0 when maxSurge is 0"],
    );
    assert!(err.contains("^"), "caret missing:\n{err}");
}

#[test]
fn unknown_keys_are_rejected_with_the_accepted_ones() {
    let text = GOOD.replace("max_surge = 1", "maxSurge = 1");
    assert_rejected(
        &text,
        "unknown-key",
        15,
        &["unknown key `maxSurge`", "max_surge"],
    );
}

#[test]
fn wrong_types_negative_values_and_bad_durations() {
    assert_rejected(
        &GOOD.replace("rate = 10", "rate = -1"),
        "neg-rate",
        3,
        &["not a rate"],
    );
    assert_rejected(
        &GOOD.replace("rate = 10", "rate = \"lots\""),
        "type",
        3,
        &["rate"],
    );
    assert_rejected(
        &GOOD.replace("at = \"10s\"", "at = \"10 parsecs\""),
        "duration",
        13,
        &["not a duration"],
    );
    assert_rejected(
        &GOOD.replace("max_unavailable = 0", "max_unavailable = \"25\""),
        "pct",
        16,
        &["% sign"],
    );
}

#[test]
fn impossible_combinations_are_rejected() {
    assert_rejected(
        &GOOD.replace("replicas = 3", "replicas = 0"),
        "zero-replicas",
        9,
        &["0 replicas"],
    );
    assert_rejected(
        &GOOD.replace("to = \"v2\"", "to = \"v3\""),
        "unknown-version",
        12,
        &["\"v3\" is not defined", "did you mean"],
    );
    assert_rejected(
        &GOOD.replace("strategy = \"rolling\"", "strategy = \"recreate\""),
        "recreate-surge",
        15,
        &["does not apply to the Recreate strategy"],
    );
}

#[test]
fn every_problem_is_listed_at_once() {
    let text = GOOD
        .replace("rate = 10", "rate = -5")
        .replace("to = \"v2\"", "to = \"v9\"");
    let (code, err, _) = run_bad(&text, "many");
    assert_eq!(code, 2);
    assert!(err.contains("2 problems"), "{err}");
}

#[test]
fn huge_runs_ask_for_force() {
    let text = GOOD
        .replace("rate = 10", "rate = 1e9")
        .replace("duration = \"1m\"", "duration = \"1h\"");
    let (code, err, wrote) = run_bad(&text, "huge");
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    assert!(!wrote);
}

#[test]
fn missing_files_and_bad_flags_exit_2() {
    let o = rollsim(&["run", "scenarios/does-not-exist.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read"));
    let o = rollsim(&["run", "scenarios/rolling.toml", "--sed", "3"]);
    assert_eq!(o.status.code(), Some(2));
}

const CANARY: &str = r#"duration = "1m"
[traffic]
rate = 10
[versions.v1]
service = "50ms"
[versions.v2]
service = "40ms"
[deployment]
replicas = 4
version = "v1"
[rollout]
to = "v2"
at = "10s"
strategy = "canary"
traffic_routing = true
steps = [{ set_weight = 20 }, { pause = "10s" }, { set_weight = 50 }]
"#;

#[test]
fn canary_steps_that_make_no_sense_are_rejected() {
    assert!(run_bad(CANARY, "canary-ok").0 == 0);
    assert_rejected(
        &CANARY.replace("set_weight = 50", "set_weight = 150"),
        "weight-150",
        16,
        &["outside 0–100"],
    );
    // Argo accepts a lower setWeight than the step before (issue 6, A4).
    assert_eq!(
        run_bad(
            &CANARY.replace("set_weight = 50", "set_weight = 10"),
            "weight-down"
        )
        .0,
        0
    );
    assert_rejected(
        &CANARY.replace("pause = \"10s\"", "pause = -5"),
        "neg-pause",
        16,
        &["non-negative duration"],
    );
    assert_rejected(
        &CANARY.replace(
            "{ pause = \"10s\" }",
            "{ pause = \"10s\", set_weight = 30 }",
        ),
        "two-actions",
        16,
        &["exactly one of"],
    );
}

#[test]
fn analysis_on_a_metric_that_does_not_exist_is_rejected() {
    let text = format!("{CANARY}[rollout.analysis]\n[[rollout.analysis.metrics]]\nmetric = \"happiness\"\nmax = 1\n");
    assert_rejected(
        &text,
        "metric",
        19,
        &["no metric \"happiness\"", "error_rate"],
    );
}

#[test]
fn flag_percentages_outside_0_to_100_are_rejected() {
    let text = CANARY.replace(
        "[rollout]",
        "[versions.new-path]\nservice = \"40ms\"\n[flag]\nkey = \"f\"\nvariant = \"new-path\"\nschedule = [{ at = \"5s\", percent = 120 }]\n[rollout]",
    );
    assert_rejected(
        &text,
        "flag-pct",
        16,
        &["flag percentage of 120", "0 to 100"],
    );
}

#[test]
fn settings_of_another_strategy_and_oversized_previews_are_rejected() {
    let bg = GOOD
        .replace(
            "strategy = \"rolling\"",
            "strategy = \"blue_green\"\npreview_replicas = 9",
        )
        .replace("max_surge = 1\nmax_unavailable = 0\n", "");
    assert_rejected(&bg, "preview", 15, &["out of range", "1 to 3"]);
    let rolling_steps = format!("{GOOD}steps = [{{ set_weight = 10 }}]\n");
    assert_rejected(
        &rolling_steps,
        "steps-on-rolling",
        17,
        &["does not apply to strategy \"rolling\"", "canary"],
    );
}

#[test]
fn a_scenario_name_cannot_write_outside_outputs() {
    let dir = temp_dir("name-escape");
    for (i, name) in ["../../escaped", "/tmp/escaped", ".."].iter().enumerate() {
        let text = format!("name = {name:?}\n{GOOD}");
        let err = assert_rejected(&text, &format!("name-{i}"), 1, &["`name`"]);
        assert!(err.contains("outputs/<name>"), "{err}");
    }
    assert!(!dir.join("escaped").exists());
}
