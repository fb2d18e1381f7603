//! The `compare` command: every input and the output folder are checked before the first
//! simulated second; then the runs go in parallel, each writing its own files into the output
//! folder's staging area as it ends; the comparison's files complete the set, which replaces
//! the output folder as a whole (`report::OutputSet`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;

use super::{
    comparison_csv, comparison_json, comparison_text, run_all, traffic_differences, Comparison,
    Input, Observer,
};
use crate::cli::{
    cannot_write, check_size, progress_mode, Estimate, Progress, EXIT_BAD_INPUT, EXIT_IO,
};
use crate::report::html::{Figure, ScenarioText};
use crate::report::plots::{comparison_plot_files, COMPARISON_PLOT_FILES, PLOT_FILES};
use crate::report::{self, OutputSet, RUN_FILES};
use crate::scenario::Scenario;
use crate::sim::{RunOutput, Simulation};

/// The comparison's own files in its output folder (with its charts,
/// `plots::COMPARISON_PLOT_FILES`, unless `--no-plots`).
pub const COMPARISON_FILES: [&str; 3] = ["comparison.json", "comparison.csv", "report.html"];

/// `rollsim compare`'s arguments.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Scenario files (TOML): two or more, or one with [[variant]] tables. The first run is
    /// the baseline.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Output folder (default: outputs/<file stem>-comparison for one file, else
    /// outputs/comparison).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Runs per variant, on seeds S, S+1, …, S+N−1 (S: each scenario's seed, or --seed);
    /// each cell is then a mean with a 95 % interval.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub seeds: u32,
    /// Refuse (exit 2) when the runs would not see identical traffic.
    #[arg(long)]
    pub strict: bool,
    /// Override every scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Run even if a scenario would simulate more than a billion requests.
    #[arg(long)]
    pub force: bool,
    /// Write no plots (SVG/PNG), neither the comparison's nor each run's; the report.html
    /// pages are still written, without charts.
    #[arg(long)]
    pub no_plots: bool,
}

const USAGE: &str =
    "usage: rollsim compare A.toml B.toml … [--out DIR] [--seeds N] [--strict], or rollsim compare FILE.toml with [[variant]] tables";

/// Loads every file (all of their problems are printed), one input per variant or per file
/// without variants.
fn load_inputs(paths: &[PathBuf], quiet: bool) -> Result<Vec<Input>, u8> {
    let mut inputs = Vec::new();
    let mut bad = false;
    for path in paths {
        let file = path.display().to_string();
        match Scenario::load_variants(path) {
            Err(e) => {
                eprint!("{e}");
                let n = e.diagnostics.len();
                if n > 1 {
                    eprintln!("{n} problems in {file}");
                }
                bad = true;
            }
            Ok(v) => {
                let text = ScenarioText::read(path, None);
                let runs = if v.variants.is_empty() {
                    vec![v.base]
                } else {
                    v.variants
                };
                if !quiet {
                    print_warnings(&file, &runs);
                }
                inputs.extend(runs.into_iter().map(|scenario| Input {
                    name: scenario.name.clone(),
                    file: file.clone(),
                    source: ScenarioText {
                        description: scenario.description.clone(),
                        ..text.clone()
                    },
                    scenario,
                }));
            }
        }
    }
    if bad {
        Err(EXIT_BAD_INPUT)
    } else {
        Ok(inputs)
    }
}

/// `validate`'s check of a file's `[[variant]]`s (its base already passed): every problem
/// printed, then exit 2; or a line naming the variants.
pub fn validate_variants(path: &Path) -> Result<(), u8> {
    let file = path.display().to_string();
    let v = match Scenario::load_variants(path) {
        Ok(v) => v,
        Err(e) => {
            eprint!("{e}");
            let n = e.diagnostics.len();
            if n > 1 {
                eprintln!("{n} problems in the variants of {file}");
            }
            return Err(EXIT_BAD_INPUT);
        }
    };
    for s in &v.variants {
        if let Err(msg) = check_size(path, s, false) {
            eprintln!("{msg} (variant {})", s.name);
            return Err(EXIT_BAD_INPUT);
        }
    }
    if !v.variants.is_empty() {
        print_warnings(&file, &v.variants);
        let names: Vec<&str> = v.variants.iter().map(|s| s.name.as_str()).collect();
        println!(
            "{file}: {} variants ok ({}); run them with `rollsim compare {file}`",
            names.len(),
            names.join(", ")
        );
    }
    Ok(())
}

