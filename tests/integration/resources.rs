//! Pod requests fit pods on nodes (`[cluster] node_cpu` / `node_memory` / `max_pods`, `[pod]
//! requests`), as the scheduler's NodeResourcesFit filter does: the fit replaces
//! `pods_per_node`, and a run with it is the run with that `pods_per_node`. Bad quantities and
//! conflicting settings are refused with their place.

use std::path::Path;

use crate::common::{rollsim, run_into, temp_dir};

/// `scenarios/rolling.toml` with its `[cluster]` room replaced by `cluster` and `pod` added at
/// the top of `[pod]`, written as `<tag>/s.toml` (the same name, so the summaries can match).
fn scenario(tag: &str, cluster: &str, pod: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(crate::common::root().join("scenarios/rolling.toml"))
        .expect("rolling.toml");
    assert!(text.contains("nodes = 5\npods_per_node = 4\n"));
    let text = text
        .replacen("nodes = 5\npods_per_node = 4\n", cluster, 1)
        .replacen("[pod]\n", &format!("[pod]\n{pod}"), 1);
    let file = temp_dir(tag).join("s.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn summary(file: &Path) -> String {
    let out = file.parent().unwrap().join("out");
    let o = run_into(file, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out.join("summary.json")).expect("summary.json")
}

#[test]
fn requests_against_node_cpu_run_as_the_pods_per_node_they_fit() {
    // 3 nodes: 12 slots for a rollout that needs 13 pods, so the fit shows in the run (a
    // warning about the room, whose line the comments keep the same in both files).
    let by_count = scenario("by-count", "nodes = 3\npods_per_node = 4\n", "# none\n");
    let by_requests = scenario(
        "by-requests",
        "nodes = 3\nnode_cpu = 2\n",
        "requests = { cpu = \"500m\" }\n",
    );
    let a = summary(&by_count);
    let b = summary(&by_requests);
    assert_eq!(a, b, "2 cores / 500m = 4 pods per node");
    // The same with memory the tighter resource, and a max_pods above both.
    let by_memory = scenario(
        "by-memory",
        "nodes = 3\nnode_cpu = \"3500m\"\nnode_memory = \"16Gi\"\nmax_pods = 30\n",
        "requests = { cpu = 0.5, memory = \"4Gi\" }\n",
    );
    let padded = scenario(
        "by-count-padded",
        "nodes = 3\npods_per_node = 4\n# node_memory\n# max_pods\n",
        "# none\n",
    );
    assert_eq!(summary(&padded), summary(&by_memory), "min(30, 7, 4) = 4");
    // …and max_pods the tightest.
    let by_max = scenario(
        "by-max-pods",
        "nodes = 3\nnode_cpu = 64\nmax_pods = 4\n",
        "requests = { cpu = \"100m\", memory = \"128974848\" }\n",
    );
    let out = rollsim(&["validate", by_max.to_str().unwrap()]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("memory request is not checked against the nodes")
            && err.contains("node_memory"),
        "a memory request without node_memory is a warning: {err}"
    );
    // A different fit is a different run: the comparison above can fail.
    let by_three = scenario("by-three", "nodes = 3\npods_per_node = 3\n", "# none\n");
    assert_ne!(a, summary(&by_three));
}

#[test]
fn requests_without_node_capacity_warn_that_pods_per_node_decides() {
    let file = scenario(
        "no-capacity",
        "nodes = 5\npods_per_node = 4\n",
        "requests = { cpu = \"500m\", memory = \"1Gi\" }\n",
    );
    let o = rollsim(&["validate", file.to_str().unwrap()]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("s.toml:26:")
            && err.contains("pods_per_node (4) decides")
            && err.contains("node_cpu")
            && err.contains("node_memory"),
        "{err}"
    );
}

/// `run` on `text` exits 2 at `line` of the file, saying each of `needles`, writing nothing.
fn refused(file: &Path, line: usize, needles: &[&str]) {
    let out = file.parent().unwrap().join("out");
    let o = run_into(file, &out, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!out.join("summary.json").exists());
    assert!(
        err.contains(&format!("s.toml:{line}:")),
        "line {line}: {err}"
    );
    assert!(err.contains("help:"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing in {err}");
    }
}

#[test]
fn conflicting_or_impossible_node_settings_are_refused_with_their_place() {
    let both = scenario(
        "both",
        "nodes = 3\npods_per_node = 4\nnode_cpu = 2\n",
        "requests = { cpu = \"500m\" }\n",
    );
    refused(&both, 22, &["pods_per_node", "node_cpu", "keep one"]);
    let too_big = scenario(
        "too-big",
        "nodes = 3\nnode_memory = \"2Gi\"\n",
        "requests = { memory = \"3Gi\" }\n",
    );
    refused(
        &too_big,
        22,
        &["\"2Gi\"", "\"3Gi\"", "no pod could ever be scheduled"],
    );
    let bad = scenario(
        "bad-quantity",
        "nodes = 3\nnode_cpu = 2\n",
        "requests = { cpu = \"500 m\" }\n",
    );
    refused(&bad, 26, &["\"500 m\" is not a Kubernetes quantity"]);
    let suffix = scenario(
        "bad-suffix",
        "nodes = 3\nnode_memory = \"16GB\"\n",
        "requests = { memory = \"1Gi\" }\n",
    );
    refused(&suffix, 22, &["unknown suffix \"GB\"", "Gi"]);
    let per_version = scenario("per-version", "nodes = 3\nnode_cpu = 2\n", "")
        .to_str()
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&per_version).unwrap();
    assert!(text.contains("[versions.v2]\n"));
    std::fs::write(
        &per_version,
        text.replacen(
            "[versions.v2]\n",
            "[versions.v2]\npod = { requests = { cpu = \"1\" } }\n",
            1,
        ),
    )
    .unwrap();
    let o = run_into(Path::new(&per_version), &temp_dir("per-version-out"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not per version"));
}
