//! Reporting: turns a finished run into files and text. It reads results only.
//!
//! Files are written atomically: each goes to a temporary file beside its target and is
//! renamed into place only after every file of the run was written, so a failed or interrupted
//! run never leaves a half-written `summary.json` for a CI job to misread.

mod csv;
mod plan;
mod text;

pub use self::csv::timeseries_csv;
pub use self::plan::{flag_schedule, flag_text, plan_text, FlagPlan, PLAN_ASSUMPTIONS};
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

/// Writes `files` (name, contents) into `dir` atomically; returns the paths written.
pub fn write_atomically(dir: &Path, files: &[(&str, String)]) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut staged = Vec::new();
    let result = (|| {
        for (name, contents) in files {
            let target = dir.join(name);
            let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            let mut f = fs::File::create(&tmp)?;
            staged.push((tmp.clone(), target));
            f.write_all(contents.as_bytes())?;
            f.sync_all()?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = fs::remove_file(tmp);
        }
        return Err(e);
    }
    let mut written = Vec::new();
    for (tmp, target) in staged {
        fs::rename(&tmp, &target)?;
        written.push(target);
    }
    Ok(written)
}

/// Writes `summary.json` and `timeseries.csv` for `run` into `dir`.
pub fn write_run(dir: &Path, run: &RunOutput) -> io::Result<Vec<PathBuf>> {
    write_atomically(
        dir,
        &[
            ("summary.json", summary_json(run)),
            ("timeseries.csv", timeseries_csv(run)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temporary_files() {
        let dir = std::env::temp_dir().join(format!("rollsim-atomic-{}", std::process::id()));
        let written =
            write_atomically(&dir, &[("a.txt", "one".into()), ("b.txt", "two".into())]).unwrap();
        assert_eq!(written.len(), 2);
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        assert_eq!(fs::read_to_string(dir.join("b.txt")).unwrap(), "two");
        fs::remove_dir_all(dir).unwrap();
    }
}