/// Each distinct warning of a file's runs once, naming the variants it concerns unless it
/// concerns them all.
fn print_warnings(file: &str, runs: &[Scenario]) {
    let mut seen: IndexMap<String, Vec<&str>> = IndexMap::new();
    for s in runs {
        for w in &s.warnings {
            seen.entry(w.located(file)).or_default().push(&s.name);
        }
    }
    for (w, names) in seen {
        if names.len() == runs.len() {
            eprintln!("warning: {w}");
        } else {
            eprintln!("warning: {w} (variant {})", names.join(", "));
        }
    }
}

/// An entry of a comparison folder rollsim wrote: its files, and run folders holding only a
/// run's files (or seed folders that do).
fn ours(p: &Path) -> bool {
    fn run_dir(p: &Path) -> bool {
        if p.is_dir() {
            std::fs::read_dir(p).is_ok_and(|mut d| d.all(|e| e.is_ok_and(|e| run_dir(&e.path()))))
        } else {
            p.file_name()
                .is_some_and(|n| RUN_FILES.iter().chain(PLOT_FILES.iter()).any(|f| n == *f))
        }
    }
    let top = p.file_name().is_some_and(|n| {
        COMPARISON_FILES
            .iter()
            .chain(COMPARISON_PLOT_FILES.iter())
            .any(|f| n == *f)
    });
    top || (p.is_dir() && run_dir(p))
}

/// Where run `seed` of `name` writes its files, relative to the output folder.
fn run_folder(name: &str, seeds: u32, seed: u64) -> PathBuf {
    if seeds == 1 {
        PathBuf::from(name)
    } else {
        Path::new(name).join(format!("seed-{seed}"))
    }
}

/// Simulated seconds of every run together, shown as one bar (or lines); `sweep` shares it.
pub(crate) struct Shared {
    mode: Progress,
    bar: Option<indicatif::ProgressBar>,
    done: AtomicU64,
    next_pct: AtomicU64,
    total: u64,
    started: Instant,
}

impl Shared {
    /// Progress over `secs` simulated seconds in all, shown as `mode` says.
    pub(crate) fn start(mode: Progress, secs: u64) -> Arc<Shared> {
        let bar = (mode == Progress::Bar).then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(secs.max(1)),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "[{bar:30}] {pos}/{len} s simulated (all runs), ~{eta} left",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Arc::new(Shared {
            mode,
            bar,
            done: AtomicU64::new(0),
            next_pct: AtomicU64::new(10),
            total: secs.max(1),
            started: Instant::now(),
        })
    }

    /// Counts `sim`'s simulated seconds as it runs.
    pub(crate) fn hook(self: &Arc<Self>, sim: &mut Simulation) {
        if self.mode == Progress::Silent {
            return;
        }
        let shared = Arc::clone(self);
        let mut last = 0u64;
        sim.on_progress(move |t| {
            let now = t.as_secs_f64() as u64;
            if now > last {
                shared.advance(now - last);
                last = now;
            }
        });
    }

    /// Clears the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn advance(&self, secs: u64) {
        let done = self.done.fetch_add(secs, Ordering::Relaxed) + secs;
        match self.mode {
            Progress::Bar => {
                if let Some(b) = &self.bar {
                    b.set_position(done.min(self.total));
                }
            }
            Progress::Lines => {
                let pct = done * 100 / self.total.max(1);
                let next = self.next_pct.load(Ordering::Relaxed);
                if pct >= next
                    && next <= 100
                    && self
                        .next_pct
                        .compare_exchange(
                            next,
                            pct / 10 * 10 + 10,
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                {
                    eprintln!(
                        "progress   {pct:>3}%: {done} of {} s simulated (all runs), {:.1} s wall",
                        self.total,
                        self.started.elapsed().as_secs_f64()
                    );
                }
            }
            Progress::Silent => {}
        }
    }
}

struct Writer<'a> {
    set: &'a OutputSet,
    inputs: &'a [Input],
    seeds: u32,
    plots: bool,
    progress: Arc<Shared>,
}

