//! The balancer's resolved configuration: what each preset sets and a scenario may override.

use crate::engine::SimDuration;
use crate::model::Dist;

/// How the load balancer picks an endpoint.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LbPolicy {
    /// Endpoints in turn (nginx default, Envoy `ROUND_ROBIN`, kube-proxy IPVS `rr`, ALB
    /// `round_robin`).
    RoundRobin,
    /// Power of two random choices, keeping the one with fewer active requests (Envoy
    /// `LEAST_REQUEST` with its default `choice_count` 2).
    LeastRequest,
    /// Uniform random (kube-proxy iptables mode's `statistic --mode random` chain).
    Random,
}

/// How long the balancer takes to learn an endpoint change. Additions and removals travel
/// different paths in some balancers (an ALB registers a target through the AWS API, then
/// health-checks it; a removal only deregisters), so each has its own delay. Router-weight
/// changes are configuration pushes like an addition and use `add`.
#[derive(Clone, Debug, PartialEq)]
pub struct Propagation {
    /// An endpoint turned ready: delay until the balancer may send to it (before any target
    /// health checking).
    pub add: Dist,
    /// An endpoint started terminating or turned not ready: delay until the balancer stops.
    pub remove: Dist,
}

impl Propagation {
    /// The same delay for both directions.
    pub fn both(d: Dist) -> Self {
        Propagation {
            add: d.clone(),
            remove: d,
        }
    }
}

/// Whose passive-health state (failure counts, ejections) and round-robin position a request
/// sees.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HealthScope {
    /// One state for the balancer's whole life (Envoy's outlier detection, kube-proxy).
    Shared,
    /// A fresh state at every configuration reload, held by each worker process of that
    /// generation (nginx: see `super::generation`).
    PerReload,
}

/// Active target health checks gating traffic to a newly registered endpoint (AWS ALB target
/// groups). Defaults from the ALB user guide, `target-group-health-checks.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetHealthCheck {
    /// `HealthCheckIntervalSeconds` (30 s; 5–300).
    pub interval: SimDuration,
    /// `HealthyThresholdCount` (5; 2–10): consecutive passes that bring an unhealthy target
    /// back. A new target needs one pass.
    pub healthy_threshold: u32,
    /// `UnhealthyThresholdCount` (2; 2–10): consecutive failures that take a target out.
    pub unhealthy_threshold: u32,
}

/// The load balancer in front of the pods.
#[derive(Clone, Debug, PartialEq)]
pub struct LbSpec {
    /// Preset the values came from, for reporting.
    pub preset: String,
    /// Endpoint choice.
    pub policy: LbPolicy,
    /// Delays before the balancer learns that an endpoint turned ready or started terminating.
    pub propagation: Propagation,
    /// Further attempts on another endpoint after a connect error or a reset before response.
    pub retries: u32,
    /// Whether a reset before any response is retried too (nginx: yes; Istio's default
    /// `retryOn`: no). Connect errors are always retryable: nothing was sent.
    pub retry_on_reset: bool,
    /// Whether non-idempotent requests are retried after a reset (nginx `non_idempotent`).
    pub retry_non_idempotent: bool,
    /// Passive health check: failures that eject an endpoint (0 = off).
    pub max_fails: u32,
    /// Window in which `max_fails` failures must happen (nginx `fail_timeout`).
    pub fail_window: SimDuration,
    /// How long an ejected endpoint is skipped.
    pub ejection: SimDuration,
    /// Most endpoints that may be ejected at once, percent (Envoy `max_ejection_percent`).
    pub max_ejection_percent: u32,
    /// Whether the passive-health state survives endpoint changes.
    pub health_scope: HealthScope,
    /// Worker processes per generation, each with its own state (nginx `worker_processes`
    /// without a `zone`; 1 models a `zone` shared by the workers). Only with `PerReload`.
    pub workers: u32,
    /// How long the previous generation's workers keep accepting new connections after a
    /// reload (nginx's master waits 100 ms before stopping them).
    pub reload_overlap: SimDuration,
    /// Latency each attempt adds to what the client sees: the connect to the endpoint and the
    /// proxy hop. A retried request pays it once per attempt.
    pub attempt_overhead: SimDuration,
    /// Active health checks a new target must pass before it gets traffic (ALB); `None`:
    /// traffic as soon as the endpoint is learned.
    pub health_check: Option<TargetHealthCheck>,
    /// How long a deregistered target's in-flight requests may still finish before the
    /// balancer closes their connections (ALB `deregistration_delay.timeout_seconds`); `None`:
    /// never closed by the balancer.
    pub deregistration_delay: Option<SimDuration>,
    /// A healthy target's share ramps up linearly over this time (ALB
    /// `slow_start.duration_seconds`; zero: off).
    pub slow_start: SimDuration,
}
