//! # rollsim — what happens to your users while a rollout runs
//!
//! A discrete-event simulator of zero-downtime deployment strategies. A simulated Kubernetes
//! cluster (pods with a real lifecycle, nodes with finite room, a load balancer that learns
//! endpoint changes late) runs a rollout — Recreate, RollingUpdate, Argo Rollouts blue-green
//! or canary, Flagger, or a feature flag — under synthetic traffic, and reports dropped and
//! failed requests by cause, mixed-version exposure, latency, pods and cost, and how fast a
//! bad release was detected and rolled back.
//!
//! ## Concepts
//!
//! * [`engine`] — integer simulated time, the event queue, named RNG streams. Knows nothing
//!   of pods.
//! * [`model`] — traffic, pods, ReplicaSets, nodes, the load balancer, faults. Knows nothing
//!   of strategies.
//! * [`strategy`] — one controller per strategy behind [`strategy::Controller`]: a policy over
//!   a read-only view of the ReplicaSets that returns scale moves and router weights.
//! * [`analysis`] — the monitor controllers read (never the reporting metrics), analysis runs
//!   and the Mann-Whitney judge; [`flags`] — feature-flag rules and bucketing.
//! * [`metrics`] — streaming counters and histograms; they observe and never steer.
//! * [`scenario`] — TOML in, validated [`scenario::Scenario`] out, with file:line:col errors.
//! * [`sim`] — one run: wires the rest together. [`report`] — JSON, CSV, text. [`cli`] — the
//!   binary.
//!
//! ## Lifecycle
//!
//! Parse and validate a scenario, build a [`sim::Simulation`], run it, then report:
//!
//! ```
//! use rollsim::scenario::Scenario;
//! use rollsim::sim::Simulation;
//!
//! let text = r#"
//!     duration = "2m"
//!     [traffic]
//!     rate = 100
//!     [pod]
//!     startup = "3s"
//!     readiness = { period = "1s" }
//!     pre_stop = "4s"
//!     [versions.v1]
//!     service = { dist = "exponential", mean = "40ms" }
//!     [versions.v2]
//!     service = { dist = "exponential", mean = "30ms" }
//!     [deployment]
//!     replicas = 4
//!     version = "v1"
//!     [rollout]
//!     to = "v2"
//!     at = "30s"
//!     strategy = "rolling"
//!     max_surge = 1
//!     max_unavailable = 0
//! "#;
//! let scenario = Scenario::parse("example.toml", "example", text).expect("valid scenario");
//! // `run` steps to the end; `step_until(t)` advances part of the way (for progress reports).
//! // It fails, with a message for users, only if the run exceeds its event budget.
//! let run = Simulation::new(&scenario).run().expect("the run finishes");
//! let s = &run.summary;
//! assert_eq!(s.rollout.outcome, "completed");
//! assert_eq!(s.requests.total, s.requests.ok + s.requests.failed);
//! assert_eq!(s.requests.failed, 0); // maxUnavailable 0, readiness probe, preStop ≥ propagation
//! let csv = rollsim::report::timeseries_csv(&run);
//! assert!(csv.starts_with("t_s,version,pods,ready,arrivals,ok,failed,p50_ms,p99_ms"));
//! ```
//!
//! ## Guarantees
//!
//! * Same scenario and seed ⇒ byte-identical outputs; events at the same instant run in the
//!   order they were scheduled.
//! * Strategies and balancers compared on one seed see the same requests with the same luck
//!   (common random numbers).
//! * Every request that arrives is counted exactly once, as ok or under one failure cause.
//! * Memory grows with pods, buckets and users, never with the number of requests.
#![warn(missing_docs)]

pub mod analysis;
pub mod check;
pub mod cli;
pub mod compare;
pub mod engine;
pub mod flags;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod power;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod strategy;
pub mod sweep;
