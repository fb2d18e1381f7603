//! Streaming metrics: they observe the model and never steer it.
//!
//! Memory is bounded by the run's length in buckets and by the user population, never by the
//! number of requests: counters per (bucket, version), one open latency histogram per version
//! for the current bucket (closed into p50/p99 when the bucket ends), one run-long histogram per
//! version, and two small bitmasks per user for exposure.
//!
//! Attribution rules:
//! * an arrival counts in the bucket it arrived in, under the version it was first routed to
//!   (the `arrivals` column; `versions.<v>.arrivals` in the summary);
//! * an outcome counts in the bucket the client saw it in (a timeout at arrival + timeout),
//!   under the version of the pod that answered or dropped it last (the `ok`/`failed` columns;
//!   `versions.<v>.requests` in the summary) — the two differ only by balancer retries;
//! * exposure counts at routing: a user is handled by a variant when one of its pods accepts
//!   their request, whatever the outcome;
//! * latency percentiles are over successful responses only, and missing (`None`) when there
//!   was none; failures are counted per cause.
//!
//! [`summarise`] assembles `summary.json` from the recorder and the rollout's course.

mod assemble;
mod recorder;
mod rollout;
mod steps;
mod summary;
mod time_use;

pub use assemble::{summarise, RunFacts};
pub use recorder::{BucketRow, Recorder};
pub use rollout::{
    EventDetail, EventKind, FlagRecord, RolloutEvent, RolloutOutcome, RolloutRecord, MAX_EVENTS,
};
pub use steps::{StepOutcome, StepSummary};
pub use summary::{
    BackfillSummary, CapacitySummary, ConnectionSummary, DatabaseSummary, DdlStepSummary,
    EventSummary, ExposureSummary, FlagSummary, LatencySummary, RequestSummary, RolloutSummary,
    SessionSummary, Summary, VersionSummary,
};
pub use time_use::{ClockStop, RolloutClock, TimeBreakdown, TimeUse};
