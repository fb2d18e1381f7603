//! Analysis: metric checks on what the simulation observed, as Argo Rollouts' AnalysisRuns,
//! Flagger's checks and Kayenta's canary judge evaluate them.

pub mod judge;
mod monitor;
mod run;

pub use monitor::{Monitor, Series, WindowStats};
pub use run::{
    default_judge, evaluate, AnalysisRun, AnalysisSpec, JudgeSettings, Measurement, MetricKind,
    MetricSpec, RunPhase,
};
