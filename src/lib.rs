//! rollsim
pub mod engine;
pub mod metrics;
pub mod model;
pub mod scenario;
pub mod sim;
pub mod strategy;
