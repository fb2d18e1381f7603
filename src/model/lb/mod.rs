//! The load balancer: its own, late view of the endpoints, a picking policy, per-version
//! weights, retries, passive and (for an ALB) active health checks.
//!
//! Modelled behaviour:
//! * **Late endpoint view**: the balancer learns that a pod turned ready or started terminating
//!   only when the `EndpointUpdate` scheduled by the cluster arrives (the endpoints controller →
//!   kube-proxy / ingress / load-balancer controller propagation delay, one for additions and
//!   one for removals). Until then it keeps sending to a pod that may already refuse
//!   connections: the race behind dropped requests in rolling updates.
//! * **Weights** (for canaries, blue-green switches, ALB weighted target groups): with weights
//!   set, a version is chosen first by weight, then an endpoint within it; a version with weight
//!   but no endpoint answers 503, as a mesh route to an empty subset or an ALB target group
//!   without a healthy target does. Without weights, every endpoint is equally likely. Weights a
//!   controller publishes reach the router after the `add` propagation delay; the balancer
//!   keeps what was published and what it has learned by generation (`weights.rs`).
//! * **Retries** on a connect error or a reset before any response, to a different endpoint
//!   (nginx `proxy_next_upstream error`, Envoy `retry_on: connect-failure,reset` with the
//!   `previous_hosts` predicate); idempotent requests only unless configured otherwise.
//! * **Passive health checks**: `max_fails` failures within `fail_window` eject an endpoint for
//!   `ejection` (nginx `max_fails`/`fail_timeout`; Envoy outlier detection with
//!   `max_ejection_percent`). If every endpoint is ejected the balancer ignores ejections
//!   (Envoy's panic mode; nginx keeps a lone server in rotation). Whose state a failure counts
//!   against depends on `health_scope`: nginx's is per worker and per reload
//!   (`generation.rs`), Envoy's shared.
//! * **Target health checks** (ALB): a registered endpoint gets traffic only once it passes a
//!   check; deregistered ones drain (`targets.rs`).
//! * **Attempt overhead**: each attempt adds the connect and proxy hop to the latency the
//!   client sees (`attempt_overhead`); it is added to the measured latency, not to the pod's
//!   arrival time, which shifts no race by more than that millisecond.

mod generation;
mod spec;
mod sticky;
mod targets;
#[cfg(test)]
mod tests;
mod weights;

pub use spec::{HealthScope, LbPolicy, LbSpec, Propagation, TargetHealthCheck};
pub use sticky::Affinity;

use super::ids::{PodId, VersionId};
use super::pod::Pod;
use super::traffic::Request;
use crate::engine::{stream_seed, RngStream, SimDuration, SimTime, StreamName};
use generation::Generation;
use targets::{Target, TargetState, Transition};

/// The endpoint chosen for a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Send to this pod.
    Endpoint(PodId),
    /// No endpoint to send to (for this request's version, when weighted).
    NoEndpoint,
}

/// What applying an endpoint update or a health check did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Update {
    /// The set of endpoints receiving traffic changed.
    pub changed: bool,
    /// Run the next target health check of this pod at this time (same endpoint generation).
    pub health_check_at: Option<SimTime>,
}

/// The balancer's view and policy.
pub struct Balancer {
    spec: LbSpec,
    /// The workers configured last (all of them with `HealthScope::Shared`).
    cur: Generation,
    /// The workers of the previous configuration (`HealthScope::PerReload`).
    old: Generation,
    /// When the current configuration was loaded.
    reloaded_at: SimTime,
    /// Until when the previous generation still accepts new connections.
    old_accepts_until: SimTime,
    reloads: u64,
    applied_generation: Vec<u32>,
    targets: Vec<Target>,
    /// Registered targets that failed their health checks, by version: where an ALB sends a
    /// target group's traffic when none of its targets is healthy (fail open).
    unhealthy: Vec<Vec<PodId>>,
    weights: weights::Published,
    rng: RngStream,
    /// Health-check phases: a stream of its own, so routing draws stay the same.
    health_rng: RngStream,
}

