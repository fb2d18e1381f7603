//! The world: one run of one scenario. It owns the event queue, the cluster, the balancer, the
//! traffic source, the rollout controller and the metrics, and routes each event to the part
//! it concerns. Requests' journeys (routing, retries, service, outcomes) live in `requests.rs`.
//!
//! A run has two phases: traffic until the scenario's duration, then a drain during which no
//! request arrives and the ones in flight finish (bounded by the client timeout, or the longest
//! grace period, whichever is longer). Whatever is still in flight after that is counted as
//! `in_flight_at_end`, so every request that arrived is accounted for exactly once.

mod flags;
mod requests;
mod rollout;

use crate::analysis::Monitor;
use crate::engine::{EventQueue, RngStream, SimDuration, SimTime, StreamName};
use crate::metrics::{Recorder, Summary};
use crate::model::{Balancer, Cluster, ModelEvent, Request, Schedule, TrafficSource};
use crate::scenario::Scenario;
use crate::strategy::Controller;

pub use rollout::RolloutRecord;

/// Everything that can happen in a run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A pod or endpoint event.
    Model(ModelEvent),
    /// The next request arrives.
    Arrival,
    /// The rollout controller reconciles.
    ControllerSync,
    /// The pod template changes: the rollout begins.
    RolloutStart,
    /// `kubectl rollout undo`.
    Undo,
    /// A metrics bucket ends.
    BucketEnd,
    /// The router learns traffic weights published with this generation.
    WeightsLearned(u32),
    /// The load balancer health-checks the target `pod` registered with endpoint `generation`
    /// (an ALB's active checks).
    TargetHealthCheck {
        /// The pod.
        pod: crate::model::PodId,
        /// The endpoint generation it was registered with.
        generation: u32,
    },
    /// A feature flag's rules change.
    Flag(flags::FlagChange),
    /// A pod's flag SDK learns rules revision `rev`.
    FlagSync {
        /// The pod.
        pod: crate::model::PodId,
        /// The rules revision.
        rev: u32,
    },
    /// The flag's analysis takes a measurement.
    FlagAnalysis,
    /// A smoke-test request to `version`; `left` more follow, `gap` apart.
    Smoke {
        /// The version under test.
        version: crate::model::VersionId,
        /// Requests still to send after this one.
        left: u32,
        /// Time between requests.
        gap: SimDuration,
    },
}

impl Schedule for EventQueue<Event> {
    fn schedule(&mut self, at: SimTime, event: ModelEvent) {
        EventQueue::schedule(self, at, Event::Model(event));
    }
}

/// The outputs of one run.
pub struct RunOutput {
    /// The `summary.json` contents.
    pub summary: Summary,
    /// The recorder, for the time series.
    pub metrics: Recorder,
    /// Version names by id (the time series' version column).
    pub version_names: Vec<String>,
}

/// One run of a scenario.
pub struct Simulation {
    queue: EventQueue<Event>,
    cluster: Cluster,
    lb: Balancer,
    traffic: TrafficSource,
    controller: Box<dyn Controller>,
    metrics: Recorder,
    monitor: Monitor,
    control: RngStream,
    timeout: Option<SimDuration>,
    flag: Option<crate::flags::FlagEvaluator>,
    /// Flag rules by revision (0: dark).
    flag_rules: Vec<crate::flags::FlagRules>,
    flag_run: Option<crate::analysis::AnalysisRun>,
    dropped: Vec<Request>,
    immediate_sync_pending: bool,
    in_flight: u64,
    rollout: RolloutRecord,
    scenario: Scenario,
    traffic_end: SimTime,
}

