//! `rollsim check`: the CI gate. Exit codes 0/1/2, the JUnit and JSON reports, null metrics,
//! baselines, replications, bad `[expect]` input (file:line:col, nothing written), and the
//! same output whatever the thread count.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{rollsim, root, temp_dir};

/// A one-minute rolling update with zero failures on any seed.
const SMALL: &str = r#"seed = 7
duration = "60s"
[traffic]
rate = 50
users = 500
[pod]
startup = "2s"
readiness = { period = "1s" }
pre_stop = "3s"
[versions.v1]
service = { dist = "exponential", mean = "20ms" }
[versions.v2]
service = { dist = "exponential", mean = "20ms" }
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

/// Writes `SMALL` + `expect` as `dir/name`.
fn scenario(dir: &Path, name: &str, expect: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{SMALL}\n[expect]\n{expect}")).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The elements named `tag` in `xml`, each as (attributes text, inner text).
fn elements<'x>(xml: &'x str, tag: &str) -> Vec<(&'x str, &'x str)> {
    let mut found = Vec::new();
    let open = format!("<{tag}");
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        if !after.starts_with([' ', '>', '/']) {
            rest = after;
            continue;
        }
        let end = after.find('>').unwrap();
        let attrs = &after[..end];
        if attrs.ends_with('/') {
            found.push((attrs, ""));
            rest = &after[end..];
        } else {
            let close = format!("</{tag}>");
            let body_end = after.find(&close).unwrap();
            found.push((attrs, &after[end + 1..body_end]));
            rest = &after[end..];
        }
    }
    found
}

fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = attrs.find(&key)? + key.len();
    Some(&attrs[i..i + attrs[i..].find('"')?])
}

