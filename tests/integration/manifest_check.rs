//! The examples as CI gates: `rollsim check` passes on every example scenario, each example
//! runs byte for byte as its hand-written equivalent (examples/manifests/equivalent/), and a
//! gate catches the missing-preStop mistake.

use crate::common::{rollsim, root, temp_dir};
use crate::manifests::summary_of;

const EXAMPLES: [&str; 6] = [
    "deployment",
    "deployment-no-prestop",
    "rollout-canary",
    "rollout-blue-green",
    "flagger-canary",
    "rollout-workload-ref",
];

#[test]
fn rollsim_check_passes_on_every_example_over_several_seeds() {
    let files: Vec<String> = EXAMPLES
        .iter()
        .map(|e| format!("examples/manifests/{e}.toml"))
        .collect();
    let junit = temp_dir("mcheck-junit").join("report.xml");
    let mut args = vec!["check", "--runs", "3", "--junit", junit.to_str().unwrap()];
    args.extend(files.iter().map(String::as_str));
    let o = rollsim(&args);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for e in EXAMPLES {
        assert!(
            out.contains(&format!("examples/manifests/{e}.toml")),
            "{e} checked: {out}"
        );
    }
    let report = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        report.matches("<testsuite ").count(),
        EXAMPLES.len(),
        "{report}"
    );
    assert!(!report.contains("<failure"), "{report}");
    // The glob a README reader types finds exactly the gates: nothing else sits beside them.
    let mut tomls: Vec<String> = std::fs::read_dir(root().join("examples/manifests"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    tomls.sort();
    let mut want: Vec<String> = EXAMPLES.iter().map(|e| format!("{e}.toml")).collect();
    want.sort();
    assert_eq!(tomls, want);
}

#[test]
fn each_example_runs_exactly_as_its_hand_written_toml() {
    for e in EXAMPLES {
        let from_manifest = summary_of(
            &[&format!("examples/manifests/{e}.toml")],
            &format!("mcheck-m-{e}"),
        );
        let by_hand = summary_of(
            &[&format!("examples/manifests/equivalent/{e}.toml")],
            &format!("mcheck-h-{e}"),
        );
        assert_eq!(
            from_manifest, by_hand,
            "{e}: byte-for-byte the same summary"
        );
    }
}

#[test]
fn a_gate_catches_the_missing_prestop_mistake() {
    // The gate a real repository writes: no request may fail. On the mistaken manifest it fails
    // (exit 1) and names the expectation and the actual count; on the correct one it holds.
    let dir = temp_dir("mcheck-gate");
    for (name, want) in [("deployment-no-prestop", 1), ("deployment", 0)] {
        let text = std::fs::read_to_string(root().join(format!("examples/manifests/{name}.toml")))
            .unwrap();
        let gate = text[..text.find("[expect]").unwrap()].to_string()
            + "[expect]\n\"requests.failed\" = \"<= 0\"\n";
        let gate = gate.replace(
            &format!("manifests = [\"{name}.yaml\"]"),
            &format!(
                "manifests = [{:?}]",
                root()
                    .join(format!("examples/manifests/{name}.yaml"))
                    .display()
                    .to_string()
            ),
        );
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, gate).unwrap();
        let o = rollsim(&["check", file.to_str().unwrap()]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(want), "{name}: {out}");
        if want == 1 {
            assert!(out.contains("FAIL"), "{out}");
            assert!(out.contains("requests.failed <= 0"), "{out}");
        }
    }
}
