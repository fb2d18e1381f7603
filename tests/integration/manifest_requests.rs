//! A manifest's `resources.requests` become `[pod] requests`: the pod's effective request as
//! the scheduler computes it (containers summed, sidecars added, the largest init container
//! if larger; limits stand in for absent requests), which against the traffic file's nodes
//! decides how many pods fit on one. Bad quantities are refused at their manifest line.

use std::path::{Path, PathBuf};

use rollsim::scenario::Scenario;

use crate::common::{rollsim, root, temp_dir};

/// A Deployment whose pod template has these `containers` and `initContainers` (YAML
/// fragments at the indentation of a pod spec's list items).
fn deployment(containers: &str, init: &str) -> String {
    let init = if init.is_empty() {
        String::new()
    } else {
        format!("      initContainers:\n{init}")
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 10
  selector:
    matchLabels:
      app: shop
  template:
    metadata:
      labels:
        app: shop
    spec:
{init}      containers:
{containers}"
    )
}

/// The shop traffic file with `[cluster]` room replaced by `cluster`, beside `deploy.yaml`
/// holding `yaml`; returns the scenario file.
fn scenario(tag: &str, yaml: &str, cluster: &str) -> PathBuf {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("deploy.yaml"), yaml).unwrap();
    let text =
        std::fs::read_to_string(root().join("examples/manifests/traffic/shop.toml")).unwrap();
    assert!(text.contains("nodes = 5\npods_per_node = 4\n"));
    let text = format!(
        "manifests = [\"deploy.yaml\"]\n{}",
        text.replacen("nodes = 5\npods_per_node = 4\n", cluster, 1)
    );
    let file = dir.join("s.toml");
    std::fs::write(&file, text).unwrap();
    file
}

const APP: &str = "        - name: shop
          image: registry.example.com/shop:1.5
          resources:
            requests:
              cpu: 250m
              memory: 256Mi
";

#[test]
fn a_deployments_requests_fit_pods_on_the_traffic_files_nodes() {
    // 4 cores / 250m = 16; 4Gi / 256Mi = 16; max_pods 110: 16.
    let file = scenario(
        "mreq-one",
        &deployment(APP, ""),
        "nodes = 5\nnode_cpu = 4\nnode_memory = \"4Gi\"\n",
    );
    let s = Scenario::load(&file).unwrap();
    assert_eq!(s.cluster.pods_per_node, 16);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    // With a second container, a sidecar init container and a plain init container:
    // containers 250m + 500m (limits stand in for requests) + sidecar 100m = 850m CPU;
    // memory 256Mi + 0 + 64Mi = 320Mi; the init container (with the sidecar beside it) asks
    // 200m + 100m = 300m CPU and 1Gi + 64Mi of memory, above the sum: the effective request is
    // 850m CPU and 1088Mi memory. Nodes of 4 cores and 8Gi: min(4000 / 850, 8192 / 1088) = 4.
    let more = format!(
        "{APP}        - name: proxy
          image: envoy:1.30
          resources:
            limits:
              cpu: \"0.5\"
"
    );
    let init = "        - name: mesh
          image: mesh:1
          restartPolicy: Always
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
        - name: migrate
          image: shop-migrate:1.5
          resources:
            requests:
              cpu: 200m
              memory: 1Gi
";
    let file = scenario(
        "mreq-many",
        &deployment(&more, init),
        "nodes = 5\nnode_cpu = 4\nnode_memory = \"8Gi\"\n",
    );
    let s = Scenario::load(&file).unwrap();
    let (reading, _) = s.manifest.as_ref().unwrap();
    let req = reading
        .settings
        .iter()
        .find(|st| st.key == "requests")
        .expect("a requests setting");
    assert_eq!(req.toml, "{ cpu = \"850m\", memory = \"1088Mi\" }");
    assert_eq!(s.cluster.pods_per_node, 4);
    // explain prints it with its line (the first container's cpu request, line 34).
    let o = rollsim(&[
        "explain",
        "--manifest",
        file.with_file_name("deploy.yaml").to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("line   34  spec.template.spec (effective requests: containers' sum, or the largest init container's) → [pod] requests = { cpu = \"850m\", memory = \"1088Mi\" }"),
        "{out}"
    );
}

fn exit_2(file: &Path, needles: &[&str]) -> String {
    let o = rollsim(&["validate", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing in {err}");
    }
    err
}

#[test]
fn bad_requests_in_a_manifest_are_refused_at_their_place() {
    let bad = APP.replace("cpu: 250m", "cpu: 250 millicores");
    let file = scenario(
        "mreq-bad",
        &deployment(&bad, ""),
        "nodes = 5\nnode_cpu = 4\n",
    );
    exit_2(
        &file,
        &[
            "deploy.yaml:20:20",
            "\"250 millicores\" is not a Kubernetes quantity",
            "help:",
        ],
    );
    // A request above a node's allocatable: placed at the node's setting, naming both.
    let file = scenario(
        "mreq-big",
        &deployment(APP, ""),
        "nodes = 5\nnode_memory = \"128Mi\"\n",
    );
    exit_2(
        &file,
        &[
            "s.toml:21:15",
            "\"128Mi\"",
            "\"256Mi\"",
            "no pod could ever be scheduled",
        ],
    );
    // The scenario may not set requests the manifest sets: one source of truth.
    let file = scenario(
        "mreq-twice",
        &deployment(APP, ""),
        "nodes = 5\nnode_cpu = 4\n",
    );
    let text = std::fs::read_to_string(&file).unwrap().replacen(
        "[pod]\n",
        "[pod]\nrequests = { cpu = \"1\" }\n",
        1,
    );
    std::fs::write(&file, text).unwrap();
    exit_2(&file, &["`pod.requests` is also set by the manifest"]);
}

#[test]
fn manifest_requests_without_node_capacity_warn_that_pods_per_node_decides() {
    let file = scenario(
        "mreq-warn",
        &deployment(APP, ""),
        "nodes = 5\npods_per_node = 4\n",
    );
    let s = Scenario::load(&file).unwrap();
    assert_eq!(s.cluster.pods_per_node, 4);
    let w: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("cpu and memory requests are not checked")
            && w[0].contains("pods_per_node (4) decides")
            && w[0].contains("read from the manifest"),
        "{w:?}"
    );
}
