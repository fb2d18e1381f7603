//! One integration-test binary (matklad's layout, as in just and nexosim): each file covers
//! one behaviour.

mod balancers;
mod cli;
mod common;
mod database;
mod determinism;
mod diagnostics;
mod errors;
mod faults;
mod golden;
mod metrics;
mod outputs;
mod properties;
mod queueing;
mod robustness;
mod scenarios;
mod strategies;
mod warnings;
