//! docs/ci.md's examples work as written: every YAML block parses (serde-saphyr, YAML 1.2 as
//! GitHub and GitLab read it) and has the shape its CI system needs, every rollsim command line
//! in them is accepted by rollsim's argument parser, and the sharded-sweep matrix, run step by
//! step on a short copy of its scenario, merges its slices and draws the heat maps it uploads.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::common::{root, temp_dir};

/// The ```yaml blocks of docs/ci.md, parsed.
fn yaml_blocks() -> Vec<Value> {
    let doc = std::fs::read_to_string(root().join("docs/ci.md")).expect("docs/ci.md");
    let mut out = Vec::new();
    let mut rest = doc.as_str();
    while let Some(i) = rest.find("```yaml\n") {
        let body = &rest[i + 8..];
        let end = body.find("```").expect("a closed block");
        let v: Value = serde_saphyr::from_str(&body[..end])
            .unwrap_or_else(|e| panic!("a YAML block of docs/ci.md does not parse: {e}"));
        out.push(v);
        rest = &body[end + 3..];
    }
    out
}

/// Every string in `v`.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The rollsim command lines in a script: each shell command (lines split at `;`, `&&`, `|`)
/// that runs a `…/rollsim` binary, as its arguments after the binary, with the matrix index
/// and the loop variable given values and quotes removed.
fn commands(script: &str, shard: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let script = script
        .replace("${{ matrix.shard }}", shard)
        .replace("\"$f\"", "scenarios/rolling.toml");
    for line in script.lines() {
        for cmd in line.split([';', '|']).flat_map(|c| c.split("&&")) {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let Some(at) = words
                .iter()
                .position(|w| *w == "rollsim" || w.ends_with("/rollsim"))
            else {
                continue;
            };
            // A path to the binary (an artifact, `chmod +x`) is not a command line.
            if words.len() == at + 1 || words[0] == "chmod" {
                continue;
            }
            let args: Vec<String> = words[at + 1..]
                .iter()
                .take_while(|w| !w.starts_with('#'))
                .map(|w| w.trim_matches('"').to_string())
                .collect();
            out.push(args);
        }
    }
    out
}

#[test]
fn the_ci_examples_parse_and_their_rollsim_commands_are_accepted() {
    let blocks = yaml_blocks();
    assert!(blocks.len() >= 3, "GitHub gate, GitLab gate, sweep matrix");
    let mut all = Vec::new();
    for b in &blocks {
        let mut s = Vec::new();
        strings(b, &mut s);
        for script in s {
            all.extend(commands(script, "0"));
        }
    }
    let subcommands: Vec<&str> = all.iter().map(|c| c[0].as_str()).collect();
    for needed in ["check", "run", "sweep", "merge", "heatmap"] {
        assert!(
            subcommands.contains(&needed),
            "no `rollsim {needed}` in {subcommands:?}"
        );
    }
    for args in &all {
        let line = std::iter::once("rollsim".to_string()).chain(args.iter().cloned());
        if let Err(e) = rollsim::cli::parses(line) {
            panic!("docs/ci.md: `rollsim {}` is refused:\n{e}", args.join(" "));
        }
    }
    // A misspelt flag would be caught.
    assert!(rollsim::cli::parses(["rollsim", "check", "x.toml", "--junits", "r.xml"]).is_err());
}

