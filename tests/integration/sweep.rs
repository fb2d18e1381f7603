//! `rollsim sweep` and `merge`: a killed sweep resumed writes what an uninterrupted one does,
//! shards merged equal the unsharded sweep byte for byte, the thread count changes nothing,
//! and bad arguments are refused (exit 2) before anything is written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::common::{root, temp_dir};

/// A small rolling update, quick to sweep (shared with the heat-map tests).
const SCENARIO: &str = r#"
seed = 7
duration = "40s"
bucket = "10s"
[traffic]
rate = 40
[versions.v1]
service = "10ms"
[versions.v2]
service = "10ms"
[deployment]
replicas = 4
version = "v1"
[rollout]
to = "v2"
at = "5s"
strategy = "rolling"
max_surge = 1
"#;

/// Writes [`SCENARIO`] to `dir/s.toml`.
pub(crate) fn scenario(dir: &Path) -> PathBuf {
    let p = dir.join("s.toml");
    std::fs::write(&p, SCENARIO).unwrap();
    p
}

fn rollsim_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollsim"))
        .args(args)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .expect("run rollsim")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "rollsim failed: {}", stderr(o));
}

const GRID: [&str; 6] = [
    "--set",
    "rollout.max_surge=0,1,50%",
    "--set",
    "rollout.max_unavailable=1..2:1",
    "--runs",
    "2",
];

/// `rollsim sweep FILE GRID… extra… --out OUT --quiet`.
fn sweep(file: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["sweep", file.to_str().unwrap()];
    args.extend_from_slice(&GRID);
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--quiet", "--out", out.to_str().unwrap()]);
    rollsim_env(&args, env)
}

fn csv(out: &Path) -> String {
    std::fs::read_to_string(out.join("sweep.csv")).unwrap()
}

#[test]
fn a_sweep_writes_one_row_per_point_and_run_in_grid_order() {
    let dir = temp_dir("sweep-rows");
    let file = scenario(&dir);
    ok(&sweep(&file, &dir.join("out"), &[], &[]));
    let text = csv(&dir.join("out"));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with(
        "key,point,run,rollout.max_surge,rollout.max_unavailable,seed,requests,failed,"
    ));
    assert_eq!(lines.len(), 1 + 6 * 2);
    // The first --set varies slowest; runs on seeds 7 and 8.
    let cells: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    let got: Vec<(&str, &str, &str, &str, &str)> = cells
        .iter()
        .map(|c| (c[1], c[2], c[3], c[4], c[5]))
        .collect();
    assert_eq!(
        &got[..4],
        [
            ("0", "0", "0", "1", "7"),
            ("0", "1", "0", "1", "8"),
            ("1", "0", "0", "2", "7"),
            ("1", "1", "0", "2", "8"),
        ]
    );
    assert_eq!(got[11], ("5", "1", "50%", "2", "8"));
    // A point's run is the scenario with the values set, run alone.
    let point = dir.join("p.toml");
    std::fs::write(
        &point,
        SCENARIO.replace("max_surge = 1", "max_surge = \"50%\"\nmax_unavailable = 2"),
    )
    .unwrap();
    let o = rollsim_env(
        &[
            "run",
            point.to_str().unwrap(),
            "--seed",
            "8",
            "--quiet",
            "--out",
            dir.join("run").to_str().unwrap(),
        ],
        &[],
    );
    ok(&o);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/summary.json")).unwrap())
            .unwrap();
    assert_eq!(cells[11][6], s["requests"]["total"].to_string());
    assert_eq!(cells[11][7], s["requests"]["failed"].to_string());
}

#[test]
fn a_sweep_killed_mid_way_and_resumed_writes_the_same_file() {
    let dir = temp_dir("sweep-resume");
    let file = scenario(&dir);
    let whole = dir.join("whole");
    ok(&sweep(&file, &whole, &[], &[]));
    let expected = csv(&whole);
    // A run killed while writing: rows in completion order, the last one cut short.
    let cut = dir.join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    std::fs::copy(whole.join("sweep.json"), cut.join("sweep.json")).unwrap();
    let lines: Vec<&str> = expected.lines().collect();
    let partial = format!(
        "{}\n{}\n{}\n{}",
        lines[0],
        lines[9],
        lines[2],
        &lines[5][..lines[5].len() / 2]
    );
    std::fs::write(cut.join("sweep.csv"), partial).unwrap();
    let o = rollsim_env(
        &{
            let mut a = vec!["sweep", file.to_str().unwrap()];
            a.extend_from_slice(&GRID);
            a.extend_from_slice(&["--out", cut.to_str().unwrap()]);
            a
        },
        &[],
    );
    ok(&o);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("ran 10 in"), "{said}");
    assert!(said.contains("2 already written"), "{said}");
    assert_eq!(csv(&cut), expected);
    // A real kill: the process stopped once some rows are written, then resumed.
    let killed = dir.join("killed");
    let mut args = vec!["sweep".to_string(), file.display().to_string()];
    args.extend(GRID.iter().map(|s| s.to_string()));
    args.extend(["--quiet", "--out"].map(String::from));
    args.push(killed.display().to_string());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollsim"))
        .args(&args)
        .env("RAYON_NUM_THREADS", "1")
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..2000 {
        let n = std::fs::read_to_string(killed.join("sweep.csv")).map_or(0, |t| t.lines().count());
        if n >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    ok(&sweep(&file, &killed, &[], &[]));
    assert_eq!(csv(&killed), expected);
}

