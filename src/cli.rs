//! The command line: `rollsim run | validate | compare | check | sweep | merge | heatmap |
//! plan | power` (`compare`, `check`, `sweep`, `merge`, `heatmap` and `power` live in their own
//! modules).
//!
//! Exit codes: 0 success; 1 (`check`) an expectation fails; 2 bad input (a scenario error, an unknown flag, an unreadable file);
//! 3 the outputs could not be written.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::report;
use crate::scenario::Scenario;
use crate::sim::Simulation;
use crate::strategy::{plan, PlanSetup};

/// Exit code for bad input.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for failing to write outputs.
pub const EXIT_IO: u8 = 3;
/// Above this many expected requests a run needs `--force` (and `validate` says so).
pub const FORCE_THRESHOLD: f64 = 1e9;
/// Engine events per simulated request: an arrival and a completion, the rest (probes,
/// controller syncs, buckets) is small beside them (about 2.0 on every shipped scenario).
const EVENTS_PER_REQUEST: f64 = 2.0;
/// Events per wall second assumed by the estimate: below the 7.5–9.4 M/s measured in release
/// builds (README "Performance"), so the estimate errs long.
const EVENTS_PER_WALL_S: f64 = 5e6;
/// Runs estimated longer than this show their estimate and a progress bar (on a terminal).
const SHOW_PROGRESS_AFTER_S: f64 = 3.0;
/// Runs estimated longer than this print progress lines even when stderr is not a terminal.
const PROGRESS_LINES_AFTER_S: f64 = 60.0;
/// `ROLLSIM_PROGRESS=lines` forces the estimate and progress lines (for logs and tests).
pub(crate) const PROGRESS_ENV: &str = "ROLLSIM_PROGRESS";

/// What a run will cost, estimated from the scenario before it starts.
#[derive(Clone, Copy, Debug)]
pub struct Estimate {
    /// Expected requests (the traffic profile's integral).
    pub requests: f64,
    /// Expected engine events.
    pub events: f64,
    /// Expected wall-clock seconds in a release build.
    pub wall_s: f64,
}

impl Estimate {
    /// The estimate for `scenario`.
    pub fn of(scenario: &Scenario) -> Estimate {
        let requests = scenario.expected_requests();
        let events = requests * EVENTS_PER_REQUEST;
        Estimate {
            requests,
            events,
            wall_s: events / EVENTS_PER_WALL_S,
        }
    }

    pub(crate) fn line(&self) -> String {
        format!(
            "about {:.2e} requests, {:.2e} events, {} of wall time (release build)",
            self.requests,
            self.events,
            humantime::format_duration(std::time::Duration::from_secs(self.wall_s.ceil() as u64))
        )
    }
}

/// The size limit `run` and `validate` share: `Err` (a message) when a run of `scenario`
/// would need `--force` and it was not given.
pub fn check_size(path: &Path, scenario: &Scenario, force: bool) -> Result<Estimate, String> {
    let e = Estimate::of(scenario);
    if e.requests > FORCE_THRESHOLD && !force {
        return Err(format!(
            "error: {} would simulate {} (over 10^9 requests)\n  = help: shorten the run or lower the rate, or pass --force to `rollsim run`",
            path.display(),
            e.line()
        ));
    }
    Ok(e)
}

