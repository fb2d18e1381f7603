//! One pod: its lifecycle phase, readiness, worker slots and accept queue.
//!
//! The pod only keeps state; the cluster drives its transitions (start, probes, termination)
//! and the world drives its requests. What it models:
//!
//! * worker slots (`concurrency`) serve requests; the rest wait in a bounded FIFO accept queue,
//!   and a full queue answers 503 at once (`queue_full`);
//! * a pod accepts connections only while its application listens and, after SIGTERM, only if
//!   the application ignores the signal; otherwise the connection is refused;
//! * a request's service is phases (`model::dependency`): the application's work, then calls
//!   to dependencies; the worker slot stays held until the last phase ends;
//! * SIGKILL drops everything the pod holds; bumping `epoch` turns the completions already on the
//!   event queue into no-ops, so nothing has to be removed from the queue.

use std::collections::VecDeque;

use super::dependency::DependencyId;
use super::ids::{PodId, RsId, VersionId};
use super::spec::{OnSigterm, VersionSpec};
use super::traffic::Request;
use crate::engine::{RngStream, SimDuration, SimTime};

/// Lifecycle phase of a pod.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Created, waiting for a node with room.
    Pending,
    /// Bound to a node; image pull and container start under way.
    Creating,
    /// Container running: the application may or may not listen yet.
    Running,
    /// Exited or killed; the node slot is free. Kept as a tombstone.
    Gone,
}

/// What a pod does with a request offered to it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Accept {
    /// A worker took it, in this slot (the caller schedules its completion).
    Serving(u32),
    /// It waits in the accept queue.
    Queued,
    /// Nothing listens: connection refused (the proxy may retry elsewhere).
    Refused,
    /// The accept queue is full: answered 503.
    QueueFull,
}

/// How a finished service ended, before the client's timeout is applied.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServiceOutcome {
    /// A successful response.
    Ok,
    /// An application error response.
    AppError,
    /// A failure with this cause (a dependency call failed or was rejected).
    Failed(super::FailCause),
}

#[derive(Copy, Clone, Debug)]
struct InService {
    request: Request,
    outcome: ServiceOutcome,
    /// The variant that serves it: the pod's version, or a feature flag's variant.
    variant: VersionId,
    /// Dependency calls made so far (phases after the application's own work).
    calls: u8,
}

/// A pod and everything it holds.
#[derive(Debug)]
pub struct Pod {
    /// This pod's id.
    pub id: PodId,
    /// The ReplicaSet that created it.
    pub rs: RsId,
    /// The version it runs.
    pub version: VersionId,
    /// Lifecycle phase.
    pub phase: Phase,
    /// Creation time.
    pub created: SimTime,
    /// Whether the application accepts connections (set after `app_init`).
    pub listening: bool,
    /// When the application started listening (warm-up runs from here).
    pub listening_since: SimTime,
    /// Kubernetes Ready condition.
    pub ready: bool,
    /// When it last turned Ready.
    pub ready_since: SimTime,
    /// Ready for at least minReadySeconds.
    pub available: bool,
    /// Consecutive readiness-probe successes.
    pub probe_successes: u32,
    /// Consecutive readiness-probe failures.
    pub probe_failures: u32,
    /// When deletion started (`None`: not terminating).
    pub deleting_since: Option<SimTime>,
    /// SIGTERM has been delivered.
    pub sigterm: bool,
    /// Bumped on every kill; completions carrying an older epoch are ignored.
    pub epoch: u32,
    /// Container restarts so far (crash loops).
    pub restarts: u32,
    /// Warm from the start (the initial fleet): no warm-up slowness.
    pub warm: bool,
    /// Revision of the feature-flag rules this pod's SDK holds.
    pub flag_rev: u32,
    /// Publication counter of this pod's endpoint state (see `ModelEvent::EndpointUpdate`).
    pub endpoint_generation: u32,
    /// The endpoint state last published (what the balancer will eventually learn).
    pub endpoint_serving: bool,
    /// Its database pool could open no connection and the application fails readiness for it
    /// (`model::database`, `on_exhausted = "fail_readiness"`).
    pub db_unready: bool,
    slots: Vec<Option<InService>>,
    free_slots: Vec<u32>,
    queue: VecDeque<Request>,
    queue_cap: Option<u32>,
    on_sigterm: OnSigterm,
}

