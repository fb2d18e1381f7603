//! Rollout controllers: one strategy per file, each behind the [`Controller`] trait.
//!
//! A controller is a policy over a read-only [`View`] of the ReplicaSets, like the real
//! level-triggered controllers it models: every reconcile re-derives what to do from the
//! current counts and returns a [`Decision`] (scale moves, traffic weights, when to look again,
//! status reports). It never touches pods, the balancer or the clock itself, so it can be unit
//! tested on hand-made views and replayed by `rollsim plan` with instantly ready pods.

pub mod argo_canary;
mod blue_green;
mod canary;
mod canary_limits;
mod canary_settings;
mod fenceposts;
mod flagger;
mod plan;
mod progress;
mod recreate;
mod rolling;
mod settings;
#[cfg(test)]
mod test_support;
mod why;

pub use blue_green::{BlueGreen, BlueGreenSpec, SmokeTest};
pub use canary::{Canary, CanarySpec, CanaryStep};
pub use fenceposts::{resolve_fenceposts, IntOrPercent};
pub use flagger::{Flagger, FlaggerSpec};
pub use plan::{plan, Plan, PlanNote, PlanRs, PlanSetup, PlanStep, PlanWeight};
pub use progress::ProgressTracker;
pub use recreate::{Recreate, RecreateSpec};
pub use rolling::{RollingSettings, RollingUpdate};
pub use why::{Arg, Reason, Why};

/// Settings of the RollingUpdate strategy.
pub mod rolling_spec {
    pub use super::rolling::RollingSpec;
}

use crate::engine::{SimDuration, SimTime};
use crate::model::{RsId, VersionId};

/// What a controller sees of one ReplicaSet (its `spec` and `status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsStatus {
    /// The ReplicaSet.
    pub id: RsId,
    /// The version of its pod template.
    pub version: VersionId,
    /// `deployment.kubernetes.io/revision`.
    pub revision: u64,
    /// `spec.replicas`.
    pub spec: u32,
    /// `status.replicas`: pods that exist and are not terminating.
    pub replicas: u32,
    /// `status.readyReplicas`.
    pub ready: u32,
    /// `status.availableReplicas`.
    pub available: u32,
    /// Pods deleted but still shutting down.
    pub terminating: u32,
}

/// The read-only state a controller decides from.
#[derive(Clone, Debug)]
pub struct View<'a> {
    /// Current simulated time.
    pub now: SimTime,
    /// Every ReplicaSet of the Deployment, oldest first.
    pub replica_sets: &'a [RsStatus],
    /// What the monitoring system observed, for analysis.
    pub monitor: &'a crate::analysis::Monitor,
}

/// One change a controller asks of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create a ReplicaSet for `version` with `replicas` pods at `revision`.
    CreateReplicaSet {
        /// Version of the pod template.
        version: VersionId,
        /// Initial `spec.replicas`.
        replicas: u32,
        /// Revision number.
        revision: u64,
    },
    /// Set a ReplicaSet's `spec.replicas`.
    Scale {
        /// The ReplicaSet.
        rs: RsId,
        /// New `spec.replicas`.
        replicas: u32,
    },
    /// Set per-version traffic weights at the router (`None`: split by endpoint count, as a
    /// plain Service does). The balancer learns the change after its propagation delay.
    SetWeights(Option<Vec<u32>>),
    /// Send `requests` synthetic requests, spread over `over`, only to `version`'s pods (a
    /// smoke-test Job against a preview service). They are seen by the monitor, not the
    /// reported metrics.
    SmokeTest {
        /// The version under test.
        version: VersionId,
        /// How many requests.
        requests: u32,
        /// Over how long.
        over: SimDuration,
    },
    /// Re-number a ReplicaSet (a rollback makes an old ReplicaSet the newest revision).
    SetRevision {
        /// The ReplicaSet.
        rs: RsId,
        /// New revision.
        revision: u64,
    },
}

