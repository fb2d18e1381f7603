//! The load balancer: its own, late view of the endpoints, a picking policy, per-version
//! weights, retries and passive health checks.
//!
//! Modelled behaviour:
//! * **Late endpoint view**: the balancer learns that a pod turned ready or started terminating
//!   only when the `EndpointUpdate` scheduled by the cluster arrives (the endpoints controller →
//!   kube-proxy / ingress propagation delay). Until then it keeps sending to a pod that may
//!   already refuse connections: the race behind dropped requests in rolling updates.
//! * **Weights** (for canaries): with weights set, a version is chosen first by weight, then an
//!   endpoint within it; a version with weight but no endpoint answers 503, as a mesh route to an
//!   empty subset does. Without weights, every endpoint is equally likely (traffic splits by pod
//!   count, as behind a plain Service).
//! * **Retries** on a connect error or a reset before any response, to a different endpoint
//!   (nginx `proxy_next_upstream error`, Envoy `retry_on: connect-failure,reset` with the
//!   `previous_hosts` predicate); idempotent requests only unless configured otherwise.
//! * **Passive health checks**: `max_fails` failures within `fail_window` eject an endpoint for
//!   `ejection` (nginx `max_fails`/`fail_timeout`; Envoy outlier detection with
//!   `max_ejection_percent`). If every endpoint is ejected the balancer ignores ejections
//!   (Envoy's panic mode; nginx keeps a lone server in rotation).

use super::ids::{PodId, VersionId};
use super::pod::Pod;
use super::spec::{LbPolicy, LbSpec};
use super::traffic::Request;
use crate::engine::{RngStream, SimTime, StreamName};

const NONE: u32 = u32::MAX;

/// The endpoint chosen for a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Send to this pod.
    Endpoint(PodId),
    /// No endpoint to send to (for this request's version, when weighted).
    NoEndpoint,
}

#[derive(Copy, Clone, Debug, Default)]
struct Health {
    fails: u32,
    window_start: SimTime,
    ejected_until: SimTime,
}

/// The balancer's view and policy.
pub struct Balancer {
    spec: LbSpec,
    all: Vec<PodId>,
    pos_all: Vec<u32>,
    by_version: Vec<Vec<PodId>>,
    pos_version: Vec<u32>,
    applied_generation: Vec<u32>,
    health: Vec<Health>,
    weights: Option<Vec<u32>>,
    cursor_all: usize,
    cursor_version: Vec<usize>,
    rng: RngStream,
}

impl Balancer {
    /// A balancer with no endpoints, for `versions` versions.
    pub fn new(spec: LbSpec, versions: usize, seed: u64) -> Self {
        Balancer {
            spec,
            all: Vec::new(),
            pos_all: Vec::new(),
            by_version: vec![Vec::new(); versions],
            pos_version: Vec::new(),
            applied_generation: Vec::new(),
            health: Vec::new(),
            weights: None,
            cursor_all: 0,
            cursor_version: vec![0; versions],
            rng: RngStream::new(seed, StreamName::Routing),
        }
    }

    /// The configuration in force.
    pub fn spec(&self) -> &LbSpec {
        &self.spec
    }

    fn grow(&mut self, pod: PodId) {
        let need = pod.index() + 1;
        if self.pos_all.len() < need {
            self.pos_all.resize(need, NONE);
            self.pos_version.resize(need, NONE);
            self.applied_generation.resize(need, 0);
            self.health.resize(need, Health::default());
        }
    }

    /// Applies an endpoint update unless a later one for the same pod was applied already.
    /// Returns whether the set of endpoints changed.
    pub fn apply_update(
        &mut self,
        pod: PodId,
        version: VersionId,
        generation: u32,
        serving: bool,
    ) -> bool {
        self.grow(pod);
        if generation < self.applied_generation[pod.index()] {
            return false;
        }
        self.applied_generation[pod.index()] = generation;
        self.set_member(pod, version, serving)
    }

