//! Dependencies: services a request calls after its own work (a session store, a database, an
//! upstream API), each with finite concurrency, a FIFO queue and its own timing and failures.
//!
//! A request's service is a sequence of phases: the application's own work on the pod (drawn
//! by `draw_service`), then one call to each dependency its variant uses, in order. While a call
//! is queued or in service the request keeps its pod's worker slot, as a thread-per-request
//! server (or a bounded async worker pool) does while it waits on I/O — so a slow dependency
//! backs requests up into the pods' accept queues, the classic cascading slowdown.
//!
//! A dependency serves `concurrency` calls at once (connections, server workers) and queues the
//! rest first-in first-out up to `queue`; a call finding the queue full is rejected at once,
//! like a pool whose wait queue is bounded. A call's service time and success come from the
//! request's own luck (mixed with the dependency's id), so the same request fares the same at a
//! dependency whichever pod sends it. A failed or rejected call fails the request with the
//! dependency's own cause; its remaining phases are skipped (the application answers the
//! error at once).
//!
//! A pod that dies while its call waits in the queue leaves a dead waiter: it is skipped when it
//! reaches the front (the pool's waiter is gone). A call already in service runs to completion
//! at the dependency, which keeps its worker busy; its result is then discarded.
//!
//! With no dependency registered nothing here runs: the request's single phase is the
//! application's work, exactly as before.
//!
//! Plugging in a hop (the session store, the database): build a [`DependencySpec`] from the
//! scenario and register it with `Simulation::add_dependency` for the variants that call it;
//! give it its own `FailCause`s (`session_lost`, `db_timeout`, … extend `FailCause`). State a
//! hop needs beyond a queue (per-pod connection pools, lock queues) belongs in its own type
//! that decides when a call starts and how long it takes; the pod and the request's journey
//! need no change, because they only see "a phase ended" (`ModelEvent::CallDone`).

use std::collections::VecDeque;

use super::dist::Dist;
use super::ids::PodId;
use super::FailCause;
use crate::engine::{RngStream, SimDuration, SimTime};

/// A dependency, by registration order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DependencyId(pub u16);

impl DependencyId {
    /// The database's place in a variant's plan: a stateful hop (`model::database`: pools in
    /// front of a shared server) rather than an entry of the dependency table.
    pub const DATABASE: DependencyId = DependencyId(u16::MAX);

    /// Index into the dependency table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a dependency is like.
#[derive(Clone, Debug)]
pub struct DependencySpec {
    /// Its name (reports).
    pub name: String,
    /// Calls served at once.
    pub concurrency: u32,
    /// Calls that may wait for a free worker (`None`: unbounded).
    pub queue: Option<u32>,
    /// Service time of one call.
    pub service: Dist,
    /// Share of calls that fail.
    pub error_rate: f64,
    /// The cause a failed call gives the request.
    pub on_error: FailCause,
    /// The cause a call rejected by a full queue gives the request.
    pub on_reject: FailCause,
}

/// A call to a dependency: the request waiting on it, where it waits.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The pod holding the request.
    pub pod: PodId,
    /// The worker slot holding it.
    pub slot: u32,
    /// The pod's epoch when the call was made (a later epoch: the caller is gone).
    pub epoch: u32,
    /// The request's luck.
    pub luck: u64,
    /// When the call was made.
    pub sent: SimTime,
}

/// A call that starts service now.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Started {
    /// The call.
    pub call: Call,
    /// How long it takes.
    pub duration: SimDuration,
    /// Whether it succeeds.
    pub ok: bool,
}

/// What a dependency does with a new call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CallAccept {
    /// A worker took it.
    Started(Started),
    /// It waits in the queue.
    Queued,
    /// The queue is full: the call fails at once.
    Rejected,
}

/// Running totals of one dependency, for reports and conservation checks.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DependencyStats {
    /// Calls made.
    pub calls: u64,
    /// Calls rejected by a full queue.
    pub rejected: u64,
    /// Calls that started service.
    pub started: u64,
    /// Calls that finished service (successful or not).
    pub finished: u64,
    /// Started calls drawn to fail (they fail when they finish).
    pub failed: u64,
    /// Queued calls skipped because their caller was gone.
    pub abandoned: u64,
    /// Total time calls waited in the queue before service.
    pub wait: SimDuration,
    /// Longest queue seen.
    pub peak_queue: u32,
}

/// One dependency's state.
#[derive(Debug)]
pub struct Dependency {
    spec: DependencySpec,
    id: DependencyId,
    busy: u32,
    queue: VecDeque<Call>,
    stats: DependencyStats,
    /// A window `[from, to)` in which the dependency is down: calls starting then fail at
    /// once (connection refused), whatever their draw.
    outage: Option<(SimTime, SimTime)>,
}

