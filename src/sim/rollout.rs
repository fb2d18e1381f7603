//! Driving the rollout controller and recording the rollout's course.

use super::{Event, Simulation};
use crate::engine::{SimDuration, SimTime};
use crate::metrics::{CapacitySummary, ExposureSummary, RolloutSummary, Summary, VersionSummary};
use crate::strategy::{Action, Report, RsStatus, View};

/// When the rollout started, ended, stalled or began to roll back.
#[derive(Clone, Debug, Default)]
pub struct RolloutRecord {
    /// The pod template changed.
    pub start: Option<SimTime>,
    /// The Deployment was last complete.
    pub end: Option<SimTime>,
    /// The progress deadline passed.
    pub stalled: Option<SimTime>,
    /// A rollback began.
    pub rollback: Option<SimTime>,
    /// The rollout was aborted (traffic back to stable).
    pub abort: Option<SimTime>,
    /// The rollout paused for a human.
    pub paused: Option<SimTime>,
    /// The new version was fully promoted.
    pub promoted: Option<SimTime>,
}

impl RolloutRecord {
    /// The outcome name reported in `summary.json`.
    pub fn outcome(&self) -> &'static str {
        if self.start.is_some() && self.abort.is_some() && self.rollback.is_none() {
            return "aborted";
        }
        if self.start.is_some()
            && self.end.is_none()
            && self.rollback.is_none()
            && self.paused.is_some()
        {
            return "paused";
        }
        match (self.start, self.end, self.stalled, self.rollback) {
            (None, ..) => "none",
            (_, Some(_), _, Some(_)) => "rolled_back",
            (_, None, _, Some(_)) => "rollback_in_progress",
            (_, Some(_), _, None) => "completed",
            (_, None, Some(_), None) => "stalled",
            _ => "in_progress",
        }
    }
}

fn secs(t: Option<SimTime>) -> Option<f64> {
    t.map(SimTime::as_secs_f64)
}

impl Simulation {
    fn statuses(&self) -> Vec<RsStatus> {
        self.cluster
            .replica_sets
            .iter()
            .map(|r| RsStatus {
                id: r.id,
                version: r.version,
                revision: r.revision,
                spec: r.spec,
                replicas: r.pods.len() as u32,
                ready: r.ready,
                available: r.available,
                terminating: r.terminating,
            })
            .collect()
    }

    pub(super) fn rollout_start(&mut self, now: SimTime) {
        let Some(target) = self.scenario.rollout.as_ref().map(|r| r.target) else {
            return;
        };
        self.rollout.start = Some(now);
        self.controller.start(target, now);
        self.controller_sync(now);
    }

    pub(super) fn undo(&mut self, now: SimTime) {
        let statuses = self.statuses();
        if self.rollout.start.is_some() && self.controller.undo(&statuses, now) {
            self.rollout.rollback = Some(now);
            self.rollout.end = None;
            self.controller_sync(now);
        }
    }

    pub(super) fn controller_sync(&mut self, now: SimTime) {
        self.immediate_sync_pending = false;
        let statuses = self.statuses();
        let decision = self.controller.reconcile(&View {
            now,
            replica_sets: &statuses,
            monitor: &self.monitor,
        });
        for action in &decision.actions {
            match *action {
                Action::CreateReplicaSet {
                    version,
                    replicas,
                    revision,
                } => {
                    let rs = self.cluster.create_replica_set(version, revision);
                    self.cluster
                        .scale(rs, replicas, now, &mut self.queue, &mut self.dropped);
                }
                Action::Scale { rs, replicas } => {
                    self.cluster
                        .scale(rs, replicas, now, &mut self.queue, &mut self.dropped);
                }
                Action::SetRevision { rs, revision } => {
                    self.cluster.replica_sets[rs.index()].revision = revision;
                }
                Action::SetWeights(ref weights) => self.publish_weights(now, weights.clone()),
                Action::SmokeTest {
                    version,
                    requests,
                    over,
                } if requests > 0 => {
                    let gap = SimDuration::from_micros(over.as_micros() / u64::from(requests));
                    self.queue.schedule(
                        now,
                        Event::Smoke {
                            version,
                            left: requests - 1,
                            gap,
                        },
                    );
                }
                Action::SmokeTest { .. } => {}
            }
            self.handle_dropped(now);
        }
        for report in &decision.reports {
            match report {
                Report::Completed => {
                    if self.rollout.start.is_some() {
                        self.rollout.end = Some(now);
                    }
                }
                Report::Stalled => {
                    self.rollout.stalled.get_or_insert(now);
                }
                Report::RollbackStarted => {
                    self.rollout.rollback = Some(now);
                    self.rollout.abort.get_or_insert(now);
                    self.rollout.end = None;
                }
                Report::Aborted => {
                    self.rollout.abort.get_or_insert(now);
                }
                Report::Paused => {
                    self.rollout.paused.get_or_insert(now);
                }
                Report::Promoted => {
                    self.rollout.promoted.get_or_insert(now);
                }
            }
        }
        if let Some(at) = decision.requeue_at {
            self.queue.schedule(at.max(now), Event::ControllerSync);
        }
    }

