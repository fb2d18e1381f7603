//! The database: one PostgreSQL-like server that requests reach through their pod's
//! connection pool. It is a stateful hop on the dependency seam (`model::dependency`): a
//! request's database phase borrows a connection from its pod's pool ([`pool`]), runs its
//! queries one after another on the server's cores ([`server`]), and gives the connection
//! back. The sources for every rule are in `../shared/reference/state.md` §1.5, §1.8 and §2.
//!
//! * **Connection slots** (PostgreSQL `max_connections`, default 100, minus
//!   `superuser_reserved_connections`, default 3: ordinary roles get 97). A connection beyond
//!   that is refused at start-up (`FATAL: sorry, too many clients already`, SQLSTATE 53300),
//!   counted in `connection_errors`.
//! * **Fixed-size pools** (HikariCP `minimumIdle` = `maximumPoolSize`): a pod opens `pool_size`
//!   connections when its application starts and holds them until its process ends —
//!   terminating pods included — so surge pods, pods draining through their grace period and a
//!   blue-green double fleet all hold slots at once (§2.3, the classic incident:
//!   `(replicas + surge + terminating) × pool ≤ max_connections − reserved`).
//! * A pool short of connections keeps trying (HikariCP's `fillPool`); here it gets the next
//!   slot the moment one frees, first come first served (the real back-off, 250 ms × 1.5 up to
//!   10 s, is not modelled).
//! * A pod whose pool got **no** connection fails as configured: `fail_readiness` (its
//!   readiness probe fails, as a health check that borrows a connection does) or
//!   `fail_requests` (it serves, and each request fails `db_connections_exhausted` at once).
//! * A request waits first-in first-out for a connection up to `connection_timeout` (HikariCP
//!   `connectionTimeout`, 30 s), then fails `db_timeout`.
//! * Queries: a number per request (a distribution per version), each a read or a write on one
//!   declared table, with its own service time, executed on `cores` parallel cores with a FIFO
//!   run queue. `statement_timeout` (0 = off by default in PostgreSQL) cancels a statement that
//!   has been at the server longer, timed from its arrival there (§1.5); the request fails
//!   `db_timeout`. A statement still waiting for a core when its deadline passes is cancelled
//!   when a core reaches it, taking no time.
//!
//! Draws come from the request's luck mixed with a constant of this module, never from a
//! shared stream, so the same request makes the same queries whichever pod sends it and a run
//! without a database draws exactly what it did before.

pub mod backfill;
pub mod ddl;
pub mod kind;
pub mod locks;
pub mod pool;
pub mod schema;
pub mod server;
mod spec;

pub use spec::{DatabaseSpec, OnExhausted, QueryCount, TableShare, Workload};

use std::collections::VecDeque;

use super::dependency::Call;
use super::ids::{PodId, VersionId};
use super::{FailCause, ModelEvent, Schedule};
use crate::engine::{RngStream, SimDuration, SimTime};
use ddl::Locks;
use pool::{Pool, Waiter};
use schema::Schema;
use server::Server;

/// The database's timed events.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DbEvent {
    /// The query of transaction `txn` leaves its core (finished or cancelled).
    QueryDone(u32),
    /// A request waiting in `pod`'s pool reaches `connection_timeout`.
    PoolTimeout {
        /// The pod.
        pod: PodId,
        /// The wait.
        ticket: u32,
    },
    /// `statement_timeout` reaches a query of transaction `txn` still waiting for a lock.
    LockTimeout {
        /// The transaction.
        txn: u32,
        /// Its lock wait.
        ticket: u32,
    },
    /// A long-running transaction requests its lock.
    LongBegin(u16),
    /// A long-running transaction ends.
    LongEnd(u16),
    /// A DDL step is started (its `at`, or a sequence of steps); nothing if it already was.
    DdlStart(u16),
    /// A DDL step requests its lock (first attempt or a retry).
    DdlTry(u16),
    /// A DDL step's `lock_timeout` passes for its `attempt`-th attempt.
    DdlLockTimeout {
        /// The step.
        ddl: u16,
        /// The attempt (from 1).
        attempt: u32,
    },
    /// A DDL step commits and releases its lock.
    DdlEnd(u16),
    /// A backfill is started; nothing if it already was.
    BackfillStart(u16),
    /// A backfill's next batch requests its lock.
    BackfillBatch(u16),
    /// A backfill's current batch commits.
    BackfillBatchEnd(u16),
}

/// One query, as drawn.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The table.
    pub table: u16,
    /// A write (else a read).
    pub write: bool,
    /// Execution time on a core.
    pub duration: SimDuration,
}

