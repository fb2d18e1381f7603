//! The run summary: the `summary.json` contract. Field names are relied on by CI users and
//! scripts — extend, never rename.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use indexmap::IndexMap;
use serde::Serialize;

use super::rollout::RolloutOutcome;
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
    /// The feature flag's release (`null` without a `[flag]`).
    pub flag: Option<FlagSummary>,
    /// Login sessions (`null` without a `[sessions]` table).
    pub sessions: Option<SessionSummary>,
    /// Long-lived connections (`null` without a `[connections]` table).
    pub connections: Option<ConnectionSummary>,
    /// Pods and cost.
    pub capacity: CapacitySummary,
    /// The database (absent without a `[database]` table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSummary>,
    /// Each `[[steps]]` entry's course, in file order (absent without steps).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<super::StepSummary>,
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

/// Latency percentiles of successful responses, milliseconds. Every field is `None` (`null`
/// in JSON, "—" in text) when nothing succeeded: missing data is never reported as 0, so a CI
/// gate such as `p99 < 250` cannot pass on a version that answered nothing.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencySummary {
    /// Mean.
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
}

fn ms(us: f64) -> f64 {
    (us / 1e3 * 1e3).round() / 1e3
}

impl LatencySummary {
    /// No successful response: every percentile is missing.
    pub const MISSING: LatencySummary = LatencySummary {
        mean: None,
        p50: None,
        p90: None,
        p99: None,
        p999: None,
        max: None,
    };

    /// Percentiles of a microsecond histogram.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::MISSING;
        }
        let q = |x: f64| Some(ms(h.value_at_quantile(x) as f64));
        LatencySummary {
            mean: Some(ms(h.mean())),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: Some(ms(h.max() as f64)),
        }
    }
}

/// One version's totals.
#[derive(Clone, Debug, Serialize)]
pub struct VersionSummary {
    /// Requests whose outcome (success or failure) is attributed to this version: the version
    /// of the pod that answered or dropped it last. Equals the sum of the version's `ok` and
    /// `failed` columns in `timeseries.csv`.
    pub requests: u64,
    /// Requests first routed to this version (the sum of its `arrivals` column in
    /// `timeseries.csv`). Differs from `requests` only by balancer retries: `arrivals −
    /// requests` = requests retried away from the version − requests retried onto it.
    pub arrivals: u64,
    /// Successful responses.
    pub ok: u64,
    /// Failures.
    pub failed: u64,
    /// Failures by cause.
    pub failed_by_cause: BTreeMap<&'static str, u64>,
    /// Latency of this version's successful responses.
    pub latency_ms: LatencySummary,
    /// Successful requests that converted — the business metric. `null` for a version that
    /// declares no `conversion_rate` in a scenario where another one does; left out of
    /// `summary.json` altogether (outer `None`) when no version declares one, so the summaries
    /// of scenarios without conversions are unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversions: Option<Option<u64>>,
}

/// The rollout's course.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RolloutSummary {
    /// How it ended.
    pub outcome: RolloutOutcome,
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
    /// Where the time went, from `start_s` to the first of completion, abort, rollback or
    /// stall (or the run's end); `null` without a rollout.
    pub time_breakdown_s: Option<super::TimeBreakdown>,
    /// The course, in time order: one entry per controller event (start, weight change,
    /// pause, analysis run, promotion, abort, rollback, stall, completion, flag rules).
    pub events: Vec<EventSummary>,
}

/// One event of the rollout's course (`rollout.events[]`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EventSummary {
    /// When, seconds of simulated time.
    pub t_s: f64,
    /// What: `start`, `weight`, `pause`, `paused`, `resumed`, `analysis_started`,
    /// `analysis_successful`, `analysis_failed`, `analysis_inconclusive`, `promoted`,
    /// `aborted`, `rollback_started`, `rollback_done`, `stalled`, `completed`,
    /// `flag_published`, `flag_killed`.
    pub kind: &'static str,
    /// Its data in words (`v2 20%`, `30s`, `inline`, `flag 10%`), `null` when none.
    pub detail: Option<String>,
}

/// Mixed-version exposure. A user is *handled* by a variant when a pod of that version (or
/// running the flag's path) accepted one of their requests — served it, queued it or rejected
/// it for a full queue — whatever the outcome; a refused connection (nothing listening)
/// exposes nobody, and a retry elsewhere counts where it landed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExposureSummary {
    /// Seconds during which two or more variants were serving: versions the balancer sent
    /// traffic to, with a flag's variant and its base counted apart while the rules that pods'
    /// SDKs had applied gave the path to some users but not to all.
    pub mixed_version_s: f64,
    /// Users handled by two or more variants during that mixed time (0 when
    /// `mixed_version_s` is 0: a user who met v1 before a Recreate and v2 after it is not
    /// counted).
    pub users_both_versions: u64,
    /// Users who sent at least one request.
    pub users_total: u64,
    /// Users handled at least once by the new variant (the rollout's target, or a flag's),
    /// whatever the outcome.
    pub users_exposed: u64,
    /// Users whose handling variant changed at least twice (A → B → A).
    pub users_flapped: u64,
    /// Requests handled by a bad release (a version with faults or `bad = true`).
    pub bad_requests: u64,
    /// Of those, failed.
    pub bad_failed: u64,
    /// The largest share of arrivals the new variant received in any bucket.
    pub max_new_traffic_share: f64,
}

