//! `rollsim check`'s course: read every scenario and baseline (all bad input is found before
//! a simulated second is spent), run the jobs in parallel, judge, report.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;

use super::junit::junit_xml;
use super::verdict::judge;
use super::{ExpectationResult, Report, ScenarioReport};
use crate::cli::{check_size, EXIT_BAD_INPUT, EXIT_IO};
use crate::model::TrafficSpec;
use crate::scenario::{Diagnostic, Scenario};
use crate::sim::Simulation;

/// What `rollsim check` was asked.
#[derive(Clone, Debug)]
pub struct CheckArgs {
    /// The scenario files.
    pub scenarios: Vec<PathBuf>,
    /// Runs per scenario (≥ 1).
    pub runs: u32,
    /// The first seed (default: each scenario's own).
    pub seed: Option<u64>,
    /// Where to write JUnit XML.
    pub junit: Option<PathBuf>,
    /// Print the JSON report instead of text.
    pub json: bool,
    /// Print only failures.
    pub quiet: bool,
}

/// A scenario to check, with its baseline.
struct Job {
    file: String,
    scenario: Scenario,
    baseline: Option<Scenario>,
    seeds: Vec<u64>,
}

/// A diagnostic at a known line and column of `file` (the source line read back for the caret).
fn diag_at(file: &str, line: usize, column: usize, message: String, help: String) -> Diagnostic {
    let source_line = fs::read_to_string(file)
        .ok()
        .and_then(|t| t.lines().nth(line.saturating_sub(1)).map(str::to_string))
        .unwrap_or_default();
    let width = source_line
        .chars()
        .skip(column.saturating_sub(1))
        .take_while(|c| !c.is_whitespace() && *c != '#')
        .count();
    Diagnostic {
        file: file.to_string(),
        line,
        column,
        message,
        help: Some(help),
        source_line,
        width,
        notes: Vec::new(),
    }
}

/// How the traffic of `a` (the scenario) and `b` (its baseline) differ, in words.
fn traffic_differences(a: &TrafficSpec, b: &TrafficSpec) -> Vec<String> {
    let mut d = Vec::new();
    let mut diff = |what: &str, x: String, y: String| {
        if x != y {
            d.push(format!("{what} is {x} here but {y} in the baseline"));
        }
    };
    diff("traffic.rate", a.rate.to_string(), b.rate.to_string());
    diff(
        "traffic.profile",
        format!("{:?}", a.profile).to_lowercase(),
        format!("{:?}", b.profile).to_lowercase(),
    );
    diff("traffic.users", a.users.to_string(), b.users.to_string());
    diff(
        "traffic.user_distribution",
        format!("{:?}", a.user_distribution).to_lowercase(),
        format!("{:?}", b.user_distribution).to_lowercase(),
    );
    diff(
        "traffic.idempotent_share",
        a.idempotent_share.to_string(),
        b.idempotent_share.to_string(),
    );
    let t = |x: Option<crate::engine::SimDuration>| {
        x.map_or("none".into(), |d| format!("{} s", d.as_secs_f64()))
    };
    diff("traffic.timeout", t(a.timeout), t(b.timeout));
    diff(
        "duration",
        format!("{} s", a.end.as_secs_f64()),
        format!("{} s", b.end.as_secs_f64()),
    );
    d
}

/// Reads every scenario and baseline; `Err(2)` after printing every problem found.
fn prepare(args: &CheckArgs) -> Result<Vec<Job>, u8> {
    let mut bad = false;
    let mut jobs = Vec::new();
    for path in &args.scenarios {
        let file = path.display().to_string();
        let mut scenario = match Scenario::load(path) {
            Ok(s) => s,
            Err(e) => {
                eprint!("{e}");
                if e.diagnostics.len() > 1 {
                    eprintln!("{} problems in {file}", e.diagnostics.len());
                }
                bad = true;
                continue;
            }
        };
        if let Err(msg) = check_size(path, &scenario, false) {
            eprintln!("{msg}");
            bad = true;
            continue;
        }
        let Some(expect) = scenario.expect.clone() else {
            eprintln!("warning: {file} has no [expect] table: nothing to check, skipped\n  = help: add one, e.g. [expect] \"requests.failed\" = \"<= 0\"");
            continue;
        };
        let base_seed = args.seed.unwrap_or(scenario.seed);
        scenario.seed = base_seed;
        let baseline = match &expect.baseline {
            None => None,
            Some(b) => match Scenario::load(&b.path) {
                Err(e) => {
                    eprint!("{e}");
                    eprint!(
                        "{}",
                        diag_at(
                            &file,
                            b.line,
                            b.column,
                            format!("the baseline scenario \"{}\" cannot be used (see above)", b.written),
                            format!("name a valid scenario file, relative to this file's folder (it resolves to {})", b.path.display()),
                        )
                    );
                    bad = true;
                    continue;
                }
                Ok(base) => {
                    let d = traffic_differences(&scenario.traffic, &base.traffic);
                    if !d.is_empty() {
                        eprint!(
                            "{}",
                            diag_at(
                                &file,
                                b.line,
                                b.column,
                                format!("the baseline \"{}\" runs on other traffic: {}", b.written, d.join("; ")),
                                "a baseline is compared run for run on the same requests: give it the same [traffic] and duration".into(),
                            )
                        );
                        bad = true;
                        continue;
                    }
                    Some(base)
                }
            },
        };
        let seeds = (0..u64::from(args.runs))
            .map(|k| base_seed.wrapping_add(k))
            .collect();
        jobs.push(Job {
            file,
            scenario,
            baseline,
            seeds,
        });
    }
    if bad {
        if args.scenarios.len() > 1 {
            eprintln!("error: some scenarios have problems (see above); nothing was run");
        }
        return Err(EXIT_BAD_INPUT);
    }
    if jobs.is_empty() {
        eprintln!("error: no scenario given has an [expect] table: nothing to check\n  = help: add expectations to a scenario, e.g.\n          [expect]\n          \"requests.failed\" = \"<= 0\"\n          (see docs/ci.md)");
        return Err(EXIT_BAD_INPUT);
    }
    Ok(jobs)
}

