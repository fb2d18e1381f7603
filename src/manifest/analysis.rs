//! An Argo Rollouts analysis block (`templates: [{templateName}]`, background, inline step,
//! blue-green pre/post-promotion) read from the `AnalysisTemplate`s among the manifests into
//! the scenario's `analysis` inline table.
//!
//! A provider's query cannot be run here: each template metric maps to a scenario metric
//! (`error_rate`, `p99_latency_ms`, `mean_latency_ms`) by its name or by `[manifest] metrics`,
//! and a simple comparison (`result[0] < 0.05`) becomes that metric's bound. Measurement
//! limits take Argo's defaults (failureLimit 0, inconclusiveLimit 0, consecutiveErrorLimit 4).

use super::argo::duration;
use super::read::Ctx;
use super::yaml::Node;

/// The scenario metrics a template metric may map to.
const METRICS: [&str; 3] = ["error_rate", "p99_latency_ms", "mean_latency_ms"];

/// An analysis block (`templates: [{templateName}]`) → a TOML inline table, from the templates.
pub(super) fn analysis(
    cx: &mut Ctx<'_>,
    a: &Node,
    field: &str,
    starting_step: Option<i64>,
) -> Option<String> {
    let names: Vec<(&str, &Node)> = a
        .get("templates")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|t| t.get("templateName").and_then(|n| n.str().map(|s| (s, n))))
        .collect();
    if names.is_empty() {
        cx.error(
            Some(a),
            "this analysis names no template",
            "add templates: [{templateName: NAME}] naming an AnalysisTemplate in the manifests",
        );
        return None;
    }
    let mut metrics = Vec::new();
    let mut schedule: Option<(String, String)> = None;
    for (name, n) in names {
        let Some(tpl) = cx
            .out
            .templates
            .iter()
            .find(|(t, _, _)| t == name)
            .map(|(_, f, d)| (f.clone(), d.clone()))
        else {
            let known: Vec<String> = cx.out.templates.iter().map(|(t, _, _)| t.clone()).collect();
            cx.error(
                Some(n),
                format!("no AnalysisTemplate named \"{name}\" in the manifests"),
                format!(
                    "add the AnalysisTemplate to the manifests (known: {})",
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ),
            );
            return None;
        };
        for m in tpl
            .1
            .at(&["spec", "metrics"])
            .map(Node::items)
            .unwrap_or(&[])
        {
            let mname = m.get("name").and_then(Node::str).unwrap_or("");
            let mapped = cx
                .out
                .metric_map
                .iter()
                .find(|(k, _)| k == mname)
                .map(|(_, v)| v.clone())
                .or_else(|| METRICS.contains(&mname).then(|| mname.to_string()));
            let mapped = mapped.or_else(|| {
                cx.out.lenient_metrics.then(|| {
                    cx.unmodelled(&format!("metric \"{mname}\""), Some(m), "maps to no scenario metric yet: name one with [manifest] metrics in the scenario");
                    "(unmapped)".to_string()
                })
            });
            let Some(metric) = mapped else {
                cx.error(m.get("name").or(Some(m)), format!("template metric \"{mname}\" ({}) maps to no scenario metric", tpl.0), format!("in the scenario, add [manifest] metrics = {{ \"{mname}\" = \"error_rate\" }} (or p99_latency_ms, mean_latency_ms): the metric measuring what its query measures"));
                continue;
            };
            let mut bounds = Vec::new();
            for (cond, lt, gt) in [
                ("successCondition", "max", "min"),
                ("failureCondition", "fail_above", "fail_below"),
            ] {
                let Some(c) = m.get(cond) else { continue };
                match comparison(c.str().unwrap_or("")) {
                    Some((less, x)) => bounds.push(format!(
                        "{} = {x}",
                        if cond == "successCondition" {
                            if less {
                                lt
                            } else {
                                gt
                            }
                        } else if less {
                            gt
                        } else {
                            lt
                        }
                    )),
                    None => cx.error(
                        Some(c),
                        format!("`{cond}` {} is not a simple comparison", c.show()),
                        "write `result[0] < 0.05` (or <=, >, >=, with `result` or `result[0]`)",
                    ),
                }
            }
            if bounds
                .iter()
                .all(|b| !b.starts_with("max") && !b.starts_with("min"))
            {
                bounds.push(if bounds.iter().any(|b| b.starts_with("fail_above")) {
                    "max = 1e300".into()
                } else {
                    "min = -1e300".into()
                });
            }
            metrics.push(format!(
                "{{ name = {}, metric = {}, {} }}",
                super::toml_str(mname),
                super::toml_str(&metric),
                bounds.join(", ")
            ));
            let interval = match m.get("interval") {
                Some(n) => duration(cx, n, "interval").unwrap_or_else(|| "\"60s\"".into()),
                None => "\"60s\"".into(),
            };
            // Argo's docs (features/analysis.md, "Inline analysis"): a metric without an
            // `interval` takes a single measurement (analysis.go `effectiveCount`: no count
            // and no interval → 1); with an interval and no count it measures until the end.
            let count = m
                .get("count")
                .and_then(|n| cx.int(n, "count", 1, 1_000_000))
                .or_else(|| m.get("interval").is_none().then_some(1));
            // Argo's measurement limits: failureLimit 0, inconclusiveLimit 0,
            // consecutiveErrorLimit 4 (the scenario's defaults too); initialDelay none.
            let mut limits = String::new();
            for (f, key, d) in [
                ("failureLimit", "failure_limit", 0),
                ("inconclusiveLimit", "inconclusive_limit", 0),
                ("consecutiveErrorLimit", "consecutive_error_limit", 4),
            ] {
                let v = cx.int_or(m.get(f), f, d, 0, 1_000_000);
                limits.push_str(&format!(", {key} = {v}"));
            }
            if let Some(d) = m
                .get("initialDelay")
                .and_then(|n| duration(cx, n, "initialDelay"))
            {
                limits.push_str(&format!(", initial_delay = {d}"));
            }
            if let Some(c) = count {
                limits.push_str(&format!(", count = {c}"));
            }
            schedule.get_or_insert((interval, limits));
        }
    }
    let (interval, limits) = schedule?;
    let mut t = format!("{{ interval = {interval}{limits}");
    if let Some(s) = starting_step {
        t.push_str(&format!(", starting_step = {s}"));
    }
    let _ = field;
    t.push_str(&format!(", metrics = [{}] }}", metrics.join(", ")));
    Some(t)
}

/// `result[0] < 0.05` → (true, 0.05): whether `result` is below the number, and the number.
fn comparison(s: &str) -> Option<(bool, f64)> {
    let s = s.trim();
    let rest = s
        .strip_prefix("result[0]")
        .or_else(|| s.strip_prefix("result"))?
        .trim();
    let (less, num) = if let Some(r) = rest.strip_prefix("<=").or_else(|| rest.strip_prefix('<')) {
        (true, r)
    } else if let Some(r) = rest.strip_prefix(">=").or_else(|| rest.strip_prefix('>')) {
        (false, r)
    } else {
        return None;
    };
    num.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(|x| (less, x))
}

#[cfg(test)]
mod tests {
    #[test]
    fn simple_comparisons_are_read() {
        assert_eq!(super::comparison("result[0] < 0.05"), Some((true, 0.05)));
        assert_eq!(super::comparison("result >= 0.95"), Some((false, 0.95)));
        assert_eq!(super::comparison("len(result) > 0 && result[0] < 1"), None);
    }
}