/// What happened to users' login sessions.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SessionSummary {
    /// The store: `in_memory`, `shared` or `jwt`.
    pub store: &'static str,
    /// Requests that found no session: it lived in another or a gone pod (in memory), its
    /// token's key was not accepted (JWT), or the shared store could not answer. With
    /// `on_loss = "fail"` each one is a `session_lost` failure; with `"relogin"`, a re-login.
    pub lost: u64,
    /// Distinct users whose session was destroyed at least once and who had to log in again
    /// (0 for a shared store: an outage fails requests but destroys no session).
    pub users_logged_out: u64,
}

/// What happened to long-lived connections (WebSockets, streams).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ConnectionSummary {
    /// Connections open at the start (users drawn with the configured share, each placed
    /// where the balancer sent it).
    pub held_at_start: u32,
    /// Connections cut by their pod's termination (SIGTERM or process end, as configured).
    pub cut: u64,
    /// Reconnect attempts (handshakes sent), failed ones included.
    pub reconnects: u64,
    /// Handshakes that failed (queue full, refused, no endpoint, timeout, …) and were retried
    /// after a back-off.
    pub failed_handshakes: u64,
    /// The most reconnect attempts started within one second of simulated time (windows
    /// `[k s, k+1 s)`), per second.
    pub peak_reconnect_rate: u64,
    /// Connections open when the run ended.
    pub open_at_end: u32,
}

/// A feature flag's release, measured from what served requests: its rules are published at
/// `start_s`, but each pod's SDK applies them after its own delay.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FlagSummary {
    /// The flag key.
    pub key: String,
    /// `in_progress`, `completed` (every SDK applied 100 %) or `aborted` (kill switch).
    pub outcome: RolloutOutcome,
    /// When the first rules giving the path to anyone were published, s.
    pub start_s: Option<f64>,
    /// When every pod serving a version that ships the path had applied the 100 % rules, s.
    pub end_s: Option<f64>,
    /// `end_s − start_s`.
    pub duration_s: Option<f64>,
    /// When the kill switch was thrown, s.
    pub killed_at_s: Option<f64>,
    /// From the variant's first answer to the kill switch, s (`null` without a kill).
    pub detect_s: Option<f64>,
    /// From the kill switch to the variant's last answer, s (`null` without a kill).
    pub rollback_s: Option<f64>,
    /// Seconds during which both the flag's variant and a version it ships in were serving
    /// (some users on the path, some not, by the rules pods' SDKs had applied).
    pub mixed_version_s: f64,
    /// Users handled at least once by the flag's variant.
    pub users_exposed: u64,
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

/// The database: connections and queries (`model::database`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DatabaseSummary {
    /// Queries that reached a server core (statements cancelled by `statement_timeout`
    /// included).
    pub queries: u64,
    /// Of which writes.
    pub writes: u64,
    /// Connections pools tried to open and PostgreSQL refused (no ordinary slot free,
    /// SQLSTATE 53300): one per missing connection when a pod's pool opens.
    pub connection_errors: u64,
    /// Most connections open at once.
    pub peak_connections: u32,
    /// PostgreSQL `max_connections`.
    pub max_connections: u32,
    /// Slots ordinary roles may use: `max_connections − superuser_reserved_connections`.
    pub usable_connections: u32,
    /// Each pod's pool size.
    pub pool_size: u32,
    /// Requests that waited `connection_timeout` for a pool connection and failed.
    pub pool_timeouts: u64,
    /// Statements cancelled by `statement_timeout` (while running or waiting for a lock).
    pub statement_timeouts: u64,
    /// Requests' queries that had to wait for a table lock (`model::database::locks`).
    pub blocked_queries: u64,
    /// Seconds those queries waited for their locks, summed (until granted or cancelled).
    pub lock_wait_s: f64,
    /// The longest single wait, seconds.
    pub max_lock_wait_s: f64,
    /// Queries that failed for the schema: their version named a column the schema did not
    /// have, or left a NOT NULL column null. Each fails its request `schema_error` unless the
    /// client already gave up (`null`: no table declares columns).
    pub schema_errors: Option<u64>,
    /// Each DDL step, in file order (empty without `[[database.ddl]]`).
    pub ddl: Vec<DdlStepSummary>,
    /// Each backfill, in file order (left out without `[[database.backfills]]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backfills: Vec<BackfillSummary>,
}

/// One backfill's course (`model::database::backfill`; `null`: it never got there).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BackfillSummary {
    /// The table.
    pub table: String,
    /// Rows it was to update.
    pub rows: u64,
    /// Rows per batch.
    pub batch_size: u64,
    /// When its first batch was requested, seconds.
    pub requested_s: Option<f64>,
    /// When its first batch got its lock and began.
    pub started_s: Option<f64>,
    /// When its last batch committed.
    pub finished_s: Option<f64>,
    /// Batches committed.
    pub batches: u64,
    /// Rows updated.
    pub rows_done: u64,
    /// Seconds its batches waited for their table lock, summed.
    pub lock_wait_s: f64,
}

/// One DDL step's course (`null`: it never got there).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DdlStepSummary {
    /// The table.
    pub table: String,
    /// The step's kind (`alter_table`, `add_column`, `alter_column_type`, … : `model::database::kind`).
    pub kind: String,
    /// When it was first requested, seconds.
    pub requested_s: Option<f64>,
    /// When it got its lock.
    pub lock_acquired_s: Option<f64>,
    /// When it committed and released its lock.
    pub finished_s: Option<f64>,
    /// Attempts made (the first and each retry).
    pub attempts: u32,
    /// Attempts cancelled by `lock_timeout`.
    pub lock_timeouts: u32,
}
