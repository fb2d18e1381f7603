//! Argo Rollouts canary replica arithmetic, as pure functions.
//!
//! Models the helpers of `argoproj/argo-rollouts` `utils/replicaset/canary.go`
//! (`approximateWeightedCanaryStableReplicaCounts`, `CalculateReplicaCountsForBasicCanary`,
//! `CalculateReplicaCountsForTrafficRoutedCanary`, `AtDesiredReplicaCountsForCanary`), the
//! fencepost resolution of `utils/replicaset/replicaset.go` (`MaxSurge`, `MaxUnavailable`) and
//! the defaults of `utils/defaults/defaults.go`; see `/work/shared/reference/controllers.md` §2.
//!
//! Everything here is a function of counts only: the caller resolves the weight in effect
//! (`setWeight` of the current step, 100 after the last step or on `promoteFull`, 0 on abort),
//! finds the stable/canary/older ReplicaSets, and applies the result (stable first, then canary,
//! stopping after the first ReplicaSet that changed). Not modelled: `replicaProgressThreshold`,
//! the separate pass that scales older ReplicaSets down, and upstream's double counting when
//! the stable ReplicaSet *is* the canary (here that case is `stable: None`, which can differ
//! from upstream only when that ReplicaSet has more than `replicas` pods in spec).

use super::{resolve_fenceposts, IntOrPercent};

/// Argo's default `canary.maxSurge`: the string `"25"`, which Argo's legacy parser reads as 25 %.
pub const ARGO_DEFAULT_MAX_SURGE: IntOrPercent = IntOrPercent::Percent(25);
/// Argo's default `canary.maxUnavailable`: the string `"25"`, read as 25 %.
pub const ARGO_DEFAULT_MAX_UNAVAILABLE: IntOrPercent = IntOrPercent::Percent(25);
/// Default `trafficRouting.maxTrafficWeight`.
pub const ARGO_DEFAULT_MAX_TRAFFIC_WEIGHT: u32 = 100;

/// Resolved `(maxSurge, maxUnavailable)` of a canary Rollout with `replicas` pods (§2.3).
///
/// Each argument is the value after Argo's legacy `intstr` parse (an integer, or a string with or
/// without `%`, both read as a percent); `None` means the string did not parse. Unset fields must
/// be replaced by [`ARGO_DEFAULT_MAX_SURGE`] / [`ARGO_DEFAULT_MAX_UNAVAILABLE`] by the caller.
/// Valid values resolve as in Kubernetes: surge percent rounds up, unavailable rounds down, both
/// 0 makes unavailable 1, unavailable is clamped to `replicas` (0 for 0 replicas), surge is not
/// clamped. If either value failed to parse, upstream's `resolveFenceposts` errors before the
/// both-zero fix-up and its callers ignore the error, so the result is `(0, 0)`.
pub fn resolve_argo_fenceposts(
    max_surge: Option<IntOrPercent>,
    max_unavailable: Option<IntOrPercent>,
    replicas: u32,
) -> (u32, u32) {
    match (max_surge, max_unavailable) {
        (Some(surge), Some(unavailable)) => resolve_fenceposts(surge, unavailable, replicas),
        _ => (0, 0),
    }
}

/// Target `(canary, stable)` pod counts approximating `weight` % with pods alone (§2.5).
///
/// With `c↑ = ⌈R·W/100⌉` and `c↓ = ⌊R·W/100⌋`, the candidates `(canary, total)` are, in order:
/// `(c↑, R)` if `c↑ < R` or zero is allowed; `(c↓, R)` unless `R·W/100` ends in exactly .5, and
/// only if `c↓ ≠ 0` or zero is allowed; and when `max_surge > 0`, `(c↑, R+1)` and `(c↓, R+1)`
/// (the latter under the same two conditions, the .5 test made on `(R+1)·W/100`). "Zero allowed"
/// means `W` is 0 or 100, or a single replica without surge. The candidate whose
/// `100·canary/total` is nearest `W` wins, the first listed on ties. The result is
/// `(canary, total − canary)`; 0 replicas give `(0, 0)`. When no candidate qualifies (no surge
/// and `R·W/100 = R − ½`, e.g. 10 replicas at 95 %), upstream falls back to `(0, R)`: no canary.
/// Computed exactly in integers (upstream uses `float64`; the two agree for every weight 0–100
/// up to at least 20 000 replicas).
pub fn approximate_weighted_counts(replicas: u32, weight: u32, max_surge: u32) -> (u32, u32) {
    if replicas == 0 {
        return (0, 0);
    }
    let (r, w) = (u64::from(replicas), u64::from(weight));
    let up = (r * w).div_ceil(100);
    let down = r * w / 100;
    let ends_in_half = |total: u64| (total * w) % 100 == 50;
    let zero_allowed = weight == 0 || weight == 100 || (replicas == 1 && max_surge == 0);
    let down_ok = down != 0 || zero_allowed;

    let offered = [
        (up < r || zero_allowed, (up, r)),
        (!ends_in_half(r) && down_ok, (down, r)),
        (max_surge > 0, (up, r + 1)),
        (
            max_surge > 0 && !ends_in_half(r + 1) && down_ok,
            (down, r + 1),
        ),
    ];
    // |100·c/t − W| compared as the fraction |100·c − W·t| / t, exactly; first wins ties.
    let distance = |(c, t): (u64, u64)| (100 * c).abs_diff(w * t);
    let mut best: Option<(u64, u64)> = None;
    for (_, cand) in offered.into_iter().filter(|&(ok, _)| ok) {
        if best.is_none_or(|b| distance(cand) * b.1 < distance(b) * cand.1) {
            best = Some(cand);
        }
    }
    match best {
        Some((c, t)) => (c as u32, (t - c) as u32),
        None => (0, replicas), // unreachable, as upstream notes ("should not get here")
    }
}

