//! `rollsim merge`: the shards of one sweep, run anywhere (a Kubernetes Indexed Job, a Slurm
//! array, a CI matrix), joined into the `sweep.csv` an unsharded run writes — the same bytes,
//! since both are in canonical order (point, then run).

use std::path::PathBuf;

use super::command::{bad, Meta, META_FILE, SWEEP_FILE};
use super::table::{self, canonical, parse_rows, Rows};
use crate::cli::EXIT_IO;

/// `rollsim merge`'s arguments.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Shard output folders (each with sweep.json and sweep.csv).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// The folder for the merged sweep.csv and sweep.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace a merged sweep already in --out even if it is another sweep's.
    #[arg(long)]
    pub force: bool,
}

/// `rollsim merge`.
pub fn cmd_merge(args: &MergeArgs) -> u8 {
    let mut first: Option<(PathBuf, Meta)> = None;
    let mut header: Option<String> = None;
    let mut all = Rows::default();
    for (n, dir) in args.dirs.iter().enumerate() {
        let meta_path = dir.join(META_FILE);
        let meta: Meta =
            match std::fs::read_to_string(&meta_path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            {
                Ok(m) => m,
                Err(e) => return bad(
                    &format!("{} (argument {}): {e}", meta_path.display(), n + 1),
                    "pass folders written by `rollsim sweep` (each holds sweep.json and sweep.csv)",
                ),
            };
        match &first {
            None => first = Some((dir.clone(), meta.clone())),
            Some((d0, m0)) if m0.sweep_id != meta.sweep_id => {
                return bad(
                    &format!(
                        "{} (argument {}) holds another sweep than {}: sweep id {} ≠ {} ({} {:?} --runs {} vs {} {:?} --runs {})",
                        dir.display(),
                        n + 1,
                        d0.display(),
                        meta.sweep_id,
                        m0.sweep_id,
                        meta.scenario,
                        meta.set,
                        meta.runs,
                        m0.scenario,
                        m0.set,
                        m0.runs
                    ),
                    "merge only the shards of one sweep: the same scenario file, --set arguments, --runs, --seed and rollsim version",
                )
            }
            Some(_) => {}
        }
        let csv = dir.join(SWEEP_FILE);
        let rows = match std::fs::read(&csv)
            .map_err(|e| e.to_string())
            .and_then(|b| parse_rows(&String::from_utf8_lossy(&b)))
        {
            Ok(r) => r,
            Err(e) => {
                return bad(
                    &format!("{} (argument {}): {e}", csv.display(), n + 1),
                    "rerun that shard's command: it resumes and completes its sweep.csv",
                )
            }
        };
        match (&header, &rows.header) {
            (Some(h), Some(h2)) if h != h2 => {
                return bad(
                    &format!("{}'s header differs from the first shard's", csv.display()),
                    "merge only the shards of one sweep",
                )
            }
            (None, Some(h2)) => header = Some(h2.clone()),
            _ => {}
        }
        for (k, v) in rows.by_key {
            if let Some(old) = all.by_key.get(&k) {
                if old.2 != v.2 {
                    return bad(
                        &format!("row {k} differs between shards ({})", csv.display()),
                        "the same key must give the same row; rerun the shards with one rollsim build",
                    );
                }
            }
            all.by_key.insert(k, v);
        }
    }
    let (Some((_, meta)), Some(header)) = (first, header) else {
        return bad("the shards hold no rows", "run the shards first");
    };
    // The merged folder: empty, new, or an earlier merge of the same sweep.
    let out_meta = args.out.join(META_FILE);
    if let Ok(t) = std::fs::read_to_string(&out_meta) {
        let same = serde_json::from_str::<Meta>(&t).is_ok_and(|m| m.sweep_id == meta.sweep_id);
        if !same && !args.force {
            return bad(
                &format!("{} holds another sweep", args.out.display()),
                "pick another --out, or pass --force to replace it",
            );
        }
    } else if std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some()) {
        return bad(
            &format!("{} is not empty and holds no sweep", args.out.display()),
            "pick an empty or new --out",
        );
    }
    let merged = Meta {
        shard: None,
        ..meta.clone()
    };
    let expected = meta.points * u64::from(meta.runs);
    let text = canonical(&header, &all);
    let json = serde_json::to_string_pretty(&merged).unwrap_or_default() + "\n";
    let written = std::fs::create_dir_all(&args.out)
        .and_then(|()| table::write_atomic(&args.out.join(SWEEP_FILE), &text))
        .and_then(|()| table::write_atomic(&out_meta, &json));
    if let Err(e) = written {
        eprintln!("error: cannot write {}: {e}", args.out.display());
        return EXIT_IO;
    }
    let have = all.by_key.len() as u64;
    if have < expected {
        eprintln!(
            "warning: {have} of {expected} rows: some shards are missing or incomplete; rerun them and merge again"
        );
    }
    println!(
        "merged     {} folders, {have} of {expected} rows into {}",
        args.dirs.len(),
        args.out.join(SWEEP_FILE).display()
    );
    0
}
