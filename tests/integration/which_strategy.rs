//! The literature's "which strategy when" table, reproduced by
//! `scenarios/which-strategy-when.toml` and read in `docs/lessons/which-strategy-when.md`:
//! each row's claim holds on five seeds, as a comparison between the file's variants on
//! identical traffic, and the page's table is the seed-42 run.

use crate::common::{f, read_summary, rollsim, root, temp_dir, u};
use serde_json::Value;

const FILE: &str = "scenarios/which-strategy-when.toml";
const PAGE: &str = "docs/lessons/which-strategy-when.md";
const VARIANTS: [&str; 5] = [
    "rolling",
    "blue-green",
    "rolling-bad",
    "canary-bad",
    "flag-bad",
];

/// Each variant's summary from `rollsim compare FILE --seed seed`, in `VARIANTS` order.
fn compare(seed: u64) -> Vec<Value> {
    let out = temp_dir(&format!("which-strategy-{seed}"));
    let seed = seed.to_string();
    let o = rollsim(&[
        "compare",
        FILE,
        "--seed",
        &seed,
        "--strict",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    VARIANTS
        .iter()
        .map(|v| read_summary(&out.join(v)))
        .collect()
}

#[test]
fn each_rows_claim_holds_on_five_seeds() {
    for seed in 42..=46 {
        let runs = compare(seed);
        let [rolling, blue_green, rolling_bad, canary_bad, flag_bad] = &runs[..] else {
            unreachable!()
        };
        let ctx = format!("seed {seed}");
        // A small stateless service → rolling: nothing fails, the cheapest good rollout.
        assert_eq!(rolling["rollout"]["outcome"], "completed", "{ctx}");
        assert_eq!(u(rolling, &["requests", "failed"]), 0, "{ctx}");
        // Cannot tolerate mixed versions → blue-green: none, nobody meets both, no failure…
        assert_eq!(
            f(blue_green, &["exposure", "mixed_version_s"]),
            0.0,
            "{ctx}"
        );
        assert_eq!(
            u(blue_green, &["exposure", "users_both_versions"]),
            0,
            "{ctx}"
        );
        assert_eq!(u(blue_green, &["requests", "failed"]), 0, "{ctx}");
        assert!(f(rolling, &["exposure", "mixed_version_s"]) > 5.0, "{ctx}");
        // …at the price of a second fleet: twice the pods at peak, ≥ 5 % more for the run.
        assert_eq!(u(blue_green, &["capacity", "peak_pods"]), 20, "{ctx}");
        assert!(u(rolling, &["capacity", "peak_pods"]) < 20, "{ctx}");
        let cost = |v: &Value| f(v, &["capacity", "cost"]);
        assert!(cost(blue_green) >= 1.05 * cost(rolling), "{ctx}");
        // High-traffic API, costly regressions → canary + analysis: under a third of the
        // rolling update's bad requests and failures, on the same requests.
        let bad = |v: &Value| u(v, &["exposure", "bad_requests"]) as f64;
        let failed = |v: &Value| u(v, &["requests", "failed"]) as f64;
        assert_eq!(rolling_bad["rollout"]["outcome"], "rolled_back", "{ctx}");
        assert_eq!(canary_bad["rollout"]["outcome"], "aborted", "{ctx}");
        assert!(bad(canary_bad) < 0.3 * bad(rolling_bad), "{ctx}");
        assert!(failed(canary_bad) < failed(rolling_bad) / 3.0, "{ctx}");
        // Frequent toggles → a flag: the kill switch is a flag change — under a second, faster
        // than the canary's weight reset, far faster than a rolling undo — and no pod starts.
        let rollback = |v: &Value| f(v, &["rollout", "rollback_s"]);
        assert_eq!(flag_bad["rollout"]["outcome"], "aborted", "{ctx}");
        assert!(rollback(flag_bad) < 1.0, "{ctx}");
        assert!(rollback(flag_bad) < rollback(canary_bad), "{ctx}");
        assert!(rollback(rolling_bad) > 10.0, "{ctx}");
        assert_eq!(u(flag_bad, &["capacity", "peak_pods"]), 10, "{ctx}");
        assert!(bad(flag_bad) < 0.3 * bad(rolling_bad), "{ctx}");
    }
}

/// One row of the page's table as the test writes it from a summary: every column after the
/// first (the situation), which is prose.
fn row(name: &str, s: &Value) -> String {
    let opt = |v: &Value| v.as_f64().map_or("—".to_owned(), |x| format!("{x:.1}"));
    format!(
        "| `{name}` | {} | {} | {:.1} | {} | {:.4} | {} | {} |",
        s["rollout"]["outcome"].as_str().unwrap(),
        u(s, &["requests", "failed"]),
        f(s, &["exposure", "mixed_version_s"]),
        u(s, &["capacity", "peak_pods"]),
        f(s, &["capacity", "cost"]),
        u(s, &["exposure", "bad_requests"]),
        opt(&s["rollout"]["rollback_s"]),
    )
}

#[test]
fn the_pages_table_is_the_seed_42_run() {
    let page = std::fs::read_to_string(root().join(PAGE)).expect("the page");
    for (name, summary) in VARIANTS.iter().zip(compare(42)) {
        let want = row(name, &summary);
        assert!(
            page.lines().any(|l| l.ends_with(&want)),
            "{PAGE} has no table row ending\n  {want}\n(the table is `rollsim compare {FILE}` on seed 42)"
        );
    }
}
