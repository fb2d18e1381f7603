//! Argo Rollouts `Rollout` (canary or blueGreen) and `AnalysisTemplate` → the scenario's
//! `[rollout]` table for the `canary` and `blue_green` strategies.
//!
//! Defaults are Argo's (`utils/defaults/defaults.go`: `DefaultMaxSurge` and
//! `DefaultMaxUnavailable` the string "25", read as 25 %; `DefaultProgressDeadlineSeconds` 600;
//! `DefaultScaleDownDelaySeconds` and `DefaultAbortScaleDownDelaySeconds` 30, applied to a
//! canary only with trafficRouting; `DefaultAutoPromotionEnabled` true;
//! `DefaultConsecutiveErrorLimit` 4; see also controllers.md §2): maxTrafficWeight 100,
//! dynamicStableScale false; an AnalysisTemplate metric's failureLimit 0 and, without a count,
//! a measurement per interval until the analysis ends, and without an interval either a single
//! measurement. A Rollout may not set both `canary` and `blueGreen` (the CRD's validation). A provider's query cannot be run here: each
//! template metric maps to a scenario metric (`error_rate`, `p99_latency_ms`, `mean_latency_ms`)
//! by its name or by `[manifest] metrics = { "<template metric>" = "error_rate" }`, and a
//! simple comparison `result[0] < 0.05` becomes that metric's bound.

use super::analysis::analysis;
use super::k8s::{int_or_percent, pod_template};
use super::read::{go_seconds, Ctx};
use super::yaml::{Kind, Node};

/// An Argo duration (`"30s"`, `"1m"`, `"1h"`, or a number of seconds) as a TOML string.
pub(super) fn duration(cx: &mut Ctx<'_>, n: &Node, field: &str) -> Option<String> {
    match &n.kind {
        Kind::Int(i) if *i >= 0 => Some(format!("\"{i}s\"")),
        Kind::Str(s) => {
            // Argo takes a digit string as seconds and any Go duration (`90s`, `1m30s`).
            let simple = s.len() > 1
                && s[..s.len() - 1].chars().all(|c| c.is_ascii_digit())
                && s.ends_with(['s', 'm', 'h']);
            if simple {
                Some(format!("\"{s}\""))
            } else if let Some(secs) = go_seconds(s) {
                Some(format!("\"{secs}s\""))
            } else if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                Some(format!("\"{s}s\""))
            } else {
                cx.error(
                    Some(n),
                    format!("`{field}` = \"{s}\" is not a duration"),
                    "write seconds (30) or a duration such as \"30s\", \"5m\", \"1h\"",
                );
                None
            }
        }
        _ => {
            cx.error(
                Some(n),
                format!("`{field}` must be a duration, not {}", n.what()),
                "write seconds (30) or \"30s\"",
            );
            None
        }
    }
}

