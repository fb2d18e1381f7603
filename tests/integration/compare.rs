//! `rollsim compare`: files and `[[variant]]`s side by side on identical traffic, the same
//! numbers as separate runs, the baseline difference, `--seeds` intervals, `--strict`, output
//! determinism whatever the thread count, bad variants, and the output folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{f, read_summary, rollsim, root, temp_dir, u};

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

fn ok(o: &Output) {
    assert!(o.status.success(), "rollsim failed: {}", stderr(o));
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("JSON")
}

/// A small, fast scenario with a bad release; `rollout` is its `[rollout]` body.
pub(crate) const SMALL: &str = r#"seed = 7
duration = "90s"
[traffic]
rate = 80
users = 500
[pod]
startup = "2s"
readiness = { initial_delay = "1s", period = "1s" }
[versions.v1]
service = "20ms"
[versions.v2]
service = "20ms"
error_rate = 0.1
bad = true
[deployment]
replicas = 4
version = "v1"
[rollout]
to = "v2"
at = "20s"
"#;

/// Writes `text` as `<dir>/<name>.toml`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// A variants file: the small scenario, a rolling and a recreate variant.
fn variants_file(dir: &Path) -> PathBuf {
    write(
        dir,
        "pair",
        &format!(
            "{SMALL}strategy = \"rolling\"\n\n[[variant]]\nname = \"rolling\"\n\n[[variant]]\nname = \"recreate\"\n[variant.rollout]\nstrategy = \"recreate\"\n"
        ),
    )
}

fn compare(args: &[&str], out: &Path) -> Output {
    let mut a = vec!["compare"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--out", out.to_str().unwrap()]);
    rollsim(&a)
}

fn cell<'a>(c: &'a Value, metric: &str, variant: &str) -> &'a Value {
    &c["metrics"][metric]["variants"][variant]
}

#[test]
fn two_files_give_the_numbers_of_their_separate_runs_and_the_difference_from_the_first() {
    let dir = temp_dir("compare-files");
    let out = dir.join("cmp");
    let o = compare(
        &[
            "scenarios/rolling-bad-release.toml",
            "scenarios/canary-bad-release.toml",
            "--quiet",
        ],
        &out,
    );
    ok(&o);
    let c = read_json(&out.join("comparison.json"));
    assert_eq!(c["baseline"], "rolling-bad-release");
    assert_eq!(c["identical_traffic"], true);
    let names: Vec<&str> = c["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rolling-bad-release", "canary-bad-release"]);
    // Each run's own files are byte-identical to `rollsim run`'s.
    for name in names {
        let alone = dir.join(format!("alone-{name}"));
        ok(&rollsim(&[
            "run",
            &format!("scenarios/{name}.toml"),
            "--quiet",
            "--out",
            alone.to_str().unwrap(),
        ]));
        // Every file: the summary, the time series, the plots and report.html.
        let (mine, theirs) = (tree(&alone), tree(&out.join(name)));
        let files: Vec<&PathBuf> = mine.iter().map(|(p, _)| p).collect();
        assert_eq!(
            files,
            theirs.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            "{name}: the same files"
        );
        assert!(files.len() >= 11, "{name}: {files:?}");
        for ((file, a), (_, b)) in mine.iter().zip(&theirs) {
            assert!(a == b, "{name}/{}", file.display());
        }
    }
    let a = read_summary(&out.join("rolling-bad-release"));
    let b = read_summary(&out.join("canary-bad-release"));
    // Identical traffic: the same arrivals.
    assert_eq!(u(&a, &["requests", "total"]), u(&b, &["requests", "total"]));
    for (metric, path) in [
        ("failed", &["requests", "failed"][..]),
        ("bad_requests", &["exposure", "bad_requests"]),
        ("cost", &["capacity", "cost"]),
        ("mixed_version_s", &["exposure", "mixed_version_s"]),
        ("p99_ms", &["latency_ms", "p99"]),
    ] {
        let (x, y) = (f(&a, path), f(&b, path));
        let base = cell(&c, metric, "rolling-bad-release");
        let other = cell(&c, metric, "canary-bad-release");
        assert!((f(base, &["mean"]) - x).abs() < 1e-6, "{metric}");
        assert!((f(other, &["mean"]) - y).abs() < 1e-6, "{metric}");
        assert!(base["diff"].is_null(), "the baseline has no difference");
        assert!(
            (f(other, &["diff"]) - (y - x)).abs() < 1e-6,
            "{metric}: diff {} vs {}",
            other["diff"],
            y - x
        );
        assert!(other["ci95"].is_null(), "one run has no interval");
    }
    // A missing value stays missing, and so does its difference.
    let rb = cell(&c, "rollback_s", "rolling-bad-release");
    assert!(rb["mean"].is_f64());
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    assert!(csv.starts_with("metric,unit,variant,n,mean,ci95_low,ci95_high,diff,"));
    let line = csv
        .lines()
        .find(|l| l.starts_with("failed,count,canary-bad-release,"))
        .unwrap();
    let diff = f(cell(&c, "failed", "canary-bad-release"), &["diff"]);
    assert_eq!(
        line,
        format!(
            "failed,count,canary-bad-release,1,{},,,{diff},,",
            f(&b, &["requests", "failed"])
        )
    );
}

