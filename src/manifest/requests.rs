//! A pod template's resource requests → `[pod] requests`, the pod's *effective* request as
//! kube-scheduler computes it before its NodeResourcesFit filter (`computePodResourceRequest`,
//! which calls `PodRequests` in k8s.io/component-helpers/resource/helpers.go; the rule is in
//! the Kubernetes docs, "Init Containers" → "Resource sharing within containers"):
//!
//! * per resource, the sum over the app containers (`containers`, sidecars included);
//! * a sidecar (an init container with `restartPolicy: Always`) adds to that sum, and to the
//!   requests of every init container after it, as it keeps running beside them;
//! * the effective request is the larger of that sum and the largest init container's
//!   request, since init containers run one at a time before the app containers.
//!
//! A container that gives `limits` but no `requests` for a resource requests its limit: the
//! API server defaults requests to limits (`SetDefaults_Pod`, pkg/apis/core/v1/defaults.go).
//! CPU is read in millicores and memory in bytes, rounded up, as the scheduler reads them.
//! Pod `overhead` (set by a RuntimeClass) and resources other than cpu and memory are not
//! modelled and are listed as such.

use super::read::Ctx;
use super::yaml::{Kind, Node};
use crate::scenario::quantity;

/// cpu, memory.
const RESOURCES: [&str; 2] = ["cpu", "memory"];

/// One container's requests: millicores and bytes, `None` where it names none; with the
/// first node that named one (for the setting's line).
fn container<'n>(cx: &mut Ctx<'_>, c: &'n Node, at: &str) -> ([Option<u64>; 2], Option<&'n Node>) {
    let mut out = [None, None];
    let mut first = None;
    for part in ["requests", "limits"] {
        let Some(m) = c.at(&["resources", part]) else {
            continue;
        };
        for (k, _) in m.entries() {
            if !RESOURCES.contains(&k.as_str()) && part == "requests" {
                cx.unmodelled(
                    &format!("{at}.resources.requests.{k}"),
                    m.get(k),
                    format!("a request for {k} is not modelled: only cpu and memory decide how many pods fit on a node"),
                );
            }
        }
    }
    for (i, res) in RESOURCES.into_iter().enumerate() {
        let (n, part) = match c.at(&["resources", "requests", res]) {
            Some(n) => (n, "requests"),
            None => match c.at(&["resources", "limits", res]) {
                Some(n) => (n, "limits"),
                None => continue,
            },
        };
        let field = format!("{at}.resources.{part}.{res}");
        let text = match &n.kind {
            Kind::Str(s) => s.clone(),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => format!("{f}"),
            _ => {
                cx.error(
                    Some(n),
                    format!("`{field}` must be a quantity, not {}", n.what()),
                    "write e.g. `cpu: 500m` or `memory: 256Mi`",
                );
                continue;
            }
        };
        let value = quantity::parse(&text).and_then(|q| {
            if i == 0 { q.milli() } else { q.units() }.ok_or_else(|| "too large".to_string())
        });
        match value {
            Ok(v) => {
                out[i] = Some(v);
                first = first.or(Some(n));
            }
            Err(why) => cx.error(
                Some(n),
                format!("`{field}` = \"{text}\" is not a Kubernetes quantity: {why}"),
                "write e.g. `cpu: 500m` (or `0.5`) or `memory: 256Mi` (or `1Gi`, `128974848`)",
            ),
        }
    }
    (out, first)
}

/// `v` millicores as a quantity string: whole cores plainly, else `NNNm`.
fn cpu_text(v: u64) -> String {
    if v.is_multiple_of(1000) {
        (v / 1000).to_string()
    } else {
        format!("{v}m")
    }
}