/// Reads a Rollout (after every AnalysisTemplate of the scenario's manifests is known).
pub(super) fn rollout(cx: &mut Ctx<'_>, doc: &Node) {
    let Some(s) = doc.get("spec") else {
        cx.error(
            Some(doc),
            "the Rollout has no spec",
            "add spec: with replicas, strategy and template",
        );
        return;
    };
    cx.other_keys(
        s,
        "spec",
        &[
            "replicas",
            "selector",
            "template",
            "workloadRef",
            "strategy",
            "minReadySeconds",
            "progressDeadlineSeconds",
            "revisionHistoryLimit",
            "paused",
            "progressDeadlineAbort",
            "analysis",
        ],
    );
    super::k8s::replica_settings(cx, s, ["1 (Argo default)", "0", "600 (Argo default)"]);
    for (f, why) in [
        ("revisionHistoryLimit", "old ReplicaSets kept: not modelled"),
        (
            "paused",
            "a paused Rollout waits to be resumed: not modelled",
        ),
        (
            "progressDeadlineAbort",
            "aborting at the deadline is not modelled (the Rollout is reported Degraded)",
        ),
    ] {
        if let Some(n) = s.get(f) {
            cx.unmodelled(&format!("spec.{f}"), Some(n), why);
        }
    }
    // `workloadRef` (docs/migrating.md, "Reference Deployment From Rollout"): the pod template
    // comes from the named Deployment; the Rollout's own replicas, minReadySeconds and strategy
    // still rule. Argo's validation refuses a Rollout setting both `template` and `workloadRef`
    // ("template must be empty for workload reference rollout").
    let referenced = match s.get("workloadRef") {
        Some(w) => match workload_ref(cx, s, w) {
            Some(d) => Some(d),
            None => return,
        },
        None => None,
    };
    let st = s.get("strategy");
    let canary = st.and_then(|t| t.get("canary"));
    let blue_green = st.and_then(|t| t.get("blueGreen"));
    match (canary, blue_green) {
        (Some(_), Some(_)) => cx.error(
            st,
            "a Rollout may set only one of strategy.canary and strategy.blueGreen",
            "keep one strategy and remove the other block",
        ),
        (Some(c), None) => canary_strategy(cx, c),
        (None, Some(b)) => blue_green_strategy(cx, b),
        (None, None) => cx.error(
            st.or(Some(s)),
            "the Rollout has no strategy",
            "add strategy: canary: (with steps) or strategy: blueGreen:",
        ),
    }
    match referenced {
        None => pod_template(cx, s, "spec.template.spec"),
        Some((file, text, d)) => {
            let name = d
                .at(&["metadata", "name"])
                .and_then(Node::str)
                .unwrap_or("");
            let at = format!("Deployment {name}: spec.template.spec");
            let mut dcx = Ctx {
                file,
                text: &text,
                out: &mut *cx.out,
                errors: Vec::new(),
            };
            let spec = d.get("spec").cloned().unwrap_or_else(|| d.clone());
            pod_template(&mut dcx, &spec, &at);
            let errors = dcx.errors;
            cx.errors.extend(errors);
        }
    }
}

/// The Deployment a Rollout's `workloadRef` names (`None` for a Rollout without one).
pub(super) fn workload_ref_name(doc: &Node) -> Option<String> {
    if doc.get("kind").and_then(Node::str) != Some("Rollout") {
        return None;
    }
    doc.at(&["spec", "workloadRef", "name"])
        .and_then(Node::str)
        .map(str::to_string)
}

/// Checks `workloadRef` and finds its Deployment among the manifests: (file, text, document).
fn workload_ref(cx: &mut Ctx<'_>, s: &Node, w: &Node) -> Option<(String, String, Node)> {
    let has_template = s
        .get("template")
        .is_some_and(|t| !matches!(&t.kind, Kind::Null) && !t.entries().is_empty());
    if has_template {
        cx.error(
            s.get("template"),
            "a Rollout with `workloadRef` may not also set `spec.template`",
            "Argo refuses both (\"template must be empty for workload reference rollout\"): remove spec.template, or remove workloadRef",
        );
        return None;
    }
    let kind = w.get("kind").and_then(Node::str).unwrap_or("");
    let api = w.get("apiVersion").and_then(Node::str).unwrap_or("apps/v1");
    if kind != "Deployment" || api != "apps/v1" {
        cx.error(
            w.get("kind").or(Some(w)),
            format!(
                "`workloadRef` names a {} ({api}): rollsim reads a Deployment's pod template",
                if kind.is_empty() {
                    "workload without a kind"
                } else {
                    kind
                }
            ),
            "write workloadRef: {apiVersion: apps/v1, kind: Deployment, name: NAME}",
        );
        return None;
    }
    let Some(name) = w.get("name").and_then(Node::str) else {
        cx.error(
            Some(w),
            "`workloadRef` has no name",
            "name the Deployment whose pod template the Rollout runs: workloadRef: {apiVersion: apps/v1, kind: Deployment, name: NAME}",
        );
        return None;
    };
    let found = cx
        .out
        .deployments
        .iter()
        .find(|(_, _, d)| d.at(&["metadata", "name"]).and_then(Node::str) == Some(name))
        .cloned();
    let Some(found) = found else {
        let known: Vec<&str> = cx
            .out
            .deployments
            .iter()
            .filter_map(|(_, _, d)| d.at(&["metadata", "name"]).and_then(Node::str))
            .collect();
        let known = if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        };
        cx.error(
            w.get("name"),
            format!("`workloadRef` names Deployment \"{name}\", which the manifests do not hold"),
            format!("add that Deployment's manifest to the scenario's manifests (Deployments held: {known})"),
        );
        return None;
    };
    // The referenced Deployment's own pods: with scaleDown never (the default) they keep
    // running beside the Rollout's unless the Deployment is scaled to 0 by hand.
    let scale_down = w.get("scaleDown").and_then(Node::str).unwrap_or("never");
    let own = found
        .2
        .at(&["spec", "replicas"])
        .map_or(Some(1), |n| match n.kind {
            Kind::Int(i) => Some(i),
            _ => None,
        });
    if own != Some(0) {
        cx.unmodelled(
            "spec.workloadRef.scaleDown",
            w.get("scaleDown").or(Some(w)),
            format!("the referenced Deployment's own pods (scaleDown: {scale_down}) are not simulated: only the Rollout's pods serve; scale the Deployment to 0 as Argo's migration guide advises"),
        );
    }
    Some(found)
}