impl Pod {
    /// A new Pending pod of `version` owned by `rs`.
    pub fn new(id: PodId, rs: RsId, version: VersionId, spec: &VersionSpec, now: SimTime) -> Self {
        let c = spec.pod.concurrency;
        Pod {
            id,
            rs,
            version,
            phase: Phase::Pending,
            created: now,
            listening: false,
            listening_since: now,
            ready: false,
            ready_since: now,
            available: false,
            probe_successes: 0,
            probe_failures: 0,
            deleting_since: None,
            sigterm: false,
            epoch: 0,
            restarts: 0,
            warm: false,
            flag_rev: 0,
            endpoint_generation: 0,
            endpoint_serving: false,
            db_unready: false,
            slots: vec![None; c as usize],
            free_slots: (0..c).rev().collect(),
            queue: VecDeque::new(),
            queue_cap: spec.pod.queue,
            on_sigterm: spec.pod.on_sigterm,
        }
    }

    /// Requests being served plus queued: what least-request balancing compares.
    pub fn active_requests(&self) -> u32 {
        (self.slots.len() - self.free_slots.len()) as u32 + self.queue.len() as u32
    }

    /// Nothing in service and nothing queued.
    pub fn is_idle(&self) -> bool {
        self.free_slots.len() == self.slots.len() && self.queue.is_empty()
    }

    /// Terminating (deletion started) but not gone.
    pub fn is_terminating(&self) -> bool {
        self.deleting_since.is_some() && self.phase != Phase::Gone
    }

    /// Whether a new connection would be accepted now.
    pub fn accepts_connections(&self) -> bool {
        self.phase == Phase::Running
            && self.listening
            && (!self.sigterm || self.on_sigterm == OnSigterm::Ignore)
    }

    /// Offers a request: serve it if a worker is free, else queue it if there is room.
    pub fn offer(&mut self, request: Request) -> Accept {
        if !self.accepts_connections() {
            return Accept::Refused;
        }
        if let Some(slot) = self.free_slots.pop() {
            self.slots[slot as usize] = Some(InService {
                request,
                outcome: ServiceOutcome::Ok,
                variant: self.version,
                calls: 0,
            });
            return Accept::Serving(slot);
        }
        if self
            .queue_cap
            .is_some_and(|cap| self.queue.len() >= cap as usize)
        {
            return Accept::QueueFull;
        }
        self.queue.push_back(request);
        Accept::Queued
    }

    /// Puts a queued request into a free worker slot (caller checked `has_free_slot`).
    pub fn start_from_queue(&mut self, request: Request) -> u32 {
        let slot = self
            .free_slots
            .pop()
            .expect("start_from_queue without a free slot");
        self.slots[slot as usize] = Some(InService {
            request,
            outcome: ServiceOutcome::Ok,
            variant: self.version,
            calls: 0,
        });
        slot
    }

    /// Records how the request in `slot` will end (drawn when its service starts) and which
    /// variant serves it.
    pub fn set_outcome(&mut self, slot: u32, outcome: ServiceOutcome, variant: VersionId) {
        if let Some(s) = self.slots[slot as usize].as_mut() {
            s.outcome = outcome;
            s.variant = variant;
        }
    }

    /// The request in `slot` (if `epoch` is current) finished a phase: the dependency it calls
    /// next according to `plan` (per variant, in order), with the request's luck, or `None`
    /// when it has no phase left (all calls made, or its outcome is already a failure). Counts
    /// the call as made.
    pub fn next_call(
        &mut self,
        slot: u32,
        epoch: u32,
        plan: &[Vec<DependencyId>],
    ) -> Option<(DependencyId, u64)> {
        if epoch != self.epoch {
            return None;
        }
        let s = self.slots.get_mut(slot as usize)?.as_mut()?;
        if s.outcome != ServiceOutcome::Ok {
            return None;
        }
        let dep = *plan.get(s.variant.index())?.get(usize::from(s.calls))?;
        s.calls += 1;
        Some((dep, s.request.luck))
    }

    /// The variant serving the request in `slot` (the pod's version if the slot is empty).
    pub fn variant(&self, slot: u32) -> VersionId {
        self.slots
            .get(slot as usize)
            .and_then(|s| s.as_ref())
            .map_or(self.version, |s| s.variant)
    }

