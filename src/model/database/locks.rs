//! Table-level locks as PostgreSQL takes them (`../shared/reference/state.md` §1.2–1.4).
//!
//! * **Modes and conflicts**: the eight table lock modes and their conflict matrix, PostgreSQL
//!   docs "Explicit Locking", Table 13.2 "Conflicting Lock Modes" (the bitmasks of `LockConflicts`
//!   in `src/backend/storage/lmgr/lock.c`). A `SELECT` takes ACCESS SHARE, an
//!   `INSERT`/`UPDATE`/`DELETE` ROW EXCLUSIVE, `CREATE INDEX` SHARE (blocks writes, not reads),
//!   `CREATE INDEX CONCURRENTLY` SHARE UPDATE EXCLUSIVE (blocks neither), most forms of
//!   `ALTER TABLE` ACCESS EXCLUSIVE (blocks everything, reads included).
//! * **The wait queue** is first-in first-out, and a new request must not conflict with the
//!   locks held **nor with the requests already waiting** (lock.c `LockAcquireExtended`: a
//!   request whose mode conflicts with the lock's `waitMask` sleeps). So an ALTER TABLE
//!   waiting for ACCESS EXCLUSIVE behind a long-running reader makes every later query on the
//!   table queue behind it: an 8 ms DDL becomes an outage lasting as long as the reader.
//! * **Wake-up** (proc.c `ProcLockWakeup`): when a lock is released the queue is walked in
//!   order; a waiter is granted if its mode conflicts neither with the granted locks nor with
//!   the waiters still ahead of it.
//! * A transaction that already holds a lock on the table is not made to wait behind waiters
//!   for another, compatible mode (proc.c `ProcSleep` puts such a request ahead of the waiters
//!   its held locks would block, avoiding a needless deadlock); here it is granted at once when
//!   no *held* lock conflicts.
//!
//! Locks are held until the holder's transaction ends (PostgreSQL releases table locks only
//! at commit or abort).

use std::collections::VecDeque;

use crate::engine::SimTime;

/// A table lock mode, weakest first (PostgreSQL's `AccessShareLock` = 1 … `AccessExclusiveLock`
/// = 8, here 0 … 7).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockMode {
    /// `SELECT`.
    AccessShare,
    /// `SELECT … FOR UPDATE / FOR SHARE`.
    RowShare,
    /// `INSERT`, `UPDATE`, `DELETE`, `MERGE`.
    RowExclusive,
    /// `VACUUM`, `ANALYZE`, `CREATE INDEX CONCURRENTLY`, some `ALTER TABLE` forms.
    ShareUpdateExclusive,
    /// `CREATE INDEX` (without `CONCURRENTLY`).
    Share,
    /// `CREATE TRIGGER`, some `ALTER TABLE` forms.
    ShareRowExclusive,
    /// `REFRESH MATERIALIZED VIEW CONCURRENTLY`.
    Exclusive,
    /// `DROP TABLE`, `TRUNCATE`, `VACUUM FULL`, most `ALTER TABLE` forms, `LOCK TABLE`.
    AccessExclusive,
}

use LockMode::*;

impl LockMode {
    /// Every mode, weakest first.
    pub const ALL: [LockMode; 8] = [
        AccessShare,
        RowShare,
        RowExclusive,
        ShareUpdateExclusive,
        Share,
        ShareRowExclusive,
        Exclusive,
        AccessExclusive,
    ];

