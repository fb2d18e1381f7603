//! One integration-test binary (matklad's layout, as in just and nexosim): each file covers
//! one behaviour.

mod balancers;
mod cli;
mod common;
mod connections;
mod controllers;
mod database;
mod determinism;
mod diagnostics;
mod errors;
mod events;
mod faults;
mod golden;
mod locks;
mod metrics;
mod outputs;
mod plan;
mod plots;
mod properties;
mod queueing;
mod readme;
mod robustness;
mod scenarios;
mod sessions;
mod strategies;
mod warnings;
