//! The kubelet and ReplicaSet-controller behaviour of `Cluster`, driven event by event without
//! traffic or a balancer.

use super::*;
use crate::model::{Dist, Fault, FaultKind, PodSpec, ProbeSpec, Schedule};

/// Collects scheduled events and replays them in (time, order) like the world's queue.
#[derive(Default)]
struct Driver {
    pending: Vec<(SimTime, u64, ModelEvent)>,
    seq: u64,
    now: SimTime,
}

impl Schedule for Driver {
    fn schedule(&mut self, at: SimTime, event: ModelEvent) {
        self.pending.push((at.max(self.now), self.seq, event));
        self.seq += 1;
    }
}

impl Driver {
    /// Runs every event up to `until`.
    fn run(&mut self, c: &mut Cluster, until: SimTime) {
        let mut dropped = Vec::new();
        loop {
            self.pending.sort_by_key(|(t, s, _)| (*t, *s));
            let Some(&(t, _, ev)) = self.pending.first() else {
                break;
            };
            if t > until {
                break;
            }
            self.pending.remove(0);
            self.now = t;
            let ctx = &mut Ctx::new(t, self, &mut dropped);
            match ev {
                ModelEvent::ContainerStarted(p) => c.container_started(p, ctx),
                ModelEvent::Listening(p) => c.start_listening(p, t),
                ModelEvent::Probe { pod, epoch } => c.probe(pod, epoch, ctx),
                ModelEvent::MinReadyElapsed(p) => c.min_ready_elapsed(p, t),
                ModelEvent::PreStopDone(p) => c.sigterm(p, ctx),
                ModelEvent::GraceExpired(p) => c.grace_expired(p, ctx),
                ModelEvent::Crash { pod, epoch } => c.crash(pod, epoch, ctx),
                ModelEvent::ServiceDone { .. }
                | ModelEvent::CallDone { .. }
                | ModelEvent::Db(_)
                | ModelEvent::EndpointUpdate { .. } => {}
            }
        }
        self.now = until;
    }
}

fn secs(s: u64) -> SimTime {
    SimTime(s * 1_000_000)
}

fn version(readiness: Option<ProbeSpec>, pre_stop: u64, faults: Vec<Fault>) -> VersionSpec {
    VersionSpec {
        name: "v".into(),
        service: Dist::Constant(SimDuration::from_millis(10)),
        error_rate: 0.0,
        conversion_rate: None,
        pod: PodSpec {
            concurrency: 2,
            queue: Some(4),
            startup: Dist::Constant(SimDuration::from_secs(5)),
            app_init: Dist::Constant(SimDuration::from_secs(1)),
            warmup: None,
            readiness,
            pre_stop: SimDuration::from_secs(pre_stop),
            grace: SimDuration::from_secs(30),
            on_sigterm: OnSigterm::Drain,
        },
        bad: !faults.is_empty(),
        faults,
    }
}

fn probe(initial: u64, period: u64, success: u32) -> Option<ProbeSpec> {
    Some(ProbeSpec {
        initial_delay: SimDuration::from_secs(initial),
        period: SimDuration::from_secs(period),
        success_threshold: success,
        failure_threshold: 3,
    })
}

fn cluster(v: VersionSpec, slots: u32, min_ready: u64) -> (Cluster, RsId) {
    let spec = ClusterSpec {
        nodes: 1,
        pods_per_node: slots,
        cost_per_pod_hour: 0.0,
    };
    let mut c = Cluster::new(
        spec,
        vec![v],
        SimDuration::from_secs(min_ready),
        crate::model::Propagation::both(Dist::Constant(SimDuration::ZERO)),
        1,
    );
    let rs = c.create_replica_set(VersionId(0), 1);
    (c, rs)
}

