//! Flagger `Canary` (flagger.app/v1beta1) → `strategy = "flagger"` over the Deployment it
//! targets, read from the same manifests.
//!
//! Defaults as Flagger applies them (`pkg/apis/flagger/v1beta1/canary.go`, controllers.md §3.2):
//! analysis interval 60 s (raised to 10 s when below; the strategy does it and warns),
//! threshold 1, maxWeight 100 unless stepWeights give it, progressDeadlineSeconds 600. The
//! builtin metrics map onto the scenario's: `request-success-rate` with `thresholdRange.min`
//! (a percent of non-5xx responses) becomes `error_rate` max = (100 − min) / 100;
//! `request-duration` with `thresholdRange.max` (P99 in milliseconds) becomes `p99_latency_ms`.
//! `iterations` selects Flagger's blue/green (the `kubernetes` provider forces it, with 10
//! iterations when fewer are given); A/B `match` runs as blue/green with a warning; webhooks,
//! mirroring and custom metric templates are not modelled: warnings.

use super::read::{go_seconds, Ctx};
use super::yaml::{Kind, Node};

fn number(n: &Node) -> Option<f64> {
    match n.kind {
        Kind::Int(i) => Some(i as f64),
        Kind::Float(f) if f.is_finite() => Some(f),
        _ => None,
    }
}

