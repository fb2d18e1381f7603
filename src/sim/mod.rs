//! The world: one run of one scenario. It owns the event queue, the cluster, the balancer, the
//! traffic source, the rollout controller and the metrics, and routes each event to the part
//! it concerns. Requests' journeys (routing, retries, service, outcomes) live in `requests.rs`.
//!
//! A run has two phases: traffic until the scenario's duration, then a drain during which no
//! request arrives and the ones in flight finish (bounded by the client timeout, or the longest
//! grace period, whichever is longer). Whatever is still in flight after that is counted as
//! `in_flight_at_end`, so every request that arrived is accounted for exactly once.

mod budget;
mod calls;
mod connections;
mod course;
mod database;
mod flags;
mod requests;
mod rollout;
mod sessions;
mod steps;

use crate::analysis::Monitor;
use crate::engine::{EventQueue, RngStream, SimDuration, SimTime, StreamName};
use crate::metrics::{Recorder, Summary};
use crate::model::{
    Balancer, Cluster, Ctx, Dependencies, DependencyStats, ModelEvent, Request, Schedule,
    TrafficSource,
};
use crate::scenario::Scenario;
use crate::strategy::Controller;

pub use crate::metrics::RolloutRecord;
pub use budget::{Budget, RunError};

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
    /// A long-lived connection's client (the user) tries to reconnect.
    Reconnect(u32),
    /// `[[steps]]` entry `k` starts (`done: false`), or its wait is over (`done: true`).
    Step {
        /// The step.
        k: u16,
        /// Its wait is over.
        done: bool,
    },
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

// Every pending event sits in the heap: keep it small (24 bytes, with `CallDone` included).
const _: () = assert!(std::mem::size_of::<Event>() <= 24);

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
    /// Each registered dependency's name and totals, by id (empty without dependencies).
    pub dependencies: Vec<(String, DependencyStats)>,
    /// Database connections open at each bucket's end, per version slot, in the order of
    /// `metrics.rows()` (empty without a database).
    pub db_connections: Vec<u32>,
    /// Requests' queries waiting for a table lock at each bucket's end, aligned with
    /// `db_connections` (empty without a database).
    pub db_lock_waiting: Vec<u32>,
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
    /// Seed of the `conversion` stream (keyed by each request's luck).
    conversion_seed: u64,
    control: RngStream,
    timeout: Option<SimDuration>,
    flag: Option<crate::flags::FlagEvaluator>,
    /// Flag rules by revision (0: dark).
    flag_rules: Vec<crate::flags::FlagRules>,
    flag_run: Option<crate::analysis::AnalysisRun>,
    dropped: Vec<Request>,
    /// Dependencies requests call after the application's work (none unless registered).
    deps: Dependencies,
    /// Login sessions and cookie affinity (`None` without `[sessions]`).
    sessions: Option<Box<sessions::SessionState>>,
    /// Database connections per (bucket, version slot), sampled at bucket ends.
    db_series: Vec<u32>,
    /// Long-lived connections (`None` without `[connections]`).
    connections: Option<Box<crate::model::Connections>>,
    /// Queries waiting for a table lock per (bucket, version slot), aligned with `db_series`.
    db_lock_series: Vec<u32>,
    immediate_sync_pending: bool,
    /// What the controller waits for since its last reconcile (for the rollout's clock).
    rollout_wait: crate::strategy::Wait,
    /// Where the rollout's time goes (`rollout.time_breakdown_s`).
    rollout_clock: crate::metrics::RolloutClock,
    in_flight: u64,
    rollout: RolloutRecord,
    /// `[[steps]]` and how far they got.
    steps: steps::Steps,
    scenario: Scenario,
    traffic_end: SimTime,
    /// Arrivals stop at `traffic_end`; requests in flight may finish until this.
    hard_end: SimTime,
    /// The end condition has been met: no further event will be processed.
    done: bool,
    meter: budget::Meter,
}

impl Simulation {
    /// Builds the world for `scenario`: the initial fleet Ready and warm behind the balancer,
    /// the first arrival, the rollout and the metric buckets scheduled.
    pub fn new(scenario: &Scenario) -> Self {
        Self::with_controller(scenario, scenario.build_controller())
    }

