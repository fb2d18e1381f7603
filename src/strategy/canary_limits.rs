//! What `rollsim plan` shows of an Argo canary's settings: the fenceposts where they apply (a
//! basic canary), each `setWeight` as the pod counts that approximate it
//! (`approximateWeightedCanaryStableReplicaCounts`), or the routing scale.

use super::argo_canary::approximate_weighted_counts;
use super::{CanarySpec, CanaryStep, Limit};

/// The limits of a canary with `spec`, whose fenceposts resolved to `(surge, unavailable)`.
pub(super) fn limits(spec: &CanarySpec, (surge, unavailable): (u32, u32)) -> Vec<Limit> {
    let mut v = vec![Limit::count("replicas", spec.replicas)];
    let Some(routing) = spec.traffic_routing else {
        // maxSurge / maxUnavailable only bound a basic canary's moves; a routed canary's
        // counts come from the weight alone (`CalculateReplicaCountsForTrafficRoutedCanary`).
        v.push(Limit::count("maxSurge", surge));
        v.push(Limit::count("maxUnavailable", unavailable));
        v.push(Limit::note(
            "trafficRouting",
            "no (weights approximated by pod counts)",
        ));
        let (mut values, mut text) = (vec![], vec![]);
        for s in &spec.steps {
            if let CanaryStep::SetWeight(w) = s {
                let (c, st) = approximate_weighted_counts(spec.replicas, *w, surge);
                let share = c as f64 * 100.0 / (c + st).max(1) as f64;
                values.push(serde_json::json!({
                    "weight": w,
                    "canary_pods": c,
                    "stable_pods": st,
                    "traffic_percent": (share * 10.0).round() / 10.0,
                }));
                text.push(format!(
                    "{w}% → {c} canary / {st} stable pods ({share:.1}% of traffic)"
                ));
            }
        }
        if !values.is_empty() {
            v.push(Limit {
                key: "setWeight",
                value: values.into(),
                text,
            });
        }
        return v;
    };
    v.push(Limit::note(
        "trafficRouting",
        "yes (exact weights; maxSurge and maxUnavailable do not apply)",
    ));
    if routing.max_weight != 100 {
        v.push(Limit::count_because(
            "maxTrafficWeight",
            routing.max_weight,
            format!(
                "{} (setWeight values are out of {})",
                routing.max_weight, routing.max_weight
            ),
        ));
    }
    if routing.dynamic_stable_scale {
        v.push(Limit::note("dynamicStableScale", "yes"));
    } else {
        v.push(Limit::duration(
            "scaleDownDelaySeconds",
            spec.scale_down_delay,
        ));
    }
    v
}
