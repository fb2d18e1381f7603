//! A pod's connection pool, HikariCP-like (`../shared/reference/state.md` §2.1).
//!
//! HikariCP's defaults make a *fixed-size* pool: `minimumIdle` = `maximumPoolSize`, so a
//! starting application opens all its connections at once and holds them while it lives —
//! terminating pods included, until the process exits. A request's transaction borrows one
//! connection; when none is idle it waits first-in first-out in `getConnection()` for up to
//! `connectionTimeout` (30 000 ms), then fails (`SQLTransientConnectionException`, here
//! `db_timeout`).

use std::collections::VecDeque;

use crate::model::dependency::Call;

/// A request waiting in `getConnection()`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Waiter {
    /// The request's call.
    pub call: Call,
    /// The variant serving the request (its workload).
    pub variant: crate::model::VersionId,
    /// Identifies this wait (its timeout event carries it).
    pub ticket: u32,
}

/// One pod's pool.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    /// Whether the application's pool is open (from listening until the process ends).
    pub open: bool,
    /// Connections the pool holds (idle + in use).
    pub held: u32,
    /// Connections idle, ready to lend.
    pub idle: u32,
    /// Requests waiting for a connection, oldest first.
    pub waiters: VecDeque<Waiter>,
}

impl Pool {
    /// Lends an idle connection, if any.
    pub fn borrow(&mut self) -> bool {
        if self.idle > 0 {
            self.idle -= 1;
            true
        } else {
            false
        }
    }

    /// Removes the waiter with `ticket` (its `connectionTimeout` passed); `None` if it already
    /// got a connection or its pod went away.
    pub fn time_out(&mut self, ticket: u32) -> Option<Waiter> {
        let i = self.waiters.iter().position(|w| w.ticket == ticket)?;
        self.waiters.remove(i)
    }

    /// The process ended: every connection closes, every waiter is gone with its pod.
    /// Returns how many connections the server gets back.
    pub fn close(&mut self) -> u32 {
        let held = self.held;
        self.open = false;
        self.held = 0;
        self.idle = 0;
        self.waiters.clear();
        held
    }
}
