//! Long-running transactions and DDL steps, and the table locks every statement takes
//! (see [`super::locks`] for PostgreSQL's rules).
//!
//! * A **long-running transaction** (a report, a backup: `[[database.transactions]]`) requests
//!   its lock at `start` and holds it for `duration` from when it gets it. Its load on the
//!   server's cores is not modelled, only its lock.
//! * A **DDL step** (`[[database.ddl]]`) requests its lock at `at` (or when
//!   [`Database::start_ddl`] is called): the mode PostgreSQL takes for its kind, and its
//!   duration given or from the table's size (see [`super::kind`]: ACCESS EXCLUSIVE for
//!   `ALTER TABLE` forms, SHARE for `CREATE INDEX`, SHARE UPDATE EXCLUSIVE for `CREATE INDEX
//!   CONCURRENTLY` and `VALIDATE CONSTRAINT`). Once it holds the lock it occupies one server
//!   core for its duration (a rewrite, a scan, an index build are server work), then commits
//!   and releases. `CREATE INDEX CONCURRENTLY` scans the table twice
//!   (PostgreSQL docs, "Building Indexes Concurrently"), so its build takes twice `duration`
//!   (the plain build's time); its waits for older transactions between phases are not
//!   modelled.
//! * **`lock_timeout`** (PostgreSQL, default 0 = wait forever): a DDL still waiting that long
//!   is cancelled (`canceling statement due to lock timeout`, SQLSTATE 55P03), leaves the queue
//!   — releasing everyone queued behind it — and, as a migration tool's retry loop does, tries
//!   again `retry_after` later, up to `retries` times.
//! * A request's queries form **one transaction per request** (the connection it borrowed,
//!   as `@Transactional` / `ATOMIC_REQUESTS` web handlers do): each query takes its table's
//!   lock before it may have a core, and every lock is held until the request's last query
//!   ends. That is what makes a queued DDL hurt: a request holding a lock from an earlier
//!   query keeps the DDL waiting a little longer.
//! * `statement_timeout` counts the lock wait (PostgreSQL times the whole statement): a query
//!   waiting that long is cancelled in the queue and its request fails `db_timeout`.
//!
//! Not modelled: deadlock detection (`deadlock_timeout`): two DDL steps on different tables at
//! once could deadlock with requests holding both tables' locks; a DDL step's own connection
//! slot.

use super::backfill::BackfillOutcome;
use super::locks::{Holder, LockMode, LockWaiter, TableLock};
use super::{Database, DbEvent, FailCause, ModelEvent, PhaseEnd, Schedule};
use crate::engine::{SimDuration, SimTime};

/// A long-running transaction of the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct LongTxnSpec {
    /// The table (index into the declared tables).
    pub table: u16,
    /// Its lock (ACCESS SHARE for a report or `pg_dump`).
    pub mode: LockMode,
    /// When it requests its lock.
    pub start: SimTime,
    /// How long it holds it.
    pub duration: SimDuration,
}

pub use super::kind::DdlKind;

/// A DDL step of the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct DdlSpec {
    /// Its name (`[[steps]]` trigger a step by name).
    pub name: Option<String>,
    /// When it is first requested (`None`: when a `migrate` step reaches it).
    pub at: Option<SimTime>,
    /// The table.
    pub table: u16,
    /// What it does.
    pub kind: DdlKind,
    /// Its work once it holds the lock (for `CREATE INDEX CONCURRENTLY`, one scan's).
    pub duration: SimDuration,
    /// PostgreSQL `lock_timeout` (`None`: wait forever).
    pub lock_timeout: Option<SimDuration>,
    /// Attempts after the first one.
    pub retries: u32,
    /// Pause between a timed-out attempt and the next.
    pub retry_after: SimDuration,
    /// What it does to the schema when it commits (`super::schema`).
    pub effect: Option<super::schema::SchemaEffect>,
}

/// What became of a DDL step (`summary.json`'s `database.ddl[]`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DdlOutcome {
    /// When it was first requested.
    pub requested: Option<SimTime>,
    /// When it got its lock.
    pub acquired: Option<SimTime>,
    /// When it committed.
    pub finished: Option<SimTime>,
    /// Attempts made (1 + retries used).
    pub attempts: u32,
    /// Attempts cancelled by `lock_timeout`.
    pub lock_timeouts: u32,
}