    /// Marks the request in `slot` failed with `cause` if `epoch` is current (a dependency call
    /// failed or was rejected); it completes with that cause.
    pub fn fail_in_service(&mut self, slot: u32, epoch: u32, cause: super::FailCause) {
        if epoch != self.epoch {
            return;
        }
        if let Some(s) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) {
            s.outcome = ServiceOutcome::Failed(cause);
        }
    }

    /// Whether the request in `slot` started at `epoch` is still held (its caller is alive).
    pub fn holds(&self, slot: u32, epoch: u32) -> bool {
        epoch == self.epoch && self.slots.get(slot as usize).is_some_and(Option::is_some)
    }

    /// Whether a worker is free.
    pub fn has_free_slot(&self) -> bool {
        !self.free_slots.is_empty()
    }

    /// The next queued request, if any.
    pub fn pop_queued(&mut self) -> Option<Request> {
        self.queue.pop_front()
    }

    /// Completes the request in `slot` if `epoch` is current; frees the worker. Returns the
    /// request, its outcome and the variant that served it.
    pub fn finish(
        &mut self,
        slot: u32,
        epoch: u32,
    ) -> Option<(Request, ServiceOutcome, VersionId)> {
        if epoch != self.epoch {
            return None;
        }
        let s = self.slots.get_mut(slot as usize)?.take()?;
        self.free_slots.push(slot);
        Some((s.request, s.outcome, s.variant))
    }

    /// SIGKILL or exit: drops every request held (in service, then queued, in that order) into
    /// `dropped` and invalidates pending completions.
    pub fn kill(&mut self, dropped: &mut Vec<Request>) {
        self.drop_all(dropped);
        self.phase = Phase::Gone;
        self.listening = false;
        self.ready = false;
        self.available = false;
    }

    /// The container dies (crash loop): everything held is dropped, the kubelet will restart
    /// it after a back-off; the pod object stays.
    pub fn crash(&mut self, dropped: &mut Vec<Request>) {
        self.drop_all(dropped);
        self.phase = Phase::Creating;
        self.listening = false;
        self.restarts += 1;
    }

    fn drop_all(&mut self, dropped: &mut Vec<Request>) {
        self.epoch = self.epoch.wrapping_add(1);
        for (i, s) in self.slots.iter_mut().enumerate() {
            if let Some(s) = s.take() {
                dropped.push(s.request);
                self.free_slots.push(i as u32);
            }
        }
        dropped.extend(self.queue.drain(..));
    }

    /// What the application does on SIGTERM.
    pub fn on_sigterm(&self) -> OnSigterm {
        self.on_sigterm
    }
}

