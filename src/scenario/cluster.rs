//! `[cluster]`: the nodes, and how many pods fit on one.
//!
//! A node's room is given one of two ways. `pods_per_node` sets it directly. Or the node is
//! described as the scheduler sees it — its allocatable `node_cpu` and `node_memory` and the
//! kubelet's `max_pods` — and the pod's `[pod] requests` decide the fit, as kube-scheduler's
//! `NodeResourcesFit` filter does (pkg/scheduler/framework/plugins/noderesources/fit.go,
//! `fitsRequest`): a pod fits a node while, for every resource the pod requests, the sum of
//! the requests of the pods on it stays ≤ the node's allocatable, and the node holds fewer pods
//! than its `allowedPodNumber` (the kubelet's `--max-pods`, default 110: kubelet config
//! `maxPods`, pkg/kubelet/apis/config/v1beta1/defaults.go). Every pod of a scenario requests
//! the same, so the fit is one number, the model's `pods_per_node`:
//! `min(max_pods, ⌊node_cpu / cpu request⌋, ⌊node_memory / memory request⌋)` over the resources
//! requested. A zero or absent request always fits that resource (the filter skips it); a pod
//! with no requests fits `max_pods`. The scheduler's default requests for pods without any
//! (100m, 200 MB) are for scoring nodes, not for this filter, and are not applied.

use super::problems::{child, path, Path, Problems};
use super::quantity::{parse, RawQuantity};
use super::raw::{RawRequests, RawScenario};
use crate::model::ClusterSpec;

/// The kubelet's default `--max-pods` (`maxPods: 110`).
pub(super) const KUBELET_MAX_PODS: u32 = 110;

/// The most pods on one node rollsim accepts (as `pods_per_node`).
const MAX_PER_NODE: i64 = 10_000;

/// One resource's part of the fit: what a node has and what a pod asks, in millicores or
/// bytes, with both as written for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Dimension {
    /// `cpu` or `memory`.
    pub(super) name: &'static str,
    /// The node's allocatable, if given.
    pub(super) node: Option<u64>,
    /// The pod's request (0: none).
    pub(super) request: u64,
}

/// Pods one node holds: `max_pods`, lowered by every resource both the node and the pod
/// name. `Err(dimension)` when the pod's request of that resource is above the node's: no
/// node could ever hold it.
pub(super) fn fit(max_pods: u32, dims: &[Dimension]) -> Result<u32, &'static str> {
    let mut n = u64::from(max_pods);
    for d in dims {
        if let (Some(node), r) = (d.node, d.request) {
            if r == 0 {
                continue;
            }
            let k = node / r;
            if k == 0 {
                return Err(d.name);
            }
            n = n.min(k);
        }
    }
    Ok(n as u32)
}

/// A quantity at `p`, in millicores (`milli`) or units; a problem when it is not one.
fn quantity(pr: &mut Problems<'_>, p: &Path, q: &RawQuantity, milli: bool) -> Option<u64> {
    let key = p.join(".");
    let example = if milli {
        "a number of cores (2, 0.5) or a quantity string (\"500m\", \"3500m\")"
    } else {
        "a quantity string such as \"1Gi\", \"512Mi\" or \"2G\", or a number of bytes"
    };
    match parse(&q.0) {
        Ok(v) => match if milli { v.milli() } else { v.units() } {
            Some(v) => Some(v),
            None => {
                pr.add(
                    p,
                    format!("`{key}` = \"{}\" is too large", q.0),
                    format!("give {example}"),
                );
                None
            }
        },
        Err(why) => {
            pr.add(
                p,
                format!("`{key}` = \"{}\" is not a Kubernetes quantity: {why}", q.0),
                format!("give {example}"),
            );
            None
        }
    }
}

/// Millicores or bytes as a reader would write them: `2 (2000m)`, `"1Gi" (1073741824 bytes)`.
fn shown(written: &RawQuantity, v: u64, cpu: bool) -> String {
    if cpu {
        format!("\"{}\" ({v}m)", written.0)
    } else {
        format!("\"{}\" ({v} bytes)", written.0)
    }
}