/// What the basic-canary arithmetic reads of one ReplicaSet.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RsCounts {
    /// `spec.replicas`.
    pub spec: u32,
    /// `status.availableReplicas`.
    pub available: u32,
}

impl RsCounts {
    /// Pods counted as protecting availability before a scale-down (`GetReplicasForScaleDown`):
    /// the spec if `ignore_availability` or if fewer than the available pods, else those.
    fn protecting(self, ignore_availability: bool) -> u32 {
        if ignore_availability || self.spec < self.available {
            self.spec
        } else {
            self.available
        }
    }
}

/// One reconcile of a basic canary (no traffic routing): the `(canary, stable)` spec counts
/// `CalculateReplicaCountsForBasicCanary` asks for (§2.5 "One reconcile move").
///
/// `max_surge` / `max_unavailable` are resolved values ([`resolve_argo_fenceposts`]); `stable`
/// is `None` when there is no stable ReplicaSet or it is the canary itself; `canary` is the new
/// ReplicaSet (once it exists: upstream computes 0 for a missing one); `older_spec` is the summed
/// spec of every other ReplicaSet. Steps:
/// 1. Targets come from [`approximate_weighted_counts`]; without a stable RS the canary targets
///    `replicas` and the stable 0.
/// 2. Scale-up budget `replicas + surge − Σspec` (older + canary + stable): raise the stable
///    toward its target first, then the canary with what is left.
/// 3. If older ReplicaSets still have spec > 0, stop: they are scaled down first.
/// 4. `minAvailable = replicas − maxUnavailable`. The move is "increasing" when the canary target
///    is at least the canary's spec. Count the protecting pods: the canary's available pods (its
///    spec if decreasing) plus the stable's spec (its available pods if decreasing); an RS with
///    more available pods than spec counts its spec. If that is ≤ `minAvailable`, stop.
/// 5. Remove the excess over `minAvailable` from the stable when increasing, from the canary when
///    decreasing, never below that ReplicaSet's target.
/// 6. Only when step 5 ran (even if it removed nothing): trim the other ReplicaSet so the two
///    stay within `replicas + surge`, giving pods back to it when the available pods kept would
///    be fewer than `minAvailable`, and take any remaining excess from the drained ReplicaSet.
///
/// The arithmetic is signed, as upstream's; results are clamped at 0 (an exhaustive search of
/// small states with `max_unavailable ≤ replicas` found no negative result).
pub fn basic_canary_move(
    replicas: u32,
    weight: u32,
    max_surge: u32,
    max_unavailable: u32,
    stable: Option<RsCounts>,
    canary: RsCounts,
    older_spec: u32,
) -> (u32, u32) {
    let i = i64::from;
    let (want_canary, want_stable) = match stable {
        Some(_) => approximate_weighted_counts(replicas, weight, max_surge),
        None => (replicas, 0),
    };
    let (want_canary, want_stable) = (i(want_canary), i(want_stable));
    let ceiling = i(replicas) + i(max_surge);
    let stable_spec = stable.map_or(0, |s| i(s.spec));
    let mut next_canary = i(canary.spec);
    let mut next_stable = stable_spec;

    // Step 2: scale up within the surge budget, stable first.
    let mut budget = ceiling - i(older_spec) - i(canary.spec) - stable_spec;
    if stable.is_some() && stable_spec < want_stable && budget > 0 {
        next_stable = want_stable.min(stable_spec + budget);
        budget -= next_stable - stable_spec;
    }
    if i(canary.spec) < want_canary && budget > 0 {
        next_canary = want_canary.min(i(canary.spec) + budget);
    }
    let clamp = |c: i64, s: i64| (c.max(0) as u32, s.max(0) as u32);
    // Step 3: older ReplicaSets are drained first.
    if older_spec > 0 {
        return clamp(next_canary, next_stable);
    }

    // Step 4: scale-down budget.
    let min_available = i(replicas) - i(max_unavailable);
    let increasing = want_canary >= i(canary.spec);
    let protecting =
        i(canary.protecting(!increasing)) + stable.map_or(0, |s| i(s.protecting(increasing)));
    if protecting <= min_available {
        return clamp(next_canary, next_stable);
    }
    let excess = protecting - min_available;

    // Step 5 (`calculateScaleDownReplicaCount`), then step 6.
    let shrunk = |rs: RsCounts, target: i64, current: i64| {
        let spec = i(rs.spec);
        if spec > target {
            target.max(spec - excess)
        } else {
            current
        }
    };
    let (ceil, floor) = (ceiling, min_available);
    if !increasing {
        next_canary = shrunk(canary, want_canary, next_canary);
        (next_canary, next_stable) = limit(canary, stable, next_canary, next_stable, ceil, floor);
    } else if let Some(stable) = stable {
        next_stable = shrunk(stable, want_stable, next_stable);
        (next_stable, next_canary) =
            limit(stable, Some(canary), next_stable, next_canary, ceil, floor);
    }
    clamp(next_canary, next_stable)
}

