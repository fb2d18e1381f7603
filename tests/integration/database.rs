//! The database: PostgreSQL connection slots, per-pod fixed-size pools, queries on a server
//! of finite cores, and the two scenarios of the classic incident (`db-connection-exhaustion`
//! and its fix `db-pool-sized`), each lesson asserted on several seeds.

use rollsim::scenario::Scenario;
use rollsim::sim::{RunOutput, Simulation};

use crate::common::{rollsim, root, temp_dir};

const SEEDS: [u64; 5] = [1, 2, 3, 7, 42];

fn load(name: &str) -> Scenario {
    Scenario::load(&root().join(format!("scenarios/{name}.toml"))).unwrap()
}

fn run(s: &Scenario) -> RunOutput {
    Simulation::new(s).run().unwrap()
}

fn cause(o: &RunOutput, c: &str) -> u64 {
    o.summary.requests.failed_by_cause[c]
}

fn db(o: &RunOutput) -> &rollsim::metrics::DatabaseSummary {
    o.summary.database.as_ref().expect("a database section")
}

#[test]
fn a_doubled_fleet_exhausts_the_connections_and_sized_pools_fix_it_on_every_seed() {
    for seed in SEEDS {
        let mut mistake = load("db-connection-exhaustion");
        mistake.seed = seed;
        let m = run(&mistake);
        // The header's arithmetic: 12 pods × 10 = 120 wanted, 97 usable.
        assert_eq!(db(&m).connection_errors, 120 - 97, "seed {seed}");
        assert_eq!(db(&m).peak_connections, 97, "seed {seed}");
        assert_eq!(db(&m).max_connections, 100);
        let exhausted = cause(&m, "db_connections_exhausted");
        // Two of six green pods fail everything from the switch until the blue fleet exits
        // (≥ scaleDownDelay 30 s): about 300/s × 2/6 × 30 s ≈ 3,000 requests.
        assert!(
            (2_000..6_000).contains(&exhausted),
            "seed {seed}: {exhausted}"
        );
        assert_eq!(m.summary.requests.failed, exhausted, "seed {seed}");
        assert_eq!(m.summary.rollout.outcome, "completed", "seed {seed}");

        let mut fix = load("db-pool-sized");
        fix.seed = seed;
        let f = run(&fix);
        assert_eq!(db(&f).connection_errors, 0, "seed {seed}");
        assert_eq!(db(&f).peak_connections, 12 * 8, "seed {seed}");
        assert_eq!(cause(&f, "db_connections_exhausted"), 0, "seed {seed}");
        assert_eq!(cause(&f, "db_timeout"), 0, "seed {seed}");
        assert_eq!(f.summary.requests.failed, 0, "seed {seed}");
        // Same requests either way (common random numbers), and each makes 2–4 queries.
        assert_eq!(f.summary.requests.total, m.summary.requests.total);
        let per = db(&f).queries as f64 / f.summary.requests.total as f64;
        assert!((2.9..3.1).contains(&per), "seed {seed}: {per}");
    }
}

/// A fleet at rest (no rollout) of `replicas` pods with pools of `pool`, plus `extra` TOML.
fn fleet(replicas: u32, pool: u32, extra: &str) -> Scenario {
    let text = format!(
        r#"
        duration = "40s"
        seed = 5
        [traffic]
        rate = 200
        [cluster]
        nodes = 8
        pods_per_node = 4
        [pod]
        concurrency = 8
        startup = "3s"
        app_init = "1s"
        pre_stop = "10s"
        readiness = {{ initial_delay = "1s", period = "1s" }}
        [versions.v1]
        service = "10ms"
        [versions.v2]
        service = "10ms"
        [deployment]
        replicas = {replicas}
        version = "v1"
        [database]
        pool_size = {pool}
        on_exhausted = "fail_requests"
        [database.tables]
        items = {{ share = 1.0, writes = 0.2 }}
        {extra}
        "#
    );
    Scenario::parse("t.toml", "t", &text).unwrap()
}

