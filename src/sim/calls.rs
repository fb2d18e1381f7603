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

    /// A call ends: the dependency's worker takes the next live waiter; the request moves on
    /// to its next phase or completes (if its pod still holds it).
    pub(super) fn call_done(
        &mut self,
        now: SimTime,
        dep: DependencyId,
        pod: PodId,
        slot: u32,
        epoch: u32,
    ) {
        let pods = &self.cluster.pods;
        let next =
            self.deps.list[dep.index()].finish(now, |c| pods[c.pod.index()].holds(c.slot, c.epoch));
        if let Some(next) = next {
            self.call_started(dep, next, now);
        }
        self.service_done(now, pod, slot, epoch);
    }
}
