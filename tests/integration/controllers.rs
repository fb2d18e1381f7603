//! Controller fidelity (issue 6, part A): Argo's maxTrafficWeight, no weight to a canary with no
//! available pod, lenient percent strings, descending setWeight steps, and Flagger's phases and
//! ticker.

use crate::common::{f, read_summary, rollsim, run_into, u, variant};

/// Runs a scenario file with extra arguments; returns its summary.
pub fn run_file(file: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let out = file.with_extension("out");
    let mut flags = vec!["--quiet"];
    flags.extend_from_slice(extra);
    let o = run_into(file, &out, &flags);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_summary(&out)
}

/// `rollsim plan --json` on a scenario file.
pub fn plan_json(file: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", file.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let o = rollsim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

const CANARY_STEPS: &str = "{ set_weight = 10 }, { pause = \"30s\" },
  { set_weight = 30 }, { pause = \"30s\" },
  { set_weight = 60 }, { pause = \"30s\" },";

#[test]
fn max_traffic_weight_scales_weights_and_still_promotes() {
    let per_mille = "{ set_weight = 100 }, { pause = \"30s\" },
  { set_weight = 300 }, { pause = \"30s\" },
  { set_weight = 600 }, { pause = \"30s\" },";
    let base = variant("canary", "mtw-100", &[]);
    let file = variant(
        "canary",
        "mtw-1000",
        &[
            (CANARY_STEPS, per_mille),
            (
                "traffic_routing = true",
                "traffic_routing = true\nmax_traffic_weight = 1000",
            ),
        ],
    );
    // The same shares on a 1000 scale: the rollout completes as the 100 scale does (before the
    // fix the first step sent all traffic to one canary pod and the rollout never promoted).
    let (a, b) = (run_file(&base, &[]), run_file(&file, &[]));
    assert_eq!(b["rollout"]["outcome"], "completed", "{}", b["rollout"]);
    assert!((f(&a, &["rollout", "end_s"]) - f(&b, &["rollout", "end_s"])).abs() < 1.0);
    assert_eq!(u(&b, &["requests", "failed"]), 0);
    // The plan shows shares, never "v2 500%".
    let plan = plan_json(&file, &[]);
    let mut seen = vec![];
    for step in plan["steps"].as_array().unwrap() {
        for w in step["weights"].as_array().unwrap() {
            let p = w["percent"].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&p), "{step}");
            if w["version"] == "v2" {
                seen.push(p);
            }
        }
    }
    seen.dedup();
    assert_eq!(seen, [10.0, 30.0, 60.0, 100.0]);
    assert_eq!(plan["limits"]["maxTrafficWeight"], 1000);
}

#[test]
fn a_canary_with_no_available_pod_gets_no_traffic() {
    // setCanaryScale 0 then setWeight 30: Argo's reconcileTrafficRouting never weights a canary
    // with no available pod, so nothing fails for lack of endpoints.
    let steps = "{ set_canary_scale = { replicas = 0 } }, { set_weight = 30 }, { pause = \"30s\" },
  { set_canary_scale = { match_traffic_weight = true } },
  { set_weight = 10 }, { pause = \"30s\" },";
    let file = variant(
        "canary",
        "zero-canary",
        &[("{ set_weight = 10 }, { pause = \"30s\" },", steps)],
    );
    for seed in ["1", "2", "42"] {
        let s = run_file(&file, &["--seed", seed]);
        assert_eq!(s["rollout"]["outcome"], "completed", "{}", s["rollout"]);
        assert_eq!(
            u(&s, &["requests", "failed_by_cause", "no_endpoints"]),
            0,
            "seed {seed}"
        );
    }
    let plan = plan_json(&file, &[]);
    let first_weighted = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["weights"].as_array().unwrap().len() == 2)
        .unwrap();
    // Traffic reaches v2 only once its pods exist (the matchTrafficWeight step, at 90 s).
    assert_eq!(first_weighted["at_s"], 90.0);
}

fn validate(file: &std::path::Path) -> (i32, String) {
    let o = rollsim(&["validate", file.to_str().unwrap()]);
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn argo_reads_a_bare_number_string_as_a_percent_and_kubernetes_does_not() {
    let canary = variant(
        "canary-no-traffic-routing",
        "lenient-canary",
        &[
            ("max_surge = \"25%\"", "max_surge = \"20\""),
            ("max_unavailable = 0", "max_unavailable = \"10\""),
        ],
    );
    assert_eq!(validate(&canary).0, 0);
    let plan = plan_json(&canary, &[]);
    // 20 % of 10 rounded up, 10 % of 10 rounded down.
    assert_eq!(plan["limits"]["maxSurge"], 2);
    assert_eq!(plan["limits"]["maxUnavailable"], 1);
    let rolling = variant(
        "rolling",
        "strict-rolling",
        &[("max_surge = \"25%\"", "max_surge = \"20\"")],
    );
    let (code, err) = validate(&rolling);
    assert_eq!(code, 2);
    assert!(err.contains("Kubernetes rejects"), "{err}");
}

#[test]
fn descending_set_weight_steps_shrink_the_canary_after_the_router_moves() {
    let steps =
        "{ set_weight = 60 }, { pause = \"30s\" }, { set_weight = 20 }, { pause = \"30s\" },";
    let file = variant(
        "canary",
        "descending",
        &[("{ set_weight = 60 }, { pause = \"30s\" },", steps)],
    );
    let s = run_file(&file, &[]);
    assert_eq!(s["rollout"]["outcome"], "completed", "{}", s["rollout"]);
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    // Argo keeps the previous weight until the canary is at the lower weight's count: the row
    // that shrinks the canary 6→2 still shows 60 %, the next one 20 %.
    let plan = plan_json(&file, &[]);
    let steps = plan["steps"].as_array().unwrap();
    let shrink = steps
        .iter()
        .position(|s| s["why"].as_str().unwrap().contains("canary ReplicaSet 6→2"))
        .expect("a shrink");
    let v2 = |i: usize| steps[i]["weights"][1]["percent"].as_f64().unwrap();
    assert_eq!(v2(shrink), 60.0);
    assert_eq!(v2(shrink + 1), 20.0);
}

#[test]
fn flagger_step_weights_starting_at_zero_are_rejected() {
    let file = variant(
        "flagger-canary",
        "flagger-zero",
        &[(
            "step_weight = 20\nmax_weight = 50",
            "step_weights = [0, 20, 50]",
        )],
    );
    let (code, err) = validate(&file);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("flagger-zero.toml:"), "{err}");
    assert!(err.contains("never advance past weight 0"), "{err}");
    assert!(err.contains("help:"), "{err}");
}

#[test]
fn flagger_detects_within_an_interval_and_promotes_over_three_more_ticks() {
    // Detection on the ticker's next tick (phase from the seed), then weights 20, 40, 60, the
    // Promoting tick and the Finalising tick: the run ends 6 intervals after detection, where
    // the plan (same seed, same ticker) says it does.
    let file = variant("flagger-canary", "flagger-ticks", &[]);
    let mut delays = vec![];
    for seed in ["1", "2", "3", "42"] {
        let s = run_file(&file, &["--seed", seed]);
        let plan = plan_json(&file, &["--seed", seed]);
        let phase = plan["limits"]["tickerPhase"].as_f64().unwrap();
        assert!((0.0..15.0).contains(&phase), "{phase}");
        let detect = plan["steps"][0]["at_s"].as_f64().unwrap();
        assert!((60.0..75.0).contains(&detect), "{detect}");
        let end = f(&s, &["rollout", "end_s"]);
        assert!(
            (end - (detect + 90.0)).abs() < 0.01,
            "seed {seed}: {end} vs {detect}"
        );
        let last = plan["steps"].as_array().unwrap().last().unwrap().clone();
        assert!(
            last["why"].as_str().unwrap().contains("Succeeded"),
            "{last}"
        );
        let planned_end = last["at_s"].as_f64().unwrap();
        assert!((end - planned_end).abs() < 0.01, "seed {seed}");
        delays.push(detect - 60.0);
    }
    delays.dedup();
    assert!(
        delays.len() > 1,
        "the detection delay should vary with the seed"
    );
}
