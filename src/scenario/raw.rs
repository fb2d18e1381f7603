//! Stage one: the scenario file exactly as written. Every table denies unknown keys, so a typo
//! is an error with its line and column, never a silently ignored setting. Values that need
//! units or cross-checks (durations, distributions, percents) stay loosely typed here and are
//! checked in `resolve`, where the error can name the key.
//!
//! The values that take several forms (a duration as a number or a string, a distribution as
//! a duration or a table, …) are deserialised by hand in `forms.rs` rather than with
//! `#[serde(untagged)]`: an untagged enum's error names the Rust type and hides the error
//! inside a table, where those visitors say in words what is expected and pass an inner
//! table's own errors (an unknown key, a wrong type) through with their position.

use indexmap::IndexMap;
use serde::Deserialize;

/// A duration as written: `"30s"`, `"1m30s"`, `"250ms"`, or a number of seconds.
#[derive(Clone, Debug)]
pub enum RawDuration {
    /// Seconds.
    Secs(f64),
    /// A humantime string.
    Text(String),
}

/// A distribution as written: a duration (constant) or a table.
#[derive(Clone, Debug)]
pub enum RawDist {
    /// Constant.
    Fixed(RawDuration),
    /// `{ dist = "...", ... }`.
    Table(RawDistTable),
}

/// `{ dist = "exponential" | "lognormal" | "uniform" | "constant", ... }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDistTable {
    pub dist: String,
    pub mean: Option<RawDuration>,
    pub p99: Option<RawDuration>,
    pub min: Option<RawDuration>,
    pub max: Option<RawDuration>,
    pub value: Option<RawDuration>,
}

/// An int or a percent string, as `maxSurge` takes.
#[derive(Clone, Debug)]
pub enum RawIntOrPercent {
    /// A count.
    Int(i64),
    /// `"25%"`.
    Text(String),
}

/// A count or a word (`queue = "unbounded"`).
#[derive(Clone, Debug)]
pub enum RawCountOrWord {
    /// A count.
    Int(i64),
    /// A word.
    Word(String),
}

/// A readiness probe, or `false` for none.
#[derive(Clone, Debug)]
pub enum RawProbeOrBool {
    /// `readiness = false` (or `true` for the defaults).
    Flag(bool),
    /// A probe table.
    Probe(RawProbe),
}

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    pub seed: Option<i64>,
    pub duration: RawDuration,
    pub bucket: Option<RawDuration>,
    pub traffic: RawTraffic,
    #[serde(default)]
    pub cluster: RawCluster,
    #[serde(default)]
    pub pod: RawPod,
    pub versions: IndexMap<String, RawVersion>,
    #[serde(default)]
    pub load_balancer: RawLoadBalancer,
    pub deployment: RawDeployment,
    pub rollout: Option<RawRollout>,
    pub flag: Option<RawFlag>,
    pub sessions: Option<RawSessions>,
    pub database: Option<RawDatabase>,
    pub connections: Option<RawConnections>,
    /// `[expect]`: summary path → expectation (`scenario/expect.rs`).
    pub expect: Option<IndexMap<String, super::expect::RawExpectValue>>,
    #[serde(default)]
    pub steps: Vec<RawSeqStep>,
}

/// `[[steps]]`: deployments, migrations and waits run one after another (`steps.rs`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeqStep {
    pub deploy: Option<String>,
    pub migrate: Option<String>,
    pub wait: Option<RawDuration>,
    pub undo: Option<bool>,
    pub backfill: Option<String>,
    pub at: Option<RawDuration>,
}

/// `[connections]`: long-lived connections (resolved in `connections.rs`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnections {
    pub share: Option<f64>,
    pub close_on: Option<String>,
    pub backoff: Option<String>,
    pub base: Option<RawDuration>,
    pub cap: Option<RawDuration>,
    pub handshake: Option<RawDist>,
}

/// `[sessions]`: where login sessions live (resolved in `sessions.rs`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSessions {
    pub store: String,
    pub sticky: Option<bool>,
    pub on_loss: Option<String>,
    pub relogin: Option<RawDuration>,
    pub latency: Option<RawDist>,
    pub capacity: Option<i64>,
    pub queue: Option<RawCountOrWord>,
    pub outage: Option<RawOutage>,
    pub versions: Option<IndexMap<String, RawSigningKeys>>,
}

