//! Schema compatibility and `[[steps]]` (`model::database::schema`, `sim::steps`): a one-shot
//! rename breaks the old version for the rollout's length, expand–contract breaks nothing with
//! the same traffic, steps run in order with every strategy, a rollback after the contract
//! step breaks the old version again, and bad schema or step input is named with its fix.

use rollsim::metrics::StepOutcome;
use rollsim::scenario::Scenario;
use rollsim::sim::{RunOutput, Simulation};

use crate::common::{root, variant};
use crate::database::{rejected, BASE};

const SEEDS: [u64; 4] = [1, 2, 7, 42];

fn load(file: &std::path::Path, seed: u64) -> Scenario {
    let mut s = Scenario::load(file).unwrap();
    s.seed = seed;
    s
}

fn run_file(file: &std::path::Path, seed: u64) -> RunOutput {
    Simulation::new(&load(file, seed)).run().unwrap()
}

fn run(name: &str, seed: u64) -> RunOutput {
    run_file(&root().join(format!("scenarios/{name}.toml")), seed)
}

fn schema_errors(o: &RunOutput) -> u64 {
    let by_cause = o.summary.requests.failed_by_cause["schema_error"];
    let d = o.summary.database.as_ref().expect("a database section");
    // Equal unless a client gave up before its failing query ran (none do here).
    assert_eq!(d.schema_errors, Some(by_cause), "summary and cause agree");
    by_cause
}

/// Requests whose outcome `version` (slot) saw from `from_s` on, from the time series.
fn requests_from(o: &RunOutput, slot: usize, from_s: u64) -> u64 {
    o.metrics
        .rows()
        .filter(|(t, s, _)| *s == slot && t.as_micros() >= from_s * 1_000_000)
        .map(|(_, _, r)| r.ok + r.failed_total())
        .sum()
}

#[test]
fn a_one_shot_rename_fails_the_old_versions_requests_on_the_table_until_it_is_gone() {
    for seed in SEEDS {
        let m = run("migration-breaking", seed);
        let errors = schema_errors(&m);
        let v1 = &m.summary.versions["v1"];
        let v2 = &m.summary.versions["v2"];
        assert_eq!(v1.failed_by_cause["schema_error"], errors, "seed {seed}");
        assert_eq!(v2.failed_by_cause["schema_error"], 0, "seed {seed}");
        // Header: ≈ 91 % of v1's requests after the rename (60 s) touch users and fail.
        let after = requests_from(&m, 0, 60) as f64;
        let expected = (1.0 - 0.3f64 * 0.3) * after;
        let got = errors as f64;
        assert!(
            (got - expected).abs() < 0.05 * expected,
            "seed {seed}: {got} errors, expected ≈ {expected:.0}"
        );
        // …and the header's order of magnitude: thousands.
        assert!((2_500..4_000).contains(&errors), "seed {seed}: {errors}");
        // Nothing fails before the rename.
        let before: u64 = m
            .metrics
            .rows()
            .filter(|(t, _, _)| t.as_micros() < 60_000_000)
            .map(|(_, _, r)| r.failed_total())
            .sum();
        assert_eq!(before, 0, "seed {seed}");

        let f = run("migration-expand-contract", seed);
        assert_eq!(schema_errors(&f), 0, "seed {seed}");
        assert_eq!(f.summary.requests.failed, 0, "seed {seed}");
        // Common random numbers: the same traffic either way.
        assert_eq!(f.summary.requests.total, m.summary.requests.total);
    }
}