impl Balancer {
    /// A balancer with no endpoints, for `versions` versions.
    pub fn new(spec: LbSpec, versions: usize, seed: u64) -> Self {
        let workers = match spec.health_scope {
            HealthScope::Shared => 1,
            HealthScope::PerReload => spec.workers.max(1) as usize,
        };
        Balancer {
            cur: Generation::new(versions, workers),
            old: Generation::new(versions, workers),
            reloaded_at: SimTime::ZERO,
            old_accepts_until: SimTime::ZERO,
            reloads: 0,
            applied_generation: Vec::new(),
            targets: Vec::new(),
            unhealthy: vec![Vec::new(); versions],
            weights: weights::Published::default(),
            rng: RngStream::new(seed, StreamName::Routing),
            health_rng: RngStream::from_seed_u64(stream_seed(seed, "target-health")),
            spec,
        }
    }

    /// The configuration in force.
    pub fn spec(&self) -> &LbSpec {
        &self.spec
    }

    /// Configuration reloads so far (`HealthScope::PerReload`).
    pub fn reloads(&self) -> u64 {
        self.reloads
    }

    /// Applies an endpoint update unless a later one for the same pod was applied already.
    /// With target health checks, an addition registers the target and asks for its first
    /// check; a removal starts draining it.
    pub fn apply_update(
        &mut self,
        pod: PodId,
        version: VersionId,
        generation: u32,
        serving: bool,
        now: SimTime,
    ) -> Update {
        let i = pod.index();
        if self.applied_generation.len() <= i {
            self.applied_generation.resize(i + 1, 0);
        }
        if generation < self.applied_generation[i] {
            return Update::default();
        }
        self.applied_generation[i] = generation;
        let Some(hc) = &self.spec.health_check else {
            return Update {
                changed: self.change_member(pod, version, serving, now),
                health_check_at: None,
            };
        };
        if self.targets.len() <= i {
            self.targets.resize(i + 1, Target::default());
        }
        if serving {
            self.targets[i].register();
            let phase = hc.interval.as_micros() as f64 * self.health_rng.uniform();
            return Update {
                changed: false,
                health_check_at: Some(now + SimDuration::from_micros(phase as u64)),
            };
        }
        if self.targets[i].state == TargetState::Unhealthy {
            self.unhealthy[version.index()].retain(|p| *p != pod);
        }
        let t = &mut self.targets[i];
        t.state = TargetState::Draining;
        t.closes_at = self.spec.deregistration_delay.map(|d| now + d);
        Update {
            changed: self.change_member(pod, version, false, now),
            health_check_at: None,
        }
    }

    /// A target health check of `pod` registered with endpoint `generation`: passes while the
    /// pod accepts connections. Stale chains (the pod was deregistered since) end here.
    pub fn health_check(
        &mut self,
        pod: PodId,
        generation: u32,
        pods: &[Pod],
        now: SimTime,
    ) -> Update {
        let Some(hc) = self.spec.health_check.clone() else {
            return Update::default();
        };
        let i = pod.index();
        if self.applied_generation.get(i) != Some(&generation)
            || !matches!(
                self.targets[i].state,
                TargetState::Initial | TargetState::Healthy | TargetState::Unhealthy
            )
        {
            return Update::default();
        }
        let p = &pods[i];
        let was_unhealthy = self.targets[i].state == TargetState::Unhealthy;
        let transition = self.targets[i].check(
            p.accepts_connections(),
            hc.healthy_threshold,
            hc.unhealthy_threshold,
            now,
        );
        let unhealthy = self.targets[i].state == TargetState::Unhealthy;
        if unhealthy != was_unhealthy {
            let list = &mut self.unhealthy[p.version.index()];
            if unhealthy {
                list.push(pod);
            } else {
                list.retain(|q| *q != pod);
            }
        }
        let changed = match transition {
            Transition::Same => false,
            Transition::In => self.change_member(pod, p.version, true, now),
            Transition::Out => self.change_member(pod, p.version, false, now),
        };
        Update {
            changed,
            health_check_at: Some(now + hc.interval),
        }
    }

    /// When the balancer closes the connections still open to a draining `pod` (ALB
    /// deregistration delay), if it does.
    pub fn closes_at(&self, pod: PodId) -> Option<SimTime> {
        self.targets
            .get(pod.index())
            .filter(|t| t.state == TargetState::Draining)
            .and_then(|t| t.closes_at)
    }

    /// Adds or removes `pod` from the view at once (initial fleet; tests). With target health
    /// checks, an added pod counts as a healthy target.
    pub fn set_member(&mut self, pod: PodId, version: VersionId, serving: bool) -> bool {
        if self.spec.health_check.is_some() && serving {
            let i = pod.index();
            if self.targets.len() <= i {
                self.targets.resize(i + 1, Target::default());
            }
            self.targets[i].state = TargetState::Healthy;
        }
        self.cur.set_member(pod, version, serving)
    }