#[derive(Parser, Debug)]
#[command(
    name = "rollsim",
    version,
    about = "Simulate zero-downtime deployment strategies: what happens to your users while a rollout runs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario; print a summary and write summary.json, timeseries.csv, plots and
    /// report.html.
    Run {
        /// The scenario file (TOML); with --manifest, give --traffic instead.
        #[arg(required_unless_present = "traffic", conflicts_with = "traffic")]
        scenario: Option<PathBuf>,
        /// Kubernetes manifests (YAML) giving the Deployment; repeat for several files.
        #[arg(long, requires = "traffic")]
        manifest: Vec<PathBuf>,
        /// The scenario file giving traffic, cluster and versions for --manifest.
        #[arg(long, requires = "manifest")]
        traffic: Option<PathBuf>,
        /// Output folder (default: outputs/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
        /// Run even if the scenario would simulate more than a billion requests.
        #[arg(long)]
        force: bool,
        /// Write no plots (SVG/PNG): summary.json, timeseries.csv and a report.html without
        /// charts.
        #[arg(long)]
        no_plots: bool,
    },
    /// Check scenarios and report every problem in each (exit 2 if any is bad).
    Validate {
        /// The scenario files (TOML).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Run several scenarios (or a file's [[variant]]s) on identical traffic, side by side,
    /// with each one's difference from the first; write comparison.json, comparison.csv, the
    /// comparison charts, report.html and each run's files.
    Compare(crate::compare::CompareArgs),
    /// Run a scenario over a grid of --set values (in parallel, resumable, shardable); write
    /// sweep.csv, one row per point and run.
    Sweep(crate::sweep::SweepArgs),
    /// How good is the analysis? Run a bad release and its healthy twin on paired seeds;
    /// report detection rate, false alarms, time to detect, exposure and time added.
    Power(crate::power::PowerArgs),
    /// Join the shards of one sweep into the sweep.csv an unsharded run writes.
    Merge(crate::sweep::MergeArgs),
    /// Draw a heat map (SVG and PNG) of a sweep's metric over two swept parameters.
    Heatmap(crate::sweep::HeatmapArgs),
    /// Show how each field of a Kubernetes manifest is understood, and what is not modelled.
    Explain {
        /// The manifest (YAML).
        #[arg(long, required = true)]
        manifest: Vec<PathBuf>,
        /// A scenario giving the versions the image maps onto (optional).
        #[arg(long)]
        traffic: Option<PathBuf>,
    },
    /// Show the controller's steps as if every pod became ready instantly.
    Plan {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Override the scenario's seed (it places Flagger's ticker).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run scenarios and check their [expect] tables: exit 0 if all hold, 1 if any fails.
    Check {
        /// The scenario files (TOML); those without [expect] are skipped with a warning.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Runs per scenario, on seeds S, S+1, …, S+N−1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        runs: u32,
        /// The first seed S (default: each scenario's own seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Write a JUnit XML report here (after every run, all at once).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Print the results as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print only failed expectations.
        #[arg(long)]
        quiet: bool,
    },
}

/// Runs the command line `args`, writing to stdout/stderr; returns the exit code.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(help_args(args)) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_BAD_INPUT } else { 0 };
        }
    };
    match cli.command {
        Command::Run {
            scenario,
            manifest,
            traffic,
            out,
            seed,
            quiet,
            force,
            no_plots,
        } => match scenario.or(traffic) {
            Some(path) => cmd_run(&path, &manifest, out, seed, quiet, force, !no_plots),
            None => EXIT_BAD_INPUT,
        },
        Command::Explain { manifest, traffic } => {
            crate::manifest::explain_cmd(&manifest, traffic.as_deref())
        }
        Command::Validate { scenarios } => cmd_validate(&scenarios),
        Command::Compare(args) => crate::compare::cmd_compare(&args),
        Command::Sweep(args) => crate::sweep::cmd_sweep(&args),
        Command::Merge(args) => crate::sweep::cmd_merge(&args),
        Command::Power(args) => crate::power::cmd_power(&args),
        Command::Heatmap(args) => crate::sweep::cmd_heatmap(&args),
        Command::Plan {
            scenario,
            json,
            seed,
        } => cmd_plan(&scenario, json, seed),
        Command::Check {
            scenarios,
            runs,
            seed,
            junit,
            json,
            quiet,
        } => crate::check::check(&crate::check::CheckArgs {
            scenarios,
            runs,
            seed,
            junit,
            json,
            quiet,
        }),
    }
}

/// `rollsim help --help` (and `help run --help`) would be an error in clap, which reads
/// `--help` as the name of a subcommand to describe; after `help`, a help flag is dropped.
/// Whether the command line `args` (`rollsim` first) is accepted by the argument parser,
/// without running anything; `Err` holds the parser's message. For tests of the command lines
/// the documentation shows.
pub fn parses<I, T>(args: I) -> Result<(), String>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(help_args(args))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn help_args<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if args.get(1).is_some_and(|a| a == "help") {
        let mut kept = args[..2].to_vec();
        kept.extend(
            args[2..]
                .iter()
                .filter(|a| *a != "--help" && *a != "-h")
                .cloned(),
        );
        return kept;
    }
    args
}

/// Validates every file, reporting each one's problems; exit 2 if any is bad.
fn cmd_validate(paths: &[PathBuf]) -> u8 {
    let mut code = 0;
    for path in paths {
        match load(path) {
            // The same size limit as `run`: never "ok" for a scenario `run` refuses.
            Ok(s) => match check_size(path, &s, false) {
                Err(msg) => {
                    eprintln!("{msg}");
                    code = EXIT_BAD_INPUT;
                }
                Ok(_) => {
                    println!(
                        "{}: ok ({} versions, {} replicas, strategy {}, ~{:.0} requests)",
                        path.display(),
                        s.versions.len(),
                        s.deployment.replicas,
                        s.strategy_name(),
                        s.expected_requests()
                    );
                    // A file's [[variant]]s are checked as `compare` would run them.
                    if let Err(c) = crate::compare::validate_variants(path) {
                        code = c;
                    }
                }
            },
            Err(c) => code = c,
        }
    }
    if paths.len() > 1 && code != 0 {
        eprintln!("error: some scenarios have problems (see above)");
    }
    code
}

