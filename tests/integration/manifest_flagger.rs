//! Flagger's blue/green (`analysis.iterations`), read from a Canary and run as Flagger's
//! `runBlueGreen` does: one iteration per passing tick with no canary traffic, then one tick
//! with all traffic on the canary, then promotion. Without a load tester (webhooks are not
//! modelled) the canary's metric checks find no data and the analysis fails, as in Flagger.

use rollsim::scenario::Scenario;

use crate::common::{read_summary, rollsim, root, temp_dir};

/// The example's Canary with its analysis replaced by `analysis`; returns the scenario path.
fn blue_green(tag: &str, analysis: &str) -> std::path::PathBuf {
    let dir = temp_dir(tag);
    let yaml =
        std::fs::read_to_string(root().join("examples/manifests/flagger-canary.yaml")).unwrap();
    let yaml = format!(
        "{}  analysis:\n{analysis}",
        &yaml[..yaml.find("  analysis:").unwrap()]
    );
    std::fs::write(dir.join("bg.yaml"), yaml).unwrap();
    let toml =
        std::fs::read_to_string(root().join("examples/manifests/flagger-canary.toml")).unwrap();
    let toml = toml[..toml.find("[expect]").unwrap()].replace("flagger-canary.yaml", "bg.yaml");
    let file = dir.join("bg.toml");
    std::fs::write(&file, toml).unwrap();
    file
}

fn events(summary: &serde_json::Value) -> Vec<(f64, String)> {
    summary["rollout"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["t_s"].as_f64().unwrap(),
                format!(
                    "{} {}",
                    e["kind"].as_str().unwrap(),
                    e["detail"].as_str().unwrap_or("")
                ),
            )
        })
        .collect()
}

#[test]
fn iterations_run_flaggers_blue_green() {
    let file = blue_green(
        "mflag-bg",
        "    interval: 15s\n    threshold: 2\n    iterations: 3\n",
    );
    let s = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let (r, _) = s.manifest.as_ref().unwrap();
    let it = r
        .settings
        .iter()
        .find(|st| st.key == "iterations")
        .expect("iterations read");
    assert_eq!(it.toml, "3");
    for seed in ["1", "2", "3"] {
        let out = temp_dir(&format!("mflag-bg-{seed}"));
        let o = rollsim(&[
            "run",
            file.to_str().unwrap(),
            "--seed",
            seed,
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let sum = read_summary(&out);
        assert_eq!(sum["rollout"]["outcome"], "completed", "seed {seed}");
        assert_eq!(sum["requests"]["failed"], 0, "seed {seed}");
        let ev = events(&sum);
        let at = |k: &str| {
            ev.iter()
                .find(|(_, e)| e.starts_with(k))
                .map(|(t, _)| *t)
                .unwrap_or_else(|| panic!("{k} in {ev:?}"))
        };
        let started = at("analysis_started");
        // Ticks every 15 s: iterations at +0, +15, +30; all traffic to the canary at +45;
        // promotion at +60; the primary takes the traffic at +75; done at +90.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-3;
        assert!(
            close(at("weight v2 100%"), started + 45.0),
            "seed {seed}: {ev:?}"
        );
        assert!(
            close(at("analysis_successful"), started + 60.0),
            "seed {seed}: {ev:?}"
        );
        assert!(
            close(at("completed"), started + 90.0),
            "seed {seed}: {ev:?}"
        );
        // No weight step before the switch: blue/green, not the weighted canary.
        assert_eq!(
            ev.iter().filter(|(_, e)| e.starts_with("weight")).count(),
            1,
            "{ev:?}"
        );
        assert_eq!(sum["exposure"]["mixed_version_s"], 0.0);
    }
}

#[test]
fn blue_green_checks_without_a_load_tester_fail_and_roll_back() {
    let file = blue_green(
        "mflag-bg-checks",
        "    interval: 15s\n    threshold: 2\n    iterations: 3\n    metrics:\n      - name: request-success-rate\n        interval: 15s\n        thresholdRange:\n          min: 99\n",
    );
    let out = temp_dir("mflag-bg-checks-out");
    let o = rollsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "spec.analysis.iterations is not modelled: blue/green sends the canary no traffic"
        ),
        "{err}"
    );
    let sum = read_summary(&out);
    assert_eq!(sum["rollout"]["outcome"], "aborted");
    assert_eq!(
        sum["exposure"]["users_exposed"], 0,
        "the canary never served"
    );
}

#[test]
fn the_kubernetes_provider_forces_ten_iterations_and_a_b_match_is_warned() {
    let file = blue_green("mflag-k8s", "    interval: 15s\n    match:\n      - headers:\n          x-canary:\n            exact: insider\n");
    let yaml = std::fs::read_to_string(file.with_file_name("bg.yaml"))
        .unwrap()
        .replace("  service:\n", "  provider: kubernetes\n  service:\n");
    std::fs::write(file.with_file_name("bg.yaml"), yaml).unwrap();
    let s = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let (r, _) = s.manifest.as_ref().unwrap();
    let it = r
        .settings
        .iter()
        .find(|st| st.key == "iterations")
        .expect("iterations");
    assert_eq!(
        it.toml, "10",
        "scheduler.go: kubernetes provider, iterations < 1 → 10"
    );
    let warned: Vec<&str> = r.unmodelled.iter().map(|(_, u)| u.field.as_str()).collect();
    assert!(warned.contains(&"spec.analysis.match"), "{warned:?}");
}
