//! The metrics a comparison puts side by side, each read from a run's `Summary` (the
//! `summary.json` contract): what a rollout cost the users (failures and their causes,
//! mixed-version time, exposure to the new and to a bad version, latency), what it cost the
//! cluster (pods, money), and how long it took (rollout, detection, rollback).

use crate::metrics::{RolloutOutcome, Summary};
use crate::model::FailCause;

/// How a metric's numbers are written in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A count (requests, users, pods).
    Count,
    /// Seconds.
    Secs,
    /// Milliseconds.
    Ms,
    /// Money, in the scenario's `cost_per_pod_hour` unit.
    Money,
    /// A share of runs, 0–1.
    Share,
}

impl Kind {
    /// The unit written in `comparison.json` and `comparison.csv`.
    pub fn unit(self) -> &'static str {
        match self {
            Kind::Count => "count",
            Kind::Secs => "s",
            Kind::Ms => "ms",
            Kind::Money => "cost",
            Kind::Share => "share",
        }
    }
}

/// Where a metric's value comes from.
#[derive(Clone, Copy, Debug)]
enum Source {
    Field(fn(&Summary) -> Option<f64>),
    Cause(FailCause),
    ExposedToBad,
}

/// One metric of the comparison.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// The name in `comparison.json` and `comparison.csv` (part of the output contract).
    pub key: &'static str,
    /// The row label in the table.
    pub label: &'static str,
    /// Its unit and how it is written.
    pub kind: Kind,
    source: Source,
}

impl Metric {
    /// The metric's value in one run (`None`: missing, such as p99 without a success, or a
    /// rollback time without a rollback); `new_is_bad`: the variant the run introduces (the
    /// rollout's target or the flag's) is a bad release.
    pub fn value(&self, s: &Summary, new_is_bad: bool) -> Option<f64> {
        match self.source {
            Source::Field(f) => f(s),
            Source::Cause(c) => s
                .requests
                .failed_by_cause
                .get(c.as_str())
                .map(|n| *n as f64),
            // Users handled at least once by the new variant, when that variant is bad.
            Source::ExposedToBad => Some(if new_is_bad {
                s.exposure.users_exposed as f64
            } else {
                0.0
            }),
        }
    }

    /// A failure cause's metric (listed under `failed`).
    pub fn is_cause(&self) -> bool {
        matches!(self.source, Source::Cause(_))
    }
}

const fn field(
    key: &'static str,
    label: &'static str,
    kind: Kind,
    f: fn(&Summary) -> Option<f64>,
) -> Metric {
    Metric {
        key,
        label,
        kind,
        source: Source::Field(f),
    }
}

fn reverted(o: RolloutOutcome) -> bool {
    matches!(
        o,
        RolloutOutcome::Aborted | RolloutOutcome::RolledBack | RolloutOutcome::RollbackInProgress
    )
}

/// Every metric, in table order: failures first (then each cause), users, latency, capacity,
/// time.
pub fn all() -> Vec<Metric> {
    let mut m = vec![
        field("requests", "requests", Kind::Count, |s| {
            Some(s.requests.total as f64)
        }),
        field("failed", "failed requests", Kind::Count, |s| {
            Some(s.requests.failed as f64)
        }),
    ];
    for c in FailCause::ALL {
        m.push(Metric {
            key: cause_key(c),
            label: cause_key(c),
            kind: Kind::Count,
            source: Source::Cause(c),
        });
    }
    m.extend([
        field(
            "mixed_version_s",
            "mixed-version time (s)",
            Kind::Secs,
            |s| Some(s.exposure.mixed_version_s),
        ),
        field(
            "users_both_versions",
            "users on both versions",
            Kind::Count,
            |s| Some(s.exposure.users_both_versions as f64),
        ),
        field("users_exposed", "users exposed to new", Kind::Count, |s| {
            Some(s.exposure.users_exposed as f64)
        }),
        Metric {
            key: "users_exposed_bad",
            label: "users exposed to bad",
            kind: Kind::Count,
            source: Source::ExposedToBad,
        },
        field("bad_requests", "requests to bad", Kind::Count, |s| {
            Some(s.exposure.bad_requests as f64)
        }),
        field("bad_failed", "failed at bad", Kind::Count, |s| {
            Some(s.exposure.bad_failed as f64)
        }),
        field("p50_ms", "latency p50 (ms)", Kind::Ms, |s| s.latency_ms.p50),
        field("p99_ms", "latency p99 (ms)", Kind::Ms, |s| s.latency_ms.p99),
        field("peak_pods", "peak pods", Kind::Count, |s| {
            Some(s.capacity.peak_pods as f64)
        }),
        field("pod_seconds", "pod-seconds", Kind::Secs, |s| {
            Some(s.capacity.pod_seconds)
        }),
        field("cost", "cost", Kind::Money, |s| Some(s.capacity.cost)),
        field(
            "rollout_duration_s",
            "rollout duration (s)",
            Kind::Secs,
            |s| s.rollout.duration_s,
        ),
        field("detect_s", "detection time (s)", Kind::Secs, |s| {
            s.rollout.detect_s
        }),
        field("rollback_s", "rollback time (s)", Kind::Secs, |s| {
            s.rollout.rollback_s
        }),
        field("completed", "completed (share)", Kind::Share, |s| {
            Some(f64::from(u8::from(
                s.rollout.outcome == RolloutOutcome::Completed,
            )))
        }),
        field("reverted", "reverted (share)", Kind::Share, |s| {
            Some(f64::from(u8::from(reverted(s.rollout.outcome))))
        }),
    ]);
    m
}

