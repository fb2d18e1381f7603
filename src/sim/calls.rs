//! A request's phases after the application's own work: calls to dependencies (see
//! `model::dependency`). The pod's worker slot stays held while the request waits on a call;
//! a failed or rejected call completes the request with the dependency's cause.

use super::{Event, Simulation};
use crate::engine::SimTime;
use crate::model::{
    Call, CallAccept, DependencyId, DependencySpec, DependencyStats, ModelEvent, PodId, Started,
    VersionId,
};

impl Simulation {
    /// Registers a dependency that every request served by one of `callers` (versions, or a
    /// feature flag's variant) calls after the application's own work and after the
    /// dependencies registered before it. Call it before the run's first step.
    pub fn add_dependency(&mut self, spec: DependencySpec, callers: &[VersionId]) -> DependencyId {
        debug_assert_eq!(
            self.queue.processed(),
            0,
            "dependencies are set before the run"
        );
        self.deps.add(spec, callers)
    }

    /// A dependency's totals so far.
    pub fn dependency_stats(&self, id: DependencyId) -> DependencyStats {
        self.deps.list[id.index()].stats()
    }

    /// The request in `pod`'s `slot` finished a phase: if it has a dependency call left, make
    /// it. Returns whether the request is still in service (waiting on the call); `false` means
    /// it completes now (no call left, or the call was rejected).
    pub(super) fn next_phase(&mut self, now: SimTime, pod: PodId, slot: u32, epoch: u32) -> bool {
        let p = &mut self.cluster.pods[pod.index()];
        let Some((dep, luck)) = p.next_call(slot, epoch, &self.deps.plan) else {
            return false;
        };
        let call = Call {
            pod,
            slot,
            epoch,
            luck,
            sent: now,
        };
        if dep == DependencyId::DATABASE {
            return self.db_begin(call, now);
        }
        let d = &mut self.deps.list[dep.index()];
        match d.call(call, now) {
            CallAccept::Started(s) => {
                self.call_started(dep, s, now);
                true
            }
            CallAccept::Queued => true,
            CallAccept::Rejected => {
                let cause = d.spec().on_reject;
                p.fail_in_service(slot, epoch, cause);
                false
            }
        }
    }

    /// A call starts service at `now`: its completion is scheduled; a call drawn to fail marks
    /// its request failed (it completes with the dependency's cause when the call ends).
    fn call_started(&mut self, dep: DependencyId, s: Started, now: SimTime) {
        let Call {
            pod, slot, epoch, ..
        } = s.call;
        if !s.ok {
            let cause = self.deps.list[dep.index()].spec().on_error;
            self.cluster.pods[pod.index()].fail_in_service(slot, epoch, cause);
        }
        let done = ModelEvent::CallDone {
            dep,
            pod,
            slot,
            epoch,
        };
        self.queue.schedule(now + s.duration, Event::Model(done));
    }

