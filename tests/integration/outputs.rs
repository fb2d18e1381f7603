//! A run's outputs as a set: the folder is checked before simulating, files replace the
//! previous run's together, `validate` and `run` share the size limit, and the estimate and
//! progress go to stderr without changing any output.

use std::process::{Command, Output};

use crate::common::{rollsim, root, temp_dir};

fn rollsim_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollsim"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .output()
        .expect("run rollsim")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

#[test]
fn validate_refuses_what_run_refuses_for_size() {
    let dir = temp_dir("size-limit");
    let file = dir.join("month.toml");
    std::fs::write(
        &file,
        "duration = \"30d\"\nbucket = \"1h\"\n[traffic]\nrate = 1000\n[versions.v1]\nservice = \"10ms\"\n[deployment]\nreplicas = 4\nversion = \"v1\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let v = rollsim(&["validate", path]);
    let out = dir.join("out");
    let r = rollsim(&["run", path, "--out", out.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2), "validate: {}", stderr(&v));
    assert_eq!(r.status.code(), Some(2), "run: {}", stderr(&r));
    assert_eq!(stderr(&v), stderr(&r), "one message for one limit");
    let msg = stderr(&v);
    for needle in ["2.59e9 requests", "events", "wall time", "--force"] {
        assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
    }
    assert!(!out.exists(), "nothing written");
}

#[test]
fn an_unwritable_output_folder_fails_before_the_simulation_starts() {
    let dir = temp_dir("unwritable");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let out = blocker.join("out");
    let o = rollsim_env(
        &[
            "run",
            "scenarios/steady.toml",
            "--out",
            out.to_str().unwrap(),
        ],
        &[("ROLLSIM_PROGRESS", "lines")],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("cannot write outputs"), "{err}");
    // Not one simulated second was spent: no progress line, no estimate.
    assert!(!err.contains("progress"), "{err}");
    assert!(!err.contains("estimate"), "{err}");
}

#[test]
fn a_run_replaces_the_previous_runs_files_as_a_set() {
    let dir = temp_dir("set");
    let out = dir.join("out");
    let run = |seed: &str| {
        let o = rollsim(&[
            "run",
            "scenarios/rolling-no-prestop.toml",
            "--quiet",
            "--seed",
            seed,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (
            std::fs::read(out.join("summary.json")).unwrap(),
            std::fs::read(out.join("timeseries.csv")).unwrap(),
        )
    };
    let first = run("7");
    let second = run("8");
    assert!(first.0 != second.0 && first.1 != second.1);
    assert_eq!(
        listing(&out),
        [
            "failures.png",
            "failures.svg",
            "latency.png",
            "latency.svg",
            "report.html",
            "summary.json",
            "timeline.png",
            "timeline.svg",
            "timeseries.csv",
            "traffic.png",
            "traffic.svg"
        ]
    );
    assert_eq!(listing(&dir), ["out"], "no staging or retired folder left");
    let summary: serde_json::Value = serde_json::from_slice(&second.0).unwrap();
    assert_eq!(summary["seed"], 8);

    // A folder holding someone else's files is never replaced (nor written into).
    let mine = dir.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let o = rollsim(&[
        "run",
        "scenarios/steady.toml",
        "--quiet",
        "--out",
        mine.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    assert_eq!(listing(&mine), ["notes.txt"]);
}

#[test]
fn progress_and_estimate_go_to_stderr_and_change_no_output() {
    let plain_dir = temp_dir("progress-plain");
    let shown_dir = temp_dir("progress-shown");
    let (plain_out, shown_out) = (plain_dir.to_str().unwrap(), shown_dir.to_str().unwrap());
    let plain = rollsim(&["run", "scenarios/rolling.toml", "--out", plain_out]);
    let shown = rollsim_env(
        &["run", "scenarios/rolling.toml", "--out", shown_out],
        &[("ROLLSIM_PROGRESS", "lines")],
    );
    assert!(plain.status.success() && shown.status.success());
    let err = stderr(&shown);
    assert!(
        err.contains("estimate   scenarios/rolling.toml: about 1.50e5 requests"),
        "{err}"
    );
    assert!(err.contains("progress   100%"), "{err}");
    assert!(stderr(&plain).is_empty(), "{}", stderr(&plain));
    for f in ["summary.json", "timeseries.csv"] {
        assert_eq!(
            std::fs::read(plain_dir.join(f)).unwrap(),
            std::fs::read(shown_dir.join(f)).unwrap(),
            "{f} differs with progress shown"
        );
    }
    // --quiet prints nothing, progress or not; --force shows the estimate.
    let quiet_dir = temp_dir("progress-quiet");
    let quiet = rollsim_env(
        &[
            "run",
            "scenarios/steady.toml",
            "--quiet",
            "--force",
            "--out",
            quiet_dir.to_str().unwrap(),
        ],
        &[("ROLLSIM_PROGRESS", "lines")],
    );
    assert!(quiet.status.success());
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
    let forced_dir = temp_dir("progress-forced");
    let forced = rollsim(&[
        "run",
        "scenarios/steady.toml",
        "--force",
        "--out",
        forced_dir.to_str().unwrap(),
    ]);
    assert!(stderr(&forced).contains("estimate"), "{}", stderr(&forced));
}
