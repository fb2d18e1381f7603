//! Long-lived connections (WebSockets, server-sent events, gRPC streams): a share of users hold
//! one connection to one pod, opened through the balancer, until the pod's termination cuts it;
//! then the client reconnects — at once, or after an exponential back-off with full jitter —
//! and each reconnect is a handshake the target pod serves like a request.
//!
//! What is modelled, with sources (`../shared/reference/state.md` §4):
//! - When the cut happens. Kubernetes sends SIGTERM after preStop and SIGKILL at the end of
//!   `terminationGracePeriodSeconds` (kubernetes.io, "Pod Lifecycle: Termination of Pods").
//!   An app that handles SIGTERM sends a close frame with code 1001 "going away" then
//!   (`close_on = "sigterm"`); one that does not keeps its sockets until the process ends
//!   (exit after draining, or SIGKILL), and clients see 1006 "abnormal closure" with no close
//!   frame (`close_on = "exit"`) — RFC 6455 §7.4.1. Either way the client learns it at once.
//! - How clients come back. AWS Architecture Blog, "Exponential Backoff and Jitter" (Marc
//!   Brooker, 2015), as in its simulator (`aws-samples/aws-arch-backoff-simulator`,
//!   `backoff_simulator.py`): `expo(n) = min(cap, base · 2ⁿ)`; no jitter sleeps `expo(n)`,
//!   full jitter sleeps `U(0, expo(n))`. `backoff = "none"` is the naive client: the first
//!   reconnect at once, every retry `base` later, all clients in lock-step.
//! - What a reconnect costs. The thundering herd of state.md §4.5: a pod with N sockets dying
//!   yields N reconnects within a round trip; the survivors each absorb N / remaining, each
//!   paying the set-up (TLS, upgrade, authentication) — here a handshake that holds a worker
//!   for `handshake` and can fail like a request (queue full, refused, timeout), after which
//!   the client backs off and tries again.
//!
//! - Not modelled: nginx closes a proxied WebSocket idle for `proxy_read_timeout` (60 s) and,
//!   on a reload, old worker processes keep their WebSockets (old configuration) until they
//!   close or `worker_shutdown_timeout` ends them (nginx.org `websocket.xml`,
//!   `ngx_http_proxy_module`, `control.xml`; state.md §4.3): here clients ping, and a
//!   connection lives on its pod, not on a balancer worker.
//!
//! Memory: per user one `u32` (the pod holding the user's connection, or none) and one `u8`
//! (failed attempts in a row); per pod one `u32` (connections held). Nothing per request.

use crate::engine::{RngStream, SimDuration, SimTime};

use super::{Dist, PodId};

/// When a terminating pod's connections end.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CloseOn {
    /// At SIGTERM: the app closes its sockets (close code 1001) before draining requests.
    Sigterm,
    /// When the process ends (exit after drain, or SIGKILL at the grace period's end).
    Exit,
}

/// How a client waits before reconnect attempt `n` (0 = the first after the cut).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// The first attempt at once, each retry `base` later: every client in lock-step.
    None,
    /// `min(cap, base · 2ⁿ)`, no jitter.
    Exponential,
    /// `U(0, min(cap, base · 2ⁿ))`: Brooker's "full jitter".
    FullJitter,
}

/// The `[connections]` table, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionSpec {
    /// Share of users holding a connection (0–1), drawn per user from the `connections` stream.
    pub share: f64,
    /// When termination cuts a pod's connections.
    pub close_on: CloseOn,
    /// The reconnect policy.
    pub backoff: Backoff,
    /// Back-off base.
    pub base: SimDuration,
    /// Back-off cap.
    pub cap: SimDuration,
    /// Time a handshake holds a worker of the target pod.
    pub handshake: Dist,
}

/// No connection (a user without one, or one waiting to reconnect).
const NONE: u32 = u32::MAX;

/// Every long-lived connection of the run and its counters.
pub struct Connections {
    spec: ConnectionSpec,
    /// Per user: the pod holding their connection (`NONE`: none open).
    pod_of: Vec<u32>,
    /// Per user: failed handshakes in a row (the back-off exponent).
    attempt: Vec<u8>,
    /// Per pod: connections it holds.
    per_pod: Vec<u32>,
    rng: RngStream,
    active: u32,
    held_at_start: u32,
    cut: u64,
    reconnects: u64,
    failed_handshakes: u64,
    /// The 1-second window `[second, second + 1 s)` being counted, its count, the peak.
    window: u64,
    in_window: u64,
    peak: u64,
}

impl Connections {
    /// The run's connections, none open yet.
    pub fn new(spec: ConnectionSpec, users: u32, rng: RngStream) -> Self {
        Connections {
            spec,
            pod_of: vec![NONE; users as usize],
            attempt: vec![0; users as usize],
            per_pod: Vec::new(),
            rng,
            active: 0,
            held_at_start: 0,
            cut: 0,
            reconnects: 0,
            failed_handshakes: 0,
            window: 0,
            in_window: 0,
            peak: 0,
        }
    }

    /// The spec.
    pub fn spec(&self) -> &ConnectionSpec {
        &self.spec
    }

    /// Whether `user` holds a connection from the start (one draw per user, in user order).
    pub fn draw_holder(&mut self) -> bool {
        self.rng.uniform() < self.spec.share
    }

    /// `user`'s connection is now open on `pod` (a handshake succeeded, or the initial one).
    pub fn open(&mut self, user: u32, pod: PodId) {
        let i = pod.index();
        if self.per_pod.len() <= i {
            self.per_pod.resize(i + 1, 0);
        }
        self.per_pod[i] += 1;
        self.pod_of[user as usize] = pod.0;
        self.attempt[user as usize] = 0;
        self.active += 1;
    }

