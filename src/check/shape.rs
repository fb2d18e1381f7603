//! The shape of a scenario's `summary.json`, known before anything runs, so that an
//! `[expect]` path is checked when the scenario is read (`rollsim validate` included) and a
//! misspelled path never costs a simulation.
//!
//! The shape is the real [`Summary`] type serialised with placeholder values: every section
//! the scenario enables (a flag, sessions, connections, a database with its DDL steps and
//! backfills, one entry per version) is present and every optional number is a number, so a
//! path is valid exactly when it names a leaf of that document and the leaf's JSON type says
//! whether it is compared as a number or a word. Built from the type itself, the shape cannot
//! drift from what a run writes: a new summary field is a compile error here until it is
//! given a placeholder.

use indexmap::IndexMap;
use serde_json::Value;

use crate::metrics::{
    BackfillSummary, CapacitySummary, ConnectionSummary, DatabaseSummary, DdlStepSummary,
    ExposureSummary, FlagSummary, LatencySummary, RequestSummary, RolloutOutcome, RolloutSummary,
    SessionSummary, StepOutcome, StepSummary, Summary, TimeBreakdown, VersionSummary,
};
use crate::model::FailCause;
use crate::scenario::Scenario;

/// What kind of value a summary path holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// A number (compared with arithmetic thresholds; `null` in a run means no data).
    Number,
    /// A word, such as `rollout.outcome` (compared with `== 'word'`).
    Word,
    /// Something else (a list of warnings, true/false).
    Other,
}

/// The summary document `scenario` would produce, with placeholder values.
pub fn summary_shape(scenario: &Scenario) -> Value {
    let some = Some(0.0);
    let latency = LatencySummary {
        mean: some,
        p50: some,
        p90: some,
        p99: some,
        p999: some,
        max: some,
    };
    let requests = RequestSummary::new(0, [0; FailCause::ALL.len()], 0);
    let versions: IndexMap<String, VersionSummary> = scenario
        .versions
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                VersionSummary {
                    requests: 0,
                    arrivals: 0,
                    ok: 0,
                    failed: 0,
                    failed_by_cause: requests.failed_by_cause.clone(),
                    latency_ms: latency.clone(),
                    conversions: Some(Some(0)),
                },
            )
        })
        .collect();
    let summary = Summary {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        strategy: scenario.strategy_name(),
        events_processed: 0,
        duration_s: 0.0,
        requests: requests.clone(),
        latency_ms: latency,
        versions,
        rollout: RolloutSummary {
            outcome: RolloutOutcome::None,
            start_s: some,
            end_s: some,
            duration_s: some,
            stalled_at_s: some,
            rollback_at_s: some,
            detect_s: some,
            rollback_s: some,
            time_breakdown_s: Some(TimeBreakdown {
                until: "run_end",
                total: 0.0,
                waiting_for_pods: 0.0,
                scheduling: 0.0,
                starting: 0.0,
                readiness: 0.0,
                terminating: 0.0,
                pause: 0.0,
                analysis: 0.0,
                scale_down_delay: 0.0,
                controller: 0.0,
                other: 0.0,
            }),
            // The course varies from run to run: it is not something to gate on by index.
            events: Vec::new(),
        },
        exposure: ExposureSummary {
            mixed_version_s: 0.0,
            users_both_versions: 0,
            users_total: 0,
            users_exposed: 0,
            users_flapped: 0,
            bad_requests: 0,
            bad_failed: 0,
            max_new_traffic_share: 0.0,
        },
        flag: scenario.flag.as_ref().map(|f| FlagSummary {
            key: f.key.clone(),
            outcome: RolloutOutcome::None,
            start_s: some,
            end_s: some,
            duration_s: some,
            killed_at_s: some,
            detect_s: some,
            rollback_s: some,
            mixed_version_s: 0.0,
            users_exposed: 0,
        }),
        sessions: scenario.sessions.as_ref().map(|_| SessionSummary {
            store: "shared",
            lost: 0,
            users_logged_out: 0,
        }),
        connections: scenario.connections.as_ref().map(|_| ConnectionSummary {
            held_at_start: 0,
            cut: 0,
            reconnects: 0,
            failed_handshakes: 0,
            peak_reconnect_rate: 0,
            open_at_end: 0,
        }),
        capacity: CapacitySummary {
            peak_pods: 0,
            peak_pods_incl_terminating: 0,
            min_ready_pods: 0,
            pod_seconds: 0.0,
            cost: 0.0,
        },
        database: scenario.database.as_ref().map(|d| DatabaseSummary {
            queries: 0,
            writes: 0,
            connection_errors: 0,
            peak_connections: 0,
            max_connections: 0,
            usable_connections: 0,
            pool_size: 0,
            pool_timeouts: 0,
            statement_timeouts: 0,
            blocked_queries: 0,
            lock_wait_s: 0.0,
            max_lock_wait_s: 0.0,
            schema_errors: Some(0),
            ddl: d
                .ddl
                .iter()
                .map(|_| DdlStepSummary {
                    table: String::new(),
                    kind: String::new(),
                    requested_s: some,
                    lock_acquired_s: some,
                    finished_s: some,
                    attempts: 0,
                    lock_timeouts: 0,
                })
                .collect(),
            backfills: d
                .backfills
                .iter()
                .map(|_| BackfillSummary {
                    table: String::new(),
                    rows: 0,
                    batch_size: 0,
                    requested_s: some,
                    started_s: some,
                    finished_s: some,
                    batches: 0,
                    rows_done: 0,
                    lock_wait_s: 0.0,
                })
                .collect(),
        }),
        load_balancer: scenario.load_balancer.preset.clone(),
        steps: scenario
            .steps
            .iter()
            .map(|_| StepSummary {
                kind: "deploy",
                target: Some(String::new()),
                requested_s: some,
                finished_s: some,
                outcome: StepOutcome::Completed,
            })
            .collect(),
        warnings: Vec::new(),
    };
    serde_json::to_value(&summary).unwrap_or(Value::Null)
}