#[test]
fn connection_errors_start_when_pods_times_pool_exceeds_the_usable_slots() {
    // 97 ordinary slots (100 − 3): errors = max(0, pods × pool − 97), and none before.
    let sizes = [
        (9, 10),
        (10, 9),
        (10, 10),
        (11, 10),
        (4, 24),
        (5, 20),
        (6, 17),
    ];
    for ((replicas, pool), seed) in sizes.into_iter().zip(SEEDS.into_iter().cycle()) {
        let mut s = fleet(replicas, pool, "");
        s.seed = seed;
        let o = run(&s);
        let want = (replicas * pool).saturating_sub(97);
        assert_eq!(
            db(&o).connection_errors,
            u64::from(want),
            "{replicas} × {pool}"
        );
        assert_eq!(db(&o).peak_connections, (replicas * pool).min(97));
        // Requests of a pod with no connection at all fail at once (fail_requests).
        let empty = (replicas * pool).saturating_sub(97) >= pool;
        assert_eq!(
            cause(&o, "db_connections_exhausted") > 0,
            empty,
            "{replicas} × {pool}"
        );
    }
}

#[test]
fn terminating_pods_keep_their_connections_until_they_exit() {
    // 9 × 10 = 90 and maxSurge 1 gives 100 pods × pool only with the terminating pod: the
    // old pod drains through its 10 s preStop holding its 10 connections while the next surge
    // pod starts (7 old + 1 terminating + 1 new + 1 surge = 10 pods = 100 > 97).
    let rollout = r#"
        [rollout]
        to = "v2"
        at = "5s"
        strategy = "rolling"
        max_surge = 1
        max_unavailable = 0
    "#;
    let with_prestop = run(&fleet(8, 10, rollout));
    assert!(db(&with_prestop).connection_errors > 0);
    // Without the preStop delay an idle old pod exits at SIGTERM, long before the next surge
    // pod's application starts: (8 + 1) × 10 = 90 ≤ 97, no error.
    let mut s = fleet(8, 10, rollout);
    for v in &mut s.versions {
        v.pod.pre_stop = rollsim::engine::SimDuration::ZERO;
    }
    let o = run(&s);
    assert_eq!(db(&o).connection_errors, 0);
    assert!(o.summary.rollout.start_s.is_some());
}

#[test]
fn fail_readiness_stalls_the_rollout_instead_of_failing_requests() {
    for seed in [1, 42] {
        let mut s = load("db-connection-exhaustion");
        s.seed = seed;
        s.database.as_mut().unwrap().on_exhausted = rollsim::model::OnExhausted::FailReadiness;
        let o = run(&s);
        assert_eq!(db(&o).connection_errors, 23, "seed {seed}");
        assert_eq!(cause(&o, "db_connections_exhausted"), 0);
        assert_eq!(o.summary.requests.failed, 0, "seed {seed}");
        // Two green pods never turn Ready: the preview is never fully available.
        assert_ne!(o.summary.rollout.outcome, "completed", "seed {seed}");
    }
}

