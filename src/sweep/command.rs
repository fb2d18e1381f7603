//! The `sweep` command: arguments, every point validated, the output folder checked (or
//! resumed), then the runs in parallel, each row appended as its run ends.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::heat::{self, check_names, parse_heatmap_arg, HeatSpec};
use super::key::{self, resolve_shard, row_key, sweep_id, Shard, SHARD_HELP};
use super::set::{grid_len, indices, parse_set, Param, MAX_POINTS};
use super::table::{self, canonical, parse_rows, Rows};
use crate::cli::{progress_mode, Estimate, EXIT_BAD_INPUT, EXIT_IO};
use crate::compare::{all_metrics, run_seed, Shared};
use crate::scenario::{resolve_with_overrides, Diagnostic, Override, Scenario};
use crate::sim::Simulation;

/// The rows.
pub const SWEEP_FILE: &str = "sweep.csv";
/// What sweep the rows belong to.
pub const META_FILE: &str = "sweep.json";

/// `rollsim sweep`'s arguments.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// PATH=V1,V2,… or PATH=A..B:STEP (both ends included; numbers, or numbers with one unit
    /// such as 10s..60s:10s). Repeat for a grid; the first varies slowest.
    #[arg(long = "set", required = true, value_name = "PATH=VALUES")]
    pub set: Vec<String>,
    /// Runs per point, on seeds S, S+1, …, S+N−1 (S: the scenario's seed, or --seed).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder (default: outputs/<file stem>-sweep, or …-sweep-shard-I-of-N).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run slice I of N (0-based), points p with p mod N = I. Default: JOB_COMPLETION_INDEX
    /// or SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN when set, with N from --shards.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// N for an index taken from the environment (else ROLLSIM_SHARDS or
    /// SLURM_ARRAY_TASK_COUNT).
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Start over in a folder holding another sweep's rows (they are replaced).
    #[arg(long)]
    pub force: bool,
    /// After the sweep, draw a heat map of METRIC (a sweep.csv metric column) over the swept
    /// parameters X and Y, each cell the mean of its rows, into the output folder (SVG and
    /// PNG). Repeatable.
    #[arg(long = "heatmap", value_name = "X,Y,METRIC")]
    pub heatmap: Vec<String>,
}

/// `sweep.json`: which sweep and which slice of it a folder's rows belong to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The sweep's id (`key::sweep_id`).
    pub sweep_id: String,
    /// rollsim's version.
    pub rollsim: String,
    /// The scenario file, as given.
    pub scenario: String,
    /// The `--set` arguments.
    pub set: Vec<String>,
    /// Runs per point.
    pub runs: u32,
    /// The `--seed` given, if any.
    pub seed: Option<u64>,
    /// Points in the whole grid.
    pub points: u64,
    /// The slice in this folder (`None`: the whole grid).
    pub shard: Option<Shard>,
}

pub(super) fn bad(msg: &str, help: &str) -> u8 {
    eprintln!("error: {msg}\n  = help: {help}");
    EXIT_BAD_INPUT
}

/// A `--set` problem, placed on its argument: the point's line `path = value` with a caret.
/// Returns (the problem without the rest of the point, to tell problems apart; as shown,
/// naming the other values of the point when there are any).
fn on_argument(mut d: Diagnostic, i: usize, params: &[Param], idx: &[usize]) -> (String, String) {
    let p = &params[i];
    let value = &p.values[idx[i]];
    let message = d.message.clone();
    d.file = format!("--set argument {}", i + 1);
    if d.line > 0 {
        d.line = 1;
    }
    d.help.get_or_insert_with(|| {
        "change the value (written as in the scenario's TOML: 3, 0.5, \"30s\", \"25%\")".into()
    });
    d.message = format!(
        "--set {} (argument {}), value `{value}`: {message}",
        p.arg,
        i + 1
    );
    let key = d.to_string();
    let others: Vec<String> = params
        .iter()
        .zip(idx)
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, (q, &k))| format!("{}={}", q.path, q.values[k]))
        .collect();
    if !others.is_empty() {
        d.message = format!(
            "--set {} (argument {}), value `{value}` (with {}): {message}",
            p.arg,
            i + 1,
            others.join(" ")
        );
    }
    (key, d.to_string())
}

/// A point's scenario if in the shard, or its problems as (what tells them apart, rendered).
type PointResult = Result<Option<(u64, Scenario)>, Vec<(String, String)>>;

