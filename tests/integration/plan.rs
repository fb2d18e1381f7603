//! `rollsim plan` (issue 6, A6, C1, C8): the plan agrees with the run on times, honours
//! `undo_at` and `promote_at`, notes pauses and Pending pods, works on a flag-only scenario, and
//! its `--json` limits are values.

use crate::common::{f, rollsim, variant};
use crate::controllers::{plan_json, run_file};

fn plan_text(file: &std::path::Path) -> String {
    let o = rollsim(&["plan", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn notes(plan: &serde_json::Value) -> Vec<(f64, String)> {
    plan["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["at_s"].as_f64().unwrap(),
                n["note"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_flag_only_scenario_has_a_plan() {
    let file = variant("flag-rollout", "plan-flag", &[]);
    let text = plan_text(&file);
    assert!(text.contains("no pod rollout"), "{text}");
    assert!(text.contains("of everyone else"), "{text}");
    let plan = plan_json(&file, &[]);
    assert!(plan["steps"].is_null());
    assert!(!plan["flag"]["schedule"].as_array().unwrap().is_empty());
}

#[test]
fn promote_at_is_absolute_in_plan_and_run_alike() {
    let steps = "{ set_weight = 30 }, { pause = \"30s\" },";
    let indefinite = "{ set_weight = 30 }, { pause = \"indefinite\" },";
    let file = variant(
        "canary",
        "plan-promote",
        &[
            (steps, indefinite),
            (
                "traffic_routing = true",
                "traffic_routing = true\npromote_at = \"3m\"",
            ),
        ],
    );
    let plan = plan_json(&file, &[]);
    let ended = notes(&plan)
        .into_iter()
        .find(|(_, n)| n.contains("pause ended"))
        .expect("the pause ends");
    // 3m is 180 s of simulated time, not 3 minutes after the rollout's start at 60 s.
    assert_eq!(ended.0, 180.0);
    let run = run_file(&file, &[]);
    let planned_end = plan["steps"].as_array().unwrap().last().unwrap()["at_s"]
        .as_f64()
        .unwrap();
    // The run ends later (pods take time), but after the same promote.
    let end = f(&run, &["rollout", "end_s"]);
    assert!(end > 180.0 && end >= planned_end, "{end} vs {planned_end}");
}

#[test]
fn an_indefinite_pause_without_a_promote_is_noted() {
    let file = variant(
        "canary",
        "plan-paused",
        &[(
            "{ set_weight = 30 }, { pause = \"30s\" },",
            "{ set_weight = 30 }, { pause = \"indefinite\" },",
        )],
    );
    let plan = plan_json(&file, &[]);
    assert!(
        notes(&plan).iter().any(|(_, n)| n.contains("still paused")),
        "{plan}"
    );
}

#[test]
fn undo_at_is_honoured() {
    let file = variant(
        "rolling",
        "plan-undo",
        &[("at = \"60s\"", "at = \"60s\"\nundo_at = \"100s\"")],
    );
    let plan = plan_json(&file, &[]);
    assert!(notes(&plan)
        .iter()
        .any(|(t, n)| *t == 100.0 && n.contains("undo")));
    let last = plan["steps"].as_array().unwrap().last().unwrap();
    let v1 = last["replica_sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == "v1")
        .unwrap();
    assert_eq!(v1["desired"], 10);
    assert_eq!(last["at_s"], 100.0);
}

#[test]
fn pods_without_room_stay_pending_and_the_plan_stalls_when_the_run_does() {
    let file = variant("rolling-surge-no-room", "plan-no-room", &[]);
    let plan = plan_json(&file, &[]);
    let first = &plan["steps"][0]["replica_sets"][1];
    assert_eq!(first["pending"], 3);
    assert_eq!(first["ready"], 0);
    let stalled = notes(&plan)
        .into_iter()
        .find(|(_, n)| n.contains("progress deadline"))
        .expect("the plan stalls");
    let run = run_file(&file, &[]);
    assert_eq!(stalled.0, f(&run, &["rollout", "stalled_at_s"]));
    assert!(plan_text(&file).contains("(3 Pending)"));
}

#[test]
fn json_limits_are_values_and_set_weights_do_not_collapse() {
    let plan = plan_json(&variant("rolling", "plan-json-rolling", &[]), &[]);
    assert_eq!(plan["limits"]["maxSurge"], 3);
    assert_eq!(plan["limits"]["maxUnavailable"], 2);
    assert_eq!(plan["limits"]["minAvailable"], 8);
    let basic = plan_json(
        &variant("canary-no-traffic-routing", "plan-json-basic", &[]),
        &[],
    );
    let weights: Vec<u64> = basic["limits"]["setWeight"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["weight"].as_u64().unwrap())
        .collect();
    assert_eq!(weights, [5, 33, 50]);
}

#[test]
fn the_both_zero_note_appears_only_when_the_fix_up_happened() {
    let written_one = variant(
        "rolling",
        "plan-one",
        &[
            ("max_surge = \"25%\"", "max_surge = 0"),
            ("max_unavailable = \"25%\"", "max_unavailable = 1"),
        ],
    );
    assert!(plan_json(&written_one, &[])["limits"]["note"].is_null());
    let rounded = variant(
        "rolling",
        "plan-rounded",
        &[
            ("max_surge = \"25%\"", "max_surge = 0"),
            ("max_unavailable = \"25%\"", "max_unavailable = \"5%\""),
        ],
    );
    let plan = plan_json(&rounded, &[]);
    assert!(plan["limits"]["note"]
        .as_str()
        .unwrap()
        .contains("both resolved to 0"));
    assert_eq!(plan["limits"]["maxUnavailable"], 1);
}

#[test]
fn a_routed_canary_shows_no_surge_limits_and_keeps_the_routing_note() {
    let plan = plan_json(&variant("canary", "plan-routed", &[]), &[]);
    assert!(plan["limits"]["maxSurge"].is_null(), "{}", plan["limits"]);
    assert!(plan["limits"]["maxUnavailable"].is_null());
    assert!(plan["limits"]["trafficRouting"]
        .as_str()
        .unwrap()
        .starts_with("yes"));
}

#[test]
fn the_peak_counts_terminating_pods() {
    // rolling.toml: a 5 s preStop, and every move happens at once with instant pods, so the
    // old pods are all still terminating when the last new ones start.
    let plan = plan_json(&variant("rolling", "plan-peak", &[]), &[]);
    assert_eq!(plan["peak_pods"], 13);
    assert_eq!(plan["peak_pods_incl_terminating"], 20);
}