    /// Adds or removes `pod` from the view at once (initial fleet; tests).
    pub fn set_member(&mut self, pod: PodId, version: VersionId, serving: bool) -> bool {
        self.grow(pod);
        let i = pod.index();
        let present = self.pos_all[i] != NONE;
        if serving == present {
            return false;
        }
        if serving {
            self.pos_all[i] = self.all.len() as u32;
            self.all.push(pod);
            let list = &mut self.by_version[version.index()];
            self.pos_version[i] = list.len() as u32;
            list.push(pod);
        } else {
            remove(&mut self.all, &mut self.pos_all, pod);
            remove(
                &mut self.by_version[version.index()],
                &mut self.pos_version,
                pod,
            );
        }
        true
    }

    /// Sets per-version traffic weights (`None`: split by endpoint count).
    pub fn set_weights(&mut self, weights: Option<Vec<u32>>) {
        self.weights = weights;
    }

    /// The weights in force, if any.
    pub fn weights(&self) -> Option<&[u32]> {
        self.weights.as_deref()
    }

    /// Endpoints of each version in the current view.
    pub fn endpoints_of(&self, version: VersionId) -> usize {
        self.by_version[version.index()].len()
    }

    /// All endpoints in the current view.
    pub fn endpoint_count(&self) -> usize {
        self.all.len()
    }

    /// How many versions would receive traffic now (endpoints present and, when weighted,
    /// weight above zero).
    pub fn versions_receiving_traffic(&self) -> usize {
        (0..self.by_version.len())
            .filter(|&v| {
                !self.by_version[v].is_empty()
                    && self
                        .weights
                        .as_ref()
                        .is_none_or(|w| w.get(v).copied().unwrap_or(0) > 0)
            })
            .count()
    }

    /// Whether `request` may be tried on another endpoint after a connect error
    /// (`after_send` false: nothing reached the server, any request may go elsewhere) or a
    /// reset before the response (`after_send` true: only if resets are retried, and only
    /// idempotent requests unless configured). Never more tries than endpoints.
    pub fn may_retry(&self, request: &Request, after_send: bool) -> bool {
        u32::from(request.attempts) <= self.spec.retries
            && usize::from(request.attempts) < self.all.len()
            && (!after_send
                || (self.spec.retry_on_reset
                    && (request.idempotent || self.spec.retry_non_idempotent)))
    }

    /// Records a connect error or reset on `pod` for passive health checking.
    pub fn record_failure(&mut self, pod: PodId, now: SimTime) {
        if self.spec.max_fails == 0 {
            return;
        }
        self.grow(pod);
        let h = &mut self.health[pod.index()];
        if now.saturating_since(h.window_start) > self.spec.fail_window {
            h.fails = 0;
            h.window_start = now;
        }
        h.fails += 1;
        if h.fails >= self.spec.max_fails {
            let ejected = self
                .all
                .iter()
                .filter(|p| self.is_ejected(**p, now))
                .count();
            let cap = self.all.len() * self.spec.max_ejection_percent as usize / 100;
            let h = &mut self.health[pod.index()];
            if ejected < cap.max(1) {
                h.ejected_until = now + self.spec.ejection;
                h.fails = 0;
            }
        }
    }

    fn is_ejected(&self, pod: PodId, now: SimTime) -> bool {
        self.health
            .get(pod.index())
            .is_some_and(|h| h.ejected_until > now)
    }

