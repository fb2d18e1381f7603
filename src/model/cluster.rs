//! Nodes, ReplicaSets and the pod lifecycle that the kubelet and ReplicaSet controller run.
//!
//! Modelled behaviour:
//! * **Scheduling**: a node slot per pod (`nodes × pods_per_node`); pods that find none stay
//!   Pending, first-come first-served. Terminating pods keep their slot until they are gone.
//! * **ReplicaSet controller**: creates pods up to `spec`; on scale-down deletes pods in the
//!   order of Kubernetes' `getPodsToDelete` ranking: unscheduled before scheduled, not running
//!   before running, not Ready before Ready, Ready for less time before more, newer before older.
//! * **Start**: `startup` (image pull, container start), then `app_init` until the application
//!   listens. With a readiness probe the pod turns Ready after `successThreshold` consecutive
//!   successful probes (probes from `initialDelaySeconds` every `periodSeconds`, succeeding only
//!   while the application listens); without one, Ready as soon as the container runs — before
//!   the application may listen, the classic mistake. Available after `minReadySeconds`.
//! * **Termination** (kubelet): on deletion the endpoint is withdrawn (the balancer learns it
//!   after its propagation delay) and the preStop hook runs; SIGTERM follows it; SIGKILL comes at
//!   the grace period, counted from deletion. A preStop still running at the grace period gets
//!   the kubelet's one-off 2 s extension: SIGTERM at the grace period, SIGKILL 2 s later.

use std::collections::VecDeque;

use super::ids::{PodId, RsId, VersionId};
use super::pod::{Phase, Pod};
use super::spec::{ClusterSpec, OnSigterm, VersionSpec};
use super::{Ctx, ModelEvent};
use crate::engine::{RngStream, SimDuration, SimTime, StreamName};

/// The kubelet's grace-period extension for a preStop hook still running at the deadline.
const PRESTOP_EXTENSION: SimDuration = SimDuration::from_secs(2);

/// A ReplicaSet: a desired count of pods of one version.
#[derive(Clone, Debug)]
pub struct ReplicaSet {
    /// This ReplicaSet's id (also its creation order).
    pub id: RsId,
    /// The version its pod template runs.
    pub version: VersionId,
    /// `deployment.kubernetes.io/revision`.
    pub revision: u64,
    /// `spec.replicas`.
    pub spec: u32,
    /// Pods that exist and are not terminating (`status.replicas`), oldest first.
    pub pods: Vec<PodId>,
    /// How many of `pods` are Ready.
    pub ready: u32,
    /// How many of `pods` are available (Ready for minReadySeconds).
    pub available: u32,
    /// Pods deleted but not yet gone.
    pub terminating: u32,
}

/// Cluster-wide pod counts, as the metrics see them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Pods that exist and are not terminating (what Kubernetes counts against maxSurge).
    pub pods: u32,
    /// Pods that exist, terminating ones included (what `kubectl get pods` lists).
    pub pods_incl_terminating: u32,
    /// Pods holding a node slot (scheduled, not gone): what the cluster pays for.
    pub running: u32,
    /// Ready, non-terminating pods.
    pub ready: u32,
}

/// The cluster: every pod ever created, every ReplicaSet, and the nodes' free room.
pub struct Cluster {
    /// All pods, by id (gone ones included).
    pub pods: Vec<Pod>,
    /// All ReplicaSets, by id.
    pub replica_sets: Vec<ReplicaSet>,
    /// Version specs, by id.
    pub versions: Vec<VersionSpec>,
    spec: ClusterSpec,
    min_ready: SimDuration,
    free_slots: u64,
    pending: VecDeque<PodId>,
    lifecycle: RngStream,
    faults: RngStream,
    census: Census,
    /// Set when something a rollout controller watches changed (pod created, ready, available,
    /// gone); the world clears it when it schedules a controller sync.
    pub controller_dirty: bool,
    /// Set when the census changed; the world clears it when the metrics have seen it.
    pub census_dirty: bool,
    /// Set when a pod moved on its way up (bound, container started, listening) without
    /// anything a controller watches changing; the world clears it after observing the pods'
    /// wait ([`super::pod_wait`]).
    pub wait_dirty: bool,
    /// The newest feature-flag rules revision: a starting pod's SDK initialises with it.
    pub flag_rev: u32,
    propagation: super::Propagation,
    /// Whether to log processes starting and ending (a database's pools follow them).
    pub log_processes: bool,
    /// Since the world last looked: (pod, `true` = its application started listening,
    /// `false` = its process ended). Empty unless `log_processes`.
    pub process_log: Vec<(PodId, bool)>,
}

