//! rollsim
pub mod cli;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod strategy;
