//! The database server's CPU: `cores` queries execute at once, the rest wait first-in
//! first-out. PostgreSQL runs one backend process per connection and lets the operating system
//! share the cores among them; a FIFO queue in front of `cores` servers is the usual
//! queueing approximation of that (and it is where a lock queue will sit: a query leaves this
//! queue for a core only when it may run).

use std::collections::VecDeque;

/// The server's cores and run queue. Queries are named by their transaction's index.
#[derive(Clone, Debug, Default)]
pub struct Server {
    /// Cores.
    pub cores: u32,
    /// Queries executing now.
    pub busy: u32,
    /// Queries waiting for a core, oldest first (transaction indices).
    pub queue: VecDeque<u32>,
    /// Cores taken by DDL work (an index build), not available to queries.
    pub reserved: u32,
}

impl Server {
    /// A server with `cores` cores.
    pub fn new(cores: u32) -> Self {
        Server {
            cores,
            busy: 0,
            queue: VecDeque::new(),
            reserved: 0,
        }
    }

    /// A query of transaction `txn` arrives: `true` if a core takes it now, else it queues.
    pub fn submit(&mut self, txn: u32) -> bool {
        if self.busy + self.reserved < self.cores {
            self.busy += 1;
            true
        } else {
            self.queue.push_back(txn);
            false
        }
    }

    /// A query left its core: the next waiting one (if any) takes it.
    pub fn release(&mut self) -> Option<u32> {
        if self.reserved == 0 {
            return match self.queue.pop_front() {
                Some(next) => Some(next),
                None => {
                    self.busy -= 1;
                    None
                }
            };
        }
        self.busy -= 1;
        self.take_free()
    }

    /// A core is free (after DDL gave one back): the next waiting query takes it.
    pub fn take_free(&mut self) -> Option<u32> {
        if self.busy + self.reserved >= self.cores {
            return None;
        }
        let next = self.queue.pop_front()?;
        self.busy += 1;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_then_fifo() {
        let mut s = Server::new(2);
        assert!(s.submit(0));
        assert!(s.submit(1));
        assert!(!s.submit(2));
        assert!(!s.submit(3));
        assert_eq!(s.release(), Some(2));
        assert_eq!(s.release(), Some(3));
        assert_eq!(s.busy, 2);
        assert_eq!(s.release(), None);
        assert_eq!(s.release(), None);
        assert_eq!(s.busy, 0);
    }
}
