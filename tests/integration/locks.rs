//! Table locks and DDL (`model::database::locks`, `ddl`): the lock-queue outage behind a
//! long transaction and its `lock_timeout` fix, `CREATE INDEX` against `CREATE INDEX
//! CONCURRENTLY`, each lesson asserted on several seeds, and bad lock input.

use rollsim::metrics::DatabaseSummary;
use rollsim::scenario::Scenario;
use rollsim::sim::{RunOutput, Simulation};

use crate::common::root;
use crate::database::{rejected, BASE};

const SEEDS: [u64; 4] = [1, 2, 7, 42];

fn run(name: &str, seed: u64) -> RunOutput {
    let mut s = Scenario::load(&root().join(format!("scenarios/{name}.toml"))).unwrap();
    s.seed = seed;
    Simulation::new(&s).run().unwrap()
}

fn db(o: &RunOutput) -> &DatabaseSummary {
    o.summary.database.as_ref().expect("a database section")
}

#[test]
fn a_queued_alter_blocks_the_table_for_the_long_transactions_remaining_time() {
    for seed in SEEDS {
        let m = run("migration-lock-queue", seed);
        let d = db(&m);
        let ddl = &d.ddl[0];
        // Header: requested at 60 s, granted when the report ends at 90 s, 8 ms of work.
        assert_eq!(ddl.requested_s, Some(60.0), "seed {seed}");
        let got = ddl.lock_acquired_s.unwrap();
        assert!((90.0..90.1).contains(&got), "seed {seed}: {got}");
        assert!((ddl.finished_s.unwrap() - got - 0.008).abs() < 1e-9);
        // Blocked time ≈ the report's remaining time, 90 − 60 = 30 s.
        assert!(
            (29.5..=30.1).contains(&d.max_lock_wait_s),
            "seed {seed}: {}",
            d.max_lock_wait_s
        );
        assert!(d.blocked_queries > 0);
        // Every worker stuck behind the ALTER: thousands of requests fail.
        assert!(m.summary.requests.failed > 2_000, "seed {seed}");

        let f = run("migration-lock-timeout", seed);
        let d = db(&f);
        let ddl = &d.ddl[0];
        // Five attempts time out (60, 66.5, 73, 79.5, 86 s); the sixth at 92.5 s lands.
        assert_eq!(ddl.attempts, 6, "seed {seed}");
        assert_eq!(ddl.lock_timeouts, 5, "seed {seed}");
        let got = ddl.lock_acquired_s.unwrap();
        assert!((92.5..92.6).contains(&got), "seed {seed}: {got}");
        // No wait longer than lock_timeout, no failure.
        assert!(
            d.max_lock_wait_s <= 0.5,
            "seed {seed}: {}",
            d.max_lock_wait_s
        );
        assert_eq!(f.summary.requests.failed, 0, "seed {seed}");
        // Common random numbers: the same requests either way.
        assert_eq!(f.summary.requests.total, m.summary.requests.total);
    }
}

#[test]
fn create_index_blocks_writes_and_concurrently_blocks_nothing_but_builds_longer() {
    for seed in SEEDS {
        let m = run("index-build", seed);
        let d = db(&m);
        // Granted at 60 s, or once the writes in flight then commit (milliseconds).
        let got = d.ddl[0].lock_acquired_s.unwrap();
        assert!((60.0..60.1).contains(&got), "seed {seed}: {got}");
        assert!((d.ddl[0].finished_s.unwrap() - got - 20.0).abs() < 1e-9);
        // Writes wait for the whole 20 s build; reads never wait (SHARE vs ACCESS SHARE).
        assert!(
            (19.0..=20.0).contains(&d.max_lock_wait_s),
            "seed {seed}: {}",
            d.max_lock_wait_s
        );
        assert!(m.summary.requests.failed > 1_000, "seed {seed}");

        let f = run("index-concurrently", seed);
        let d = db(&f);
        assert_eq!(d.blocked_queries, 0, "seed {seed}");
        assert_eq!(d.lock_wait_s, 0.0);
        // Two scans: twice the plain build.
        let got = d.ddl[0].lock_acquired_s.unwrap();
        assert!((d.ddl[0].finished_s.unwrap() - got - 40.0).abs() < 1e-9);
        assert_eq!(f.summary.requests.failed, 0, "seed {seed}");
    }
}