/// `outage = { at = "60s", duration = "20s" }`: the shared store is down for a while.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutage {
    pub at: RawDuration,
    pub duration: RawDuration,
}

/// `[sessions.versions.<name>]`: the JWT key a version signs with and the keys it accepts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSigningKeys {
    pub signing_key: String,
    pub accept_keys: Option<Vec<String>>,
}

/// `[flag]`: a feature flag releasing a dark code path.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlag {
    pub key: String,
    pub salt: Option<String>,
    pub scheme: Option<String>,
    pub in_versions: Option<Vec<String>>,
    pub variant: String,
    pub propagation: Option<RawDist>,
    pub poll_interval: Option<RawDuration>,
    pub internal_users: Option<i64>,
    pub beta_users: Option<i64>,
    pub schedule: Vec<RawFlagStep>,
    pub kill_at: Option<RawDuration>,
    pub analysis: Option<RawAnalysis>,
}

/// One step of a flag schedule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlagStep {
    pub at: RawDuration,
    pub target: Option<Vec<String>>,
    pub percent: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub rate: f64,
    pub users: Option<i64>,
    pub user_distribution: Option<String>,
    pub zipf_exponent: Option<f64>,
    pub idempotent_share: Option<f64>,
    #[serde(default, deserialize_with = "super::forms::duration_or_none")]
    pub timeout: Option<RawDuration>,
    pub profile: Option<RawProfile>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    pub kind: String,
    pub steps: Option<Vec<RawStep>>,
    pub at: Option<RawDuration>,
    pub duration: Option<RawDuration>,
    pub multiplier: Option<f64>,
    pub period: Option<RawDuration>,
    pub amplitude: Option<f64>,
    pub peak_at: Option<RawDuration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at: RawDuration,
    pub rate: f64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub nodes: Option<i64>,
    pub pods_per_node: Option<i64>,
    pub cost_per_pod_hour: Option<f64>,
    /// A node's allocatable CPU (cores, or a quantity such as `"3500m"`).
    pub node_cpu: Option<super::quantity::RawQuantity>,
    /// A node's allocatable memory (a quantity such as `"16Gi"`, or bytes).
    pub node_memory: Option<super::quantity::RawQuantity>,
    /// The kubelet's `--max-pods`.
    pub max_pods: Option<i64>,
}

/// `[pod] requests = { cpu = "500m", memory = "1Gi" }`: the container's resource requests.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequests {
    pub cpu: Option<super::quantity::RawQuantity>,
    pub memory: Option<super::quantity::RawQuantity>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPod {
    pub concurrency: Option<i64>,
    pub queue: Option<RawCountOrWord>,
    pub startup: Option<RawDist>,
    pub app_init: Option<RawDist>,
    pub warmup: Option<RawWarmup>,
    pub readiness: Option<RawProbeOrBool>,
    pub pre_stop: Option<RawDuration>,
    pub termination_grace: Option<RawDuration>,
    pub on_sigterm: Option<String>,
    pub requests: Option<RawRequests>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWarmup {
    pub factor: f64,
    pub duration: RawDuration,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProbe {
    pub initial_delay: Option<RawDuration>,
    pub period: Option<RawDuration>,
    pub success_threshold: Option<i64>,
    pub failure_threshold: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVersion {
    pub service: RawDist,
    pub error_rate: Option<f64>,
    pub conversion_rate: Option<f64>,
    pub pod: Option<RawPod>,
    pub bad: Option<bool>,
    pub faults: Option<Vec<RawFault>>,
}

/// `[[versions.X.faults]]`: `kind` = `error_rate` (`rate`), `latency` (`multiplier`),
/// `crash_loop` (`after`), `never_ready`, `degradation` (`per_minute`), `conversion`
/// (`multiplier`); optional `from`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub kind: String,
    pub from: Option<RawDuration>,
    pub rate: Option<f64>,
    pub multiplier: Option<f64>,
    pub after: Option<RawDist>,
    pub per_minute: Option<f64>,
}

/// `[load_balancer]`: a preset, then overrides.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoadBalancer {
    pub preset: Option<String>,
    pub policy: Option<String>,
    pub propagation_delay: Option<RawPropagation>,
    pub retries: Option<i64>,
    pub retry_on_reset: Option<bool>,
    pub retry_non_idempotent: Option<bool>,
    pub max_fails: Option<i64>,
    pub fail_timeout: Option<RawDuration>,
    pub ejection: Option<RawDuration>,
    pub max_ejection_percent: Option<i64>,
    pub health_scope: Option<String>,
    pub worker_processes: Option<i64>,
    pub reload_overlap: Option<RawDuration>,
    pub attempt_overhead: Option<RawDuration>,
    pub health_check: Option<RawHealthCheckOrBool>,
    #[serde(default, deserialize_with = "super::forms::duration_or_none")]
    pub deregistration_delay: Option<RawDuration>,
    pub slow_start: Option<RawDuration>,
}

/// `propagation_delay`: one distribution for additions and removals, or
/// `{ add = …, remove = … }` (either may be left to the preset). Both forms can be a table;
/// `forms.rs` tells them apart by the table's first key.
#[derive(Clone, Debug)]
pub enum RawPropagation {
    /// Separate delays.
    Split(RawPropagationSplit),
    /// The same delay both ways.
    Both(RawDist),
}

/// `{ add = …, remove = … }`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPropagationSplit {
    pub add: Option<RawDist>,
    pub remove: Option<RawDist>,
}

