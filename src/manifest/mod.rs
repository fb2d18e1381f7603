//! Kubernetes manifests as input: a Deployment read into the settings a hand-written scenario
//! would give, so running the manifest and running the equivalent TOML are the same run.
//!
//! `yaml.rs` parses within limits into a position-keeping tree; `k8s.rs` reads an `apps/v1`
//! Deployment with the API server's defaults; `argo.rs` a Rollout (inline template or
//! `workloadRef`) and `analysis.rs` its AnalysisTemplates; `flagger.rs` a Canary. Workloads are
//! read in `finish`, after every file, so references resolve across files. `read.rs` holds what
//! was understood (each setting with its field and line), what could not be modelled
//! (warnings), and the problems. The supported and unsupported fields: docs/manifests.md.
//! The scenario layer (`scenario/manifests.rs`) maps the container's image onto a scenario
//! version and merges the settings into the scenario's own tables; `explain` prints them.

mod analysis;
mod argo;
mod flagger;
mod k8s;
pub mod read;
mod requests;
pub mod yaml;

use std::fmt::Write as _;

pub use read::{Reading, Setting, Source, Unmodelled};

use crate::scenario::Diagnostic;
use read::{diagnostic, Ctx};
use yaml::Node;

/// Kinds that may sit beside the workload in the same file and do not change a rollout.
const BESIDE: [&str; 9] = [
    "Service",
    "ConfigMap",
    "Secret",
    "Ingress",
    "ServiceAccount",
    "Namespace",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ServiceMonitor",
];

/// Reads one manifest file's `text` into `out`; returns its problems.
pub fn read_text(file: &str, text: &str, out: &mut Reading) -> Vec<Diagnostic> {
    out.files.push(file.to_string());
    let docs = match yaml::documents(text) {
        Ok(d) => d,
        Err(e) => {
            return vec![diagnostic(
                file,
                text,
                (e.line, e.column),
                format!("invalid YAML: {}", e.message),
                if e.message.contains("limit") || e.message.contains("budget") {
                    "the file exceeds rollsim's limits for a manifest (size, nesting, aliases); real manifests stay far below them: render it (`kubectl kustomize`, `helm template`) and pass the result".into()
                } else {
                    "fix the YAML at this place (indent with spaces, `key: value`); `kubectl apply --dry-run=client -f FILE` checks it too".into()
                },
            )]
        }
    };
    let mut cx = Ctx {
        file: file.to_string(),
        text,
        out,
        errors: Vec::new(),
    };
    for doc in &docs {
        document(&mut cx, doc);
    }
    if docs.is_empty() {
        cx.error(
            None,
            "the manifest holds no document",
            "give an apps/v1 Deployment",
        );
    }
    cx.errors
}