/// `scaleDownDelaySeconds` and `abortScaleDownDelaySeconds` (30 s by default: Argo's
/// `utils/defaults/defaults.go`). A canary applies them only with a traffic router
/// (`GetScaleDownDelaySecondsOrDefault`): without one, old pods go as the canary scales up.
fn delays(cx: &mut Ctx<'_>, c: &Node, at: &str, routed: bool) {
    for (name, key) in [
        ("scaleDownDelaySeconds", "scale_down_delay"),
        ("abortScaleDownDelaySeconds", "abort_scale_down_delay"),
    ] {
        let n = c.get(name);
        let field = format!("{at}.{name}");
        let v = cx.int_or(n, &field, 30, 0, 86_400);
        if !routed && n.is_some() {
            cx.unmodelled(&field, n, format!("Argo applies {name} to a canary only with trafficRouting: no effect here, as there"));
        }
        cx.set(
            "rollout",
            key,
            format!("\"{v}s\""),
            &field,
            n,
            if routed {
                "30 (Argo default)"
            } else {
                "30 (Argo default; applied only with trafficRouting)"
            },
            if routed {
                format!("old pods kept {v} s after the switch (or the abort)")
            } else {
                "not applied without trafficRouting: old pods go as the canary scales up".into()
            },
        );
    }
}