/// The validated scenario of every point of `shard` (others are validated and dropped), or
/// every distinct problem rendered.
fn scenarios(
    file: &str,
    stem: &str,
    text: &str,
    params: &[Param],
    shard: Shard,
) -> Result<Vec<(u64, Scenario)>, Vec<String>> {
    let points = grid_len(params);
    let found: Vec<PointResult> = (0..points)
        .into_par_iter()
        .map(|p| {
            let idx = indices(params, p);
            let sets: Vec<Override> = params
                .iter()
                .zip(&idx)
                .map(|(q, &i)| Override {
                    path: q.path.clone(),
                    value: q.toml[i].clone(),
                })
                .collect();
            match resolve_with_overrides(file, stem, text, &sets) {
                Ok(s) => Ok(shard.has(p).then_some((p, s))),
                Err(ds) => Err(ds
                    .into_iter()
                    .map(|(at, d)| match at {
                        Some(i) => on_argument(d, i, params, &idx),
                        None => {
                            let plain = d.to_string();
                            let with: Vec<String> = params
                                .iter()
                                .zip(&idx)
                                .map(|(q, &i)| format!("{}={}", q.path, q.values[i]))
                                .collect();
                            let mut d = d;
                            d.message = format!("with --set {}: {}", with.join(" "), d.message);
                            (plain, d.to_string())
                        }
                    })
                    .collect()),
            }
        })
        .collect();
    let mut ok = Vec::new();
    // Each distinct problem once, with how many points have it.
    let mut errors: Vec<(String, String, usize)> = Vec::new();
    for r in found {
        match r {
            Ok(Some(s)) => ok.push(s),
            Ok(None) => {}
            Err(es) => {
                for (key, shown) in es {
                    match errors.iter_mut().find(|e| e.0 == key) {
                        Some(e) => e.2 += 1,
                        None => errors.push((key, shown, 1)),
                    }
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors
            .into_iter()
            .map(|(_, shown, n)| {
                if n > 1 {
                    format!(
                        "{shown}  (and at {} more grid point{})\n",
                        n - 1,
                        if n == 2 { "" } else { "s" }
                    )
                } else {
                    shown
                }
            })
            .collect())
    }
}

/// What the output folder holds.
enum Folder {
    /// Nothing of ours: start.
    Fresh,
    /// This sweep's rows (complete lines) to skip.
    Resume(Rows),
}

/// Checks the output folder before anything is run or written.
fn check_folder(dir: &Path, meta: &Meta, header: &str, force: bool) -> Result<Folder, String> {
    if !dir.exists() {
        return Ok(Folder::Fresh);
    }
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let meta_path = dir.join(META_FILE);
    let csv_path = dir.join(SWEEP_FILE);
    let Ok(old) = std::fs::read_to_string(&meta_path) else {
        let foreign: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != SWEEP_FILE)
            .collect();
        if !foreign.is_empty() {
            return Err(format!(
                "{} is not a sweep's folder (it holds {}); pick an empty or new --out",
                dir.display(),
                foreign.join(", ")
            ));
        }
        if csv_path.exists() && !force {
            return Err(format!(
                "{} holds a {SWEEP_FILE} without its {META_FILE}; pass --force to replace it, or pick another --out",
                dir.display()
            ));
        }
        return Ok(Folder::Fresh);
    };
    let same = serde_json::from_str::<Meta>(&old).is_ok_and(|m| m == *meta);
    if !same {
        if force {
            return Ok(Folder::Fresh);
        }
        return Err(format!(
            "{} holds another sweep's rows (its {META_FILE} differs: another scenario, --set, --runs, --seed, shard or rollsim version); pass --force to replace them, or pick another --out",
            dir.display()
        ));
    }
    let text = match std::fs::read(&csv_path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => return Ok(Folder::Fresh),
    };
    let rows = parse_rows(&text).map_err(|e| format!("{}: {e}", csv_path.display()))?;
    if rows.header.as_deref().is_some_and(|h| h != header) {
        return Err(format!(
            "{}'s header is not this sweep's; pass --force to replace it",
            csv_path.display()
        ));
    }
    Ok(Folder::Resume(rows))
}

/// `rollsim sweep`.
pub fn cmd_sweep(args: &SweepArgs) -> u8 {
    let path = &args.scenario;
    let file = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return bad(
                &format!("cannot read the scenario file {file}: {e}"),
                "check the path; scenarios ship in scenarios/",
            )
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return bad(
            &format!("{file} is not UTF-8 text"),
            "save the scenario as UTF-8",
        );
    };
    let stem = path
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let mut params = Vec::new();
    for (i, arg) in args.set.iter().enumerate() {
        match parse_set(arg) {
            Ok(p) => {
                if params.iter().any(|q: &Param| q.path == p.path) {
                    return bad(
                        &format!(
                            "--set {arg} (argument {}): `{}` is set twice",
                            i + 1,
                            p.path
                        ),
                        "give each path once, with all its values: --set PATH=V1,V2",
                    );
                }
                params.push(p);
            }
            Err(e) => {
                return bad(
                    &format!("--set {arg} (argument {}): {}", i + 1, e.message),
                    &e.help,
                )
            }
        }
    }
    let mut heatmaps = Vec::new();
    let paths: Vec<&str> = params.iter().map(|p| p.path.as_str()).collect();
    let metric_keys: Vec<&str> = all_metrics().iter().map(|m| m.key).collect();
    for arg in &args.heatmap {
        match parse_heatmap_arg(arg).and_then(|h| check_names(&h, &paths, &metric_keys).map(|()| h))
        {
            Ok(h) => heatmaps.push(h),
            Err(e) => return bad(&format!("--heatmap {arg}: {}", e.message), &e.help),
        }
    }
    let points = grid_len(&params);
    if points > MAX_POINTS {
        return bad(
            &format!("the grid has {points} points, above {MAX_POINTS}"),
            "use fewer values or larger steps, or split the sweep",
        );
    }
    let env = |name: &str| std::env::var(name).ok();
    let shard = match resolve_shard(args.shard.as_deref(), args.shards, &env) {
        Ok(s) => s,
        Err(e) => return bad(&format!("--shard: {e}"), SHARD_HELP),
    };
    let mut runs = match scenarios(&file, &stem, text, &params, shard.unwrap_or(Shard::ALL)) {
        Ok(r) => r,
        Err(errors) => {
            let n = errors.len();
            for e in errors.iter().take(10) {
                eprint!("{e}");
            }
            if n > 10 {
                eprintln!("… and {} more problems", n - 10);
            }
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(seed) = args.seed {
        for (_, s) in &mut runs {
            s.seed = seed;
        }
    }
    let meta = Meta {
        sweep_id: sweep_id(&bytes, &args.set, args.runs, args.seed),
        rollsim: key::VERSION.into(),
        scenario: file.clone(),
        set: args.set.clone(),
        runs: args.runs,
        seed: args.seed,
        points,
        shard,
    };
    let header = table::header(&params);
    let dir = args.out.clone().unwrap_or_else(|| {
        let name = match shard {
            Some(s) => format!("{stem}-sweep-shard-{}-of-{}", s.index, s.count),
            None => format!("{stem}-sweep"),
        };
        PathBuf::from("outputs").join(name)
    });
    let folder = match check_folder(&dir, &meta, &header, args.force) {
        Ok(f) => f,
        Err(e) => {
            return bad(
                &e,
                "a sweep resumes in its own folder; merged or other outputs belong elsewhere",
            )
        }
    };
    let code = execute(args, &bytes, &dir, &meta, &header, &params, &runs, folder);
    if code != 0 {
        return code;
    }
    draw_heatmaps(&dir, &heatmaps, &params, args.quiet)
}

/// Draws each `--heatmap` from the finished `sweep.csv` into `dir`.
fn draw_heatmaps(dir: &Path, heatmaps: &[HeatSpec], params: &[Param], quiet: bool) -> u8 {
    if heatmaps.is_empty() {
        return 0;
    }
    let csv_path = dir.join(SWEEP_FILE);
    let text = match std::fs::read(&csv_path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", csv_path.display());
            return EXIT_IO;
        }
    };
    for h in heatmaps {
        match heat::draw(&text, h, Some(params), &dir.join(heat::file_stem(h))) {
            Ok([svg, png]) => {
                if !quiet {
                    println!("wrote      {} and {}", svg.display(), png.display());
                }
            }
            Err((code, e)) => {
                eprintln!("error: heat map {}: {}", heat::file_stem(h), e.message);
                return code;
            }
        }
    }
    0
}

/// Writes `sweep.json`, opens `sweep.csv` (resuming it), runs what is missing, and puts the
/// file in canonical order once complete.
#[allow(clippy::too_many_arguments)]
fn execute(
    args: &SweepArgs,
    bytes: &[u8],
    dir: &Path,
    meta: &Meta,
    header: &str,
    params: &[Param],
    runs: &[(u64, Scenario)],
    folder: Folder,
) -> u8 {
    let csv_path = dir.join(SWEEP_FILE);
    let io = |e: std::io::Error| {
        eprintln!("error: cannot write {}: {e}", dir.display());
        EXIT_IO
    };
    let meta_json = serde_json::to_string_pretty(meta).unwrap_or_default() + "\n";
    if let Err(e) = std::fs::create_dir_all(dir)
        .and_then(|()| table::write_atomic(&dir.join(META_FILE), &meta_json))
    {
        return io(e);
    }
    let done = match folder {
        Folder::Fresh => {
            if let Err(e) = std::fs::write(&csv_path, format!("{header}\n")) {
                return io(e);
            }
            // Heat maps of the sweep replaced (--force) would show rows that are gone.
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("heatmap-")
                    && (name.ends_with(".svg") || name.ends_with(".png"))
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
            Rows::default()
        }
        Folder::Resume(rows) => rows,
    };
    let opened = OpenOptions::new()
        .write(true)
        .open(&csv_path)
        .and_then(|f| {
            if done.complete_len > 0 {
                // A trailing partial line (a run killed mid-write) is cut off.
                f.set_len(done.complete_len)?;
            } else {
                f.set_len(0)?;
                (&f).write_all(format!("{header}\n").as_bytes())?;
            }
            Ok(f)
        });
    let out = match opened {
        Ok(f) => OpenOptions::new().append(true).open(&csv_path).map(|a| {
            drop(f);
            Mutex::new(a)
        }),
        Err(e) => Err(e),
    };
    let out = match out {
        Ok(o) => o,
        Err(e) => return io(e),
    };
    let metrics = all_metrics();
    let mut jobs = Vec::new();
    for (j, (p, s)) in runs.iter().enumerate() {
        let idx = indices(params, *p);
        let assign: Vec<(&str, &str)> = params
            .iter()
            .zip(&idx)
            .map(|(q, &i)| (q.path.as_str(), q.values[i].as_str()))
            .collect();
        for k in 0..args.runs {
            let seed = run_seed(s.seed, k);
            let key = row_key(bytes, &assign, seed);
            if !done.by_key.contains_key(&key) {
                jobs.push((j, k, seed, key));
            }
        }
    }
    let skipped = runs.len() * args.runs as usize - jobs.len();
    let total = runs.iter().map(|(_, s)| Estimate::of(s)).fold(
        Estimate {
            requests: 0.0,
            events: 0.0,
            wall_s: 0.0,
        },
        |a, e| Estimate {
            requests: a.requests + e.requests,
            events: a.events + e.events,
            wall_s: a.wall_s + e.wall_s,
        },
    );
    let mut total = total;
    total.wall_s *= f64::from(args.runs) / rayon::current_num_threads().max(1) as f64;
    let mode = progress_mode(args.quiet, &total);
    let secs: u64 = jobs
        .iter()
        .map(|(j, ..)| runs[*j].1.traffic.end.as_secs_f64().ceil() as u64)
        .sum();
    let progress = Shared::start(mode, secs);
    let started = Instant::now();
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    jobs.par_iter().for_each(|(j, k, seed, key)| {
        let (p, base) = &runs[*j];
        let mut s = base.clone();
        s.seed = *seed;
        let mut sim = Simulation::new(&s);
        progress.hook(&mut sim);
        let fail = |m: String| {
            if let Ok(mut f) = failures.lock() {
                f.push(m);
            }
        };
        match sim.run() {
            Err(e) => fail(format!("point {p} (seed {seed}): {e}")),
            Ok(run) => {
                let idx = indices(params, *p);
                let values: Vec<&str> = params
                    .iter()
                    .zip(&idx)
                    .map(|(q, &i)| q.values[i].as_str())
                    .collect();
                let bad = s.new_variants().iter().any(|v| s.versions[v.index()].bad);
                let id = table::RowId {
                    key,
                    point: *p,
                    run: *k,
                    seed: *seed,
                };
                let line = table::row(id, &values, &run.summary, bad, &metrics);
                // One write of the whole line, then a flush: a kill leaves whole rows.
                let written = out
                    .lock()
                    .map_err(|_| std::io::Error::other("a writer panicked"))
                    .and_then(|mut f| {
                        f.write_all(line.as_bytes())?;
                        f.flush()
                    });
                if let Err(e) = written {
                    fail(format!("cannot write {}: {e}", csv_path.display()));
                }
            }
        }
    });
    progress.finish();
    drop(out);
    let failures = failures.into_inner().unwrap_or_default();
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("error: {f}");
        }
        eprintln!(
            "{} of {} runs failed; the other rows are in {}; run the same command again to retry the missing ones",
            failures.len(),
            jobs.len(),
            csv_path.display()
        );
        return 1;
    }
    // Complete: the canonical order (point, then run).
    let text = std::fs::read(&csv_path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(io);
    let rows = match text.map(|t| parse_rows(&t)) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            eprintln!("error: {}: {e}", csv_path.display());
            return EXIT_IO;
        }
        Err(code) => return code,
    };
    if let Err(e) = table::write_atomic(&csv_path, &canonical(header, &rows)) {
        return io(e);
    }
    if !args.quiet {
        let shard = meta.shard.map_or(String::new(), |s| {
            format!(", shard {}/{}", s.index, s.count)
        });
        println!(
            "sweep      {} points × {} runs{shard}: ran {} in {:.2} s wall on {} threads, {skipped} already written",
            runs.len(),
            args.runs,
            jobs.len(),
            started.elapsed().as_secs_f64(),
            rayon::current_num_threads()
        );
        println!(
            "wrote      {} and {}",
            csv_path.display(),
            dir.join(META_FILE).display()
        );
    }
    0
}