fn load(path: &Path) -> Result<Scenario, u8> {
    load_with(path, true)
}

/// Loads a scenario, printing its problems (then `Err(2)`) or, if `warn`, its warnings.
fn load_with(path: &Path, warn: bool) -> Result<Scenario, u8> {
    load_manifests(path, &[], warn)
}

/// `load_with`, with manifests from the command line; their unmodelled fields are warnings.
fn load_manifests(path: &Path, manifests: &[PathBuf], warn: bool) -> Result<Scenario, u8> {
    let s = Scenario::load_with_manifests(path, manifests).map_err(|e| {
        eprint!("{e}");
        let n = e.diagnostics.len();
        if n > 1 {
            eprintln!("{n} problems in {}", path.display());
        }
        EXIT_BAD_INPUT
    })?;
    if warn {
        let file = path.display().to_string();
        for w in &s.warnings {
            eprintln!("warning: {}", w.located(&file));
        }
        for (f, u) in s.manifest.iter().flat_map(|m| &m.0.unmodelled) {
            eprintln!(
                "warning: {f}:{}: {} is not modelled: {}",
                u.line, u.field, u.message
            );
        }
    }
    Ok(s)
}

/// How a run shows its progress on stderr (never on stdout, never in the outputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    Silent,
    Bar,
    Lines,
}

pub(crate) fn progress_mode(quiet: bool, estimate: &Estimate) -> Progress {
    if quiet {
        return Progress::Silent;
    }
    if std::env::var(PROGRESS_ENV).is_ok_and(|v| v == "lines") {
        return Progress::Lines;
    }
    if std::io::stderr().is_terminal() && estimate.wall_s >= SHOW_PROGRESS_AFTER_S {
        Progress::Bar
    } else if estimate.wall_s >= PROGRESS_LINES_AFTER_S {
        Progress::Lines
    } else {
        Progress::Silent
    }
}

/// Hooks a progress display on `sim`; returns the bar to clear when the run ends.
fn show_progress(
    sim: &mut Simulation,
    mode: Progress,
    end: crate::engine::SimTime,
) -> Option<indicatif::ProgressBar> {
    let total = end.as_secs_f64().ceil().max(1.0) as u64;
    match mode {
        Progress::Silent => None,
        Progress::Bar => {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "[{bar:30}] {pos}/{len} s simulated, ~{eta} left",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            let b = bar.clone();
            sim.on_progress(move |t| b.set_position((t.as_secs_f64() as u64).min(total)));
            Some(bar)
        }
        Progress::Lines => {
            let started = Instant::now();
            let mut next = 10;
            sim.on_progress(move |t| {
                let pct = (t.as_secs_f64() * 100.0 / total as f64) as u64;
                if pct >= next && next <= 100 {
                    eprintln!(
                        "progress   {pct:>3}%: {:.0} of {total} s simulated, {:.1} s wall",
                        t.as_secs_f64(),
                        started.elapsed().as_secs_f64()
                    );
                    next = pct / 10 * 10 + 10;
                }
            });
            None
        }
    }
}