impl Dependency {
    /// An idle dependency.
    pub fn new(id: DependencyId, spec: DependencySpec) -> Self {
        Dependency {
            spec,
            id,
            busy: 0,
            queue: VecDeque::new(),
            stats: DependencyStats::default(),
            outage: None,
        }
    }

    /// Takes the dependency down during `[from, to)` (an outage fault): calls that start then
    /// fail at once.
    pub fn set_outage(&mut self, from: SimTime, to: SimTime) {
        self.outage = Some((from, to));
    }

    /// Its configuration.
    pub fn spec(&self) -> &DependencySpec {
        &self.spec
    }

    /// Its totals so far.
    pub fn stats(&self) -> DependencyStats {
        self.stats
    }

    /// Calls in service now.
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Calls waiting now (dead waiters included until they reach the front).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// A new call at `now`: served at once if a worker is free, else queued if there is room.
    pub fn call(&mut self, call: Call, now: SimTime) -> CallAccept {
        self.stats.calls += 1;
        if self.busy < self.spec.concurrency {
            return CallAccept::Started(self.start(call, now));
        }
        if self
            .spec
            .queue
            .is_some_and(|cap| self.queue.len() >= cap as usize)
        {
            self.stats.rejected += 1;
            return CallAccept::Rejected;
        }
        self.queue.push_back(call);
        self.stats.peak_queue = self.stats.peak_queue.max(self.queue.len() as u32);
        CallAccept::Queued
    }

    /// A call in service finished at `now`: its worker takes the oldest queued call whose
    /// caller is still there (`alive`), if any.
    pub fn finish(&mut self, now: SimTime, alive: impl Fn(&Call) -> bool) -> Option<Started> {
        self.busy -= 1;
        self.stats.finished += 1;
        while let Some(next) = self.queue.pop_front() {
            if alive(&next) {
                return Some(self.start(next, now));
            }
            self.stats.abandoned += 1;
        }
        None
    }

    fn start(&mut self, call: Call, now: SimTime) -> Started {
        self.busy += 1;
        self.stats.started += 1;
        self.stats.wait = self.stats.wait + now.saturating_since(call.sent);
        // The request's luck mixed with this dependency's id: its own draws, independent of
        // the application's and of other dependencies', identical whichever pod calls.
        let seed = call.luck ^ (u64::from(self.id.0) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut luck = RngStream::from_seed_u64(seed);
        let mut duration = self.spec.service.sample(&mut luck);
        let mut ok = luck.uniform() >= self.spec.error_rate;
        if self
            .outage
            .is_some_and(|(from, to)| from <= now && now < to)
        {
            (duration, ok) = (SimDuration::ZERO, false);
        }
        if !ok {
            self.stats.failed += 1;
        }
        Started { call, duration, ok }
    }
}

/// Every dependency of a run and which ones each variant calls, in order.
#[derive(Debug, Default)]
pub struct Dependencies {
    /// The dependencies, by id.
    pub list: Vec<Dependency>,
    /// Per variant (version id), the dependencies its requests call after the application's
    /// own work, in order. Empty for every variant when nothing is registered.
    pub plan: Vec<Vec<DependencyId>>,
    /// The database, if the scenario has one (its id in a plan: [`DependencyId::DATABASE`]).
    pub database: Option<Box<super::database::Database>>,
}

impl Dependencies {
    /// No dependencies, for `versions` variants.
    pub fn new(versions: usize) -> Self {
        Dependencies {
            list: Vec::new(),
            plan: vec![Vec::new(); versions],
            database: None,
        }
    }

    /// Whether any dependency is registered (the hot path's one check).
    #[inline]
    pub fn any(&self) -> bool {
        !self.list.is_empty() || self.database.is_some()
    }

    /// Registers a dependency that requests of each of `callers` call after their previous
    /// phases.
    pub fn add(&mut self, spec: DependencySpec, callers: &[super::VersionId]) -> DependencyId {
        let id = DependencyId(self.list.len() as u16);
        assert!(id != DependencyId::DATABASE, "too many dependencies");
        self.list.push(Dependency::new(id, spec));
        self.call_from(id, callers);
        id
    }