/// Step 6 (`adjustReplicaWithinLimits`): new `(drained, other)` counts `(d, o)` under the surge
/// `ceiling` and above the availability `floor`.
fn limit(
    drained: RsCounts,
    other: Option<RsCounts>,
    d: i64,
    o: i64,
    ceiling: i64,
    floor: i64,
) -> (i64, i64) {
    let Some(other) = other else { return (d, o) };
    let (d_avail, o_avail) = (i64::from(drained.available), i64::from(other.available));
    // Trim the other ReplicaSet to fit under the ceiling...
    let o_trimmed = o - (o + d - ceiling).max(0);
    // ...but give back pods whose loss would take availability below the floor.
    let kept_available = d_avail.min(d) + o_avail.min(o_trimmed);
    let short = (floor - kept_available).max(0);
    let o_final = o_trimmed + (o_avail - o_trimmed).max(0).min(short);
    // Whatever still exceeds the ceiling comes out of the drained ReplicaSet.
    (d - (o_final + d - ceiling).max(0), o_final)
}

/// `ceil(weight × replicas / max_weight)`: the pods needed to serve a traffic weight
/// (`trafficWeightToReplicas`). `max_weight` must be ≥ 1 (validation rejects smaller values).
pub fn weight_to_replicas(replicas: u32, weight: u32, max_weight: u32) -> u32 {
    let pods = (u64::from(weight) * u64::from(replicas)).div_ceil(u64::from(max_weight.max(1)));
    pods.min(u64::from(u32::MAX)) as u32
}

/// The `setCanaryScale` in force (the latest such step at or before the current one).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum CanaryScale {
    /// No `setCanaryScale`, or `matchTrafficWeight: true`: the canary follows the weight.
    #[default]
    MatchTrafficWeight,
    /// `replicas: N`: exactly N canary pods (the weight is then taken as 0 for the stable).
    Replicas(u32),
    /// `weight: P`: `ceil(P × replicas / maxWeight)` canary pods (P may exceed the maximum);
    /// P also replaces the traffic weight in the dynamic stable count.
    Weight(u32),
}

/// Traffic-routing settings of a canary that affect replica counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrafficRouting {
    /// `trafficRouting.maxTrafficWeight` (default 100).
    pub max_weight: u32,
    /// `canary.minPodsPerReplicaSet`: floor for a non-zero count (capped at `replicas`).
    pub min_pods_per_replica_set: Option<u32>,
    /// `canary.dynamicStableScale`: shrink the stable as traffic leaves it.
    pub dynamic_stable_scale: bool,
}

impl Default for TrafficRouting {
    fn default() -> Self {
        TrafficRouting {
            max_weight: ARGO_DEFAULT_MAX_TRAFFIC_WEIGHT,
            min_pods_per_replica_set: None,
            dynamic_stable_scale: false,
        }
    }
}

/// The weights last set on the router (`status.canary.weights`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrafficWeights {
    /// Weight of the canary destination.
    pub canary: u32,
    /// Weight of the stable destination.
    pub stable: u32,
}

