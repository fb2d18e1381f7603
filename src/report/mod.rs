//! Reporting: turns a finished run into files and text. It reads results only.
//!
//! A run's files are one set: they are written into a staging folder beside the output folder,
//! and the staging folder then replaces the output folder (two renames in the same parent), so
//! `summary.json` and `timeseries.csv` always come from the same run and a failed or
//! interrupted run never leaves a half-written file for a CI job to misread. The output folder
//! is checked (created, written, renamed into) before the simulation starts, so a long run is
//! never thrown away for want of a writable folder.

mod csv;
pub mod html;
mod notice;
mod plan;
pub mod plots;
mod steps;
mod text;

pub use self::csv::timeseries_csv;
pub use self::notice::{notice_html, observations};
pub use self::plan::{flag_schedule, flag_text, plan_text, FlagPlan, PLAN_ASSUMPTIONS};
pub use self::steps::steps_section;
pub use self::text::summary_text;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::sim::RunOutput;

/// The summary as pretty-printed JSON (stable key order, trailing newline).
pub fn summary_json(run: &RunOutput) -> String {
    let mut s = serde_json::to_string_pretty(&run.summary).expect("summary serialises");
    s.push('\n');
    s
}

/// The files a run writes besides its plots (`plots::PLOT_FILES`); a folder holding anything
/// else is not replaced.
pub const RUN_FILES: [&str; 3] = ["summary.json", "timeseries.csv", "report.html"];

/// A run's output folder, checked before the simulation and replaced as a whole after it.
#[derive(Debug)]
pub struct OutputSet {
    dir: PathBuf,
    staging: PathBuf,
    retired: PathBuf,
    committed: bool,
}

fn refuse(msg: String) -> io::Error {
    io::Error::other(msg)
}

impl OutputSet {
    /// Checks that `dir` can receive a run's files: it is new, empty or holds only a previous
    /// run's files, and its parent accepts a staging folder that can be written. Keeps the
    /// staging folder for [`OutputSet::commit`] (it is removed if the set is dropped).
    pub fn prepare(dir: &Path) -> io::Result<OutputSet> {
        Self::prepare_owning(dir, &|p: &Path| {
            p.file_name().is_some_and(|n| {
                RUN_FILES
                    .iter()
                    .chain(plots::PLOT_FILES.iter())
                    .any(|f| n == *f)
            })
        })
    }

