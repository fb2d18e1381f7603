//! Resolution of `strategy = "canary"` (Argo Rollouts): maxSurge / maxUnavailable (Argo's
//! lenient int-or-percent), traffic routing and its limits, the `steps` — exactly one action per
//! step; weights within 0–maxTrafficWeight (a lower weight than the step before is accepted, as
//! Argo accepts it); `setCanaryScale` only with traffic routing — background analysis, the
//! scale-down delays and `promote_at`.

use super::argo_canary::{
    approximate_weighted_counts, resolve_argo_fenceposts, CanaryScale, TrafficRouting,
};
use super::{settings, CanarySpec, CanaryStep, StrategySpec};
use crate::scenario::{RawCanaryStep, RawDuration, RawPause, RawPauseTable, RolloutInput};

/// Resolves `strategy = "canary"` (see `strategy::canary::DEF`).
pub(super) fn resolve(inp: &mut RolloutInput<'_, '_>) -> Option<StrategySpec> {
    let (r, replicas) = (inp.raw(), inp.replicas());
    let (max_surge, max_unavailable) = settings::fenceposts(inp, true);
    let routed = r.traffic_routing.unwrap_or(false);
    if !routed {
        let set = [
            ("max_traffic_weight", r.max_traffic_weight.is_some()),
            (
                "min_pods_per_replica_set",
                r.min_pods_per_replica_set.is_some(),
            ),
            ("dynamic_stable_scale", r.dynamic_stable_scale.is_some()),
        ];
        for (k, _) in set.iter().filter(|(_, set)| *set) {
            inp.add(
                &[k],
                format!("`{k}` needs traffic routing"),
                "set traffic_routing = true, or remove it",
            );
        }
    }
    let max_weight = r.max_traffic_weight.map_or(100, |w| {
        inp.count(&["max_traffic_weight"], Some(w), 100, 1, 10_000)
    });
    let routing = routed.then(|| TrafficRouting {
        max_weight,
        min_pods_per_replica_set: r
            .min_pods_per_replica_set
            .map(|n| inp.count(&["min_pods_per_replica_set"], Some(n), 1, 1, 100_000)),
        dynamic_stable_scale: r.dynamic_stable_scale.unwrap_or(false),
    });
    let steps = canary_steps(inp, r.steps.as_deref().unwrap_or(&[]), routed, max_weight);
    let background = r.analysis.as_ref().and_then(|a| {
        let start = a.starting_step.map_or(0, |s| {
            inp.count(
                &["analysis", "starting_step"],
                Some(s),
                0,
                0,
                steps.len() as i64,
            ) as usize
        });
        inp.analysis(&["analysis"], a, None).map(|s| (s, start))
    });
    let spec = CanarySpec {
        replicas,
        versions: inp.versions(),
        steps,
        max_surge,
        max_unavailable,
        traffic_routing: routing,
        background_analysis: background,
        scale_down_delay: settings::scale_down_delay(inp),
        abort_scale_down_delay: settings::abort_delay(inp),
        promote_at: settings::promote_times(inp),
    };
    inexpressible_weights(inp, &spec);
    Some(StrategySpec::new(spec))
}

/// Warns about a basic canary's `set_weight` steps that whole pods cannot express: Argo
/// approximates the weight with replica counts (`approximateWeightedCanaryStableReplicaCounts`,
/// [`approximate_weighted_counts`]).
fn inexpressible_weights(inp: &mut RolloutInput<'_, '_>, c: &CanarySpec) {
    if c.traffic_routing.is_some() {
        return;
    }
    let r = c.replicas;
    let (surge, _) = resolve_argo_fenceposts(Some(c.max_surge), Some(c.max_unavailable), r);
    for (i, step) in c.steps.iter().enumerate() {
        let CanaryStep::SetWeight(weight) = *step else {
            continue;
        };
        let (canary, stable) = approximate_weighted_counts(r, weight, surge);
        let total = canary + stable;
        if total == 0 || 100 * canary == weight * total {
            continue;
        }
        let share = f64::from(canary) * 100.0 / f64::from(total);
        inp.warn(
            &["steps", &i.to_string(), "set_weight"],
            format!(
                "without traffic routing, set_weight = {weight} is approximated with pods: {canary} canary of {total} ({:.1} % of traffic, not {weight} %); use a weight that {r} replicas can express, or traffic_routing = true",
                share
            ),
        );
    }
}

/// Resolves the `steps`.
fn canary_steps(
    inp: &mut RolloutInput<'_, '_>,
    raw: &[RawCanaryStep],
    routed: bool,
    max_weight: u32,
) -> Vec<CanaryStep> {
    let mut steps = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let i_s = i.to_string();
        let sp = ["steps", i_s.as_str()];
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
            inp.add(&sp, format!("step {} must have exactly one of set_weight, pause, set_canary_scale, analysis ({set} given)", i + 1), "split it into one step per action");
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
                inp.add(
                    &["steps", &i_s, "set_weight"],
                    format!("set_weight {w} is outside 0–{max_weight}"),
                    help,
                );
                continue;
            }
            let w = w as u32;
            steps.push(CanaryStep::SetWeight(w));
        } else if let Some(pause) = &s.pause {
            let pp = ["steps", i_s.as_str(), "pause"];
            let d = match pause {
                RawPause::Duration(RawDuration::Text(t)) if t.trim() == "indefinite" => None,
                RawPause::Duration(d) => inp.duration(&pp, d),
                RawPause::Table(RawPauseTable { duration: None }) => None,
                RawPause::Table(RawPauseTable { duration: Some(d) }) => {
                    inp.duration(&["steps", &i_s, "pause", "duration"], d)
                }
            };
            steps.push(CanaryStep::Pause(d));
        } else if let Some(sc) = &s.set_canary_scale {
            let cp = ["steps", i_s.as_str(), "set_canary_scale"];
            if !routed {
                inp.add(&cp, "set_canary_scale only applies with traffic routing", "Argo ignores it without trafficRouting; set traffic_routing = true or remove the step");
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
                inp.add(&cp, "set_canary_scale needs exactly one of replicas, weight, match_traffic_weight = true", "e.g. set_canary_scale = { replicas = 2 }");
                continue;
            }
            let scale = match (sc.replicas, sc.weight) {
                (Some(r), _) => CanaryScale::Replicas(inp.count(
                    &["steps", &i_s, "set_canary_scale", "replicas"],
                    Some(r),
                    0,
                    0,
                    100_000,
                )),
                (_, Some(w)) => CanaryScale::Weight(inp.count(
                    &["steps", &i_s, "set_canary_scale", "weight"],
                    Some(w),
                    0,
                    0,
                    10_000,
                )),
                _ => CanaryScale::MatchTrafficWeight,
            };
            steps.push(CanaryStep::SetCanaryScale(scale));
        } else if let Some(a) = &s.analysis {
            if let Some(spec) = inp.analysis(&["steps", &i_s, "analysis"], a, Some(3)) {
                steps.push(CanaryStep::Analysis(spec));
            }
        }
    }
    steps
}