fn canary_strategy(cx: &mut Ctx<'_>, c: &Node) {
    let at = "spec.strategy.canary";
    cx.other_keys(
        c,
        at,
        &[
            "canaryService",
            "stableService",
            "canaryMetadata",
            "stableMetadata",
            "steps",
            "trafficRouting",
            "maxSurge",
            "maxUnavailable",
            "analysis",
            "dynamicStableScale",
            "minPodsPerReplicaSet",
            "scaleDownDelaySeconds",
            "abortScaleDownDelaySeconds",
        ],
    );
    cx.set(
        "rollout",
        "strategy",
        "\"canary\"".into(),
        at,
        Some(c),
        "",
        "an Argo canary".into(),
    );
    for (name, key, max) in [
        ("maxSurge", "max_surge", None),
        ("maxUnavailable", "max_unavailable", Some(100)),
    ] {
        let field = format!("{at}.{name}");
        let n = c.get(name);
        let toml = match n {
            Some(n) => match int_or_percent(cx, n, &field, max, true) {
                Some((t, _, _)) => t,
                None => continue,
            },
            None => "\"25%\"".into(),
        };
        cx.set(
            "rollout",
            key,
            toml.clone(),
            &field,
            n,
            "\"25\" = 25% (Argo default)",
            format!("{name} {}", toml.trim_matches('"')),
        );
    }
    let tr = c.get("trafficRouting");
    cx.set(
        "rollout",
        "traffic_routing",
        tr.is_some().to_string(),
        &format!("{at}.trafficRouting"),
        tr,
        "absent: weights from replica counts",
        if tr.is_some() {
            "a router splits traffic by weight".into()
        } else {
            "no router: the weight is the canary's share of pods".into()
        },
    );
    if let Some(t) = tr {
        let mw = t.get("maxTrafficWeight");
        let v = cx.int_or(mw, "maxTrafficWeight", 100, 1, 1_000_000);
        cx.set(
            "rollout",
            "max_traffic_weight",
            v.to_string(),
            &format!("{at}.trafficRouting.maxTrafficWeight"),
            mw,
            "100 (Argo default)",
            format!("weights are out of {v}"),
        );
    }
    let ds = c.get("dynamicStableScale");
    let dyn_ = cx.bool_or(ds, "dynamicStableScale", false);
    if tr.is_some() {
        cx.set(
            "rollout",
            "dynamic_stable_scale",
            dyn_.to_string(),
            &format!("{at}.dynamicStableScale"),
            ds,
            "false (Argo default)",
            "stable pods scaled down as the canary weight rises".into(),
        );
    } else if dyn_ {
        cx.error(ds, "dynamicStableScale needs trafficRouting", "Argo refuses it without a traffic router: add trafficRouting or remove dynamicStableScale");
    }
    if let Some(n) = c.get("minPodsPerReplicaSet") {
        let v = cx.int_or(Some(n), "minPodsPerReplicaSet", 1, 1, 100_000);
        cx.set(
            "rollout",
            "min_pods_per_replica_set",
            v.to_string(),
            &format!("{at}.minPodsPerReplicaSet"),
            Some(n),
            "",
            format!("at least {v} pods per ReplicaSet"),
        );
    }
    delays(cx, c, at, tr.is_some());
    let mut steps = Vec::new();
    for (i, step) in c
        .get("steps")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let sf = format!("{at}.steps[{i}]");
        let Some((name, v)) = step.entries().first() else {
            continue;
        };
        let t = match name.as_str() {
            "setWeight" => cx
                .int(v, &format!("{sf}.setWeight"), 0, 100)
                .map(|w| format!("{{ set_weight = {w} }}")),
            "pause" => match v.get("duration") {
                None => Some("{ pause = {} }".into()),
                Some(d) => duration(cx, d, &format!("{sf}.pause.duration"))
                    .map(|d| format!("{{ pause = {d} }}")),
            },
            // Argo applies setCanaryScale only with a traffic router (controllers.md §2.4).
            "setCanaryScale" if tr.is_none() => {
                cx.unmodelled(
                    &format!("{sf}.setCanaryScale"),
                    Some(step),
                    "Argo ignores setCanaryScale without trafficRouting: skipped, as there",
                );
                None
            }
            "setCanaryScale" => {
                let (k, n) = v
                    .entries()
                    .first()
                    .map(|(k, n)| (k.as_str(), n))
                    .unwrap_or(("", v));
                match (k, &n.kind) {
                    ("replicas", _) => cx
                        .int(n, &format!("{sf}.setCanaryScale.replicas"), 0, 100_000)
                        .map(|r| format!("{{ set_canary_scale = {{ replicas = {r} }} }}")),
                    ("weight", _) => cx
                        // A weight may exceed 100 (4 replicas, weight 200 → 8 pods).
                        .int(n, &format!("{sf}.setCanaryScale.weight"), 0, 10_000)
                        .map(|w| format!("{{ set_canary_scale = {{ weight = {w} }} }}")),
                    ("matchTrafficWeight", Kind::Bool(b)) => Some(format!(
                        "{{ set_canary_scale = {{ match_traffic_weight = {b} }} }}"
                    )),
                    _ => {
                        cx.error(
                            Some(v),
                            "setCanaryScale takes replicas, weight or matchTrafficWeight",
                            "e.g. setCanaryScale: {replicas: 2}",
                        );
                        None
                    }
                }
            }
            "analysis" => analysis(cx, v, &format!("{sf}.analysis"), None)
                .map(|a| format!("{{ analysis = {a} }}")),
            other => {
                cx.unmodelled(
                    &format!("{sf}.{other}"),
                    Some(step),
                    format!("step `{other}` is not modelled: skipped"),
                );
                None
            }
        };
        if let Some(t) = t {
            steps.push(t);
        }
    }
    let sn = c.get("steps");
    cx.set(
        "rollout",
        "steps",
        format!("[{}]", steps.join(", ")),
        &format!("{at}.steps"),
        sn,
        "none: straight to 100 %",
        format!("{} steps", steps.len()),
    );
    if let Some(bg) = c.get("analysis") {
        let start = bg
            .get("startingStep")
            .and_then(|n| cx.int(n, "startingStep", 0, 1000));
        if let Some(a) = analysis(cx, bg, &format!("{at}.analysis"), start) {
            cx.set(
                "rollout",
                "analysis",
                a,
                &format!("{at}.analysis"),
                Some(bg),
                "",
                "background analysis; a failure aborts the rollout".into(),
            );
        }
    }
}

