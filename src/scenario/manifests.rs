//! `manifests = ["deploy.yaml"]`: a scenario whose Deployment comes from Kubernetes manifests.
//!
//! The manifest's settings are merged into the scenario's own TOML tables before the raw
//! structs are read, as if they had been written there: a manifest and the equivalent
//! hand-written scenario resolve to the same `Scenario`, and run identically. The scenario
//! file keeps what a manifest does not say: traffic, cluster, versions (the running one in
//! `[deployment] version`), and when the manifest is applied (`[rollout] at`, default 0 s).
//!
//! ```toml
//! manifests = ["deploy.yaml"]           # relative to this file
//! [manifest]
//! versions = { "shop:1.5" = "v2" }      # image (or tag) → version; default: the tag itself
//! ```
//!
//! A key set both by the manifest and in the scenario is an error: one source of truth.

use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{position, Diagnostic};
use crate::manifest::{self, Reading};

/// What the manifests add to a scenario: TOML text for its tables, and the reading itself.
#[derive(Clone, Debug)]
pub(super) struct Prepared {
    /// `[deployment]`, `[pod]`, `[rollout]` keys as TOML.
    pub(super) toml: String,
    /// What was read (for warnings and `explain`).
    pub(super) reading: Reading,
    /// The version the manifest's image maps to.
    pub(super) version: String,
}

/// The scenario's own keys that name manifests (removed before the raw structs are read).
const KEYS: [&str; 2] = ["manifests", "manifest"];