/// A status change a controller reports (what `kubectl rollout status` would show).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// The Deployment is complete: all replicas updated and available, no old pods.
    Completed,
    /// `progressDeadlineSeconds` passed without progress (`ProgressDeadlineExceeded`).
    Stalled,
    /// The controller started rolling back on its own (after a stall, when configured).
    RollbackStarted,
    /// The rollout was aborted (analysis failed, or a manual abort): traffic goes back to the
    /// stable version.
    Aborted,
    /// The rollout paused and waits for a human (indefinite pause, inconclusive analysis).
    Paused,
    /// The new version is fully promoted (canary/blue-green) — completion may still wait for
    /// the old pods to scale down.
    Promoted,
    /// A timed pause began (a canary `pause: {duration}` step, blue-green's
    /// `autoPromotionSeconds` wait). Marks the rollout's course only.
    PauseStarted(SimDuration),
    /// A pause (timed, or waiting for a promote) ended and the rollout goes on.
    PauseEnded,
    /// An AnalysisRun began: `inline`, `background`, `pre-promotion` or `post-promotion`.
    AnalysisStarted(&'static str),
    /// An AnalysisRun ended with this phase (`Successful`, `Failed` or `Inconclusive`).
    AnalysisDone(&'static str, crate::analysis::RunPhase),
}

/// What a controller waits for after a reconcile, for "where the time goes"
/// (`rollout.time_breakdown_s`): the question Argo Rollouts users keep asking — how much of a
/// deploy is waiting for pods, how much is pauses and analysis. Data only; it never steers.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Wait {
    /// Pods: ReplicaSet counts not reached, pods not yet available, old pods going. The world
    /// refines this into scheduling, start-up, readiness and termination from the pods' phases.
    #[default]
    Pods,
    /// A timed or indefinite pause (a canary `pause` step, blue-green's autoPromotionSeconds
    /// or a pause waiting for a promote, a pause after an inconclusive analysis).
    Pause,
    /// An analysis run the rollout waits for (an inline canary step, blue-green pre/post
    /// promotion, Flagger's interval checks).
    Analysis,
    /// Old pods kept for `scaleDownDelaySeconds` after the promotion.
    ScaleDownDelay,
    /// The controller's own clock: Flagger detecting the new revision at its next tick and
    /// promoting one phase per tick.
    Controller,
}

/// The result of one reconcile.
#[derive(Clone, Debug, Default)]
pub struct Decision {
    /// Changes to apply, in order.
    pub actions: Vec<Action>,
    /// Why these changes (or why none): data that `rollsim plan` renders; never formatted
    /// during a run.
    pub why: Why,
    /// Reconcile again at this time even if nothing changes in the cluster.
    pub requeue_at: Option<SimTime>,
    /// Status changes to record.
    pub reports: Vec<Report>,
    /// What the rollout waits for until the next reconcile (observed, never acted on).
    pub wait: Wait,
}