/// The value at `path` (`requests.failed`, `database.ddl[0].finished_s`, `versions.v1.2.ok`:
/// keys may hold dots, the longest matching key wins).
pub fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(doc);
    }
    match doc {
        Value::Object(map) => {
            let mut best: Option<(&String, &Value)> = None;
            for (k, v) in map {
                let fits = path.strip_prefix(k.as_str()).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
                });
                if fits && best.is_none_or(|(b, _)| b.len() < k.len()) {
                    best = Some((k, v));
                }
            }
            let (k, v) = best?;
            let rest = &path[k.len()..];
            lookup(v, rest.strip_prefix('.').unwrap_or(rest))
        }
        Value::Array(items) => {
            let inner = path.strip_prefix('[')?;
            let close = inner.find(']')?;
            let i: usize = inner[..close].parse().ok()?;
            let rest = &inner[close + 1..];
            lookup(items.get(i)?, rest.strip_prefix('.').unwrap_or(rest))
        }
        _ => None,
    }
}

/// What kind of leaf `v` is in the shape (`None`: a table or a list of tables, not a leaf).
pub fn leaf(v: &Value) -> Option<Leaf> {
    match v {
        Value::Number(_) => Some(Leaf::Number),
        Value::String(_) => Some(Leaf::Word),
        Value::Object(_) => None,
        Value::Array(a) if a.iter().any(|x| x.is_object()) => None,
        _ => Some(Leaf::Other),
    }
}

/// Every path to a number or a word in `doc`, in document order.
pub fn leaf_paths(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    let p = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    walk(c, p, out);
                }
            }
            Value::Array(a) if a.iter().any(Value::is_object) => {
                for (i, c) in a.iter().enumerate() {
                    walk(c, format!("{at}[{i}]"), out);
                }
            }
            Value::Number(_) | Value::String(_) => out.push(at),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, String::new(), &mut out);
    out
}

/// Paths directly under the table at `path`, for a "valid here" list.
pub fn children(doc: &Value, path: &str) -> Vec<String> {
    match lookup(doc, path) {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
duration = "1m"
[traffic]
rate = 10
[versions.v1]
service = "50ms"
[versions."v1.2"]
service = "50ms"
[deployment]
replicas = 3
version = "v1"
"#;

    #[test]
    fn the_shape_has_every_section_the_scenario_enables() {
        let s = Scenario::parse("s.toml", "s", BASE).unwrap();
        let doc = summary_shape(&s);
        let n = |p: &str| lookup(&doc, p).and_then(leaf);
        assert_eq!(n("requests.failed"), Some(Leaf::Number));
        assert_eq!(n("requests.failed_by_cause.timeout"), Some(Leaf::Number));
        assert_eq!(n("latency_ms.p99"), Some(Leaf::Number));
        assert_eq!(n("rollout.outcome"), Some(Leaf::Word));
        assert_eq!(n("rollout.time_breakdown_s.pause"), Some(Leaf::Number));
        assert_eq!(n("versions.v1.2.ok"), Some(Leaf::Number));
        assert_eq!(n("versions.v1.ok"), Some(Leaf::Number));
        assert_eq!(n("capacity.cost"), Some(Leaf::Number));
        assert_eq!(lookup(&doc, "requests").and_then(leaf), None);
        assert!(lookup(&doc, "database.queries").is_none());
        assert!(lookup(&doc, "flag.outcome").is_none());
        assert!(leaf_paths(&doc).contains(&"exposure.users_exposed".to_string()));
        assert!(children(&doc, "requests").contains(&"failed".to_string()));
    }
}