/// Desired `(canary, stable)` counts of a traffic-routed canary (§2.7,
/// `CalculateReplicaCountsForTrafficRoutedCanary`).
///
/// `desired_weight` is the weight in effect (see the module doc; on abort with
/// dynamicStableScale, [`abort_step_down_weight`]); `scale` is the `setCanaryScale` in force
/// (pass [`CanaryScale::MatchTrafficWeight`] on abort unless `abortScaleDownDelaySeconds: 0`);
/// `actual` is `status.canary.weights` if recorded. Canary = explicit replicas, else the pods for
/// the weight raised to `minPodsPerReplicaSet`. Stable = `replicas`, or with dynamicStableScale
/// the larger of the pods for `maxWeight − W` and for the actual stable weight; when `aborted`
/// the canary also keeps the pods its actual weight needs; both then get the
/// `minPodsPerReplicaSet` floor. A stable weight below 0 (`setCanaryScale.weight` above the
/// maximum) counts as 0 here; upstream would compute a negative count.
pub fn traffic_routed_counts(
    replicas: u32,
    routing: &TrafficRouting,
    desired_weight: u32,
    scale: CanaryScale,
    actual: Option<TrafficWeights>,
    aborted: bool,
) -> (u32, u32) {
    let max_weight = routing.max_weight;
    let floor = |count: u32| match routing.min_pods_per_replica_set {
        Some(min) if count > 0 => count.max(min.min(replicas)),
        _ => count,
    };
    let (mut canary, weight) = match scale {
        CanaryScale::Replicas(n) => (n, 0),
        CanaryScale::Weight(p) => (floor(weight_to_replicas(replicas, p, max_weight)), p),
        CanaryScale::MatchTrafficWeight => {
            let pods = weight_to_replicas(replicas, desired_weight, max_weight);
            (floor(pods), desired_weight)
        }
    };
    if !routing.dynamic_stable_scale {
        return (canary, replicas);
    }
    let mut stable = weight_to_replicas(replicas, max_weight.saturating_sub(weight), max_weight);
    if let Some(actual) = actual {
        stable = stable.max(weight_to_replicas(replicas, actual.stable, max_weight));
        if aborted {
            canary = canary.max(weight_to_replicas(replicas, actual.canary, max_weight));
        }
    }
    (floor(canary), floor(stable))
}

/// Weight used for replica counts while an aborted traffic-routed canary with
/// dynamicStableScale drains (§2.7): walking `set_weights` (the `setWeight` values of the steps,
/// in step order) from the last, the first whose pods ([`weight_to_replicas`]) are fewer than
/// `replicas − stable_available` and, unless `abortScaleDownDelaySeconds` is set explicitly, than
/// `canary_available` too (the larger of the two counts); 0 if none.
///
/// Taken from the notes (upstream `GetDesiredCanaryWeight`, PRs #4035 and #4900); the stored
/// upstream snapshot predates it. The router weight itself is never raised during an abort.
pub fn abort_step_down_weight(
    replicas: u32,
    max_weight: u32,
    set_weights: &[u32],
    stable_available: u32,
    canary_available: u32,
    explicit_abort_delay: bool,
) -> u32 {
    let counted_canary = if explicit_abort_delay {
        0
    } else {
        canary_available
    };
    let canary_pods = replicas
        .saturating_sub(stable_available)
        .max(counted_canary);
    let needs = |w: u32| weight_to_replicas(replicas, w, max_weight);
    let found = set_weights.iter().rev().find(|&&w| needs(w) < canary_pods);
    found.copied().unwrap_or(0)
}

/// What the step-completion check reads of the stable ReplicaSet: counts, not availability.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RsCreated {
    /// `spec.replicas`.
    pub spec: u32,
    /// `status.replicas`: pods that exist and are not terminating.
    pub replicas: u32,
}

/// Whether a `setWeight` / `setCanaryScale` step has reached its counts (§2.6,
/// `AtDesiredReplicaCountsForCanary`).
///
/// `desired_*` are this reconcile's counts ([`basic_canary_move`] without traffic routing,
/// [`traffic_routed_counts`] with it). The canary's spec and available pods must both equal its
/// count; the stable (required to exist) must have spec and `status.replicas` equal to its count,
/// a check skipped with traffic routing and dynamicStableScale; without traffic routing, older
/// ReplicaSets must have no available pods.
pub fn at_desired_counts(
    desired_canary: u32,
    desired_stable: u32,
    canary: RsCounts,
    stable: Option<RsCreated>,
    older_available: u32,
    traffic_routing: Option<&TrafficRouting>,
) -> bool {
    let canary_done = canary.spec == desired_canary && canary.available == desired_canary;
    let stable_done = match traffic_routing {
        Some(t) if t.dynamic_stable_scale => true,
        _ => stable.is_some_and(|s| s.spec == desired_stable && s.replicas == desired_stable),
    };
    let older_done = traffic_routing.is_some() || older_available == 0;
    canary_done && stable_done && older_done
}

#[cfg(test)]
mod tests {
    use super::CanaryScale::{MatchTrafficWeight as M, Replicas as N, Weight as P};
    use super::IntOrPercent::{Int, Percent};
    use super::*;

    fn rs(spec: u32, available: u32) -> RsCounts {
        RsCounts { spec, available }
    }

