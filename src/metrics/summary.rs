//! The run summary: the `summary.json` contract. Field names are relied on by CI users and
//! scripts — extend, never rename.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use indexmap::IndexMap;
use serde::Serialize;

use crate::model::FailCause;

/// Everything `summary.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Root seed.
    pub seed: u64,
    /// Strategy name (`none` for a run without a rollout).
    pub strategy: String,
    /// Events the engine processed.
    pub events_processed: u64,
    /// Simulated seconds (arrivals stop here; the drain follows).
    pub duration_s: f64,
    /// Request totals.
    pub requests: RequestSummary,
    /// Latency of successful responses.
    pub latency_ms: LatencySummary,
    /// Per-version totals, in scenario order.
    pub versions: IndexMap<String, VersionSummary>,
    /// The rollout's course.
    pub rollout: RolloutSummary,
    /// Mixed-version exposure.
    pub exposure: ExposureSummary,
    /// Pods and cost.
    pub capacity: CapacitySummary,
    /// The load balancer the traffic went through.
    pub load_balancer: String,
    /// The scenario's pre-flight warnings (`line N: …`), always present (empty when none).
    pub warnings: Vec<String>,
}

/// Request counts.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RequestSummary {
    /// Every request that arrived.
    pub total: u64,
    /// Successful responses.
    pub ok: u64,
    /// Failures (all causes).
    pub failed: u64,
    /// Failures by cause (every cause listed, zeros included).
    pub failed_by_cause: BTreeMap<&'static str, u64>,
    /// Retries the load balancer made on another endpoint (not extra requests).
    pub retries: u64,
}

impl RequestSummary {
    /// Totals from counters.
    pub fn new(ok: u64, failed: [u64; FailCause::ALL.len()], retries: u64) -> Self {
        let failed_total: u64 = failed.iter().sum();
        RequestSummary {
            total: ok + failed_total,
            ok,
            failed: failed_total,
            failed_by_cause: FailCause::ALL
                .iter()
                .map(|c| (c.as_str(), failed[c.index()]))
                .collect(),
            retries,
        }
    }
}

/// Latency percentiles, milliseconds (zeros when nothing succeeded).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencySummary {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
}

fn ms(us: f64) -> f64 {
    (us / 1e3 * 1e3).round() / 1e3
}

impl LatencySummary {
    /// Percentiles of a microsecond histogram.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary {
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            };
        }
        let q = |x: f64| ms(h.value_at_quantile(x) as f64);
        LatencySummary {
            mean: ms(h.mean()),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: ms(h.max() as f64),
        }
    }
}

/// One version's totals.
#[derive(Clone, Debug, Serialize)]
pub struct VersionSummary {
    /// Requests answered or dropped by this version's pods.
    pub requests: u64,
    /// Successful responses.
    pub ok: u64,
    /// Failures.
    pub failed: u64,
    /// Failures by cause.
    pub failed_by_cause: BTreeMap<&'static str, u64>,
    /// Latency of this version's successful responses.
    pub latency_ms: LatencySummary,
}

/// The rollout's course.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RolloutSummary {
    /// `none`, `in_progress`, `completed`, `stalled` or `rolled_back`.
    pub outcome: String,
    /// When the pod template changed, s.
    pub start_s: Option<f64>,
    /// When the Deployment was complete again (new version, or old after a rollback), s.
    pub end_s: Option<f64>,
    /// `end_s − start_s`.
    pub duration_s: Option<f64>,
    /// When the progress deadline was exceeded, if it was.
    pub stalled_at_s: Option<f64>,
    /// When a rollback began (manual undo, abort, or after a stall), if one did.
    pub rollback_at_s: Option<f64>,
    /// Detection time: from the new variant first answering a request to the abort decision.
    pub detect_s: Option<f64>,
    /// Rollback time: from the abort decision to the last request the new variant answered.
    pub rollback_s: Option<f64>,
}

/// Mixed-version exposure.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExposureSummary {
    /// Seconds during which the balancer sent traffic to two or more versions.
    pub mixed_version_s: f64,
    /// Users who got responses from two or more versions.
    pub users_both_versions: u64,
    /// Users who sent at least one request.
    pub users_total: u64,
    /// Users answered at least once by the new variant (the rollout's target, or a flag's).
    pub users_exposed: u64,
    /// Users whose answering variant changed at least twice (A → B → A).
    pub users_flapped: u64,
    /// Requests handled by a bad release (a version with faults or `bad = true`).
    pub bad_requests: u64,
    /// Of those, failed.
    pub bad_failed: u64,
    /// The largest share of arrivals the new variant received in any bucket.
    pub max_new_traffic_share: f64,
}

/// Pods and cost.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CapacitySummary {
    /// Most pods at once, not counting terminating ones (what maxSurge bounds).
    pub peak_pods: u32,
    /// Most pods at once, terminating ones included.
    pub peak_pods_incl_terminating: u32,
    /// Fewest Ready pods at any instant.
    pub min_ready_pods: u32,
    /// Node-slot seconds held by pods (starting, running and terminating).
    pub pod_seconds: f64,
    /// `pod_seconds / 3600 × cost_per_pod_hour`.
    pub cost: f64,
}