#[test]
fn a_small_pool_makes_requests_wait_and_time_out_and_query_time_is_latency() {
    // Queries of 5 ms, 4 per request: 20 ms at the database on top of 10 ms of work.
    let extra = r#"
        [database.versions.v1]
        queries = 4
    "#;
    let mut s = fleet(2, 8, extra);
    let db_spec = s.database.as_mut().unwrap();
    db_spec.read_time =
        rollsim::model::Dist::Constant(rollsim::engine::SimDuration::from_millis(5));
    db_spec.write_time = db_spec.read_time.clone();
    let o = run(&s);
    let p50 = o.summary.latency_ms.p50.unwrap();
    assert!((29.5..31.5).contains(&p50), "{p50}");
    assert_eq!(o.summary.requests.failed, 0);

    // One connection per pod, 100 req/s each needing 20 ms: 200 % utilisation, so waiters
    // (200 workers per pod) pile up and give up after connection_timeout (here 1 s).
    let mut s = fleet(2, 1, extra);
    for v in &mut s.versions {
        v.pod.concurrency = 200;
    }
    let d = s.database.as_mut().unwrap();
    d.read_time = rollsim::model::Dist::Constant(rollsim::engine::SimDuration::from_millis(5));
    d.write_time = d.read_time.clone();
    d.connection_timeout = rollsim::engine::SimDuration::from_secs(1);
    s.traffic.timeout = None;
    let o = run(&s);
    assert!(cause(&o, "db_timeout") > 100, "{:?}", o.summary.requests);
    assert_eq!(db(&o).pool_timeouts, cause(&o, "db_timeout"));
    let r = &o.summary.requests;
    assert_eq!(r.total, r.ok + r.failed);
}

#[test]
fn statement_timeout_fails_slow_queries_with_db_timeout() {
    let mut s = fleet(2, 8, "");
    let d = s.database.as_mut().unwrap();
    // Lognormal reads with a long tail; a 20 ms statement_timeout cancels the slowest.
    d.read_time = rollsim::model::Dist::lognormal_from_mean_p99(0.005, 0.05).unwrap();
    d.write_time = d.read_time.clone();
    d.statement_timeout = Some(rollsim::engine::SimDuration::from_millis(20));
    let o = run(&s);
    let t = db(&o).statement_timeouts;
    assert!(t > 0);
    assert_eq!(cause(&o, "db_timeout"), t);
    let share = t as f64 / db(&o).queries as f64;
    assert!(share < 0.05, "{share}");
}

#[test]
fn without_a_database_section_the_summary_has_none() {
    let s = Scenario::parse(
        "t.toml",
        "t",
        "duration = \"5s\"\n[traffic]\nrate = 10\n[versions.v1]\nservice = \"10ms\"\n[deployment]\nreplicas = 1\nversion = \"v1\"\n",
    )
    .unwrap();
    let o = run(&s);
    assert!(o.summary.database.is_none());
    let json = serde_json::to_string(&o.summary).unwrap();
    assert!(!json.contains("\"database\""));
}

pub(crate) fn rejected(text: &str, tag: &str, line: usize, needles: &[&str]) {
    let dir = temp_dir(tag);
    let file = dir.join("bad.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.join("out");
    let o = rollsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(o.status.code(), Some(2), "{tag}: {err}");
    assert!(!out.exists(), "{tag}: outputs written");
    assert!(err.contains(&format!("bad.toml:{line}:")), "{tag}: {err}");
    for n in needles {
        assert!(err.contains(n), "{tag}: {n:?} missing in\n{err}");
    }
    assert!(err.contains("help:"), "{tag}: {err}");
}

pub(crate) const BASE: &str = "duration = \"10s\"\n[traffic]\nrate = 10\n[versions.v1]\nservice = \"10ms\"\n[deployment]\nreplicas = 1\nversion = \"v1\"\n";

#[test]
fn bad_database_input_is_named_with_its_line_and_fix() {
    let pool = format!("{BASE}[database]\npool_size = 98\n[database.tables]\nt = {{}}\n");
    rejected(
        &pool,
        "db-pool",
        10,
        &["larger than the 97 slots", "at most 97"],
    );
    let table = format!(
        "{BASE}[database]\n[database.tables]\nusers = {{}}\n[database.versions.v1]\ntables = {{ user = {{ share = 1 }} }}\n"
    );
    rejected(
        &table,
        "db-table",
        13,
        &["table \"user\" is not declared", "did you mean \"users\""],
    );
    let mode = format!("{BASE}[database]\non_exhausted = \"crash\"\n[database.tables]\nt = {{}}\n");
    rejected(
        &mode,
        "db-mode",
        10,
        &["unknown on_exhausted \"crash\"", "fail_readiness"],
    );
    let version = format!(
        "{BASE}[database]\n[database.tables]\nt = {{}}\n[database.versions.v9]\nqueries = 2\n"
    );
    rejected(
        &version,
        "db-version",
        12,
        &["version \"v9\" is not defined"],
    );
    let empty = format!(
        "{BASE}[database]\n[database.tables]\nt = {{}}\n[database.versions.v1]\ntables = {{}}\n"
    );
    rejected(&empty, "db-empty-mix", 13, &["lists no table"]);
    let none = format!("{BASE}[database]\npool_size = 5\n");
    rejected(&none, "db-no-table", 9, &["declares no table"]);
}

#[test]
fn the_time_series_shows_connections_open_per_version_only_with_a_database() {
    let o = run(&load("db-connection-exhaustion"));
    let csv = rollsim::report::timeseries_csv(&o);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header[header.len() - 2..],
        ["db_connections", "db_lock_waiting"]
    );
    let (t, col) = (0, header.len() - 2);
    let mut per_t: std::collections::BTreeMap<String, u32> = Default::default();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        *per_t.entry(cells[t].to_string()).or_default() += cells[col].parse::<u32>().unwrap();
    }
    // Never above the 97 ordinary slots; 60 before the rollout; 97 with both fleets.
    assert!(per_t.values().all(|n| *n <= 97));
    assert_eq!(per_t["0"], 60);
    assert_eq!(per_t.values().max(), Some(&97));

    let plain = run(&load("db-connection-exhaustion").tap_no_db());
    let csv = rollsim::report::timeseries_csv(&plain);
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with(",traffic_share,connections"));
}

