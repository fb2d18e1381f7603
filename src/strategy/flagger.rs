//! Flagger's canary loop (`pkg/controller/scheduler.go`, `advanceCanary`), one tick per
//! `interval`:
//!
//! * Flagger's ticker runs whatever happens to the Deployment, so an update is detected on the
//!   next tick: 0 to 1 interval later. The ticker's phase is drawn once per run from its own
//!   named random stream (`flagger-ticker`), so it moves with the seed without shifting any
//!   other stream's draws, and `rollsim plan` (built from the same seed) shows the same ticks;
//! * the detecting tick scales the canary up (phase Progressing); weights untouched;
//! * while the canary is not fully available: wait;
//! * **rollback check first**: once `failedChecks ≥ threshold` the next tick routes 100 % back
//!   to the primary and scales the canary to 0 (phase Failed);
//! * otherwise the metric checks run over the interval that just ended (not on the very first
//!   analysis tick, at weight 0, which only runs pre-rollout hooks); any failure increments
//!   `failedChecks` — **cumulative**, never reset by later successes — and changes no traffic;
//! * on success the canary weight grows by `stepWeight` (or to the next `stepWeights` entry),
//!   not clamped to `maxWeight` (20, 40, **60** with maxWeight 50); once at or above
//!   `maxWeight` the canary's spec is copied into the primary (phase **Promoting**, the split
//!   unchanged while the primary rolls out);
//! * next tick (`runPromotionTrafficShift`, stepWeightPromotion 0): all traffic to the primary,
//!   phase **Finalising**; next tick: the canary is scaled to zero, phase **Succeeded**.
//!
//! With `iterations` (and no `match`) Flagger runs **blue/green** instead (`runBlueGreen`):
//! each passing tick counts an iteration with no traffic change (the canary gets none: in a
//! real cluster a load-tester webhook feeds it, which is not modelled, so metric checks find no
//! data and fail as Flagger's "no values found" does); once the count is reached one tick routes
//! 100 % to the canary and counts once more, and the tick after that promotes as above.
//!
//! Simplified: the primary's own rolling update during Promoting is not simulated pod by pod.
//! Its old pods keep serving the primary's share for that tick (the primary is taken to be
//! ready by the next tick), then the new version's pods take all traffic and the old version's
//! pods are removed at the Finalising tick — the same traffic split per tick and the same
//! duration as Flagger, with the new version's pods standing in for the updated primary.

use super::{all_traffic_to, max_revision, newest_of, Action, Controller, Decision, Limit, Report};
use super::{
    DeploymentCtx, PeakPods, RsStatus, StrategyConfig, StrategyDef, StrategySpec, View, Wait,
};
use crate::analysis::{evaluate, Measurement, MetricSpec, RunPhase};
use crate::engine::{stream_seed, RngStream, SimDuration, SimTime};
use crate::model::VersionId;
use crate::scenario::RolloutInput;

/// Flagger's analysis settings.
#[derive(Clone, Debug, PartialEq)]
pub struct FlaggerSpec {
    /// Replicas of the primary and of the canary.
    pub replicas: u32,
    /// Number of versions (length of the weight vector).
    pub versions: usize,
    /// `analysis.interval` (at least 10 s).
    pub interval: SimDuration,
    /// `analysis.threshold`.
    pub threshold: u32,
    /// `analysis.stepWeight` (0: none).
    pub step_weight: u32,
    /// `analysis.stepWeights`.
    pub step_weights: Vec<u32>,
    /// `analysis.maxWeight` as resolved (last step weight capped at 100, or maxWeight, or 100).
    pub max_weight: u32,
    /// `analysis.iterations` (0: the weighted canary; above 0: blue/green).
    pub iterations: u32,
    /// `analysis.metrics`.
    pub metrics: Vec<MetricSpec>,
    /// When Flagger's ticker fires: at `ticker_phase + k × interval` (below `interval`).
    pub ticker_phase: SimDuration,
}

impl FlaggerSpec {
    /// The first tick of Flagger's ticker at or after `t`.
    pub fn tick_at_or_after(&self, t: SimTime) -> SimTime {
        let (i, phase) = (
            self.interval.as_micros().max(1),
            self.ticker_phase.as_micros(),
        );
        let since = (t - SimTime::ZERO).as_micros();
        let k = since.saturating_sub(phase).div_ceil(i);
        SimTime::ZERO + SimDuration::from_micros(phase + k * i)
    }

