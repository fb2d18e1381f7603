//! rollsim
pub mod analysis;
pub mod cli;
pub mod engine;
pub mod flags;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod strategy;