/// Target health checks, or `false` for none.
#[derive(Clone, Debug)]
pub enum RawHealthCheckOrBool {
    /// `health_check = false` (or `true` for ALB's defaults).
    Flag(bool),
    /// `{ interval, healthy_threshold, unhealthy_threshold }`.
    Table(RawHealthCheck),
}

/// `health_check = { interval = "30s", healthy_threshold = 5, unhealthy_threshold = 2 }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    pub interval: Option<RawDuration>,
    pub healthy_threshold: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    pub replicas: i64,
    pub version: String,
    pub min_ready: Option<RawDuration>,
    #[serde(default, deserialize_with = "super::forms::duration_or_none")]
    pub progress_deadline: Option<RawDuration>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    pub to: Option<String>,
    pub at: Option<RawDuration>,
    pub strategy: String,
    pub max_surge: Option<RawIntOrPercent>,
    pub max_unavailable: Option<RawIntOrPercent>,
    pub undo_at: Option<RawDuration>,
    pub rollback_on_stall: Option<bool>,
    pub analysis: Option<RawAnalysis>,
    // blue-green
    pub preview_replicas: Option<i64>,
    pub auto_promotion: Option<bool>,
    pub auto_promotion_after: Option<RawDuration>,
    pub promote_at: Option<RawDurations>,
    pub scale_down_delay: Option<RawDuration>,
    #[serde(default, deserialize_with = "super::forms::duration_or_none")]
    pub abort_scale_down_delay: Option<RawDuration>,
    pub smoke_test: Option<RawSmoke>,
    pub pre_promotion_analysis: Option<RawAnalysis>,
    pub post_promotion_analysis: Option<RawAnalysis>,
    // canary
    pub steps: Option<Vec<RawCanaryStep>>,
    pub traffic_routing: Option<bool>,
    pub max_traffic_weight: Option<i64>,
    pub min_pods_per_replica_set: Option<i64>,
    pub dynamic_stable_scale: Option<bool>,
    // flagger
    pub interval: Option<RawDuration>,
    pub threshold: Option<i64>,
    pub step_weight: Option<i64>,
    pub step_weights: Option<Vec<i64>>,
    pub max_weight: Option<i64>,
    pub iterations: Option<i64>,
}

/// One duration or several.
#[derive(Clone, Debug)]
pub enum RawDurations {
    /// One.
    One(RawDuration),
    /// Several.
    Many(Vec<RawDuration>),
}

/// `smoke_test = { requests = 200, over = "20s" }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmoke {
    pub requests: i64,
    pub over: RawDuration,
}

/// One canary step: exactly one key set.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCanaryStep {
    pub set_weight: Option<i64>,
    pub pause: Option<RawPause>,
    pub set_canary_scale: Option<RawCanaryScale>,
    pub analysis: Option<RawAnalysis>,
}