/// Blue-green does not save a one-shot rename: v1 keeps every request until the switch (the
/// preview's start-up, ≈ 12 s here, plus the balancer learning the switch), so the errors are
/// ≈ 91 % of everything v1 serves after the rename — the same order as rolling's.
#[test]
fn with_blue_green_the_old_version_fails_until_the_switch() {
    let file = variant(
        "migration-breaking",
        "breaking-blue-green",
        &[(
            "strategy = \"rolling\"\nmax_surge = \"25%\"\nmax_unavailable = \"25%\"",
            "strategy = \"blue_green\"",
        )],
    );
    for seed in SEEDS {
        let o = run_file(&file, seed);
        let errors = schema_errors(&o) as f64;
        let expected = (1.0 - 0.3f64 * 0.3) * requests_from(&o, 0, 60) as f64;
        assert!(
            (errors - expected).abs() < 0.05 * expected,
            "seed {seed}: {errors} errors, expected ≈ {expected:.0}"
        );
        let rolling = schema_errors(&run("migration-breaking", seed)) as f64;
        assert!(
            errors > 0.5 * rolling,
            "seed {seed}: {errors} vs rolling {rolling}"
        );
        assert_eq!(o.summary.versions["v2"].failed_by_cause["schema_error"], 0);
    }
}

/// `SET NOT NULL` on a column the old version never writes: its reads go on, its writes to the
/// table fail (an insert leaving the column null, SQLSTATE 23502) — the requests with a write
/// on users, 1 − (1 − 0.7 × 0.05)² ≈ 6.9 % of v1's requests after 60 s.
#[test]
fn a_not_null_column_fails_only_the_writes_of_a_version_unaware_of_it() {
    let file = variant(
        "migration-breaking",
        "breaking-not-null",
        &[
            (
                "columns = [\"id\", \"email\"]",
                "columns = [\"id\", \"email\", \"phone\"]",
            ),
            (
                "writes = [\"users.email_address\", ",
                "writes = [\"users.email\", \"users.phone\", ",
            ),
            (
                "reads = [\"users.id\", \"users.email_address\", ",
                "reads = [\"users.id\", ",
            ),
            (
                "kind = \"rename_column\"\ncolumn = \"email\"\nrename_to = \"email_address\"",
                "kind = \"set_not_null\"\ncolumn = \"phone\"",
            ),
        ],
    );
    for seed in SEEDS {
        let o = run_file(&file, seed);
        let errors = schema_errors(&o) as f64;
        let p = 0.7 * 0.05;
        let expected = (1.0 - (1.0 - p) * (1.0 - p)) * requests_from(&o, 0, 60) as f64;
        assert!(
            (errors - expected).abs() < 0.2 * expected,
            "seed {seed}: {errors} errors, expected ≈ {expected:.0}"
        );
        assert_eq!(o.summary.versions["v2"].failed_by_cause["schema_error"], 0);
    }
}

#[test]
fn steps_run_in_order_each_starting_when_the_previous_one_finished() {
    for seed in SEEDS {
        let o = run("migration-expand-contract", seed);
        let steps = &o.summary.steps;
        let kinds: Vec<&str> = steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            ["migrate", "deploy", "backfill", "deploy", "wait", "migrate"]
        );
        assert_eq!(steps[0].requested_s, Some(30.0), "the first step's `at`");
        for w in steps.windows(2) {
            assert_eq!(w[1].requested_s, w[0].finished_s, "seed {seed}: {w:?}");
        }
        for s in steps {
            assert_eq!(s.outcome, StepOutcome::Completed, "seed {seed}: {s:?}");
        }
        // The wait takes its time; the migrations their 8 ms (no lock wait: no long
        // transaction, requests' locks are held for milliseconds).
        let span = |i: usize| steps[i].finished_s.unwrap() - steps[i].requested_s.unwrap();
        assert!((span(4) - 30.0).abs() < 1e-9);
        // The backfill step ends at its last batch's commit: the header's 30 × 0.5 s of
        // batches + 29 × 0.5 s of pauses = 29.5 s (its ROW EXCLUSIVE never waits; a batch
        // may wait a moment for a core).
        assert_eq!(steps[2].target.as_deref(), Some("fill-email-address"));
        assert!((span(2) - 29.5).abs() < 0.1, "seed {seed}: {}", span(2));
        let bf = &o.summary.database.as_ref().unwrap().backfills[0];
        assert_eq!(bf.requested_s, steps[2].requested_s);
        assert_eq!(bf.finished_s, steps[2].finished_s);
        assert_eq!((bf.batches, bf.rows_done), (30, 300_000));
        assert!(span(0) < 0.1 && span(5) < 0.1, "seed {seed}");
        // Each rolling update of 6 pods takes ≈ 20 s; `rollout` is the last deployment (v3).
        for i in [1, 3] {
            assert!((15.0..30.0).contains(&span(i)), "seed {seed}: {}", span(i));
        }
        assert_eq!(steps[3].target.as_deref(), Some("v3"));
        assert_eq!(o.summary.rollout.start_s, steps[3].requested_s);
        assert_eq!(o.summary.rollout.end_s, steps[3].finished_s);
        // The contract's DDL is the one the steps ran.
        let ddl = &o.summary.database.as_ref().unwrap().ddl;
        assert_eq!(ddl[1].finished_s, steps[5].finished_s);
    }
}