    /// The increment from `weight`, as Flagger's `nextStepWeight` (pkg/controller/scheduler.go):
    /// `stepWeight` when set or without `stepWeights`; 1 at weight 100 (promotion); from 0 the
    /// first entry — so a list starting at 0 yields 0 and the canary never advances, which
    /// validation rejects; else the gap to the entry after the current weight, or to 100 when
    /// the weight is not in the list. Capped at `100 − weight`.
    pub fn next_step(&self, weight: u32) -> u32 {
        if self.step_weight > 0 || self.step_weights.is_empty() {
            return self.step_weight;
        }
        let max_step = 100u32.saturating_sub(weight);
        if max_step == 0 {
            return 1;
        }
        if weight == 0 {
            return max_step.min(self.step_weights[0]);
        }
        let list = &self.step_weights;
        match list.windows(2).find(|w| w[0] == weight) {
            Some(w) => max_step.min(w[1].saturating_sub(weight)),
            None => max_step,
        }
    }
}

/// `strategy = "flagger"`.
pub const DEF: StrategyDef = StrategyDef {
    name: "flagger",
    keys: &[
        "analysis",
        "interval",
        "threshold",
        "step_weight",
        "step_weights",
        "max_weight",
        "iterations",
    ],
    title: None,
    foreign_key_help: super::no_foreign_key_help,
    resolve,
};

/// Resolves `strategy = "flagger"`: the analysis interval (at least 10 s, as Flagger enforces),
/// the failure threshold, the step weights and the metrics.
fn resolve(inp: &mut RolloutInput<'_, '_>) -> Option<StrategySpec> {
    let (r, replicas) = (inp.raw(), inp.replicas());
    let interval = inp
        .opt_duration(&["interval"], &r.interval, SimDuration::from_secs(60))
        .max(SimDuration::from_secs(10));
    let threshold = r
        .threshold
        .map_or(1, |t| if t <= 0 { 1 } else { t.min(1000) as u32 });
    // Flagger's silent corrections (`../shared/reference/controllers.md` §3), warned about.
    if let Some(i) = r.interval.as_ref().and_then(RolloutInput::written_secs) {
        if i < 10.0 {
            inp.warn(
                &["interval"],
                format!("Flagger raises an analysis interval below 10 s to 10 s: interval = {i} s runs as 10 s"),
            );
        }
    }
    match r.threshold {
        Some(t) if t <= 0 => inp.warn(
            &["threshold"],
            format!("Flagger reads threshold = {t} as 1: the first failed check rolls back"),
        ),
        Some(t) if t > 1000 => inp.warn(
            &["threshold"],
            format!("threshold = {t} is clamped to 1000"),
        ),
        _ => {}
    }
    let step_weight = r
        .step_weight
        .map_or(0, |w| inp.count(&["step_weight"], Some(w), 0, 0, 100));
    let step_weights: Vec<u32> = r
        .step_weights
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, w)| inp.count(&["step_weights", &i.to_string()], Some(*w), 0, 0, 1000))
        .collect();
    if step_weights.first() == Some(&0) {
        // Flagger's nextStepWeight from weight 0 finds 0 in the list and steps to the
        // next entry only after a tick at weight 0 that advances nothing: the canary
        // never leaves 0 % (pkg/controller/scheduler.go, nextStepWeight).
        inp.add(
            &["step_weights", "0"],
            "step_weights starts at 0: Flagger would never advance past weight 0",
            "start with the first weight the canary should get, e.g. step_weights = [5, 20, 50]",
        );
    }
    if step_weights.windows(2).any(|w| w[1] <= w[0]) {
        inp.add(
            &["step_weights"],
            "step_weights must increase",
            "list the canary weights in increasing order, e.g. [1, 5, 20, 50]",
        );
    }
    let iterations = r
        .iterations
        .map_or(0, |n| inp.count(&["iterations"], Some(n), 0, 0, 10_000));
    if step_weight == 0 && step_weights.is_empty() && iterations == 0 {
        inp.add(
            &["strategy"],
            "a Flagger canary needs step_weight, step_weights or iterations",
            "without them Flagger never advances the weight (nor promotes); add step_weight = 10 (or iterations = 10 for blue/green)",
        );
    }
    let max_weight = match (step_weights.last(), r.max_weight) {
        (Some(last), _) => (*last).min(100),
        (None, Some(m)) if m > 0 => inp.count(&["max_weight"], Some(m), 0, 0, 100),
        _ => 100,
    };
    let metrics = match &r.analysis {
        Some(a) => inp
            .analysis(&["analysis"], a, None)
            .map(|s| s.metrics)
            .unwrap_or_default(),
        None => vec![],
    };
    Some(StrategySpec::new(FlaggerSpec {
        replicas,
        versions: inp.versions(),
        interval,
        threshold,
        step_weight,
        step_weights,
        max_weight,
        iterations,
        metrics,
        // Drawn from the seed when the controller is built (`build_controller`).
        ticker_phase: SimDuration::ZERO,
    }))
}