    /// Changes the current view; with `HealthScope::PerReload` a change is a reload first.
    fn change_member(
        &mut self,
        pod: PodId,
        version: VersionId,
        serving: bool,
        now: SimTime,
    ) -> bool {
        if self.cur.contains(pod) == serving {
            return false;
        }
        self.reload(now);
        self.cur.set_member(pod, version, serving)
    }

    /// A configuration reload (nginx): the current workers become the old generation, which
    /// accepts new connections for `reload_overlap` more; new workers start with clean state.
    fn reload(&mut self, now: SimTime) {
        if self.spec.health_scope != HealthScope::PerReload {
            return;
        }
        self.old.copy_from(&self.cur);
        self.cur.fresh_workers();
        self.reloaded_at = now;
        self.old_accepts_until = now + self.spec.reload_overlap;
        self.reloads += 1;
    }

    /// Sets per-version traffic weights at once (`None`: split by endpoint count).
    pub fn set_weights(&mut self, weights: Option<Vec<u32>>) {
        self.cur.weights = weights;
    }

    /// The weights in force, if any.
    pub fn weights(&self) -> Option<&[u32]> {
        self.cur.weights.as_deref()
    }

    /// Endpoints of each version in the current view.
    pub fn endpoints_of(&self, version: VersionId) -> usize {
        self.cur.by_version[version.index()].len()
    }

    /// Whether `pod` is an endpoint in the current view (cookie affinity follows it).
    pub fn in_view(&self, pod: PodId) -> bool {
        self.cur.contains(pod)
    }

    /// All endpoints in the current view.
    pub fn endpoint_count(&self) -> usize {
        self.cur.all.len()
    }

    /// How many versions would receive traffic now (endpoints present and, when weighted,
    /// weight above zero).
    pub fn versions_receiving_traffic(&self) -> usize {
        let g = &self.cur;
        (0..g.by_version.len())
            .filter(|&v| {
                !g.by_version[v].is_empty()
                    && g.weights
                        .as_ref()
                        .is_none_or(|w| w.get(v).copied().unwrap_or(0) > 0)
            })
            .count()
    }

    /// The latency `attempts` attempts add to a response (connect + proxy hop each).
    pub fn attempt_overhead(&self, attempts: u8) -> SimDuration {
        SimDuration::from_micros(self.spec.attempt_overhead.as_micros() * u64::from(attempts))
    }

    /// Which generation (old or current) and which of its workers handle `request`. The worker
    /// that accepted the client's connection proxies every attempt: it is chosen from the
    /// request's own luck (no draw), among the workers accepting when it arrived — both
    /// generations during a reload's overlap, only the old one before the last reload.
    fn worker_of(&self, request: &Request) -> (bool, usize) {
        if self.spec.health_scope == HealthScope::Shared {
            return (false, 0);
        }
        let w = self.spec.workers.max(1) as u64;
        let draw = mix(request.luck);
        let t = request.arrived;
        if self.reloads == 0 || t >= self.old_accepts_until {
            (false, (draw % w) as usize)
        } else if t < self.reloaded_at {
            (true, (draw % w) as usize)
        } else {
            let k = draw % (2 * w);
            (k < w, (k % w) as usize)
        }
    }

    /// Whether `request` may be tried on another endpoint after a connect error
    /// (`after_send` false: nothing reached the server, any request may go elsewhere) or a
    /// reset before the response (`after_send` true: only if resets are retried, and only
    /// idempotent requests unless configured). Never more tries than endpoints.
    pub fn may_retry(&self, request: &Request, after_send: bool) -> bool {
        let (old, _) = self.worker_of(request);
        let endpoints = if old { &self.old } else { &self.cur }.all.len();
        u32::from(request.attempts) <= self.spec.retries
            && usize::from(request.attempts) < endpoints
            && (!after_send
                || (self.spec.retry_on_reset
                    && (request.idempotent || self.spec.retry_non_idempotent)))
    }

    /// Records a connect error or reset of `request` on `pod` for passive health checking, in
    /// the state of the worker that proxied it.
    pub fn record_failure(&mut self, request: &Request, pod: PodId, now: SimTime) {
        if self.spec.max_fails == 0 {
            return;
        }
        let (old, worker) = self.worker_of(request);
        let g = if old { &mut self.old } else { &mut self.cur };
        g.record_failure(&self.spec, pod, worker, now);
    }

