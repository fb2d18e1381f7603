//! Scenario files: parsing and validation, separate from running.
//!
//! Two stages, as in ripgrep's LowArgs/HiArgs: `raw` deserialises the TOML strictly (unknown
//! keys are errors), `resolve` checks every value and cross-field rule and builds a
//! [`Scenario`] that cannot hold an invalid state. Every problem found is reported at once,
//! each with its file, line, column and a fix.

mod analysis;
mod database;
mod diagnostic;
mod flag;
mod forms;
mod parse;
mod pod;
mod problems;
mod raw;
mod resolve;
mod rollout;
mod suggest;
mod traffic;
mod warnings;

pub use diagnostic::{Diagnostic, Note, ScenarioError};
pub use warnings::Warning;

use std::path::Path;

use crate::analysis::AnalysisSpec;
use crate::engine::{SimDuration, SimTime};
use crate::model::{ClusterSpec, LbSpec, TrafficSource, TrafficSpec, VersionId, VersionSpec};
use crate::strategy::{
    BlueGreen, BlueGreenSpec, Canary, CanarySpec, Controller, Flagger, FlaggerSpec, IntOrPercent,
    Recreate, RollingUpdate,
};

pub use crate::strategy::rolling_spec::RollingSpec;

/// The Deployment before the rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentSpec {
    /// `spec.replicas`.
    pub replicas: u32,
    /// The version running at t = 0 (Ready and warm).
    pub initial: VersionId,
    /// `minReadySeconds`.
    pub min_ready: SimDuration,
    /// `progressDeadlineSeconds` (`None`: never).
    pub progress_deadline: Option<SimDuration>,
}

/// Which strategy, with its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum StrategySpec {
    /// Kubernetes `Recreate`.
    Recreate,
    /// Kubernetes `RollingUpdate`.
    Rolling {
        /// `maxSurge`.
        max_surge: IntOrPercent,
        /// `maxUnavailable`.
        max_unavailable: IntOrPercent,
        /// Background analysis; failure rolls back (`kubectl rollout undo`).
        analysis: Option<AnalysisSpec>,
    },
    /// Argo Rollouts blue-green.
    BlueGreen(BlueGreenSpec),
    /// Argo Rollouts canary.
    Canary(CanarySpec),
    /// Flagger canary.
    Flagger(FlaggerSpec),
}

/// The rollout to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutSpec {
    /// The version rolled out.
    pub target: VersionId,
    /// When the pod template changes.
    pub at: SimTime,
    /// The strategy.
    pub strategy: StrategySpec,
    /// `kubectl rollout undo` at this time, if set.
    pub undo_at: Option<SimTime>,
    /// Roll back automatically when the progress deadline passes.
    pub rollback_on_stall: bool,
}

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name used in outputs (the file stem unless `name` is set).
    pub name: String,
    /// What the scenario teaches (its `description`).
    pub description: Option<String>,
    /// Root seed.
    pub seed: u64,
    /// Traffic.
    pub traffic: TrafficSpec,
    /// Nodes and price.
    pub cluster: ClusterSpec,
    /// Versions, in file order.
    pub versions: Vec<VersionSpec>,
    /// The load balancer.
    pub load_balancer: LbSpec,
    /// The Deployment.
    pub deployment: DeploymentSpec,
    /// The rollout, if any.
    pub rollout: Option<RolloutSpec>,
    /// A feature flag, if any.
    pub flag: Option<crate::flags::FlagSpec>,
    /// The database requests reach through their pod's pool, if any.
    pub database: Option<crate::model::DatabaseSpec>,
    /// Width of a time-series bucket.
    pub metrics_bucket: SimDuration,
    /// Pre-flight warnings: valid settings that will likely not do what was meant.
    pub warnings: Vec<Warning>,
}

impl Scenario {
    /// Reads and validates the scenario at `path`.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| ScenarioError {
            diagnostics: vec![Diagnostic::whole_file(
                &file,
                format!("cannot read the scenario file: {e}"),
                Some("check the path; scenarios ship in scenarios/".into()),
            )],
        })?;
        let text = parse::decode(&file, &bytes)?;
        let stem = path
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
        Self::parse(&file, &stem, text)
    }

    /// Validates scenario `text`; `file` names it in errors, `stem` is the default name.
    pub fn parse(file: &str, stem: &str, text: &str) -> Result<Scenario, ScenarioError> {
        resolve::resolve(file, stem, text)
    }

    /// The strategy's name in outputs.
    pub fn strategy_name(&self) -> String {
        let base = self.rollout_strategy_name();
        match (&self.flag, base) {
            (None, b) => b.to_string(),
            (Some(_), "none") => "feature_flag".to_string(),
            (Some(_), b) => format!("{b}+flag"),
        }
    }

    fn rollout_strategy_name(&self) -> &'static str {
        match self.rollout.as_ref().map(|r| &r.strategy) {
            None => "none",
            Some(StrategySpec::Recreate) => "recreate",
            Some(StrategySpec::Rolling { .. }) => "rolling",
            Some(StrategySpec::BlueGreen(_)) => "blue_green",
            Some(StrategySpec::Canary(c)) if c.traffic_routing.is_some() => "canary",
            Some(StrategySpec::Canary(_)) => "canary_basic",
            Some(StrategySpec::Flagger(_)) => "flagger",
        }
    }

    /// The rollout controller for this scenario (a no-op rolling controller without rollout).
    pub fn build_controller(&self) -> Box<dyn Controller> {
        let d = &self.deployment;
        let rolling = |max_surge, max_unavailable, rollback_on_stall, analysis| {
            Box::new(RollingUpdate::new(
                RollingSpec {
                    replicas: d.replicas,
                    max_surge,
                    max_unavailable,
                    progress_deadline: d.progress_deadline,
                    rollback_on_stall,
                    analysis,
                },
                d.initial,
            )) as Box<dyn Controller>
        };
        match &self.rollout {
            None => rolling(
                IntOrPercent::Percent(25),
                IntOrPercent::Percent(25),
                false,
                None,
            ),
            Some(r) => match r.strategy {
                StrategySpec::Recreate => Box::new(Recreate::new(
                    d.replicas,
                    d.initial,
                    d.progress_deadline,
                    r.rollback_on_stall,
                )),
                StrategySpec::Rolling {
                    max_surge,
                    max_unavailable,
                    ref analysis,
                } => rolling(
                    max_surge,
                    max_unavailable,
                    r.rollback_on_stall,
                    analysis.clone(),
                ),
                StrategySpec::BlueGreen(ref s) => Box::new(BlueGreen::new(s.clone(), d.initial)),
                StrategySpec::Canary(ref s) => Box::new(Canary::new(s.clone(), d.initial)),
                StrategySpec::Flagger(ref s) => Box::new(Flagger::new(s.clone(), d.initial)),
            },
        }
    }

    /// The expected number of requests (integral of the rate over the run).
    pub fn expected_requests(&self) -> f64 {
        TrafficSource::expected_requests(&self.traffic)
    }

    /// The variants a rollout introduces (its target version), whose exposure is reported.
    pub fn new_variants(&self) -> Vec<VersionId> {
        let mut v: Vec<VersionId> = self.rollout.iter().map(|r| r.target).collect();
        v.extend(self.flag.iter().map(|f| f.variant));
        v
    }

    /// How far back the monitor must remember for analysis (a generous fixed horizon for now).
    pub fn monitor_horizon(&self) -> SimDuration {
        SimDuration::from_secs(900)
    }

    /// Version names by id.
    pub fn version_names(&self) -> Vec<String> {
        self.versions.iter().map(|v| v.name.clone()).collect()
    }
}
