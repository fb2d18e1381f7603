//! Backfills: a background job that fills a new column in batches (`[[database.backfills]]`),
//! the online alternative to a table rewrite (`../shared/reference/state.md` §1.9: expand,
//! migrate the data, contract; pgroll's and GitLab's batched background migrations).
//!
//! Each batch is one short write transaction, `UPDATE t SET new = … WHERE id BETWEEN …`: it
//! takes ROW EXCLUSIVE on the table — like any request's write, so it blocks no read and no
//! write (PostgreSQL "Explicit Locking", Table 13.2), and waits only behind a lock that blocks
//! writes (a rewrite, a plain `CREATE INDEX`) — then its backend works for
//! `batch rows / backfill_rate` on one server core, and commits. Between batches the job
//! sleeps `pause`, the throttle such jobs use to leave room for the application.
//!
//! The batch's backend takes its core at once, as the operating system gives a new runnable
//! process its share: requests then have one core fewer for the batch's duration, which is the
//! backfill's whole cost to them (its "own load"). Row-level locks (a request updating a row of
//! the current batch waits for the batch's commit) are not modelled.

use super::kind::at_rate_sized;
use super::locks::{Holder, LockMode};
use super::{Database, DbEvent, ModelEvent, Schedule};
use crate::engine::{SimDuration, SimTime};

/// A backfill of the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct BackfillSpec {
    /// Its name, for a `backfill = "<name>"` step to run it.
    pub name: Option<String>,
    /// When its first batch is requested (`None`: when a `backfill` step starts it).
    pub at: Option<SimTime>,
    /// The table (index into the declared tables).
    pub table: u16,
    /// Rows to update in all.
    pub rows: u64,
    /// Rows per batch (at least 1).
    pub batch_size: u64,
    /// Sleep between one batch's commit and the next batch.
    pub pause: SimDuration,
    /// Rows per second one batch's backend updates (rows of `REFERENCE_ROW_BYTES`).
    pub rate: u64,
    /// The table's average row width, bytes (its `row_bytes`).
    pub row_bytes: u64,
}

impl BackfillSpec {
    /// Batches in all: ⌈rows / batch_size⌉.
    pub fn batches(&self) -> u64 {
        self.rows.div_ceil(self.batch_size.max(1))
    }

    /// A batch of `rows` rows: its backend's work.
    pub fn batch_time(&self, rows: u64) -> SimDuration {
        at_rate_sized(rows, self.row_bytes, self.rate)
    }

    /// Rows of the batch that begins after `done` rows.
    pub fn batch_rows(&self, done: u64) -> u64 {
        self.batch_size.min(self.rows.saturating_sub(done))
    }

    /// How long it takes if no batch ever waits for a lock: each batch's work + a pause
    /// between consecutive batches.
    pub fn unhindered_duration(&self) -> SimDuration {
        let n = self.batches();
        if n == 0 {
            return SimDuration::ZERO;
        }
        let full = self.rows / self.batch_size.max(1);
        let last = self.rows - full * self.batch_size;
        let work_us =
            full * self.batch_time(self.batch_size).as_micros() + self.batch_time(last).as_micros();
        SimDuration::from_micros(work_us + (n - 1) * self.pause.as_micros())
    }

    /// When it would finish if no batch ever waited for a lock, started at its `at` (at 0
    /// if a step starts it: add the step's start instead).
    pub fn unhindered_finish(&self) -> SimTime {
        self.at.unwrap_or(SimTime::ZERO) + self.unhindered_duration()
    }
}

/// What became of a backfill (`summary.json`'s `database.backfills[]`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct BackfillOutcome {
    /// When its first batch was requested.
    pub requested: Option<SimTime>,
    /// When its first batch got its lock and began.
    pub started: Option<SimTime>,
    /// When its last batch committed.
    pub finished: Option<SimTime>,
    /// Batches committed.
    pub batches: u64,
    /// Rows updated.
    pub rows_done: u64,
    /// Microseconds its batches waited for their table lock, summed.
    pub lock_wait_us: u64,
    /// When the current batch requested its lock.
    since: Option<SimTime>,
}

impl Database {
    /// Each backfill's outcome so far (empty without backfills).
    pub fn backfill_outcomes(&self) -> &[BackfillOutcome] {
        self.locks.as_ref().map_or(&[], |l| &l.backfills)
    }

