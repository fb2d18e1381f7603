//! `rollsim check`: gate a rollout config in CI on the expectations in its `[expect]` table.
//!
//! A scenario's `[expect]` maps `summary.json` paths to expressions (`expr`), checked against
//! the summary's shape when the scenario is read (`shape`, via `scenario::expect`). `check`
//! runs each scenario `--runs N` times on seeds `S, S+1, …, S+N−1` (S: `--seed`, else the
//! scenario's `seed`), each baseline scenario on the same seeds, in parallel (rayon; results
//! are collected in job order, so the output is the same whatever the thread count), then
//! judges every expectation (`verdict`, with `stats`) and reports as text, JSON (`--json`) and
//! JUnit XML (`--junit FILE`, `junit`), written once, after every run, by a rename.
//!
//! Exit codes: 0 every expectation holds; 1 one fails (or a run could not finish); 2 bad input
//! (a scenario or baseline with a problem, no `[expect]` anywhere, a baseline on other
//! traffic), nothing written; 3 the JUnit file could not be written.

pub mod expr;
pub mod junit;
mod run;
pub mod shape;
pub mod stats;
pub mod verdict;

pub use run::{check, expect_line, CheckArgs};

use serde_json::{json, Value};

use crate::scenario::{Expectation, Mode};
use verdict::Verdict;

/// One expectation's result.
#[derive(Clone, Debug)]
pub struct ExpectationResult {
    /// The expectation.
    pub expectation: Expectation,
    /// Its verdict.
    pub verdict: Verdict,
}

impl ExpectationResult {
    /// The expression as written: `<= 0`, or `mean <= 10` for a table form.
    pub fn shown_expr(&self) -> String {
        let e = &self.expectation;
        match e.mode {
            Mode::Plain => e.text.clone(),
            m => format!("{} {}", m.label(), e.text),
        }
    }
}

/// One scenario's results.
#[derive(Clone, Debug)]
pub struct ScenarioReport {
    /// The file as given.
    pub file: String,
    /// The scenario's name.
    pub name: String,
    /// The baseline file, if any.
    pub baseline: Option<String>,
    /// The seeds run, in order.
    pub seeds: Vec<u64>,
    /// Each expectation's result, in file order.
    pub results: Vec<ExpectationResult>,
}

/// Everything `check` found.
#[derive(Clone, Debug)]
pub struct Report {
    /// Runs per scenario.
    pub runs: u32,
    /// Per scenario, in command-line order.
    pub scenarios: Vec<ScenarioReport>,
}

impl Report {
    /// Whether every expectation holds.
    pub fn passed(&self) -> bool {
        self.scenarios
            .iter()
            .all(|s| s.results.iter().all(|r| r.verdict.passed))
    }

    fn counts(&self) -> (usize, usize) {
        let total = self.scenarios.iter().map(|s| s.results.len()).sum();
        let failed = self
            .scenarios
            .iter()
            .map(|s| s.results.iter().filter(|r| !r.verdict.passed).count())
            .sum();
        (total, failed)
    }

    /// The `--json` document.
    pub fn json(&self) -> Value {
        let (total, failed) = self.counts();
        json!({
            "passed": self.passed(),
            "runs": self.runs,
            "expectations": total,
            "failed": failed,
            "scenarios": self.scenarios.iter().map(|s| json!({
                "file": s.file,
                "name": s.name,
                "baseline": s.baseline,
                "seeds": s.seeds,
                "expectations": s.results.iter().map(|r| {
                    let e = &r.expectation;
                    let v = &r.verdict;
                    json!({
                        "path": e.path,
                        "expect": e.text,
                        "statistic": match e.mode { Mode::Plain => "every".to_string(), m => m.label() },
                        "line": e.line,
                        "column": e.column,
                        "passed": v.passed,
                        "actual": v.actual,
                        "values": v.values,
                        "threshold": v.threshold,
                        "ci95": v.ci.map(|(lo, hi)| [lo, hi]),
                        "failing_seeds": v.failing_seeds,
                        "message": v.message,
                    })
                }).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }

    /// The text report: every expectation (only the failures when `quiet`), then a total.
    pub fn text(&self, quiet: bool) -> String {
        let mut out = String::new();
        for s in &self.scenarios {
            if !quiet {
                out.push_str(&format!(
                    "check {}: {} expectation{}, {}{}\n",
                    s.file,
                    s.results.len(),
                    if s.results.len() == 1 { "" } else { "s" },
                    verdict::seed_range(&s.seeds),
                    s.baseline.as_ref().map_or(String::new(), |b| format!(
                        ", baseline {b} on the same seeds"
                    ))
                ));
            }
            for r in &s.results {
                let e = &r.expectation;
                if r.verdict.passed && !quiet {
                    out.push_str(&format!(
                        "  ok    {} {}: {}\n",
                        e.path,
                        r.shown_expr(),
                        r.verdict.message
                    ));
                } else if !r.verdict.passed {
                    out.push_str(&format!(
                        "  FAIL  {}:{}:{}: {} {}: {}\n",
                        s.file,
                        e.line,
                        e.column,
                        e.path,
                        r.shown_expr(),
                        r.verdict.message
                    ));
                }
            }
        }
        let (total, failed) = self.counts();
        if !quiet || failed > 0 {
            out.push_str(&if failed == 0 {
                format!("check: all {total} expectations hold\n")
            } else {
                format!("check: {failed} of {total} expectations fail\n")
            });
        }
        out
    }
}