    /// Chooses an endpoint for `request` (never its `last_pod` when another exists). A
    /// synthetic request goes to its own version's endpoints, whatever the weights.
    pub fn pick(&mut self, request: &Request, pods: &[Pod], now: SimTime) -> Pick {
        let version = if let Some(v) = request.synthetic_for {
            Some(v.index())
        } else {
            match &self.weights {
                None => None,
                Some(w) => match weighted_index(w, &mut self.rng) {
                    Some(v) => Some(v),
                    None => return Pick::NoEndpoint,
                },
            }
        };
        let exclude = request.last_pod;
        let pool_len = match version {
            None => self.all.len(),
            Some(v) => self.by_version[v].len(),
        };
        if pool_len == 0 {
            return Pick::NoEndpoint;
        }
        let check_health = self.spec.max_fails > 0;
        let usable = |lb: &Self, p: PodId| !check_health || !lb.is_ejected(p, now);
        // A few picks by the policy; if they keep landing on the excluded or ejected endpoints,
        // scan for a usable one; failing that, any non-excluded endpoint (panic mode).
        for _ in 0..8 {
            let p = self.choose(version, pool_len, pods);
            if Some(p) != exclude && usable(self, p) {
                return Pick::Endpoint(p);
            }
        }
        let pool: &[PodId] = match version {
            None => &self.all,
            Some(v) => &self.by_version[v],
        };
        let start = self.rng.index(pool_len);
        let mut fallback = None;
        for i in 0..pool_len {
            let p = pool[(start + i) % pool_len];
            if Some(p) == exclude {
                continue;
            }
            if usable(self, p) {
                return Pick::Endpoint(p);
            }
            fallback.get_or_insert(p);
        }
        match fallback {
            Some(p) => Pick::Endpoint(p),
            None => Pick::NoEndpoint,
        }
    }

    fn choose(&mut self, version: Option<usize>, len: usize, pods: &[Pod]) -> PodId {
        let pool: &[PodId] = match version {
            None => &self.all,
            Some(v) => &self.by_version[v],
        };
        match self.spec.policy {
            LbPolicy::Random => pool[self.rng.index(len)],
            LbPolicy::RoundRobin => {
                let cursor = match version {
                    None => &mut self.cursor_all,
                    Some(v) => &mut self.cursor_version[v],
                };
                *cursor = (*cursor + 1) % len;
                pool[*cursor]
            }
            LbPolicy::LeastRequest => {
                let a = pool[self.rng.index(len)];
                if len == 1 {
                    return a;
                }
                let b = pool[self.rng.index(len)];
                if pods[b.index()].active_requests() < pods[a.index()].active_requests() {
                    b
                } else {
                    a
                }
            }
        }
    }
}