    #[test]
    fn fenceposts_follow_argo_defaults_and_legacy_parse() {
        let s = Some(ARGO_DEFAULT_MAX_SURGE);
        let u = Some(ARGO_DEFAULT_MAX_UNAVAILABLE);
        let want = [(0, 0), (1, 0), (1, 0), (1, 1), (3, 2)];
        for (r, want) in [0, 1, 3, 4, 10].into_iter().zip(want) {
            assert_eq!(resolve_argo_fenceposts(s, u, r), want, "{r}");
        }
        let resolve = |s, u, r| resolve_argo_fenceposts(Some(s), Some(u), r);
        assert_eq!(resolve(Percent(0), Percent(0), 10), (0, 1)); // both 0 ⇒ unavailable 1
        assert_eq!(resolve(Int(0), Percent(5), 10), (0, 1));
        assert_eq!(resolve(Int(0), Int(0), 0), (0, 0));
        assert_eq!(resolve(Int(0), Int(10), 5), (0, 5)); // unavailable clamped, surge not
        assert_eq!(resolve(Int(10), Int(0), 5), (10, 0));
        // A value that failed to parse errors before the fix-up: both 0.
        for (s, u) in [(None, u), (s, None), (None, None), (Some(Int(3)), None)] {
            assert_eq!(resolve_argo_fenceposts(s, u, 10), (0, 0));
        }
    }

    /// (replicas, weight, surge, canary, stable): upstream canary_test.go,
    /// TestApproximateWeightedNewStableReplicaCounts.
    #[rustfmt::skip]
    const UPSTREAM_APPROX: [(u32, u32, u32, u32, u32); 56] = [
        (0, 0, 0, 0, 0), (0, 50, 0, 0, 0), (0, 100, 0, 0, 0), (0, 0, 1, 0, 0), (0, 50, 1, 0, 0),
        (0, 100, 1, 0, 0), (1, 0, 0, 0, 1), (1, 1, 0, 0, 1), (1, 49, 0, 0, 1), (1, 50, 0, 1, 0),
        (1, 99, 0, 1, 0), (1, 100, 0, 1, 0), (1, 0, 1, 0, 1), (1, 1, 1, 1, 1), (1, 49, 1, 1, 1),
        (1, 50, 1, 1, 1), (1, 99, 1, 1, 1), (1, 100, 1, 1, 0), (2, 0, 0, 0, 2), (2, 1, 0, 1, 1),
        (2, 50, 0, 1, 1), (2, 99, 0, 1, 1), (2, 100, 0, 2, 0), (2, 0, 1, 0, 2), (2, 1, 1, 1, 2),
        (2, 50, 1, 1, 1), (2, 99, 1, 2, 1), (2, 100, 1, 2, 0), (3, 10, 0, 1, 2), (3, 25, 0, 1, 2),
        (3, 33, 0, 1, 2), (3, 34, 0, 1, 2), (3, 49, 0, 1, 2), (3, 50, 0, 2, 1), (3, 10, 1, 1, 3),
        (3, 25, 1, 1, 3), (3, 33, 1, 1, 2), (3, 34, 1, 1, 2), (3, 49, 1, 2, 2), (3, 50, 1, 2, 2),
        (10, 0, 1, 0, 10), (10, 1, 0, 1, 9), (10, 14, 0, 1, 9), (10, 15, 0, 2, 8),
        (10, 16, 0, 2, 8), (10, 99, 0, 9, 1), (10, 100, 1, 10, 0), (10, 1, 1, 1, 10),
        (10, 18, 1, 2, 9), (10, 19, 1, 2, 9), (10, 20, 1, 2, 8), (10, 23, 1, 2, 8),
        (10, 24, 1, 3, 8), (10, 25, 1, 3, 8), (10, 99, 1, 10, 1), (10, 100, 1, 10, 0),
    ];

    /// Rows: (replicas, surge); columns: weights 0, 1, 5, 33, 50, 99, 100. Expected values from
    /// a direct transcription of upstream's float64 algorithm, spot-checked by hand.
    type GridRow = (u32, u32, [(u32, u32); 7]);
    #[rustfmt::skip]
    const GRID: [GridRow; 8] = [
        (1, 0, [(0, 1), (0, 1), (0, 1), (0, 1), (1, 0), (1, 0), (1, 0)]),
        (1, 1, [(0, 1), (1, 1), (1, 1), (1, 1), (1, 1), (1, 1), (1, 0)]),
        (3, 0, [(0, 3), (1, 2), (1, 2), (1, 2), (2, 1), (2, 1), (3, 0)]),
        (3, 1, [(0, 3), (1, 3), (1, 3), (1, 2), (2, 2), (3, 1), (3, 0)]),
        (5, 0, [(0, 5), (1, 4), (1, 4), (2, 3), (3, 2), (4, 1), (5, 0)]),
        (5, 1, [(0, 5), (1, 5), (1, 5), (2, 4), (3, 3), (5, 1), (5, 0)]),
        (10, 0, [(0, 10), (1, 9), (1, 9), (3, 7), (5, 5), (9, 1), (10, 0)]),
        (10, 1, [(0, 10), (1, 10), (1, 10), (3, 7), (5, 5), (10, 1), (10, 0)]),
    ];