    /// Connections `pod` holds.
    #[inline]
    pub fn held_by(&self, pod: PodId) -> u32 {
        self.per_pod.get(pod.index()).copied().unwrap_or(0)
    }

    /// Cuts every connection of `pod`: calls `reconnect(user, delay)` for each, in user order.
    /// A scan over users, run only when a pod holding connections ends.
    pub fn cut(&mut self, pod: PodId, mut reconnect: impl FnMut(u32, SimDuration)) {
        if self.held_by(pod) == 0 {
            return;
        }
        for user in 0..self.pod_of.len() {
            if self.pod_of[user] == pod.0 {
                self.pod_of[user] = NONE;
                self.attempt[user] = 0;
                self.active -= 1;
                self.cut += 1;
                let d = self.delay(0);
                reconnect(user as u32, d);
            }
        }
        self.per_pod[pod.index()] = 0;
    }

    /// A reconnect attempt starts at `now` (counted in `reconnects` and its 1 s window).
    pub fn attempt_started(&mut self, now: SimTime) {
        self.reconnects += 1;
        let second = now.as_micros() / 1_000_000;
        if second != self.window {
            self.window = second;
            self.in_window = 0;
        }
        self.in_window += 1;
        self.peak = self.peak.max(self.in_window);
    }

    /// `user`'s handshake failed: the delay before their next attempt.
    pub fn handshake_failed(&mut self, user: u32) -> SimDuration {
        self.failed_handshakes += 1;
        let a = &mut self.attempt[user as usize];
        *a = a.saturating_add(1);
        let n = *a;
        self.delay(n)
    }

    /// Sleep before attempt `n` (state.md §4.4).
    fn delay(&mut self, n: u8) -> SimDuration {
        let base = self.spec.base.as_micros();
        let expo = base
            .saturating_mul(1u64 << u32::from(n).min(40))
            .min(self.spec.cap.as_micros());
        SimDuration::from_micros(match self.spec.backoff {
            Backoff::None if n == 0 => 0,
            Backoff::None => base,
            Backoff::Exponential => expo,
            Backoff::FullJitter => (self.rng.uniform() * expo as f64) as u64,
        })
    }

    /// The handshake's duration.
    pub fn handshake_time(&mut self) -> SimDuration {
        self.spec.handshake.sample(&mut self.rng)
    }

    /// Connections open now.
    pub fn active(&self) -> u32 {
        self.active
    }

    /// The connections open now are the run's initial ones.
    pub fn started(&mut self) {
        self.held_at_start = self.active;
    }

    /// Connections open at the start.
    pub fn held_at_start(&self) -> u32 {
        self.held_at_start
    }

    /// Connections held by each pod (index: pod id; shorter than the pod list when the last
    /// pods hold none).
    pub fn per_pod(&self) -> &[u32] {
        &self.per_pod
    }

    /// (cut, reconnect attempts, failed handshakes, peak attempts in one 1 s window).
    pub fn counters(&self) -> (u64, u64, u64, u64) {
        (self.cut, self.reconnects, self.failed_handshakes, self.peak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StreamName;

    fn conns(backoff: Backoff) -> Connections {
        let spec = ConnectionSpec {
            share: 1.0,
            close_on: CloseOn::Sigterm,
            backoff,
            base: SimDuration::from_millis(100),
            cap: SimDuration::from_secs(1),
            handshake: Dist::Constant(SimDuration::from_millis(10)),
        };
        Connections::new(spec, 4, RngStream::new(1, StreamName::Connections))
    }

    #[test]
    fn backoff_follows_brookers_formulas() {
        let mut c = conns(Backoff::Exponential);
        let ms = |d: SimDuration| d.as_micros() / 1000;
        assert_eq!(
            (0..6).map(|n| ms(c.delay(n))).collect::<Vec<_>>(),
            [100, 200, 400, 800, 1000, 1000]
        );
        let mut c = conns(Backoff::None);
        assert_eq!((ms(c.delay(0)), ms(c.delay(3))), (0, 100));
        let mut c = conns(Backoff::FullJitter);
        for n in 0..6u8 {
            let cap = (100u64 << n).min(1000);
            let d: Vec<u64> = (0..200).map(|_| ms(c.delay(n))).collect();
            assert!(d.iter().all(|x| *x <= cap));
            assert!(d.iter().any(|x| *x < cap / 4) && d.iter().any(|x| *x > cap * 3 / 4));
        }
    }

    #[test]
    fn a_cut_closes_the_pods_connections_only_and_counts_them() {
        let mut c = conns(Backoff::None);
        c.open(0, PodId(1));
        c.open(1, PodId(2));
        c.open(3, PodId(1));
        let mut got = vec![];
        c.cut(PodId(1), |u, d| got.push((u, d)));
        assert_eq!(got, [(0, SimDuration::ZERO), (3, SimDuration::ZERO)]);
        assert_eq!(
            (c.active(), c.held_by(PodId(1)), c.held_by(PodId(2))),
            (1, 0, 1)
        );
        c.attempt_started(SimTime(3_000_000));
        c.attempt_started(SimTime(3_000_000));
        c.attempt_started(SimTime(4_000_000));
        assert_eq!(c.counters(), (2, 3, 0, 2));
        assert_eq!(c.handshake_failed(0), SimDuration::from_millis(100));
    }
}