/// Deploy steps restart every controller from the version the previous step left running:
/// a new ReplicaSet for Kubernetes, a new preview or canary from the promoted stable for Argo.
#[test]
fn a_second_deployment_starts_from_the_first_ones_version_with_every_strategy() {
    let settings = [
        "strategy = \"recreate\"",
        "strategy = \"blue_green\"",
        "strategy = \"canary\"\nsteps = [{ set_weight = 50 }, { pause = \"10s\" }]",
        "strategy = \"flagger\"\ninterval = \"10s\"\nstep_weight = 50\nmax_weight = 50",
    ];
    for (i, s) in settings.iter().enumerate() {
        let file = variant(
            "migration-expand-contract",
            &format!("steps-strategy-{i}"),
            &[
                (
                    "strategy = \"rolling\"\nmax_surge = \"25%\"\nmax_unavailable = \"25%\"",
                    s,
                ),
                // Flagger's ticks make its rollouts slower: room for all the steps.
                ("duration = \"3m\"", "duration = \"5m\""),
            ],
        );
        let o = run_file(&file, 42);
        for st in &o.summary.steps {
            assert_eq!(st.outcome, StepOutcome::Completed, "{s}: {st:?}");
        }
        let v = &o.summary.versions;
        assert!(v["v2"].requests > 0 && v["v3"].requests > 0, "{s}");
        // At the end only v3 serves.
        let last: u64 = o
            .metrics
            .rows()
            .filter(|(t, slot, _)| t.as_micros() >= 280_000_000 && *slot != 2)
            .map(|(_, _, r)| r.ok + r.failed_total())
            .sum();
        assert_eq!(last, 0, "{s}");
    }
}

