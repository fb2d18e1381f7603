//! Analysis runs with Argo Rollouts' measurement semantics (`AnalysisRun`): every `interval`
//! each metric is measured over the interval that just ended; a measurement is Successful,
//! Failed, Inconclusive or Error. A metric fails when its failures exceed `failure_limit`, is
//! inconclusive when its inconclusive results exceed `inconclusive_limit`, and errors when
//! consecutive errors exceed `consecutive_error_limit` (Argo defaults 0, 0 and 4). The run
//! succeeds after `count` measurements without that; with no `count` it runs until stopped
//! (background analysis).
//!
//! Simulation-specific choices: a window with fewer than `min_requests` requests is an Error
//! (a query that returned no data); the first measurement is taken one interval after the run
//! starts (plus `initial_delay`), so that it covers a full interval.

use super::judge::{classify, Direction, JudgeConfig, Verdict};
use super::{Monitor, Series};
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;

/// What a metric measures.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricKind {
    /// Failed / total requests of the new variant.
    ErrorRate,
    /// 99th percentile latency of the new variant's successes, ms.
    P99LatencyMs,
    /// Mean latency of the new variant's successes, ms.
    MeanLatencyMs,
    /// Conversions / successes of the new variant (the business metric; no data unless the
    /// version declares `conversion_rate`).
    ConversionRate,
    /// Mann-Whitney judge of the new variant's per-second series against the baseline's.
    Judge {
        /// Which series.
        series: Series,
        /// Judge settings.
        settings: JudgeSettings,
    },
}

/// Settings of a judged metric (see `analysis::judge`).
#[derive(Clone, Debug, PartialEq)]
pub struct JudgeSettings {
    /// Confidence level for significance, e.g. 0.95.
    pub confidence: f64,
    /// Smallest relative shift that counts as a regression, e.g. 0.1 for 10 %.
    pub effect_size: f64,
    /// Fewer samples per side ⇒ no data.
    pub min_samples: usize,
}

/// One metric of an analysis, with its success and failure conditions.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    /// Name in outputs.
    pub name: String,
    /// What is measured.
    pub kind: MetricKind,
    /// Successful when the value is at most this.
    pub max: Option<f64>,
    /// Successful when the value is at least this.
    pub min: Option<f64>,
    /// Failed only beyond this (above `max`); between `max` and this it is Inconclusive.
    pub fail_above: Option<f64>,
    /// Failed only below this (under `min`); between this and `min` it is Inconclusive.
    pub fail_below: Option<f64>,
    /// Fewer requests in the window ⇒ Error (no data).
    pub min_requests: u64,
}

/// An analysis: metrics measured together on one schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisSpec {
    /// The metrics.
    pub metrics: Vec<MetricSpec>,
    /// Time between measurements.
    pub interval: SimDuration,
    /// Measurements to take (`None`: until stopped).
    pub count: Option<u32>,
    /// Wait before the first interval starts.
    pub initial_delay: SimDuration,
    /// Failures tolerated per metric.
    pub failure_limit: u32,
    /// Inconclusive results tolerated per metric.
    pub inconclusive_limit: u32,
    /// Consecutive errors tolerated per metric.
    pub consecutive_error_limit: u32,
}

/// One measurement's result.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Measurement {
    /// Within the success condition.
    Successful,
    /// Beyond the failure condition.
    Failed,
    /// Neither.
    Inconclusive,
    /// No data.
    Error,
}

/// Where a run stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RunPhase {
    /// Measuring.
    Running,
    /// All measurements taken, no metric failed.
    Successful,
    /// A metric failed or errored too often: abort.
    Failed,
    /// A metric was inconclusive too often: pause for a human.
    Inconclusive,
}

#[derive(Clone, Debug, Default)]
struct Counts {
    failed: u32,
    inconclusive: u32,
    consecutive_errors: u32,
}