    #[test]
    fn weighted_counts_match_upstream_grid_and_invariants() {
        let approx = approximate_weighted_counts;
        for (r, w, s, c, st) in UPSTREAM_APPROX {
            assert_eq!(approx(r, w, s), (c, st), "R={r} W={w} surge={s}");
        }
        for (r, s, row) in GRID {
            for (w, want) in [0, 1, 5, 33, 50, 99, 100].into_iter().zip(row) {
                for surge in [s, 3 * s] {
                    assert_eq!(approx(r, w, surge), want, "R={r} W={w}");
                }
            }
        }
        // No candidate at all (surge 0, R·W/100 = R − ½): upstream falls back to 0 canary.
        for (r, w) in [(2, 75), (5, 90), (10, 95), (25, 98), (50, 99)] {
            assert_eq!(approx(r, w, 0), (0, r), "R={r} W={w}");
        }
        // Invariants over R 1–60, W 0–100, surge 0–3.
        for (r, w, s) in (1..=60u32).flat_map(|r| (0..404).map(move |i| (r, i / 4, i % 4))) {
            let (c, st) = approx(r, w, s);
            let ctx = format!("R={r} W={w} surge={s}");
            assert!(c + st == r || (s > 0 && c + st == r + 1), "{ctx}");
            let no_candidate = s == 0 && 2 * r * w == 200 * r - 100; // R·W/100 = R − ½
            if !no_candidate {
                assert!(r * w / 100 <= c && c <= (r * w).div_ceil(100), "{ctx}");
            }
            match w {
                0 => assert_eq!((c, st), (0, r), "{ctx}"),
                100 => assert_eq!((c, st), (r, 0), "{ctx}"),
                _ if r == 1 && s == 0 => assert_eq!(c, u32::from(w >= 50), "{ctx}"),
                _ if no_candidate => assert_eq!((c, st), (0, r), "{ctx}"),
                _ => assert!(c >= 1 && st >= 1, "{ctx}"),
            }
        }
    }

    type Move = (u32, u32, u32, u32, (u32, u32), (u32, u32), u32, u32, u32);
    /// (replicas, weight, surge, unavailable, stable spec/available, canary spec/available,
    /// older spec, canary, stable). First the basic-canary rows of upstream canary_test.go
    /// TestCalculateReplicaCountsForCanary (percent fenceposts resolved by hand), then the
    /// notes' §2.5 illustration and contrasts.
    #[rustfmt::skip]
    const MOVES: [Move; 31] = [
        (10, 100, 3, 0, (7, 8), (6, 3), 0, 6, 7),    // spec < available counts spec
        (10, 20, 2, 0, (10, 10), (0, 0), 0, 2, 10),  // surge int / 20 % scales canary up
        (10, 20, 2, 0, (10, 10), (2, 2), 0, 2, 8),   // then extra stable goes
        (10, 30, 2, 0, (10, 10), (0, 0), 0, 2, 10),  // not past maxSurge
        (10, 20, 0, 2, (10, 10), (0, 0), 0, 0, 8),   // unavailable int / 20 % shrinks stable
        (10, 30, 0, 2, (10, 10), (0, 0), 0, 0, 8),   // not past maxUnavailable
        (10, 50, 2, 1, (10, 10), (0, 0), 0, 2, 9),
        (10, 0, 1, 1, (10, 10), (1, 1), 0, 0, 10), (10, 100, 1, 1, (1, 1), (10, 10), 0, 10, 0),
        (1, 20, 1, 0, (1, 1), (0, 0), 0, 1, 1), (1, 90, 1, 0, (1, 1), (0, 0), 0, 1, 1),
        (10, 30, 1, 0, (1, 1), (0, 0), 3, 1, 7),     // stable scaled up before canary
        (10, 30, 0, 3, (8, 5), (4, 4), 0, 3, 7),
        (10, 100, 1, 0, (10, 2), (10, 8), 0, 9, 2),  // step 6 trims the canary to the ceiling
        (10, 30, 0, 1, (8, 6), (4, 2), 3, 4, 8),     // older RS: no scale-down yet
        (10, 5, 0, 1, (10, 10), (0, 0), 0, 0, 9), (10, 5, 0, 1, (9, 9), (0, 0), 0, 1, 9),
        (10, 10, 0, 1, (10, 10), (0, 0), 0, 0, 9),   // 0 %/0 % resolved to 0/1
        (4, 100, 1, 0, (4, 1), (0, 0), 0, 1, 4),     // honour maxSurge, stable unavailable
        (3, 99, 0, 2, (3, 3), (0, 0), 0, 0, 1), (3, 99, 0, 2, (1, 1), (0, 0), 0, 2, 1),
        (4, 100, 1, 0, (4, 1), (1, 1), 0, 1, 3),     // honour maxUnavailable
        (4, 0, 1, 0, (0, 0), (4, 4), 0, 4, 1),       // abort: stable surges first,
        (4, 0, 1, 0, (1, 0), (4, 4), 0, 4, 1),       // waits for it to be available,
        (4, 0, 1, 0, (1, 1), (4, 4), 0, 3, 1),       // then drains the canary by 1
        (4, 100, 4, 4, (4, 4), (0, 0), 0, 4, 0),     // promoteFull (weight 100)
        (4, 100, 3, 0, (4, 4), (0, 0), 0, 3, 4),     // promoteFull still honours surge
        // Notes: 25 %/25 % on 10 replicas at setWeight 20: the first reconcile's stable part
        // (10→8) is applied alone, the next one grows the canary (0→2).
        (10, 20, 3, 2, (10, 10), (0, 0), 0, 2, 8), (10, 20, 3, 2, (8, 8), (0, 0), 0, 2, 8),
        // Surge 2 / unavailable 0: stable stays at 10 until the canary is available.
        (10, 20, 2, 0, (10, 10), (2, 0), 0, 2, 10),
        // Surge 0 / unavailable 2: once the stable is at 8, the canary gets the room.
        (10, 20, 0, 2, (8, 8), (0, 0), 0, 2, 8),
    ];

