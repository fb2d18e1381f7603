//! Driving the rollout controller and recording the rollout's course.

use super::{Event, Simulation};
use crate::engine::{SimDuration, SimTime};
use crate::metrics::{summarise, ClockStop, EventDetail, EventKind, RunFacts, Summary, TimeUse};
use crate::model::Ctx;
use crate::strategy::{Action, Report, RsStatus, View};

impl Simulation {
    pub(super) fn statuses(&self) -> Vec<RsStatus> {
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
        self.rollout_clock.start(now);
        self.rollout.target = Some(target);
        self.rollout.note(now, EventKind::Start, EventDetail::None);
        self.controller.start(target, now);
        self.controller_sync(now);
    }

    pub(super) fn undo(&mut self, now: SimTime) {
        let statuses = self.statuses();
        if self.rollout.start.is_some() && self.controller.undo(&statuses, now) {
            self.rollout.rollback = Some(now);
            self.rollout.end = None;
            self.rollout_clock.stop(now, ClockStop::Rollback);
            self.rollout
                .note(now, EventKind::RollbackStarted, EventDetail::Text("undo"));
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
                    let ctx = &mut Ctx::new(now, &mut self.queue, &mut self.dropped);
                    self.cluster.scale(rs, replicas, ctx);
                }
                Action::Scale { rs, replicas } => {
                    let ctx = &mut Ctx::new(now, &mut self.queue, &mut self.dropped);
                    self.cluster.scale(rs, replicas, ctx);
                }
                Action::SetRevision { rs, revision } => {
                    self.cluster.replica_sets[rs.index()].revision = revision;
                }
                Action::SetWeights(ref weights) => {
                    self.note_weights(now, weights.as_deref());
                    self.publish_weights(now, weights.clone());
                }
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
            self.step_report(now, *report);
            self.note_report(now, *report);
            match report {
                Report::Completed => {
                    if self.rollout.start.is_some() {
                        self.rollout.end = Some(now);
                        self.rollout_clock.stop(now, ClockStop::Completed);
                    }
                }
                Report::Stalled => {
                    self.rollout.stalled.get_or_insert(now);
                    self.rollout_clock.stop(now, ClockStop::Stalled);
                }
                Report::RollbackStarted => {
                    self.rollout_clock.stop(now, ClockStop::Rollback);
                    self.rollout.rollback = Some(now);
                    self.rollout.abort.get_or_insert(now);
                    self.rollout.end = None;
                }
                Report::Aborted => {
                    self.rollout_clock.stop(now, ClockStop::Aborted);
                    self.rollout.abort.get_or_insert(now);
                }
                Report::Paused => {
                    self.rollout.paused.get_or_insert(now);
                }
                Report::Promoted => {
                    self.rollout.promoted.get_or_insert(now);
                }
                Report::PauseStarted(_)
                | Report::PauseEnded
                | Report::AnalysisStarted(_)
                | Report::AnalysisDone(..) => {}
            }
        }
        if let Some(at) = decision.requeue_at {
            self.queue.schedule(at.max(now), Event::ControllerSync);
        }
        self.rollout_wait = decision.wait;
        self.observe_rollout_time(now);
    }

    /// Tells the rollout's clock what it waits for now (metrics observe; nothing steers).
    pub(super) fn observe_rollout_time(&mut self, now: SimTime) {
        if self.rollout_clock.running() {
            let pods = crate::model::pod_wait(&self.cluster);
            self.rollout_clock
                .observe(now, TimeUse::of(self.rollout_wait, pods));
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

    /// Calls `f` with the simulated time at the end of every metrics bucket while the run goes
    /// on (a progress display). The callback observes only; outputs do not depend on it.
    pub fn on_progress(&mut self, f: impl FnMut(SimTime) + Send + 'static) {
        self.metrics.on_progress(f);
    }

    /// The run's summary, assembled by `metrics` from the recorder and the rollout's course.
    pub(super) fn summarise(&self) -> Summary {
        let mut summary = summarise(
            &self.metrics,
            &RunFacts {
                scenario: &self.scenario,
                rollout: &self.rollout,
                events_processed: self.queue.processed(),
            },
        );
        summary.database = self.database_summary();
        summary.rollout.time_breakdown_s = self.rollout_clock.breakdown(self.traffic_end());
        summary.steps = self.steps_summary();
        summary
    }
}
