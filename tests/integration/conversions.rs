//! The business metric: versions' `conversion_rate`, the `conversion` fault, per-version
//! conversions in the summary, drawn so that adding them changes no other number.

use crate::common::{read_summary, run_into, run_scenario, temp_dir, variant};

#[test]
fn conversions_follow_the_declared_rate_and_the_fault() {
    let (s, _) = run_scenario("canary-conversion-drop", &["--no-plots"]);
    let v1 = &s["versions"]["v1"];
    let rate = v1["conversions"].as_f64().unwrap() / v1["ok"].as_f64().unwrap();
    // ≈ 117,000 successes at 5 %: sd ≈ 0.0006.
    assert!((rate - 0.05).abs() < 0.003, "{rate}");
    let v2 = &s["versions"]["v2"];
    let rate2 = v2["conversions"].as_f64().unwrap() / v2["ok"].as_f64().unwrap();
    assert!(rate2 < 0.045, "the fault halves v2's conversions: {rate2}");
}

#[test]
fn adding_conversion_rates_changes_no_other_number() {
    let with = variant(
        "canary-bad-release",
        "conv-with",
        &[(
            "error_rate = 0.0\n\n[versions.v2]",
            "error_rate = 0.0\nconversion_rate = 0.1\n\n[versions.v2]",
        )],
    );
    let out_with = temp_dir("conv-with-out");
    assert!(run_into(&with, &out_with, &["--quiet", "--no-plots"])
        .status
        .success());
    let mut a = read_summary(&out_with);
    let (mut b, _) = run_scenario("canary-bad-release", &["--no-plots"]);
    // v1 tracks conversions, v2 does not: a number for one, null for the other.
    assert!(a["versions"]["v1"]["conversions"].as_u64().unwrap() > 0);
    assert!(a["versions"]["v2"]["conversions"].is_null());
    // Without any conversion_rate the field is absent, so old summaries are unchanged.
    assert!(b["versions"]["v1"].get("conversions").is_none());
    for v in ["v1", "v2"] {
        a["versions"][v]
            .as_object_mut()
            .unwrap()
            .remove("conversions");
    }
    for s in [&mut a, &mut b] {
        s["scenario"] = serde_json::Value::Null;
        s["warnings"] = serde_json::Value::Null;
    }
    assert_eq!(a, b);
}

#[test]
fn a_conversion_fault_needs_a_multiplier_and_takes_no_rate() {
    let bad = variant(
        "canary-conversion-drop",
        "conv-bad",
        &[("multiplier = 0.5", "rate = 0.5")],
    );
    let out = temp_dir("conv-bad-out");
    let o = run_into(&bad, &out, &["--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`rate` does not apply to a conversion fault"),
        "{err}"
    );
    assert!(
        err.contains("a conversion fault needs `multiplier`"),
        "{err}"
    );
}

#[test]
fn a_conversion_metric_on_a_version_without_a_rate_is_warned_about() {
    let file = variant(
        "canary-conversion-drop",
        "conv-no-rate",
        &[(
            "conversion_rate = 0.05\n[[versions.v2.faults]]",
            "[[versions.v2.faults]]",
        )],
    );
    let o = crate::common::rollsim(&["validate", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("version v2 has a conversion fault but no conversion_rate"),
        "{err}"
    );
    assert!(
        err.contains("version v2 declares no conversion_rate")
            && err.contains("add conversion_rate = … to [versions.v2]"),
        "{err}"
    );
}