    #[test]
    fn basic_moves_match_upstream_and_notes() {
        for (r, w, s, u, (ss, sa), (cs, ca), older, c, st) in MOVES {
            let got = basic_canary_move(r, w, s, u, Some(rs(ss, sa)), rs(cs, ca), older);
            assert_eq!(got, (c, st), "R={r} W={w} surge={s} unavailable={u}");
        }
        // No stable RS, or the stable is the canary: canary to R (new deployment, edge cases).
        assert_eq!(basic_canary_move(10, 10, 0, 1, None, rs(10, 0), 0), (10, 0));
        assert_eq!(basic_canary_move(10, 10, 0, 1, None, rs(9, 9), 0), (10, 0));
    }

    /// Reconciles with instantly available pods until nothing changes, applying the stable first
    /// and the canary only if the stable did not change, as the controller does; checks each
    /// state against the surge ceiling and the availability floor.
    fn converge(r: u32, w: u32, surge: u32, unav: u32, start: (u32, u32)) -> (u32, u32) {
        let ((mut c, mut s), ceiling) = (start, (r + surge).max(start.0 + start.1));
        for _ in 0..=2 * r + 4 {
            let (nc, ns) = basic_canary_move(r, w, surge, unav, Some(rs(s, s)), rs(c, c), 0);
            match (ns != s, nc != c) {
                (true, _) => s = ns,
                (false, true) => c = nc,
                (false, false) => return (c, s),
            }
            let ctx = format!("R={r} W={w} surge={surge} unav={unav}: {c}+{s}");
            assert!(c + s <= ceiling && c + s + unav >= r, "{ctx}");
        }
        panic!("no fixed point: R={r} W={w} surge={surge} unavailable={unav}");
    }

    #[rustfmt::skip]
    const LADDERS: [&[u32]; 5] = [
        &[1, 5, 33, 50, 99, 100], &[20, 40, 60, 80, 100], &[50, 0], &[99, 33, 0], &[10, 95, 100],
    ];

    #[test]
    fn basic_canary_walks_steps_within_limits_to_the_targets() {
        for r in 1..=12 {
            let default = resolve_argo_fenceposts(Some(Percent(25)), Some(Percent(25)), r);
            for (surge, unav) in [(0, 1), (1, 0), (1, 1), (2, 0), (0, 2), (3, 2), default] {
                for ladder in LADDERS {
                    let mut state = (0, r);
                    for &w in ladder {
                        state = converge(r, w, surge, unav, state);
                        let want = approximate_weighted_counts(r, w, surge);
                        assert_eq!(state, want, "R={r} W={w}");
                    }
                }
            }
        }
    }

    const fn tr(max_weight: u32, min: Option<u32>, dynamic: bool) -> TrafficRouting {
        TrafficRouting {
            max_weight,
            min_pods_per_replica_set: min,
            dynamic_stable_scale: dynamic,
        }
    }
    const fn tw(canary: u32, stable: u32) -> Option<TrafficWeights> {
        Some(TrafficWeights { canary, stable })
    }
    const PLAIN: TrafficRouting = tr(100, None, false);
    const DYNAMIC: TrafficRouting = tr(100, None, true);