/// The lock state of the whole database (present only when the scenario has long
/// transactions or DDL: reads and writes alone never conflict).
#[derive(Debug, Default)]
pub(super) struct Locks {
    pub tables: Vec<TableLock>,
    pub woken: Vec<LockWaiter>,
    pub ddl: Vec<DdlOutcome>,
    pub backfills: Vec<BackfillOutcome>,
    /// Requests' queries waiting for a lock now.
    pub waiting: u32,
    pub next_ticket: u32,
}

impl Locks {
    pub fn new(tables: usize, ddl: usize, backfills: usize) -> Self {
        Locks {
            tables: vec![TableLock::default(); tables],
            ddl: vec![DdlOutcome::default(); ddl],
            backfills: vec![BackfillOutcome::default(); backfills],
            ..Locks::default()
        }
    }
}

fn bit(table: u16) -> u64 {
    1u64 << table
}

impl Database {
    /// Schedules the scenario's long transactions, DDL steps and backfills (before the run).
    pub fn schedule_start(&self, sched: &mut dyn Schedule) {
        for (k, t) in self.spec.transactions.iter().enumerate() {
            sched.schedule(t.start, ModelEvent::Db(DbEvent::LongBegin(k as u16)));
        }
        for (k, d) in self.spec.ddl.iter().enumerate() {
            if let Some(at) = d.at {
                self.start_ddl(k as u16, at, sched);
            }
        }
        for (k, b) in self.spec.backfills.iter().enumerate() {
            if let Some(at) = b.at {
                self.start_backfill(k as u16, at, sched);
            }
        }
    }

    /// Starts DDL step `k` at `now` (what its `at` does; a `migrate` step calls it instead):
    /// its first attempt requests the lock at `now`. Starting one already started does
    /// nothing. Its course is in [`Database::ddl_outcomes`] (`finished` once committed).
    pub fn start_ddl(&self, k: u16, now: SimTime, sched: &mut dyn Schedule) {
        sched.schedule(now, ModelEvent::Db(DbEvent::DdlStart(k)));
    }

    /// A DDL step or a backfill batch gave its core back: queued queries take free cores.
    pub(super) fn give_back_core(&mut self, now: SimTime, sched: &mut dyn Schedule) {
        self.server.reserved -= 1;
        while let Some(n) = self.server.take_free() {
            self.run(n, now, sched);
        }
    }

    /// Each DDL step's outcome so far (empty without DDL).
    pub fn ddl_outcomes(&self) -> &[DdlOutcome] {
        self.locks.as_ref().map_or(&[], |l| &l.ddl)
    }

    /// Requests' queries waiting for a table lock now (`None` without locks to wait for).
    pub fn lock_waiting(&self) -> Option<u32> {
        self.locks.as_ref().map(|l| l.waiting)
    }

    /// Calls `f` with the pod of each request whose query waits for a table lock now.
    pub fn each_lock_waiter(&self, mut f: impl FnMut(super::PodId)) {
        if self.locks.as_ref().is_some_and(|l| l.waiting > 0) {
            for t in self.txns.iter().filter(|t| t.lock_waiting) {
                f(t.call.pod);
            }
        }
    }

    /// Transaction `i`'s current query takes its table's lock. `true`: it may go to a core.
    pub(super) fn lock_query(&mut self, i: u32, now: SimTime, sched: &mut dyn Schedule) -> bool {
        let Some(locks) = self.locks.as_mut() else {
            return true;
        };
        let t = &mut self.txns[i as usize];
        let (b, write) = (bit(t.q.table), t.q.write);
        if (write && t.writes_held & b != 0) || (!write && t.reads_held & b != 0) {
            return true;
        }
        let mode = if write {
            LockMode::RowExclusive
        } else {
            LockMode::AccessShare
        };
        let holds_any = (t.reads_held | t.writes_held) & b != 0;
        if locks.tables[t.q.table as usize].acquire(Holder::Txn(i), mode, now, holds_any) {
            if write {
                t.writes_held |= b;
            } else {
                t.reads_held |= b;
            }
            return true;
        }
        locks.waiting += 1;
        locks.next_ticket = locks.next_ticket.wrapping_add(1);
        t.lock_ticket = locks.next_ticket;
        t.lock_waiting = true;
        self.stats.blocked_queries += 1;
        if let Some(st) = self.spec.statement_timeout {
            let ticket = t.lock_ticket;
            let at = t.submitted + st;
            sched.schedule(at, ModelEvent::Db(DbEvent::LockTimeout { txn: i, ticket }));
        }
        false
    }