    /// Like [`Simulation::new`] with a given rollout controller instead of the scenario's
    /// (tests; tools that drive a custom policy).
    pub fn with_controller(scenario: &Scenario, controller: Box<dyn Controller>) -> Self {
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
        // With `[[steps]]`, deployments are steps (`steps.rs`).
        if let Some(r) = scenario
            .rollout
            .as_ref()
            .filter(|_| scenario.steps.is_empty())
        {
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
            monitor: Monitor::new(scenario.versions.len() + 1, scenario.monitor_horizon())
                .with_conversions(
                    scenario
                        .versions
                        .iter()
                        .map(|v| v.conversion_rate.is_some()),
                ),
            conversion_seed: crate::engine::stream_seed(seed, StreamName::Conversion.as_str()),
            control: RngStream::new(seed, StreamName::Control),
            timeout: scenario.traffic.timeout,
            flag: scenario
                .flag
                .clone()
                .map(|f| crate::flags::FlagEvaluator::new(f, scenario.traffic.users)),
            flag_rules: vec![crate::flags::FlagRules::DARK],
            flag_run: None,
            dropped: Vec::new(),
            deps: Dependencies::new(scenario.versions.len()),
            sessions: None,
            db_series: Vec::new(),
            connections: None,
            db_lock_series: Vec::new(),
            immediate_sync_pending: false,
            rollout_wait: crate::strategy::Wait::Pods,
            rollout_clock: crate::metrics::RolloutClock::default(),
            in_flight: 0,
            rollout: RolloutRecord::default(),
            steps: steps::Steps::new(scenario.steps.len(), initial),
            traffic_end: scenario.traffic.end,
            hard_end: scenario.traffic.end,
            done: false,
            meter: budget::Meter::new(Budget::default()),
            scenario: scenario.clone(),
        };
        sim.hard_end = sim.traffic_end + sim.drain_limit();
        if let Some(db) = &scenario.database {
            sim.add_database(db.clone());
        }
        sim.schedule_steps();
        sim.schedule_flag();
        sim.setup_sessions();
        sim.setup_connections();
        sim
    }

    /// Replaces the default event [`Budget`].
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.meter = budget::Meter::new(budget);
        self
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

    /// The simulated time of the last event processed.
    pub fn now(&self) -> SimTime {
        self.queue.now()
    }

    /// When arrivals stop (the scenario's duration): what a progress bar counts towards. A
    /// drain of at most the client timeout or the longest grace period follows.
    pub fn traffic_end(&self) -> SimTime {
        self.traffic_end
    }

    /// Processes the next event. Returns its time, or `None` once the run has reached its end
    /// (arrivals over and nothing in flight, or the drain limit passed); then call
    /// [`Simulation::finish`]. An error if the event budget is exceeded.
    pub fn step(&mut self) -> Result<Option<SimTime>, RunError> {
        self.advance(SimTime::MAX, 1)
    }

    /// Processes every event up to and including simulated time `t` (for progress reports:
    /// call it with growing `t`). Returns whether the run goes on after `t`.
    pub fn step_until(&mut self, t: SimTime) -> Result<bool, RunError> {
        self.advance(t, u64::MAX)?;
        Ok(!self.done)
    }

    /// Runs to the end and returns the outputs, or the reason it could not finish.
    pub fn run(mut self) -> Result<RunOutput, RunError> {
        self.advance(SimTime::MAX, u64::MAX)?;
        Ok(self.finish())
    }

    /// The one event loop (`step`, `step_until` and `run` share it, so the per-event dispatch
    /// has a single call site and inlines): processes up to `max_events` events no later than
    /// `until`, stopping early at the run's end. Returns the time of the last event processed.
    fn advance(&mut self, until: SimTime, max_events: u64) -> Result<Option<SimTime>, RunError> {
        if self.done {
            return Ok(None);
        }
        let mut last = None;
        let mut left = max_events;
        while left > 0 {
            let Some(t) = self.queue.peek_time() else {
                self.done = true;
                break;
            };
            if t > self.hard_end || (t >= self.traffic_end && self.in_flight == 0) {
                self.done = true;
                break;
            }
            if t > until {
                break;
            }
            let (now, event) = self.queue.pop().expect("peeked");
            self.meter.charge(now, self.queue.processed(), &event)?;
            self.dispatch(now, event);
            // Only events that can end a pod can cut its long-lived connections.
            if self.connections.is_some() && may_end_a_pod(&event) {
                self.cut_ended(now);
            }
            self.after_event(now);
            last = Some(now);
            left -= 1;
        }
        Ok(last)
    }

    /// Closes the run where it stands: whatever is still in flight counts as
    /// `in_flight_at_end`, the last metrics bucket closes, the summary is assembled.
    pub fn finish(mut self) -> RunOutput {
        // The clock is the time of the last event processed.
        let end = self.queue.now().max(self.traffic_end);
        self.count_unfinished(end);
        let counts = self.cluster.per_version_counts();
        if let Some(c) = self.connections_by_version() {
            self.metrics.long_lived(&c);
        }
        self.metrics.finish(end, &counts);
        let rows = self.metrics.rows().count();
        while self.deps.database.is_some() && self.db_series.len() < rows {
            self.sample_db_connections();
        }
        let mut summary = self.summarise();
        summary.sessions = self.session_summary();
        summary.connections = self.connection_summary();
        RunOutput {
            summary,
            metrics: self.metrics,
            version_names: self
                .scenario
                .versions
                .iter()
                .map(|v| v.name.clone())
                .collect(),
            dependencies: self
                .deps
                .list
                .iter()
                .map(|d| (d.spec().name.clone(), d.stats()))
                .collect(),
            db_connections: self.db_series,
            db_lock_waiting: self.db_lock_series,
        }
    }