/// A rollout strategy's controller.
pub trait Controller {
    /// The Deployment's `spec.replicas`.
    fn replicas(&self) -> u32;
    /// The pod template changes to `target`: a rollout begins.
    fn start(&mut self, target: VersionId, now: SimTime);
    /// `kubectl rollout undo` (or an abort): go back to the previous revision. Returns false
    /// if there is nothing to undo.
    fn undo(&mut self, replica_sets: &[RsStatus], now: SimTime) -> bool;
    /// One reconcile.
    fn reconcile(&mut self, view: &View<'_>) -> Decision;
    /// Router weights in force before the rollout (blue-green's active service, a routed
    /// canary's stable route); `None`: a plain Service split by endpoints.
    fn initial_weights(&self) -> Option<Vec<u32>> {
        None
    }
    /// Resolved limits for the teaching view (`rollsim plan`), each key once.
    fn limits(&self) -> Vec<Limit>;
}

/// What a Deployment gives every strategy's controller.
#[derive(Clone, Debug)]
pub struct DeploymentCtx {
    /// `spec.replicas`.
    pub replicas: u32,
    /// The version running before the rollout.
    pub initial: VersionId,
    /// `progressDeadlineSeconds`.
    pub progress_deadline: Option<SimDuration>,
    /// Roll back when the deadline passes.
    pub rollback_on_stall: bool,
    /// The run's root seed (for controllers with a random phase, such as Flagger's ticker).
    pub seed: u64,
}

/// A strategy's resolved settings: they name the strategy in outputs and build its controller.
/// Implemented beside each controller.
pub trait StrategyConfig: std::fmt::Debug + Send + Sync + 'static {
    /// The name in `summary.json`'s `strategy` (a basic canary reports `canary_basic`).
    fn output_name(&self) -> &'static str;
    /// The controller for `deployment`.
    fn build(&self, deployment: &DeploymentCtx) -> Box<dyn Controller>;
    /// The most pods the rollout of `replicas` needs at once, for the pre-flight warning that
    /// compares it with the nodes' room (pods beyond it stay `Pending`).
    fn peak_pods(&self, replicas: u32) -> PeakPods;
    /// Whether the controller enforces `progressDeadlineSeconds` (the Deployment strategies),
    /// so a deadline shorter than a pod's way to available is worth a pre-flight warning.
    fn enforces_progress_deadline(&self) -> bool {
        false
    }
    /// For tests and tools that inspect one strategy's settings.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// The most pods a rollout needs at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeakPods {
    /// How many.
    pub pods: u64,
    /// Where they come from ("10 replicas + a surge of 3").
    pub why: String,
    /// The setting a warning points at (`["rollout", "max_surge"]`).
    pub at: &'static [&'static str],
}

impl PeakPods {
    /// `replicas` and no more (Recreate, or no rollout).
    pub fn replicas(replicas: u32) -> PeakPods {
        PeakPods {
            pods: u64::from(replicas),
            why: format!("{replicas} replicas"),
            at: &["deployment", "replicas"],
        }
    }

    /// `replicas` plus a resolved surge.
    pub fn surge(replicas: u32, surge: u32) -> PeakPods {
        PeakPods {
            pods: u64::from(replicas) + u64::from(surge),
            why: format!("{replicas} replicas + a surge of {surge}"),
            at: &["rollout", "max_surge"],
        }
    }

    /// A stable set of `replicas` beside a canary of up to as many.
    pub fn stable_and_canary(replicas: u32) -> PeakPods {
        PeakPods {
            pods: 2 * u64::from(replicas),
            why: format!("{replicas} stable + up to {replicas} canary replicas"),
            at: &["rollout", "strategy"],
        }
    }
}

/// A strategy's settings, whichever strategy it is.
#[derive(Clone, Debug)]
pub struct StrategySpec(std::sync::Arc<dyn StrategyConfig>);

impl StrategySpec {
    /// Wraps one strategy's settings.
    pub fn new(config: impl StrategyConfig) -> Self {
        StrategySpec(std::sync::Arc::new(config))
    }

    /// The settings as `T`, if they are that strategy's.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }

    /// The name in outputs.
    pub fn output_name(&self) -> &'static str {
        self.0.output_name()
    }

    /// The controller.
    pub fn build(&self, deployment: &DeploymentCtx) -> Box<dyn Controller> {
        self.0.build(deployment)
    }

    /// See [`StrategyConfig::peak_pods`].
    pub fn peak_pods(&self, replicas: u32) -> PeakPods {
        self.0.peak_pods(replicas)
    }

    /// See [`StrategyConfig::enforces_progress_deadline`].
    pub fn enforces_progress_deadline(&self) -> bool {
        self.0.enforces_progress_deadline()
    }
}

impl PartialEq for StrategySpec {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
            || format!("{:?}", self.0) == format!("{:?}", other.0)
    }
}

