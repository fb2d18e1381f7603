//! The property tests' invariants (`properties.rs`: conservation, determinism) with a schema
//! and `[[steps]]` switched on: random scenarios and databases, table `a` declaring columns,
//! v1 and v2 using them, and the rollout written as steps — a migration (add, rename or drop a
//! column v1 uses) before or after the deployment, sometimes a wait and an undo after it.

use proptest::prelude::*;
use rollsim::metrics::StepOutcome;
use rollsim::report::{summary_json, timeseries_csv};

use crate::properties::{any_scenario, column_sum, config, database_toml, ScenarioText};

/// `text` with `[rollout]`'s `to`/`at` moved into `[[steps]]`, table `a` given columns and
/// both versions their uses; `kind` picks the migration, `first` whether it runs before the
/// deployment, `undo` whether a wait and an undo follow.
fn with_schema_and_steps(text: &str, kind: usize, first: bool, undo: bool) -> String {
    let i = text.find("to = \"v2\"\nat = \"").expect("a rollout");
    let at_start = i + "to = \"v2\"\nat = \"".len();
    let at_end = at_start + text[at_start..].find('"').unwrap();
    let at = &text[at_start..at_end];
    let mut out = String::new();
    out.push_str(&text[..i]);
    out.push_str(&text[at_end + 2..]);
    let out = out.replacen(
        "a = { share = 2, writes = 0.3",
        "a = { share = 2, writes = 0.3, columns = [\"id\", \"x\"]",
        1,
    );
    // The generator's own DDL step (any kind, timed by `at`) goes to table `b`, which checks
    // no columns, so a column change there needs no `column`; `b` gets rows for the kinds
    // whose duration comes from them.
    let out = match out.find("[[database.ddl]]\nat = \"") {
        Some(d) => {
            let t = d + out[d..].find("table = \"a\"").expect("the step's table");
            format!(
                "{}table = \"b\"{}",
                &out[..t],
                &out[t + "table = \"a\"".len()..]
            )
        }
        None => out,
    }
    .replacen("b = { share = 1 }", "b = { share = 1, rows = 10000 }", 1);
    // v2 writes the column the migration brings, or (for a drop) one that stays.
    let (kind, extra, v2) = [
        ("add_column", "column = \"y\"\n", "a.y"),
        (
            "rename_column",
            "column = \"x\"\nrename_to = \"y\"\n",
            "a.y",
        ),
        ("drop_column", "column = \"x\"\n", "a.id"),
    ][kind];
    let migrate = "[[steps]]\nmigrate = \"m\"\n";
    let deploy = "[[steps]]\ndeploy = \"v2\"\n";
    let (one, two) = if first {
        (migrate, deploy)
    } else {
        (deploy, migrate)
    };
    format!(
        "{out}[database.versions.v1]\nreads = [\"a.x\"]\nwrites = [\"a.x\"]\n[database.versions.v2]\nreads = [\"a.id\"]\nwrites = [\"{v2}\"]\n[[database.ddl]]\nname = \"m\"\ntable = \"a\"\nkind = \"{kind}\"\n{extra}duration = \"5ms\"\n{one}at = \"{at}\"\n{two}{}",
        if undo { "[[steps]]\nwait = \"5s\"\n[[steps]]\nundo = true\n" } else { "" }
    )
}

proptest! {
    #![proptest_config(config())]

    /// Conservation and determinism with schema checks and steps; steps start only after the
    /// previous one finished, and none runs after one that did not complete.
    #[test]
    fn with_schema_and_steps_outcomes_are_conserved_and_runs_deterministic(
        text in (any_scenario(), database_toml(), 0usize..3, any::<bool>(), any::<bool>())
            .prop_map(|(t, db, k, first, undo)| {
                ScenarioText(with_schema_and_steps(&(t.0 + &db), k, first, undo))
            })
    ) {
        let (run, again) = (text.run(), text.run());
        let r = &run.summary.requests;
        prop_assert_eq!(r.total, r.ok + r.failed);
        prop_assert_eq!(r.failed, r.failed_by_cause.values().sum::<u64>());
        let csv = timeseries_csv(&run);
        prop_assert_eq!(column_sum(&csv, "arrivals"), r.total, "arrivals in timeseries.csv");
        for (cause, n) in &r.failed_by_cause {
            prop_assert_eq!(column_sum(&csv, cause), *n, "{} in timeseries.csv", cause);
        }
        let db = run.summary.database.as_ref().expect("a database section");
        // A query can fail for the schema after its client gave up (outcome: timeout).
        prop_assert!(db.schema_errors.unwrap() >= r.failed_by_cause["schema_error"]);
        let steps = &run.summary.steps;
        prop_assert!(steps.len() >= 2);
        for w in steps.windows(2) {
            if w[0].outcome == StepOutcome::Completed {
                if let (Some(f), Some(q)) = (w[0].finished_s, w[1].requested_s) {
                    prop_assert!(q >= f, "{:?}", w);
                }
            } else {
                prop_assert_eq!(w[1].outcome, StepOutcome::NotReached, "{:?}", w);
            }
        }
        prop_assert_eq!(summary_json(&run), summary_json(&again), "summary.json differs");
        prop_assert_eq!(csv, timeseries_csv(&again), "timeseries.csv differs");
    }
}
