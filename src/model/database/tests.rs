use super::*;
use crate::engine::SimDuration;
use crate::model::dist::Dist;

/// The world's queue, reduced to what the database schedules.
#[derive(Default)]
struct Q(Vec<(SimTime, ModelEvent)>);

impl Schedule for Q {
    fn schedule(&mut self, at: SimTime, event: ModelEvent) {
        self.0.push((at, event));
    }
}

impl Q {
    /// The earliest pending database event (ties in scheduling order).
    fn pop(&mut self) -> Option<(SimTime, DbEvent)> {
        let i = (0..self.0.len()).min_by_key(|i| (self.0[*i].0, *i))?;
        match self.0.remove(i) {
            (t, ModelEvent::Db(e)) => Some((t, e)),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn spec(pool_size: u32, cores: u32, queries: QueryCount) -> DatabaseSpec {
    DatabaseSpec {
        max_connections: 100,
        superuser_reserved: 3,
        pool_size,
        connection_timeout: SimDuration::from_secs(30),
        on_exhausted: OnExhausted::FailRequests,
        cores,
        statement_timeout: None,
        read_time: Dist::Constant(SimDuration::from_millis(2)),
        write_time: Dist::Constant(SimDuration::from_millis(5)),
        tables: vec!["users".into(), "orders".into()],
        transactions: Vec::new(),
        ddl: Vec::new(),
        table_sizes: vec![kind::TableSize::default(); 2],
        rates: kind::Rates::default(),
        backfills: Vec::new(),
        schema: None,
        workloads: vec![Workload {
            queries,
            tables: vec![
                TableShare {
                    table: 0,
                    cumulative: 0.5,
                    writes: 0.0,
                },
                TableShare {
                    table: 1,
                    cumulative: 1.0,
                    writes: 1.0,
                },
            ],
        }],
    }
}

fn call(pod: u32, slot: u32, luck: u64) -> Call {
    Call {
        pod: PodId(pod),
        slot,
        epoch: 0,
        luck,
        sent: SimTime::ZERO,
    }
}

/// Runs every pending event; returns the phase ends with their times.
fn drain(db: &mut Database, q: &mut Q) -> Vec<(SimTime, PhaseEnd)> {
    let mut out = Vec::new();
    while let Some((t, e)) = q.pop() {
        if let Some(end) = db.on_event(e, t, q, |_| true) {
            out.push((t, end));
        }
    }
    out
}

#[test]
fn pools_open_until_the_ordinary_slots_run_out_and_refill_when_a_pod_exits() {
    // §1.8 and §2.3: 97 ordinary slots; fixed pools of 10.
    let mut db = Database::new(spec(10, 4, QueryCount::Fixed(1)));
    let got: Vec<u32> = (0..11).map(|p| db.open_pool(PodId(p))).collect();
    assert_eq!(got, [10, 10, 10, 10, 10, 10, 10, 10, 10, 7, 0]);
    // Errors start exactly when pods × pool exceeds the usable slots: 110 − 97 = 13.
    assert_eq!(db.stats().connection_errors, 13);
    assert_eq!(
        (db.open_connections(), db.stats().peak_connections),
        (97, 97)
    );
    // A pod exits: its 10 slots go to the short pools, oldest first.
    let mut q = Q::default();
    db.close_pool(PodId(0), SimTime::ZERO, &mut q);
    assert_eq!((db.held(PodId(9)), db.held(PodId(10))), (10, 7));
    assert_eq!(db.open_connections(), 97);
    // Closing twice (a crash, then the exit) returns nothing more.
    db.close_pool(PodId(0), SimTime::ZERO, &mut q);
    assert_eq!(db.open_connections(), 97);
}

#[test]
fn a_request_waits_fifo_for_a_connection_then_times_out() {
    // Pool of 1, one query of 2 ms... unless it is a write (5 ms).
    let mut db = Database::new(spec(1, 4, QueryCount::Fixed(1)));
    db.open_pool(PodId(0));
    let mut q = Q::default();
    let v = VersionId(0);
    assert_eq!(
        db.begin(call(0, 0, 1), v, SimTime::ZERO, &mut q),
        Begin::Running
    );
    assert_eq!(
        db.begin(call(0, 1, 2), v, SimTime::ZERO, &mut q),
        Begin::Waiting
    );
    let ends = drain(&mut db, &mut q);
    // The second borrows the connection when the first ends, and ends one query later; its
    // pool timeout then finds nothing to do.
    assert_eq!(ends.len(), 2);
    assert_eq!(ends[0].1.call.slot, 0);
    assert_eq!(ends[1].1.call.slot, 1);
    assert!(ends.iter().all(|(_, e)| e.failed.is_none()));
    assert!(ends[1].0 > ends[0].0);
    assert_eq!(db.stats().pool_timeouts, 0);

    // A connection held longer than connection_timeout: the waiter fails db_timeout at 30 s.
    let mut slow = spec(1, 4, QueryCount::Fixed(1));
    slow.read_time = Dist::Constant(SimDuration::from_secs(40));
    slow.write_time = Dist::Constant(SimDuration::from_secs(40));
    let mut db = Database::new(slow);
    db.open_pool(PodId(0));
    db.begin(call(0, 0, 1), v, SimTime::ZERO, &mut q);
    db.begin(call(0, 1, 2), v, SimTime::ZERO, &mut q);
    let ends = drain(&mut db, &mut q);
    assert_eq!(ends[0].0, SimTime::ZERO + SimDuration::from_secs(30));
    assert_eq!(ends[0].1.failed, Some(FailCause::DbTimeout));
    assert_eq!(ends[0].1.call.slot, 1);
    assert_eq!(ends[1].1.failed, None);
    assert_eq!(db.stats().pool_timeouts, 1);
}

#[test]
fn a_pod_without_connections_fails_requests_at_once() {
    let mut db = Database::new(spec(97, 4, QueryCount::Fixed(1)));
    assert_eq!(db.open_pool(PodId(0)), 97);
    assert_eq!(db.open_pool(PodId(1)), 0);
    let mut q = Q::default();
    let r = db.begin(call(1, 0, 1), VersionId(0), SimTime::ZERO, &mut q);
    assert_eq!(r, Begin::Failed(FailCause::DbConnectionsExhausted));
    assert_eq!(db.stats().exhausted, 1);
    assert!(q.0.is_empty());
}

#[test]
fn queries_run_one_after_another_on_a_fifo_server_of_finite_cores() {
    // One core, 3 queries per request, two requests at once: the server interleaves them
    // first come first served; the transaction time is the sum of its queries plus waiting.
    let mut db = Database::new(spec(10, 1, QueryCount::Fixed(3)));
    db.open_pool(PodId(0));
    let mut q = Q::default();
    let v = VersionId(0);
    let total = |db: &Database, luck| -> u64 {
        (1..=3)
            .map(|k| db.query(v, luck, k).duration.as_micros())
            .sum()
    };
    let (a, b) = (total(&db, 11), total(&db, 12));
    db.begin(call(0, 0, 11), v, SimTime::ZERO, &mut q);
    db.begin(call(0, 1, 12), v, SimTime::ZERO, &mut q);
    let ends = drain(&mut db, &mut q);
    assert_eq!(ends.len(), 2);
    // Whatever the order, the second to finish ends when the core has done all six queries.
    assert_eq!(ends[1].0.as_micros(), a + b);
    assert_eq!(db.stats().queries, 6);
    // Writes are what the mix says: table 1 only, all writes.
    for k in 1..=50 {
        let qy = db.query(v, 99, k);
        assert_eq!(qy.write, qy.table == 1);
    }
    // The same request draws the same queries.
    assert_eq!(db.query(v, 5, 2), db.query(v, 5, 2));
}

#[test]
fn statement_timeout_cancels_a_long_query_at_its_deadline() {
    let mut s = spec(10, 1, QueryCount::Fixed(1));
    s.read_time = Dist::Constant(SimDuration::from_secs(10));
    s.write_time = Dist::Constant(SimDuration::from_secs(10));
    s.statement_timeout = Some(SimDuration::from_secs(2));
    let mut db = Database::new(s);
    db.open_pool(PodId(0));
    let mut q = Q::default();
    db.begin(call(0, 0, 1), VersionId(0), SimTime::ZERO, &mut q);
    // The second waits for the core past its own deadline: cancelled when it gets the core.
    db.begin(call(0, 1, 2), VersionId(0), SimTime::ZERO, &mut q);
    let ends = drain(&mut db, &mut q);
    let two = SimTime::ZERO + SimDuration::from_secs(2);
    assert_eq!(
        ends[0],
        (
            two,
            PhaseEnd {
                call: call(0, 0, 1),
                failed: Some(FailCause::DbTimeout)
            }
        )
    );
    assert_eq!(
        ends[1],
        (
            two,
            PhaseEnd {
                call: call(0, 1, 2),
                failed: Some(FailCause::DbTimeout)
            }
        )
    );
    assert_eq!(db.stats().statement_timeouts, 2);
}

#[test]
fn uniform_query_counts_stay_in_range_and_follow_the_luck() {
    let db = Database::new(spec(10, 1, QueryCount::Uniform { min: 2, max: 4 }));
    let counts: Vec<u32> = (0..300).map(|l| db.query_count(VersionId(0), l)).collect();
    for n in 2..=4 {
        assert!(counts.iter().filter(|c| **c == n).count() > 70, "{n}");
    }
    assert!(counts.iter().all(|c| (2..=4).contains(c)));
}

#[test]
fn a_dead_pods_queued_query_releases_its_locks_so_a_waiting_ddl_proceeds() {
    use super::ddl::{DdlKind, DdlSpec};
    // One core: A's query runs, B's (holding its table lock) queues for the core. B's pod
    // dies; when the core frees, B's transaction aborts and its lock goes, so the ALTER
    // waiting for it gets its lock (before the fix it waited forever).
    let mut s = spec(2, 1, QueryCount::Fixed(1));
    let v = VersionId(0);
    let db0 = Database::new(s.clone());
    let table = db0.query(v, 2, 1).table;
    s.ddl = vec![DdlSpec {
        name: None,
        at: Some(SimTime::ZERO + SimDuration::from_millis(1)),
        table,
        kind: DdlKind::AlterTable,
        duration: SimDuration::from_millis(8),
        lock_timeout: None,
        retries: 0,
        retry_after: SimDuration::from_secs(1),
        effect: None,
    }];
    let mut db = Database::new(s);
    db.open_pool(PodId(0));
    db.open_pool(PodId(1));
    let mut q = Q::default();
    db.schedule_start(&mut q);
    db.begin(call(0, 0, 1), v, SimTime::ZERO, &mut q);
    db.begin(call(1, 0, 2), v, SimTime::ZERO, &mut q);
    while let Some((t, e)) = q.pop() {
        db.on_event(e, t, &mut q, |c| c.pod != PodId(1));
    }
    let o = db.ddl_outcomes()[0];
    assert!(o.acquired.is_some() && o.finished.is_some(), "{o:?}");
    assert_eq!(db.lock_waiting(), Some(0));
}

fn secs(s: f64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs_f64(s)
}

#[test]
fn a_backfill_runs_its_batches_with_pauses_and_takes_a_core_for_each() {
    use super::backfill::BackfillSpec;
    // 2,500 rows in batches of 1,000 at 10,000 rows/s: 100, 100 and 50 ms of work, 200 ms
    // pauses, from 1 s: finished at 1 + 0.1 + 0.2 + 0.1 + 0.2 + 0.05 = 1.65 s.
    let mut s = spec(2, 1, QueryCount::Fixed(1));
    s.backfills = vec![BackfillSpec {
        name: None,
        at: Some(secs(1.0)),
        table: 1,
        rows: 2_500,
        batch_size: 1_000,
        pause: SimDuration::from_millis(200),
        rate: 10_000,
        row_bytes: 100,
    }];
    assert_eq!(s.backfills[0].unhindered_finish(), secs(1.65));
    let mut db = Database::new(s);
    db.open_pool(PodId(0));
    let mut q = Q::default();
    db.schedule_start(&mut q);
    // Starting it again (a sequence of steps) changes nothing.
    db.start_backfill(0, secs(1.05), &mut q);
    let mut ends = Vec::new();
    while let Some((t, e)) = q.pop() {
        if t == secs(1.05) && matches!(e, DbEvent::BackfillStart(_)) {
            // Mid-batch, the backfill holds the only core: a query queues behind it.
            db.begin(call(0, 0, 1), VersionId(0), t, &mut q);
            assert_eq!(db.server.reserved, 1);
            assert_eq!(db.server.queue.len(), 1);
        }
        if let Some(end) = db.on_event(e, t, &mut q, |_| true) {
            ends.push(t);
            assert!(end.failed.is_none());
        }
    }
    let o = db.backfill_outcomes()[0];
    assert_eq!(o.requested, Some(secs(1.0)));
    assert_eq!(o.started, Some(secs(1.0)));
    assert_eq!(o.finished, Some(secs(1.65)));
    assert_eq!((o.batches, o.rows_done, o.lock_wait_us), (3, 2_500, 0));
    // The query got the core when the first batch committed at 1.1 s.
    assert!(ends[0] > secs(1.1) && ends[0] < secs(1.2), "{ends:?}");
    assert_eq!(db.server.reserved, 0);
}

#[test]
fn a_backfill_batch_waits_for_its_lock_behind_a_table_rewrite() {
    use super::backfill::BackfillSpec;
    use super::ddl::{DdlKind, DdlSpec};
    let mut s = spec(2, 4, QueryCount::Fixed(1));
    s.ddl = vec![DdlSpec {
        name: None,
        at: Some(secs(0.5)),
        table: 1,
        kind: DdlKind::AlterColumnType,
        duration: SimDuration::from_secs(2),
        lock_timeout: None,
        retries: 0,
        retry_after: SimDuration::from_secs(1),
        effect: None,
    }];
    s.backfills = vec![BackfillSpec {
        name: None,
        at: Some(secs(1.0)),
        table: 1,
        rows: 1_000,
        batch_size: 500,
        pause: SimDuration::ZERO,
        rate: 10_000,
        row_bytes: 100,
    }];
    let mut db = Database::new(s);
    let mut q = Q::default();
    db.schedule_start(&mut q);
    while let Some((t, e)) = q.pop() {
        db.on_event(e, t, &mut q, |_| true);
    }
    // ACCESS EXCLUSIVE from 0.5 to 2.5 s: the first batch (ROW EXCLUSIVE) waits 1.5 s.
    let o = db.backfill_outcomes()[0];
    assert_eq!(o.started, Some(secs(2.5)));
    assert_eq!(o.lock_wait_us, 1_500_000);
    assert_eq!(o.finished, Some(secs(2.6)));
    assert_eq!(db.ddl_outcomes()[0].finished, Some(secs(2.5)));
}

/// A rename of users.email commits at 10 ms: a request of the version reading it, sent at
/// 20 ms, fails `schema_error` at once (parse analysis: no core time) after taking its lock;
/// one sent before the rename succeeds, and `orders` (not renamed) is unaffected.
#[test]
fn a_query_naming_a_renamed_column_fails_schema_error_after_the_rename_commits() {
    use ddl::{DdlKind, DdlSpec};
    use schema::{Column, ColumnUse, SchemaEffect, SchemaSpec, VersionNeeds};
    let mut s = spec(4, 4, QueryCount::Fixed(1));
    let col = |n: &str| Column {
        name: n.into(),
        not_null: false,
    };
    s.schema = Some(SchemaSpec {
        tables: vec![Some(vec![col("id"), col("email")]), None],
        versions: vec![Some(VersionNeeds {
            reads: vec![ColumnUse {
                table: 0,
                column: "email".into(),
            }],
            writes: Vec::new(),
        })],
    });
    s.ddl = vec![DdlSpec {
        name: Some("rename".into()),
        at: Some(SimTime::ZERO + SimDuration::from_millis(5)),
        table: 0,
        kind: DdlKind::RenameColumn,
        duration: SimDuration::from_millis(5),
        lock_timeout: None,
        retries: 0,
        retry_after: SimDuration::from_secs(1),
        effect: Some(SchemaEffect::RenameColumn {
            table: 0,
            from: "email".into(),
            to: "email_address".into(),
        }),
    }];
    let v = VersionId(0);
    let probe = Database::new(s.clone());
    let on_users = (1..100).find(|l| probe.query(v, *l, 1).table == 0).unwrap();
    let on_orders = (1..100).find(|l| probe.query(v, *l, 1).table == 1).unwrap();
    let mut db = Database::new(s);
    db.open_pool(PodId(0));
    let mut q = Q::default();
    db.schedule_start(&mut q);
    db.begin(call(0, 0, on_users), v, SimTime::ZERO, &mut q);
    let before = drain(&mut db, &mut q);
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].1.failed, None, "before the rename");
    let t = SimTime::ZERO + SimDuration::from_millis(20);
    db.begin(call(0, 1, on_users), v, t, &mut q);
    db.begin(call(0, 2, on_orders), v, t, &mut q);
    let after = drain(&mut db, &mut q);
    let users = after.iter().find(|(_, e)| e.call.slot == 1).unwrap();
    assert_eq!(users.1.failed, Some(FailCause::SchemaError));
    assert_eq!(users.0, t, "no execution time");
    let orders = after.iter().find(|(_, e)| e.call.slot == 2).unwrap();
    assert_eq!(orders.1.failed, None, "another table is unaffected");
    assert_eq!(db.stats().schema_errors, 1);
    assert_eq!(
        db.schema().unwrap().columns(0).unwrap()[1].name,
        "email_address"
    );
}