    /// Chooses an endpoint for `request` (never its `last_pod` when another exists). A
    /// synthetic request goes to its own version's endpoints, whatever the weights.
    pub fn pick(&mut self, request: &Request, pods: &[Pod], now: SimTime) -> Pick {
        let (old, worker) = self.worker_of(request);
        let g = if old { &mut self.old } else { &mut self.cur };
        let rng = &mut self.rng;
        let version = if let Some(v) = request.synthetic_for {
            Some(v.index())
        } else {
            match &g.weights {
                None => None,
                Some(w) => match weighted_index(w, rng) {
                    Some(v) => Some(v),
                    None => return Pick::NoEndpoint,
                },
            }
        };
        let exclude = request.last_pod;
        let pool_len = g.pool(version).len();
        if pool_len == 0 {
            return self.fail_open(version, exclude);
        }
        let check_health = self.spec.max_fails > 0;
        let slow_start = self.spec.slow_start;
        let targets = &self.targets;
        let usable = |g: &Generation, p: PodId, rng: &mut RngStream| {
            (!check_health || !g.is_ejected(p, worker, now))
                && (slow_start.is_zero() || ramped(targets, p, slow_start, now, rng))
        };
        // A few picks by the policy; if they keep landing on the excluded or ejected endpoints,
        // scan for a usable one; failing that, any non-excluded endpoint (panic mode).
        for _ in 0..8 {
            let p = g.choose(self.spec.policy, version, worker, pool_len, pods, rng);
            if Some(p) != exclude && usable(g, p, rng) {
                return Pick::Endpoint(p);
            }
        }
        let start = rng.index(pool_len);
        let mut fallback = None;
        for i in 0..pool_len {
            let p = g.pool(version)[(start + i) % pool_len];
            if Some(p) == exclude {
                continue;
            }
            if usable(g, p, rng) {
                return Pick::Endpoint(p);
            }
            fallback.get_or_insert(p);
        }
        match fallback {
            Some(p) => Pick::Endpoint(p),
            None => Pick::NoEndpoint,
        }
    }
}

impl Balancer {
    /// An ALB target group with registered targets but none healthy routes to all of them
    /// ("fail open", `target-group-health-checks.md`); a group with no registered target, or
    /// only `initial` ones, answers 503.
    fn fail_open(&mut self, version: Option<usize>, exclude: Option<PodId>) -> Pick {
        let pick_from = |list: &[PodId], rng: &mut RngStream| match list.len() {
            0 => None,
            n => Some(list[rng.index(n)]),
        };
        let p = match version {
            Some(v) => pick_from(&self.unhealthy[v], &mut self.rng),
            None => {
                let n: usize = self.unhealthy.iter().map(Vec::len).sum();
                let mut k = if n == 0 { 0 } else { self.rng.index(n) };
                self.unhealthy.iter().find_map(|l| {
                    if k < l.len() {
                        Some(l[k])
                    } else {
                        k -= l.len();
                        None
                    }
                })
            }
        };
        match p {
            Some(p) if Some(p) != exclude => Pick::Endpoint(p),
            _ => Pick::NoEndpoint,
        }
    }
}

/// Slow start: a target healthy for `elapsed` of `ramp` takes a pick with probability
/// `elapsed / ramp` (ALB's linear ramp of the target's share).
fn ramped(
    targets: &[Target],
    pod: PodId,
    ramp: SimDuration,
    now: SimTime,
    rng: &mut RngStream,
) -> bool {
    let Some(t) = targets.get(pod.index()) else {
        return true;
    };
    let Some(since) = t.healthy_since else {
        return true;
    };
    let elapsed = now.saturating_since(since);
    elapsed >= ramp || rng.uniform() * (ramp.as_micros() as f64) < elapsed.as_micros() as f64
}

/// SplitMix64's finaliser: spreads a request's luck over worker processes without a draw.
fn mix(luck: u64) -> u64 {
    let mut z = luck ^ 0x6e67_696e_785f_7770;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A version index drawn with probability proportional to its weight; `None` if all are 0.
fn weighted_index(weights: &[u32], rng: &mut RngStream) -> Option<usize> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return None;
    }
    let mut x = (rng.uniform() * total as f64) as u64;
    for (i, w) in weights.iter().enumerate() {
        if x < u64::from(*w) {
            return Some(i);
        }
        x -= u64::from(*w);
    }
    Some(weights.len() - 1)
}