    /// As [`OutputSet::prepare`], for a folder whose entries rollsim wrote are those for
    /// which `ours` is true (`compare` writes a folder per run beside its own files).
    pub fn prepare_owning(dir: &Path, ours: &dyn Fn(&Path) -> bool) -> io::Result<OutputSet> {
        let name = dir
            .file_name()
            .filter(|n| *n != "." && *n != "..")
            .ok_or_else(|| {
                refuse(
                    "the output folder needs a name of its own (rollsim replaces it as a whole)"
                        .into(),
                )
            })?
            .to_string_lossy()
            .into_owned();
        if dir.exists() {
            if !dir.is_dir() {
                return Err(refuse("it exists and is not a folder".into()));
            }
            let mut others: Vec<String> = Vec::new();
            for e in fs::read_dir(dir)? {
                let p = e?.path();
                if !ours(&p) {
                    others.push(
                        p.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
            others.sort();
            if let Some(first) = others.first() {
                return Err(refuse(format!(
                    "it holds files rollsim did not write ({first}{}); rollsim replaces its output folder as a whole",
                    if others.len() > 1 { ", …" } else { "" }
                )));
            }
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)?;
        let pid = std::process::id();
        let staging = parent.join(format!(".{name}.rollsim-{pid}.tmp"));
        let retired = parent.join(format!(".{name}.rollsim-{pid}.old"));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir(&staging)?;
        let set = OutputSet {
            dir: dir.to_path_buf(),
            staging,
            retired,
            committed: false,
        };
        // Prove the staging folder takes a file before any simulated second is spent.
        let probe = set.staging.join(".probe");
        fs::File::create(&probe)?.write_all(b"rollsim")?;
        fs::remove_file(&probe)?;
        Ok(set)
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one file into the staging folder now (creating its folders), so a set of many
    /// runs need not hold every file in memory until [`OutputSet::commit`]; `rel` is relative
    /// to the output folder.
    pub fn stage(&self, rel: &Path, contents: &[u8]) -> io::Result<()> {
        let path = self.staging.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut f = fs::File::create(path)?;
        f.write_all(contents)?;
        f.sync_all()
    }

    /// Writes `files` (name, contents: text or bytes) into the staging folder, then puts it in
    /// the output folder's place; returns the paths of the files as they now are.
    pub fn commit<N: AsRef<str>, C: AsRef<[u8]>>(
        mut self,
        files: &[(N, C)],
    ) -> io::Result<Vec<PathBuf>> {
        for (name, contents) in files {
            let mut f = fs::File::create(self.staging.join(name.as_ref()))?;
            f.write_all(contents.as_ref())?;
            f.sync_all()?;
        }
        let had_previous = self.dir.exists();
        if had_previous {
            let _ = fs::remove_dir_all(&self.retired);
            fs::rename(&self.dir, &self.retired)?;
        }
        if let Err(e) = fs::rename(&self.staging, &self.dir) {
            if had_previous {
                let _ = fs::rename(&self.retired, &self.dir);
            }
            return Err(e);
        }
        self.committed = true;
        if had_previous {
            let _ = fs::remove_dir_all(&self.retired);
        }
        Ok(files
            .iter()
            .map(|(n, _)| self.dir.join(n.as_ref()))
            .collect())
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// The files of `run`: `summary.json` and `timeseries.csv`.
pub fn run_files(run: &RunOutput) -> Vec<(&'static str, String)> {
    vec![
        ("summary.json", summary_json(run)),
        ("timeseries.csv", timeseries_csv(run)),
    ]
}

/// The files of `run` with its plots (SVG and PNG of each chart, `plots::PLOT_FILES`).
pub fn run_files_with_plots(
    run: &RunOutput,
) -> Result<Vec<(&'static str, Vec<u8>)>, plots::PlotError> {
    let mut files: Vec<(&'static str, Vec<u8>)> = run_files(run)
        .into_iter()
        .map(|(n, c)| (n, c.into_bytes()))
        .collect();
    files.extend(plots::plot_files(run)?);
    Ok(files)
}

/// What a run's chart shows, for its caption in `report.html` (by its SVG file's name).
fn figure_title(file: &str) -> String {
    match file {
        "timeline.svg" => {
            "Rollout timeline: pods and ready pods per version, with the rollout's events"
        }
        "traffic.svg" => "Traffic share per version",
        "failures.svg" => "Failed requests by cause",
        "latency.svg" => "Latency p50 and p99 per version",
        "database.svg" => "Database: connections and lock waits",
        "connections.svg" => "Long-lived connections",
        other => other,
    }
    .to_owned()
}

/// A run's `report.html` with `plots` (file name, contents) inlined: every SVG among them.
pub fn run_report_html(
    run: &RunOutput,
    about: &html::About<'_>,
    plots: &[(&'static str, Vec<u8>)],
) -> String {
    let figures: Vec<html::Figure> = plots
        .iter()
        .filter(|(n, _)| n.ends_with(".svg"))
        .map(|(n, svg)| html::Figure {
            title: figure_title(n),
            svg: String::from_utf8_lossy(svg).into_owned(),
        })
        .collect();
    let series = plots::RunSeries::from_run(run);
    html::run_report(&run.summary, about, &figures, &steps_section(&series))
}

/// Every file `rollsim run` writes for `run`: `summary.json`, `timeseries.csv`, with `plots`
/// each chart as SVG and PNG, and `report.html` (the charts inlined when drawn; without them
/// it still has the numbers, the time breakdown and the steps). Drawn after the run, from its
/// results only.
pub fn run_output_files(
    run: &RunOutput,
    about: &html::About<'_>,
    with_plots: bool,
) -> Result<Vec<(&'static str, Vec<u8>)>, plots::PlotError> {
    let charts = if with_plots {
        plots::plot_files(run)?
    } else {
        Vec::new()
    };
    let report = run_report_html(run, about, &charts);
    let mut files: Vec<(&'static str, Vec<u8>)> = run_files(run)
        .into_iter()
        .map(|(n, c)| (n, c.into_bytes()))
        .collect();
    files.extend(charts);
    files.push(("report.html", report.into_bytes()));
    Ok(files)
}

/// Writes `summary.json` and `timeseries.csv` for `run` into `dir`, replacing a previous
/// run's files as a set.
pub fn write_run(dir: &Path, run: &RunOutput) -> io::Result<Vec<PathBuf>> {
    OutputSet::prepare(dir)?.commit(&run_files(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn a_set_replaces_the_previous_set_and_leaves_nothing_behind() {
        let root = std::env::temp_dir().join(format!("rollsim-set-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = root.join("out");
        let files = |a: &str| {
            vec![
                ("summary.json", a.to_string()),
                ("timeseries.csv", a.into()),
            ]
        };
        OutputSet::prepare(&dir)
            .unwrap()
            .commit(&files("one"))
            .unwrap();
        // A run that fails after preparing leaves the previous set untouched.
        drop(OutputSet::prepare(&dir).unwrap());
        assert_eq!(fs::read_to_string(dir.join("summary.json")).unwrap(), "one");
        let written = OutputSet::prepare(&dir)
            .unwrap()
            .commit(&files("two"))
            .unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(
            fs::read_to_string(dir.join("timeseries.csv")).unwrap(),
            "two"
        );
        assert_eq!(names(&dir), ["summary.json", "timeseries.csv"]);
        assert_eq!(names(&root), ["out"], "no staging or retired folder left");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_folder_with_other_files_is_not_replaced() {
        let dir = std::env::temp_dir().join(format!("rollsim-set-other-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let e = OutputSet::prepare(&dir).unwrap_err().to_string();
        assert!(e.contains("notes.txt"), "{e}");
        assert!(OutputSet::prepare(Path::new(".")).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