    /// Starts backfill `k` at `now` (what its `at` does; a sequence of steps may call it
    /// instead). Its first batch requests its lock at `now`.
    /// Starting one already started does nothing.
    pub fn start_backfill(&self, k: u16, now: SimTime, sched: &mut dyn Schedule) {
        sched.schedule(now, ModelEvent::Db(DbEvent::BackfillStart(k)));
    }

    /// A backfill event: a batch requests its lock, or commits.
    pub(super) fn on_backfill_event(
        &mut self,
        event: DbEvent,
        now: SimTime,
        sched: &mut dyn Schedule,
    ) {
        let Some(locks) = self.locks.as_mut() else {
            return;
        };
        match event {
            DbEvent::BackfillStart(k) => {
                let o = &mut locks.backfills[k as usize];
                if o.requested.is_some() {
                    return;
                }
                o.requested = Some(now);
                if self.spec.backfills[k as usize].rows == 0 {
                    o.finished = Some(now);
                    return;
                }
                self.on_backfill_event(DbEvent::BackfillBatch(k), now, sched);
            }
            DbEvent::BackfillBatch(k) => {
                let b = &self.spec.backfills[k as usize];
                let o = &mut locks.backfills[k as usize];
                o.since = Some(now);
                let mode = LockMode::RowExclusive;
                if locks.tables[b.table as usize].acquire(Holder::Backfill(k), mode, now, false) {
                    self.backfill_granted(k, now, sched);
                }
            }
            DbEvent::BackfillBatchEnd(k) => {
                let b = &self.spec.backfills[k as usize];
                let o = &mut locks.backfills[k as usize];
                o.rows_done += b.batch_rows(o.rows_done);
                o.batches += 1;
                let done = o.rows_done >= b.rows;
                if done {
                    o.finished = Some(now);
                } else {
                    let next = now + b.pause;
                    sched.schedule(next, ModelEvent::Db(DbEvent::BackfillBatch(k)));
                }
                let table = &mut locks.tables[b.table as usize];
                table.release(LockMode::RowExclusive, &mut locks.woken);
                self.give_back_core(now, sched);
                self.grant_woken(now, sched);
            }
            _ => {}
        }
    }

    /// Backfill `k`'s current batch holds its lock: its backend takes a core for the batch.
    pub(super) fn backfill_granted(&mut self, k: u16, now: SimTime, sched: &mut dyn Schedule) {
        let b = &self.spec.backfills[k as usize];
        let locks = self.locks.as_mut().expect("locks");
        let o = &mut locks.backfills[k as usize];
        o.started.get_or_insert(now);
        if let Some(since) = o.since.take() {
            o.lock_wait_us += now.saturating_since(since).as_micros();
        }
        let work = b.batch_time(b.batch_rows(o.rows_done));
        self.server.reserved += 1;
        sched.schedule(now + work, ModelEvent::Db(DbEvent::BackfillBatchEnd(k)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rows: u64, batch_size: u64, pause_ms: u64) -> BackfillSpec {
        BackfillSpec {
            name: None,
            at: Some(SimTime::ZERO + SimDuration::from_secs(10)),
            table: 0,
            rows,
            batch_size,
            pause: SimDuration::from_millis(pause_ms),
            rate: 20_000,
            row_bytes: 100,
        }
    }

    #[test]
    fn batches_cover_the_rows_and_the_last_one_is_short() {
        let b = spec(10_500, 1_000, 100);
        assert_eq!(b.batches(), 11);
        assert_eq!(b.batch_rows(0), 1_000);
        assert_eq!(b.batch_rows(10_000), 500);
        assert_eq!(b.batch_rows(10_500), 0);
        // 10 × 50 ms + 25 ms of work, 10 pauses of 100 ms, from 10 s.
        assert_eq!(
            b.unhindered_finish(),
            SimTime::ZERO + SimDuration::from_micros(10_000_000 + 525_000 + 1_000_000)
        );
    }

    #[test]
    fn an_empty_backfill_finishes_where_it_starts() {
        let b = spec(0, 1_000, 100);
        assert_eq!(b.batches(), 0);
        assert_eq!(Some(b.unhindered_finish()), b.at);
    }

    #[test]
    fn wider_rows_make_slower_batches() {
        let b = BackfillSpec {
            row_bytes: 300,
            ..spec(2_000, 1_000, 0)
        };
        // 1,000 rows of 300 bytes at 20,000 rows of 100 bytes per second: 150 ms.
        assert_eq!(b.batch_time(1_000), SimDuration::from_millis(150));
        assert_eq!(
            b.unhindered_finish(),
            SimTime::ZERO + SimDuration::from_millis(10_300)
        );
    }
}
