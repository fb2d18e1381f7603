//! The `[rollout]` table: which strategy, its settings, and analyses. Each setting belongs to
//! some strategies only; one given to another strategy is an error, as the real controllers'
//! schemas would reject it.

use super::analysis::analysis_spec;
use super::canary_steps::canary_steps;
use super::problems::{child, Path, Problems};
use super::raw::*;
use super::RolloutSpec;
use crate::analysis::AnalysisSpec;
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;
use crate::strategy::argo_canary::TrafficRouting;
use crate::strategy::{accepted_by, strategy_named, RollingSettings, StrategySpec, STRATEGIES};
use crate::strategy::{BlueGreenSpec, CanarySpec, FlaggerSpec, IntOrPercent, SmokeTest};

/// What the rollout table is checked against.
pub(super) struct RolloutContext<'a> {
    pub(super) names: &'a [String],
    pub(super) initial: Option<VersionId>,
    pub(super) replicas: u32,
    pub(super) end: Option<SimTime>,
}

/// What a strategy's resolution reads: the `[rollout]` table and where to report problems.
pub struct RolloutInput<'p, 'a> {
    pr: &'p mut Problems<'a>,
    r: &'p RawRollout,
    rp: Path,
    replicas: u32,
    versions: usize,
}

/// The optional `[rollout]` keys a strategy may accept (every `StrategyDef::keys` entry is one
/// of these; a unit test keeps the two in step).
const OPTIONAL_KEYS: [&str; 23] = [
    "max_surge",
    "max_unavailable",
    "rollback_on_stall",
    "analysis",
    "preview_replicas",
    "auto_promotion",
    "auto_promotion_after",
    "promote_at",
    "scale_down_delay",
    "abort_scale_down_delay",
    "smoke_test",
    "pre_promotion_analysis",
    "post_promotion_analysis",
    "steps",
    "traffic_routing",
    "max_traffic_weight",
    "min_pods_per_replica_set",
    "dynamic_stable_scale",
    "interval",
    "threshold",
    "step_weight",
    "step_weights",
    "max_weight",
];

/// The optional keys set in `r`.
fn set_keys(r: &RawRollout) -> Vec<&'static str> {
    let set: [bool; 23] = [
        r.max_surge.is_some(),
        r.max_unavailable.is_some(),
        r.rollback_on_stall.is_some(),
        r.analysis.is_some(),
        r.preview_replicas.is_some(),
        r.auto_promotion.is_some(),
        r.auto_promotion_after.is_some(),
        r.promote_at.is_some(),
        r.scale_down_delay.is_some(),
        r.abort_scale_down_delay.is_some(),
        r.smoke_test.is_some(),
        r.pre_promotion_analysis.is_some(),
        r.post_promotion_analysis.is_some(),
        r.steps.is_some(),
        r.traffic_routing.is_some(),
        r.max_traffic_weight.is_some(),
        r.min_pods_per_replica_set.is_some(),
        r.dynamic_stable_scale.is_some(),
        r.interval.is_some(),
        r.threshold.is_some(),
        r.step_weight.is_some(),
        r.step_weights.is_some(),
        r.max_weight.is_some(),
    ];
    OPTIONAL_KEYS
        .iter()
        .zip(set)
        .filter(|(_, set)| *set)
        .map(|(k, _)| *k)
        .collect()
}

