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
mod faults;
mod golden;
mod locks;
mod manifests;
mod metrics;
mod migrations;
mod outputs;
mod plan;
mod properties;
mod queueing;
mod readme;
mod robustness;
mod scenarios;
mod sessions;
mod strategies;
mod time_breakdown;
mod warnings;