/// One strategy as a scenario names it (`[rollout] strategy = "…"`), declared beside its
/// controller: its name, the optional `[rollout]` keys it accepts, and how its settings are
/// resolved from the scenario.
pub struct StrategyDef {
    /// The value of `strategy`.
    pub name: &'static str,
    /// Optional `[rollout]` keys it accepts (besides `to`, `at`, `strategy`, `undo_at`).
    pub keys: &'static [&'static str],
    /// How messages name it, when not `strategy "<name>"`.
    pub title: Option<&'static str>,
    /// The help for a key of other strategies set with this one, when it has better words than
    /// "`key` belongs to strategy …; remove it" ([`no_foreign_key_help`]: none).
    pub foreign_key_help: fn(&str) -> Option<&'static str>,
    /// Resolves its settings from `[rollout]`, reporting problems (beside its controller).
    pub resolve: fn(&mut crate::scenario::RolloutInput<'_, '_>) -> Option<StrategySpec>,
}

/// A strategy without special help for another strategy's keys.
pub fn no_foreign_key_help(_key: &str) -> Option<&'static str> {
    None
}

/// Every strategy, in the order error messages list them. Adding a strategy adds its `DEF`
/// here; names, accepted keys and the resolution dispatch are derived from this list.
pub const STRATEGIES: &[StrategyDef] = &[
    rolling::DEF,
    recreate::DEF,
    blue_green::DEF,
    canary::DEF,
    flagger::DEF,
];

/// The strategy called `name`.
pub fn strategy_named(name: &str) -> Option<&'static StrategyDef> {
    STRATEGIES.iter().find(|s| s.name == name)
}

/// The strategies accepting the optional `[rollout]` key `key`.
pub fn accepted_by(key: &str) -> Vec<&'static str> {
    STRATEGIES
        .iter()
        .filter(|s| s.keys.contains(&key))
        .map(|s| s.name)
        .collect()
}

/// One resolved setting shown by `rollsim plan`: a machine-readable value for `--json` (a
/// number, a string or an array, never a number formatted as text) and the sentence the table
/// prints.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// The upstream field name (`maxSurge`, `setWeight`, …).
    pub key: &'static str,
    /// The value for `--json`.
    pub value: serde_json::Value,
    /// The value explained, one line per entry.
    pub text: Vec<String>,
}

impl Limit {
    /// A count shown as itself.
    pub fn count(key: &'static str, n: u32) -> Limit {
        Limit::count_because(key, n, n.to_string())
    }

    /// A count with an explanation.
    pub fn count_because(key: &'static str, n: u32, text: String) -> Limit {
        Limit {
            key,
            value: n.into(),
            text: vec![text],
        }
    }

    /// A duration, in seconds for `--json`.
    pub fn duration(key: &'static str, d: SimDuration) -> Limit {
        Limit {
            key,
            value: d.as_secs_f64().into(),
            text: vec![d.to_string()],
        }
    }

    /// A sentence (the value is the same text).
    pub fn note(key: &'static str, text: impl Into<String>) -> Limit {
        let text = text.into();
        Limit {
            key,
            value: text.clone().into(),
            text: vec![text],
        }
    }
}

/// Router weights sending all traffic to `version` (a vector over `versions` versions).
pub fn all_traffic_to(versions: usize, version: VersionId) -> Vec<u32> {
    let mut w = vec![0; versions];
    w[version.index()] = 100;
    w
}

/// The newest ReplicaSet (highest revision) running `version`.
pub fn newest_of(rss: &[RsStatus], version: VersionId) -> Option<&RsStatus> {
    rss.iter()
        .filter(|r| r.version == version)
        .max_by_key(|r| r.revision)
}

/// The most recent revision among `rss` (0 when there is none).
pub fn max_revision(rss: &[RsStatus]) -> u64 {
    rss.iter().map(|r| r.revision).max().unwrap_or(0)
}

/// One second: the Deployment controller's slack when it requeues for the progress deadline.
pub const REQUEUE_SLACK: SimDuration = SimDuration::from_secs(1);
