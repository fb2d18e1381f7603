//! One generation of the balancer's workers: the endpoint view they were configured with,
//! their round-robin positions, their passive-health state and the weights in force.
//!
//! Why generations: open-source nginx keeps its upstream state per worker process
//! (`ngx_http_upstream_round_robin.c`: each peer's `current_weight`, `effective_weight`,
//! `fails`, `checked` live in the peer array built at configuration load, which every worker
//! inherits by `fork` and then updates alone; with a `zone` the workers of one generation share
//! a copy, and `ngx_http_upstream_zone_module.c` creates that zone without reuse, so a reload
//! starts from a fresh one either way). A reload is how plain nginx learns an endpoint change:
//! `ngx_master_process_cycle` (`ngx_process_cycle.c`) reads the new configuration, starts new
//! workers with clean state (`fails = 0`, `current_weight = 0`), waits 100 ms, then tells the
//! old workers to shut down gracefully — they stop accepting, finish what they hold and exit.
//! So for about 100 ms both generations accept new connections, the old one with the old view,
//! and a terminating backend costs one failure per worker of each generation that still routes
//! to it. Envoy's outlier detection and kube-proxy keep one state (`HealthScope::Shared`), which
//! is this same struct, never reset, with one worker.
//!
//! Memory: per-worker arrays are indexed `pod × workers + worker`; a reload copies the current
//! generation into the old one with `clone_from`, reusing its buffers (no allocation once they
//! have grown), and nothing here allocates per request.

use super::spec::{LbPolicy, LbSpec};
use crate::engine::{RngStream, SimTime};
use crate::model::ids::{PodId, VersionId};
use crate::model::pod::Pod;

const NONE: u32 = u32::MAX;

#[derive(Copy, Clone, Debug, Default)]
struct Health {
    fails: u32,
    window_start: SimTime,
    ejected_until: SimTime,
}

/// A generation's view and per-worker state.
#[derive(Clone, Debug)]
pub(super) struct Generation {
    pub(super) all: Vec<PodId>,
    pos_all: Vec<u32>,
    pub(super) by_version: Vec<Vec<PodId>>,
    pos_version: Vec<u32>,
    workers: usize,
    /// Round-robin cursor per worker over `all`.
    cursor_all: Vec<usize>,
    /// Round-robin cursor per (version, worker).
    cursor_version: Vec<usize>,
    /// Passive-health state per (pod, worker).
    health: Vec<Health>,
    /// Per-version traffic weights in force (`None`: split by endpoint count).
    pub(super) weights: Option<Vec<u32>>,
}

impl Generation {
    pub(super) fn new(versions: usize, workers: usize) -> Self {
        Generation {
            all: Vec::new(),
            pos_all: Vec::new(),
            by_version: vec![Vec::new(); versions],
            pos_version: Vec::new(),
            workers,
            cursor_all: vec![0; workers],
            cursor_version: vec![0; versions * workers],
            health: Vec::new(),
            weights: None,
        }
    }

    fn grow(&mut self, pod: PodId) {
        let need = pod.index() + 1;
        if self.pos_all.len() < need {
            self.pos_all.resize(need, NONE);
            self.pos_version.resize(need, NONE);
            self.health.resize(need * self.workers, Health::default());
        }
    }

    /// Whether `pod` is in this generation's view.
    pub(super) fn contains(&self, pod: PodId) -> bool {
        self.pos_all.get(pod.index()).is_some_and(|p| *p != NONE)
    }

    /// Adds or removes `pod`; returns whether the view changed.
    pub(super) fn set_member(&mut self, pod: PodId, version: VersionId, serving: bool) -> bool {
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

    /// Becomes a copy of `other` (the workers that keep running after a reload), reusing
    /// this generation's buffers.
    pub(super) fn copy_from(&mut self, other: &Generation) {
        self.all.clone_from(&other.all);
        self.pos_all.clone_from(&other.pos_all);
        self.by_version.clone_from(&other.by_version);
        self.pos_version.clone_from(&other.pos_version);
        self.workers = other.workers;
        self.cursor_all.clone_from(&other.cursor_all);
        self.cursor_version.clone_from(&other.cursor_version);
        self.health.clone_from(&other.health);
        self.weights.clone_from(&other.weights);
    }

    /// New workers: no failure counted, no ejection, round robin from the first peer (nginx's
    /// smooth weighted round robin with every `current_weight` at 0 picks the first peer).
    pub(super) fn fresh_workers(&mut self) {
        self.health.fill(Health::default());
        self.cursor_all.fill(usize::MAX);
        self.cursor_version.fill(usize::MAX);
    }

    pub(super) fn is_ejected(&self, pod: PodId, worker: usize, now: SimTime) -> bool {
        self.health
            .get(pod.index() * self.workers + worker)
            .is_some_and(|h| h.ejected_until > now)
    }

    /// A connect error or reset on `pod`, seen by `worker`: nginx `max_fails` within
    /// `fail_timeout`, Envoy consecutive errors, with the ejection cap.
    pub(super) fn record_failure(
        &mut self,
        spec: &LbSpec,
        pod: PodId,
        worker: usize,
        now: SimTime,
    ) {
        self.grow(pod);
        let i = pod.index() * self.workers + worker;
        let h = &mut self.health[i];
        if now.saturating_since(h.window_start) > spec.fail_window {
            h.fails = 0;
            h.window_start = now;
        }
        h.fails += 1;
        if h.fails >= spec.max_fails {
            let ejected = self
                .all
                .iter()
                .filter(|p| self.is_ejected(**p, worker, now))
                .count();
            let cap = self.all.len() * spec.max_ejection_percent as usize / 100;
            let h = &mut self.health[i];
            if ejected < cap.max(1) {
                h.ejected_until = now + spec.ejection;
                h.fails = 0;
            }
        }
    }

    /// The pool a request draws from: one version's endpoints, or all.
    pub(super) fn pool(&self, version: Option<usize>) -> &[PodId] {
        match version {
            None => &self.all,
            Some(v) => &self.by_version[v],
        }
    }

    /// One choice by the policy from a non-empty pool of `len` endpoints.
    pub(super) fn choose(
        &mut self,
        policy: LbPolicy,
        version: Option<usize>,
        worker: usize,
        len: usize,
        pods: &[Pod],
        rng: &mut RngStream,
    ) -> PodId {
        match policy {
            LbPolicy::Random => self.pool(version)[rng.index(len)],
            LbPolicy::RoundRobin => {
                let cursor = match version {
                    None => &mut self.cursor_all[worker],
                    Some(v) => &mut self.cursor_version[v * self.workers + worker],
                };
                *cursor = cursor.wrapping_add(1) % len;
                let c = *cursor;
                self.pool(version)[c]
            }
            LbPolicy::LeastRequest => {
                let pool = self.pool(version);
                let a = pool[rng.index(len)];
                if len == 1 {
                    return a;
                }
                let b = pool[rng.index(len)];
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
