//! Scenario files: parsing and validation, separate from running.
//!
//! Two stages, as in ripgrep's LowArgs/HiArgs: `raw` deserialises the TOML strictly (unknown
//! keys are errors), `resolve` checks every value and cross-field rule and builds a
//! [`Scenario`] that cannot hold an invalid state. Every problem found is reported at once,
//! each with its file, line, column and a fix.

mod analysis;
mod cluster;
mod connections;
mod database;
mod diagnostic;
mod expect;
mod flag;
mod forms;
mod manifests;
mod parse;
mod pod;
mod problems;
pub mod quantity;
mod raw;
mod resolve;
mod rollout;
mod schema;
mod sessions;
mod steps;
mod suggest;
mod traffic;
mod variant;
mod warnings;

/// Which strategy, with its settings (defined beside the controllers).
pub use crate::strategy::StrategySpec;
pub use diagnostic::{Diagnostic, Note, ScenarioError};
pub use expect::{Baseline, Expectation, Expectations, Mode};
/// The `[rollout]` table as written, for the strategies' own resolution (`strategy::*`), which
/// reads it through [`RolloutInput`].
pub(crate) use raw::{
    RawAnalysis, RawCanaryStep, RawDuration, RawDurations, RawIntOrPercent, RawPause, RawPauseTable,
};
pub use rollout::RolloutInput;
pub use steps::{StepKind, StepSpec};
pub use variant::{resolve_with_overrides, Override, Variants, RESERVED_NAMES};
pub use warnings::Warning;

use std::path::Path;

use crate::engine::{SimDuration, SimTime};
use crate::model::{ClusterSpec, LbSpec, TrafficSource, TrafficSpec, VersionId, VersionSpec};
use crate::strategy::{Controller, DeploymentCtx, IntOrPercent, RollingSettings};

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
    /// Pre-flight warnings the strategy's own resolution found (key path, message), listed
    /// after the warnings every scenario gets.
    pub strategy_warnings: Vec<(Vec<String>, String)>,
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
    /// The session store (`None`: requests carry no session).
    pub sessions: Option<crate::model::SessionSpec>,
    /// The database requests reach through their pod's pool, if any.
    pub database: Option<crate::model::DatabaseSpec>,
    /// Long-lived connections (`None`: users hold none).
    pub connections: Option<crate::model::ConnectionSpec>,
    /// `[[steps]]`: deployments, migrations and waits in sequence (empty: `[rollout]` alone).
    pub steps: Vec<StepSpec>,
    /// Width of a time-series bucket.
    pub metrics_bucket: SimDuration,
    /// Pre-flight warnings: valid settings that will likely not do what was meant.
    pub warnings: Vec<Warning>,
    /// `[expect]`: what `rollsim check` asserts about the summary (`None`: no table).
    pub expect: Option<Expectations>,
    /// What its manifests said (`manifests = [...]` or `run --manifest`), with the version
    /// the workload's image maps to; `None` for a scenario written wholly in TOML.
    pub manifest: Option<(crate::manifest::Reading, String)>,
}

/// A scenario file's name (as given), default scenario name (its stem) and bytes.
fn read(path: &Path) -> Result<(String, String, Vec<u8>), ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ScenarioError {
        diagnostics: vec![Diagnostic::whole_file(
            &file,
            format!("cannot read the scenario file: {e}"),
            Some("check the path; scenarios ship in scenarios/".into()),
        )],
    })?;
    let stem = path
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    Ok((file, stem, bytes))
}

impl Scenario {
    /// Reads and validates the scenario at `path`.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Self::load_with_manifests(path, &[])
    }

    /// Reads the scenario at `path` with `manifests` (paths as given) added to those it names:
    /// `rollsim run --manifest deploy.yaml --traffic traffic.toml`.
    pub fn load_with_manifests(
        path: &Path,
        manifests: &[std::path::PathBuf],
    ) -> Result<Scenario, ScenarioError> {
        let (file, stem, bytes) = read(path)?;
        let text = parse::decode(&file, &bytes)?;
        resolve::resolve_with(&file, &stem, text, manifests)
    }

    /// Reads and validates the scenario at `path` and each of its `[[variant]]`s.
    pub fn load_variants(path: &Path) -> Result<Variants, ScenarioError> {
        let (file, stem, bytes) = read(path)?;
        let text = parse::decode(&file, &bytes)?;
        variant::resolve_variants(&file, &stem, text)
    }

    /// Validates scenario `text` and each of its variants; `file` names it in errors, `stem`
    /// is the default name.
    pub fn parse_variants(file: &str, stem: &str, text: &str) -> Result<Variants, ScenarioError> {
        variant::resolve_variants(file, stem, text)
    }

    /// Validates scenario `text`; `file` names it in errors, `stem` is the default name.
    pub fn parse(file: &str, stem: &str, text: &str) -> Result<Scenario, ScenarioError> {
        resolve::resolve(file, stem, text)
    }

    /// The strategy's name in outputs.
    pub fn strategy_name(&self) -> String {
        let base = self
            .rollout
            .as_ref()
            .map_or("none", |r| r.strategy.output_name());
        match (&self.flag, base) {
            (None, b) => b.to_string(),
            (Some(_), "none") => "feature_flag".to_string(),
            (Some(_), b) => format!("{b}+flag"),
        }
    }

    /// The rollout controller for this scenario (a no-op rolling controller without rollout).
    pub fn build_controller(&self) -> Box<dyn Controller> {
        let d = &self.deployment;
        let ctx = DeploymentCtx {
            replicas: d.replicas,
            initial: d.initial,
            progress_deadline: d.progress_deadline,
            rollback_on_stall: self.rollout.as_ref().is_some_and(|r| r.rollback_on_stall),
            seed: self.seed,
        };
        match &self.rollout {
            Some(r) => r.strategy.build(&ctx),
            None => StrategySpec::new(RollingSettings {
                max_surge: IntOrPercent::Percent(25),
                max_unavailable: IntOrPercent::Percent(25),
                analysis: None,
            })
            .build(&ctx),
        }
    }

    /// The expected number of requests (integral of the rate over the run).
    pub fn expected_requests(&self) -> f64 {
        TrafficSource::expected_requests(&self.traffic)
    }

    /// The variants a rollout introduces (its target version), whose exposure is reported.
    pub fn new_variants(&self) -> Vec<VersionId> {
        // (With `[[steps]]` but no deploy step, `rollout.target` is the running version.)
        let mut v: Vec<VersionId> = self
            .rollout
            .iter()
            .map(|r| r.target)
            .filter(|t| *t != self.deployment.initial)
            .collect();
        for s in &self.steps {
            if let StepKind::Deploy(t) = s.kind {
                if t != self.deployment.initial && !v.contains(&t) {
                    v.push(t);
                }
            }
        }
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
