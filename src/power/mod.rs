//! `rollsim power`: how good is my analysis? A scenario with a bad release and analysis is
//! run N times, and its healthy twin (the bad release's faults removed, `twins.rs`) N times on
//! the same seeds; each configured analysis metric is also run alone, and the whole analysis
//! removed, on the same seeds. For each configuration the report gives:
//!
//! - **power**: the share of bad runs in which analysis failed (an `analysis_failed` event, or
//!   the flag's kill switch thrown by `[flag.analysis]`), with a 95 % Wilson interval;
//! - **false alarms**: the share of healthy runs in which it failed, with its interval;
//! - **time to detect**: `rollout.detect_s` (or the flag's) of the detected bad runs — from
//!   the new variant's first answer to the abort decision;
//! - **exposure**: `exposure.bad_requests` and `exposure.users_exposed` of every bad run — a
//!   detected run stops at the rollback, a missed one counts everything it served;
//! - **time added**: per seed, the healthy twin's `rollout.duration_s` (a flag-only release:
//!   `flag.duration_s`) minus that of the same
//!   twin without any analysis (pauses for inline steps, Flagger's checks), over the seeds
//!   where both completed.
//!
//! Missing data (no detection, no completed pair) is `null` / "—", never 0. Runs go in
//! parallel on rayon; results are gathered in job order, so the report does not depend on
//! the number of threads.

mod output;
pub mod stats;
pub mod twins;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::cli::{check_size, EXIT_BAD_INPUT};
use crate::metrics::RolloutOutcome;
use crate::scenario::Scenario;
use crate::sim::Simulation;
pub use stats::{wilson, Rate, Spread};

/// `rollsim power`'s arguments.
#[derive(clap::Args, Debug)]
pub struct PowerArgs {
    /// The scenario (TOML): a bad release (faults on the new version) and analysis.
    pub scenario: PathBuf,
    /// Runs of each twin per configuration, on seeds S, S+1, …, S+N−1.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub runs: u32,
    /// The first seed S (default: the scenario's own).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Print nothing on stderr (no progress line).
    #[arg(long)]
    pub quiet: bool,
}

/// What one run tells `power`.
#[derive(Clone, Debug, Default)]
struct RunFacts {
    detected: bool,
    inconclusive: bool,
    detect_s: Option<f64>,
    bad_requests: f64,
    users_exposed: f64,
    duration_s: Option<f64>,
    completed: bool,
}

fn facts(scenario: &Scenario) -> Result<RunFacts, String> {
    let out = Simulation::new(scenario)
        .run()
        .map_err(|e| format!("the run with seed {} failed: {e}", scenario.seed))?;
    let s = &out.summary;
    let has = |kind: &str| s.rollout.events.iter().any(|e| e.kind == kind);
    let flag_killed_by_analysis = scenario.flag.as_ref().is_some_and(|f| {
        f.analysis.is_some()
            && s.flag.as_ref().is_some_and(|fs| {
                fs.killed_at_s
                    .is_some_and(|k| f.kill_at.is_none_or(|at| k < at.as_secs_f64()))
            })
    });
    let rollout_failed = has("analysis_failed");
    Ok(RunFacts {
        detected: rollout_failed || flag_killed_by_analysis,
        inconclusive: has("analysis_inconclusive"),
        detect_s: if rollout_failed {
            s.rollout.detect_s
        } else if flag_killed_by_analysis {
            s.flag.as_ref().and_then(|f| f.detect_s)
        } else {
            None
        },
        bad_requests: s.exposure.bad_requests as f64,
        users_exposed: s.exposure.users_exposed as f64,
        // A flag-only release's course is the flag's.
        duration_s: match (&scenario.rollout, &s.flag) {
            (None, Some(f)) => f.duration_s,
            _ => s.rollout.duration_s,
        },
        completed: match (&scenario.rollout, &s.flag) {
            (None, Some(f)) => f.outcome == RolloutOutcome::Completed,
            _ => s.rollout.outcome == RolloutOutcome::Completed,
        },
    })
}