#[test]
fn shards_merged_equal_the_unsharded_sweep_and_threads_change_nothing() {
    let dir = temp_dir("sweep-shards");
    let file = scenario(&dir);
    let whole = dir.join("whole");
    ok(&sweep(&file, &whole, &[], &[("RAYON_NUM_THREADS", "1")]));
    let two = dir.join("two");
    ok(&sweep(&file, &two, &[], &[("RAYON_NUM_THREADS", "2")]));
    assert_eq!(csv(&whole), csv(&two), "1 and 2 threads differ");
    let mut shards = Vec::new();
    for i in 0..3 {
        let out = dir.join(format!("shard{i}"));
        // Shard 1 takes its index from a Kubernetes Indexed Job's environment.
        let o = if i == 1 {
            sweep(
                &file,
                &out,
                &[],
                &[("JOB_COMPLETION_INDEX", "1"), ("ROLLSIM_SHARDS", "3")],
            )
        } else {
            sweep(&file, &out, &["--shard", &format!("{i}/3")], &[])
        };
        ok(&o);
        let rows = csv(&out).lines().count() - 1;
        assert_eq!(rows, 2 * 2, "shard {i}: two points × two runs");
        shards.push(out.display().to_string());
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    ok(&rollsim_env(&args, &[]));
    assert_eq!(csv(&merged), csv(&whole));
    // Merging is idempotent into its own folder.
    ok(&rollsim_env(&args, &[]));
    assert_eq!(csv(&merged), csv(&whole));
}

/// Runs a bad sweep: exit 2, nothing written; returns stderr.
fn refused(dir: &Path, args: &[&str]) -> String {
    let out = dir.join("never");
    let mut a = args.to_vec();
    a.extend(["--out", out.to_str().unwrap()]);
    let o = rollsim_env(&a, &[]);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
    let e = stderr(&o);
    assert!(!e.contains("panicked"), "{e}");
    e
}

#[test]
fn bad_arguments_are_refused_before_anything_is_written() {
    let dir = temp_dir("sweep-bad");
    let file = scenario(&dir);
    let f = file.to_str().unwrap();
    let e = refused(&dir, &["sweep", f, "--set", "rollout.max_surj=1,2"]);
    assert!(e.contains("--set rollout.max_surj=1,2 (argument 1)"), "{e}");
    assert!(e.contains("max_surge"), "did you mean: {e}");
    let e = refused(&dir, &["sweep", f, "--set", "traffic.rate=10,fast"]);
    assert!(e.contains("value `fast`"), "{e}");
    assert!(e.contains("--> --set argument 1:1:"), "{e}");
    let e = refused(&dir, &["sweep", f, "--set", "nothing.here=1"]);
    assert!(e.contains("no [nothing] table"), "{e}");
    let e = refused(&dir, &["sweep", f, "--set", "traffic.rate=10..5:1"]);
    assert!(e.contains("is empty"), "{e}");
    assert!(e.contains("help:"), "{e}");
    let e = refused(
        &dir,
        &["sweep", f, "--set", "traffic.rate=10", "--shard", "3/3"],
    );
    assert!(e.contains("out of range"), "{e}");
    // Valid values alone, invalid together: named with the point.
    let e = refused(
        &dir,
        &[
            "sweep",
            f,
            "--set",
            "rollout.max_surge=0",
            "--set",
            "rollout.max_unavailable=0,1",
        ],
    );
    assert!(
        e.contains(
            "rollout.max_unavailable=0,1 (argument 2), value `0` (with rollout.max_surge=0)"
        ),
        "{e}"
    );
}

#[test]
fn another_sweeps_folder_is_refused_and_left_alone() {
    let dir = temp_dir("sweep-other");
    let file = scenario(&dir);
    let out = dir.join("out");
    ok(&sweep(&file, &out, &[], &[]));
    let before = csv(&out);
    let o = sweep(&file, &out, &["--seed", "9"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("another sweep"), "{}", stderr(&o));
    assert_eq!(csv(&out), before);
    // Shards of different sweeps do not merge.
    let other = dir.join("other");
    ok(&sweep(
        &file,
        &other,
        &["--seed", "9", "--shard", "0/2"],
        &[],
    ));
    let merged = dir.join("merged");
    let o = rollsim_env(
        &[
            "merge",
            out.to_str().unwrap(),
            other.to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("(argument 2) holds another sweep"),
        "{}",
        stderr(&o)
    );
    assert!(!merged.exists());
}