/// The service time of `request` on `pod` starting at `now`: the version's distribution drawn
/// from the request's own luck, stretched by the pod's warm-up factor. The application-error
/// draw comes from the same luck, so a request's fate does not depend on which pod serves it.
pub fn draw_service(
    version: &VersionSpec,
    pod: &Pod,
    request: &Request,
    now: SimTime,
) -> (SimDuration, ServiceOutcome) {
    let mut luck = RngStream::from_seed_u64(request.luck);
    let uptime = now.saturating_since(pod.listening_since);
    let fault = super::fault::effect(&version.faults, now, uptime);
    let mut secs = version.service.sample_s(&mut luck) * fault.latency;
    if let Some(w) = version.pod.warmup.as_ref().filter(|_| !pod.warm) {
        let since = now.saturating_since(pod.listening_since);
        if since < w.duration && !w.duration.is_zero() {
            let left = 1.0 - since.as_secs_f64() / w.duration.as_secs_f64();
            secs *= 1.0 + (w.factor - 1.0) * left;
        }
    }
    // Two draws always, so a fault never shifts a request's other draws.
    let base_error = luck.uniform() < version.error_rate;
    let fault_error = luck.uniform() < fault.error_rate;
    let outcome = if base_error || fault_error {
        ServiceOutcome::AppError
    } else {
        ServiceOutcome::Ok
    };
    (SimDuration::from_secs_f64(secs), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dist, PodSpec};

    fn version(concurrency: u32, queue: Option<u32>) -> VersionSpec {
        VersionSpec {
            name: "v1".into(),
            service: Dist::Constant(SimDuration::from_millis(10)),
            error_rate: 0.0,
            conversion_rate: None,
            pod: PodSpec {
                concurrency,
                queue,
                startup: Dist::Constant(SimDuration::ZERO),
                app_init: Dist::Constant(SimDuration::ZERO),
                warmup: Some(crate::model::WarmupSpec {
                    factor: 3.0,
                    duration: SimDuration::from_secs(10),
                }),
                readiness: None,
                pre_stop: SimDuration::ZERO,
                grace: SimDuration::from_secs(30),
                on_sigterm: OnSigterm::Drain,
            },
            faults: vec![],
            bad: false,
        }
    }

    fn req(user: u32) -> Request {
        Request {
            arrived: SimTime::ZERO,
            user,
            luck: 1,
            idempotent: true,
            attempts: 0,
            last_pod: None,
            synthetic_for: None,
            handshake: false,
        }
    }

    fn running_pod(v: &VersionSpec) -> Pod {
        let mut p = Pod::new(PodId(0), RsId(0), VersionId(0), v, SimTime::ZERO);
        p.phase = Phase::Running;
        p.listening = true;
        p
    }

    #[test]
    fn workers_then_queue_then_queue_full() {
        let v = version(2, Some(1));
        let mut p = running_pod(&v);
        assert_eq!(p.offer(req(1)), Accept::Serving(0));
        assert_eq!(p.offer(req(2)), Accept::Serving(1));
        assert_eq!(p.offer(req(3)), Accept::Queued);
        assert_eq!(p.offer(req(4)), Accept::QueueFull);
        assert_eq!(p.active_requests(), 3);
    }

    #[test]
    fn not_listening_or_after_sigterm_refuses() {
        let v = version(1, None);
        let mut p = running_pod(&v);
        p.listening = false;
        assert_eq!(p.offer(req(1)), Accept::Refused);
        p.listening = true;
        p.sigterm = true;
        assert_eq!(p.offer(req(1)), Accept::Refused);
    }

    #[test]
    fn kill_drops_everything_and_voids_pending_completions() {
        let v = version(1, None);
        let mut p = running_pod(&v);
        let Accept::Serving(slot) = p.offer(req(1)) else {
            panic!("an idle pod serves at once");
        };
        p.offer(req(2));
        let epoch = p.epoch;
        let mut dropped = Vec::new();
        p.kill(&mut dropped);
        assert_eq!(dropped.len(), 2);
        assert_eq!(p.finish(slot, epoch), None);
        assert!(p.is_idle());
    }

    #[test]
    fn warmup_stretches_service_linearly() {
        let v = version(1, None);
        let p = running_pod(&v);
        let cold = draw_service(&v, &p, &req(1), SimTime::ZERO).0;
        let half = draw_service(&v, &p, &req(1), SimTime(5_000_000)).0;
        let warm = draw_service(&v, &p, &req(1), SimTime(20_000_000)).0;
        assert_eq!(cold, SimDuration::from_millis(30));
        assert_eq!(half, SimDuration::from_millis(20));
        assert_eq!(warm, SimDuration::from_millis(10));
    }

    #[test]
    fn a_request_makes_its_variants_calls_in_order_unless_it_failed() {
        let v = version(2, None);
        let mut p = running_pod(&v);
        let (a, b) = (DependencyId(0), DependencyId(1));
        let plan = vec![vec![a, b]];
        let Accept::Serving(slot) = p.offer(req(1)) else {
            panic!("an idle pod serves at once");
        };
        let epoch = p.epoch;
        assert_eq!(p.next_call(slot, epoch, &plan), Some((a, 1)));
        assert_eq!(p.next_call(slot, epoch, &plan), Some((b, 1)));
        assert_eq!(p.next_call(slot, epoch, &plan), None);
        assert!(
            p.holds(slot, epoch),
            "the worker stays held until the request finishes"
        );
        assert_eq!(p.active_requests(), 1);

        let Accept::Serving(other) = p.offer(req(2)) else {
            panic!("a second worker is free");
        };
        p.fail_in_service(other, epoch, crate::model::FailCause::QueueFull);
        assert_eq!(
            p.next_call(other, epoch, &plan),
            None,
            "a failed request skips its calls"
        );
        let (_, outcome, _) = p.finish(other, epoch).unwrap();
        assert_eq!(
            outcome,
            ServiceOutcome::Failed(crate::model::FailCause::QueueFull)
        );
        // A stale epoch (the pod was killed) neither calls nor holds.
        assert_eq!(p.next_call(slot, epoch + 1, &plan), None);
        assert!(!p.holds(slot, epoch + 1));
    }
}