impl Observer for Writer<'_> {
    fn finished(&self, i: usize, k: u32, run: &RunOutput) -> Result<(), String> {
        let input = &self.inputs[i];
        let seed = super::run_seed(input.scenario.seed, k);
        let dir = run_folder(&input.name, self.seeds, seed);
        // The files `rollsim run` writes, drawn now from the run's results; the run (and its
        // recorder) is dropped right after.
        let files = report::run_output_files(run, &input.source.about(), self.plots)
            .map_err(|e| e.to_string())?;
        for (name, bytes) in files {
            self.set
                .stage(&dir.join(name), &bytes)
                .map_err(|e| format!("cannot write {}: {e}", dir.join(name).display()))?;
        }
        Ok(())
    }

    fn hook(&self, sim: &mut Simulation) {
        self.progress.hook(sim);
    }
}

/// Checks the inputs against each other: at least two runs, distinct names, identical traffic
/// (a warning, or with `strict` an error). Returns the warnings.
fn check_inputs(inputs: &[Input], strict: bool) -> Result<Vec<String>, String> {
    if inputs.len() < 2 {
        return Err(format!(
            "error: compare needs two or more runs, and {} gives {}\n  = help: pass two or more scenario files, or one file with [[variant]] tables (scenarios/compare-strategies.toml)\n  {USAGE}",
            inputs.first().map_or("nothing".into(), |i| i.file.clone()),
            if inputs.is_empty() { "none" } else { "one" }
        ));
    }
    for (j, b) in inputs.iter().enumerate() {
        if let Some(a) = inputs[..j]
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(&b.name))
        {
            return Err(format!(
                "error: two runs are named \"{}\" ({} and {}); each names a column and an output folder\n  = help: set `name = \"…\"` at the top of one scenario (or rename a [[variant]])",
                b.name, a.file, b.file
            ));
        }
    }
    let base = &inputs[0];
    let mut warnings = Vec::new();
    for other in &inputs[1..] {
        let d = traffic_differences(&base.scenario, &other.scenario);
        if !d.is_empty() {
            warnings.push(format!(
                "`{}` does not see the same traffic as the baseline `{}`: {} differ ({}); its differences mix the strategy's effect with the traffic's",
                other.name,
                base.name,
                d.len(),
                d.join(", ")
            ));
        }
    }
    if strict && !warnings.is_empty() {
        return Err(format!(
            "error: --strict: {}\n  = help: make [traffic], duration and seed equal in every scenario (--seed S sets every seed)",
            warnings.join("\nerror: --strict: ")
        ));
    }
    Ok(warnings)
}