    /// A call to `dep` ends: the dependency's worker takes the next live waiter. (The world
    /// then moves the caller's request to its next phase, as after the application's work.)
    pub(super) fn call_done(&mut self, now: SimTime, dep: DependencyId) {
        let pods = &self.cluster.pods;
        let next =
            self.deps.list[dep.index()].finish(now, |c| pods[c.pod.index()].holds(c.slot, c.epoch));
        if let Some(next) = next {
            self.call_started(dep, next, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;
    use crate::model::{Dist, FailCause};
    use crate::scenario::Scenario;
    use crate::sim::RunOutput;

    /// Two pods of 8 workers, app work a constant 20 ms, 100 req/s: pods never queue.
    const STEADY: &str = r#"
        duration = "60s"
        seed = 3
        [traffic]
        rate = 100
        [pod]
        concurrency = 8
        [versions.v1]
        service = "20ms"
        [deployment]
        replicas = 2
        version = "v1"
    "#;

    fn dep(name: &str, concurrency: u32, queue: Option<u32>, ms: u64, err: f64) -> DependencySpec {
        DependencySpec {
            name: name.into(),
            concurrency,
            queue,
            service: Dist::Constant(SimDuration::from_millis(ms)),
            error_rate: err,
            on_error: FailCause::AppError,
            on_reject: FailCause::QueueFull,
        }
    }

    fn run(text: &str, deps: Vec<DependencySpec>) -> RunOutput {
        let scenario = Scenario::parse("t.toml", "t", text).unwrap();
        let mut sim = Simulation::new(&scenario);
        for d in deps {
            sim.add_dependency(d, &[VersionId(0)]);
        }
        sim.run().unwrap()
    }

    #[test]
    fn calls_in_sequence_add_their_time_to_every_request() {
        let bare = run(STEADY, vec![]);
        let out = run(
            STEADY,
            vec![
                dep("sessions", 100, None, 5, 0.0),
                dep("db", 100, None, 10, 0.0),
            ],
        );
        let (b, s) = (&bare.summary, &out.summary);
        // Same requests (common random numbers), all served, each 20 + 5 + 10 ms.
        assert_eq!(s.requests.total, b.requests.total);
        assert_eq!(s.requests.ok, s.requests.total);
        assert!(
            (b.latency_ms.p99.unwrap() - 20.0).abs() < 0.5,
            "{:?}",
            b.latency_ms
        );
        assert!(
            (s.latency_ms.p50.unwrap() - 35.0).abs() < 0.5,
            "{:?}",
            s.latency_ms
        );
        assert!(
            (s.latency_ms.p99.unwrap() - 35.0).abs() < 0.5,
            "{:?}",
            s.latency_ms
        );
        // The worker is held during the calls, so pods occasionally queue a request now.
        let extra = s.latency_ms.mean.unwrap() - b.latency_ms.mean.unwrap();
        assert!((14.9..15.2).contains(&extra), "{extra}");
        for (name, st) in &out.dependencies {
            assert_eq!(st.calls, s.requests.total, "{name}");
            assert_eq!((st.started, st.finished), (st.calls, st.calls), "{name}");
            assert_eq!((st.rejected, st.failed, st.peak_queue), (0, 0, 0), "{name}");
        }
    }

    #[test]
    fn a_saturated_dependency_holds_workers_rejects_and_fails_with_its_own_causes() {
        // One connection, 10 ms per call: at most 100 calls/s for 100 req/s offered, so calls
        // queue (bounded at 2) and some are rejected; 20 % of the calls that run fail.
        let out = run(STEADY, vec![dep("db", 1, Some(2), 10, 0.2)]);
        let s = &out.summary;
        let (_, st) = &out.dependencies[0];
        let by = |c: FailCause| s.requests.failed_by_cause[c.as_str()];
        assert_eq!(s.requests.total, s.requests.ok + s.requests.failed);
        assert_eq!(by(FailCause::QueueFull), st.rejected);
        assert_eq!(by(FailCause::AppError), st.failed);
        assert_eq!(s.requests.failed, st.rejected + st.failed);
        assert!(st.rejected > 50, "{st:?}");
        let share = st.failed as f64 / st.finished as f64;
        assert!((0.17..0.23).contains(&share), "{share}");
        // Conservation at the dependency: every call rejected, abandoned or run to the end.
        assert_eq!(st.calls, st.rejected + st.abandoned + st.finished);
        assert_eq!(st.started, st.finished);
        assert_eq!(st.peak_queue, 2);
        // Waiting on the dependency is part of the latency: beyond the 30 ms of work.
        assert!(s.latency_ms.p99.unwrap() > 40.0, "{:?}", s.latency_ms);
    }

    #[test]
    fn pods_killed_while_waiting_on_calls_keep_every_request_accounted() {
        // A rolling update without preStop kills pods (SIGTERM exit) while their requests wait
        // on a slow, narrow dependency: those requests are reset, their queued calls abandoned.
        let text = r#"
            duration = "60s"
            seed = 3
            [traffic]
            rate = 100
            [pod]
            concurrency = 8
            on_sigterm = "exit"
            [versions.v1]
            service = "20ms"
            [versions.v2]
            service = "20ms"
            [deployment]
            replicas = 2
            version = "v1"
            [rollout]
            to = "v2"
            at = "20s"
            strategy = "rolling"
        "#;
        let scenario = Scenario::parse("t.toml", "t", text).unwrap();
        let go = || {
            let mut sim = Simulation::new(&scenario);
            sim.add_dependency(dep("db", 3, None, 25, 0.0), &[VersionId(0), VersionId(1)]);
            sim.run().unwrap()
        };
        let (a, b) = (go(), go());
        let s = &a.summary;
        let (_, st) = &a.dependencies[0];
        assert_eq!(s.rollout.outcome, "completed");
        assert_eq!(s.requests.total, s.requests.ok + s.requests.failed);
        assert!(
            s.requests.failed_by_cause["reset_on_shutdown"] > 0,
            "{:?}",
            s.requests
        );
        assert!(st.abandoned > 0, "{st:?}");
        assert_eq!(st.calls, st.rejected + st.abandoned + st.finished);
        let json = |o: &RunOutput| serde_json::to_string(&o.summary).unwrap();
        assert_eq!(json(&a), json(&b));
    }
}