impl Simulation {
    /// Builds the world for `scenario`: the initial fleet Ready and warm behind the balancer,
    /// the first arrival, the rollout and the metric buckets scheduled.
    pub fn new(scenario: &Scenario) -> Self {
        let seed = scenario.seed;
        let mut cluster = Cluster::new(
            scenario.cluster.clone(),
            scenario.versions.clone(),
            scenario.deployment.min_ready,
            scenario.load_balancer.propagation.clone(),
            seed,
        );
        let mut lb = Balancer::new(
            scenario.load_balancer.clone(),
            scenario.versions.len(),
            seed,
        );
        let controller = scenario.build_controller();
        lb.set_weights(controller.initial_weights());
        let initial = scenario.deployment.initial;
        let rs = cluster.create_replica_set(initial, 1);
        let pods = cluster.seed_ready_pods(rs, scenario.deployment.replicas);
        cluster.mark_warm(&pods);
        for p in &pods {
            lb.set_member(*p, initial, true);
        }
        let mut metrics = Recorder::new(
            scenario.versions.len(),
            scenario.traffic.users,
            scenario.metrics_bucket,
        );
        metrics.census(SimTime::ZERO, cluster.census());
        metrics.serving_versions(SimTime::ZERO, lb.versions_receiving_traffic());
        cluster.census_dirty = false;
        cluster.controller_dirty = false;

        let mut queue = EventQueue::new();
        let mut traffic = TrafficSource::new(scenario.traffic.clone(), seed);
        if let Some(t) = traffic.next_arrival_time() {
            queue.schedule_in_order(t, Event::Arrival);
        }
        if let Some(r) = &scenario.rollout {
            queue.schedule(r.at, Event::RolloutStart);
            if let Some(u) = r.undo_at {
                queue.schedule(u, Event::Undo);
            }
        }
        queue.schedule(SimTime::ZERO + scenario.metrics_bucket, Event::BucketEnd);
        let mut sim = Simulation {
            queue,
            controller,
            cluster,
            lb,
            traffic,
            metrics,
            monitor: Monitor::new(scenario.versions.len() + 1, scenario.monitor_horizon()),
            control: RngStream::new(seed, StreamName::Control),
            timeout: scenario.traffic.timeout,
            flag: scenario
                .flag
                .clone()
                .map(|f| crate::flags::FlagEvaluator::new(f, scenario.traffic.users)),
            flag_rules: vec![crate::flags::FlagRules::DARK],
            flag_run: None,
            dropped: Vec::new(),
            immediate_sync_pending: false,
            in_flight: 0,
            rollout: RolloutRecord::default(),
            traffic_end: scenario.traffic.end,
            scenario: scenario.clone(),
        };
        sim.schedule_flag();
        sim
    }

    /// How long requests may still finish after arrivals stop.
    fn drain_limit(&self) -> SimDuration {
        let grace = self
            .scenario
            .versions
            .iter()
            .map(|v| v.pod.grace + v.pod.pre_stop)
            .max()
            .unwrap_or(SimDuration::ZERO);
        self.timeout
            .unwrap_or(SimDuration::from_secs(60))
            .max(grace)
            + SimDuration::from_secs(1)
    }

    /// Runs to the end and returns the outputs.
    pub fn run(mut self) -> RunOutput {
        let hard_end = self.traffic_end + self.drain_limit();
        let mut end = self.traffic_end;
        while let Some(t) = self.queue.peek_time() {
            if t > hard_end || (t >= self.traffic_end && self.in_flight == 0) {
                break;
            }
            let (now, event) = self.queue.pop().expect("peeked");
            end = now.max(end);
            self.dispatch(now, event);
            self.after_event(now);
        }
        let end = end.max(self.traffic_end);
        self.count_unfinished(end);
        let counts = self.cluster.per_version_counts();
        self.metrics.finish(end, &counts);
        let summary = self.summarise();
        RunOutput {
            summary,
            metrics: self.metrics,
            version_names: self
                .scenario
                .versions
                .iter()
                .map(|v| v.name.clone())
                .collect(),
        }
    }