#[test]
fn a_query_waiting_past_statement_timeout_fails_db_timeout() {
    let mut s = Scenario::load(&root().join("scenarios/migration-lock-queue.toml")).unwrap();
    let db = s.database.as_mut().unwrap();
    db.statement_timeout = Some(rollsim::engine::SimDuration::from_secs(2));
    let o = Simulation::new(&s).run().unwrap();
    let d = o.summary.database.as_ref().unwrap();
    assert!(o.summary.requests.failed_by_cause["db_timeout"] > 100);
    // A query waits at most statement_timeout (from its arrival at the server).
    assert!(d.max_lock_wait_s <= 2.0 + 1e-9, "{}", d.max_lock_wait_s);
    assert!(d.statement_timeouts > 100);
}

#[test]
fn bad_lock_input_is_named_with_its_line_and_fix() {
    let head = format!("{BASE}[database]\n[database.tables]\nusers = {{}}\n");
    let kind = format!(
        "{head}[[database.ddl]]\nat = \"1s\"\ntable = \"users\"\nkind = \"vacuum_full\"\nduration = \"1s\"\n"
    );
    rejected(
        &kind,
        "ddl-kind",
        15,
        &[
            "unknown DDL kind \"vacuum_full\"",
            "create_index_concurrently",
        ],
    );
    let table = format!(
        "{head}[[database.ddl]]\nat = \"1s\"\ntable = \"user\"\nkind = \"alter_table\"\nduration = \"1s\"\n"
    );
    rejected(
        &table,
        "ddl-table",
        14,
        &["table \"user\" is not declared", "did you mean \"users\""],
    );
    let neg = format!(
        "{head}[[database.ddl]]\nat = \"1s\"\ntable = \"users\"\nkind = \"alter_table\"\nduration = -1\n"
    );
    rejected(&neg, "ddl-negative", 16, &["non-negative duration"]);
    let mode = format!(
        "{head}[[database.transactions]]\ntable = \"users\"\nmode = \"shared\"\nstart = \"1s\"\nduration = \"5s\"\n"
    );
    rejected(
        &mode,
        "txn-mode",
        14,
        &["unknown lock mode \"shared\"", "access_share"],
    );
}

#[test]
fn the_time_series_counts_queries_waiting_on_locks() {
    let o = run("migration-lock-queue", 42);
    let csv = rollsim::report::timeseries_csv(&o);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "db_lock_waiting").unwrap();
    let waiting = |t: &str| -> u32 {
        csv.lines()
            .filter(|l| l.starts_with(&format!("{t},")))
            .map(|l| l.split(',').nth(col).unwrap().parse::<u32>().unwrap())
            .sum()
    };
    // Before the ALTER nobody waits; behind it every worker's connection does (6 pods × 8).
    assert_eq!(waiting("30"), 0);
    assert_eq!(waiting("75"), 48);
    assert_eq!(waiting("120"), 0);
}

#[test]
fn the_text_summary_tells_how_long_a_migration_waited_for_its_lock() {
    let out = crate::common::temp_dir("lock-text");
    let o = crate::common::rollsim(&[
        "run",
        "scenarios/migration-lock-queue.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains(
            "migration  alter_table on users: requested 60.0 s, waited 30.0 s for its lock, \
             held it 8 ms (1 attempt, 0 lock timeouts)"
        ),
        "{text}"
    );
    assert!(text.contains("longest 30.0 s"), "{text}");
}