/// A request's transaction: it holds one connection of its pod's pool.
#[derive(Copy, Clone, Debug)]
struct Txn {
    call: Call,
    variant: VersionId,
    /// Queries still to finish, the current one included.
    left: u32,
    /// Queries made so far.
    made: u32,
    /// When the current query reached the server.
    submitted: SimTime,
    /// The current query is cancelled by `statement_timeout`.
    cancelled: bool,
    /// The current query fails: its version does not fit the schema (`schema`).
    schema_failed: bool,
    /// The current query, as drawn when it was submitted.
    q: Query,
    /// Tables it holds ACCESS SHARE on (bit per table; with locks only).
    reads_held: u64,
    /// Tables it holds ROW EXCLUSIVE on.
    writes_held: u64,
    /// Its current query waits for a table lock.
    lock_waiting: bool,
    /// Identifies that wait.
    lock_ticket: u32,
}

/// Running totals, for `summary.json` and conservation checks.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseStats {
    /// Queries that reached a core (cancelled ones included).
    pub queries: u64,
    /// Of which writes.
    pub writes: u64,
    /// Connections refused because no ordinary slot was free.
    pub connection_errors: u64,
    /// Most connections open at once.
    pub peak_connections: u32,
    /// Requests that gave up waiting for a pool connection.
    pub pool_timeouts: u64,
    /// Statements cancelled by `statement_timeout`.
    pub statement_timeouts: u64,
    /// Requests failed at once by a pool with no connection (`fail_requests`).
    pub exhausted: u64,
    /// Transactions begun (a connection borrowed).
    pub transactions: u64,
    /// Requests' queries that waited for a table lock.
    pub blocked_queries: u64,
    /// Their total wait, microseconds.
    pub lock_wait_us: u64,
    /// The longest one, microseconds.
    pub max_lock_wait_us: u64,
    /// Queries that failed because their version did not fit the schema (`schema_error`).
    pub schema_errors: u64,
}

/// How a request's database phase begins.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Begin {
    /// It holds a connection; its queries run.
    Running,
    /// It waits for a connection.
    Waiting,
    /// It fails at once.
    Failed(FailCause),
}

/// A request's database phase ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PhaseEnd {
    /// The request.
    pub call: Call,
    /// Why it failed, if it did.
    pub failed: Option<FailCause>,
}

// Mixed into a request's luck for its database draws (not the dependency seam's constant).
const SALT: u64 = 0xD1B5_4A32_D192_ED03;

/// The server, the pools and the transactions in flight.
#[derive(Debug)]
pub struct Database {
    spec: DatabaseSpec,
    pools: Vec<Pool>,
    txns: Vec<Txn>,
    free_txns: Vec<u32>,
    server: Server,
    open: u32,
    short: VecDeque<PodId>,
    next_ticket: u32,
    stats: DatabaseStats,
    locks: Option<Locks>,
    schema: Option<Schema>,
}

impl Database {
    /// A server with no connection open.
    pub fn new(spec: DatabaseSpec) -> Self {
        Database {
            server: Server::new(spec.cores),
            locks: (!spec.ddl.is_empty()
                || !spec.transactions.is_empty()
                || !spec.backfills.is_empty())
            .then(|| Locks::new(spec.tables.len(), spec.ddl.len(), spec.backfills.len())),
            schema: spec.schema.as_ref().map(Schema::new),
            spec,
            pools: Vec::new(),
            txns: Vec::new(),
            free_txns: Vec::new(),
            open: 0,
            short: VecDeque::new(),
            next_ticket: 0,
            stats: DatabaseStats::default(),
        }
    }

    /// Its configuration.
    pub fn spec(&self) -> &DatabaseSpec {
        &self.spec
    }

    /// Totals so far.
    pub fn stats(&self) -> DatabaseStats {
        self.stats
    }

    /// Connections open now (server backends of ordinary roles).
    pub fn open_connections(&self) -> u32 {
        self.open
    }

    /// Connections `pod`'s pool holds.
    pub fn held(&self, pod: PodId) -> u32 {
        self.pools.get(pod.index()).map_or(0, |p| p.held)
    }

    /// Whether `variant`'s requests query the database.
    pub fn used_by(&self, variant: VersionId) -> bool {
        self.spec
            .workloads
            .get(variant.index())
            .is_some_and(|w| !w.queries.is_zero())
    }

    fn pool(&mut self, pod: PodId) -> &mut Pool {
        if self.pools.len() <= pod.index() {
            self.pools.resize_with(pod.index() + 1, Pool::default);
        }
        &mut self.pools[pod.index()]
    }