fn blue_green_strategy(cx: &mut Ctx<'_>, b: &Node) {
    let at = "spec.strategy.blueGreen";
    cx.other_keys(
        b,
        at,
        &[
            "activeService",
            "previewService",
            "activeMetadata",
            "previewMetadata",
            "autoPromotionEnabled",
            "autoPromotionSeconds",
            "previewReplicaCount",
            "scaleDownDelaySeconds",
            "abortScaleDownDelaySeconds",
            "prePromotionAnalysis",
            "postPromotionAnalysis",
            "maxUnavailable",
        ],
    );
    cx.set(
        "rollout",
        "strategy",
        "\"blue_green\"".into(),
        at,
        Some(b),
        "",
        "an Argo blue-green".into(),
    );
    let ap = b.get("autoPromotionEnabled");
    let auto = cx.bool_or(ap, "autoPromotionEnabled", true);
    cx.set(
        "rollout",
        "auto_promotion",
        auto.to_string(),
        &format!("{at}.autoPromotionEnabled"),
        ap,
        "true (Argo default)",
        if auto {
            "promoted when the preview is ready".into()
        } else {
            "waits for a manual promote".into()
        },
    );
    if let Some(n) = b.get("autoPromotionSeconds") {
        let v = cx.int_or(Some(n), "autoPromotionSeconds", 0, 0, 86_400 * 30);
        cx.set(
            "rollout",
            "auto_promotion_after",
            format!("\"{v}s\""),
            &format!("{at}.autoPromotionSeconds"),
            Some(n),
            "",
            format!("promoted {v} s after the preview is ready"),
        );
    }
    if let Some(n) = b.get("previewReplicaCount") {
        let v = cx.int_or(Some(n), "previewReplicaCount", 1, 0, 100_000);
        cx.set(
            "rollout",
            "preview_replicas",
            v.to_string(),
            &format!("{at}.previewReplicaCount"),
            Some(n),
            "",
            format!("{v} preview pods before promotion"),
        );
    }
    delays(cx, b, at, true);
    for (name, key) in [
        ("prePromotionAnalysis", "pre_promotion_analysis"),
        ("postPromotionAnalysis", "post_promotion_analysis"),
    ] {
        if let Some(n) = b.get(name) {
            if let Some(a) = analysis(cx, n, &format!("{at}.{name}"), None) {
                cx.set(
                    "rollout",
                    key,
                    a,
                    &format!("{at}.{name}"),
                    Some(n),
                    "",
                    format!("{name}: a failure aborts"),
                );
            }
        }
    }
    if let Some(n) = b.get("maxUnavailable") {
        cx.unmodelled(
            &format!("{at}.maxUnavailable"),
            Some(n),
            "blue-green maxUnavailable is not read: the default applies",
        );
    }
}