    fn dispatch(&mut self, now: SimTime, event: Event) {
        match event {
            Event::Arrival => self.arrival(now),
            Event::Model(m) => self.model_event(now, m),
            Event::ControllerSync => self.controller_sync(now),
            Event::RolloutStart => self.rollout_start(now),
            Event::Undo => self.undo(now),
            Event::Step { k, done } => self.step_event(now, k, done),
            Event::WeightsLearned(generation) => self.weights_learned(now, generation),
            Event::TargetHealthCheck { pod, generation } => {
                let update = self
                    .lb
                    .health_check(pod, generation, &self.cluster.pods, now);
                self.lb_updated(now, pod, generation, update);
            }
            Event::Reconnect(user) => self.reconnect(now, user),
            Event::Smoke { version, left, gap } => self.smoke_request(now, version, left, gap),
            Event::Flag(change) => self.flag_change(now, change),
            Event::FlagSync { pod, rev } => self.flag_sync(now, pod, rev),
            Event::FlagAnalysis => self.flag_analysis(now),
            Event::BucketEnd => {
                self.sample_db_connections();
                let counts = self.cluster.per_version_counts();
                if let Some(c) = self.connections_by_version() {
                    self.metrics.long_lived(&c);
                }
                self.metrics.close_bucket(now, &counts);
                let next = now + self.metrics.bucket();
                if next <= self.traffic_end {
                    self.queue.schedule(next, Event::BucketEnd);
                }
            }
        }
    }

    fn model_event(&mut self, now: SimTime, event: ModelEvent) {
        // Built only in the arms that need it: the service completions are the hot ones.
        macro_rules! ctx {
            () => {
                &mut Ctx::new(now, &mut self.queue, &mut self.dropped)
            };
        }
        match event {
            // A phase of a request ended: handled below, after the dependency's own part.
            ModelEvent::ServiceDone { .. } => {}
            ModelEvent::CallDone { dep, .. } => self.call_done(now, dep),
            ModelEvent::Db(_) => {}
            ModelEvent::ContainerStarted(p) => self.cluster.container_started(p, ctx!()),
            ModelEvent::Listening(p) => self.cluster.start_listening(p, now),
            ModelEvent::Probe { pod, epoch } => self.cluster.probe(pod, epoch, ctx!()),
            ModelEvent::Crash { pod, epoch } => self.cluster.crash(pod, epoch, ctx!()),
            ModelEvent::MinReadyElapsed(p) => self.cluster.min_ready_elapsed(p, now),
            ModelEvent::PreStopDone(p) => self.cluster.sigterm(p, ctx!()),
            ModelEvent::GraceExpired(p) => self.cluster.grace_expired(p, ctx!()),
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
        // One call site, so the hot path inlines it.
        let resume = match event {
            ModelEvent::ServiceDone { pod, slot, epoch }
            | ModelEvent::CallDone {
                pod, slot, epoch, ..
            } => Some((pod, slot, epoch)),
            ModelEvent::Db(e) => self.db_event(now, e),
            _ => None,
        };
        if let Some((pod, slot, epoch)) = resume {
            self.service_done(now, pod, slot, epoch);
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

    /// Book-keeping after every event: wake the controller if the cluster changed, show pod
    /// count changes to the metrics.
    fn after_event(&mut self, now: SimTime) {
        if self.cluster.wait_dirty || self.cluster.controller_dirty {
            self.cluster.wait_dirty = false;
            self.observe_rollout_time(now);
        }
        if self.cluster.controller_dirty {
            self.cluster.controller_dirty = false;
            if !self.immediate_sync_pending {
                self.immediate_sync_pending = true;
                self.queue.schedule(now, Event::ControllerSync);
            }
        }
        if !self.cluster.process_log.is_empty() {
            self.db_processes(now);
        }
        if self.cluster.census_dirty {
            self.cluster.census_dirty = false;
            self.metrics.census(now, self.cluster.census());
        }
    }
}

/// Whether `event` can end a pod's process or bring it SIGTERM (requests' own completions
/// can too, on a draining pod: `service_done` checks those).
fn may_end_a_pod(event: &Event) -> bool {
    !matches!(
        event,
        Event::Arrival
            | Event::BucketEnd
            | Event::Reconnect(_)
            | Event::Model(
                crate::model::ModelEvent::ServiceDone { .. }
                    | crate::model::ModelEvent::CallDone { .. }
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_in_slices_gives_the_same_run_as_run() {
        let text = std::fs::read_to_string("scenarios/rolling-no-prestop.toml").unwrap();
        let scenario = Scenario::parse("rolling-no-prestop.toml", "r", &text).unwrap();
        let whole = Simulation::new(&scenario).run().unwrap();
        let mut sim = Simulation::new(&scenario);
        let mut t = SimTime::ZERO;
        let mut slices = 0;
        while sim.step_until(t).unwrap() {
            assert!(sim.now() <= t);
            t += SimDuration::from_secs(7);
            slices += 1;
        }
        assert!(slices > sim.traffic_end().as_secs_f64() as u32 / 7);
        assert_eq!(sim.step().unwrap(), None, "a finished run stays finished");
        let sliced = sim.finish();
        let json = |o: &RunOutput| serde_json::to_string(&o.summary).unwrap();
        assert_eq!(json(&whole), json(&sliced));
        assert_eq!(
            crate::report::timeseries_csv(&whole),
            crate::report::timeseries_csv(&sliced)
        );
    }
}