    /// Its name in the scenario file and in PostgreSQL's docs (`pg_locks.mode` without "Lock").
    pub fn as_str(self) -> &'static str {
        match self {
            AccessShare => "access_share",
            RowShare => "row_share",
            RowExclusive => "row_exclusive",
            ShareUpdateExclusive => "share_update_exclusive",
            Share => "share",
            ShareRowExclusive => "share_row_exclusive",
            Exclusive => "exclusive",
            AccessExclusive => "access_exclusive",
        }
    }

    /// Parses a scenario file's name (as [`LockMode::as_str`]; spaces allowed for underscores,
    /// any case, as the docs write "ACCESS SHARE").
    pub fn parse(s: &str) -> Option<LockMode> {
        let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        LockMode::ALL.into_iter().find(|m| m.as_str() == norm)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }

    /// The modes this one conflicts with, as a bitmask over [`LockMode::ALL`]: Table 13.2 of
    /// the PostgreSQL docs, `LockConflicts[]` in lock.c.
    pub fn conflicts(self) -> u8 {
        let m = |ms: &[LockMode]| ms.iter().fold(0u8, |a, m| a | m.bit());
        match self {
            AccessShare => m(&[AccessExclusive]),
            RowShare => m(&[Exclusive, AccessExclusive]),
            RowExclusive => m(&[Share, ShareRowExclusive, Exclusive, AccessExclusive]),
            ShareUpdateExclusive => m(&[
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            Share => m(&[
                RowExclusive,
                ShareUpdateExclusive,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            ShareRowExclusive => m(&[
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            Exclusive => m(&[
                RowShare,
                RowExclusive,
                ShareUpdateExclusive,
                Share,
                ShareRowExclusive,
                Exclusive,
                AccessExclusive,
            ]),
            AccessExclusive => 0xFF,
        }
    }

    /// Whether a lock in this mode conflicts with one in `other`.
    pub fn conflicts_with(self, other: LockMode) -> bool {
        self.conflicts() & other.bit() != 0
    }
}

/// Who holds or waits for a lock.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// A request's transaction (its index in the database's transactions).
    Txn(u32),
    /// A long-running transaction of the scenario (a report, a backup).
    Long(u16),
    /// A DDL step of the scenario.
    Ddl(u16),
    /// The current batch of a backfill of the scenario.
    Backfill(u16),
}

/// A waiting request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LockWaiter {
    /// Who waits.
    pub who: Holder,
    /// For which mode.
    pub mode: LockMode,
    /// Since when.
    pub since: SimTime,
}

/// One table's lock: the modes granted (with counts) and the FIFO wait queue.
#[derive(Clone, Debug, Default)]
pub struct TableLock {
    held: [u32; 8],
    granted: u8,
    queue: VecDeque<LockWaiter>,
}

impl TableLock {
    /// Requests `mode` for `who` at `now`; `holds_any`: `who` already holds a lock on this
    /// table. `true`: granted now; `false`: it waits at the back of the queue.
    pub fn acquire(&mut self, who: Holder, mode: LockMode, now: SimTime, holds_any: bool) -> bool {
        let c = mode.conflicts();
        let blocked_by_waiters = !holds_any && c & self.waiting_mask() != 0;
        if c & self.granted == 0 && !blocked_by_waiters {
            self.grant(mode);
            return true;
        }
        self.queue.push_back(LockWaiter {
            who,
            mode,
            since: now,
        });
        false
    }

    fn waiting_mask(&self) -> u8 {
        self.queue.iter().fold(0, |a, w| a | w.mode.bit())
    }

    fn grant(&mut self, mode: LockMode) {
        self.held[mode as usize] += 1;
        self.granted |= mode.bit();
    }

    /// Releases one lock in `mode`, then grants waiters that may now run, appending them to
    /// `woken` in queue order.
    pub fn release(&mut self, mode: LockMode, woken: &mut Vec<LockWaiter>) {
        let n = &mut self.held[mode as usize];
        debug_assert!(*n > 0, "released a lock not held");
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.granted &= !mode.bit();
        }
        self.wake(woken);
    }

    /// proc.c `ProcLockWakeup`: walk the queue in order, granting each waiter compatible with
    /// the granted locks and with the waiters left ahead of it.
    fn wake(&mut self, woken: &mut Vec<LockWaiter>) {
        if self.queue.is_empty() {
            return;
        }
        let mut ahead = 0u8;
        let mut i = 0;
        while i < self.queue.len() {
            let w = self.queue[i];
            let c = w.mode.conflicts();
            if c & (self.granted | ahead) == 0 {
                self.grant(w.mode);
                self.queue.remove(i);
                woken.push(w);
            } else {
                ahead |= w.mode.bit();
                i += 1;
            }
            if ahead == 0xFF {
                break;
            }
        }
    }

    /// Takes `who` out of the queue (its timeout passed, its connection closed) and grants
    /// whoever that unblocks. Returns the removed request, if it was waiting.
    pub fn cancel(&mut self, who: Holder, woken: &mut Vec<LockWaiter>) -> Option<LockWaiter> {
        let i = self.queue.iter().position(|w| w.who == who)?;
        let w = self.queue.remove(i);
        self.wake(woken);
        w
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Locks granted in `mode` now.
    pub fn held(&self, mode: LockMode) -> u32 {
        self.held[mode as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PostgreSQL docs, Table 13.2 "Conflicting Lock Modes": row = requested mode, columns =
    /// existing mode in the order of [`LockMode::ALL`]; `X` = conflict.
    const TABLE_13_2: [&str; 8] = [
        ".......X", // ACCESS SHARE
        "......XX", // ROW SHARE
        "....XXXX", // ROW EXCLUSIVE
        "...XXXXX", // SHARE UPDATE EXCLUSIVE
        "..XX.XXX", // SHARE
        "..XXXXXX", // SHARE ROW EXCLUSIVE
        ".XXXXXXX", // EXCLUSIVE
        "XXXXXXXX", // ACCESS EXCLUSIVE
    ];

    #[test]
    fn conflict_matrix_is_postgresql_table_13_2() {
        for (r, row) in TABLE_13_2.iter().enumerate() {
            for (c, cell) in row.chars().enumerate() {
                let (a, b) = (LockMode::ALL[r], LockMode::ALL[c]);
                assert_eq!(a.conflicts_with(b), cell == 'X', "{a:?} vs {b:?}");
                // The matrix is symmetric.
                assert_eq!(a.conflicts_with(b), b.conflicts_with(a));
            }
        }
    }

    #[test]
    fn statement_modes() {
        // Reads and writes never block each other; CREATE INDEX blocks writes only; CREATE
        // INDEX CONCURRENTLY blocks neither; ALTER TABLE blocks both.
        assert!(!AccessShare.conflicts_with(RowExclusive));
        assert!(Share.conflicts_with(RowExclusive) && !Share.conflicts_with(AccessShare));
        assert!(!ShareUpdateExclusive.conflicts_with(RowExclusive));
        assert!(!ShareUpdateExclusive.conflicts_with(AccessShare));
        assert!(AccessExclusive.conflicts_with(AccessShare));
    }

    #[test]
    fn parse_names() {
        assert_eq!(LockMode::parse("ACCESS SHARE"), Some(AccessShare));
        assert_eq!(
            LockMode::parse("share_update_exclusive"),
            Some(ShareUpdateExclusive)
        );
        assert_eq!(LockMode::parse("shared"), None);
        for m in LockMode::ALL {
            assert_eq!(LockMode::parse(m.as_str()), Some(m));
        }
    }

    const T: SimTime = SimTime::ZERO;

    #[test]
    fn waiting_ddl_blocks_later_readers() {
        let mut l = TableLock::default();
        let mut woken = Vec::new();
        assert!(l.acquire(Holder::Long(0), AccessShare, T, false));
        // ALTER TABLE waits for the long reader...
        assert!(!l.acquire(Holder::Ddl(0), AccessExclusive, T, false));
        // ...and a later read, compatible with the granted lock, queues behind it.
        assert!(!l.acquire(Holder::Txn(1), AccessShare, T, false));
        assert!(!l.acquire(Holder::Txn(2), RowExclusive, T, false));
        assert_eq!(l.waiting(), 3);
        // A transaction already holding a lock on the table is not queued behind the DDL.
        assert!(l.acquire(Holder::Txn(3), RowExclusive, T, true));
        l.release(RowExclusive, &mut woken);
        assert!(woken.is_empty());
        // The reader ends: the DDL gets its lock, the rest still wait.
        l.release(AccessShare, &mut woken);
        assert_eq!(woken.len(), 1);
        assert_eq!(woken[0].who, Holder::Ddl(0));
        woken.clear();
        // The DDL ends: both queries are granted together, in order.
        l.release(AccessExclusive, &mut woken);
        let who: Vec<_> = woken.iter().map(|w| w.who).collect();
        assert_eq!(who, [Holder::Txn(1), Holder::Txn(2)]);
        assert_eq!(l.held(AccessShare), 1);
        assert_eq!(l.held(RowExclusive), 1);
    }

    #[test]
    fn create_index_blocks_writes_not_reads() {
        let mut l = TableLock::default();
        let mut woken = Vec::new();
        assert!(l.acquire(Holder::Ddl(0), Share, T, false));
        assert!(l.acquire(Holder::Txn(0), AccessShare, T, false));
        assert!(!l.acquire(Holder::Txn(1), RowExclusive, T, false));
        // A read after the waiting write: compatible with both, granted.
        assert!(l.acquire(Holder::Txn(2), AccessShare, T, false));
        l.release(Share, &mut woken);
        assert_eq!(woken.len(), 1);
        // CREATE INDEX CONCURRENTLY blocks neither.
        let mut l = TableLock::default();
        assert!(l.acquire(Holder::Ddl(0), ShareUpdateExclusive, T, false));
        assert!(l.acquire(Holder::Txn(0), AccessShare, T, false));
        assert!(l.acquire(Holder::Txn(1), RowExclusive, T, false));
    }

    #[test]
    fn cancelling_a_waiter_unblocks_those_behind() {
        let mut l = TableLock::default();
        let mut woken = Vec::new();
        assert!(l.acquire(Holder::Long(0), AccessShare, T, false));
        assert!(!l.acquire(Holder::Ddl(0), AccessExclusive, T, false));
        assert!(!l.acquire(Holder::Txn(1), AccessShare, T, false));
        // lock_timeout: the ALTER gives up; the read behind it runs at once.
        let w = l.cancel(Holder::Ddl(0), &mut woken).unwrap();
        assert_eq!(w.mode, AccessExclusive);
        assert_eq!(woken.len(), 1);
        assert_eq!(woken[0].who, Holder::Txn(1));
        assert!(l.cancel(Holder::Ddl(0), &mut woken).is_none());
    }
}
