//! The scenarios `rollsim power` runs, derived from the one given: the bad release as written,
//! its healthy twin, and each of them with its analysis cut down to one metric or removed.
//!
//! **The bad release** is every version the rollout introduces (`[rollout] to`, each
//! `deploy` step, the flag's variant: `Scenario::new_variants`) that carries at least one
//! `[[versions.X.faults]]` entry. **The healthy twin** is the same scenario with those versions'
//! faults removed and their `bad` mark cleared; everything else stays — their own
//! `error_rate`, `service` and `conversion_rate` (what the release normally does), faults of
//! versions the rollout does not introduce (the stable's own problems), traffic, seed. A
//! version marked `bad = true` without faults is not a bad release here: its twin would be
//! the same run.
//!
//! **Analysis** is whatever the scenario configures: a rolling update's `[rollout.analysis]`,
//! blue-green's pre- and post-promotion analyses, a canary's background analysis and its
//! inline `analysis` steps, Flagger's metrics, and `[flag.analysis]`. A metric is known by
//! its `name` (default: its `metric`), so "`error_rate` alone" keeps every metric of that name
//! in every analysis. An analysis left without metrics is removed (a canary's inline step
//! with it, its background analysis' `startingStep` moved to keep pointing at the same step),
//! so "no analysis" also drops the time analysis steps wait.

use crate::analysis::{AnalysisSpec, MetricSpec};
use crate::scenario::{Scenario, StrategySpec};
use crate::strategy::{BlueGreenSpec, CanarySpec, CanaryStep, FlaggerSpec, RollingSettings};

/// The versions of the bad release (see the module doc): introduced by the rollout or the
/// flag, with at least one fault.
pub fn bad_versions(s: &Scenario) -> Vec<String> {
    s.new_variants()
        .iter()
        .map(|v| &s.versions[v.index()])
        .filter(|v| !v.faults.is_empty())
        .map(|v| v.name.clone())
        .collect()
}

/// The healthy twin: the bad release's faults removed (see the module doc).
pub fn healthy_twin(s: &Scenario) -> Scenario {
    let mut twin = s.clone();
    for v in s.new_variants() {
        let spec = &mut twin.versions[v.index()];
        if !spec.faults.is_empty() {
            spec.faults.clear();
            spec.bad = false;
        }
    }
    twin
}

/// Every analysis metric the scenario configures, in order (a name may repeat).
pub fn metrics(s: &Scenario) -> Vec<&MetricSpec> {
    let mut out: Vec<&MetricSpec> = Vec::new();
    fn add<'a>(out: &mut Vec<&'a MetricSpec>, a: Option<&'a AnalysisSpec>) {
        if let Some(a) = a {
            out.extend(a.metrics.iter());
        }
    }
    if let Some(spec) = s.rollout.as_ref().map(|r| &r.strategy) {
        if let Some(r) = spec.get::<RollingSettings>() {
            add(&mut out, r.analysis.as_ref());
        } else if let Some(b) = spec.get::<BlueGreenSpec>() {
            add(&mut out, b.pre_promotion.as_ref());
            add(&mut out, b.post_promotion.as_ref());
        } else if let Some(c) = spec.get::<CanarySpec>() {
            add(&mut out, c.background_analysis.as_ref().map(|(a, _)| a));
            for step in &c.steps {
                if let CanaryStep::Analysis(a) = step {
                    add(&mut out, Some(a));
                }
            }
        } else if let Some(f) = spec.get::<FlaggerSpec>() {
            out.extend(f.metrics.iter());
        }
    }
    if let Some(f) = &s.flag {
        out.extend(f.analysis.iter().flat_map(|a| a.metrics.iter()));
    }
    out
}

/// The distinct metric names the scenario's analyses use, in order of first appearance
/// (empty: no analysis).
pub fn metric_names(s: &Scenario) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for m in metrics(s) {
        if !names.contains(&m.name) {
            names.push(m.name.clone());
        }
    }
    names
}

/// `a` keeping the metrics named in `keep` (`None` when none is left).
fn cut(a: &AnalysisSpec, keep: &[String]) -> Option<AnalysisSpec> {
    let metrics: Vec<MetricSpec> = a
        .metrics
        .iter()
        .filter(|m| keep.contains(&m.name))
        .cloned()
        .collect();
    (!metrics.is_empty()).then(|| AnalysisSpec {
        metrics,
        ..a.clone()
    })
}