#[test]
fn the_text_summary_lists_the_steps_and_the_schema_errors() {
    let o = crate::common::rollsim(&[
        "run",
        "scenarios/migration-expand-contract.toml",
        "--out",
        crate::common::temp_dir("steps-text").to_str().unwrap(),
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("schema     0 queries failed schema_error"),
        "{text}"
    );
    assert!(
        text.contains("steps      1 migrate add-email-address: 30.0 s → 30.0 s, completed"),
        "{text}"
    );
    assert!(text.contains("           2 deploy v2: 30.0 s → "), "{text}");
}

#[test]
fn a_rollback_after_the_contract_step_fails_the_old_version_on_the_dropped_column() {
    let file = variant(
        "migration-expand-contract",
        "rollback-after-contract",
        &[(
            "[[steps]]\nmigrate = \"drop-email\"\n",
            "[[steps]]\nmigrate = \"drop-email\"\n\n[[steps]]\nundo = true\n",
        )],
    );
    for seed in SEEDS {
        let o = run_file(&file, seed);
        let undo = o.summary.steps.last().unwrap();
        assert_eq!(undo.kind, "undo");
        assert_eq!(
            undo.target.as_deref(),
            Some("v2"),
            "back to the previous version"
        );
        assert_eq!(undo.outcome, StepOutcome::Completed, "seed {seed}");
        assert_eq!(o.summary.rollout.outcome, "rolled_back");
        // v2 writes users.email, gone since the contract: its writes to users fail (its
        // reads too: it still reads email), so the rollback is not safe.
        let v2 = &o.summary.versions["v2"];
        assert!(v2.failed_by_cause["schema_error"] > 100, "seed {seed}");
        assert_eq!(o.summary.versions["v3"].failed_by_cause["schema_error"], 0);
        // Before the rollback nothing failed.
        let before = undo.requested_s.unwrap() as u64;
        let early: u64 = o
            .metrics
            .rows()
            .filter(|(t, _, _)| t.as_micros() < before * 1_000_000)
            .map(|(_, _, r)| r.failed_total())
            .sum();
        assert_eq!(early, 0, "seed {seed}");
    }
}

#[test]
fn a_deployment_aborted_by_its_analysis_stops_the_sequence() {
    // v2 fails its analysis (10 % errors): the rolling update rolls back, and the steps after
    // it never run.
    let file = variant(
        "migration-expand-contract",
        "aborted-step",
        &[
            (
                "[versions.v2]\nservice = { dist = \"lognormal\", mean = \"20ms\", p99 = \"100ms\" }",
                "[versions.v2]\nservice = { dist = \"lognormal\", mean = \"20ms\", p99 = \"100ms\" }\nerror_rate = 0.2",
            ),
            (
                "max_unavailable = \"25%\"",
                "max_unavailable = \"25%\"\n[rollout.analysis]\ninterval = \"5s\"\n[[rollout.analysis.metrics]]\nmetric = \"error_rate\"\nmax = 0.05\n",
            ),
        ],
    );
    let o = run_file(&file, 42);
    let outcomes: Vec<StepOutcome> = o.summary.steps.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            StepOutcome::Completed,
            StepOutcome::Aborted,
            StepOutcome::NotReached,
            StepOutcome::NotReached,
            StepOutcome::NotReached,
            StepOutcome::NotReached,
        ]
    );
    assert_eq!(o.summary.versions["v3"].requests, 0);
    // The expand step ran, so v1 (back after the rollback) still finds its columns.
    assert_eq!(schema_errors(&o), 0);
}

#[test]
fn runs_with_schema_and_steps_are_byte_identical_on_the_same_seed() {
    let file = root().join("scenarios/migration-expand-contract.toml");
    let a = run_file(&file, 9);
    let b = run_file(&file, 9);
    let json = |o: &RunOutput| serde_json::to_string(&o.summary).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_eq!(
        rollsim::report::timeseries_csv(&a),
        rollsim::report::timeseries_csv(&b)
    );
}

const SCHEMA: &str =
    "[database]\n[database.tables]\nusers = { columns = [\"id\", \"email\"] }\norders = {}\n";

#[test]
fn a_version_using_a_column_nothing_declares_or_adds_is_named_with_the_nearest_one() {
    let text = format!("{BASE}{SCHEMA}[database.versions.v1]\nreads = [\"users.emial\"]\n");
    rejected(
        &text,
        "schema-typo",
        14,
        &[
            "users.emial — no table declares it and no migration adds it",
            "did you mean users.email?",
        ],
    );
    let text = format!("{BASE}{SCHEMA}[database.versions.v1]\nwrites = [\"orders.total\"]\n");
    rejected(
        &text,
        "schema-unchecked",
        14,
        &["table \"orders\" declares no columns", "columns = ["],
    );
    // A column a migration adds may be named before it exists.
    let ok = format!("{BASE}{SCHEMA}[database.versions.v1]\nreads = [\"users.phone\"]\n[[database.ddl]]\nat = \"1s\"\ntable = \"users\"\nkind = \"add_column\"\ncolumn = \"phone\"\nduration = \"1ms\"\n");
    assert!(Scenario::parse("ok.toml", "ok", &ok).is_ok());
}