trait NoDb {
    fn tap_no_db(self) -> Self;
}

impl NoDb for Scenario {
    fn tap_no_db(mut self) -> Self {
        self.database = None;
        self
    }
}

#[test]
fn a_pre_flight_warning_gives_the_slot_arithmetic_before_the_run() {
    let w = &load("db-connection-exhaustion").warnings;
    assert_eq!(w.len(), 1, "{w:?}");
    let text = w[0].to_string();
    for needle in [
        "12 pods",
        "120 connections",
        "allows 97",
        "23 are refused",
        "pool_size ≤ 8",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in {text}");
    }
    assert!(load("db-pool-sized").warnings.is_empty());
    // A fleet at rest that fits gets no warning; one that does not, does.
    assert!(fleet(9, 10, "").warnings.is_empty());
    assert!(fleet(10, 10, "").warnings[0]
        .to_string()
        .contains("3 are refused"));
}

#[test]
fn crashing_and_replaced_pods_give_their_connections_back() {
    // 9 × 10 = 90 = every usable slot (max_connections 93 − 3): a crash closes a pod's pool
    // and its restart reopens it, and a rolling update with maxSurge 0 replaces pods one by
    // one. A leaked connection would show as a refused one when a pool reopens.
    let extra = r#"
        [[versions.v1.faults]]
        kind = "crash_loop"
        after = { dist = "uniform", min = "5s", max = "15s" }
        [rollout]
        to = "v2"
        at = "20s"
        strategy = "rolling"
        max_surge = 0
        max_unavailable = 1
    "#;
    for seed in [1, 2, 3] {
        let mut s = fleet(9, 10, extra);
        s.seed = seed;
        s.database.as_mut().unwrap().max_connections = 93;
        for v in &mut s.versions {
            v.pod.pre_stop = rollsim::engine::SimDuration::ZERO;
        }
        let o = run(&s);
        assert_eq!(db(&o).connection_errors, 0, "seed {seed}");
        assert_eq!(db(&o).peak_connections, 90, "seed {seed}");
        assert!(
            o.summary.requests.failed_by_cause["connection_refused"] > 0,
            "seed {seed}"
        );
        let r = &o.summary.requests;
        assert_eq!(r.total, r.ok + r.failed);
    }
}