fn cut_canary(c: &CanarySpec, keep: &[String]) -> CanarySpec {
    let mut out = c.clone();
    out.steps.clear();
    let mut starting = c.background_analysis.as_ref().map(|(_, i)| *i);
    for (i, step) in c.steps.iter().enumerate() {
        match step {
            CanaryStep::Analysis(a) => match cut(a, keep) {
                Some(a) => out.steps.push(CanaryStep::Analysis(a)),
                None => {
                    // The step goes: a later startingStep moves down with the steps after it.
                    if let Some(s) = starting.as_mut().filter(|s| **s > i) {
                        *s -= 1;
                    }
                }
            },
            other => out.steps.push(other.clone()),
        }
    }
    out.background_analysis = c
        .background_analysis
        .as_ref()
        .and_then(|(a, _)| cut(a, keep).map(|a| (a, starting.unwrap_or(0))));
    out
}

/// `s` with every analysis keeping only the metrics named in `keep` (empty: no analysis).
pub fn with_metrics(s: &Scenario, keep: &[String]) -> Scenario {
    let mut out = s.clone();
    if let Some(r) = out.rollout.as_mut() {
        let spec = &r.strategy;
        let cut_spec = if let Some(x) = spec.get::<RollingSettings>() {
            Some(StrategySpec::new(RollingSettings {
                analysis: x.analysis.as_ref().and_then(|a| cut(a, keep)),
                ..x.clone()
            }))
        } else if let Some(x) = spec.get::<BlueGreenSpec>() {
            Some(StrategySpec::new(BlueGreenSpec {
                pre_promotion: x.pre_promotion.as_ref().and_then(|a| cut(a, keep)),
                post_promotion: x.post_promotion.as_ref().and_then(|a| cut(a, keep)),
                ..x.clone()
            }))
        } else if let Some(x) = spec.get::<CanarySpec>() {
            Some(StrategySpec::new(cut_canary(x, keep)))
        } else {
            spec.get::<FlaggerSpec>().map(|x| {
                StrategySpec::new(FlaggerSpec {
                    metrics: x
                        .metrics
                        .iter()
                        .filter(|m| keep.contains(&m.name))
                        .cloned()
                        .collect(),
                    ..x.clone()
                })
            })
        };
        if let Some(c) = cut_spec {
            r.strategy = c;
        }
    }
    if let Some(f) = out.flag.as_mut() {
        f.analysis = f.analysis.as_ref().and_then(|a| cut(a, keep));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = r#"
duration = "120s"
[traffic]
rate = 100
[deployment]
replicas = 4
version = "v1"
[versions.v1]
service = "10ms"
[versions.v2]
service = "10ms"
[[versions.v2.faults]]
kind = "error_rate"
rate = 0.5
[rollout]
to = "v2"
at = "10s"
strategy = "canary"
traffic_routing = true
steps = [
  { set_weight = 10 },
  { analysis = { interval = "10s", count = 1, metrics = [{ metric = "p99_latency_ms", max = 500 }] } },
  { set_weight = 50 },
  { pause = "10s" },
]
[rollout.analysis]
starting_step = 2
interval = "10s"
[[rollout.analysis.metrics]]
metric = "error_rate"
max = 0.05
[[rollout.analysis.metrics]]
name = "latency"
metric = "mean_latency_ms"
max = 100
"#;

    fn canary() -> Scenario {
        Scenario::parse("t.toml", "t", CANARY).expect("valid")
    }

    #[test]
    fn the_bad_release_is_the_new_version_with_faults_and_its_twin_has_none() {
        let s = canary();
        assert_eq!(bad_versions(&s), ["v2"]);
        let twin = healthy_twin(&s);
        assert!(twin.versions[1].faults.is_empty() && !twin.versions[1].bad);
        assert_eq!(bad_versions(&twin), Vec::<String>::new());
        assert_eq!(twin.versions[0], s.versions[0]);
    }

    #[test]
    fn metrics_are_listed_by_name_and_cut_per_name() {
        let s = canary();
        assert_eq!(
            metric_names(&s),
            ["error_rate", "latency", "p99_latency_ms"]
        );
        let only = with_metrics(&s, &["error_rate".into()]);
        assert_eq!(metric_names(&only), ["error_rate"]);
        let c = only
            .rollout
            .as_ref()
            .unwrap()
            .strategy
            .get::<CanarySpec>()
            .unwrap();
        // The inline analysis step went; startingStep 2 (set_weight 50) is now step 1.
        assert_eq!(c.steps.len(), 3);
        assert_eq!(c.background_analysis.as_ref().unwrap().1, 1);
        assert!(matches!(c.steps[1], CanaryStep::SetWeight(50)));
        let none = with_metrics(&s, &[]);
        assert!(metric_names(&none).is_empty());
        let c = none
            .rollout
            .as_ref()
            .unwrap()
            .strategy
            .get::<CanarySpec>()
            .unwrap();
        assert!(c.background_analysis.is_none());
        let inline = with_metrics(&s, &["p99_latency_ms".into()]);
        let c = inline
            .rollout
            .as_ref()
            .unwrap()
            .strategy
            .get::<CanarySpec>()
            .unwrap();
        assert_eq!(c.steps.len(), 4);
        assert!(c.background_analysis.is_none());
    }
}
