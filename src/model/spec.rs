//! Resolved, validated configuration of the model. The scenario module builds these from the
//! TOML file; every field here is already checked, in model units.

use super::Dist;
use crate::engine::{SimDuration, SimTime};

/// How requests arrive.
#[derive(Clone, Debug)]
pub struct TrafficSpec {
    /// Base arrival rate, requests per second.
    pub rate: f64,
    /// How the rate changes over time.
    pub profile: RateProfile,
    /// Size of the user population requests are drawn from.
    pub users: u32,
    /// How requests spread over users.
    pub user_distribution: UserDistribution,
    /// Share of requests that are idempotent (safe for a proxy to retry), 0–1.
    pub idempotent_share: f64,
    /// The client gives up after this long (`None`: never).
    pub timeout: Option<SimDuration>,
    /// Arrivals stop at this time.
    pub end: SimTime,
}

/// Rate over time, as a factor of (or replacement for) the base rate.
#[derive(Clone, Debug, PartialEq)]
pub enum RateProfile {
    /// The base rate throughout.
    Constant,
    /// From each `(at, rate)` on, the rate is `rate` req/s (base rate before the first step).
    Steps(Vec<(SimTime, f64)>),
    /// The base rate times `multiplier` during `[at, at + duration)`.
    Spike {
        /// Start of the spike.
        at: SimTime,
        /// Length of the spike.
        duration: SimDuration,
        /// Rate multiplier during the spike.
        multiplier: f64,
    },
    /// A sine around the base rate: `rate × (1 + amplitude × cos(2π (t − peak_at) / period))`.
    Diurnal {
        /// Length of one cycle.
        period: SimDuration,
        /// Relative swing, 0–1.
        amplitude: f64,
        /// A time at which the rate peaks.
        peak_at: SimTime,
    },
}

/// How requests are spread over the user population.
#[derive(Clone, Debug, PartialEq)]
pub enum UserDistribution {
    /// Every user equally likely.
    Uniform,
    /// A few heavy users: Zipf with the given exponent (> 0).
    Zipf(f64),
}

/// A readiness probe (Kubernetes `readinessProbe`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeSpec {
    /// `initialDelaySeconds`: from container start to the first probe.
    pub initial_delay: SimDuration,
    /// `periodSeconds`.
    pub period: SimDuration,
    /// `successThreshold`: consecutive successes to become Ready.
    pub success_threshold: u32,
    /// `failureThreshold`: consecutive failures to become not Ready.
    pub failure_threshold: u32,
}

/// Cold-start slowness: service times multiplied by a factor that decays linearly to 1.
#[derive(Clone, Debug, PartialEq)]
pub struct WarmupSpec {
    /// Multiplier at the moment the application starts listening (≥ 1).
    pub factor: f64,
    /// Time over which the multiplier decays to 1.
    pub duration: SimDuration,
}

/// What the application does on SIGTERM.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnSigterm {
    /// Close the listener, finish in-flight and queued work, then exit (a graceful server).
    Drain,
    /// Exit at once, dropping in-flight work (no SIGTERM handler).
    Exit,
    /// Keep serving until SIGKILL (e.g. a shell as PID 1 that never forwards the signal).
    Ignore,
}

/// The pod template of one version.
#[derive(Clone, Debug, PartialEq)]
pub struct PodSpec {
    /// Worker slots: requests served at once.
    pub concurrency: u32,
    /// Accept-queue length behind the workers (`None`: unbounded).
    pub queue: Option<u32>,
    /// From scheduling to a running container (image pull, container start).
    pub startup: Dist,
    /// From a running container to a listening application (connections refused meanwhile).
    pub app_init: Dist,
    /// Cold-start slowness, if any.
    pub warmup: Option<WarmupSpec>,
    /// The readiness probe; `None` makes the pod Ready as soon as its container runs.
    pub readiness: Option<ProbeSpec>,
    /// preStop hook duration (a `sleep`); zero for none.
    pub pre_stop: SimDuration,
    /// `terminationGracePeriodSeconds`, counted from deletion (preStop included).
    pub grace: SimDuration,
    /// Behaviour on SIGTERM.
    pub on_sigterm: OnSigterm,
}

/// One application release.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionSpec {
    /// Name used in outputs.
    pub name: String,
    /// Service time of one request on a warm pod.
    pub service: Dist,
    /// Probability that a served request is an application error.
    pub error_rate: f64,
    /// Probability that a successful request converts (a purchase, a sign-up): the business
    /// metric (`None`: not tracked, conversions reported as null).
    pub conversion_rate: Option<f64>,
    /// Pod template.
    pub pod: PodSpec,
    /// Faults this release carries (a bad release).
    pub faults: Vec<super::Fault>,
    /// Whether outputs count this version's requests as a bad release's (`exposure.bad_*`):
    /// set when it carries faults or is declared `bad = true`.
    pub bad: bool,
}

/// Nodes and their price.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSpec {
    /// Number of nodes.
    pub nodes: u32,
    /// Pods each node can hold: `[cluster] pods_per_node`, or the fit of the pod's requests on
    /// a node's allocatable as kube-scheduler's NodeResourcesFit filter computes it (for each
    /// requested resource, the sum of the requests ≤ allocatable; at most the kubelet's
    /// `maxPods`, default 110) — see `scenario::cluster`. Every pod requests the same, so it
    /// is one number.
    pub pods_per_node: u32,
    /// Price of one pod for one hour.
    pub cost_per_pod_hour: f64,
}

impl ClusterSpec {
    /// Pods the cluster can run at once.
    pub fn capacity(&self) -> u64 {
        u64::from(self.nodes) * u64::from(self.pods_per_node)
    }
}