#[test]
fn the_ci_jobs_build_rollsim_check_and_keep_the_report_and_plots() {
    let blocks = yaml_blocks();
    // GitHub Actions: jobs with runs-on and steps, each step `uses` or `run`.
    let github: Vec<&Value> = blocks.iter().filter(|b| b.get("jobs").is_some()).collect();
    assert!(github.len() >= 2, "the gate and the matrix");
    for w in &github {
        for (name, job) in w["jobs"].as_object().unwrap() {
            assert!(job["runs-on"].is_string(), "{name}: runs-on");
            for step in job["steps"].as_array().unwrap() {
                assert!(
                    step.get("uses").is_some() || step.get("run").is_some(),
                    "{name}: a step without uses or run: {step}"
                );
            }
        }
    }
    let gate = &github[0]["jobs"]["rollsim-check"];
    let text = gate.to_string();
    for needle in [
        "cargo build --release",
        "rollsim check",
        "--junit report.xml",
        "outputs/",
    ] {
        assert!(text.contains(needle), "the GitHub gate lacks {needle}");
    }
    // GitLab: a job with a script and a JUnit report, keeping the outputs when it fails.
    let gitlab = blocks
        .iter()
        .find_map(|b| b.get("rollsim-check").filter(|j| j.get("script").is_some()))
        .expect("the GitLab job");
    assert_eq!(gitlab["artifacts"]["reports"]["junit"], "report.xml");
    assert_eq!(gitlab["artifacts"]["when"], "always");
    let paths = gitlab["artifacts"]["paths"].to_string();
    assert!(
        paths.contains("report.xml") && paths.contains("outputs/"),
        "{paths}"
    );
    // The matrix: shards, then a merge job that needs them.
    let matrix = github
        .iter()
        .find(|w| w["jobs"].get("merge").is_some())
        .expect("the sweep matrix");
    assert_eq!(
        matrix["jobs"]["shard"]["strategy"]["matrix"]["shard"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    assert_eq!(matrix["jobs"]["merge"]["needs"], "shard");
}

fn run(dir: &Path, args: &[String]) {
    let o = Command::new(env!("CARGO_BIN_EXE_rollsim"))
        .args(args)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .current_dir(dir)
        .output()
        .expect("run rollsim");
    assert!(
        o.status.success(),
        "rollsim {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn the_sweep_matrix_runs_as_written_on_a_short_scenario() {
    let blocks = yaml_blocks();
    let jobs = &blocks
        .iter()
        .find(|w| w.get("jobs").and_then(|j| j.get("merge")).is_some())
        .expect("the sweep matrix")["jobs"];
    let scripts = |job: &str| -> Vec<String> {
        jobs[job]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str().map(str::to_string))
            .collect()
    };
    // The workflow's checkout, with the scenario cut to 10 simulated seconds at a low rate.
    let dir = temp_dir("ci-matrix");
    std::fs::create_dir_all(dir.join("scenarios")).unwrap();
    let full = std::fs::read_to_string(root().join("scenarios/rolling.toml")).unwrap();
    let short = full
        .replace("duration = \"5m\"", "duration = \"12s\"")
        .replace("rate = 500 ", "rate = 20 ")
        .replace("at = \"60s\"", "at = \"2s\"");
    assert_ne!(short, full);
    std::fs::write(dir.join("scenarios/rolling.toml"), short).unwrap();
    for i in 0..4 {
        for script in scripts("shard") {
            for args in commands(&script, &i.to_string()) {
                run(&dir, &args);
            }
        }
        // download-artifact: one folder per artifact under shards/.
        let name = format!("shard-{i}");
        copy_dir(&dir.join(&name), &dir.join("shards").join(&name));
    }
    for script in scripts("merge") {
        for args in commands(&script, "0") {
            // The shell expands the glob.
            let args: Vec<String> = args
                .into_iter()
                .flat_map(|a| {
                    if a == "shards/shard-*" {
                        (0..4).map(|i| format!("shards/shard-{i}")).collect()
                    } else {
                        vec![a]
                    }
                })
                .collect();
            run(&dir, &args);
        }
    }
    let sweep = dir.join("sweep");
    let csv = std::fs::read_to_string(sweep.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 100 * 3, "100 points × 3 runs");
    for m in ["failed", "rollout_duration_s"] {
        for ext in ["svg", "png"] {
            let f = sweep.join(format!(
                "heatmap-{m}-by-rollout.max_surge-and-rollout.max_unavailable.{ext}"
            ));
            assert!(f.exists(), "{} not drawn", f.display());
        }
    }
}
