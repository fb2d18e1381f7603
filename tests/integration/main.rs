//! One integration-test binary (matklad's layout, as in just and nexosim): each file covers
//! one behaviour.

mod balancers;
mod check;
mod cli;
mod common;
mod compare;
mod connections;
mod controllers;
mod database;
mod determinism;
mod diagnostics;
mod errors;
mod events;
mod faults;
mod golden;
mod heatmap;
mod locks;
mod manifests;
mod metrics;
mod migrations;
mod outputs;
mod plan;
mod plots;
mod properties;
mod queueing;
mod readme;
mod report_html;
mod robustness;
mod scenarios;
mod schema;
mod schema_properties;
mod sessions;
mod strategies;
mod sweep;
mod time_breakdown;
mod warnings;