/// Resolves `[rollout]`.
pub(super) fn rollout(
    pr: &mut Problems<'_>,
    r: &RawRollout,
    ctx: &RolloutContext<'_>,
) -> Option<RolloutSpec> {
    let rp: Path = vec!["rollout".into()];
    let target = pr.version_ref(&child(&rp, "to"), &r.to, ctx.names);
    if ctx.initial.is_some() && target == ctx.initial {
        pr.add(
            &child(&rp, "to"),
            format!(
                "the rollout goes to \"{}\", the version already running",
                r.to
            ),
            "roll out to another version defined under [versions]",
        );
    }
    if ctx.replicas == 0 {
        pr.add(
            &vec!["deployment".into(), "replicas".into()],
            "a rollout of 0 replicas moves nothing",
            "set deployment.replicas ≥ 1, or remove [rollout]",
        );
    }
    let at = pr
        .duration(&child(&rp, "at"), &r.at)
        .map(|d| SimTime::ZERO + d);
    if let (Some(at), Some(end)) = (at, ctx.end) {
        if at >= end {
            pr.add(
                &child(&rp, "at"),
                "the rollout starts after the run ends",
                "start it before `duration`, or lengthen the run",
            );
        }
    }
    let undo_at = r
        .undo_at
        .as_ref()
        .and_then(|u| pr.duration(&child(&rp, "undo_at"), u))
        .map(|d| SimTime::ZERO + d);
    if let (Some(u), Some(a)) = (undo_at, at) {
        if u <= a {
            pr.add(
                &child(&rp, "undo_at"),
                "the undo comes before the rollout starts",
                "undo_at must be later than `at`",
            );
        }
    }
    let kind = r.strategy.as_str();
    let Some(def) = strategy_named(kind) else {
        let names: Vec<String> = STRATEGIES
            .iter()
            .map(|s| format!("\"{}\"", s.name))
            .collect();
        pr.add(
            &child(&rp, "strategy"),
            format!("unknown strategy \"{kind}\""),
            format!(
                "use {} or {}",
                names[..names.len() - 1].join(", "),
                names[names.len() - 1]
            ),
        );
        return None;
    };
    for key in set_keys(r) {
        let ok = accepted_by(key);
        if !ok.contains(&kind) {
            let help = if kind == "recreate" && key.starts_with("max_") {
                "Kubernetes rejects a Recreate deployment with rollingUpdate settings; remove it or use strategy = \"rolling\"".to_string()
            } else {
                format!(
                    "`{key}` belongs to strategy {}; remove it",
                    ok.iter()
                        .map(|k| format!("\"{k}\""))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            };
            let what = if kind == "recreate" {
                "the Recreate strategy".to_string()
            } else {
                format!("strategy \"{kind}\"")
            };
            pr.add(
                &child(&rp, key),
                format!("`{key}` does not apply to {what}"),
                help,
            );
        }
    }
    let strategy = (def.resolve)(&mut RolloutInput {
        pr,
        r,
        rp: rp.clone(),
        replicas: ctx.replicas,
        versions: ctx.names.len(),
    });
    Some(RolloutSpec {
        target: target?,
        at: at?,
        strategy: strategy?,
        undo_at,
        rollback_on_stall: r.rollback_on_stall.unwrap_or(false),
    })
}

/// Resolves `strategy = "rolling"` (see `strategy::rolling::DEF`).
pub(crate) fn resolve_rolling(inp: &mut RolloutInput<'_, '_>) -> Option<StrategySpec> {
    let (pr, r, rp) = (&mut *inp.pr, inp.r, inp.rp.clone());
    let (max_surge, max_unavailable) = fenceposts(pr, r, &rp, false);
    Some(StrategySpec::new(RollingSettings {
        max_surge,
        max_unavailable,
        analysis: analysis(pr, &rp, "analysis", &r.analysis, None),
    }))
}

/// Resolves `strategy = "blue_green"` (see `strategy::blue_green::DEF`).
pub(crate) fn resolve_blue_green(inp: &mut RolloutInput<'_, '_>) -> Option<StrategySpec> {
    let (pr, r, rp, replicas, versions) = (
        &mut *inp.pr,
        inp.r,
        inp.rp.clone(),
        inp.replicas,
        inp.versions,
    );
    let preview = r.preview_replicas.map(|n| {
        pr.count(
            &child(&rp, "preview_replicas"),
            Some(n),
            replicas,
            1,
            i64::from(replicas.max(1)),
        )
    });
    let smoke_test = r.smoke_test.as_ref().and_then(|s| {
        let sp = child(&rp, "smoke_test");
        let over = pr.duration(&child(&sp, "over"), &s.over)?;
        Some(SmokeTest {
            requests: pr.count(&child(&sp, "requests"), Some(s.requests), 1, 1, 10_000_000),
            over,
        })
    });
    Some(StrategySpec::new(BlueGreenSpec {
        replicas,
        versions,
        preview_replicas: preview,
        auto_promotion: r.auto_promotion.unwrap_or(true),
        auto_promotion_after: pr.opt_duration(
            &child(&rp, "auto_promotion_after"),
            &r.auto_promotion_after,
            SimDuration::ZERO,
        ),
        promote_at: promote_times(pr, r, &rp).first().copied(),
        scale_down_delay: scale_down_delay(pr, r, &rp),
        abort_scale_down_delay: abort_delay(pr, &rp, r),
        smoke_test,
        pre_promotion: analysis(
            pr,
            &rp,
            "pre_promotion_analysis",
            &r.pre_promotion_analysis,
            Some(3),
        ),
        post_promotion: analysis(
            pr,
            &rp,
            "post_promotion_analysis",
            &r.post_promotion_analysis,
            Some(3),
        ),
    }))
}

/// Resolves `strategy = "canary"` (see `strategy::canary::DEF`).
pub(crate) fn resolve_canary(inp: &mut RolloutInput<'_, '_>) -> Option<StrategySpec> {
    let (pr, r, rp, replicas, versions) = (
        &mut *inp.pr,
        inp.r,
        inp.rp.clone(),
        inp.replicas,
        inp.versions,
    );
    let (max_surge, max_unavailable) = fenceposts(pr, r, &rp, true);
    let routed = r.traffic_routing.unwrap_or(false);
    if !routed {
        for k in [
            "max_traffic_weight",
            "min_pods_per_replica_set",
            "dynamic_stable_scale",
        ] {
            if set_keys(r).contains(&k) {
                pr.add(
                    &child(&rp, k),
                    format!("`{k}` needs traffic routing"),
                    "set traffic_routing = true, or remove it",
                );
            }
        }
    }
    let max_weight = r.max_traffic_weight.map_or(100, |w| {
        pr.count(&child(&rp, "max_traffic_weight"), Some(w), 100, 1, 10_000)
    });
    let routing = routed.then(|| TrafficRouting {
        max_weight,
        min_pods_per_replica_set: r.min_pods_per_replica_set.map(|n| {
            pr.count(
                &child(&rp, "min_pods_per_replica_set"),
                Some(n),
                1,
                1,
                100_000,
            )
        }),
        dynamic_stable_scale: r.dynamic_stable_scale.unwrap_or(false),
    });
    let steps = canary_steps(
        pr,
        &child(&rp, "steps"),
        r.steps.as_deref().unwrap_or(&[]),
        routed,
        max_weight,
    );
    let background = r.analysis.as_ref().and_then(|a| {
        let start = a.starting_step.map_or(0, |s| {
            pr.count(
                &child(&child(&rp, "analysis"), "starting_step"),
                Some(s),
                0,
                0,
                steps.len() as i64,
            ) as usize
        });
        analysis_spec(pr, &child(&rp, "analysis"), a, None).map(|s| (s, start))
    });
    Some(StrategySpec::new(CanarySpec {
        replicas,
        versions,
        steps,
        max_surge,
        max_unavailable,
        traffic_routing: routing,
        background_analysis: background,
        scale_down_delay: scale_down_delay(pr, r, &rp),
        abort_scale_down_delay: abort_delay(pr, &rp, r),
        promote_at: promote_times(pr, r, &rp),
    }))
}

/// Resolves `strategy = "flagger"` (see `strategy::flagger::DEF`).
pub(crate) fn resolve_flagger(inp: &mut RolloutInput<'_, '_>) -> Option<StrategySpec> {
    let (pr, r, rp, replicas, versions) = (
        &mut *inp.pr,
        inp.r,
        inp.rp.clone(),
        inp.replicas,
        inp.versions,
    );
    let interval = pr
        .opt_duration(
            &child(&rp, "interval"),
            &r.interval,
            SimDuration::from_secs(60),
        )
        .max(SimDuration::from_secs(10));
    let threshold = r
        .threshold
        .map_or(1, |t| if t <= 0 { 1 } else { t.min(1000) as u32 });
    let pct = |pr: &mut Problems<'_>, p: &Path, v: i64| pr.count(p, Some(v), 0, 0, 100);
    let step_weight = r
        .step_weight
        .map_or(0, |w| pct(pr, &child(&rp, "step_weight"), w));
    let step_weights: Vec<u32> = r
        .step_weights
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, w)| {
            pr.count(
                &child(&child(&rp, "step_weights"), &i.to_string()),
                Some(*w),
                0,
                0,
                1000,
            )
        })
        .collect();
    if step_weights.first() == Some(&0) {
        // Flagger's nextStepWeight from weight 0 finds 0 in the list and steps to the
        // next entry only after a tick at weight 0 that advances nothing: the canary
        // never leaves 0 % (pkg/controller/scheduler.go, nextStepWeight).
        pr.add(
            &child(&child(&rp, "step_weights"), "0"),
            "step_weights starts at 0: Flagger would never advance past weight 0",
            "start with the first weight the canary should get, e.g. step_weights = [5, 20, 50]",
        );
    }
    if step_weights.windows(2).any(|w| w[1] <= w[0]) {
        pr.add(
            &child(&rp, "step_weights"),
            "step_weights must increase",
            "list the canary weights in increasing order, e.g. [1, 5, 20, 50]",
        );
    }
    if step_weight == 0 && step_weights.is_empty() {
        pr.add(
            &child(&rp, "strategy"),
            "a Flagger canary needs step_weight or step_weights",
            "without them Flagger never advances the weight (nor promotes); add step_weight = 10",
        );
    }
    let max_weight = match (step_weights.last(), r.max_weight) {
        (Some(last), _) => (*last).min(100),
        (None, Some(m)) if m > 0 => pct(pr, &child(&rp, "max_weight"), m),
        _ => 100,
    };
    let metrics = match &r.analysis {
        Some(a) => analysis_spec(pr, &child(&rp, "analysis"), a, None)
            .map(|s| s.metrics)
            .unwrap_or_default(),
        None => vec![],
    };
    Some(StrategySpec::new(FlaggerSpec {
        replicas,
        versions,
        interval,
        threshold,
        step_weight,
        step_weights,
        max_weight,
        metrics,
        // Drawn from the seed when the controller is built (`build_controller`).
        ticker_phase: SimDuration::ZERO,
    }))
}

