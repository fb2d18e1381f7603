//! `[rollout]` keys that several strategies read the same way: Kubernetes' and Argo's
//! maxSurge / maxUnavailable, Argo's `promote_at`, `scale_down_delay` and
//! `abort_scale_down_delay`, and an optional analysis. Each strategy's own resolution (beside its
//! controller) calls these through the scenario layer's [`RolloutInput`].

use super::IntOrPercent;
use crate::analysis::AnalysisSpec;
use crate::engine::{SimDuration, SimTime};
use crate::scenario::{RawAnalysis, RawDurations, RawIntOrPercent, RolloutInput};

/// Argo's and Kubernetes' maxSurge / maxUnavailable (default 25 % each); `lenient` reads a
/// bare number string as a percent, as Argo does.
pub(super) fn fenceposts(
    inp: &mut RolloutInput<'_, '_>,
    lenient: bool,
) -> (IntOrPercent, IntOrPercent) {
    let r = inp.raw();
    let surge = r
        .max_surge
        .as_ref()
        .map_or(Some(IntOrPercent::Percent(25)), |v| {
            inp.int_or_percent(&["max_surge"], &argo_lenient(v, lenient), None)
        });
    let unavailable = r
        .max_unavailable
        .as_ref()
        .map_or(Some(IntOrPercent::Percent(25)), |v| {
            let v = argo_lenient(v, lenient);
            inp.int_or_percent(&["max_unavailable"], &v, Some(100))
        });
    let (surge, unavailable) = (
        surge.unwrap_or(IntOrPercent::Int(1)),
        unavailable.unwrap_or(IntOrPercent::Int(0)),
    );
    if surge.is_zero() && unavailable.is_zero() {
        inp.add(&["max_unavailable"], "max_surge and max_unavailable are both 0: the rollout could never move", "Kubernetes rejects this (\"may not be 0 when maxSurge is 0\"); allow a surge (max_surge = 1) or some unavailability (max_unavailable = 1)");
    }
    (surge, unavailable)
}

/// Argo Rollouts parses maxSurge / maxUnavailable with the legacy `intstr` helper that strips an
/// optional `%` and reads the rest as a percent (`utils/replicaset/replicaset.go`, `MaxSurge` /
/// `MaxUnavailable` via `intstrutil.GetValueFromIntOrPercent` on a string), so `"20"` is 20 %
/// — its own default is the string `"25"`. When `lenient`, a bare number string becomes that
/// percent; anything else is left for the strict parser to judge.
fn argo_lenient(v: &RawIntOrPercent, lenient: bool) -> RawIntOrPercent {
    match v {
        RawIntOrPercent::Text(t) if lenient && t.trim().parse::<u32>().is_ok() => {
            RawIntOrPercent::Text(format!("{}%", t.trim()))
        }
        other => other.clone(),
    }
}

/// The analysis at `key`, if the table has one.
pub(super) fn analysis(
    inp: &mut RolloutInput<'_, '_>,
    key: &str,
    raw: &Option<RawAnalysis>,
    count: Option<u32>,
) -> Option<AnalysisSpec> {
    raw.as_ref().and_then(|a| inp.analysis(&[key], a, count))
}

/// `promote_at`: absolute simulated times, like every `*_at`.
pub(super) fn promote_times(inp: &mut RolloutInput<'_, '_>) -> Vec<SimTime> {
    match &inp.raw().promote_at {
        None => vec![],
        Some(RawDurations::One(d)) => inp
            .duration(&["promote_at"], d)
            .map(|d| SimTime::ZERO + d)
            .into_iter()
            .collect(),
        Some(RawDurations::Many(ds)) => ds
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                inp.duration(&["promote_at", &i.to_string()], d)
                    .map(|d| SimTime::ZERO + d)
            })
            .collect(),
    }
}

/// Argo's `scaleDownDelaySeconds` (default 30 s).
pub(super) fn scale_down_delay(inp: &mut RolloutInput<'_, '_>) -> SimDuration {
    let raw = &inp.raw().scale_down_delay;
    inp.opt_duration(&["scale_down_delay"], raw, SimDuration::from_secs(30))
}

/// Argo's `abortScaleDownDelaySeconds` (default 30 s; "none" keeps the pods up).
pub(super) fn abort_delay(inp: &mut RolloutInput<'_, '_>) -> Option<SimDuration> {
    let raw = &inp.raw().abort_scale_down_delay;
    inp.duration_or_none(
        &["abort_scale_down_delay"],
        raw,
        Some(SimDuration::from_secs(30)),
    )
}