fn cmd_run(
    path: &Path,
    manifests: &[PathBuf],
    out: Option<PathBuf>,
    seed: Option<u64>,
    quiet: bool,
    force: bool,
    plots: bool,
) -> u8 {
    let mut scenario = match load_manifests(path, manifests, !quiet) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    let estimate = match check_size(path, &scenario, force) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("{msg}");
            return EXIT_BAD_INPUT;
        }
    };
    // The output folder is checked before any simulated second is spent.
    let dir = out.unwrap_or_else(|| PathBuf::from("outputs").join(&scenario.name));
    let set = match report::OutputSet::prepare(&dir) {
        Ok(set) => set,
        Err(e) => return cannot_write(&dir, &e),
    };
    let mode = progress_mode(quiet, &estimate);
    if mode != Progress::Silent || (force && !quiet) {
        eprintln!("estimate   {}: {}", path.display(), estimate.line());
    }
    let started = Instant::now();
    let mut sim = Simulation::new(&scenario);
    let bar = show_progress(&mut sim, mode, scenario.traffic.end);
    let result = sim.run();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let output = match result {
        Ok(output) => output,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return 1;
        }
    };
    let wall = started.elapsed().as_secs_f64();
    // Plots and report.html are drawn after the run, from its results only.
    let files = match report::run_output_files(
        &output,
        &report::html::ScenarioText::read(path, scenario.description.as_deref()).about(),
        plots,
    ) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return EXIT_IO;
        }
    };
    let written = match set.commit(&files) {
        Ok(w) => w,
        Err(e) => return cannot_write(&dir, &e),
    };
    if !quiet {
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, "{}", report::summary_text(&output.summary));
        let s = &output.summary;
        let _ = writeln!(
            stdout,
            "speed      {:.2} s wall: {:.2} M events/s, {:.2} M requests/s",
            wall,
            s.events_processed as f64 / wall.max(1e-9) / 1e6,
            s.requests.total as f64 / wall.max(1e-9) / 1e6
        );
        if let Some(line) = serde_json::to_value(s)
            .ok()
            .and_then(|v| crate::check::expect_line(&scenario, &v))
        {
            let _ = writeln!(stdout, "{line}");
        }
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        let _ = writeln!(stdout, "wrote      {}", names.join(", "));
    }
    0
}

pub(crate) fn cannot_write(dir: &Path, e: &std::io::Error) -> u8 {
    eprintln!(
        "error: cannot write outputs to {}: {e}\n  = help: choose a new or writable folder with --out",
        dir.display()
    );
    EXIT_IO
}

fn cmd_plan(path: &Path, json: bool, seed: Option<u64>) -> u8 {
    let mut scenario = match load(path) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    let names = scenario.version_names();
    let flag = scenario
        .flag
        .as_ref()
        .map(|f| report::flag_schedule(f, &names));
    let (limits, plan) = match &scenario.rollout {
        Some(rollout) => {
            let mut controller = scenario.build_controller();
            let limits = controller.limits();
            let setup = PlanSetup {
                from: scenario.deployment.initial,
                to: rollout.target,
                start: rollout.at,
                undo_at: rollout.undo_at,
                end: Some(scenario.traffic.end),
                capacity: Some(scenario.cluster.capacity()),
                linger: scenario
                    .versions
                    .iter()
                    .map(|v| v.pod.pre_stop.min(v.pod.grace))
                    .collect(),
                names: names.clone(),
            };
            (limits, Some(plan(controller.as_mut(), &setup)))
        }
        None => (vec![], None),
    };
    let out = if json {
        let doc = serde_json::json!({
            "scenario": scenario.name,
            "strategy": scenario.strategy_name(),
            "replicas": scenario.deployment.replicas,
            "from": names[scenario.deployment.initial.index()],
            "to": scenario.rollout.as_ref().map(|r| names[r.target.index()].clone()),
            "start_s": scenario.rollout.as_ref().map(|r| r.at.as_secs_f64()),
            "assumptions": report::PLAN_ASSUMPTIONS,
            "limits": limits.iter().map(|l| (l.key.to_string(), l.value.clone())).collect::<serde_json::Map<_, _>>(),
            "steps": plan.as_ref().map(|p| &p.steps),
            "notes": plan.as_ref().map(|p| &p.notes),
            "peak_pods": plan.as_ref().map(|p| p.peak_pods),
            "peak_pods_incl_terminating": plan.as_ref().map(|p| p.peak_pods_incl_terminating),
            "flag": flag,
        });
        format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).expect("plan serialises")
        )
    } else {
        let mut text = String::new();
        if let (Some(rollout), Some(plan)) = (&scenario.rollout, &plan) {
            let header = format!(
                "plan for {}: {} with {} replicas, {} → {} from {} s",
                path.display(),
                scenario.strategy_name(),
                scenario.deployment.replicas,
                names[scenario.deployment.initial.index()],
                names[rollout.target.index()],
                rollout.at.as_secs_f64()
            );
            text.push_str(&report::plan_text(&header, &limits, plan));
        }
        if scenario.rollout.is_none() {
            text.push_str(&format!(
                "plan for {}: {}, no pod rollout ({} replicas of {} throughout)\n",
                path.display(),
                scenario.strategy_name(),
                scenario.deployment.replicas,
                names[scenario.deployment.initial.index()]
            ));
        }
        if let Some(flag) = &flag {
            text.push_str(&report::flag_text(flag));
        }
        text
    };
    // A closed pipe (`rollsim plan x | head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    0
}