impl StrategyConfig for FlaggerSpec {
    fn output_name(&self) -> &'static str {
        "flagger"
    }
    /// Places the ticker from the seed: uniform in `[0, interval)`, from the run's own
    /// `flagger-ticker` stream (a new name, so no other stream's draws move).
    fn build(&self, d: &DeploymentCtx) -> Box<dyn Controller> {
        let mut spec = self.clone();
        let mut rng = RngStream::from_seed_u64(stream_seed(d.seed, "flagger-ticker"));
        let us = spec.interval.as_micros().max(1);
        spec.ticker_phase = SimDuration::from_micros(rng.index(us as usize) as u64);
        Box::new(Flagger::new(spec, d.initial))
    }
    /// The primary beside a canary Deployment scaled up to the same size.
    fn peak_pods(&self, replicas: u32) -> PeakPods {
        PeakPods::stable_and_canary(replicas)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Idle,
    Initializing,
    Progressing,
    Promoting,
    Finalising,
    Done,
    Failed,
}

/// The Flagger controller.
#[derive(Clone, Debug)]
pub struct Flagger {
    spec: FlaggerSpec,
    primary: VersionId,
    canary: VersionId,
    phase: Phase,
    weight: u32,
    failed_checks: u32,
    /// Blue/green iterations counted (`status.iterations`).
    iterations_done: u32,
    next_tick: SimTime,
    last_tick: SimTime,
    analysed_once: bool,
}

impl Flagger {
    /// A controller whose primary runs `primary`.
    pub fn new(spec: FlaggerSpec, primary: VersionId) -> Self {
        Flagger {
            spec,
            primary,
            canary: primary,
            phase: Phase::Idle,
            weight: 0,
            failed_checks: 0,
            iterations_done: 0,
            next_tick: SimTime::ZERO,
            last_tick: SimTime::ZERO,
            analysed_once: false,
        }
    }

    fn weights(&self, canary_weight: u32) -> Action {
        let mut v = vec![0; self.spec.versions];
        v[self.primary.index()] = 100 - canary_weight;
        v[self.canary.index()] += canary_weight;
        Action::SetWeights(Some(v))
    }

    fn checks_pass(&self, view: &View<'_>) -> bool {
        self.spec.metrics.iter().all(|m| {
            let (_, r) = evaluate(
                m,
                self.canary,
                Some(self.primary),
                self.last_tick,
                view.now,
                view.monitor,
            );
            r == Measurement::Successful
        })
    }
}

impl Controller for Flagger {
    fn replicas(&self) -> u32 {
        self.spec.replicas
    }

    fn initial_weights(&self) -> Option<Vec<u32>> {
        Some(all_traffic_to(self.spec.versions, self.primary))
    }

    fn start(&mut self, target: VersionId, now: SimTime) {
        // A later rollout (`[[steps]]`) starts afresh from the promoted primary.
        self.canary = target;
        self.phase = Phase::Initializing;
        self.weight = 0;
        self.failed_checks = 0;
        self.iterations_done = 0;
        self.analysed_once = false;
        // The revision is detected on the ticker's next tick, at or after the update.
        self.next_tick = self.spec.tick_at_or_after(now);
        self.last_tick = now;
    }

    fn undo(&mut self, _rss: &[RsStatus], _now: SimTime) -> bool {
        if self.phase == Phase::Progressing {
            self.failed_checks = self.spec.threshold;
            return true;
        }
        false
    }

    fn reconcile(&mut self, view: &View<'_>) -> Decision {
        let mut d = self.tick(view);
        d.wait = self.waiting(view);
        d
    }