#[test]
fn readiness_needs_success_threshold_probes_after_the_initial_delay() {
    let (mut c, rs) = cluster(version(probe(3, 2, 2), 0, vec![]), 4, 0);
    let mut d = Driver::default();
    c.scale(rs, 1, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    // Container at 5 s, listening at 6 s; probes at 8 s and 10 s succeed → Ready at 10 s.
    d.run(&mut c, SimTime(9_999_999));
    assert!(!c.pods[0].ready);
    d.run(&mut c, secs(10));
    assert!(c.pods[0].ready);
    assert_eq!(c.pods[0].ready_since, secs(10));
    assert_eq!(c.replica_sets[0].available, 1);
}

#[test]
fn without_a_probe_a_pod_is_ready_before_it_listens() {
    let (mut c, rs) = cluster(version(None, 0, vec![]), 4, 0);
    let mut d = Driver::default();
    c.scale(rs, 1, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    d.run(&mut c, secs(5));
    assert!(c.pods[0].ready, "Ready when the container runs");
    assert!(
        !c.pods[0].listening,
        "but the application is still starting"
    );
    d.run(&mut c, secs(6));
    assert!(c.pods[0].listening);
}

#[test]
fn min_ready_seconds_delays_availability() {
    let (mut c, rs) = cluster(version(None, 0, vec![]), 4, 7);
    let mut d = Driver::default();
    c.scale(rs, 1, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    d.run(&mut c, secs(11));
    assert_eq!(
        (c.replica_sets[0].ready, c.replica_sets[0].available),
        (1, 0)
    );
    d.run(&mut c, secs(12));
    assert_eq!(c.replica_sets[0].available, 1);
}

#[test]
fn pods_without_room_stay_pending_until_a_slot_frees() {
    let (mut c, rs) = cluster(version(None, 0, vec![]), 2, 0);
    let mut d = Driver::default();
    c.scale(rs, 3, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    assert_eq!(c.pending_count(), 1);
    d.run(&mut c, secs(10));
    assert_eq!(c.census().ready, 2);
    // Deleting a running pod frees its slot only when it is gone (no preStop: at once).
    let first = c.replica_sets[0].pods[0];
    c.delete_pod(first, &mut Ctx::new(secs(10), &mut d, &mut Vec::new()));
    assert_eq!(c.pending_count(), 0);
    d.run(&mut c, secs(20));
    assert_eq!(c.census().ready, 2);
}

#[test]
fn scale_down_removes_pending_then_starting_then_newest_ready_pods() {
    let (mut c, rs) = cluster(version(None, 0, vec![]), 3, 0);
    let mut d = Driver::default();
    c.scale(rs, 2, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    d.run(&mut c, secs(10)); // pods 0 and 1 ready at 5 s
    c.scale(rs, 4, &mut Ctx::new(secs(10), &mut d, &mut Vec::new())); // pod 2 starting, pod 3 pending
    d.run(&mut c, secs(12));
    c.scale(rs, 1, &mut Ctx::new(secs(12), &mut d, &mut Vec::new()));
    // Pending (3), then starting (2), then the Ready pod ready for the shortest time; both
    // were ready at 5 s, so the newer one (1) goes.
    assert_eq!(c.replica_sets[0].pods, vec![PodId(0)]);
}

#[test]
fn termination_runs_prestop_then_sigterm_and_kills_at_the_grace_period() {
    let (mut c, rs) = cluster(version(None, 5, vec![]), 4, 0);
    let mut d = Driver::default();
    c.scale(rs, 1, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    d.run(&mut c, secs(10));
    c.delete_pod(PodId(0), &mut Ctx::new(secs(10), &mut d, &mut Vec::new()));
    assert!(c.pods[0].is_terminating());
    assert!(
        c.pods[0].accepts_connections(),
        "still serving during preStop"
    );
    d.run(&mut c, secs(14));
    assert!(!c.pods[0].sigterm);
    d.run(&mut c, secs(15));
    // Idle at SIGTERM: a draining server exits at once.
    assert_eq!(c.pods[0].phase, Phase::Gone);

    // A preStop longer than the grace period: SIGTERM at the grace period, SIGKILL 2 s later.
    let mut v = version(None, 40, vec![]);
    v.pod.on_sigterm = OnSigterm::Ignore;
    let (mut c, rs) = cluster(v, 4, 0);
    let mut d = Driver::default();
    c.scale(rs, 1, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    d.run(&mut c, secs(10));
    c.delete_pod(PodId(0), &mut Ctx::new(secs(10), &mut d, &mut Vec::new()));
    d.run(&mut c, secs(40));
    assert!(c.pods[0].sigterm);
    assert_ne!(c.pods[0].phase, Phase::Gone);
    d.run(&mut c, secs(42));
    assert_eq!(c.pods[0].phase, Phase::Gone);
}

#[test]
fn a_crash_loop_restarts_with_doubling_back_off() {
    let crash = Fault {
        kind: FaultKind::CrashLoop(Dist::Constant(SimDuration::from_secs(4))),
        from: None,
    };
    let (mut c, rs) = cluster(version(None, 0, vec![crash]), 4, 0);
    let mut d = Driver::default();
    c.scale(rs, 1, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    // Start 5 s, listen 6 s, crash at 10 s; back-off 10 s → running at 20 s, listen 21 s,
    // crash at 25 s; back-off 20 s → running again at 45 s.
    d.run(&mut c, secs(10));
    assert_eq!((c.pods[0].restarts, c.pods[0].phase), (1, Phase::Creating));
    assert!(!c.pods[0].ready);
    d.run(&mut c, secs(25));
    assert_eq!(c.pods[0].restarts, 2);
    d.run(&mut c, secs(44));
    assert_eq!(c.pods[0].phase, Phase::Creating);
    d.run(&mut c, secs(45));
    assert_eq!(c.pods[0].phase, Phase::Running);
}

#[test]
fn a_never_ready_version_keeps_failing_its_probe() {
    let fault = Fault {
        kind: FaultKind::NeverReady,
        from: None,
    };
    let (mut c, rs) = cluster(version(probe(0, 1, 1), 0, vec![fault]), 4, 0);
    let mut d = Driver::default();
    c.scale(rs, 1, &mut Ctx::new(SimTime::ZERO, &mut d, &mut Vec::new()));
    d.run(&mut c, secs(60));
    assert!(c.pods[0].listening);
    assert!(!c.pods[0].ready);
    assert!(c.pods[0].probe_failures > 50);
}
