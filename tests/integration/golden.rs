//! Golden outputs: every shipped scenario's `summary.json`, and the text summary of one run,
//! are snapshots (insta). Any change to a number a user sees — intended or not — shows up here
//! as a diff to review: `cargo insta review` (or set `INSTA_UPDATE=always` and read
//! `git diff`) after a change that legitimately moves results, and say why in the commit.

use rollsim::report::{summary_json, summary_text};
use rollsim::scenario::Scenario;
use rollsim::sim::Simulation;

fn shipped() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(crate::common::root().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn run(path: &std::path::Path) -> rollsim::sim::RunOutput {
    let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Simulation::new(&scenario)
        .run()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_shipped_scenarios_summary_matches_its_snapshot() {
    let files = shipped();
    assert!(files.len() >= 18, "expected the shipped scenarios");
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let json = summary_json(&run(&path));
        insta::assert_snapshot!(format!("summary-{name}"), json);
    }
}

#[test]
fn the_text_summary_of_a_rolling_update_matches_its_snapshot() {
    let out = run(&crate::common::root().join("scenarios/rolling.toml"));
    insta::assert_snapshot!("text-rolling", summary_text(&out.summary));
}
