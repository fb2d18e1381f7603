//! Long-lived connections on the world (see `model::connections`): opened through the balancer
//! at the start, cut when their pod's process ends (or at its SIGTERM, as configured), and
//! reopened by a handshake — a request-like unit of work that takes a worker on the pod the
//! balancer picks and can fail like a request, after which the client backs off.
//!
//! Nothing here runs without a `[connections]` table: the world holds `None`.

use super::{Event, Simulation};
use crate::engine::{RngStream, SimTime, StreamName};
use crate::metrics::ConnectionSummary;
use crate::model::{CloseOn, Connections, Phase, Pick, PodId, Request};

impl Simulation {
    /// Opens the initial connections: each user holds one with the configured share (one draw
    /// per user from the `connections` stream), placed where the balancer sends it. They are
    /// taken as established before the run (no handshake).
    pub(super) fn setup_connections(&mut self) {
        let Some(spec) = self.scenario.connections.clone() else {
            return;
        };
        let users = self.scenario.traffic.users;
        let rng = RngStream::new(self.scenario.seed, StreamName::Connections);
        let mut c = Connections::new(spec, users, rng);
        for user in 0..users {
            if !c.draw_holder() {
                continue;
            }
            let r = handshake_request(SimTime::ZERO, user);
            if let Pick::Endpoint(pod) = self.lb.pick(&r, &self.cluster.pods, SimTime::ZERO) {
                c.open(user, pod);
            }
        }
        c.started();
        self.connections = Some(Box::new(c));
    }

    /// Cuts the connections of every pod that ended (or got SIGTERM, with `close_on =
    /// "sigterm"`) and schedules their reconnects. Called after events that can end a pod.
    pub(super) fn cut_ended(&mut self, now: SimTime) {
        let Some(c) = self.connections.as_mut() else {
            return;
        };
        let close_on = c.spec().close_on;
        for i in 0..c.per_pod().len() {
            if c.per_pod()[i] == 0 {
                continue;
            }
            let pod = &self.cluster.pods[i];
            let ended =
                pod.phase != Phase::Running || (close_on == CloseOn::Sigterm && pod.sigterm);
            if ended {
                let queue = &mut self.queue;
                c.cut(PodId(i as u32), |user, delay| {
                    queue.schedule(now + delay, Event::Reconnect(user));
                });
            }
        }
    }

    /// `user`'s client tries to reconnect: a handshake through the balancer. None after the
    /// traffic ends (the run is draining).
    pub(super) fn reconnect(&mut self, now: SimTime, user: u32) {
        if now >= self.traffic_end {
            return;
        }
        let Some(c) = self.connections.as_mut() else {
            return;
        };
        c.attempt_started(now);
        self.in_flight += 1;
        self.route(
            handshake_request(now, user),
            now,
            crate::model::FailCause::NoEndpoints,
        );
    }

    /// A handshake ended at `at`: the connection is open on `pod`, or (`None`) it failed and
    /// the client retries after its back-off.
    pub(super) fn handshake_done(&mut self, at: SimTime, user: u32, pod: Option<PodId>) {
        self.in_flight -= 1;
        let Some(c) = self.connections.as_mut() else {
            return;
        };
        // An app that closes its sockets at SIGTERM also turns new ones away while it shuts
        // down (the upgrade is answered with close code 1001): the client backs off.
        let pod = pod.filter(|p| {
            c.spec().close_on != CloseOn::Sigterm || !self.cluster.pods[p.index()].sigterm
        });
        match pod {
            Some(pod) => c.open(user, pod),
            None => {
                let delay = c.handshake_failed(user);
                self.queue.schedule(at + delay, Event::Reconnect(user));
            }
        }
    }

    /// The handshake's time on the worker (replaces the version's service time).
    pub(super) fn handshake_time(&mut self) -> crate::engine::SimDuration {
        self.connections
            .as_mut()
            .map_or(crate::engine::SimDuration::ZERO, |c| c.handshake_time())
    }

    /// Long-lived connections open on each version's pods now (the time series' column).
    pub(super) fn connections_by_version(&self) -> Option<Vec<u32>> {
        let c = self.connections.as_ref()?;
        let mut out = vec![0u32; self.scenario.versions.len()];
        for (i, n) in c.per_pod().iter().enumerate() {
            out[self.cluster.pods[i].version.index()] += n;
        }
        Some(out)
    }

    /// The summary's `connections` section (`None` without a `[connections]` table).
    pub(super) fn connection_summary(&self) -> Option<ConnectionSummary> {
        let c = self.connections.as_ref()?;
        let (cut, reconnects, failed_handshakes, peak) = c.counters();
        Some(ConnectionSummary {
            held_at_start: c.held_at_start(),
            cut,
            reconnects,
            failed_handshakes,
            peak_reconnect_rate: peak,
            open_at_end: c.active(),
        })
    }
}

/// A handshake of `user` sent at `at`: idempotent (a proxy may retry it on a connect error).
fn handshake_request(at: SimTime, user: u32) -> Request {
    Request {
        arrived: at,
        user,
        luck: crate::engine::stream_seed(u64::from(user) ^ at.as_micros(), "handshake"),
        idempotent: true,
        attempts: 0,
        last_pod: None,
        synthetic_for: None,
        handshake: true,
    }
}