/// The metric key (the column of `comparison.csv` and `sweep.csv`) for `name` when it is
/// written as its `summary.json` path, as `[expect]` and `check` spell it
/// (`requests.failed` → `failed`, `latency_ms.p99` → `p99_ms`); any other name unchanged.
pub fn key_for(name: &str) -> &str {
    if let Some(cause) = name.strip_prefix("requests.failed_by_cause.") {
        if let Some(c) = FailCause::ALL.into_iter().find(|c| c.as_str() == cause) {
            return cause_key(c);
        }
    }
    match name {
        "requests.total" => "requests",
        "requests.failed" => "failed",
        "exposure.mixed_version_s" => "mixed_version_s",
        "exposure.users_both_versions" => "users_both_versions",
        "exposure.users_exposed" => "users_exposed",
        "exposure.bad_requests" => "bad_requests",
        "exposure.bad_failed" => "bad_failed",
        "latency_ms.p50" => "p50_ms",
        "latency_ms.p99" => "p99_ms",
        "capacity.peak_pods" => "peak_pods",
        "capacity.pod_seconds" => "pod_seconds",
        "capacity.cost" => "cost",
        "rollout.duration_s" => "rollout_duration_s",
        "rollout.detect_s" => "detect_s",
        "rollout.rollback_s" => "rollback_s",
        other => other,
    }
}

/// `failed.<cause>`.
fn cause_key(c: FailCause) -> &'static str {
    match c {
        FailCause::ConnectionRefused => "failed.connection_refused",
        FailCause::ResetOnShutdown => "failed.reset_on_shutdown",
        FailCause::NoEndpoints => "failed.no_endpoints",
        FailCause::QueueFull => "failed.queue_full",
        FailCause::Timeout => "failed.timeout",
        FailCause::AppError => "failed.app_error",
        FailCause::InFlightAtEnd => "failed.in_flight_at_end",
        FailCause::SessionLost => "failed.session_lost",
        FailCause::DbConnectionsExhausted => "failed.db_connections_exhausted",
        FailCause::DbTimeout => "failed.db_timeout",
        FailCause::SchemaError => "failed.schema_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_has_a_metric_named_after_its_summary_key() {
        for c in FailCause::ALL {
            assert_eq!(cause_key(c), format!("failed.{}", c.as_str()));
        }
        let keys: Vec<&str> = all().iter().map(|m| m.key).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), keys.len(), "metric keys are unique");
    }

    #[test]
    fn summary_paths_name_their_columns() {
        assert_eq!(key_for("requests.failed"), "failed");
        assert_eq!(key_for("latency_ms.p99"), "p99_ms");
        assert_eq!(
            key_for("requests.failed_by_cause.no_endpoints"),
            "failed.no_endpoints"
        );
        assert_eq!(key_for("cost"), "cost");
        let keys: Vec<&str> = all().iter().map(|m| m.key).collect();
        for path in [
            "requests.total",
            "exposure.bad_requests",
            "capacity.cost",
            "rollout.duration_s",
            "rollout.detect_s",
        ] {
            assert!(keys.contains(&key_for(path)), "{path}");
        }
    }
}
