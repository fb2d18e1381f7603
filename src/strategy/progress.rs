//! The Deployment's `Progressing` condition and `progressDeadlineSeconds`
//! (pkg/controller/deployment/progress.go).
//!
//! * **Complete**: every replica updated and available and no other pods
//!   (`updated == replicas == status.replicas == available`).
//! * **Progress**: more updated replicas, fewer old ones, more ready or more available than at
//!   the last sync; it refreshes `lastUpdateTime`.
//! * **Timed out**: not complete, and `lastUpdateTime + deadline` strictly before now. It is
//!   only reported; Kubernetes itself does not roll back.
//! * The controller re-checks at `lastUpdateTime + deadline + 1 s`.

use super::{RsStatus, REQUEUE_SLACK};
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct Counts {
    updated: u32,
    old: u32,
    ready: u32,
    available: u32,
}

/// What the tracker concluded at one sync.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// Still rolling, within the deadline.
    Progressing,
    /// Complete (`NewReplicaSetAvailable`).
    Complete,
    /// Deadline exceeded (`ProgressDeadlineExceeded`), reported once.
    TimedOut,
}

/// Tracks the `Progressing` condition of one rollout.
#[derive(Clone, Debug)]
pub struct ProgressTracker {
    deadline: Option<SimDuration>,
    last_update: SimTime,
    prev: Counts,
    complete: bool,
    timed_out: bool,
}

impl ProgressTracker {
    /// A tracker with the given deadline (`None`: never times out).
    pub fn new(deadline: Option<SimDuration>) -> Self {
        ProgressTracker {
            deadline,
            last_update: SimTime::ZERO,
            prev: Counts::default(),
            complete: false,
            timed_out: false,
        }
    }

    /// A new rollout (or rollback) starts now: the condition is refreshed.
    pub fn restart(&mut self, now: SimTime) {
        self.last_update = now;
        self.complete = false;
        self.timed_out = false;
    }

    /// Evaluates the condition; `requeue` is set to when the deadline would pass.
    pub fn sync(
        &mut self,
        rss: &[RsStatus],
        template: VersionId,
        replicas: u32,
        now: SimTime,
        requeue: &mut Option<SimTime>,
    ) -> ProgressState {
        let total: u32 = rss.iter().map(|r| r.replicas).sum();
        let updated: u32 = rss
            .iter()
            .filter(|r| r.version == template)
            .map(|r| r.replicas)
            .sum();
        let counts = Counts {
            updated,
            old: total - updated,
            ready: rss.iter().map(|r| r.ready).sum(),
            available: rss.iter().map(|r| r.available).sum(),
        };
        if self.complete {
            return ProgressState::Complete;
        }
        if counts.updated == replicas && total == replicas && counts.available == replicas {
            self.complete = true;
            self.prev = counts;
            return ProgressState::Complete;
        }
        let progressed = counts.updated > self.prev.updated
            || counts.old < self.prev.old
            || counts.ready > self.prev.ready
            || counts.available > self.prev.available;
        self.prev = counts;
        if progressed && !self.timed_out {
            self.last_update = now;
        }
        let Some(deadline) = self.deadline else {
            return ProgressState::Progressing;
        };
        if self.timed_out {
            return ProgressState::Progressing;
        }
        let expires = self.last_update + deadline;
        if expires < now {
            self.timed_out = true;
            return ProgressState::TimedOut;
        }
        let at = expires + REQUEUE_SLACK;
        *requeue = Some(requeue.map_or(at, |r| r.min(at)));
        ProgressState::Progressing
    }
}