/// The comparison's own files: `comparison.json`, `comparison.csv`, with `plots` its charts
/// (SVG and PNG), and `report.html` linking each variant's own report (its first seed's).
fn comparison_files(
    c: &Comparison,
    inputs: &[Input],
    seeds: u32,
    plots: bool,
) -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    let mut files = vec![
        (COMPARISON_FILES[0], comparison_json(c).into_bytes()),
        (COMPARISON_FILES[1], comparison_csv(c).into_bytes()),
    ];
    let mut figures = Vec::new();
    if plots {
        // The charts show each variant's first run (its first seed), as its folder does.
        let compared: Vec<_> = c
            .variants
            .iter()
            .filter_map(|v| Some((v.name.as_str(), v.summaries.first()?, &v.series)))
            .collect();
        let charts = comparison_plot_files(&compared).map_err(|e| e.to_string())?;
        for (name, bytes) in &charts {
            if name.ends_with(".svg") {
                figures.push(Figure {
                    title: chart_title(name, seeds > 1),
                    svg: String::from_utf8_lossy(bytes).into_owned(),
                });
            }
        }
        files.extend(charts);
    }
    let run_dirs: Vec<String> = c
        .variants
        .iter()
        .map(|v| {
            let seed = v.seeds.first().copied().unwrap_or_default();
            run_folder(&v.name, seeds, seed)
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let html = super::report::comparison_report(c, inputs, &run_dirs, &figures);
    files.push((COMPARISON_FILES[2], html.into_bytes()));
    Ok(files)
}

/// A comparison chart's caption in `report.html`.
fn chart_title(file: &str, first_seed_only: bool) -> String {
    let what = match file {
        "comparison-bars.svg" => {
            "What each variant cost: failures, mixed versions, exposure, money, time, latency"
        }
        "cost-risk.svg" => "Cost versus risk",
        "comparison-timelines.svg" => "Each variant's rollout: pods per version on one time axis",
        other => other,
    };
    if first_seed_only {
        format!("{what} (each variant's first seed)")
    } else {
        what.to_owned()
    }
}

/// `rollsim compare`.
pub fn cmd_compare(args: &CompareArgs) -> u8 {
    let mut inputs = match load_inputs(&args.scenarios, args.quiet) {
        Ok(i) => i,
        Err(code) => return code,
    };
    if let Some(seed) = args.seed {
        for i in &mut inputs {
            i.scenario.seed = seed;
        }
    }
    let warnings = match check_inputs(&inputs, args.strict) {
        Ok(w) => w,
        Err(msg) => {
            eprintln!("{msg}");
            return EXIT_BAD_INPUT;
        }
    };
    if !args.quiet {
        for w in &warnings {
            eprintln!("warning: {w}\n  = help: make [traffic], duration and seed equal (or pass --seed S); --strict refuses such comparisons");
        }
    }
    let mut total = Estimate {
        requests: 0.0,
        events: 0.0,
        wall_s: 0.0,
    };
    for i in &inputs {
        match check_size(Path::new(&i.file), &i.scenario, args.force) {
            Ok(e) => {
                let n = f64::from(args.seeds);
                total.requests += e.requests * n;
                total.events += e.events * n;
                total.wall_s += e.wall_s * n;
            }
            Err(msg) => {
                eprintln!("{msg}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    total.wall_s /= rayon::current_num_threads().max(1) as f64;
    // The output folder is checked before any simulated second is spent.
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| match &args.scenarios[..] {
            [one] => PathBuf::from("outputs").join(format!(
                "{}-comparison",
                one.file_stem()
                    .map_or("scenario".into(), |s| s.to_string_lossy())
            )),
            _ => PathBuf::from("outputs/comparison"),
        });
    let set = match OutputSet::prepare_owning(&dir, &ours) {
        Ok(set) => set,
        Err(e) => return cannot_write(&dir, &e),
    };
    let mode = progress_mode(args.quiet, &total);
    if mode != Progress::Silent || (args.force && !args.quiet) {
        eprintln!(
            "estimate   {} runs on {} threads: {}",
            inputs.len() * args.seeds as usize,
            rayon::current_num_threads(),
            total.line()
        );
    }
    let secs: u64 = inputs
        .iter()
        .map(|i| i.scenario.traffic.end.as_secs_f64().ceil() as u64)
        .sum::<u64>()
        * u64::from(args.seeds);
    let progress = Shared::start(mode, secs);
    let started = Instant::now();
    let writer = Writer {
        set: &set,
        inputs: &inputs,
        seeds: args.seeds,
        plots: !args.no_plots,
        progress: Arc::clone(&progress),
    };
    let result = run_all(&inputs, args.seeds, &writer);
    progress.finish();
    let variants = match result {
        Ok(v) => v,
        Err(f) => {
            eprintln!("error: {} (seed {}): {}", f.name, f.seed, f.message);
            return 1;
        }
    };
    let comparison = Comparison { variants, warnings };
    let files = match comparison_files(&comparison, &inputs, args.seeds, !args.no_plots) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_IO;
        }
    };
    let written = match set.commit(&files) {
        Ok(w) => w,
        Err(e) => return cannot_write(&dir, &e),
    };
    if !args.quiet {
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, "{}", comparison_text(&comparison));
        let _ = writeln!(
            stdout,
            "speed      {} runs in {:.2} s wall on {} threads",
            inputs.len() * args.seeds as usize,
            started.elapsed().as_secs_f64(),
            rayon::current_num_threads()
        );
        let names: Vec<String> = written
            .iter()
            .filter(|p| p.extension().is_none_or(|e| e != "png"))
            .map(|p| p.display().to_string())
            .collect();
        let _ = writeln!(
            stdout,
            "wrote      {}{}, and each run's {}{} in {}/<variant>/",
            names.join(", "),
            if args.no_plots {
                ""
            } else {
                " (and a PNG of each chart)"
            },
            RUN_FILES.join(", "),
            if args.no_plots { "" } else { " and plots" },
            dir.display()
        );
    }
    0
}
