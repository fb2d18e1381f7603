//! A request's journey: arrival, routing (with retries), service, and its single outcome.

use super::{Event, Simulation};
use crate::engine::{keyed_uniform, SimDuration, SimTime};
use crate::model::{
    conversion_probability, draw_service, Accept, Ctx, FailCause, Pick, PodId, Request,
    ServiceOutcome, VersionId,
};

impl Simulation {
    pub(super) fn arrival(&mut self, now: SimTime) {
        let request = self.traffic.make_request(now);
        self.in_flight += 1;
        if let Some(t) = self.traffic.next_arrival_time() {
            self.queue.schedule_in_order(t, Event::Arrival);
        }
        self.route(request, now, FailCause::NoEndpoints);
    }

    /// One smoke-test request to `version` (only the monitor records its outcome).
    pub(super) fn smoke_request(
        &mut self,
        now: SimTime,
        version: VersionId,
        left: u32,
        gap: SimDuration,
    ) {
        let mut request = self.traffic.synthetic_request(now);
        request.synthetic_for = Some(version);
        self.in_flight += 1;
        if left > 0 {
            self.queue.schedule(
                now + gap,
                Event::Smoke {
                    version,
                    left: left - 1,
                    gap,
                },
            );
        }
        self.route(request, now, FailCause::NoEndpoints);
    }

    /// The moment the client gives up on `request`, if it has a timeout.
    fn gives_up_at(&self, request: &Request) -> Option<SimTime> {
        self.timeout.map(|t| request.arrived + t)
    }

    /// Sends `request` to an endpoint, retrying on connection errors as the balancer allows.
    /// `cause` is what the request fails with if no endpoint is left to try.
    pub(super) fn route(&mut self, mut request: Request, now: SimTime, mut cause: FailCause) {
        loop {
            if let Some(at) = self.gives_up_at(&request).filter(|at| *at <= now) {
                self.fail(
                    at,
                    &request,
                    last_version(&request, self),
                    FailCause::Timeout,
                );
                return;
            }
            let pick = match self.sticky_pick(&request) {
                Some(p) => Pick::Endpoint(p),
                None => self.lb.pick(&request, &self.cluster.pods, now),
            };
            let pod = match pick {
                Pick::NoEndpoint => {
                    if request.attempts == 0 && request.counted() {
                        self.metrics.arrival(now, request.user, None);
                    }
                    let version = last_version(&request, self);
                    self.fail(now, &request, version, cause);
                    return;
                }
                Pick::Endpoint(p) => p,
            };
            let version = self.cluster.pods[pod.index()].version;
            let variant = self.variant_for(pod, request.user);
            if request.attempts == 0 && request.counted() {
                self.metrics.arrival(now, request.user, Some(variant));
            }
            request.attempts = request.attempts.saturating_add(1);
            request.last_pod = Some(pod);
            let accept = self.cluster.pods[pod.index()].offer(request);
            if accept != Accept::Refused && request.counted() {
                // Exposure counts at routing: a pod of the variant accepted the request.
                self.metrics.handled(request.user, variant);
                self.pin(&request, pod);
            }
            match accept {
                Accept::Serving(slot) => {
                    self.start_service(pod, slot, &request, now);
                    return;
                }
                Accept::Queued => return,
                Accept::QueueFull => {
                    self.fail(now, &request, Some(version), FailCause::QueueFull);
                    return;
                }
                Accept::Refused => {
                    self.lb.record_failure(&request, pod, now);
                    cause = FailCause::ConnectionRefused;
                    if !self.lb.may_retry(&request, false) {
                        self.fail(now, &request, Some(version), cause);
                        return;
                    }
                    if request.counted() {
                        self.metrics.retry();
                    }
                }
            }
        }
    }

    fn start_service(&mut self, pod: PodId, slot: u32, request: &Request, now: SimTime) {
        let variant = self.variant_for(pod, request.user);
        let p = &self.cluster.pods[pod.index()];
        let spec = &self.scenario.versions[variant.index()];
        let mut drawn = draw_service(spec, p, request, now);
        let version = p.version;
        if request.handshake {
            drawn.0 = self.handshake_time();
        }
        let (duration, outcome) = self.check_session(request, pod, version, drawn);
        let p = &mut self.cluster.pods[pod.index()];
        p.set_outcome(slot, outcome, variant);
        let epoch = p.epoch;
        self.queue.schedule(
            now + duration,
            Event::Model(crate::model::ModelEvent::ServiceDone { pod, slot, epoch }),
        );
    }