fn document(cx: &mut Ctx<'_>, doc: &Node) {
    if !matches!(doc.kind, yaml::Kind::Map(_)) {
        cx.error(
            Some(doc),
            format!("a manifest document must be a mapping, not {}", doc.what()),
            "start the document with `apiVersion: apps/v1` and `kind: Deployment`",
        );
        return;
    }
    let api_n = doc.get("apiVersion");
    let kind_n = doc.get("kind");
    let api = api_n.and_then(Node::str).unwrap_or("");
    let Some(kind) = kind_n.and_then(Node::str) else {
        cx.error(
            Some(doc),
            "this document has no `kind`",
            "add `kind: Deployment` (and `apiVersion: apps/v1`)",
        );
        return;
    };
    match (api, kind) {
        ("apps/v1", "Deployment") => {
            // Read in `finish`, once every Rollout is known: one a Rollout's `workloadRef`
            // names lends its pod template and is not a workload of its own.
            let (file, text) = (cx.file.clone(), cx.text.to_string());
            cx.out.deployments.push((file, text, doc.clone()));
        }
        (_, "Deployment") => cx.error(api_n.or(kind_n), format!("apiVersion \"{api}\" is not supported for a Deployment"), "use `apiVersion: apps/v1` (extensions/v1beta1 and apps/v1beta* were removed in Kubernetes 1.16)"),
        ("argoproj.io/v1alpha1", "Rollout") => {
            let (file, text) = (cx.file.clone(), cx.text.to_string());
            cx.out.pending.push((file, text, doc.clone()));
        }
        ("argoproj.io/v1alpha1", "AnalysisTemplate" | "ClusterAnalysisTemplate") => {
            match doc.at(&["metadata", "name"]).and_then(Node::str) {
                Some(name) => {
                    let (name, file) = (name.to_string(), cx.file.clone());
                    cx.out.templates.push((name, file, doc.clone()));
                }
                None => cx.error(Some(doc), "the AnalysisTemplate has no metadata.name", "name it: a Rollout refers to it by name"),
            }
        }
        ("flagger.app/v1beta1", "Canary") => {
            let (file, text) = (cx.file.clone(), cx.text.to_string());
            cx.out.pending.push((file, text, doc.clone()));
        }
        (_, "Canary") => cx.error(api_n.or(kind_n), format!("apiVersion \"{api}\" is not supported for a Canary"), "use `apiVersion: flagger.app/v1beta1` (Flagger's only served version)"),
        (_, "Rollout" | "AnalysisTemplate") => cx.error(api_n.or(kind_n), format!("apiVersion \"{api}\" is not supported for a {kind}"), "use `apiVersion: argoproj.io/v1alpha1`"),
        (_, "HorizontalPodAutoscaler") => cx.unmodelled("kind: HorizontalPodAutoscaler", kind_n, "autoscaling is not modelled: the replica count stays at spec.replicas"),
        (_, k) if BESIDE.contains(&k) => {
            let line = kind_n.map_or(0, |n| n.line);
            cx.out.skipped.push((cx.file.clone(), line, k.to_string()));
        }
        (_, k) => cx.error(kind_n, format!("kind \"{k}\" ({api}) is not supported"), "rollsim reads apps/v1 Deployments; remove this document or keep it in another file"),
    }
}

/// Reads the workloads once every file's documents are known: the Deployments (but those a
/// Rollout's `workloadRef` names), then the Rollouts and Canaries; returns the problems.
pub fn finish(out: &mut Reading) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let referenced: Vec<String> = out
        .pending
        .iter()
        .filter_map(|(_, _, d)| argo::workload_ref_name(d))
        .collect();
    let rollouts = out
        .pending
        .iter()
        .filter(|(_, _, d)| d.get("kind").and_then(Node::str) == Some("Rollout"))
        .count();
    let names: Vec<Option<String>> = out
        .deployments
        .iter()
        .map(|(_, _, d)| {
            d.at(&["metadata", "name"])
                .and_then(Node::str)
                .map(str::to_string)
        })
        .collect();
    // A `workloadRef` naming no Deployment is reported at the Rollout; the Deployment it meant
    // is then not also reported as a second workload.
    let broken_ref = referenced
        .iter()
        .any(|r| !names.iter().any(|n| n.as_deref() == Some(r.as_str())));
    for (file, text, doc) in out.deployments.clone() {
        let name = doc.at(&["metadata", "name"]).and_then(Node::str);
        if name.is_some_and(|n| referenced.iter().any(|r| r == n)) || broken_ref {
            continue;
        }
        let mut cx = Ctx {
            file,
            text: &text,
            out,
            errors: Vec::new(),
        };
        if cx.out.settings.iter().any(|s| s.key == "replicas") || rollouts > 0 {
            cx.error(
                doc.get("kind"),
                "a second workload: rollsim simulates one Deployment or Rollout per scenario",
                "split the manifests: one scenario per workload (a Deployment a Rollout reads through `workloadRef` is not a second workload)",
            );
        } else {
            cx.out.deployment_name = name.map(str::to_string);
            k8s::deployment(&mut cx, &doc);
        }
        errors.extend(cx.errors);
    }
    for (file, text, doc) in std::mem::take(&mut out.pending) {
        let mut cx = Ctx {
            file,
            text: &text,
            out,
            errors: Vec::new(),
        };
        if doc.get("kind").and_then(Node::str) == Some("Canary") {
            let name = cx.out.deployment_name.clone();
            flagger::canary(&mut cx, &doc, name.as_deref());
        } else if cx.out.settings.iter().any(|s| s.key == "replicas") {
            cx.error(
                doc.get("kind"),
                "a second workload: rollsim simulates one Deployment or Rollout per scenario",
                "split the manifests: one scenario per workload",
            );
        } else {
            argo::rollout(&mut cx, &doc);
        }
        errors.extend(cx.errors);
    }
    errors
}