    /// A controller changed the router's weights: the balancer learns them after its
    /// propagation delay (an atomic Service selector switch or a mesh weight update).
    fn publish_weights(&mut self, now: SimTime, weights: Option<Vec<u32>>) {
        let (generation, delay) = self.lb.publish_weights(weights, &mut self.control);
        self.queue
            .schedule(now + delay, Event::WeightsLearned(generation));
    }

    pub(super) fn weights_learned(&mut self, now: SimTime, generation: u32) {
        if self.lb.learn_weights(generation, now) {
            self.recount_serving_versions(now);
        }
    }

    pub(super) fn summarise(&self) -> crate::metrics::Summary {
        let m = &self.metrics;
        let mut versions = indexmap::IndexMap::new();
        for (i, v) in self.scenario.versions.iter().enumerate() {
            let r = m.version_requests(i);
            versions.insert(
                v.name.clone(),
                VersionSummary {
                    requests: m.version_total(i),
                    ok: r.ok,
                    failed: r.failed,
                    failed_by_cause: r.failed_by_cause,
                    latency_ms: m.version_latency(i),
                },
            );
        }
        let (pod_seconds, peak, peak_all, min_ready) = m.capacity();
        let (both, users) = m.users();
        let r = &self.rollout;
        let new_slots: Vec<usize> = self
            .scenario
            .new_variants()
            .iter()
            .map(|v| v.index())
            .collect();
        let first_new = new_slots.iter().filter_map(|s| m.served_span(*s).0).min();
        let last_new = new_slots.iter().filter_map(|s| m.served_span(*s).1).max();
        let detect_s = match (r.abort, first_new) {
            (Some(a), Some(f)) if f <= a => Some((a - f).as_secs_f64()),
            _ => None,
        };
        let rollback_s = r.abort.map(|a| match last_new {
            Some(l) if l > a => (l - a).as_secs_f64(),
            _ => 0.0,
        });
        let (mut bad_requests, mut bad_failed) = (0, 0);
        for (i, v) in self.scenario.versions.iter().enumerate() {
            if v.bad {
                bad_requests += m.version_total(i);
                bad_failed += m.version_requests(i).failed;
            }
        }
        let max_new_share = new_slots
            .iter()
            .map(|s| m.max_traffic_share(*s))
            .fold(0.0, f64::max);
        Summary {
            scenario: self.scenario.name.clone(),
            seed: self.scenario.seed,
            strategy: self.scenario.strategy_name().to_string(),
            events_processed: self.queue.processed(),
            duration_s: self.traffic_end.as_secs_f64(),
            requests: m.request_summary(),
            latency_ms: m.latency(),
            versions,
            rollout: RolloutSummary {
                outcome: r.outcome().to_string(),
                start_s: secs(r.start),
                end_s: secs(r.end),
                duration_s: match (r.start, r.end) {
                    (Some(s), Some(e)) => Some((e - s).as_secs_f64()),
                    _ => None,
                },
                stalled_at_s: secs(r.stalled),
                rollback_at_s: secs(r.rollback.or(r.abort)),
                detect_s,
                rollback_s,
            },
            exposure: ExposureSummary {
                mixed_version_s: m.mixed_version_s(),
                users_both_versions: both,
                users_total: users,
                users_exposed: m.users_served_by(&new_slots),
                users_flapped: m.users_flapped(),
                bad_requests,
                bad_failed,
                max_new_traffic_share: max_new_share,
            },
            capacity: CapacitySummary {
                peak_pods: peak,
                peak_pods_incl_terminating: peak_all,
                min_ready_pods: min_ready,
                pod_seconds,
                cost: (pod_seconds / 3600.0 * self.scenario.cluster.cost_per_pod_hour * 1e6)
                    .round()
                    / 1e6,
            },
            load_balancer: self.scenario.load_balancer.preset.clone(),
            warnings: self
                .scenario
                .warnings
                .iter()
                .map(|w| w.to_string())
                .collect(),
        }
    }
}