impl Cluster {
    /// An empty cluster.
    pub fn new(
        spec: ClusterSpec,
        versions: Vec<VersionSpec>,
        min_ready: SimDuration,
        propagation: super::Propagation,
        seed: u64,
    ) -> Self {
        Cluster {
            free_slots: spec.capacity(),
            spec,
            versions,
            min_ready,
            pods: Vec::new(),
            replica_sets: Vec::new(),
            pending: VecDeque::new(),
            lifecycle: RngStream::new(seed, StreamName::Lifecycle),
            faults: RngStream::new(seed, StreamName::Faults),
            census: Census::default(),
            controller_dirty: false,
            census_dirty: false,
            wait_dirty: false,
            flag_rev: 0,
            propagation,
            log_processes: false,
            process_log: Vec::new(),
        }
    }

    /// Current pod counts.
    pub fn census(&self) -> Census {
        self.census
    }

    /// Node room and prices.
    pub fn spec(&self) -> &ClusterSpec {
        &self.spec
    }

    /// Creates an empty ReplicaSet for `version`.
    pub fn create_replica_set(&mut self, version: VersionId, revision: u64) -> RsId {
        let id = RsId(self.replica_sets.len() as u32);
        self.replica_sets.push(ReplicaSet {
            id,
            version,
            revision,
            spec: 0,
            pods: Vec::new(),
            ready: 0,
            available: 0,
            terminating: 0,
        });
        id
    }

    /// Starts a fleet that is already serving at t = 0: `n` pods of `rs`, running, listening,
    /// Ready, available, warm, and known to the balancer (the caller adds the endpoints).
    pub fn seed_ready_pods(&mut self, rs: RsId, n: u32) -> Vec<PodId> {
        self.replica_sets[rs.index()].spec = n;
        let mut out = Vec::new();
        for _ in 0..n {
            let id = self.new_pod(rs, SimTime::ZERO);
            let pod = &mut self.pods[id.index()];
            if self.free_slots > 0 {
                self.free_slots -= 1;
                pod.phase = Phase::Running;
                pod.listening = true;
                pod.listening_since = SimTime::ZERO;
                // Long warm: the initial fleet has been serving for a while.
                pod.ready = true;
                pod.available = true;
                pod.endpoint_serving = true;
                let rs = &mut self.replica_sets[rs.index()];
                rs.ready += 1;
                rs.available += 1;
                out.push(id);
            } else {
                self.pending.push_back(id);
            }
        }
        self.recount();
        out
    }

    /// Marks the initial fleet as warm (serving since long before t = 0).
    pub fn mark_warm(&mut self, pods: &[PodId]) {
        for p in pods {
            self.pods[p.index()].warm = true;
        }
    }

    /// The ReplicaSet controller: sets `spec` and creates or deletes pods to match it.
    pub fn scale(&mut self, rs: RsId, replicas: u32, ctx: &mut Ctx) {
        let now = ctx.now;
        self.replica_sets[rs.index()].spec = replicas;
        let have = self.replica_sets[rs.index()].pods.len() as u32;
        if have < replicas {
            for _ in have..replicas {
                let id = self.new_pod(rs, now);
                self.try_bind(id, ctx);
            }
        } else if have > replicas {
            let victims = self.pods_to_delete(rs, (have - replicas) as usize);
            for p in victims {
                self.delete_pod(p, ctx);
            }
        }
        self.controller_dirty = true;
        self.recount();
    }

    fn new_pod(&mut self, rs: RsId, now: SimTime) -> PodId {
        let id = PodId(self.pods.len() as u32);
        let version = self.replica_sets[rs.index()].version;
        let pod = Pod::new(id, rs, version, &self.versions[version.index()], now);
        self.pods.push(pod);
        self.replica_sets[rs.index()].pods.push(id);
        id
    }