    type Weights = Option<TrafficWeights>;
    type Routed = (
        u32,
        TrafficRouting,
        u32,
        CanaryScale,
        Weights,
        bool,
        u32,
        u32,
    );
    /// (replicas, routing, weight, setCanaryScale, actual weights, aborted, canary, stable).
    #[rustfmt::skip]
    const ROUTED: [Routed; 20] = [
        (10, PLAIN, 5, M, None, false, 1, 10),    // notes: 5 % of 10 → 1
        (10, PLAIN, 1, M, None, false, 1, 10),    // notes: 1 % of 10 → 1
        (10, PLAIN, 0, M, None, false, 0, 10), (10, PLAIN, 10, M, None, false, 1, 10),
        (1, PLAIN, 100, N(9), None, false, 9, 1), // upstream: setCanaryScale replicas
        (4, PLAIN, 100, P(200), None, false, 8, 4), // upstream: setCanaryScale weight 200
        (1, PLAIN, 0, N(1), None, true, 1, 1),    // upstream: abort, abortScaleDownDelay 0
        (1, PLAIN, 0, M, None, true, 0, 1),       // upstream: abort, delay > 0
        (10, tr(100, Some(2), false), 5, M, None, false, 2, 10), // upstream: minPodsPerRS
        (3, tr(100, Some(5), false), 5, M, None, false, 3, 3),  // minimum capped at R
        (10, tr(100, Some(2), false), 0, M, None, false, 0, 10),
        (10, tr(1000, None, false), 50, M, None, false, 1, 10),
        // upstream TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale
        (10, DYNAMIC, 10, M, tw(10, 90), false, 1, 9), (10, DYNAMIC, 20, M, tw(10, 90), false, 2, 9),
        (10, DYNAMIC, 0, M, tw(20, 80), true, 2, 10), (10, DYNAMIC, 0, M, tw(10, 90), true, 1, 10),
        (10, DYNAMIC, 60, M, None, false, 6, 4), (10, DYNAMIC, 50, N(3), None, false, 3, 10),
        (3, tr(100, Some(2), true), 90, M, tw(50, 50), false, 3, 2),
        // notes §2.7: steps [20, 60], traffic 60/40, abort, canary 6/6, stable 4/4 → weight 20
        (10, DYNAMIC, 20, M, tw(60, 40), true, 6, 8),
    ];

    #[test]
    fn traffic_routed_counts_match_pinned_cases() {
        for (r, t, w, scale, actual, abort, c, s) in ROUTED {
            let got = traffic_routed_counts(r, &t, w, scale, actual, abort);
            assert_eq!(
                got,
                (c, s),
                "R={r} {t:?} W={w} {scale:?} {actual:?} {abort}"
            );
        }
        // upstream TestTrafficWeightToReplicas
        for (w, pods) in [(0, 0), (20, 2), (25, 3), (33, 4), (99, 10), (100, 10)] {
            assert_eq!(weight_to_replicas(10, w, 100), pods, "{w}");
        }
        assert_eq!(abort_step_down_weight(10, 100, &[20, 60], 4, 6, false), 20);
        // With an explicit abortScaleDownDelaySeconds only the missing stable pods count.
        assert_eq!(abort_step_down_weight(10, 100, &[20, 60], 4, 6, true), 20);
        assert_eq!(abort_step_down_weight(10, 100, &[5, 50], 10, 3, false), 5);
        assert_eq!(abort_step_down_weight(10, 100, &[5, 50], 10, 3, true), 0);
        for (r, w) in (1..=20).flat_map(|r| (1..=100).map(move |w| (r, w))) {
            let (c, s) = traffic_routed_counts(r, &PLAIN, w, M, None, false);
            assert!((1..=r).contains(&c) && s == r, "R={r} W={w}");
            let (c, s) = traffic_routed_counts(r, &DYNAMIC, w, M, None, false);
            assert!(c + s == r || c + s == r + 1, "R={r} W={w}");
        }
    }

    #[test]
    fn at_desired_counts_cases() {
        // upstream TestAtDesiredReplicaCountsForCanary: basic canary, 4 replicas, surge 1,
        // unavailable 1; the desired counts come from this reconcile's move.
        let created = |spec, replicas| Some(RsCreated { spec, replicas });
        let check = |w, canary, stable: RsCounts, replicas| {
            let (dc, ds) = basic_canary_move(4, w, 1, 1, Some(stable), canary, 0);
            at_desired_counts(dc, ds, canary, created(stable.spec, replicas), 0, None)
        };
        assert!(check(50, rs(2, 2), rs(2, 2), 2));
        assert!(!check(50, rs(2, 1), rs(2, 2), 2)); // canary not available
        assert!(!check(75, rs(3, 3), rs(2, 2), 2)); // stable should be 1
        assert!(check(75, rs(3, 3), rs(1, 0), 1)); // stable availability is not checked
        assert!(!check(50, rs(2, 2), rs(2, 2), 3)); // status.replicas lags spec

        // Older available pods block a basic canary only; dynamicStableScale skips the stable.
        let at = at_desired_counts;
        assert!(!at(2, 2, rs(2, 2), created(2, 2), 1, None));
        assert!(at(2, 4, rs(2, 2), created(4, 4), 1, Some(&PLAIN)));
        assert!(!at(2, 4, rs(2, 2), None, 0, Some(&PLAIN)));
        assert!(at(2, 2, rs(2, 2), None, 0, Some(&DYNAMIC)));
    }
}