#[test]
fn bad_column_changes_are_named_with_their_line_and_fix() {
    let ddl = |body: &str| {
        format!("{BASE}{SCHEMA}[[database.ddl]]\nat = \"1s\"\nduration = \"1ms\"\n{body}")
    };
    rejected(
        &ddl("table = \"orders\"\nkind = \"drop_column\"\ncolumn = \"total\"\n"),
        "column-unchecked",
        18,
        &["table \"orders\" declares no columns", "columns = ["],
    );
    rejected(
        &ddl("table = \"users\"\nkind = \"rename_column\"\ncolumn = \"mail\"\nrename_to = \"email_address\"\n"),
        "rename-missing",
        18,
        &["column \"mail\" does not exist at that point", "id, email"],
    );
    rejected(
        &ddl("table = \"users\"\nkind = \"rename_column\"\ncolumn = \"email\"\n"),
        "rename-no-target",
        13,
        &["needs the new name", "rename_to"],
    );
}

const STEPS: &str = "[versions.v2]\nservice = \"10ms\"\n[rollout]\nstrategy = \"rolling\"\n";

#[test]
fn bad_steps_are_named_with_their_line_and_fix() {
    let named = format!("{BASE}{STEPS}{SCHEMA}[[database.ddl]]\nname = \"add-phone\"\ntable = \"users\"\nkind = \"add_column\"\ncolumn = \"phone\"\nduration = \"1ms\"\n");
    // Line 23: the first [[steps]] entry; 24 its key.
    rejected(
        &format!("{named}[[steps]]\nmigrate = \"add-phon\"\n"),
        "steps-ddl",
        24,
        &[
            "no [[database.ddl]] step is named \"add-phon\"",
            "did you mean \"add-phone\"",
        ],
    );
    rejected(
        &format!("{named}[[steps]]\nmigrate = \"add-phone\"\n[[steps]]\ndeploy = \"v3\"\n"),
        "steps-version",
        26,
        &["version \"v3\" is not defined", "did you mean"],
    );
    rejected(
        &format!("{named}[[steps]]\ndeploy = \"v2\"\n"),
        "steps-never",
        17,
        &["no [[steps]] entry migrates it", "migrate = \"add-phone\""],
    );
    rejected(
        &format!("{named}[[steps]]\nmigrate = \"add-phone\"\ndeploy = \"v2\"\n"),
        "steps-two",
        23,
        &["this step has deploy and migrate", "one of deploy"],
    );
    let with_to = named.replace(
        "strategy = \"rolling\"",
        "strategy = \"rolling\"\nto = \"v2\"",
    );
    rejected(
        &format!("{with_to}[[steps]]\nmigrate = \"add-phone\"\n"),
        "steps-rollout-to",
        13,
        &[
            "with [[steps]], `rollout.to` is not used",
            "deploy = \"v2\"",
        ],
    );
}

/// Steps need no deployment: migrations and waits alone run in order, and the rollout section
/// says none happened even with `[rollout]` settings present (no version counts as new).
#[test]
fn migrations_alone_run_as_steps_without_a_rollout() {
    let text = format!(
        "{BASE}[rollout]\nstrategy = \"rolling\"\n{SCHEMA}[[database.ddl]]\nname = \"add\"\ntable = \"users\"\nkind = \"add_column\"\ncolumn = \"phone\"\nduration = \"10ms\"\n[[database.ddl]]\nname = \"drop\"\ntable = \"users\"\nkind = \"drop_column\"\ncolumn = \"phone\"\nduration = \"10ms\"\n[[steps]]\nmigrate = \"add\"\nat = \"2s\"\n[[steps]]\nwait = \"1s\"\n[[steps]]\nmigrate = \"drop\"\n"
    );
    let s = Scenario::parse("m.toml", "m", &text).unwrap();
    let o = Simulation::new(&s).run().unwrap();
    let steps = &o.summary.steps;
    assert_eq!(steps.len(), 3);
    assert!(steps.iter().all(|s| s.outcome == StepOutcome::Completed));
    assert_eq!(steps[2].requested_s, Some(3.01));
    assert_eq!(o.summary.rollout.outcome, "none");
    assert_eq!(o.summary.exposure.users_exposed, 0);
}
