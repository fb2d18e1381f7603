//! Shared helpers: run the real binary, read its outputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `rollsim` binary with `args` from the repository root.
pub fn rollsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollsim"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run rollsim")
}

/// A fresh, empty temporary folder for one test. The counter keeps two tests running the same
/// scenario at once (the harness runs tests in parallel) out of each other's folder.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rollsim-it-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `scenarios/<name>.toml` into a temporary folder; returns the parsed summary and the
/// folder.
pub fn run_scenario(name: &str, extra: &[&str]) -> (serde_json::Value, PathBuf) {
    let out = temp_dir(name);
    let scenario = PathBuf::from(format!("scenarios/{name}.toml"));
    let mut flags = vec!["--quiet"];
    flags.extend_from_slice(extra);
    let o = run_into(&scenario, &out, &flags);
    assert!(
        o.status.success(),
        "rollsim run {name} {flags:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (read_summary(&out), out)
}

/// `rollsim run <file> <flags…> --out <out>`, whatever its exit.
pub fn run_into(file: &Path, out: &Path, flags: &[&str]) -> Output {
    let mut args = vec!["run", file.to_str().unwrap()];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    rollsim(&args)
}

/// `scenarios/<base>.toml` with each `(old, new)` replaced once (each must match), written as
/// `<tag>.toml` in a fresh temporary folder; returns the file.
pub fn variant(base: &str, tag: &str, subs: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join(format!("scenarios/{base}.toml"))).unwrap();
    for (old, new) in subs {
        assert!(text.contains(old), "{base}.toml has no {old:?}");
        text = text.replacen(old, new, 1);
    }
    let file = temp_dir(tag).join(format!("{tag}.toml"));
    std::fs::write(&file, text).unwrap();
    file
}

/// Parses `dir/summary.json`.
pub fn read_summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary.json parses")
}

/// `summary[a][b]…` as u64.
pub fn u(v: &serde_json::Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_u64()
        .unwrap_or_else(|| panic!("{path:?} is not a count in {v}"))
}

/// `summary[a][b]…` as f64.
pub fn f(v: &serde_json::Value, path: &[&str]) -> f64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number in {v}"))
}
