//! Analysis: metric checks on what the simulation observed, as Argo Rollouts' AnalysisRuns,
//! Flagger's checks and Kayenta's canary judge evaluate them.

pub mod judge;
mod monitor;

pub use monitor::{Monitor, Series, WindowStats};