    /// Kubernetes' deletion ranking (ReplicaSet `getPodsToDelete`, `ActivePodsWithRanks`).
    fn pods_to_delete(&self, rs: RsId, n: usize) -> Vec<PodId> {
        let mut pods = self.replica_sets[rs.index()].pods.clone();
        pods.sort_by_key(|id| {
            let p = &self.pods[id.index()];
            let scheduled = p.phase != Phase::Pending;
            let running = p.phase == Phase::Running;
            // Ready for less time first: later ready_since sorts first.
            let ready_key = if p.ready {
                u64::MAX - p.ready_since.as_micros()
            } else {
                0
            };
            // More restarts first, then newer pods first.
            (
                scheduled,
                running,
                p.ready,
                ready_key,
                u32::MAX - p.restarts,
                u64::MAX - p.created.as_micros(),
                u32::MAX - id.0,
            )
        });
        pods.truncate(n);
        pods
    }

    fn try_bind(&mut self, id: PodId, ctx: &mut Ctx) {
        if self.free_slots == 0 {
            self.pending.push_back(id);
            return;
        }
        self.free_slots -= 1;
        let pod = &mut self.pods[id.index()];
        pod.phase = Phase::Creating;
        self.wait_dirty = true;
        let startup = self.versions[pod.version.index()]
            .pod
            .startup
            .sample(&mut self.lifecycle);
        ctx.schedule(ctx.now + startup, ModelEvent::ContainerStarted(id));
    }

    fn free_slot(&mut self, ctx: &mut Ctx) {
        self.free_slots += 1;
        while let Some(id) = self.pending.pop_front() {
            if self.pods[id.index()].phase == Phase::Pending {
                self.try_bind(id, ctx);
                break;
            }
        }
    }

    /// Pods waiting for a node.
    pub fn pending_count(&self) -> usize {
        self.pending
            .iter()
            .filter(|id| self.pods[id.index()].phase == Phase::Pending)
            .count()
    }

    /// The container of `id` is running.
    pub fn container_started(&mut self, id: PodId, ctx: &mut Ctx) {
        let now = ctx.now;
        let pod = &mut self.pods[id.index()];
        if pod.phase != Phase::Creating {
            return;
        }
        pod.phase = Phase::Running;
        pod.flag_rev = self.flag_rev;
        self.wait_dirty = true;
        let epoch = pod.epoch;
        let version = &self.versions[pod.version.index()];
        let spec = &version.pod;
        let init = spec.app_init.sample(&mut self.lifecycle);
        if let Some(after) = super::fault::crash_after(&version.faults, now) {
            let uptime = after.sample(&mut self.faults);
            ctx.schedule(now + init + uptime, ModelEvent::Crash { pod: id, epoch });
        }
        match &spec.readiness {
            Some(probe) => ctx.schedule(
                now + probe.initial_delay,
                ModelEvent::Probe { pod: id, epoch },
            ),
            None => self.set_ready(id, true, ctx),
        }
        if init.is_zero() {
            self.start_listening(id, now);
        } else {
            ctx.schedule(now + init, ModelEvent::Listening(id));
        }
        self.census_dirty = true;
    }

    /// The application in `id` listens from now on.
    pub fn start_listening(&mut self, id: PodId, now: SimTime) {
        let pod = &mut self.pods[id.index()];
        if pod.phase == Phase::Running && !pod.sigterm {
            pod.listening = true;
            pod.listening_since = now;
            self.wait_dirty = true;
            if self.log_processes {
                self.process_log.push((id, true));
            }
        }
    }

    /// A readiness probe of `id`: it succeeds while the application listens and no fault
    /// makes it fail.
    pub fn probe(&mut self, id: PodId, epoch: u32, ctx: &mut Ctx) {
        let now = ctx.now;
        let pod = &mut self.pods[id.index()];
        if pod.phase != Phase::Running || pod.deleting_since.is_some() || pod.epoch != epoch {
            return;
        }
        let version = &self.versions[pod.version.index()];
        let Some(probe) = version.pod.readiness.clone() else {
            return;
        };
        let healthy = !super::fault::fails_readiness(&version.faults, now) && !pod.db_unready;
        if pod.listening && healthy {
            pod.probe_successes += 1;
            pod.probe_failures = 0;
        } else {
            pod.probe_failures += 1;
            pod.probe_successes = 0;
        }
        let (ready, ok, fail) = (pod.ready, pod.probe_successes, pod.probe_failures);
        let can_fail_later = version
            .faults
            .iter()
            .any(|f| f.kind == super::FaultKind::NeverReady);
        if !ready && ok >= probe.success_threshold {
            self.set_ready(id, true, ctx);
        } else if ready && fail >= probe.failure_threshold {
            self.set_ready(id, false, ctx);
        }
        // Once Ready, a pod's probes can only fail through a readiness fault: the application
        // stops listening only by crashing (which restarts the probe chain) or on SIGTERM
        // (probes stop for terminating pods). Without such a fault, further probes are no-ops
        // and are not simulated.
        if !self.pods[id.index()].ready || can_fail_later {
            ctx.schedule(now + probe.period, ModelEvent::Probe { pod: id, epoch });
        }
    }