/// A running analysis of `target` (against `baseline` for judged metrics).
#[derive(Clone, Debug)]
pub struct AnalysisRun {
    spec: AnalysisSpec,
    target: VersionId,
    baseline: Option<VersionId>,
    next_at: SimTime,
    last_at: SimTime,
    taken: u32,
    counts: Vec<Counts>,
    phase: RunPhase,
    /// Every measurement taken: (time, metric index, value, result), for reports and tests.
    pub log: Vec<(SimTime, usize, Option<f64>, Measurement)>,
}

impl AnalysisRun {
    /// Starts a run at `now`.
    pub fn start(
        spec: AnalysisSpec,
        target: VersionId,
        baseline: Option<VersionId>,
        now: SimTime,
    ) -> Self {
        let first = now + spec.initial_delay;
        AnalysisRun {
            next_at: first + spec.interval,
            last_at: first,
            taken: 0,
            counts: vec![Counts::default(); spec.metrics.len()],
            phase: RunPhase::Running,
            log: Vec::new(),
            spec,
            target,
            baseline,
        }
    }

    /// The run's phase.
    pub fn phase(&self) -> RunPhase {
        self.phase
    }

    /// When the next measurement is due (`None` once the run has ended).
    pub fn due(&self) -> Option<SimTime> {
        (self.phase == RunPhase::Running).then_some(self.next_at)
    }

    /// Measurements taken so far.
    pub fn taken(&self) -> u32 {
        self.taken
    }

    /// Takes every measurement due by `now`; returns the phase.
    pub fn advance(&mut self, now: SimTime, monitor: &Monitor) -> RunPhase {
        while self.phase == RunPhase::Running && self.next_at <= now {
            let (from, to) = (self.last_at, self.next_at);
            self.measure(from, to, monitor);
            self.taken += 1;
            self.last_at = to;
            self.next_at = to + self.spec.interval;
            if self.phase == RunPhase::Running && self.spec.count.is_some_and(|c| self.taken >= c) {
                self.phase = RunPhase::Successful;
            }
        }
        self.phase
    }

    fn measure(&mut self, from: SimTime, to: SimTime, monitor: &Monitor) {
        let spec = &self.spec;
        for (i, m) in spec.metrics.iter().enumerate() {
            let (value, result) = evaluate(m, self.target, self.baseline, from, to, monitor);
            self.log.push((to, i, value, result));
            let c = &mut self.counts[i];
            match result {
                Measurement::Successful => c.consecutive_errors = 0,
                Measurement::Failed => {
                    c.failed += 1;
                    c.consecutive_errors = 0;
                }
                Measurement::Inconclusive => {
                    c.inconclusive += 1;
                    c.consecutive_errors = 0;
                }
                Measurement::Error => c.consecutive_errors += 1,
            }
            if c.failed > spec.failure_limit || c.consecutive_errors > spec.consecutive_error_limit
            {
                self.phase = RunPhase::Failed;
            } else if c.inconclusive > spec.inconclusive_limit && self.phase == RunPhase::Running {
                self.phase = RunPhase::Inconclusive;
            }
        }
    }
}

/// One measurement of metric `m` of `target` over `[from, to)`.
pub fn evaluate(
    m: &MetricSpec,
    target: VersionId,
    baseline: Option<VersionId>,
    from: SimTime,
    to: SimTime,
    monitor: &Monitor,
) -> (Option<f64>, Measurement) {
    if monitor.is_dry_run() {
        return (None, Measurement::Successful);
    }
    let w = monitor.window(target.index(), from, to);
    if w.requests < m.min_requests.max(1) {
        return (None, Measurement::Error);
    }
    let value = match &m.kind {
        MetricKind::ErrorRate => w.error_rate(),
        MetricKind::P99LatencyMs => w.p99_ms,
        MetricKind::MeanLatencyMs => w.mean_ms,
        MetricKind::ConversionRate => w.conversion_rate,
        MetricKind::Judge { series, settings } => {
            let Some(b) = baseline else {
                return (None, Measurement::Error);
            };
            let control = monitor.series(b.index(), from, to, *series);
            let experiment = monitor.series(target.index(), from, to, *series);
            return (None, judge(*series, &control, &experiment, settings));
        }
    };
    let Some(v) = value else {
        return (None, Measurement::Error);
    };
    let fails = m.fail_above.or(m.max).is_some_and(|hi| v > hi)
        || m.fail_below.or(m.min).is_some_and(|lo| v < lo);
    let succeeds = m.max.is_none_or(|hi| v <= hi) && m.min.is_none_or(|lo| v >= lo);
    let result = if fails {
        Measurement::Failed
    } else if succeeds {
        Measurement::Successful
    } else {
        Measurement::Inconclusive
    };
    (Some(v), result)
}