#[test]
fn exit_0_when_every_expectation_holds() {
    let dir = temp_dir("check-pass");
    let p = scenario(
        &dir,
        "pass.toml",
        "\"requests.failed\" = \"<= 0\"\n\"rollout.outcome\" = \"== 'completed'\"\n",
    );
    let o = rollsim(&["check", s(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(
        text.contains("ok    requests.failed <= 0: actual 0 (seed 7)"),
        "{text}"
    );
    assert!(text.contains("check: all 2 expectations hold"), "{text}");
}

#[test]
fn exit_1_names_the_actual_value_the_seed_and_the_line() {
    let dir = temp_dir("check-fail");
    let p = scenario(
        &dir,
        "fail.toml",
        "\"requests.failed\" = \"<= 0\"\n\"requests.total\" = \"< 10\"\n",
    );
    let o = rollsim(&["check", s(&p), "--seed", "3"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let text = out(&o);
    let line = text.lines().find(|l| l.contains("FAIL")).unwrap();
    // SMALL has 22 lines, then a blank line and [expect]: the failing entry is line 26.
    assert!(
        line.contains("fail.toml:26:1: requests.total < 10: actual "),
        "{line}"
    );
    assert!(line.ends_with("(seed 3)"), "{line}");
    let total: u64 = line
        .split("actual ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total > 2000, "about 50 req/s for 60 s: {total}");
    assert!(text.contains("check: 1 of 2 expectations fail"), "{text}");
}

#[test]
fn a_null_metric_fails_a_numeric_expectation_as_no_data() {
    let dir = temp_dir("check-null");
    // Nothing aborts, so there is no detection time.
    let p = scenario(&dir, "null.toml", "\"rollout.detect_s\" = \"<= 100\"\n");
    let o = rollsim(&["check", s(&p)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).contains("rollout.detect_s <= 100: actual null, no data (seed 7)"),
        "{}",
        out(&o)
    );
}

#[test]
fn junit_has_a_suite_per_scenario_a_case_per_expectation_and_failures_with_values() {
    let dir = temp_dir("check-junit");
    let a = scenario(
        &dir,
        "a.toml",
        "\"requests.failed\" = \"<= 0\"\n\"requests.total\" = \"< 10\"\n",
    );
    let b = scenario(&dir, "b.toml", "\"rollout.outcome\" = \"== 'completed'\"\n");
    let report = dir.join("report.xml");
    let o = rollsim(&["check", s(&a), s(&b), "--junit", s(&report), "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
    let suites = elements(&xml, "testsuite");
    assert_eq!(suites.len(), 2);
    assert_eq!(attr(suites[0].0, "name"), Some("a"));
    assert_eq!(attr(suites[0].0, "tests"), Some("2"));
    assert_eq!(attr(suites[0].0, "failures"), Some("1"));
    assert_eq!(attr(suites[1].0, "failures"), Some("0"));
    let cases = elements(&xml, "testcase");
    assert_eq!(cases.len(), 3);
    assert_eq!(attr(cases[0].0, "name"), Some("requests.failed &lt;= 0"));
    assert_eq!(attr(cases[1].0, "line"), Some("26"));
    let failures = elements(&xml, "failure");
    assert_eq!(failures.len(), 1);
    let msg = attr(failures[0].0, "message").unwrap();
    assert!(
        msg.starts_with("actual ") && msg.ends_with("(seed 7)"),
        "{msg}"
    );
    assert!(
        failures[0].1.contains("a.toml:26: requests.total"),
        "{}",
        failures[0].1
    );
    // Only failures are printed with --quiet.
    assert!(!out(&o).contains("ok "), "{}", out(&o));
    assert!(!dir.read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("rollsim-tmp")));
}

#[test]
fn json_reports_every_expectation_with_its_values() {
    let dir = temp_dir("check-json");
    let p = scenario(
        &dir,
        "j.toml",
        "\"requests.failed\" = { every = \"<= 0\" }\n\"latency_ms.p99\" = { mean = \"< 1000\" }\n\"requests.total\" = { p50 = \"> 0\" }\n",
    );
    let o = rollsim(&["check", s(&p), "--runs", "3", "--seed", "100", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], true);
    assert_eq!(v["runs"], 3);
    let sc = &v["scenarios"][0];
    assert_eq!(sc["seeds"], serde_json::json!([100, 101, 102]));
    let e = &sc["expectations"];
    assert_eq!(e[0]["statistic"], "every");
    assert_eq!(e[0]["values"], serde_json::json!([0, 0, 0]));
    assert_eq!(e[1]["statistic"], "mean");
    let ci = e[1]["ci95"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
    assert_eq!(e[1]["actual"], ci[1], "`<` is judged on the upper bound");
    assert_eq!(e[2]["statistic"], "p50");
    assert_eq!(e[2]["line"], 27);
    assert!(e[2]["message"].as_str().unwrap().starts_with("p50 "));
}

#[test]
fn replications_judge_every_run_the_mean_interval_and_a_quantile() {
    let dir = temp_dir("check-runs");
    // Over 5 seeds the total varies a little around 2,750: every run is above 2,000; the
    // mean's upper bound is below 3,500; the p95 is not below 2,000.
    let p = scenario(
        &dir,
        "r.toml",
        "\"requests.total\" = \">= 2000\"\n\"requests.ok\" = { mean = \"< 3500\" }\n\"exposure.users_total\" = { p95 = \"< 10\" }\n",
    );
    let o = rollsim(&["check", s(&p), "--runs", "5", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = &v["scenarios"][0]["expectations"];
    assert_eq!(e[0]["passed"], true);
    assert_eq!(e[0]["values"].as_array().unwrap().len(), 5);
    assert_eq!(e[1]["passed"], true);
    assert_eq!(e[2]["passed"], false);
    assert_eq!(e[2]["failing_seeds"], serde_json::json!([7, 8, 9, 10, 11]));
    assert!(e[2]["message"]
        .as_str()
        .unwrap()
        .contains("over seeds 7–11, not < 10"));
}

#[test]
fn a_baseline_is_run_on_the_same_seeds_and_multiplies_thresholds() {
    let dir = temp_dir("check-baseline");
    std::fs::write(dir.join("base.toml"), SMALL).unwrap();
    let p = scenario(
        &dir,
        "b.toml",
        "baseline = \"base.toml\"\n\"requests.total\" = \"== baseline\"\n\"capacity.cost\" = \"<= 1.0 * baseline\"\n\"requests.ok\" = \"< 0.5 * baseline\"\n",
    );
    let o = rollsim(&["check", s(&p), "--runs", "2", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = &v["scenarios"][0]["expectations"];
    // The same scenario on the same seed: the same requests (common random numbers).
    assert_eq!(e[0]["passed"], true);
    assert_eq!(e[1]["passed"], true);
    assert_eq!(e[2]["passed"], false);
    let ok = e[2]["values"][0].as_f64().unwrap();
    assert_eq!(e[2]["threshold"].as_f64().unwrap(), 0.5 * ok);
    // A baseline on other traffic is bad input.
    std::fs::write(
        dir.join("base.toml"),
        SMALL.replace("rate = 50", "rate = 60"),
    )
    .unwrap();
    let o = rollsim(&["check", s(&p)]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(e.contains("b.toml:25:12"), "{e}");
    assert!(
        e.contains("traffic.rate is 50 here but 60 in the baseline"),
        "{e}"
    );
    // A missing baseline is bad input for `check`, at the `baseline` line; `run` ignores it (a
    // copied scenario still runs).
    std::fs::remove_file(dir.join("base.toml")).unwrap();
    let o = rollsim(&["check", s(&p)]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("the baseline scenario \"base.toml\" cannot be used"),
        "{e}"
    );
    assert!(e.contains("b.toml:25:12"), "{e}");
    let o = rollsim(&["run", s(&p), "--quiet", "--out", s(&dir.join("out"))]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

#[test]
fn bad_expectations_are_located_and_nothing_is_run_or_written() {
    let dir = temp_dir("check-bad");
    let p = scenario(
        &dir,
        "bad.toml",
        "\"request.failed\" = \"<= 0\"\n\"latency_ms.p99\" = \"<= 300ms\"\n\"rollout.outcome\" = \"== completed\"\n",
    );
    let report = dir.join("report.xml");
    let o = rollsim(&["check", s(&p), "--junit", s(&report)]);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("\"request.failed\" is not in this scenario's summary.json"),
        "{e}"
    );
    assert!(e.contains("bad.toml:25:1"), "{e}");
    assert!(e.contains("did you mean \"requests.failed\"?"), "{e}");
    assert!(
        e.contains("the expectation \"<= 300ms\" does not parse"),
        "{e}"
    );
    assert!(e.contains("bad.toml:26:27"), "{e}");
    assert!(e.contains("thresholds take no units"), "{e}");
    assert!(e.contains("unknown name `completed`"), "{e}");
    assert!(e.contains("\"== 'completed'\""), "{e}");
    assert!(e.contains("3 problems in"), "{e}");
    assert!(out(&o).is_empty());
    assert!(!report.exists(), "nothing is written on bad input");
    // `validate` finds the same problems.
    let o = rollsim(&["validate", s(&p)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("did you mean \"requests.failed\"?"));
}

#[test]
fn no_expect_table_is_a_warning_but_nothing_to_check_is_bad_input() {
    let dir = temp_dir("check-none");
    let plain = dir.join("plain.toml");
    std::fs::write(&plain, SMALL).unwrap();
    let o = rollsim(&["check", s(&plain)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("no scenario given has an [expect] table"),
        "{}",
        err(&o)
    );
    let p = scenario(&dir, "p.toml", "\"requests.failed\" = \"<= 0\"\n");
    let o = rollsim(&["check", s(&plain), s(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains("has no [expect] table: nothing to check, skipped"));
    let o = rollsim(&["check", s(&p), "--runs", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_output_is_the_same_whatever_the_thread_count() {
    let dir = temp_dir("check-threads");
    let p = scenario(
        &dir,
        "t.toml",
        "\"requests.ok\" = { mean = \">= 0\" }\n\"latency_ms.p99\" = { p90 = \"< 1000\" }\n",
    );
    let run = |threads: &str, junit: &Path| {
        Command::new(env!("CARGO_BIN_EXE_rollsim"))
            .args(["check", s(&p), "--runs", "4", "--json", "--junit", s(junit)])
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(root())
            .output()
            .unwrap()
    };
    let (j1, j2) = (dir.join("one.xml"), dir.join("two.xml"));
    let (a, b) = (run("1", &j1), run("2", &j2));
    assert_eq!(a.status.code(), Some(0), "{}", err(&a));
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(std::fs::read(&j1).unwrap(), std::fs::read(&j2).unwrap());
}

#[test]
fn the_shipped_gates_hold_on_ten_seeds() {
    let o = rollsim(&[
        "check",
        "scenarios/rolling-safe.toml",
        "scenarios/canary-bad-release.toml",
        "scenarios/blue-green.toml",
        "--runs",
        "10",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", out(&o), err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["expectations"], 13);
    // canary-bad-release: aborted on every seed, failures bounded on every seed.
    let c = &v["scenarios"][1]["expectations"];
    assert_eq!(c[0]["values"].as_array().unwrap().len(), 10);
    assert!(c[1]["values"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.as_u64().unwrap() > 0));
}

#[test]
fn run_prints_an_expect_line_without_changing_its_exit_code() {
    let dir = temp_dir("check-run-line");
    let p = scenario(
        &dir,
        "r.toml",
        "\"requests.failed\" = \"<= 0\"\n\"requests.total\" = \"< 10\"\n",
    );
    let o = rollsim(&["run", s(&p), "--out", s(&dir.join("out"))]);
    assert_eq!(o.status.code(), Some(0));
    let line = out(&o)
        .lines()
        .find(|l| l.starts_with("expect"))
        .unwrap()
        .to_string();
    assert!(
        line.starts_with("expect     1 of 2 hold; failing: requests.total < 10 (actual "),
        "{line}"
    );
}
