//! Migrations as timed steps (`model::database::kind`, `backfill`): a table rewrite locks its
//! table for rows / rewrite_rate and fails the requests behind it; the online migration (a
//! catalog-only column, a batched backfill, NOT VALID + VALIDATE) fails none, finishes its
//! backfill at the header's time and costs a little latency. Each lesson on several seeds,
//! with the arithmetic of the scenario headers; then bad input.

use rollsim::metrics::DatabaseSummary;
use rollsim::scenario::Scenario;
use rollsim::sim::{RunOutput, Simulation};

use crate::common::root;
use crate::database::{rejected, BASE};

const SEEDS: [u64; 4] = [1, 2, 7, 42];

fn load(name: &str, seed: u64) -> Scenario {
    let mut s = Scenario::load(&root().join(format!("scenarios/{name}.toml"))).unwrap();
    s.seed = seed;
    s
}

fn run(s: &Scenario) -> RunOutput {
    Simulation::new(s).run().unwrap()
}

fn db(o: &RunOutput) -> &DatabaseSummary {
    o.summary.database.as_ref().expect("a database section")
}

#[test]
fn a_table_rewrite_locks_the_table_for_rows_over_rewrite_rate_and_requests_fail() {
    for seed in SEEDS {
        let m = run(&load("migration-table-rewrite", seed));
        let d = db(&m);
        let ddl = &d.ddl[0];
        assert_eq!(ddl.kind, "alter_column_type");
        // Header: 2,000,000 rows / 100,000 rows/s = 20 s of ACCESS EXCLUSIVE from 60 s (or
        // once the transactions in flight then commit, milliseconds).
        let got = ddl.lock_acquired_s.unwrap();
        assert!((60.0..60.1).contains(&got), "seed {seed}: {got}");
        assert!(
            (ddl.finished_s.unwrap() - got - 20.0).abs() < 1e-9,
            "seed {seed}"
        );
        // Queries on orders wait for the whole rewrite, past the 10 s client timeout.
        assert!(
            (19.5..=20.0).contains(&d.max_lock_wait_s),
            "seed {seed}: {}",
            d.max_lock_wait_s
        );
        assert!(d.blocked_queries > 0, "seed {seed}");
        // ≈ 100 req/s blocked for 20 s, and the fleet's workers with them: thousands fail.
        assert!(m.summary.requests.failed > 2_000, "seed {seed}");
    }
}

#[test]
fn the_online_migration_fails_nothing_and_its_backfill_finishes_at_the_computed_time() {
    for seed in SEEDS {
        let f = run(&load("migration-online", seed));
        let d = db(&f);
        assert_eq!(f.summary.requests.failed, 0, "seed {seed}");
        // The two catalog-only steps hold ACCESS EXCLUSIVE for 8 ms: no query waits longer
        // than that plus the commits in flight.
        assert!(
            d.max_lock_wait_s < 0.1,
            "seed {seed}: {}",
            d.max_lock_wait_s
        );
        let kinds: Vec<&str> = d.ddl.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "add_column",
                "add_constraint_not_valid",
                "validate_constraint"
            ]
        );
        for s in &d.ddl[..2] {
            let held = s.finished_s.unwrap() - s.lock_acquired_s.unwrap();
            assert!((held - 0.008).abs() < 1e-9, "seed {seed}: {s:?}");
        }
        // VALIDATE: 2,000,000 / 1,000,000 rows/s = 2 s under SHARE UPDATE EXCLUSIVE, which
        // no read or write conflicts with: granted at once at 266 s, done at 268 s.
        assert_eq!(d.ddl[2].lock_acquired_s, Some(266.0), "seed {seed}");
        assert_eq!(d.ddl[2].finished_s, Some(268.0), "seed {seed}");
        // Backfill: 200 batches of 0.5 s with 199 pauses of 0.5 s from 61 s → 260.5 s.
        let b = &d.backfills[0];
        assert_eq!(b.batches, 200, "seed {seed}");
        assert_eq!(b.rows_done, 2_000_000);
        assert_eq!(b.started_s, Some(61.0));
        assert_eq!(b.finished_s, Some(260.5), "seed {seed}");
        assert_eq!(b.lock_wait_s, 0.0);
        // The rewrite's mistake, under the same requests (common random numbers).
        let m = run(&load("migration-table-rewrite", seed));
        assert_eq!(f.summary.requests.total, m.summary.requests.total);
    }
}

