//! The `[flag]` table: a feature flag's key, segments, schedule, propagation and kill switch.

use super::analysis::analysis_spec;
use super::problems::{child, Path, Problems};
use super::raw::*;
use crate::engine::SimTime;
use crate::flags::bucketing::BucketingScheme;
use crate::flags::{poll_delay, FlagRules, FlagSpec};
use crate::model::VersionId;

/// Resolves `[flag]`.
pub(super) fn flag(
    pr: &mut Problems<'_>,
    raw: &RawFlag,
    names: &[String],
    users: u32,
) -> Option<FlagSpec> {
    let p: Path = vec!["flag".into()];
    let scheme = match raw.scheme.as_deref() {
        None => BucketingScheme::LaunchDarkly,
        Some(o) => pr.keyword(
            &child(&p, "scheme"),
            o,
            "bucketing scheme",
            &[
                ("launchdarkly", BucketingScheme::LaunchDarkly),
                ("unleash", BucketingScheme::Unleash),
            ],
            "use \"launchdarkly\" (SHA-1 of key.salt.user) or \"unleash\" (murmur3 of key:user)",
            BucketingScheme::LaunchDarkly,
        ),
    };
    let variant = pr.version_ref(&child(&p, "variant"), &raw.variant, names);
    let in_versions: Vec<VersionId> = match &raw.in_versions {
        None => (0..names.len() as u16)
            .map(VersionId)
            .filter(|v| Some(*v) != variant)
            .collect(),
        Some(list) => list
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                pr.version_ref(&child(&child(&p, "in_versions"), &i.to_string()), n, names)
            })
            .collect(),
    };
    if variant.is_some_and(|v| in_versions.contains(&v)) {
        pr.add(&child(&p, "variant"), "the flag's variant is also listed in in_versions", "the variant describes the new code path; in_versions are the releases that ship it dark");
    }
    let propagation = match (&raw.propagation, &raw.poll_interval) {
        (Some(_), Some(_)) => {
            pr.add(
                &child(&p, "poll_interval"),
                "give either propagation or poll_interval",
                "poll_interval = \"30s\" means each pod learns a change within 30 s (uniformly)",
            );
            None
        }
        (Some(d), None) => pr.dist(&child(&p, "propagation"), d, false),
        (None, Some(i)) => pr.duration(&child(&p, "poll_interval"), i).map(poll_delay),
        // LaunchDarkly server SDKs stream changes: well under a second.
        (None, None) => Some(crate::model::Dist::Uniform {
            min_s: 0.05,
            max_s: 0.5,
        }),
    }?;
    let internal_users = pr.count(
        &child(&p, "internal_users"),
        raw.internal_users,
        0,
        0,
        i64::from(users),
    );
    let beta_users = pr.count(
        &child(&p, "beta_users"),
        raw.beta_users,
        0,
        0,
        i64::from(users),
    );
    if u64::from(internal_users) + u64::from(beta_users) > u64::from(users) {
        pr.add(
            &child(&p, "beta_users"),
            "internal and beta users outnumber the population",
            format!("traffic.users is {users}"),
        );
    }
    let mut rules = FlagRules::DARK;
    let mut schedule = Vec::new();
    let mut last_at = SimTime::ZERO;
    for (i, step) in raw.schedule.iter().enumerate() {
        let sp = child(&child(&p, "schedule"), &i.to_string());
        let at = SimTime::ZERO + pr.duration(&child(&sp, "at"), &step.at).unwrap_or_default();
        if at < last_at {
            pr.add(
                &child(&sp, "at"),
                "flag steps must be in time order",
                "sort the schedule by `at`",
            );
        }
        last_at = at;
        for (j, t) in step.target.iter().flatten().enumerate() {
            match t.as_str() {
                "internal" => rules.internal = true,
                "beta" => rules.beta = true,
                o => pr.add(&child(&child(&sp, "target"), &j.to_string()), format!("unknown segment \"{o}\""), "segments are \"internal\" (users 0..internal_users) and \"beta\" (the next beta_users)"),
            }
        }
        if let Some(pct) = step.percent {
            if !(0.0..=100.0).contains(&pct) {
                pr.add(
                    &child(&sp, "percent"),
                    format!("a flag percentage of {pct}"),
                    "percentages go from 0 to 100",
                );
            } else {
                rules.percent = pct;
            }
        }
        if step.target.is_none() && step.percent.is_none() {
            pr.add(
                &sp,
                "a flag step changes nothing",
                "give target = [\"internal\"] or percent = 5",
            );
        }
        schedule.push((at, rules.clone()));
    }
    if schedule.is_empty() {
        pr.add(
            &child(&p, "schedule"),
            "a flag without a schedule never turns on",
            "add schedule = [{ at = \"1m\", percent = 10 }]",
        );
    }
    let kill_at = raw
        .kill_at
        .as_ref()
        .and_then(|k| pr.duration(&child(&p, "kill_at"), k))
        .map(|d| SimTime::ZERO + d);
    let analysis = raw
        .analysis
        .as_ref()
        .and_then(|a| analysis_spec(pr, &child(&p, "analysis"), a, None));
    Some(FlagSpec {
        key: raw.key.clone(),
        salt: raw.salt.clone().unwrap_or_else(|| raw.key.clone()),
        scheme,
        in_versions,
        variant: variant?,
        propagation,
        internal_users,
        beta_users,
        schedule,
        kill_at,
        analysis,
    })
}