/// Judge settings with Kayenta-like defaults for `series`.
pub fn default_judge(series: Series) -> JudgeSettings {
    JudgeSettings {
        confidence: 0.95,
        effect_size: if series == Series::ErrorRate {
            0.0
        } else {
            0.1
        },
        min_samples: 10,
    }
}

/// Judges the experiment's series against the control's with the Mann-Whitney classifier
/// (`analysis::judge`): a significant shift in the bad direction beyond the effect size fails.
/// Error rate and latency are "higher is worse" (only an increase counts against the canary);
/// conversion rate is "lower is worse" (Kayenta's metric `direction: decrease`).
fn judge(series: Series, control: &[f64], experiment: &[f64], s: &JudgeSettings) -> Measurement {
    let config = JudgeConfig {
        direction: match series {
            Series::ConversionRate => Direction::Decrease,
            Series::ErrorRate | Series::MeanLatency => Direction::Increase,
        },
        confidence: s.confidence,
        effect_size: s.effect_size,
        min_samples: s.min_samples,
    };
    match classify(control, experiment, &config) {
        Verdict::Pass => Measurement::Successful,
        // `classify` reports only a shift in the configured (bad) direction.
        Verdict::High | Verdict::Low => Measurement::Failed,
        Verdict::NoData => Measurement::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(max: f64, count: Option<u32>) -> AnalysisSpec {
        AnalysisSpec {
            metrics: vec![MetricSpec {
                name: "errors".into(),
                kind: MetricKind::ErrorRate,
                max: Some(max),
                min: None,
                fail_above: None,
                fail_below: None,
                min_requests: 5,
            }],
            interval: SimDuration::from_secs(10),
            count,
            initial_delay: SimDuration::ZERO,
            failure_limit: 0,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
        }
    }

    fn monitor_with(error_every: u32) -> Monitor {
        let mut m = Monitor::new(2, SimDuration::from_secs(600));
        for i in 0..600u64 {
            let t = SimTime(i * 100_000);
            let ok = error_every == 0 || i % u64::from(error_every) != 0;
            m.record(t, 1, ok.then_some(SimDuration::from_millis(10)));
        }
        m
    }

    #[test]
    fn a_clean_variant_passes_after_count_measurements() {
        let m = monitor_with(0);
        let mut run = AnalysisRun::start(spec(0.05, Some(3)), VersionId(1), None, SimTime::ZERO);
        assert_eq!(run.due(), Some(SimTime(10_000_000)));
        assert_eq!(run.advance(SimTime(25_000_000), &m), RunPhase::Running);
        assert_eq!(run.advance(SimTime(30_000_000), &m), RunPhase::Successful);
        assert_eq!(run.taken(), 3);
        assert_eq!(run.due(), None);
    }

    #[test]
    fn one_failure_fails_with_the_default_limit() {
        let m = monitor_with(5); // 20 % errors
        let mut run = AnalysisRun::start(spec(0.05, None), VersionId(1), None, SimTime::ZERO);
        assert_eq!(run.advance(SimTime(10_000_000), &m), RunPhase::Failed);
        assert_eq!(run.log[0].3, Measurement::Failed);
    }

    #[test]
    fn no_data_errors_and_five_consecutive_errors_fail() {
        let m = Monitor::new(2, SimDuration::from_secs(600));
        let mut run = AnalysisRun::start(spec(0.05, None), VersionId(1), None, SimTime::ZERO);
        assert_eq!(run.advance(SimTime(40_000_000), &m), RunPhase::Running);
        assert_eq!(run.advance(SimTime(50_000_000), &m), RunPhase::Failed);
    }

    #[test]
    fn the_judge_fails_a_variant_slower_than_its_baseline() {
        let mut m = Monitor::new(2, SimDuration::from_secs(600));
        for i in 0..6_000u64 {
            let t = SimTime(i * 10_000);
            let jitter = i % 7;
            m.record(t, 0, Some(SimDuration::from_millis(20 + jitter)));
            m.record(t, 1, Some(SimDuration::from_millis(40 + jitter)));
        }
        let metric = MetricSpec {
            name: "latency".into(),
            kind: MetricKind::Judge {
                series: Series::MeanLatency,
                settings: default_judge(Series::MeanLatency),
            },
            max: None,
            min: None,
            fail_above: None,
            fail_below: None,
            min_requests: 1,
        };
        let (from, to) = (SimTime::ZERO, SimTime(60_000_000));
        let slower = evaluate(&metric, VersionId(1), Some(VersionId(0)), from, to, &m);
        assert_eq!(slower.1, Measurement::Failed);
        let faster = evaluate(&metric, VersionId(0), Some(VersionId(1)), from, to, &m);
        assert_eq!(faster.1, Measurement::Successful);
        let alone = evaluate(&metric, VersionId(1), None, from, to, &m);
        assert_eq!(alone.1, Measurement::Error);
    }

    #[test]
    fn conversion_metrics_fail_a_variant_that_converts_less() {
        let mut m = Monitor::new(2, SimDuration::from_secs(600)).with_conversions([true, true]);
        for i in 0..6_000u64 {
            let t = SimTime(i * 10_000);
            for slot in 0..2 {
                m.record(t, slot, Some(SimDuration::from_millis(20)));
            }
            // The stable converts 10 %, the canary 5 %, both spread evenly.
            if i % 10 == 0 {
                m.convert(t, 0);
            }
            if i % 20 == 0 {
                m.convert(t, 1);
            }
        }
        let (from, to) = (SimTime::ZERO, SimTime(60_000_000));
        let threshold = MetricSpec {
            name: "conversion".into(),
            kind: MetricKind::ConversionRate,
            max: None,
            min: Some(0.08),
            fail_above: None,
            fail_below: None,
            min_requests: 1,
        };
        let canary = evaluate(&threshold, VersionId(1), None, from, to, &m);
        assert_eq!(canary, (Some(0.05), Measurement::Failed));
        let stable = evaluate(&threshold, VersionId(0), None, from, to, &m);
        assert_eq!(stable, (Some(0.1), Measurement::Successful));
        let judged = MetricSpec {
            kind: MetricKind::Judge {
                series: Series::ConversionRate,
                settings: default_judge(Series::ConversionRate),
            },
            min: None,
            ..threshold.clone()
        };
        let worse = evaluate(&judged, VersionId(1), Some(VersionId(0)), from, to, &m);
        assert_eq!(worse.1, Measurement::Failed);
        // A canary converting more is not a regression (lower is worse).
        let better = evaluate(&judged, VersionId(0), Some(VersionId(1)), from, to, &m);
        assert_eq!(better.1, Measurement::Successful);
        // Without conversion tracking the metric has no data.
        let untracked = Monitor::new(2, SimDuration::from_secs(600));
        let none = evaluate(&threshold, VersionId(1), None, from, to, &untracked);
        assert_eq!(none, (None, Measurement::Error));
    }

    #[test]
    fn between_success_and_failure_conditions_is_inconclusive() {
        let m = monitor_with(5);
        let mut s = spec(0.05, None);
        s.metrics[0].fail_above = Some(0.5);
        let mut run = AnalysisRun::start(s, VersionId(1), None, SimTime::ZERO);
        assert_eq!(run.advance(SimTime(10_000_000), &m), RunPhase::Inconclusive);
    }
}