    fn limits(&self) -> Vec<Limit> {
        self.limit_list()
    }
}

impl Flagger {
    /// What the rollout waits for between ticks: detection and the promotion phases wait for
    /// the ticker; while progressing, the interval checks are the analysis, unless the canary
    /// Deployment is still bringing its pods up.
    fn waiting(&self, view: &View<'_>) -> Wait {
        match self.phase {
            Phase::Initializing | Phase::Promoting | Phase::Finalising => Wait::Controller,
            Phase::Progressing => match newest_of(view.replica_sets, self.canary) {
                Some(c) if c.available >= self.spec.replicas => Wait::Analysis,
                _ => Wait::Pods,
            },
            Phase::Idle | Phase::Done | Phase::Failed => Wait::Pods,
        }
    }

    /// One reconcile: at most one move per interval tick (`scheduleCanaries`' ticker).
    fn tick(&mut self, view: &View<'_>) -> Decision {
        let mut d = Decision::default();
        let now = view.now;
        let rss = view.replica_sets;
        let find = |v: VersionId| newest_of(rss, v);
        if matches!(self.phase, Phase::Idle | Phase::Done) {
            return d;
        }
        if self.phase == Phase::Failed {
            if let Some(c) = find(self.canary).filter(|c| c.spec > 0) {
                d.actions.push(Action::Scale {
                    rs: c.id,
                    replicas: 0,
                });
            }
            return d;
        }
        if now < self.next_tick {
            d.requeue_at = Some(self.next_tick);
            return d;
        }
        self.next_tick = now + self.spec.interval;
        d.requeue_at = Some(self.next_tick);
        match self.phase {
            Phase::Promoting => {
                // runPromotionTrafficShift: the primary runs the new spec; all traffic to it.
                d.actions.push(self.weights(100));
                d.reports.push(Report::Promoted);
                d.why.set(
                    "promoting: the primary runs the new version; all traffic to it \
                         (Finalising)",
                );
                self.phase = Phase::Finalising;
                return d;
            }
            Phase::Finalising => {
                for r in rss
                    .iter()
                    .filter(|r| r.version != self.canary && r.spec > 0)
                {
                    d.actions.push(Action::Scale {
                        rs: r.id,
                        replicas: 0,
                    });
                }
                self.phase = Phase::Done;
                self.primary = self.canary;
                d.reports.push(Report::Completed);
                d.requeue_at = None;
                d.why.set("finalising: scale the old pods down (Succeeded)");
                return d;
            }
            _ => {}
        }
        let Some(canary) = find(self.canary).cloned() else {
            d.actions.push(Action::CreateReplicaSet {
                version: self.canary,
                replicas: self.spec.replicas,
                revision: max_revision(rss) + 1,
            });
            d.why
                .set("new revision detected: scale the canary up (Progressing)");
            self.phase = Phase::Progressing;
            self.last_tick = now;
            return d;
        };
        if canary.available < self.spec.replicas {
            d.why.set("canary not ready yet");
            self.last_tick = now;
            return d;
        }
        if self.failed_checks >= self.spec.threshold {
            d.reports
                .push(Report::AnalysisDone("canary analysis", RunPhase::Failed));
            d.actions.push(self.weights(0));
            d.actions.push(Action::Scale {
                rs: canary.id,
                replicas: 0,
            });
            d.reports.push(Report::Aborted);
            d.why.set(crate::why!(
                "rollback: {} failed checks ≥ threshold {}",
                self.failed_checks,
                self.spec.threshold
            ));
            self.phase = Phase::Failed;
            return d;
        }
        let first = !self.analysed_once;
        self.analysed_once = true;
        if first {
            // Flagger's analysis loop: its first tick with a ready canary, then one check per
            // interval until promotion or the failed-checks threshold.
            d.reports.push(Report::AnalysisStarted("canary analysis"));
        }
        if !first && !self.checks_pass(view) {
            self.failed_checks += 1;
            d.why.set(crate::why!(
                "checks failed ({} of threshold {})",
                self.failed_checks,
                self.spec.threshold
            ));
            self.last_tick = now;
            return d;
        }
        self.last_tick = now;
        if self.spec.iterations > 0 {
            self.blue_green(&mut d);
            return d;
        }
        let step = self.spec.next_step(self.weight);
        if step == 0 {
            // `advanceCanary` runs the canary step only when nextStepWeight > 0.
            d.why.set(crate::why!(
                "checks passed, but the next step weight is 0: stuck at {}",
                self.weight
            ));
        } else if self.weight < self.spec.max_weight {
            self.weight = (self.weight + step).min(100);
            d.actions.push(self.weights(self.weight));
            d.why
                .set(crate::why!("checks passed: canary weight {}", self.weight));
        } else {
            // Copy the canary's spec into the primary; the split stays for this tick.
            d.why.set(crate::why!(
                "checks passed at weight {} ≥ maxWeight {}: copy the canary spec to the primary \
                 (Promoting)",
                self.weight,
                self.spec.max_weight
            ));
            self.phase = Phase::Promoting;
            d.reports.push(Report::AnalysisDone(
                "canary analysis",
                RunPhase::Successful,
            ));
        }
        d
    }