/// `pause = "30s"`, `pause = "indefinite"` or `pause = {}` / `{ duration = "30s" }`.
#[derive(Clone, Debug)]
pub enum RawPause {
    /// A duration or the word "indefinite".
    Duration(RawDuration),
    /// A table.
    Table(RawPauseTable),
}

/// `pause = { duration = "30s" }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPauseTable {
    pub duration: Option<RawDuration>,
}

/// `set_canary_scale = { replicas = 3 }` / `{ weight = 50 }` / `{ match_traffic_weight = true }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCanaryScale {
    pub replicas: Option<i64>,
    pub weight: Option<i64>,
    pub match_traffic_weight: Option<bool>,
}

/// An analysis: measurement schedule and metrics.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAnalysis {
    pub interval: Option<RawDuration>,
    pub count: Option<i64>,
    pub initial_delay: Option<RawDuration>,
    pub failure_limit: Option<i64>,
    pub inconclusive_limit: Option<i64>,
    pub consecutive_error_limit: Option<i64>,
    pub starting_step: Option<i64>,
    pub metrics: Vec<RawMetric>,
}

/// One analysis metric.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetric {
    pub name: Option<String>,
    pub metric: String,
    pub max: Option<f64>,
    pub min: Option<f64>,
    pub fail_above: Option<f64>,
    pub fail_below: Option<f64>,
    pub min_requests: Option<i64>,
    pub confidence: Option<f64>,
    pub effect_size: Option<f64>,
    pub min_samples: Option<i64>,
}

/// `[database]`: one PostgreSQL-like server behind per-pod connection pools.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub max_connections: Option<i64>,
    pub superuser_reserved_connections: Option<i64>,
    pub pool_size: Option<i64>,
    pub connection_timeout: Option<RawDuration>,
    pub on_exhausted: Option<String>,
    pub cpu: Option<i64>,
    pub statement_timeout: Option<RawDuration>,
    pub read_time: Option<RawDist>,
    pub write_time: Option<RawDist>,
    pub queries: Option<i64>,
    pub queries_max: Option<i64>,
    #[serde(default)]
    pub tables: IndexMap<String, RawDbTable>,
    #[serde(default)]
    pub versions: IndexMap<String, RawDbWorkload>,
    #[serde(default)]
    pub transactions: Vec<RawLongTxn>,
    #[serde(default, alias = "migrations")]
    pub ddl: Vec<RawDdl>,
    pub rewrite_rate: Option<i64>,
    pub scan_rate: Option<i64>,
    pub index_build_rate: Option<i64>,
    pub backfill_rate: Option<i64>,
    #[serde(default)]
    pub backfills: Vec<RawBackfill>,
}

/// `[[database.backfills]]`: a batched background update of a table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackfill {
    pub name: Option<String>,
    pub at: Option<RawDuration>,
    pub table: String,
    pub rows: Option<i64>,
    pub batch_size: Option<i64>,
    pub pause: Option<RawDuration>,
    pub rate: Option<i64>,
}

/// `[[database.transactions]]`: a long-running transaction holding a table lock.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLongTxn {
    pub table: String,
    pub mode: Option<String>,
    pub start: RawDuration,
    pub duration: RawDuration,
}

/// `[[database.ddl]]` (or `[[database.migrations]]`): one DDL statement.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDdl {
    pub name: Option<String>,
    pub at: Option<RawDuration>,
    pub table: String,
    pub kind: String,
    pub duration: Option<RawDuration>,
    pub lock_timeout: Option<RawDuration>,
    pub retries: Option<i64>,
    pub retry_after: Option<RawDuration>,
    pub column: Option<String>,
    pub rename_to: Option<String>,
}

/// A table's share of a version's queries and its share of writes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDbTable {
    pub share: Option<f64>,
    pub writes: Option<f64>,
    pub rows: Option<i64>,
    pub row_bytes: Option<i64>,
    pub columns: Option<Vec<String>>,
    pub not_null: Option<Vec<String>>,
}

/// `[database.versions.<name>]`: one version's own query mix.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDbWorkload {
    pub queries: Option<i64>,
    pub queries_max: Option<i64>,
    pub tables: Option<IndexMap<String, RawDbTable>>,
    pub reads: Option<Vec<String>>,
    pub writes: Option<Vec<String>>,
}