#[test]
fn a_variants_file_runs_each_variant_on_identical_traffic_and_run_uses_the_base() {
    let dir = temp_dir("compare-variants");
    let file = variants_file(&dir);
    let out = dir.join("cmp");
    let o = compare(&[file.to_str().unwrap()], &out);
    ok(&o);
    let table = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "rolling",
        "recreate",
        "failed requests",
        "latency p99 (ms)",
        "the difference from rolling",
    ] {
        assert!(table.contains(needle), "{needle:?} missing from:\n{table}");
    }
    let a = read_summary(&out.join("rolling"));
    let b = read_summary(&out.join("recreate"));
    assert_eq!(a["strategy"], "rolling");
    assert_eq!(b["strategy"], "recreate");
    assert_eq!(b["scenario"], "recreate");
    assert_eq!(u(&a, &["requests", "total"]), u(&b, &["requests", "total"]));
    // Recreate's gap: requests with no endpoint, which rolling does not have.
    assert!(u(&b, &["requests", "failed_by_cause", "no_endpoints"]) > 0);
    assert_eq!(u(&a, &["requests", "failed_by_cause", "no_endpoints"]), 0);
    // `run` runs the base scenario and says the variants exist.
    let alone = dir.join("alone");
    let r = rollsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        alone.to_str().unwrap(),
    ]);
    ok(&r);
    assert!(
        stderr(&r).contains("defines 2 variants (rolling, recreate)"),
        "{}",
        stderr(&r)
    );
    // validate checks the variants too.
    let v = rollsim(&["validate", file.to_str().unwrap()]);
    ok(&v);
    assert!(String::from_utf8_lossy(&v.stdout).contains("2 variants ok (rolling, recreate)"));
}