#[test]
fn the_backfills_own_load_costs_a_measurable_but_small_latency() {
    for seed in SEEDS {
        let with = run(&load("migration-online", seed));
        let mut s = load("migration-online", seed);
        s.database.as_mut().unwrap().backfills.clear();
        let without = run(&s);
        let (a, b) = (
            with.summary.latency_ms.mean.unwrap(),
            without.summary.latency_ms.mean.unwrap(),
        );
        // One of the two cores taken half the time for 200 s: queries wait for a core a
        // little more — more than noise (same requests either way), far less than an outage.
        assert!(a - b > 0.5, "seed {seed}: {a} vs {b}");
        assert!(a - b < 0.15 * b, "seed {seed}: {a} vs {b}");
        assert_eq!(without.summary.requests.failed, 0);
    }
}

/// The rewrite scenario with `from` replaced by `to`: its DDL step's lock-held seconds.
fn rewrite_held(tag: &str, from: &str, to: &str) -> f64 {
    let text = std::fs::read_to_string(root().join("scenarios/migration-table-rewrite.toml"))
        .unwrap()
        .replace(from, to);
    let file = crate::common::temp_dir(tag).join("s.toml");
    std::fs::write(&file, text).unwrap();
    let o = run(&Scenario::load(&file).unwrap_or_else(|e| panic!("{e}")));
    let ddl = &db(&o).ddl[0];
    ddl.finished_s.unwrap() - ddl.lock_acquired_s.unwrap()
}

#[test]
fn an_explicit_duration_wins_and_wider_rows_take_longer() {
    let kind = "kind = \"alter_column_type\"";
    let held = rewrite_held("mig-duration", kind, &format!("{kind}\nduration = \"3s\""));
    assert!((held - 3.0).abs() < 1e-9, "{held}");
    // Rows of 250 bytes instead of the rates' 100: 2.5 × the 20 s rewrite.
    let rows = "rows = 2_000_000 }";
    let held = rewrite_held("mig-row-bytes", rows, "rows = 2_000_000, row_bytes = 250 }");
    assert!((held - 50.0).abs() < 1e-9, "{held}");
}

#[test]
fn bad_migration_input_is_named_with_its_line_and_fix() {
    let head = format!("{BASE}[database]\n[database.tables]\nusers = {{}}\n");
    let step = |kind: &str| {
        format!("{head}[[database.ddl]]\nat = \"1s\"\ntable = \"users\"\nkind = \"{kind}\"\n")
    };
    rejected(
        &step("add_colum"),
        "mig-kind",
        15,
        &[
            "unknown DDL kind \"add_colum\"",
            "add_column_volatile_default",
            "validate_constraint",
        ],
    );
    rejected(
        &step("alter_column_type"),
        "mig-rows",
        15,
        &[
            "alter_column_type takes its duration from the table's size",
            "declares no rows",
            "give the table rows = ",
            "or the step a duration",
        ],
    );
    rejected(
        &step("alter_table"),
        "mig-alter-table",
        15,
        &["alter_table has no duration", "give the step a duration"],
    );
    let backfill = |rest: &str| format!("{head}[[database.backfills]]\nat = \"1s\"\n{rest}");
    rejected(
        &backfill("table = \"users\"\nrows = 100\nbatch_size = 0\n"),
        "mig-batch",
        16,
        &["`batch_size` = 0", "at least one row", "batch_size = 1000"],
    );
    rejected(
        &backfill("table = \"user\"\nrows = 100\n"),
        "mig-table",
        14,
        &["table \"user\" is not declared", "did you mean \"users\""],
    );
    rejected(
        &backfill("table = \"users\"\n"),
        "mig-backfill-rows",
        14,
        &["gives no rows", "rows = "],
    );
    let mix = format!(
        "{BASE}[database]\n[database.tables]\nusers = {{ rows = 10 }}\n[database.versions.v1]\ntables = {{ users = {{ rows = 5 }} }}\n"
    );
    rejected(&mix, "mig-mix-rows", 13, &["cannot set a table's size"]);
    let width =
        format!("{BASE}[database]\n[database.tables]\nusers = {{ rows = 10, row_bytes = 0 }}\n");
    rejected(
        &width,
        "mig-row-bytes",
        11,
        &["`row_bytes` = 0 is not a row width"],
    );
    let rate = format!("{BASE}[database]\nrewrite_rate = 0\n[database.tables]\nusers = {{}}\n");
    rejected(
        &rate,
        "mig-rate",
        10,
        &["`database.rewrite_rate` = 0 is not a rate"],
    );
}