    /// The container of `id` crashes (crash-loop fault): requests it held are dropped, it turns
    /// not Ready, and the kubelet restarts it after CrashLoopBackOff.
    pub fn crash(&mut self, id: PodId, epoch: u32, ctx: &mut Ctx) {
        let pod = &mut self.pods[id.index()];
        if pod.phase != Phase::Running || pod.deleting_since.is_some() || pod.epoch != epoch {
            return;
        }
        pod.crash(ctx.dropped);
        if self.log_processes {
            self.process_log.push((id, false));
        }
        let restart_at = ctx.now + super::fault::crash_backoff(pod.restarts);
        self.set_ready(id, false, ctx);
        ctx.schedule(restart_at, ModelEvent::ContainerStarted(id));
        self.controller_dirty = true;
    }

    fn set_ready(&mut self, id: PodId, ready: bool, ctx: &mut Ctx) {
        let now = ctx.now;
        let pod = &mut self.pods[id.index()];
        if pod.ready == ready {
            return;
        }
        let rs = &mut self.replica_sets[pod.rs.index()];
        pod.ready = ready;
        if ready {
            pod.ready_since = now;
            rs.ready += 1;
            if self.min_ready.is_zero() {
                pod.available = true;
                rs.available += 1;
            } else {
                ctx.schedule(now + self.min_ready, ModelEvent::MinReadyElapsed(id));
            }
        } else {
            rs.ready -= 1;
            if pod.available {
                pod.available = false;
                rs.available -= 1;
            }
        }
        self.controller_dirty = true;
        self.recount();
        self.publish_endpoint(id, ready, ctx);
    }

    /// minReadySeconds may have elapsed for `id`.
    pub fn min_ready_elapsed(&mut self, id: PodId, now: SimTime) {
        let pod = &mut self.pods[id.index()];
        if pod.ready
            && !pod.available
            && pod.deleting_since.is_none()
            && pod.ready_since + self.min_ready <= now
        {
            pod.available = true;
            self.replica_sets[pod.rs.index()].available += 1;
            self.controller_dirty = true;
        }
    }

    /// Publishes the endpoint state of `id` (EndpointSlice update); the balancer learns it after
    /// a propagation delay.
    fn publish_endpoint(&mut self, id: PodId, serving: bool, ctx: &mut Ctx) {
        let pod = &mut self.pods[id.index()];
        if pod.endpoint_serving == serving {
            return;
        }
        pod.endpoint_serving = serving;
        pod.endpoint_generation += 1;
        // Additions and removals may travel different paths (`Propagation`); one draw from the
        // same stream either way, so a single delay for both reproduces earlier runs exactly.
        let delay = if serving {
            &self.propagation.add
        } else {
            &self.propagation.remove
        }
        .sample(&mut self.lifecycle);
        ctx.schedule(
            ctx.now + delay,
            ModelEvent::EndpointUpdate {
                pod: id,
                generation: pod.endpoint_generation,
                serving,
            },
        );
    }

