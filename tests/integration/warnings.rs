//! Pre-flight warnings: valid settings that will likely not do what was meant are printed by
//! `run` and `validate` (stderr, `warning: file:line:col: …`) and kept in `summary.json`.

use rollsim::scenario::Scenario;

use crate::common::{read_summary, rollsim, run_into, temp_dir};

const BASE: &str = r#"duration = "2m"
[traffic]
rate = 10
[cluster]
nodes = 3
pods_per_node = 10
[versions.v1]
service = "50ms"
[versions.v2]
service = "40ms"
[deployment]
replicas = 10
version = "v1"
[rollout]
to = "v2"
at = "10s"
strategy = "rolling"
max_surge = 2
max_unavailable = 0
"#;

/// The warnings of `text`, as `line N: …` strings.
fn warnings(text: &str) -> Vec<String> {
    match Scenario::parse("w.toml", "w", text) {
        Ok(s) => s.warnings.iter().map(|w| w.to_string()).collect(),
        Err(e) => panic!("rejected:\n{e}\n{text}"),
    }
}

/// Exactly one warning, on `line`, containing every needle.
fn one(text: &str, line: usize, needles: &[&str]) {
    let w = warnings(text);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with(&format!("line {line}: ")), "{w:?}");
    for n in needles {
        assert!(w[0].contains(n), "{n:?} missing in {w:?}");
    }
}

#[test]
fn a_plain_scenario_has_no_warnings() {
    assert_eq!(warnings(BASE), Vec::<String>::new());
}

#[test]
fn replicas_and_surge_beyond_the_nodes_room() {
    let text = BASE.replace("nodes = 3", "nodes = 1");
    one(&text, 18, &["up to 12 pods", "room for 10", "Pending"]);
    // Blue-green needs a full preview beside the active pods.
    let text = BASE
        .replace("nodes = 3", "nodes = 1")
        .replace("replicas = 10", "replicas = 6")
        .replace(
            "strategy = \"rolling\"\nmax_surge = 2\nmax_unavailable = 0\n",
            "strategy = \"blue_green\"\n",
        );
    one(&text, 17, &["up to 12 pods", "6 active + 6 preview"]);
}

#[test]
fn a_pre_stop_not_shorter_than_the_grace_period() {
    let text = BASE.replace(
        "[versions.v1]",
        "[pod]\npre_stop = \"30s\"\ntermination_grace = \"30s\"\n[versions.v1]",
    );
    one(
        &text,
        8,
        &["preStop (30 s)", "grace period (30 s)", "SIGKILL"],
    );
    // Per version: only the version that overrides it, at its own line.
    let text = BASE.replace(
        "service = \"40ms\"",
        "service = \"40ms\"\npod = { pre_stop = \"45s\" }",
    );
    one(&text, 11, &["preStop (45 s)"]);
}

#[test]
fn a_mean_service_time_above_the_client_timeout() {
    let text = BASE
        .replace("rate = 10", "rate = 10\ntimeout = \"1s\"")
        .replace(
            "service = \"40ms\"",
            "service = { dist = \"exponential\", mean = \"2s\" }",
        );
    one(
        &text,
        11,
        &["mean service time of v2 (2 s)", "client timeout (1 s)"],
    );
}

#[test]
fn a_bucket_longer_than_the_run() {
    let text = format!("bucket = \"5m\"\n{BASE}");
    one(&text, 1, &["bucket (300 s)", "longer than the run (120 s)"]);
}

#[test]
fn a_progress_deadline_shorter_than_a_pods_way_to_available() {
    let text = BASE.replace(
        "version = \"v1\"",
        "version = \"v1\"\nmin_ready = \"20s\"\nprogress_deadline = \"15s\"",
    );
    one(
        &text,
        15,
        &["progress deadline (15 s)", "ProgressDeadlineExceeded"],
    );
}

const FLAGGER: &str = "strategy = \"flagger\"\ninterval = \"5s\"\nthreshold = 0\nstep_weight = 20\n[rollout.analysis]\n[[rollout.analysis.metrics]]\nmetric = \"error_rate\"\nmax = 0.05\n";

#[test]
fn flagger_interval_raised_and_threshold_clamped() {
    let text = BASE.replace(
        "strategy = \"rolling\"\nmax_surge = 2\nmax_unavailable = 0\n",
        FLAGGER,
    );
    let w = warnings(&text);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].starts_with("line 18: ") && w[0].contains("runs as 10 s"),
        "{w:?}"
    );
    assert!(
        w[1].starts_with("line 19: ") && w[1].contains("threshold = 0 as 1"),
        "{w:?}"
    );
}

#[test]
fn basic_canary_weights_the_replicas_cannot_express() {
    let text = BASE.replace(
        "strategy = \"rolling\"\nmax_surge = 2\nmax_unavailable = 0\n",
        "strategy = \"canary\"\nmax_surge = 0\nsteps = [{ set_weight = 20 }, { set_weight = 25 }]\n",
    );
    // 10 replicas express 20 % (2 of 10) but not 25 %: Argo rounds to 3 of 10 (first of the
    // nearest candidates, `approximateWeightedCanaryStableReplicaCounts`).
    one(&text, 19, &["set_weight = 25", "3 canary of 10", "30.0 %"]);
    // With traffic routing the weight is exact: no warning.
    let routed = text.replace("max_surge = 0", "traffic_routing = true");
    assert_eq!(warnings(&routed), Vec::<String>::new());
}

#[test]
fn run_and_validate_print_warnings_and_summary_json_keeps_them() {
    let dir = temp_dir("warnings-run");
    let file = dir.join("w.toml");
    std::fs::write(&file, format!("bucket = \"5m\"\n{BASE}")).unwrap();
    let out = dir.join("out");
    let o = run_into(&file, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("warning: ") && err.contains("w.toml:1:10: the time-series bucket"),
        "{err}"
    );
    let summary = read_summary(&out);
    let w = summary["warnings"]
        .as_array()
        .expect("warnings is an array");
    assert_eq!(w.len(), 1);
    assert!(w[0]
        .as_str()
        .unwrap()
        .starts_with("line 1: the time-series bucket"));
    let o = rollsim(&["validate", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning: "));
    assert!(o.status.success());
    // Always present, empty without warnings.
    std::fs::write(&file, BASE).unwrap();
    let o = run_into(&file, &out, &["--quiet"]);
    assert!(o.status.success());
    assert_eq!(read_summary(&out)["warnings"], serde_json::json!([]));
}
