//! An Argo canary's `steps`: exactly one action per step; weights within 0–maxTrafficWeight (a
//! lower weight than the step before is accepted, as Argo accepts it); `setCanaryScale` only
//! with traffic routing.

use super::analysis::analysis_spec;
use super::problems::{child, Path, Problems};
use super::raw::*;
use crate::strategy::argo_canary::CanaryScale;
use crate::strategy::CanaryStep;

/// Resolves the `steps` at `p`.
pub(super) fn canary_steps(
    pr: &mut Problems<'_>,
    p: &Path,
    raw: &[RawCanaryStep],
    routed: bool,
    max_weight: u32,
) -> Vec<CanaryStep> {
    let mut steps = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let sp = child(p, &i.to_string());
        let set = [
            s.set_weight.is_some(),
            s.pause.is_some(),
            s.set_canary_scale.is_some(),
            s.analysis.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            pr.add(&sp, format!("step {} must have exactly one of set_weight, pause, set_canary_scale, analysis ({set} given)", i + 1), "split it into one step per action");
            continue;
        }
        // A lower weight than the step before is accepted, as Argo accepts it: the canary
        // shrinks to the lower weight's count (see `Canary::router_target` for the traffic).
        if let Some(w) = s.set_weight {
            if !(0..=i64::from(max_weight)).contains(&w) {
                let help = if max_weight == 100 {
                    "a weight is a percent of traffic".to_string()
                } else {
                    format!("weights are out of max_traffic_weight = {max_weight}")
                };
                pr.add(
                    &child(&sp, "set_weight"),
                    format!("set_weight {w} is outside 0–{max_weight}"),
                    help,
                );
                continue;
            }
            let w = w as u32;
            steps.push(CanaryStep::SetWeight(w));
        } else if let Some(pause) = &s.pause {
            let pp = child(&sp, "pause");
            let d = match pause {
                RawPause::Duration(RawDuration::Text(t)) if t.trim() == "indefinite" => None,
                RawPause::Duration(d) => pr.duration(&pp, d),
                RawPause::Table(RawPauseTable { duration: None }) => None,
                RawPause::Table(RawPauseTable { duration: Some(d) }) => {
                    pr.duration(&child(&pp, "duration"), d)
                }
            };
            steps.push(CanaryStep::Pause(d));
        } else if let Some(sc) = &s.set_canary_scale {
            let cp = child(&sp, "set_canary_scale");
            if !routed {
                pr.add(&cp, "set_canary_scale only applies with traffic routing", "Argo ignores it without trafficRouting; set traffic_routing = true or remove the step");
            }
            let n = [
                sc.replicas.is_some(),
                sc.weight.is_some(),
                sc.match_traffic_weight == Some(true),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if n != 1 {
                pr.add(&cp, "set_canary_scale needs exactly one of replicas, weight, match_traffic_weight = true", "e.g. set_canary_scale = { replicas = 2 }");
                continue;
            }
            let scale = match (sc.replicas, sc.weight) {
                (Some(r), _) => {
                    CanaryScale::Replicas(pr.count(&child(&cp, "replicas"), Some(r), 0, 0, 100_000))
                }
                (_, Some(w)) => {
                    CanaryScale::Weight(pr.count(&child(&cp, "weight"), Some(w), 0, 0, 10_000))
                }
                _ => CanaryScale::MatchTrafficWeight,
            };
            steps.push(CanaryStep::SetCanaryScale(scale));
        } else if let Some(a) = &s.analysis {
            if let Some(spec) = analysis_spec(pr, &child(&sp, "analysis"), a, Some(3)) {
                steps.push(CanaryStep::Analysis(spec));
            }
        }
    }
    steps
}