/// The JUnit file's folder must exist before anything runs.
fn check_junit_target(path: &Path) -> Result<(), String> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!("its folder {} does not exist", parent.display()));
    }
    if path.is_dir() {
        return Err("it is a folder".into());
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees half a report.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map_or("report.xml".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.rollsim-tmp"));
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// One simulation: the summary as JSON, or why the run could not finish.
fn simulate(scenario: &Scenario, seed: u64) -> Result<Value, String> {
    let mut s = scenario.clone();
    s.seed = seed;
    let out = Simulation::new(&s).run().map_err(|e| e.to_string())?;
    serde_json::to_value(&out.summary).map_err(|e| e.to_string())
}

/// Runs `rollsim check`; returns the exit code.
pub fn check(args: &CheckArgs) -> u8 {
    if let Some(j) = &args.junit {
        if let Err(why) = check_junit_target(j) {
            eprintln!(
                "error: cannot write the JUnit report to {}: {why}\n  = help: give a path in an existing folder, e.g. --junit report.xml",
                j.display()
            );
            return EXIT_IO;
        }
    }
    let jobs = match prepare(args) {
        Ok(j) => j,
        Err(code) => return code,
    };
    // (job, run, baseline?) in a fixed order; rayon's collect keeps it.
    let mut work = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        for (k, seed) in job.seeds.iter().enumerate() {
            work.push((j, k, false, *seed));
            if job.baseline.is_some() {
                work.push((j, k, true, *seed));
            }
        }
    }
    let results: Vec<Result<Value, String>> = work
        .par_iter()
        .map(|&(j, _, base, seed)| {
            let job = &jobs[j];
            let s = if base {
                job.baseline.as_ref().expect("baseline job")
            } else {
                &job.scenario
            };
            simulate(s, seed)
        })
        .collect();
    let mut report = Report {
        runs: args.runs,
        scenarios: Vec::new(),
    };
    let mut broken = false;
    for (j, job) in jobs.iter().enumerate() {
        let mut main = Vec::new();
        let mut base = Vec::new();
        for ((jj, _, is_base, seed), r) in work.iter().zip(&results) {
            if *jj != j {
                continue;
            }
            let v = match r {
                Ok(v) => v.clone(),
                Err(e) => {
                    eprintln!(
                        "error: {}{} with seed {seed} did not finish: {e}",
                        job.file,
                        if *is_base { "'s baseline" } else { "" }
                    );
                    broken = true;
                    Value::Null
                }
            };
            if *is_base {
                base.push(v);
            } else {
                main.push((*seed, v));
            }
        }
        let expect = job
            .scenario
            .expect
            .as_ref()
            .expect("jobs have expectations");
        let pairs: Vec<(u64, &Value)> = main.iter().map(|(s, v)| (*s, v)).collect();
        let base_refs: Vec<&Value> = base.iter().collect();
        report.scenarios.push(ScenarioReport {
            file: job.file.clone(),
            name: job.scenario.name.clone(),
            baseline: expect.baseline.as_ref().map(|b| b.written.clone()),
            seeds: job.seeds.clone(),
            results: expect
                .items
                .iter()
                .map(|e| ExpectationResult {
                    expectation: e.clone(),
                    verdict: judge(e, &pairs, &base_refs),
                })
                .collect(),
        });
    }
    if let Some(path) = &args.junit {
        if let Err(e) = write_atomically(path, &junit_xml(&report)) {
            eprintln!(
                "error: cannot write the JUnit report to {}: {e}",
                path.display()
            );
            return EXIT_IO;
        }
    }
    let out = if args.json {
        let mut s = serde_json::to_string_pretty(&report.json()).unwrap_or_default();
        s.push('\n');
        s
    } else {
        report.text(args.quiet)
    };
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if report.passed() && !broken {
        0
    } else {
        1
    }
}

/// The `expect` line `rollsim run` prints for a scenario with `[expect]`: the expectations
/// judged on this one run (those comparing with a baseline need `rollsim check`, which runs
/// it). `None` without `[expect]`.
pub fn expect_line(scenario: &Scenario, summary: &Value) -> Option<String> {
    let expect = scenario.expect.as_ref()?;
    let runs = [(scenario.seed, summary)];
    let mut failed = Vec::new();
    let mut judged = 0;
    let mut skipped = 0;
    for e in &expect.items {
        let uses_baseline =
            matches!(&e.expr.rhs, super::expr::Operand::Number(a) if a.uses_baseline());
        if uses_baseline {
            skipped += 1;
            continue;
        }
        judged += 1;
        let v = judge(e, &runs, &[]);
        if !v.passed {
            failed.push(format!("{} {} ({})", e.path, e.text, v.message));
        }
    }
    let mut line = if failed.is_empty() {
        format!("expect     {judged} of {judged} hold")
    } else {
        format!(
            "expect     {} of {judged} hold; failing: {}",
            judged - failed.len(),
            failed.join("; ")
        )
    };
    if skipped > 0 {
        line.push_str(&format!(
            " ({skipped} against the baseline: see `rollsim check`)"
        ));
    }
    Some(line)
}