/// `[cluster]`, with the fit of `[pod] requests` on its nodes.
pub(super) fn cluster(pr: &mut Problems<'_>, raw: &RawScenario) -> ClusterSpec {
    let cp = path(&["cluster"]);
    let c = &raw.cluster;
    let nodes = pr.count(&child(&cp, "nodes"), c.nodes, 10, 1, 1_000_000);
    // A request in a version's own pod table would make pods of different sizes: the fit is
    // one number for the whole cluster.
    for (name, v) in &raw.versions {
        if v.pod.as_ref().is_some_and(|p| p.requests.is_some()) {
            pr.add(
                &path(&["versions", name, "pod", "requests"]),
                "requests are set for the whole cluster, not per version",
                "move them to [pod] requests = { cpu = \"500m\", memory = \"1Gi\" }",
            );
        }
    }
    let rp = path(&["pod", "requests"]);
    let none = RawRequests::default();
    let req = raw.pod.requests.as_ref().unwrap_or(&none);
    let cpu_req = req
        .cpu
        .as_ref()
        .and_then(|q| quantity(pr, &child(&rp, "cpu"), q, true));
    let mem_req = req
        .memory
        .as_ref()
        .and_then(|q| quantity(pr, &child(&rp, "memory"), q, false));
    let node_cpu = c
        .node_cpu
        .as_ref()
        .and_then(|q| quantity(pr, &child(&cp, "node_cpu"), q, true));
    let node_mem = c
        .node_memory
        .as_ref()
        .and_then(|q| quantity(pr, &child(&cp, "node_memory"), q, false));
    let described = [
        ("node_cpu", c.node_cpu.is_some()),
        ("node_memory", c.node_memory.is_some()),
        ("max_pods", c.max_pods.is_some()),
    ];
    let pods_per_node = match described.iter().find(|(_, given)| *given) {
        None => pr.count(
            &child(&cp, "pods_per_node"),
            c.pods_per_node,
            10,
            1,
            MAX_PER_NODE,
        ),
        Some((other, _)) => {
            if c.pods_per_node.is_some() {
                pr.add(
                    &child(&cp, "pods_per_node"),
                    format!("`cluster.pods_per_node` and `cluster.{other}` both decide how many pods fit on a node"),
                    "keep one: pods_per_node sets the number directly; node_cpu / node_memory / max_pods describe the node and the pod's [pod] requests decide the fit",
                );
            }
            let max_pods = pr.count(
                &child(&cp, "max_pods"),
                c.max_pods,
                KUBELET_MAX_PODS,
                1,
                MAX_PER_NODE,
            );
            let dims = [
                Dimension {
                    name: "cpu",
                    node: node_cpu,
                    request: cpu_req.unwrap_or(0),
                },
                Dimension {
                    name: "memory",
                    node: node_mem,
                    request: mem_req.unwrap_or(0),
                },
            ];
            match fit(max_pods, &dims) {
                Ok(n) => n,
                Err(res) => {
                    let cpu = res == "cpu";
                    let (node, request) = if cpu {
                        (c.node_cpu.as_ref(), req.cpu.as_ref())
                    } else {
                        (c.node_memory.as_ref(), req.memory.as_ref())
                    };
                    let d = &dims[usize::from(!cpu)];
                    let key = if cpu { "node_cpu" } else { "node_memory" };
                    pr.add(
                        &child(&cp, key),
                        format!(
                            "a node's allocatable {res}, `cluster.{key}` = {}, is less than the pod's {res} request, {}: no pod could ever be scheduled (the scheduler's NodeResourcesFit filter rejects every node)",
                            node.map_or(String::new(), |n| shown(n, d.node.unwrap_or(0), cpu)),
                            request.map_or(String::new(), |r| shown(r, d.request, cpu)),
                        ),
                        format!("raise `cluster.{key}` to at least the request, or lower [pod] requests.{res}"),
                    );
                    1
                }
            }
        }
    };
    ClusterSpec {
        nodes,
        pods_per_node,
        cost_per_pod_hour: match c.cost_per_pod_hour {
            None => 0.05,
            Some(v) if v >= 0.0 && v.is_finite() => v,
            Some(v) => {
                pr.add(
                    &child(&cp, "cost_per_pod_hour"),
                    format!("a price of {v} per pod-hour"),
                    "give a price ≥ 0",
                );
                0.0
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(name: &'static str, node: Option<u64>, request: u64) -> Dimension {
        Dimension {
            name,
            node,
            request,
        }
    }

    #[test]
    fn the_tightest_requested_resource_decides() {
        // 2 cores / 500m = 4; 16Gi / 1Gi = 16; max 110.
        let cpu = dim("cpu", Some(2000), 500);
        let mem = dim("memory", Some(16 << 30), 1 << 30);
        assert_eq!(fit(110, &[cpu.clone(), mem.clone()]), Ok(4));
        // 16Gi / 5Gi = 3 (floor), below the CPU's 4.
        let big = dim("memory", Some(16 << 30), 5 << 30);
        assert_eq!(fit(110, &[cpu.clone(), big]), Ok(3));
        // max_pods below both.
        assert_eq!(fit(2, &[cpu, mem]), Ok(2));
        // 3500m / 1000m = 3.
        assert_eq!(fit(110, &[dim("cpu", Some(3500), 1000)]), Ok(3));
    }

    #[test]
    fn no_request_or_no_capacity_leaves_max_pods() {
        assert_eq!(fit(110, &[]), Ok(110));
        assert_eq!(fit(110, &[dim("cpu", Some(2000), 0)]), Ok(110));
        assert_eq!(fit(110, &[dim("cpu", None, 500)]), Ok(110));
        assert_eq!(fit(30, &[dim("memory", Some(1 << 30), 0)]), Ok(30));
    }

    #[test]
    fn a_request_above_the_node_fits_nowhere() {
        assert_eq!(fit(110, &[dim("cpu", Some(2000), 2001)]), Err("cpu"));
        assert_eq!(
            fit(
                110,
                &[dim("cpu", Some(2000), 2000), dim("memory", Some(1), 2)]
            ),
            Err("memory")
        );
        // Exactly the node's allocatable fits one (sum of requests ≤ allocatable).
        assert_eq!(fit(110, &[dim("cpu", Some(2000), 2000)]), Ok(1));
    }
}