    /// Transaction `i` ends (commit, abort or a closed connection): its locks go.
    pub(super) fn release_locks(&mut self, i: u32, now: SimTime, sched: &mut dyn Schedule) {
        let Some(locks) = self.locks.as_mut() else {
            return;
        };
        let t = &mut self.txns[i as usize];
        let (reads, writes) = (t.reads_held, t.writes_held);
        t.reads_held = 0;
        t.writes_held = 0;
        for (mask, mode) in [
            (reads, LockMode::AccessShare),
            (writes, LockMode::RowExclusive),
        ] {
            let mut m = mask;
            while m != 0 {
                let table = m.trailing_zeros() as usize;
                m &= m - 1;
                locks.tables[table].release(mode, &mut locks.woken);
            }
        }
        self.grant_woken(now, sched);
    }

    /// Whoever a release or a cancellation unblocked proceeds, in queue order. (A grant never
    /// releases a lock, so nothing is woken meanwhile.)
    pub(super) fn grant_woken(&mut self, now: SimTime, sched: &mut dyn Schedule) {
        let Some(locks) = self.locks.as_mut() else {
            return;
        };
        if locks.woken.is_empty() {
            return;
        }
        let mut woken = std::mem::take(&mut locks.woken);
        for w in woken.drain(..) {
            match w.who {
                Holder::Txn(i) => {
                    let wait = now.saturating_since(w.since).as_micros();
                    self.stats.lock_wait_us += wait;
                    self.stats.max_lock_wait_us = self.stats.max_lock_wait_us.max(wait);
                    self.locks.as_mut().expect("locks").waiting -= 1;
                    let t = &mut self.txns[i as usize];
                    t.lock_waiting = false;
                    let b = bit(t.q.table);
                    if w.mode == LockMode::RowExclusive {
                        t.writes_held |= b;
                    } else {
                        t.reads_held |= b;
                    }
                    if self.server.submit(i) {
                        self.run(i, now, sched);
                    }
                }
                Holder::Long(k) => self.long_granted(k, now, sched),
                Holder::Ddl(k) => self.ddl_granted(k, now, sched),
                Holder::Backfill(k) => self.backfill_granted(k, now, sched),
            }
        }
        self.locks.as_mut().expect("locks").woken = woken;
    }

    fn long_granted(&mut self, k: u16, now: SimTime, sched: &mut dyn Schedule) {
        let d = self.spec.transactions[k as usize].duration;
        sched.schedule(now + d, ModelEvent::Db(DbEvent::LongEnd(k)));
    }

    fn ddl_granted(&mut self, k: u16, now: SimTime, sched: &mut dyn Schedule) {
        let d = &self.spec.ddl[k as usize];
        let work = d.kind.work(d.duration);
        self.locks.as_mut().expect("locks").ddl[k as usize].acquired = Some(now);
        self.server.reserved += 1;
        sched.schedule(now + work, ModelEvent::Db(DbEvent::DdlEnd(k)));
    }