/// `s` as a TOML string, quoted and escaped (names from manifests may hold any character).
pub(crate) fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The tag of an image reference (`registry:5000/shop:1.5@sha256:…` → `1.5`; none → `latest`).
pub fn image_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map_or("latest", |(_, t)| t)
}

/// `rollsim explain`: each setting with its field and line, then the fields not modelled.
pub fn explain(r: &Reading, version: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Read from {}:", r.files.join(", "));
    if let Some((image, line, _)) = &r.image {
        let to = version.map_or(String::new(), |v| format!(" → [rollout] to = \"{v}\""));
        let _ = writeln!(s, "  line {line:>4}  image {image}{to}");
    }
    for st in &r.settings {
        let whence = match &st.source {
            Source::Written { line, .. } => format!("line {line:>4}"),
            Source::Default(_) => "   default".to_string(),
        };
        let dflt = match &st.source {
            Source::Default(d) if !d.is_empty() => format!(" [{d}]"),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  {whence}  {} → [{}] {} = {}{dflt}\n              {}",
            st.field, st.table, st.key, st.toml, st.meaning
        );
    }
    for (file, line, kind) in &r.skipped {
        let _ = writeln!(
            s,
            "  {file}:{line}: {kind} skipped: it does not change a rollout"
        );
    }
    if r.unmodelled.is_empty() {
        let _ = writeln!(s, "Every field that changes a rollout is modelled.");
    } else {
        let _ = writeln!(s, "Not modelled ({}):", r.unmodelled.len());
        for (file, u) in &r.unmodelled {
            let _ = writeln!(
                s,
                "  warning: {file}:{}: {}: {}",
                u.line, u.field, u.message
            );
        }
    }
    s
}

/// `rollsim explain --manifest FILE [--traffic SCENARIO]`: prints the reading; exit 2 on bad
/// input. With a scenario, the image is mapped onto its versions and the merge checked.
pub fn explain_cmd(manifests: &[std::path::PathBuf], scenario: Option<&std::path::Path>) -> u8 {
    if let Some(path) = scenario {
        return match crate::scenario::Scenario::load_with_manifests(path, manifests) {
            Ok(s) => {
                if let Some((r, v)) = &s.manifest {
                    print!("{}", explain(r, Some(v)));
                }
                0
            }
            Err(e) => {
                eprint!("{e}");
                crate::cli::EXIT_BAD_INPUT
            }
        };
    }
    let mut r = Reading {
        lenient_metrics: true,
        ..Reading::default()
    };
    let mut problems = Vec::new();
    for p in manifests {
        let shown = p.display().to_string();
        match std::fs::read(p).map(String::from_utf8) {
            Ok(Ok(t)) => problems.extend(read_text(&shown, &t, &mut r)),
            _ => problems.push(Diagnostic::whole_file(
                &shown,
                format!("cannot read {shown} as UTF-8 text"),
                Some("check the path".into()),
            )),
        }
    }
    if problems.is_empty() {
        problems = finish(&mut r);
    }
    if problems.is_empty() {
        print!("{}", explain(&r, None));
        0
    } else {
        eprint!(
            "{}",
            crate::scenario::ScenarioError {
                diagnostics: problems
            }
        );
        crate::cli::EXIT_BAD_INPUT
    }
}
