//! The rollout's course as events (`summary.json` `rollout.events`): what each strategy's
//! controller did, in time order, one entry per controller event.

use rollsim::scenario::Scenario;
use rollsim::sim::Simulation;

fn events(name: &str, seed: u64) -> Vec<(f64, String, Option<String>)> {
    let path = crate::common::root().join(format!("scenarios/{name}.toml"));
    let mut scenario = Scenario::load(&path).unwrap();
    scenario.seed = seed;
    let out = Simulation::new(&scenario).run().unwrap();
    out.summary
        .rollout
        .events
        .iter()
        .map(|e| (e.t_s, e.kind.to_string(), e.detail.clone()))
        .collect()
}

fn kinds(ev: &[(f64, String, Option<String>)]) -> Vec<String> {
    ev.iter()
        .map(|(_, k, d)| match d {
            Some(d) => format!("{k}({d})"),
            None => k.clone(),
        })
        .collect()
}

#[test]
fn a_canary_records_each_weight_step_its_pauses_and_the_promotion() {
    for seed in [1, 2, 3] {
        let ev = events("canary", seed);
        assert_eq!(
            kinds(&ev),
            [
                "start",
                "weight(v2 10%)",
                "pause(30s)",
                "resumed",
                "weight(v2 30%)",
                "pause(30s)",
                "resumed",
                "weight(v2 60%)",
                "pause(30s)",
                "resumed",
                "weight(v2 100%)",
                "promoted",
                "completed"
            ],
            "seed {seed}"
        );
        assert!(ev.windows(2).all(|w| w[0].0 <= w[1].0), "time order");
    }
}

#[test]
fn a_failed_analysis_is_recorded_before_the_abort_and_the_weight_back_to_zero() {
    let k = kinds(&events("canary-bad-release", 1));
    let at = |s: &str| {
        k.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} in {k:?}"))
    };
    assert!(at("analysis_started(background)") < at("analysis_failed(background)"));
    assert!(at("analysis_failed(background)") < at("aborted"));
    assert!(k.contains(&"weight(v2 0%)".to_string()), "{k:?}");
    assert!(!k.contains(&"completed".to_string()));
}

#[test]
fn a_rollback_ends_with_rollback_done_not_completed() {
    let k = kinds(&events("rolling-bad-release", 1));
    assert_eq!(k.first().map(String::as_str), Some("start"));
    assert!(k.contains(&"rollback_started".to_string()), "{k:?}");
    assert_eq!(k.last().map(String::as_str), Some("rollback_done"));
}

#[test]
fn a_flag_release_records_its_published_rules_and_the_kill() {
    let k = kinds(&events("flag-kill-switch", 1));
    assert!(k.iter().any(|x| x.starts_with("flag_published(")), "{k:?}");
    assert_eq!(k.last().map(String::as_str), Some("flag_killed"));
}

#[test]
fn a_run_without_a_rollout_has_no_events() {
    assert!(events("steady", 1).is_empty());
}

#[test]
fn an_undo_is_recorded_as_a_rollback_that_completes() {
    let file = crate::common::variant(
        "rolling",
        "rolling-undo",
        &[("at = \"60s\"", "at = \"60s\"\nundo_at = \"70s\"")],
    );
    let out = Simulation::new(&Scenario::load(&file).unwrap())
        .run()
        .unwrap();
    let k: Vec<String> = out
        .summary
        .rollout
        .events
        .iter()
        .map(|e| {
            format!(
                "{}@{}{}",
                e.kind,
                e.t_s,
                e.detail
                    .as_deref()
                    .map(|d| format!("({d})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        k[..2],
        [
            "start@60".to_string(),
            "rollback_started@70(undo)".to_string()
        ]
    );
    assert!(k[2].starts_with("rollback_done@"), "{k:?}");
    assert_eq!(k.len(), 3, "{k:?}");
}

#[test]
fn a_rolling_update_with_analysis_records_the_run_and_its_failure() {
    let k = kinds(&events("rolling-bad-release", 2));
    let at = |s: &str| {
        k.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} in {k:?}"))
    };
    assert!(at("analysis_started(background)") < at("analysis_failed(background)"));
    assert!(at("analysis_failed(background)") < at("rollback_started"));
}

#[test]
fn flaggers_analysis_loop_is_recorded_from_its_first_tick_to_its_verdict() {
    for seed in [1, 2] {
        let k = kinds(&events("flagger-canary", seed));
        let at = |s: &str| {
            k.iter()
                .position(|x| x == s)
                .unwrap_or_else(|| panic!("{s} in {k:?}"))
        };
        assert!(
            at("analysis_started(canary analysis)") < at("analysis_successful(canary analysis)")
        );
        assert!(at("analysis_successful(canary analysis)") < at("promoted"));
        assert_eq!(k.last().map(String::as_str), Some("completed"));
    }
}