/// Reads the manifests the scenario `text` names (relative to `file`), and `extra` ones (from
/// the command line, relative to the working directory). `Ok(None)`: no manifests.
pub(super) fn prepare(
    file: &str,
    text: &str,
    extra: &[PathBuf],
) -> Result<Option<Prepared>, Vec<Diagnostic>> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Ok(None); // the parse reports them
    }
    let doc = doc.get_ref();
    let mut problems = Vec::new();
    let here = |span: std::ops::Range<usize>, message: String, help: &str| {
        let (line, column, source_line, width) = position(text, &span);
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            message,
            help: Some(help.to_string()),
            source_line,
            width,
            notes: Vec::new(),
        }
    };
    let mut paths: Vec<(String, PathBuf)> = Vec::new();
    if let Some(v) = doc.get("manifests") {
        let dir = Path::new(file).parent().unwrap_or(Path::new(""));
        match v.get_ref() {
            DeValue::Array(a) => {
                for item in a.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => {
                            let p = dir.join(s.as_ref());
                            paths.push((p.display().to_string(), p));
                        }
                        _ => problems.push(here(
                            item.span(),
                            "a manifest must be named by a path string".into(),
                            "manifests = [\"deploy.yaml\"]",
                        )),
                    }
                }
            }
            _ => problems.push(here(
                v.span(),
                "`manifests` must be a list of paths".into(),
                "manifests = [\"deploy.yaml\"] (relative to this scenario)",
            )),
        }
    }
    if let Some(DeValue::Table(m)) = doc.get("manifest").map(|m| m.get_ref()) {
        for (k, _) in m.iter() {
            if !["versions", "metrics"].contains(&k.get_ref().as_ref()) {
                problems.push(here(k.span(), format!("unknown key `{}` in [manifest]", k.get_ref()), "[manifest] takes versions = { \"image:tag\" = \"v2\" } and metrics = { \"template-metric\" = \"error_rate\" }"));
            }
        }
    }
    for p in extra {
        // A file named both by the scenario and on the command line is read once.
        let same = |q: &PathBuf| match (q.canonicalize(), p.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => q == p,
        };
        if !paths.iter().any(|(_, q)| same(q)) {
            paths.push((p.display().to_string(), p.clone()));
        }
    }
    if paths.is_empty() {
        return if problems.is_empty() {
            Ok(None)
        } else {
            Err(problems)
        };
    }
    let mut reading = Reading {
        metric_map: metric_map(doc),
        ..Reading::default()
    };
    for (shown, p) in &paths {
        let too_big =
            std::fs::metadata(p).is_ok_and(|m| m.len() > manifest::yaml::MAX_BYTES as u64);
        let text = if too_big {
            Err(format!(
                "it is over the {}-byte limit for a manifest",
                manifest::yaml::MAX_BYTES
            ))
        } else {
            std::fs::read(p)
                .map_err(|e| format!("cannot read it: {e}"))
                .and_then(|b| String::from_utf8(b).map_err(|_| "it is not UTF-8 text".to_string()))
        };
        match text {
            Ok(t) => problems.extend(manifest::read_text(shown, &t, &mut reading)),
            Err(why) => problems.push(Diagnostic::whole_file(
                shown,
                format!("manifest {shown}: {why}"),
                Some(
                    "check the path (relative to the scenario file) and that it is a YAML manifest"
                        .into(),
                ),
            )),
        }
    }
    if problems.is_empty() {
        problems.extend(manifest::finish(&mut reading));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if !reading.settings.iter().any(|s| s.key == "replicas") {
        return Err(vec![Diagnostic::whole_file(
            &paths[0].0,
            "the manifests hold no Deployment".into(),
            Some("give an apps/v1 Deployment (kind: Deployment)".into()),
        )]);
    }
    let version = map_version(file, text, doc, &reading)?;
    // A key both the manifest and the scenario set.
    for s in &reading.settings {
        if let Some((k, _)) = doc.get(s.table).and_then(|t| match t.get_ref() {
            DeValue::Table(t) => t.get_key_value(s.key),
            _ => None,
        }) {
            let whence = match s.source {
                manifest::Source::Written { line, .. } => format!("{} line {line}", s.field),
                manifest::Source::Default(_) => format!("{} (absent: the API default)", s.field),
            };
            problems.push(here(
                k.span(),
                format!(
                    "`{}.{}` is also set by the manifest ({whence})",
                    s.table, s.key
                ),
                "remove it here: with manifests, the manifest decides the Deployment's settings",
            ));
        }
    }
    // A version's own [versions.X.pod] would override the manifest's pod template silently.
    if let Some(DeValue::Table(vs)) = doc.get("versions").map(|v| v.get_ref()) {
        for (name, v) in vs.iter() {
            let Some(DeValue::Table(pod)) = (match v.get_ref() {
                DeValue::Table(t) => t.get("pod").map(|p| p.get_ref()),
                _ => None,
            }) else {
                continue;
            };
            for s in reading.settings.iter().filter(|s| s.table == "pod") {
                if let Some((k, _)) = pod.get_key_value(s.key) {
                    problems.push(here(
                        k.span(),
                        format!(
                            "`versions.{}.pod.{}` overrides the manifest's {}",
                            name.get_ref(),
                            s.key,
                            s.field
                        ),
                        "remove it here: with manifests, the pod template comes from the manifest",
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut toml = String::new();
    for table in ["deployment", "pod", "rollout"] {
        toml.push_str(&format!("[{table}]\n"));
        for s in reading.settings.iter().filter(|s| s.table == table) {
            toml.push_str(&format!("{} = {}\n", s.key, s.toml));
        }
        if table == "rollout" {
            toml.push_str(&format!("to = \"{version}\"\n"));
            let has_at = matches!(doc.get("rollout").map(|t| t.get_ref()), Some(DeValue::Table(t)) if t.contains_key("at"));
            if !has_at {
                toml.push_str("at = \"0s\"\n");
            }
        }
    }
    if DeTable::parse(&toml).is_err() {
        return Err(vec![Diagnostic::whole_file(
            &paths[0].0,
            "rollsim could not express these manifests as scenario settings (a bug in rollsim)"
                .into(),
            Some("run `rollsim explain --manifest FILE` to see the settings, and report it".into()),
        )]);
    }
    Ok(Some(Prepared {
        toml,
        reading,
        version,
    }))
}

/// The scenario version the workload's image runs: `[manifest] versions` by image or by tag,
/// else the version named like the tag.
fn map_version(
    file: &str,
    text: &str,
    doc: &DeTable<'_>,
    r: &Reading,
) -> Result<String, Vec<Diagnostic>> {
    let (image, line, column) = r.image.clone().unwrap_or_default();
    let tag = manifest::image_tag(&image).to_string();
    let names: Vec<String> = match doc.get("versions").map(|v| v.get_ref()) {
        Some(DeValue::Table(t)) => t.keys().map(|k| k.get_ref().to_string()).collect(),
        _ => Vec::new(),
    };
    let map = doc
        .get("manifest")
        .and_then(|m| match m.get_ref() {
            DeValue::Table(t) => t.get("versions"),
            _ => None,
        })
        .and_then(|v| match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        });
    let mapped = map.and_then(|t| {
        t.iter().find_map(|(k, v)| {
            let k = k.get_ref();
            (k == &image || *k == tag).then(|| match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                _ => String::new(),
            })
        })
    });
    let want = mapped.clone().unwrap_or(tag.clone());
    if names.contains(&want) {
        return Ok(want);
    }
    let _ = text;
    let how = match mapped {
        Some(m) => {
            format!("[manifest] versions maps it to \"{m}\", which is not a version of {file}")
        }
        None => format!(
            "no version of {file} is named \"{tag}\" and [manifest] versions does not map it"
        ),
    };
    let shown = r.files.first().cloned().unwrap_or_default();
    Err(vec![manifest::read::diagnostic(
        &shown,
        &std::fs::read_to_string(&shown).unwrap_or_default(),
        (line, column),
        format!("the container image \"{image}\" maps to no scenario version: {how}"),
        format!(
            "in {file}, add [manifest] versions = {{ \"{image}\" = \"{}\" }} (versions: {})",
            names.last().map_or("v2", String::as_str),
            names.join(", ")
        ),
    )])
}

/// Merges the manifests' tables into the scenario's parsed document and removes the
/// `manifests` / `[manifest]` keys. `gen` is `Prepared::toml`; its spans are moved past the
/// end of the scenario text (`offset`), where nothing is reported as the scenario's.
pub(super) fn merge<'a>(doc: &mut DeTable<'a>, gen: Option<&'a str>, offset: usize) {
    for k in KEYS {
        doc.remove(k);
    }
    let Some(gen) = gen else { return };
    let Ok(extra) = DeTable::parse(gen) else {
        return;
    };
    for (k, v) in extra.into_inner() {
        let v = shift(v, offset);
        let key = Spanned::new(
            k.span().start + offset..k.span().end + offset,
            k.into_inner(),
        );
        match (
            doc.get_mut(key.get_ref().as_ref()).map(|e| e.get_mut()),
            v.into_inner(),
        ) {
            (Some(DeValue::Table(t)), DeValue::Table(add)) => {
                for (ak, av) in add {
                    t.insert(ak, av);
                }
            }
            (_, v) => {
                doc.insert(key, Spanned::new(offset..offset, v));
            }
        }
    }
}

fn shift<'a>(v: Spanned<DeValue<'a>>, off: usize) -> Spanned<DeValue<'a>> {
    let span = v.span();
    let inner = match v.into_inner() {
        DeValue::Table(t) => {
            let mut out = DeTable::new();
            for (k, v) in t {
                let ks = k.span();
                out.insert(
                    Spanned::new(ks.start + off..ks.end + off, k.into_inner()),
                    shift(v, off),
                );
            }
            DeValue::Table(out)
        }
        DeValue::Array(a) => {
            let mut out = toml::de::DeArray::new();
            for e in a {
                out.push(shift(e, off));
            }
            DeValue::Array(out)
        }
        other => other,
    };
    Spanned::new(span.start + off..span.end + off, inner)
}

/// `[manifest] metrics = { "<template metric>" = "<scenario metric>" }`.
fn metric_map(doc: &DeTable<'_>) -> Vec<(String, String)> {
    let Some(DeValue::Table(m)) = doc.get("manifest").map(|m| m.get_ref()) else {
        return Vec::new();
    };
    let Some(DeValue::Table(t)) = m.get("metrics").map(|v| v.get_ref()) else {
        return Vec::new();
    };
    t.iter()
        .filter_map(|(k, v)| match v.get_ref() {
            DeValue::String(s) => Some((k.get_ref().to_string(), s.to_string())),
            _ => None,
        })
        .collect()
}