    fn dispatch(&mut self, now: SimTime, event: Event) {
        match event {
            Event::Arrival => self.arrival(now),
            Event::Model(m) => self.model_event(now, m),
            Event::ControllerSync => self.controller_sync(now),
            Event::RolloutStart => self.rollout_start(now),
            Event::Undo => self.undo(now),
            Event::WeightsLearned(generation) => self.weights_learned(now, generation),
            Event::TargetHealthCheck { pod, generation } => {
                let update = self
                    .lb
                    .health_check(pod, generation, &self.cluster.pods, now);
                self.lb_updated(now, pod, generation, update);
            }
            Event::Smoke { version, left, gap } => self.smoke_request(now, version, left, gap),
            Event::Flag(change) => self.flag_change(now, change),
            Event::FlagSync { pod, rev } => self.flag_sync(pod, rev),
            Event::FlagAnalysis => self.flag_analysis(now),
            Event::BucketEnd => {
                let counts = self.cluster.per_version_counts();
                self.metrics.close_bucket(now, &counts);
                let next = now + self.metrics.bucket();
                if next <= self.traffic_end {
                    self.queue.schedule(next, Event::BucketEnd);
                }
            }
        }
    }

    fn model_event(&mut self, now: SimTime, event: ModelEvent) {
        let q = &mut self.queue;
        match event {
            ModelEvent::ServiceDone { pod, slot, epoch } => {
                self.service_done(now, pod, slot, epoch)
            }
            ModelEvent::ContainerStarted(p) => self.cluster.container_started(p, now, q),
            ModelEvent::Listening(p) => self.cluster.start_listening(p, now),
            ModelEvent::Probe { pod, epoch } => self.cluster.probe(pod, epoch, now, q),
            ModelEvent::Crash { pod, epoch } => {
                self.cluster.crash(pod, epoch, now, q, &mut self.dropped)
            }
            ModelEvent::MinReadyElapsed(p) => self.cluster.min_ready_elapsed(p, now),
            ModelEvent::PreStopDone(p) => self.cluster.sigterm(p, now, q, &mut self.dropped),
            ModelEvent::GraceExpired(p) => self.cluster.grace_expired(p, now, q, &mut self.dropped),
            ModelEvent::EndpointUpdate {
                pod,
                generation,
                serving,
            } => {
                let version = self.cluster.pods[pod.index()].version;
                let update = self.lb.apply_update(pod, version, generation, serving, now);
                self.lb_updated(now, pod, generation, update);
            }
        }
        self.handle_dropped(now);
    }

    /// Follows up a change at the balancer: recount the versions served, schedule the next
    /// target health check.
    fn lb_updated(
        &mut self,
        now: SimTime,
        pod: crate::model::PodId,
        generation: u32,
        update: crate::model::Update,
    ) {
        if update.changed {
            self.recount_serving_versions(now);
        }
        if let Some(at) = update.health_check_at {
            self.queue
                .schedule(at, Event::TargetHealthCheck { pod, generation });
        }
    }

    /// Versions receiving traffic at the balancer, plus a flag's variant while the flag is on
    /// for some users but not all (its own mixed-version window).
    pub(super) fn recount_serving_versions(&mut self, now: SimTime) {
        let rules = self.flag_rules.last().expect("dark rules at revision 0");
        let partial = !rules.killed
            && (rules.internal || rules.beta || rules.percent > 0.0)
            && rules.percent < 100.0;
        let n = self.lb.versions_receiving_traffic() + usize::from(partial && self.flag.is_some());
        self.metrics.serving_versions(now, n);
    }

    /// Book-keeping after every event: wake the controller if the cluster changed, show pod
    /// count changes to the metrics.
    fn after_event(&mut self, now: SimTime) {
        if self.cluster.controller_dirty {
            self.cluster.controller_dirty = false;
            if !self.immediate_sync_pending {
                self.immediate_sync_pending = true;
                self.queue.schedule(now, Event::ControllerSync);
            }
        }
        if self.cluster.census_dirty {
            self.cluster.census_dirty = false;
            self.metrics.census(now, self.cluster.census());
        }
    }
}