/// One analysis configuration's results.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// What was kept: `as configured`, `<metric> alone`, or `no analysis`.
    pub analysis: String,
    /// The metric names it kept.
    pub metrics: Vec<String>,
    /// Detections among the bad runs (`null` for `no analysis`: nothing to detect with).
    pub power: Option<Rate>,
    /// Aborts among the healthy runs (`null` for `no analysis`).
    pub false_alarms: Option<Rate>,
    /// Bad runs and healthy runs left paused by an inconclusive analysis.
    pub inconclusive: [u32; 2],
    /// Time to detect of the detected bad runs, s.
    pub detect_s: Spread,
    /// `exposure.bad_requests` of the bad runs.
    pub bad_requests: Spread,
    /// `exposure.users_exposed` of the bad runs.
    pub users_exposed: Spread,
    /// Healthy rollout duration with this analysis minus without any, s, per seed where both
    /// completed (`null` for `no analysis`).
    pub time_added_s: Option<Spread>,
}

/// `rollsim power`'s report.
#[derive(Clone, Debug, Serialize)]
pub struct PowerReport {
    /// The scenario's name.
    pub scenario: String,
    /// The bad release's versions.
    pub bad_versions: Vec<String>,
    /// Runs per twin and configuration.
    pub runs: u32,
    /// The seeds, S..S+N−1.
    pub seeds: [u64; 2],
    /// One row per configuration: as configured, each metric alone (when there are several),
    /// no analysis.
    pub rows: Vec<Row>,
}

/// Why `power` cannot measure `scenario` (`None`: it can).
pub fn refusal(scenario: &Scenario) -> Option<(String, String)> {
    let new = scenario.new_variants();
    if new.is_empty() {
        return Some((
            "has no rollout and no flag: there is no release for analysis to judge".into(),
            "add a [rollout] (to = \"v2\") or a [flag] introducing a version with [[versions.v2.faults]]".into(),
        ));
    }
    if twins::bad_versions(scenario).is_empty() {
        let names: Vec<&str> = new
            .iter()
            .map(|v| scenario.versions[v.index()].name.as_str())
            .collect();
        return Some((
            format!(
                "has no bad release: the version{} it introduces ({}) carr{} no fault",
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                if names.len() == 1 { "ies" } else { "y" },
            ),
            format!(
                "add a fault to the new version, e.g. [[versions.{}.faults]] kind = \"latency\", multiplier = 2 (or kind = \"error_rate\", rate = 0.05; kind = \"conversion\", multiplier = 0.7)",
                names[0]
            ),
        ));
    }
    if twins::metric_names(scenario).is_empty() {
        return Some((
            "configures no analysis: nothing could detect the bad release".into(),
            "add [rollout.analysis] with [[rollout.analysis.metrics]] (metric = \"error_rate\", max = 0.01) — or pre_/post_promotion_analysis for blue_green, an { analysis = … } canary step, Flagger's [rollout.analysis] metrics, [flag.analysis]".into(),
        ));
    }
    None
}