/// Reads a Canary; the Deployment it targets must have been read (its strategy is replaced).
pub(super) fn canary(cx: &mut Ctx<'_>, doc: &Node, deployment: Option<&str>) {
    let s = doc.get("spec").unwrap_or(doc);
    let target = s.at(&["targetRef", "name"]).and_then(Node::str);
    match (target, deployment) {
        (Some(t), Some(d)) if t == d => {}
        (t, d) => {
            cx.error(
                s.get("targetRef").or(Some(doc)),
                format!(
                    "the Canary targets Deployment \"{}\", which the manifests do not hold",
                    t.unwrap_or("")
                ),
                format!(
                    "add the Deployment to the manifests, or set targetRef.name to {}",
                    d.map_or("its name".to_string(), |d| format!("\"{d}\""))
                ),
            );
            return;
        }
    }
    cx.other_keys(
        s,
        "spec",
        &[
            "targetRef",
            "service",
            "analysis",
            "progressDeadlineSeconds",
            "provider",
            "ingressRef",
            "upstreamRef",
            "routeRef",
            "revertOnDeletion",
        ],
    );
    let kubernetes = s.get("provider").filter(|n| n.str() == Some("kubernetes"));
    // Flagger routes between its primary and the canary: the Deployment's strategy is not used.
    cx.out.settings.retain(|st| st.table != "rollout");
    cx.out.settings.retain(|st| st.key != "progress_deadline");
    let pd = s.get("progressDeadlineSeconds");
    let deadline = cx.int_or(
        pd,
        "spec.progressDeadlineSeconds",
        600,
        1,
        i64::from(i32::MAX),
    );
    cx.set(
        "deployment",
        "progress_deadline",
        format!("\"{deadline}s\""),
        "spec.progressDeadlineSeconds (Canary)",
        pd,
        "600 (Flagger default)",
        format!("rolled back after {deadline} s without progress"),
    );
    cx.set(
        "rollout",
        "strategy",
        "\"flagger\"".into(),
        "kind: Canary",
        doc.get("kind"),
        "",
        "a Flagger canary".into(),
    );
    let Some(a) = s.get("analysis") else {
        cx.error(
            Some(s),
            "the Canary has no analysis",
            "add analysis: with interval, threshold, maxWeight and stepWeight",
        );
        return;
    };
    let at = "spec.analysis";
    cx.other_keys(
        a,
        at,
        &[
            "interval",
            "threshold",
            "maxWeight",
            "stepWeight",
            "stepWeights",
            "metrics",
            "iterations",
            "match",
            "webhooks",
            "mirror",
            "mirrorWeight",
            "stepWeightPromotion",
            "primaryReadyThreshold",
            "canaryReadyThreshold",
        ],
    );
    let iv = a.get("interval");
    let interval = match iv.map(|n| &n.kind) {
        None => "\"60s\"".to_string(),
        Some(Kind::Str(t))
            if t.len() > 1
                && t[..t.len() - 1].chars().all(|c| c.is_ascii_digit())
                && t.ends_with(['s', 'm', 'h']) =>
        {
            format!("\"{t}\"")
        }
        Some(Kind::Str(t)) if go_seconds(t).is_some() => {
            format!("\"{}s\"", go_seconds(t).unwrap_or(60))
        }
        Some(_) => {
            cx.error(
                iv,
                "`analysis.interval` must be a duration such as \"1m\"",
                "write interval: 1m (or 30s)",
            );
            "\"60s\"".into()
        }
    };
    cx.set(
        "rollout",
        "interval",
        interval,
        &format!("{at}.interval"),
        iv,
        "1m (Flagger default)",
        "one analysis tick per interval".into(),
    );
    let th = a.get("threshold");
    let threshold = cx.int_or(th, "threshold", 1, i64::MIN, i64::MAX);
    cx.set(
        "rollout",
        "threshold",
        threshold.to_string(),
        &format!("{at}.threshold"),
        th,
        "1 (Flagger default)",
        format!("rolled back after {} failed checks", threshold.max(1)),
    );
    // GetMaxWeight (pkg/apis/flagger/v1beta1/canary.go): the last stepWeights entry when
    // they are given (the strategy applies that), else maxWeight when above 0, else 100.
    let n = a.get("maxWeight");
    let v = cx.int_or(n, "maxWeight", 100, 1, 100);
    cx.set(
        "rollout",
        "max_weight",
        v.to_string(),
        &format!("{at}.maxWeight"),
        n,
        "100 (Flagger default)",
        if a.get("stepWeights").is_some() {
            "ignored: with stepWeights Flagger promotes after the last entry".to_string()
        } else {
            format!("promoted once the canary weight reaches {v} %")
        },
    );
    if let Some(n) = a.get("stepWeight") {
        let v = cx.int_or(Some(n), "stepWeight", 10, 1, 100);
        cx.set(
            "rollout",
            "step_weight",
            v.to_string(),
            &format!("{at}.stepWeight"),
            Some(n),
            "",
            format!("the weight rises by {v} per tick"),
        );
    }
    if let Some(n) = a.get("stepWeights") {
        let mut ws = Vec::new();
        for w in n.items() {
            if let Some(v) = cx.int(w, "stepWeights", 1, 100) {
                ws.push(v.to_string());
            }
        }
        cx.set(
            "rollout",
            "step_weights",
            format!("[{}]", ws.join(", ")),
            &format!("{at}.stepWeights"),
            Some(n),
            "",
            format!("weights {}", ws.join(", ")),
        );
    }
    // `iterations` picks blue/green (scheduler.go `advanceCanary`): with the kubernetes
    // provider, which has no weights, Flagger always runs it, forcing iterations to 10 when
    // below 1; with `match`, A/B testing (matched requests go to the canary), which rollsim
    // runs as blue/green — no request carries the headers here.
    let it_n = a.get("iterations");
    let mut iterations = cx.int_or(it_n, "iterations", 0, 0, 10_000);
    if kubernetes.is_some() && iterations < 1 {
        iterations = 10;
    }
    if iterations > 0 {
        cx.set(
            "rollout",
            "iterations",
            iterations.to_string(),
            &format!("{at}.iterations"),
            it_n.or(kubernetes),
            "",
            format!("blue/green: {iterations} analysis iterations without traffic, one with all of it, then promotion"),
        );
        let checks = a.get("metrics").map_or(0, |m| m.items().len());
        if checks > 0 {
            cx.unmodelled(&format!("{at}.iterations"), it_n.or(kubernetes), "blue/green sends the canary no traffic while it iterates; in a real cluster a load-tester webhook feeds it (not modelled), so here its metric checks find no data and fail, as Flagger's do without one");
        }
        for f in ["maxWeight", "stepWeight", "stepWeights"] {
            if let Some(n) = a.get(f) {
                cx.unmodelled(
                    &format!("{at}.{f}"),
                    Some(n),
                    format!("`{f}` is not used: with iterations Flagger runs blue/green"),
                );
            }
        }
    }
    for (f, why) in [
        ("match", "A/B testing: requests matching these headers or cookies go to the canary; rollsim sends none (no request carries them) and runs the iterations as blue/green"),
        ("webhooks", "webhooks (load testers, gates, pre/post-rollout hooks) are not run"),
        ("mirror", "traffic mirroring to the canary is not modelled"),
        ("mirrorWeight", "traffic mirroring to the canary is not modelled"),
        ("stepWeightPromotion", "the gradual shift back to the primary is not modelled: all at once"),
        ("primaryReadyThreshold", "rollsim waits for every primary pod"),
        ("canaryReadyThreshold", "rollsim waits for every canary pod"),
    ] {
        if let Some(n) = a.get(f) {
            cx.unmodelled(&format!("{at}.{f}"), Some(n), why);
        }
    }
    let tick = iv.and_then(Node::str).unwrap_or("1m").to_string();
    let mut metrics = Vec::new();
    for (i, m) in a
        .get("metrics")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let name = m.get("name").and_then(Node::str).unwrap_or("");
        let range = m.get("thresholdRange");
        let min = range.and_then(|r| r.get("min")).and_then(number);
        let max = range.and_then(|r| r.get("max")).and_then(number);
        // A builtin check queries the metric's own window (`interval`, default 1m:
        // controllers.md §3.2); rollsim measures over the analysis tick that just ended.
        let window = m.get("interval").and_then(Node::str).unwrap_or("1m");
        if matches!(name, "request-success-rate" | "request-duration")
            && go_seconds(window) != go_seconds(&tick)
        {
            cx.unmodelled(
                &format!("{at}.metrics[{i}].interval"),
                m.get("interval").or(Some(m)),
                format!("\"{name}\" queries the last {window}; rollsim measures it over each {tick} analysis tick"),
            );
        }
        match (name, min, max) {
            ("request-success-rate", Some(min), _) if (0.0..=100.0).contains(&min) => {
                metrics.push(format!("{{ name = \"{name}\", metric = \"error_rate\", max = {} }}", (100.0 - min) / 100.0));
            }
            ("request-duration", _, Some(max)) if max >= 0.0 => {
                metrics.push(format!("{{ name = \"{name}\", metric = \"p99_latency_ms\", max = {max} }}"));
            }
            ("request-success-rate" | "request-duration", _, _) => cx.error(range.or(Some(m)), format!("metric \"{name}\" needs a thresholdRange"), "request-success-rate takes thresholdRange: {min: 99} (percent); request-duration takes thresholdRange: {max: 500} (ms)"),
            _ => cx.unmodelled(&format!("{at}.metrics[{i}]"), Some(m), format!("custom metric \"{name}\" is not modelled: only request-success-rate and request-duration are")),
        }
    }
    if !metrics.is_empty() {
        cx.set(
            "rollout",
            "analysis",
            format!("{{ metrics = [{}] }}", metrics.join(", ")),
            &format!("{at}.metrics"),
            a.get("metrics"),
            "",
            format!("{} checks per tick", metrics.len()),
        );
    }
}