    /// A lock event: long transactions and DDL steps beginning and ending, lock timeouts.
    pub(super) fn on_lock_event(
        &mut self,
        event: DbEvent,
        now: SimTime,
        sched: &mut dyn Schedule,
    ) -> Option<PhaseEnd> {
        let locks = self.locks.as_mut()?;
        match event {
            DbEvent::LongBegin(k) => {
                let t = &self.spec.transactions[k as usize];
                if locks.tables[t.table as usize].acquire(Holder::Long(k), t.mode, now, false) {
                    self.long_granted(k, now, sched);
                }
            }
            DbEvent::LongEnd(k) => {
                let t = &self.spec.transactions[k as usize];
                locks.tables[t.table as usize].release(t.mode, &mut locks.woken);
                self.grant_woken(now, sched);
            }
            DbEvent::DdlStart(k) => {
                if locks.ddl[k as usize].requested.is_none() {
                    return self.on_lock_event(DbEvent::DdlTry(k), now, sched);
                }
            }
            DbEvent::DdlTry(k) => {
                let d = &self.spec.ddl[k as usize];
                let o = &mut locks.ddl[k as usize];
                o.requested.get_or_insert(now);
                o.attempts += 1;
                let attempt = o.attempts;
                let (mode, timeout) = (d.kind.mode(), d.lock_timeout);
                if locks.tables[d.table as usize].acquire(Holder::Ddl(k), mode, now, false) {
                    self.ddl_granted(k, now, sched);
                } else if let Some(lt) = timeout {
                    let e = DbEvent::DdlLockTimeout { ddl: k, attempt };
                    sched.schedule(now + lt, ModelEvent::Db(e));
                }
            }
            DbEvent::DdlLockTimeout { ddl: k, attempt } => {
                let d = &self.spec.ddl[k as usize];
                let o = locks.ddl[k as usize];
                if o.acquired.is_some() || o.attempts != attempt {
                    return None;
                }
                let table = &mut locks.tables[d.table as usize];
                table.cancel(Holder::Ddl(k), &mut locks.woken)?;
                locks.ddl[k as usize].lock_timeouts += 1;
                if attempt <= d.retries {
                    sched.schedule(now + d.retry_after, ModelEvent::Db(DbEvent::DdlTry(k)));
                }
                self.grant_woken(now, sched);
            }
            DbEvent::DdlEnd(k) => {
                let d = &self.spec.ddl[k as usize];
                locks.ddl[k as usize].finished = Some(now);
                locks.tables[d.table as usize].release(d.kind.mode(), &mut locks.woken);
                // The catalog change is visible from the commit on.
                self.schema_commit(k);
                self.give_back_core(now, sched);
                self.grant_woken(now, sched);
            }
            DbEvent::LockTimeout { txn: i, ticket } => {
                let t = self.txns[i as usize];
                if !t.lock_waiting || t.lock_ticket != ticket {
                    return None;
                }
                let w =
                    locks.tables[t.q.table as usize].cancel(Holder::Txn(i), &mut locks.woken)?;
                locks.waiting -= 1;
                self.txns[i as usize].lock_waiting = false;
                let wait = now.saturating_since(w.since).as_micros();
                self.stats.lock_wait_us += wait;
                self.stats.max_lock_wait_us = self.stats.max_lock_wait_us.max(wait);
                self.stats.statement_timeouts += 1;
                self.grant_woken(now, sched);
                self.end_txn(i, now, sched);
                return Some(PhaseEnd {
                    call: t.call,
                    failed: Some(FailCause::DbTimeout),
                });
            }
            DbEvent::BackfillStart(_)
            | DbEvent::BackfillBatch(_)
            | DbEvent::BackfillBatchEnd(_) => self.on_backfill_event(event, now, sched),
            DbEvent::QueryDone(_) | DbEvent::PoolTimeout { .. } => {}
        }
        None
    }

    /// `pod`'s connections closed: its transactions waiting for a lock leave the queues (a
    /// closed backend aborts its transaction) and release their locks.
    pub(super) fn abort_lock_waiters(
        &mut self,
        pod: super::PodId,
        now: SimTime,
        sched: &mut dyn Schedule,
    ) {
        if self.locks.is_none() {
            return;
        }
        for i in 0..self.txns.len() as u32 {
            let t = self.txns[i as usize];
            if !t.lock_waiting || t.call.pod != pod {
                continue;
            }
            let locks = self.locks.as_mut().expect("locks");
            locks.tables[t.q.table as usize].cancel(Holder::Txn(i), &mut locks.woken);
            locks.waiting -= 1;
            self.txns[i as usize].lock_waiting = false;
            self.release_locks(i, now, sched);
            self.free_txns.push(i);
        }
    }
}