/// `v` bytes as a quantity string: the largest binary suffix that divides it exactly, else
/// the largest decimal one, else bytes.
fn memory_text(v: u64) -> String {
    if v == 0 {
        return "0".into();
    }
    for (shift, suffix) in [(50, "Pi"), (40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki")] {
        if v.is_multiple_of(1u64 << shift) {
            return format!("{}{suffix}", v >> shift);
        }
    }
    for (unit, suffix) in [
        (1_000_000_000_000, "T"),
        (1_000_000_000, "G"),
        (1_000_000, "M"),
        (1000, "k"),
    ] {
        if v.is_multiple_of(unit) {
            return format!("{}{suffix}", v / unit);
        }
    }
    v.to_string()
}

/// The pod's effective requests, set as `[pod] requests` when any container names one.
pub(super) fn pod_requests(cx: &mut Ctx<'_>, ps: &Node, at: &str) {
    let mut sum = [0u64; 2];
    let mut named = [false; 2];
    let mut first: Option<&Node> = None;
    let mut sources = Vec::new();
    let mut add = |acc: &mut [u64; 2], r: &[Option<u64>; 2]| {
        for i in 0..2 {
            if let Some(v) = r[i] {
                acc[i] = acc[i].saturating_add(v);
                named[i] = true;
            }
        }
    };
    for (i, c) in ps
        .get("containers")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let path = format!("{at}.containers[{i}]");
        let (r, n) = container(cx, c, &path);
        if n.is_some() {
            sources.push(path);
        }
        first = first.or(n);
        add(&mut sum, &r);
    }
    let mut sidecars = [0u64; 2];
    let mut init_max = [0u64; 2];
    for (i, c) in ps
        .get("initContainers")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let path = format!("{at}.initContainers[{i}]");
        let (r, n) = container(cx, c, &path);
        if n.is_some() {
            sources.push(path);
        }
        first = first.or(n);
        let sidecar = c.get("restartPolicy").and_then(Node::str) == Some("Always");
        let running = if sidecar {
            add(&mut sum, &r);
            add(&mut sidecars, &r);
            sidecars
        } else {
            let mut own = sidecars;
            add(&mut own, &r);
            own
        };
        for k in 0..2 {
            init_max[k] = init_max[k].max(running[k]);
        }
    }
    if let Some(n) = ps.get("overhead") {
        cx.unmodelled(
            &format!("{at}.overhead"),
            Some(n),
            "pod overhead is not modelled: the scheduler adds it to the pod's requests",
        );
    }
    if !named.contains(&true) {
        return;
    }
    let effective = [sum[0].max(init_max[0]), sum[1].max(init_max[1])];
    let mut parts = Vec::new();
    let mut words = Vec::new();
    if named[0] {
        parts.push(format!("cpu = \"{}\"", cpu_text(effective[0])));
        words.push(format!("{} CPU", cpu_text(effective[0])));
    }
    if named[1] {
        parts.push(format!("memory = \"{}\"", memory_text(effective[1])));
        words.push(format!("{} memory", memory_text(effective[1])));
    }
    let field = match sources.as_slice() {
        [one] => format!("{one}.resources.requests"),
        _ => format!("{at} (effective requests: containers' sum, or the largest init container's)"),
    };
    cx.set(
        "pod",
        "requests",
        format!("{{ {} }}", parts.join(", ")),
        &field,
        first,
        "",
        format!(
            "each pod requests {}: against [cluster] node_cpu / node_memory this decides how many pods fit on a node, as the scheduler's NodeResourcesFit filter does",
            words.join(" and ")
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_written_back_plainly() {
        assert_eq!(cpu_text(250), "250m");
        assert_eq!(cpu_text(2000), "2");
        assert_eq!(memory_text(256 << 20), "256Mi");
        assert_eq!(memory_text(3 << 30), "3Gi");
        assert_eq!(memory_text(1536), "1536");
        assert_eq!(memory_text(129_000_000), "129M");
        assert_eq!(memory_text(1_000_000_000), "1G");
        assert_eq!(memory_text(128_974_849), "128974849");
        assert_eq!(memory_text(0), "0");
    }
}