fn remove(list: &mut Vec<PodId>, pos: &mut [u32], pod: PodId) {
    let i = pos[pod.index()];
    if i == NONE {
        return;
    }
    let last = *list.last().expect("position recorded for an empty list");
    list.swap_remove(i as usize);
    if last != pod {
        pos[last.index()] = i;
    }
    pos[pod.index()] = NONE;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;
    use crate::model::{Dist, Phase, PodSpec, RsId, VersionSpec};

    fn spec(policy: LbPolicy, max_fails: u32) -> LbSpec {
        LbSpec {
            preset: "test".into(),
            policy,
            propagation: Dist::Constant(SimDuration::ZERO),
            retries: 1,
            retry_on_reset: true,
            retry_non_idempotent: false,
            max_fails,
            fail_window: SimDuration::from_secs(10),
            ejection: SimDuration::from_secs(10),
            max_ejection_percent: 100,
        }
    }

    fn pods(n: u32) -> Vec<Pod> {
        let v = VersionSpec {
            name: "v".into(),
            service: Dist::Constant(SimDuration::from_millis(1)),
            error_rate: 0.0,
            pod: PodSpec {
                concurrency: 4,
                queue: None,
                startup: Dist::Constant(SimDuration::ZERO),
                app_init: Dist::Constant(SimDuration::ZERO),
                warmup: None,
                readiness: None,
                pre_stop: SimDuration::ZERO,
                grace: SimDuration::from_secs(30),
                on_sigterm: crate::model::OnSigterm::Drain,
            },
            faults: vec![],
            bad: false,
        };
        (0..n)
            .map(|i| {
                let mut p = Pod::new(PodId(i), RsId(0), VersionId(0), &v, SimTime::ZERO);
                p.phase = Phase::Running;
                p.listening = true;
                p
            })
            .collect()
    }

    fn req() -> Request {
        Request {
            arrived: SimTime::ZERO,
            user: 0,
            luck: 0,
            idempotent: true,
            attempts: 0,
            last_pod: None,
            synthetic_for: None,
        }
    }

    fn lb_with(policy: LbPolicy, n: u32, max_fails: u32) -> Balancer {
        let mut lb = Balancer::new(spec(policy, max_fails), 2, 1);
        for i in 0..n {
            lb.set_member(PodId(i), VersionId((i % 2) as u16), true);
        }
        lb
    }

    #[test]
    fn round_robin_visits_every_endpoint_in_turn() {
        let ps = pods(4);
        let mut lb = lb_with(LbPolicy::RoundRobin, 4, 0);
        let mut seen: Vec<u32> = (0..8)
            .map(|_| match lb.pick(&req(), &ps, SimTime::ZERO) {
                Pick::Endpoint(p) => p.0,
                Pick::NoEndpoint => panic!(),
            })
            .collect();
        assert_eq!(&seen[..4], &seen[4..]);
        seen.truncate(4);
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3]);
    }

    #[test]
    fn least_request_prefers_the_idler_of_two() {
        let mut ps = pods(2);
        for _ in 0..3 {
            ps[0].offer(req());
        }
        let mut lb = lb_with(LbPolicy::LeastRequest, 2, 0);
        let to_idle = (0..1000)
            .filter(|_| lb.pick(&req(), &ps, SimTime::ZERO) == Pick::Endpoint(PodId(1)))
            .count();
        // Both draws land on pod 0 a quarter of the time; otherwise pod 1 wins.
        assert!((700..=800).contains(&to_idle), "{to_idle}");
    }

    #[test]
    fn weights_route_by_version_and_empty_versions_answer_503() {
        let ps = pods(4);
        let mut lb = lb_with(LbPolicy::Random, 4, 0);
        lb.set_weights(Some(vec![90, 10]));
        let to_v1 = (0..10_000)
            .filter(|_| match lb.pick(&req(), &ps, SimTime::ZERO) {
                Pick::Endpoint(p) => p.0 % 2 == 1,
                Pick::NoEndpoint => false,
            })
            .count();
        assert!((900..=1100).contains(&to_v1), "{to_v1}");
        lb.set_member(PodId(1), VersionId(1), false);
        lb.set_member(PodId(3), VersionId(1), false);
        let failed = (0..10_000)
            .filter(|_| lb.pick(&req(), &ps, SimTime::ZERO) == Pick::NoEndpoint)
            .count();
        assert!((900..=1100).contains(&failed), "{failed}");
        assert_eq!(lb.versions_receiving_traffic(), 1);
    }

    #[test]
    fn stale_updates_are_ignored() {
        let mut lb = lb_with(LbPolicy::Random, 0, 0);
        assert!(!lb.apply_update(PodId(0), VersionId(0), 2, false));
        assert!(!lb.apply_update(PodId(0), VersionId(0), 1, true));
        assert_eq!(lb.endpoint_count(), 0);
        assert!(lb.apply_update(PodId(0), VersionId(0), 3, true));
        assert_eq!(lb.endpoint_count(), 1);
    }

    #[test]
    fn retries_avoid_the_last_endpoint_and_ejected_ones() {
        let ps = pods(2);
        let mut lb = lb_with(LbPolicy::Random, 2, 1);
        let mut r = req();
        r.last_pod = Some(PodId(0));
        for _ in 0..100 {
            assert_eq!(lb.pick(&r, &ps, SimTime::ZERO), Pick::Endpoint(PodId(1)));
        }
        lb.record_failure(PodId(1), SimTime::ZERO);
        let r = req();
        for _ in 0..100 {
            assert_eq!(lb.pick(&r, &ps, SimTime(1)), Pick::Endpoint(PodId(0)));
        }
        // Ejection expires.
        let later = SimTime(11_000_000);
        let to_1 = (0..100)
            .filter(|_| lb.pick(&r, &ps, later) == Pick::Endpoint(PodId(1)))
            .count();
        assert!(to_1 > 20);
    }

    #[test]
    fn retry_budget_and_idempotency() {
        let lb = lb_with(LbPolicy::Random, 2, 0);
        let mut r = req();
        r.attempts = 1;
        assert!(lb.may_retry(&r, true));
        r.attempts = 2;
        assert!(!lb.may_retry(&r, true));
        r.attempts = 1;
        r.idempotent = false;
        assert!(!lb.may_retry(&r, true));
        assert!(lb.may_retry(&r, false));
    }
}