/// Argo's and Kubernetes' maxSurge / maxUnavailable (default 25 % each); `lenient` reads a
/// bare number string as a percent, as Argo does.
fn fenceposts(
    pr: &mut Problems<'_>,
    r: &RawRollout,
    rp: &Path,
    lenient: bool,
) -> (IntOrPercent, IntOrPercent) {
    let surge = r
        .max_surge
        .as_ref()
        .map_or(Some(IntOrPercent::Percent(25)), |v| {
            pr.int_or_percent(&child(rp, "max_surge"), &argo_lenient(v, lenient), None)
        });
    let unavailable = r
        .max_unavailable
        .as_ref()
        .map_or(Some(IntOrPercent::Percent(25)), |v| {
            let v = argo_lenient(v, lenient);
            pr.int_or_percent(&child(rp, "max_unavailable"), &v, Some(100))
        });
    let (surge, unavailable) = (
        surge.unwrap_or(IntOrPercent::Int(1)),
        unavailable.unwrap_or(IntOrPercent::Int(0)),
    );
    if surge.is_zero() && unavailable.is_zero() {
        pr.add(&child(rp, "max_unavailable"), "max_surge and max_unavailable are both 0: the rollout could never move", "Kubernetes rejects this (\"may not be 0 when maxSurge is 0\"); allow a surge (max_surge = 1) or some unavailability (max_unavailable = 1)");
    }
    (surge, unavailable)
}