    /// `runBlueGreen` (pkg/controller/scheduler.go), after the checks passed: count an
    /// iteration; at the target route all traffic to the canary and count once more; past it,
    /// promote (copy the canary spec to the primary, phase Promoting).
    fn blue_green(&mut self, d: &mut Decision) {
        let target = self.spec.iterations;
        if self.iterations_done < target {
            self.iterations_done += 1;
            d.why.set(crate::why!(
                "checks passed: iteration {} of {}",
                self.iterations_done,
                target
            ));
        } else if self.iterations_done == target {
            self.iterations_done += 1;
            self.weight = 100;
            d.actions.push(self.weights(100));
            d.why
                .set("iterations done: route all traffic to the canary");
        } else {
            d.why.set(
                "checks passed after the switch: copy the canary spec to the primary (Promoting)",
            );
            self.phase = Phase::Promoting;
            d.reports.push(Report::AnalysisDone(
                "canary analysis",
                RunPhase::Successful,
            ));
        }
    }

    fn limit_list(&self) -> Vec<Limit> {
        let mut v = vec![
            Limit::count("replicas", self.spec.replicas),
            Limit::duration("interval", self.spec.interval),
            Limit::count("threshold", self.spec.threshold),
        ];
        if self.spec.step_weights.is_empty() {
            v.push(Limit::count("stepWeight", self.spec.step_weight));
        } else {
            v.push(Limit {
                key: "stepWeights",
                value: self.spec.step_weights.clone().into(),
                text: vec![format!("{:?}", self.spec.step_weights)],
            });
        }
        v.push(Limit::count("maxWeight", self.spec.max_weight));
        if self.spec.iterations > 0 {
            v.push(Limit::count("iterations", self.spec.iterations));
        }
        v.push(Limit {
            key: "tickerPhase",
            value: self.spec.ticker_phase.as_secs_f64().into(),
            text: vec![format!(
                "{phase:.3}s (ticks at {phase:.3}s + k × {}, drawn from the seed: an update is \
                 detected at the next tick, 0 to 1 interval later)",
                self.spec.interval,
                phase = self.spec.ticker_phase.as_secs_f64(),
            )],
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(step_weight: u32, step_weights: Vec<u32>, max_weight: u32) -> FlaggerSpec {
        FlaggerSpec {
            replicas: 2,
            versions: 2,
            interval: SimDuration::from_secs(10),
            threshold: 1,
            step_weight,
            step_weights,
            max_weight,
            iterations: 0,
            metrics: vec![],
            ticker_phase: SimDuration::ZERO,
        }
    }

    /// The weight sequences pinned by Flagger's `TestScheduler_ServicePromotion*`.
    #[test]
    fn weight_sequences_match_flaggers_tests() {
        let walk = |s: FlaggerSpec| {
            let mut w = 0;
            let mut seq = vec![];
            while w < s.max_weight {
                w = (w + s.next_step(w)).min(100);
                seq.push(100 - w);
            }
            seq
        };
        assert_eq!(walk(spec(20, vec![], 50)), [80, 60, 40]);
        assert_eq!(walk(spec(50, vec![], 100)), [50, 0]);
        assert_eq!(walk(spec(0, vec![1, 2, 10, 80], 80)), [99, 98, 90, 20]);
        assert_eq!(walk(spec(0, vec![1, 2, 10, 200], 100)), [99, 98, 90, 0]);
    }
}