#[test]
fn every_shipped_strategy_pays_for_a_bad_release_in_its_own_coin_on_several_seeds() {
    let dir = temp_dir("compare-shipped");
    let out = dir.join("cmp");
    ok(&compare(
        &[
            "scenarios/compare-strategies.toml",
            "--seeds",
            "3",
            "--quiet",
        ],
        &out,
    ));
    let c = read_json(&out.join("comparison.json"));
    let seeds: Vec<u64> = c["variants"][0]["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(seeds, [42, 43, 44]);
    for seed in seeds {
        let s = |v: &str| read_summary(&out.join(v).join(format!("seed-{seed}")));
        let (r, g, k) = (s("rolling"), s("blue-green"), s("canary"));
        let total = u(&r, &["requests", "total"]);
        assert_eq!(total, u(&g, &["requests", "total"]), "seed {seed}");
        assert_eq!(total, u(&k, &["requests", "total"]), "seed {seed}");
        let bad = |x: &Value| u(x, &["exposure", "bad_failed"]);
        let users = |x: &Value| u(x, &["exposure", "users_exposed"]);
        assert!(
            bad(&k) < bad(&g) && bad(&g) < bad(&r),
            "seed {seed}: failures"
        );
        assert!(
            users(&k) < users(&g) && users(&g) < users(&r),
            "seed {seed}: users"
        );
        let pods = |x: &Value| u(x, &["capacity", "peak_pods"]);
        assert!(
            pods(&g) > pods(&r) && pods(&g) > pods(&k),
            "seed {seed}: pods"
        );
        for x in [&r, &g, &k] {
            assert_ne!(x["rollout"]["outcome"], "completed", "seed {seed}: caught");
        }
    }
}

#[test]
fn with_seeds_each_cell_is_a_mean_with_a_student_t_interval_over_paired_runs() {
    let dir = temp_dir("compare-seeds");
    let file = variants_file(&dir);
    let out = dir.join("cmp");
    ok(&compare(
        &[
            file.to_str().unwrap(),
            "--seeds",
            "3",
            "--seed",
            "100",
            "--quiet",
        ],
        &out,
    ));
    let c = read_json(&out.join("comparison.json"));
    assert_eq!(c["runs_per_variant"], 3);
    let per_seed = |v: &str| -> Vec<f64> {
        (100..103)
            .map(|s| {
                f(
                    &read_summary(&out.join(v).join(format!("seed-{s}"))),
                    &["requests", "failed"],
                )
            })
            .collect()
    };
    let (a, b) = (per_seed("rolling"), per_seed("recreate"));
    // t(0.975, 2) = 4.302652729749464 (tables; R's qt(0.975, 2)).
    let interval = |x: &[f64]| {
        let m = x.iter().sum::<f64>() / 3.0;
        let sd = (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 2.0).sqrt();
        let h = 4.302652729749464 * sd / 3f64.sqrt();
        (m, m - h, m + h)
    };
    let close = |x: &Value, y: f64| (x.as_f64().unwrap() - y).abs() < 1e-5;
    let (m, lo, hi) = interval(&b);
    let cb = cell(&c, "failed", "recreate");
    assert_eq!(cb["n"], 3);
    assert!(
        close(&cb["mean"], m) && close(&cb["ci95"][0], lo) && close(&cb["ci95"][1], hi),
        "{cb}"
    );
    // The difference is paired: the interval of the per-seed differences.
    let d: Vec<f64> = b.iter().zip(&a).map(|(x, y)| x - y).collect();
    let (m, lo, hi) = interval(&d);
    assert!(close(&cb["diff"], m), "{cb}");
    assert!(
        close(&cb["diff_ci95"][0], lo) && close(&cb["diff_ci95"][1], hi),
        "{cb}"
    );
    // Recreate never mixes versions: a rollback time missing in every run has no mean.
    let rb = cell(&c, "rollback_s", "recreate");
    assert!(rb["mean"].is_null() && rb["diff"].is_null() && rb["ci95"].is_null());
    assert_eq!(rb["n"], 0);
}

#[test]
fn differing_traffic_is_a_warning_naming_what_differs_and_an_error_with_strict() {
    let dir = temp_dir("compare-strict");
    let a = write(&dir, "a", &format!("{SMALL}strategy = \"rolling\"\n"));
    let b = write(
        &dir,
        "b",
        &format!("{SMALL}strategy = \"recreate\"\n").replace("rate = 80", "rate = 60"),
    );
    let out = dir.join("cmp");
    let o = compare(&[a.to_str().unwrap(), b.to_str().unwrap()], &out);
    ok(&o);
    let e = stderr(&o);
    assert!(
        e.contains("warning: `b` does not see the same traffic as the baseline `a`"),
        "{e}"
    );
    assert!(e.contains("traffic.rate (80 vs 60)"), "{e}");
    let c = read_json(&out.join("comparison.json"));
    assert_eq!(c["identical_traffic"], false);
    assert!(c["warnings"][0].as_str().unwrap().contains("traffic.rate"));
    let strict = dir.join("strict");
    let o = compare(
        &[a.to_str().unwrap(), b.to_str().unwrap(), "--strict"],
        &strict,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--strict"), "{}", stderr(&o));
    assert!(!strict.exists(), "nothing written");
    // --seed makes different seeds equal: then the traffic is identical.
    let c = write(
        &dir,
        "c",
        &format!("{SMALL}strategy = \"recreate\"\n").replace("seed = 7", "seed = 8"),
    );
    let o = compare(
        &[a.to_str().unwrap(), c.to_str().unwrap(), "--strict"],
        &dir.join("s2"),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("seed (7 vs 8)"), "{}", stderr(&o));
    let o = compare(
        &[
            a.to_str().unwrap(),
            c.to_str().unwrap(),
            "--strict",
            "--seed",
            "5",
            "--quiet",
        ],
        &dir.join("s3"),
    );
    ok(&o);
}

/// Every file under `dir`, relative path → bytes, sorted.
pub(crate) fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn outputs_are_byte_identical_on_one_thread_and_on_two() {
    let dir = temp_dir("compare-threads");
    let file = variants_file(&dir);
    let mut trees = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.join(format!("t{threads}"));
        let o = rollsim_env(
            &[
                "compare",
                file.to_str().unwrap(),
                "--seeds",
                "2",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ],
            &[("RAYON_NUM_THREADS", threads)],
        );
        ok(&o);
        trees.push(tree(&out));
    }
    // The comparison's json, csv, report and three charts (SVG + PNG); each of the four runs'
    // summary, time series, report and four charts (SVG + PNG).
    assert_eq!(
        trees[0].len(),
        3 + 6 + 2 * 2 * (3 + 8),
        "comparison files and each run's"
    );
    for f in [
        "report.html",
        "comparison-timelines.png",
        "rolling/seed-7/report.html",
        "recreate/seed-8/timeline.png",
    ] {
        assert!(
            trees[0].iter().any(|(p, _)| p == Path::new(f)),
            "{f} is written"
        );
    }
    assert!(
        trees[0] == trees[1],
        "outputs differ between 1 and 2 threads"
    );
}

#[test]
fn a_bad_variant_is_told_at_its_line_and_nothing_is_written() {
    let dir = temp_dir("compare-bad");
    let text = format!(
        "{SMALL}strategy = \"rolling\"\n\n[[variant]]\nname = \"ok\"\n\n[[variant]]\nname = \"broken\"\n[variant.rollout]\nmax_surge = \"150 pods\"\n"
    );
    let file = write(&dir, "bad", &text);
    let line = text
        .lines()
        .position(|l| l.starts_with("max_surge"))
        .unwrap()
        + 1;
    let out = dir.join("cmp");
    let o = compare(&[file.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(&format!("bad.toml:{line}:13")), "{e}");
    assert!(e.contains("variant `broken`"), "{e}");
    assert!(e.contains("help"), "{e}");
    assert!(
        !e.contains("Raw") && !e.contains("DeValue"),
        "no Rust types: {e}"
    );
    assert!(!out.exists(), "nothing written");
    // validate reports the same problem.
    let v = rollsim(&["validate", file.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(2));
    assert!(stderr(&v).contains("variant `broken`"));
}

#[test]
fn too_few_runs_or_clashing_names_are_bad_input() {
    let dir = temp_dir("compare-usage");
    let one = write(&dir, "one", &format!("{SMALL}strategy = \"rolling\"\n"));
    let out = dir.join("cmp");
    let o = compare(&[one.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("two or more runs"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("usage: rollsim compare"),
        "{}",
        stderr(&o)
    );
    let o = rollsim(&["compare"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Usage"), "{}", stderr(&o));
    let other = temp_dir("compare-usage-2");
    let twin = write(&other, "one", &format!("{SMALL}strategy = \"recreate\"\n"));
    let o = compare(&[one.to_str().unwrap(), twin.to_str().unwrap()], &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("two runs are named \"one\""),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn the_output_folder_is_checked_before_any_run_and_replaced_as_a_whole() {
    let dir = temp_dir("compare-out");
    let file = variants_file(&dir);
    // A folder holding someone else's file is refused before simulating.
    let theirs = dir.join("theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
    let o = compare(&[file.to_str().unwrap()], &theirs);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    assert!(!theirs.join("rolling").exists());
    // A folder under a file cannot be made.
    let blocker = dir.join("file");
    std::fs::write(&blocker, "x").unwrap();
    let o = compare(&[file.to_str().unwrap()], &blocker.join("out"));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // A previous comparison is replaced, variant folders and all.
    let out = dir.join("cmp");
    ok(&compare(&[file.to_str().unwrap(), "--quiet"], &out));
    ok(&compare(
        &[file.to_str().unwrap(), "--quiet", "--seeds", "2"],
        &out,
    ));
    assert!(out.join("rolling/seed-7/summary.json").exists());
    assert!(
        !out.join("rolling/summary.json").exists(),
        "the old set is gone"
    );
}

#[test]
fn the_shipped_comparison_matches_its_snapshot() {
    let dir = temp_dir("compare-golden");
    let out = dir.join("cmp");
    ok(&compare(
        &["scenarios/compare-strategies.toml", "--quiet"],
        &out,
    ));
    let json = std::fs::read_to_string(out.join("comparison.json")).unwrap();
    insta::assert_snapshot!("comparison-compare-strategies", json);
}

#[test]
fn progress_goes_to_stderr_and_changes_no_output() {
    let dir = temp_dir("compare-progress");
    let file = variants_file(&dir);
    let mut trees = Vec::new();
    for (tag, env) in [
        ("quiet", vec![]),
        ("lines", vec![("ROLLSIM_PROGRESS", "lines")]),
    ] {
        let out = dir.join(tag);
        let o = rollsim_env(
            &[
                "compare",
                file.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &env,
        );
        ok(&o);
        if tag == "lines" {
            let e = stderr(&o);
            assert!(e.contains("estimate   2 runs on"), "{e}");
            assert!(e.contains("100%: 180 of 180 s simulated (all runs)"), "{e}");
            assert!(!String::from_utf8_lossy(&o.stdout).contains("s simulated"));
        }
        trees.push(tree(&out));
    }
    assert!(trees[0] == trees[1], "progress changed an output");
}

/// The merge is exact: each variant of the shipped comparison is the shipped single-strategy
/// scenario it stands for, so its summary is that file's (but for its name).
#[test]
fn each_shipped_variant_runs_exactly_as_the_scenario_it_stands_for() {
    use rollsim::report::summary_json;
    use rollsim::scenario::Scenario;
    use rollsim::sim::Simulation;
    let v = Scenario::load_variants(&root().join("scenarios/compare-strategies.toml")).unwrap();
    let json = |s: &Scenario| {
        let out = Simulation::new(s).run().unwrap();
        summary_json(&out)
            .lines()
            .filter(|l| !l.contains("\"scenario\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (variant, file) in [
        ("rolling", "rolling-bad-release"),
        ("blue-green", "blue-green-bad-release"),
        ("canary", "canary-bad-release"),
    ] {
        let s = v.variants.iter().find(|s| s.name == variant).unwrap();
        let alone = Scenario::load(&root().join(format!("scenarios/{file}.toml"))).unwrap();
        assert!(json(s) == json(&alone), "{variant} differs from {file}");
    }
}