/// Measures `scenario`'s analysis over `runs` paired seeds from `first_seed`; `progress` is
/// told each finished run (from any thread).
pub fn measure(
    scenario: &Scenario,
    runs: u32,
    first_seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<PowerReport, String> {
    let names = twins::metric_names(scenario);
    let mut configs: Vec<(String, Vec<String>)> =
        vec![("as configured".to_string(), names.clone())];
    if names.len() > 1 {
        configs.extend(
            names
                .iter()
                .map(|n| (format!("{n} alone"), vec![n.clone()])),
        );
    }
    configs.push(("no analysis".to_string(), Vec::new()));
    let healthy = twins::healthy_twin(scenario);
    let seeds: Vec<u64> = (0..u64::from(runs))
        .map(|i| first_seed.wrapping_add(i))
        .collect();
    // Jobs in a fixed order: configuration, twin (bad, healthy), seed.
    let mut jobs: Vec<Scenario> = Vec::new();
    for (_, keep) in &configs {
        for base in [scenario, &healthy] {
            let s = twins::with_metrics(base, keep);
            for seed in &seeds {
                let mut one = s.clone();
                one.seed = *seed;
                jobs.push(one);
            }
        }
    }
    let results: Vec<RunFacts> = jobs
        .par_iter()
        .map(|s| {
            let r = facts(s);
            progress();
            r
        })
        .collect::<Result<_, _>>()?;
    let n = seeds.len();
    let per_config = 2 * n;
    let none = &results[(configs.len() - 1) * per_config..][n..2 * n];
    let rows = configs
        .iter()
        .enumerate()
        .map(|(i, (label, keep))| {
            let chunk = &results[i * per_config..(i + 1) * per_config];
            let (bad, good) = chunk.split_at(n);
            let analysed = !keep.is_empty();
            let count = |rs: &[RunFacts]| rs.iter().filter(|r| r.detected).count() as u32;
            let spread = |f: &dyn Fn(&RunFacts) -> Option<f64>| {
                Spread::of(&bad.iter().map(f).collect::<Vec<_>>())
            };
            let added: Vec<Option<f64>> = good
                .iter()
                .zip(none)
                .map(
                    |(a, b)| match (a.completed, b.completed, a.duration_s, b.duration_s) {
                        (true, true, Some(x), Some(y)) => Some(((x - y) * 1e3).round() / 1e3),
                        _ => None,
                    },
                )
                .collect();
            Row {
                analysis: label.clone(),
                metrics: keep.clone(),
                power: analysed.then(|| Rate::of(count(bad), runs)),
                false_alarms: analysed.then(|| Rate::of(count(good), runs)),
                inconclusive: [bad, good]
                    .map(|rs| rs.iter().filter(|r| r.inconclusive).count() as u32),
                detect_s: spread(&|r| r.detect_s),
                bad_requests: spread(&|r| Some(r.bad_requests)),
                users_exposed: spread(&|r| Some(r.users_exposed)),
                time_added_s: analysed.then(|| Spread::of(&added)),
            }
        })
        .collect();
    Ok(PowerReport {
        scenario: scenario.name.clone(),
        bad_versions: twins::bad_versions(scenario),
        runs,
        seeds: [first_seed, first_seed.wrapping_add(u64::from(runs) - 1)],
        rows,
    })
}

/// Loads the scenario, printing its problems; `Err(2)` when it cannot be measured.
fn load(path: &Path) -> Result<Scenario, u8> {
    let file = path.display().to_string();
    let scenario = Scenario::load(path).map_err(|e| {
        eprint!("{e}");
        EXIT_BAD_INPUT
    })?;
    if let Err(msg) = check_size(path, &scenario, false) {
        eprintln!("{msg}");
        return Err(EXIT_BAD_INPUT);
    }
    if let Some((what, help)) = refusal(&scenario) {
        eprintln!("error: {file} {what}\n  = help: {help}");
        return Err(EXIT_BAD_INPUT);
    }
    Ok(scenario)
}

/// `rollsim power`: returns the exit code (0, or 2 for bad input).
pub fn cmd_power(args: &PowerArgs) -> u8 {
    let scenario = match load(&args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    let configs = twins::metric_names(&scenario).len();
    let configs = if configs > 1 { configs + 2 } else { 2 };
    let total = configs as u64 * 2 * u64::from(args.runs);
    if !args.quiet {
        eprintln!(
            "power: {} runs ({} configurations × bad and healthy twin × {} seeds from {seed})",
            total, configs, args.runs
        );
    }
    // A bar of runs done on a terminal; nothing in logs (the table follows at once anyway).
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} runs, ~{eta} left")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let measured = measure(&scenario, args.runs, seed, &tick);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = match measured {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", args.scenario.display());
            return EXIT_BAD_INPUT;
        }
    };
    let text = if args.json {
        let mut j = serde_json::to_string_pretty(&report).unwrap_or_default();
        j.push('\n');
        j
    } else {
        output::table(&report)
    };
    // A reader that stops early (`| head`) ends the output quietly.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    0
}