fn analysis(
    pr: &mut Problems<'_>,
    rp: &Path,
    key: &str,
    raw: &Option<RawAnalysis>,
    count: Option<u32>,
) -> Option<AnalysisSpec> {
    raw.as_ref()
        .and_then(|a| analysis_spec(pr, &child(rp, key), a, count))
}

/// `promote_at`: absolute simulated times, like every `*_at`.
fn promote_times(pr: &mut Problems<'_>, r: &RawRollout, rp: &Path) -> Vec<SimTime> {
    match &r.promote_at {
        None => vec![],
        Some(RawDurations::One(d)) => pr
            .duration(&child(rp, "promote_at"), d)
            .map(|d| SimTime::ZERO + d)
            .into_iter()
            .collect(),
        Some(RawDurations::Many(ds)) => ds
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                pr.duration(&child(&child(rp, "promote_at"), &i.to_string()), d)
                    .map(|d| SimTime::ZERO + d)
            })
            .collect(),
    }
}

fn scale_down_delay(pr: &mut Problems<'_>, r: &RawRollout, rp: &Path) -> SimDuration {
    pr.opt_duration(
        &child(rp, "scale_down_delay"),
        &r.scale_down_delay,
        SimDuration::from_secs(30),
    )
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

fn abort_delay(pr: &mut Problems<'_>, rp: &Path, r: &RawRollout) -> Option<SimDuration> {
    pr.duration_or_none(
        &child(rp, "abort_scale_down_delay"),
        &r.abort_scale_down_delay,
        Some(SimDuration::from_secs(30)),
    )
}

#[cfg(test)]
mod tests {
    use super::OPTIONAL_KEYS;
    use crate::strategy::STRATEGIES;

    #[test]
    fn the_registry_and_the_parsed_keys_agree() {
        let mut declared: Vec<&str> = STRATEGIES
            .iter()
            .flat_map(|s| s.keys.iter().copied())
            .collect();
        declared.sort_unstable();
        declared.dedup();
        let mut known = OPTIONAL_KEYS.to_vec();
        known.sort_unstable();
        assert_eq!(declared, known);
    }
}