    /// `pod`'s application starts: its pool opens `pool_size` connections, as many as the
    /// server's free ordinary slots allow; each refused one is a connection error. Returns how
    /// many it got.
    pub fn open_pool(&mut self, pod: PodId) -> u32 {
        let want = self.spec.pool_size;
        let got = want.min(self.spec.usable().saturating_sub(self.open));
        let p = self.pool(pod);
        if p.open {
            return p.held;
        }
        p.open = true;
        p.held = got;
        p.idle = got;
        self.open += got;
        self.stats.peak_connections = self.stats.peak_connections.max(self.open);
        self.stats.connection_errors += u64::from(want - got);
        if got < want {
            self.short.push_back(pod);
        }
        got
    }

    /// `pod`'s process ends: its connections close (its waiters and requests are gone with
    /// it), and pools short of connections take the freed slots, oldest first.
    pub fn close_pool(&mut self, pod: PodId, now: SimTime, sched: &mut dyn Schedule) {
        let Some(p) = self.pools.get_mut(pod.index()).filter(|p| p.open) else {
            return;
        };
        self.open -= p.close();
        self.abort_lock_waiters(pod, now, sched);
        self.refill(now, sched);
    }

    fn refill(&mut self, now: SimTime, sched: &mut dyn Schedule) {
        while self.open < self.spec.usable() {
            let Some(&pod) = self.short.front() else {
                return;
            };
            let size = self.spec.pool_size;
            let p = &mut self.pools[pod.index()];
            if !p.open || p.held >= size {
                self.short.pop_front();
                continue;
            }
            p.held += 1;
            self.open += 1;
            self.stats.peak_connections = self.stats.peak_connections.max(self.open);
            match p.waiters.pop_front() {
                Some(w) => self.start_txn(w.call, w.variant, now, sched),
                None => p.idle += 1,
            }
        }
    }

    /// A request's database phase begins at `now`.
    pub fn begin(
        &mut self,
        call: Call,
        variant: VersionId,
        now: SimTime,
        sched: &mut dyn Schedule,
    ) -> Begin {
        let on_exhausted = self.spec.on_exhausted;
        let ticket = self.next_ticket;
        let p = self.pool(call.pod);
        if p.held == 0 && on_exhausted == OnExhausted::FailRequests {
            self.stats.exhausted += 1;
            return Begin::Failed(FailCause::DbConnectionsExhausted);
        }
        if p.borrow() {
            self.start_txn(call, variant, now, sched);
            return Begin::Running;
        }
        p.waiters.push_back(Waiter {
            call,
            variant,
            ticket,
        });
        self.next_ticket = ticket.wrapping_add(1);
        let pod = call.pod;
        let at = now + self.spec.connection_timeout;
        sched.schedule(at, ModelEvent::Db(DbEvent::PoolTimeout { pod, ticket }));
        Begin::Waiting
    }

    /// A request's luck mixed for its `k`-th database draw.
    fn draws(luck: u64, k: u32) -> RngStream {
        RngStream::from_seed_u64(luck ^ SALT.wrapping_mul(u64::from(k) + 1))
    }

    /// The `k`-th query (from 1) a request of `variant` with `luck` makes.
    pub fn query(&self, variant: VersionId, luck: u64, k: u32) -> Query {
        let w = &self.spec.workloads[variant.index()];
        let mut rng = Self::draws(luck, k);
        let u = rng.uniform();
        // Validation gives every querying version a table; an empty mix reads table 0.
        let (table, writes) = w
            .tables
            .iter()
            .find(|t| u < t.cumulative)
            .or(w.tables.last())
            .map_or((0, 0.0), |t| (t.table, t.writes));
        let write = rng.uniform() < writes;
        let dist = if write {
            &self.spec.write_time
        } else {
            &self.spec.read_time
        };
        Query {
            table,
            write,
            duration: dist.sample(&mut rng),
        }
    }

    /// How many queries a request of `variant` with `luck` makes.
    pub fn query_count(&self, variant: VersionId, luck: u64) -> u32 {
        match self.spec.workloads[variant.index()].queries {
            QueryCount::Fixed(n) => n,
            QueryCount::Uniform { min, max } => {
                let span = (max - min + 1) as usize;
                min + Self::draws(luck, 0).index(span) as u32
            }
        }
    }

    fn start_txn(
        &mut self,
        call: Call,
        variant: VersionId,
        now: SimTime,
        sched: &mut dyn Schedule,
    ) {
        self.stats.transactions += 1;
        let txn = Txn {
            call,
            variant,
            left: self.query_count(variant, call.luck).max(1),
            made: 0,
            submitted: now,
            cancelled: false,
            schema_failed: false,
            q: Query {
                table: 0,
                write: false,
                duration: SimDuration::ZERO,
            },
            reads_held: 0,
            writes_held: 0,
            lock_waiting: false,
            lock_ticket: 0,
        };
        let i = match self.free_txns.pop() {
            Some(i) => {
                self.txns[i as usize] = txn;
                i
            }
            None => {
                self.txns.push(txn);
                (self.txns.len() - 1) as u32
            }
        };
        self.submit(i, now, sched);
    }