    /// A phase of the request in `pod`'s `slot` ended (the application's work, or a call):
    /// it moves on to its next call if it has one, else it completes and frees the worker.
    pub(super) fn service_done(&mut self, now: SimTime, pod: PodId, slot: u32, epoch: u32) {
        // One predictable branch when no dependency is registered.
        if self.deps.any() && self.next_phase(now, pod, slot, epoch) {
            return;
        }
        let p = &mut self.cluster.pods[pod.index()];
        let pod_version = p.version;
        let Some((request, outcome, version)) = p.finish(slot, epoch) else {
            return;
        };
        // A draining ALB target's connections close at the end of the deregistration delay.
        let closed = self.lb.closes_at(pod).filter(|c| *c < now);
        match (self.gives_up_at(&request), closed, outcome) {
            (Some(at), c, _) if at < now && c.is_none_or(|c| at <= c) => {
                self.fail(at, &request, Some(version), FailCause::Timeout)
            }
            (_, Some(c), _) => self.fail(c, &request, Some(version), FailCause::ResetOnShutdown),
            (_, None, ServiceOutcome::AppError) => {
                self.fail(now, &request, Some(version), FailCause::AppError)
            }
            (_, None, ServiceOutcome::Failed(cause)) => {
                self.fail(now, &request, Some(version), cause)
            }
            (_, None, ServiceOutcome::Ok) if request.handshake => {
                self.handshake_done(now, request.user, Some(pod))
            }
            (_, None, ServiceOutcome::Ok) => {
                self.in_flight -= 1;
                // The client also waits for each attempt's connect and proxy hop.
                let latency = now - request.arrived + self.lb.attempt_overhead(request.attempts);
                if request.counted() {
                    self.metrics.ok(now, request.user, version, latency);
                    self.convert(now, &request, version);
                }
                self.monitor.record(now, version.index(), Some(latency));
            }
        }
        // The freed worker takes the next queued request whose client still waits.
        while self.cluster.pods[pod.index()].has_free_slot() {
            let Some(next) = self.cluster.pods[pod.index()].pop_queued() else {
                break;
            };
            match self.gives_up_at(&next).filter(|at| *at < now) {
                Some(at) => self.fail(at, &next, Some(pod_version), FailCause::Timeout),
                None => {
                    let slot = self.cluster.pods[pod.index()].start_from_queue(next);
                    self.start_service(pod, slot, &next, now);
                }
            }
        }
        // Only a pod that got SIGTERM can exit after draining.
        if self.cluster.pods[pod.index()].sigterm {
            let ctx = &mut Ctx::new(now, &mut self.queue, &mut self.dropped);
            self.cluster.maybe_exit_after_drain(pod, ctx);
            self.cut_ended(now);
        }
    }

    /// Requests a pod dropped without a response (killed, or exited on SIGTERM): a proxy that
    /// retries on a reset before the response sends them elsewhere; otherwise they fail.
    pub(super) fn handle_dropped(&mut self, now: SimTime) {
        if self.dropped.is_empty() {
            return;
        }
        let dropped = std::mem::take(&mut self.dropped);
        for request in &dropped {
            // A dropped request was held by a pod, so it always has one.
            if let Some(pod) = request.last_pod {
                self.lb.record_failure(request, pod, now);
            }
            if self.lb.may_retry(request, true)
                && self.gives_up_at(request).is_none_or(|at| at > now)
            {
                if request.counted() {
                    self.metrics.retry();
                }
                self.route(*request, now, FailCause::ResetOnShutdown);
            } else {
                let version = last_version(request, self);
                self.fail(now, request, version, FailCause::ResetOnShutdown);
            }
        }
        let mut dropped = dropped;
        dropped.clear();
        if self.dropped.is_empty() {
            self.dropped = dropped;
        }
    }

    /// Whether the successful `request` answered by `version` at `now` converts (the business
    /// metric): a keyed draw from the `conversion` stream against the version's rate times its
    /// active conversion faults. Versions without `conversion_rate` return at the first check.
    fn convert(&mut self, now: SimTime, request: &Request, version: VersionId) {
        let spec = &self.scenario.versions[version.index()];
        let Some(p) = conversion_probability(spec.conversion_rate, &spec.faults, now) else {
            return;
        };
        if keyed_uniform(self.conversion_seed, request.luck) < p {
            self.metrics.converted(version);
            self.monitor.convert(now, version.index());
        }
    }

    /// Records the single failure of `request`, seen by the client at `at`.
    fn fail(
        &mut self,
        at: SimTime,
        request: &Request,
        version: Option<VersionId>,
        cause: FailCause,
    ) {
        if request.handshake {
            self.handshake_done(at, request.user, None);
            return;
        }
        self.in_flight -= 1;
        if request.counted() {
            self.metrics.failed(at, request.user, version, cause);
        }
        let slot = version.map_or(self.scenario.versions.len(), |v| v.index());
        self.monitor.record(at, slot, None);
    }

    /// Whatever is still held by a pod when the run stops counts as `in_flight_at_end`.
    pub(super) fn count_unfinished(&mut self, end: SimTime) {
        let mut held = Vec::new();
        for pod in &mut self.cluster.pods {
            if pod.phase != crate::model::Phase::Gone && !pod.is_idle() {
                pod.kill(&mut held);
            }
        }
        for request in &held {
            let version = last_version(request, self);
            self.fail(end, request, version, FailCause::InFlightAtEnd);
        }
        debug_assert_eq!(self.in_flight, 0, "requests lost from accounting");
    }
}

fn last_version(request: &Request, sim: &Simulation) -> Option<VersionId> {
    request
        .last_pod
        .map(|p| sim.cluster.pods[p.index()].version)
}
