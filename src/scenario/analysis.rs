//! Analyses (`analysis`, `pre_promotion_analysis`, inline steps, `[flag.analysis]`): the
//! measurement schedule, Argo's limits and each metric's success and failure conditions.

use super::problems::{child, Path, Problems};
use super::raw::*;
use crate::analysis::{default_judge, AnalysisSpec, JudgeSettings, MetricKind, MetricSpec, Series};
use crate::engine::SimDuration;

/// The metric names analyses accept.
const METRICS: &str = "\"error_rate\", \"p99_latency_ms\", \"mean_latency_ms\", \"conversion_rate\", \"judge_error_rate\", \"judge_latency\", \"judge_conversion_rate\"";

pub(super) fn analysis_spec(
    pr: &mut Problems<'_>,
    p: &Path,
    raw: &RawAnalysis,
    default_count: Option<u32>,
) -> Option<AnalysisSpec> {
    let interval = pr.opt_duration(
        &child(p, "interval"),
        &raw.interval,
        SimDuration::from_secs(30),
    );
    if interval < SimDuration::from_secs(1) {
        pr.add(
            &child(p, "interval"),
            "an analysis interval under 1 s measures nothing",
            "the monitor has 1 s resolution; use \"10s\" or more",
        );
    }
    if raw.metrics.is_empty() {
        pr.add(
            p,
            "an analysis without metrics",
            "add [[…metrics]] with metric = \"error_rate\" and max = 0.01",
        );
    }
    let limit = |pr: &mut Problems<'_>, key: &str, v: Option<i64>, d: u32| {
        pr.count(&child(p, key), v, d, 0, 1_000_000)
    };
    let mut metrics = Vec::new();
    for (i, m) in raw.metrics.iter().enumerate() {
        let mp = child(&child(p, "metrics"), &i.to_string());
        let judge = |series| MetricKind::Judge {
            series,
            settings: JudgeSettings {
                confidence: m.confidence.unwrap_or(default_judge(series).confidence),
                effect_size: m.effect_size.unwrap_or(default_judge(series).effect_size),
                min_samples: m
                    .min_samples
                    .map_or(default_judge(series).min_samples, |n| n.max(2) as usize),
            },
        };
        let kind = match m.metric.as_str() {
            "error_rate" => MetricKind::ErrorRate,
            "p99_latency_ms" => MetricKind::P99LatencyMs,
            "mean_latency_ms" => MetricKind::MeanLatencyMs,
            "conversion_rate" => MetricKind::ConversionRate,
            "judge_error_rate" => judge(Series::ErrorRate),
            "judge_latency" => judge(Series::MeanLatency),
            "judge_conversion_rate" => judge(Series::ConversionRate),
            other => {
                pr.add(
                    &child(&mp, "metric"),
                    format!("no metric \"{other}\""),
                    format!("use one of {METRICS}"),
                );
                continue;
            }
        };
        let judged = matches!(kind, MetricKind::Judge { .. });
        if judged && (m.max.is_some() || m.min.is_some()) {
            pr.add(
                &mp,
                "a judged metric takes no max/min",
                "the judge compares with the baseline; set effect_size and confidence instead",
            );
        }
        if !judged && m.max.is_none() && m.min.is_none() {
            pr.add(
                &mp,
                format!("metric \"{}\" has no success condition", m.metric),
                "add max = … (or min = …)",
            );
        }
        if let Some(c) = m.confidence.filter(|c| !(0.5..1.0).contains(c)) {
            pr.add(
                &child(&mp, "confidence"),
                format!("confidence {c} is not in [0.5, 1)"),
                "e.g. confidence = 0.95",
            );
        }
        metrics.push(MetricSpec {
            name: m.name.clone().unwrap_or_else(|| m.metric.clone()),
            kind,
            max: m.max,
            min: m.min,
            fail_above: m.fail_above,
            fail_below: m.fail_below,
            min_requests: m.min_requests.map_or(1, |n| n.max(0) as u64),
        });
    }
    let count = match raw.count {
        Some(c) => Some(pr.count(&child(p, "count"), Some(c), 1, 1, 1_000_000)),
        None => default_count,
    };
    Some(AnalysisSpec {
        metrics,
        interval: interval.max(SimDuration::from_secs(1)),
        count,
        initial_delay: pr.opt_duration(
            &child(p, "initial_delay"),
            &raw.initial_delay,
            SimDuration::ZERO,
        ),
        failure_limit: limit(pr, "failure_limit", raw.failure_limit, 0),
        inconclusive_limit: limit(pr, "inconclusive_limit", raw.inconclusive_limit, 0),
        consecutive_error_limit: limit(
            pr,
            "consecutive_error_limit",
            raw.consecutive_error_limit,
            4,
        ),
    })
}