    fn submit(&mut self, i: u32, now: SimTime, sched: &mut dyn Schedule) {
        let t = &mut self.txns[i as usize];
        t.submitted = now;
        t.made += 1;
        let (variant, luck, k) = (t.variant, t.call.luck, t.made);
        self.txns[i as usize].q = self.query(variant, luck, k);
        if !self.lock_query(i, now, sched) {
            return;
        }
        if self.server.submit(i) {
            self.run(i, now, sched);
        }
    }

    /// A core takes the current query of transaction `i`.
    fn run(&mut self, i: u32, now: SimTime, sched: &mut dyn Schedule) {
        let t = self.txns[i as usize];
        let q = t.q;
        self.stats.queries += 1;
        self.stats.writes += u64::from(q.write);
        // A statement that does not fit the schema fails in parse analysis: no execution time.
        let schema_failed = self
            .schema
            .as_ref()
            .is_some_and(|s| s.fails(t.variant.index(), q.table, q.write));
        self.txns[i as usize].schema_failed = schema_failed;
        let mut end = if schema_failed { now } else { now + q.duration };
        let mut cancelled = false;
        if let Some(st) = self.spec.statement_timeout.filter(|_| !schema_failed) {
            let deadline = t.submitted + st;
            if end > deadline {
                end = deadline.max(now);
                cancelled = true;
            }
        }
        self.txns[i as usize].cancelled = cancelled;
        sched.schedule(end, ModelEvent::Db(DbEvent::QueryDone(i)));
    }

    /// Handles a timed event; `alive` says whether a call's request is still held by its pod.
    /// Returns the request whose database phase ended, if one did.
    pub fn on_event(
        &mut self,
        event: DbEvent,
        now: SimTime,
        sched: &mut dyn Schedule,
        alive: impl Fn(&Call) -> bool,
    ) -> Option<PhaseEnd> {
        match event {
            DbEvent::PoolTimeout { pod, ticket } => {
                let w = self.pools.get_mut(pod.index())?.time_out(ticket)?;
                self.stats.pool_timeouts += 1;
                Some(PhaseEnd {
                    call: w.call,
                    failed: Some(FailCause::DbTimeout),
                })
            }
            DbEvent::QueryDone(i) => {
                // The core goes to the next queued query whose request still waits.
                let mut next = self.server.release();
                while let Some(n) = next {
                    if alive(&self.txns[n as usize].call) {
                        self.run(n, now, sched);
                        break;
                    }
                    // Its pod ended: the backend's transaction aborts, its locks go.
                    self.release_locks(n, now, sched);
                    self.free_txns.push(n);
                    next = self.server.release();
                }
                let t = self.txns[i as usize];
                if !alive(&t.call) {
                    // Its pod ended: the connection closed with the pool.
                    self.release_locks(i, now, sched);
                    self.free_txns.push(i);
                    return None;
                }
                if t.schema_failed {
                    self.stats.schema_errors += 1;
                    self.end_txn(i, now, sched);
                    return Some(PhaseEnd {
                        call: t.call,
                        failed: Some(FailCause::SchemaError),
                    });
                }
                if t.cancelled {
                    self.stats.statement_timeouts += 1;
                    self.end_txn(i, now, sched);
                    return Some(PhaseEnd {
                        call: t.call,
                        failed: Some(FailCause::DbTimeout),
                    });
                }
                if t.left > 1 {
                    self.txns[i as usize].left -= 1;
                    self.submit(i, now, sched);
                    return None;
                }
                self.end_txn(i, now, sched);
                Some(PhaseEnd {
                    call: t.call,
                    failed: None,
                })
            }
            _ => self.on_lock_event(event, now, sched),
        }
    }

    /// Transaction `i` ends: its connection goes to the pool's oldest waiter, or back idle.
    fn end_txn(&mut self, i: u32, now: SimTime, sched: &mut dyn Schedule) {
        self.release_locks(i, now, sched);
        self.free_txns.push(i);
        let pod = self.txns[i as usize].call.pod;
        let p = &mut self.pools[pod.index()];
        match p.waiters.pop_front() {
            Some(w) => self.start_txn(w.call, w.variant, now, sched),
            None => p.idle += 1,
        }
    }
}

#[cfg(test)]
mod tests;