    /// Requests of each of `callers` call `id` after their previous phases.
    pub fn call_from(&mut self, id: DependencyId, callers: &[super::VersionId]) {
        for v in callers {
            let plan = &mut self.plan[v.index()];
            // A pod slot counts its request's calls in a `u8`.
            assert!(plan.len() < 255, "at most 255 dependency calls per request");
            plan.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(concurrency: u32, queue: Option<u32>, error_rate: f64) -> DependencySpec {
        DependencySpec {
            name: "db".into(),
            concurrency,
            queue,
            service: Dist::Constant(SimDuration::from_millis(10)),
            error_rate,
            on_error: FailCause::AppError,
            on_reject: FailCause::QueueFull,
        }
    }

    fn call(i: u32, sent: SimTime) -> Call {
        Call {
            pod: PodId(i),
            slot: 0,
            epoch: 0,
            luck: u64::from(i),
            sent,
        }
    }

    /// Drives a dependency like the world's queue does: completions in time order.
    fn drain(d: &mut Dependency, mut running: Vec<(SimTime, Started)>) -> Vec<(u32, SimTime)> {
        let mut done = Vec::new();
        while !running.is_empty() {
            running.sort_by_key(|(t, s)| (*t, s.call.pod));
            let (t, s) = running.remove(0);
            done.push((s.call.pod.0, t));
            if let Some(next) = d.finish(t, |c| c.pod.0 != 99) {
                running.push((t + next.duration, next));
            }
        }
        done
    }

    #[test]
    fn fifo_with_finite_concurrency_conserves_calls_and_adds_queueing_delay() {
        // 2 workers, room for 3 waiting: 6 simultaneous calls → 2 served, 3 queued, 1 rejected.
        let mut d = Dependency::new(DependencyId(0), spec(2, Some(3), 0.0));
        let t0 = SimTime::ZERO;
        let mut running = Vec::new();
        let mut accepted = Vec::new();
        for i in 0..6 {
            match d.call(call(i, t0), t0) {
                CallAccept::Started(s) => running.push((t0 + s.duration, s)),
                other => accepted.push((i, other)),
            }
        }
        assert_eq!(running.len(), 2);
        assert_eq!(
            accepted,
            [
                (2, CallAccept::Queued),
                (3, CallAccept::Queued),
                (4, CallAccept::Queued),
                (5, CallAccept::Rejected)
            ]
        );
        let done = drain(&mut d, running);
        // FIFO: the k-th accepted call finishes at (k / 2 + 1) × 10 ms.
        let ms = |t: SimTime| t.as_micros() / 1000;
        let got: Vec<(u32, u64)> = done.iter().map(|(p, t)| (*p, ms(*t))).collect();
        assert_eq!(got, [(0, 10), (1, 10), (2, 20), (3, 20), (4, 30)]);
        let s = d.stats();
        assert_eq!(
            s.calls,
            s.rejected + s.started + s.abandoned + d.queued() as u64
        );
        assert_eq!(s.started, s.finished + u64::from(d.busy()));
        assert_eq!(
            (s.calls, s.rejected, s.finished, s.peak_queue),
            (6, 1, 5, 3)
        );
        // Waits: calls 2 and 3 waited 10 ms, call 4 waited 20 ms.
        assert_eq!(s.wait, SimDuration::from_millis(40));
        assert_eq!((d.busy(), d.queued()), (0, 0));
    }

    #[test]
    fn an_outage_fails_calls_that_start_in_its_window_at_once() {
        let mut d = Dependency::new(DependencyId(0), spec(u32::MAX, None, 0.0));
        d.set_outage(
            SimTime::ZERO + SimDuration::from_secs(10),
            SimTime::ZERO + SimDuration::from_secs(20),
        );
        let at = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        let got: Vec<(SimDuration, bool)> = [5, 10, 19, 20]
            .iter()
            .map(|&t| match d.call(call(t as u32, at(t)), at(t)) {
                CallAccept::Started(s) => (s.duration, s.ok),
                _ => unreachable!("unbounded concurrency"),
            })
            .collect();
        let ms10 = SimDuration::from_millis(10);
        assert_eq!(
            got,
            [
                (ms10, true),
                (SimDuration::ZERO, false),
                (SimDuration::ZERO, false),
                (ms10, true)
            ]
        );
        assert_eq!(d.stats().failed, 2);
    }

    #[test]
    fn a_dead_waiter_is_skipped_and_failures_follow_the_error_rate() {
        let mut d = Dependency::new(DependencyId(0), spec(1, None, 0.0));
        let t0 = SimTime::ZERO;
        let CallAccept::Started(first) = d.call(call(0, t0), t0) else {
            panic!("idle dependency serves at once");
        };
        assert_eq!(d.call(call(99, t0), t0), CallAccept::Queued); // its pod dies
        assert_eq!(d.call(call(1, t0), t0), CallAccept::Queued);
        let done = drain(&mut d, vec![(t0 + first.duration, first)]);
        assert_eq!(done.iter().map(|d| d.0).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(d.stats().abandoned, 1);

        let mut flaky = Dependency::new(DependencyId(3), spec(u32::MAX, None, 0.25));
        let failed = (0..10_000)
            .filter(|i| match flaky.call(call(*i, t0), t0) {
                CallAccept::Started(s) => !s.ok,
                _ => unreachable!("unbounded concurrency"),
            })
            .count();
        assert!((2_300..=2_700).contains(&failed), "{failed}");
        // The same request draws the same at the same dependency.
        let again = |d: &mut Dependency| match d.call(call(7, t0), t0) {
            CallAccept::Started(s) => (s.duration, s.ok),
            _ => unreachable!(),
        };
        assert_eq!(again(&mut flaky), again(&mut flaky));
    }
}
