//! Streaming metrics: they observe the model and never steer it.
//!
//! Memory is bounded by the run's length in buckets and by the user population, never by the
//! number of requests: counters per (bucket, version), one open latency histogram per version
//! for the current bucket (closed into p50/p99 when the bucket ends), one run-long histogram per
//! version, and a small bitmask per user for exposure.
//!
//! Attribution rules:
//! * an arrival counts in the bucket it arrived in, under the version it was first routed to;
//! * an outcome counts in the bucket the client saw it in (a timeout at arrival + timeout),
//!   under the version of the pod that answered or dropped it;
//! * latency percentiles are over successful responses only; failures are counted per cause.

mod recorder;
mod summary;

pub use recorder::{BucketRow, Recorder};
pub use summary::{
    CapacitySummary, ExposureSummary, LatencySummary, RequestSummary, RolloutSummary, Summary,
    VersionSummary,
};
