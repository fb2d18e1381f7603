//! `rollsim power`: detection rate and false alarms of a scenario's analysis, measured on a
//! bad release and its healthy twin over paired seeds; the same report on any number of
//! threads; bad input refused with exit 2.

use rollsim::power::{measure, PowerReport, Row};
use rollsim::scenario::Scenario;

use crate::common::{rollsim, root, variant};

fn load(name: &str) -> Scenario {
    Scenario::load(&root().join(format!("scenarios/{name}.toml"))).expect("valid scenario")
}

fn row<'a>(r: &'a PowerReport, label: &str) -> &'a Row {
    r.rows
        .iter()
        .find(|x| x.analysis == label)
        .unwrap_or_else(|| panic!("no row {label}"))
}

fn counts(row: &Row) -> (u32, u32) {
    (
        row.power.as_ref().unwrap().count,
        row.false_alarms.as_ref().unwrap().count,
    )
}

#[test]
fn an_obvious_regression_is_always_caught_and_its_healthy_twin_never_aborted() {
    // canary-bad-release: one request in five fails on v2; error rate ≤ 5 % every 10 s.
    let r = measure(&load("canary-bad-release"), 5, 42, &|| {}).unwrap();
    assert_eq!(r.bad_versions, ["v2"]);
    let all = row(&r, "as configured");
    assert_eq!(counts(all), (5, 0), "{all:?}");
    assert!(all.power.as_ref().unwrap().ci95.unwrap()[0] > 0.5);
    // Detected within two 10 s intervals on every seed; exposure a small share of the run's.
    assert!(all.detect_s.max.unwrap() < 20.0, "{:?}", all.detect_s);
    let none = row(&r, "no analysis");
    assert!(none.power.is_none() && none.time_added_s.is_none());
    assert_eq!(none.detect_s.n, 0, "nothing detects without analysis");
    assert!(all.bad_requests.max.unwrap() * 20.0 < none.bad_requests.median.unwrap());
    // A background analysis adds no time to a healthy canary.
    assert_eq!(all.time_added_s.as_ref().unwrap().max, Some(0.0));
}

#[test]
fn the_report_is_the_same_on_one_thread_and_on_several() {
    let s = load("canary-bad-release");
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let r = pool.install(|| measure(&s, 3, 100, &|| {}).unwrap());
        serde_json::to_string(&r).unwrap()
    };
    assert_eq!(on(1), on(3));
}

#[test]
fn the_lesson_only_the_conversion_metric_catches_a_conversion_drop() {
    // docs/lessons/conversion-drop.md, on seeds 7–10 and 1000–1003.
    let s = load("canary-conversion-drop");
    for first in [7, 1000] {
        let r = measure(&s, 4, first, &|| {}).unwrap();
        assert_eq!(counts(row(&r, "as configured")).0, 4, "seeds from {first}");
        assert_eq!(counts(row(&r, "conversion_rate alone")).0, 4);
        assert_eq!(counts(row(&r, "error_rate alone")), (0, 0));
        assert_eq!(counts(row(&r, "p99_latency_ms alone")), (0, 0));
        // Caught within two analysis intervals of the canary's first answer.
        assert!(row(&r, "conversion_rate alone").detect_s.max.unwrap() <= 60.0);
    }
}

#[test]
fn power_refuses_a_scenario_without_a_bad_release_or_without_analysis() {
    let o = rollsim(&["power", "scenarios/canary.toml", "--runs", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("scenarios/canary.toml has no bad release"),
        "{err}"
    );
    assert!(err.contains("[[versions.v2.faults]]"), "{err}");
    assert!(o.stdout.is_empty());

    let blind = variant(
        "canary-bad-release",
        "power-no-analysis",
        &[
            ("[rollout.analysis]\ninterval = \"10s\"", ""),
            (
                "[[rollout.analysis.metrics]]\nmetric = \"error_rate\"\nmax = 0.05\nmin_requests = 20",
                "",
            ),
        ],
    );
    let o = rollsim(&["power", blind.to_str().unwrap(), "--runs", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("configures no analysis"), "{err}");
    assert!(err.contains("[rollout.analysis]"), "{err}");

    let o = rollsim(&["power", "scenarios/steady.toml", "--runs", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no rollout and no flag"));
}

#[test]
fn the_cli_prints_a_table_and_json_with_missing_values_as_null() {
    let o = rollsim(&[
        "power",
        "scenarios/canary-bad-release.toml",
        "--runs",
        "2",
        "--json",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty());
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["rows"][0]["power"]["count"], 2);
    assert_eq!(j["rows"][1]["analysis"], "no analysis");
    assert!(j["rows"][1]["power"].is_null());
    assert!(j["rows"][1]["detect_s"]["median"].is_null());
    let o = rollsim(&["power", "scenarios/canary-bad-release.toml", "--runs", "2"]);
    let text = String::from_utf8_lossy(&o.stdout);
    let configured = text
        .lines()
        .find(|l| l.starts_with("as configured"))
        .unwrap();
    assert!(configured.contains(" 2/2 = 1.00 "), "{text}");
    assert!(configured.contains(" 0/2 = 0.00 "), "{text}");
    let none = text.lines().find(|l| l.starts_with("no analysis")).unwrap();
    assert!(none.contains(" — "), "{text}");
}

#[test]
fn a_post_promotion_analysis_adds_its_measurements_to_a_healthy_rollout() {
    // blue-green-bad-release: three post-promotion measurements 10 s apart hold the old
    // stack for 30 s more than the same rollout without analysis.
    let r = measure(&load("blue-green-bad-release"), 2, 42, &|| {}).unwrap();
    let all = row(&r, "as configured");
    assert_eq!(counts(all), (2, 0));
    let added = all.time_added_s.as_ref().unwrap();
    assert_eq!(added.n, 2);
    assert_eq!((added.median, added.max), (Some(30.0), Some(30.0)));
}

#[test]
fn the_conversion_judge_catches_the_conversion_drop_too() {
    let file = variant(
        "canary-conversion-drop",
        "power-judge",
        &[
            (
                "metric = \"conversion_rate\"   # conversions / successful requests of the canary\nmin = 0.035",
                "metric = \"judge_conversion_rate\"",
            ),
        ],
    );
    let s = Scenario::load(&file).expect("valid");
    let r = measure(&s, 3, 7, &|| {}).unwrap();
    assert_eq!(counts(row(&r, "judge_conversion_rate alone")), (3, 0));
    assert_eq!(counts(row(&r, "error_rate alone")).0, 0);
}