    /// Deletes `id`: a pod without a running container disappears at once; a running one starts
    /// the kubelet's termination sequence.
    pub fn delete_pod(&mut self, id: PodId, ctx: &mut Ctx) {
        let now = ctx.now;
        let pod = &self.pods[id.index()];
        if pod.deleting_since.is_some() || pod.phase == Phase::Gone {
            return;
        }
        let rs_id = pod.rs;
        let rs = &mut self.replica_sets[rs_id.index()];
        rs.pods.retain(|p| *p != id);
        if pod.ready {
            rs.ready -= 1;
        }
        if pod.available {
            rs.available -= 1;
        }
        self.controller_dirty = true;
        match pod.phase {
            Phase::Pending => {
                let pod = &mut self.pods[id.index()];
                pod.phase = Phase::Gone;
                pod.deleting_since = Some(now);
            }
            Phase::Creating => {
                let pod = &mut self.pods[id.index()];
                pod.phase = Phase::Gone;
                pod.deleting_since = Some(now);
                self.free_slot(ctx);
            }
            Phase::Running => {
                self.replica_sets[rs_id.index()].terminating += 1;
                let pod = &mut self.pods[id.index()];
                pod.deleting_since = Some(now);
                pod.ready = false;
                pod.available = false;
                let spec = &self.versions[pod.version.index()].pod;
                let (pre_stop, grace) = (spec.pre_stop, spec.grace);
                let kill_at = if pre_stop < grace {
                    now + grace
                } else {
                    now + grace + PRESTOP_EXTENSION
                };
                ctx.schedule(kill_at, ModelEvent::GraceExpired(id));
                self.publish_endpoint(id, false, ctx);
                if pre_stop.is_zero() {
                    self.sigterm(id, ctx);
                } else {
                    ctx.schedule(now + pre_stop.min(grace), ModelEvent::PreStopDone(id));
                }
            }
            Phase::Gone => {}
        }
        self.recount();
    }

    /// The kubelet sends SIGTERM to `id`.
    pub fn sigterm(&mut self, id: PodId, ctx: &mut Ctx) {
        let pod = &mut self.pods[id.index()];
        if pod.phase == Phase::Gone || pod.sigterm {
            return;
        }
        pod.sigterm = true;
        match pod.on_sigterm() {
            OnSigterm::Drain => {
                if pod.is_idle() || pod.phase != Phase::Running {
                    self.finish_pod(id, ctx);
                }
            }
            OnSigterm::Exit => self.finish_pod(id, ctx),
            OnSigterm::Ignore => {}
        }
    }

    /// The grace period of `id` expired: SIGKILL.
    pub fn grace_expired(&mut self, id: PodId, ctx: &mut Ctx) {
        if self.pods[id.index()].phase != Phase::Gone {
            self.finish_pod(id, ctx);
        }
    }

    /// A draining pod may have become idle: exit if so.
    pub fn maybe_exit_after_drain(&mut self, id: PodId, ctx: &mut Ctx) {
        let pod = &self.pods[id.index()];
        if pod.sigterm
            && pod.phase == Phase::Running
            && pod.on_sigterm() == OnSigterm::Drain
            && pod.is_idle()
        {
            self.finish_pod(id, ctx);
        }
    }

    /// The process of `id` ends (exit or kill): whatever it holds is dropped, its node slot
    /// frees up.
    fn finish_pod(&mut self, id: PodId, ctx: &mut Ctx) {
        let pod = &mut self.pods[id.index()];
        let held = pod.phase == Phase::Running || pod.phase == Phase::Creating;
        pod.kill(ctx.dropped);
        if self.log_processes {
            self.process_log.push((id, false));
        }
        if pod.deleting_since.is_some() {
            self.replica_sets[pod.rs.index()].terminating -= 1;
        }
        if held {
            self.free_slot(ctx);
        }
        self.controller_dirty = true;
        self.recount();
    }

    fn recount(&mut self) {
        // Incremental counters would be faster, but these changes are per pod transition, not
        // per request, and a recount cannot drift.
        let mut c = Census::default();
        for rs in &self.replica_sets {
            c.pods += rs.pods.len() as u32;
            c.ready += rs.ready;
            c.pods_incl_terminating += rs.pods.len() as u32 + rs.terminating;
        }
        c.running = (self.spec.capacity() - self.free_slots) as u32;
        if c != self.census {
            self.census = c;
            self.census_dirty = true;
        }
    }

    /// Pods and Ready pods of each version (non-terminating), for the time series.
    pub fn per_version_counts(&self) -> Vec<(u32, u32)> {
        let mut out = vec![(0, 0); self.versions.len()];
        for rs in &self.replica_sets {
            let e = &mut out[rs.version.index()];
            e.0 += rs.pods.len() as u32;
            e.1 += rs.ready;
        }
        out
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
