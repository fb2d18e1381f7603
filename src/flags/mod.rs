//! Feature flags: a dark code path ships inside a version and a flag schedule releases it.
//!
//! * **Rules** change on a schedule: first targeted segments (internal users, a beta group),
//!   then percentage steps; a kill switch turns the path off for everyone (at a time, or when
//!   the flag's analysis fails).
//! * **Bucketing** is LaunchDarkly's (SHA-1 of `key.salt.user`; see [`bucketing`]) or Unleash's,
//!   so a user keeps their bucket across requests, pods and steps, and raising the percentage
//!   never takes the path away from a user who had it.
//! * **Propagation**: each pod's SDK learns a rule change after its own delay (polling
//!   interval or streaming latency), so during a change different pods answer the same user
//!   differently — the flag's own mixed-version window. A pod starting up initialises its SDK
//!   with the current rules.
//! * Requests that ran the flagged path are attributed to the flag's variant, which is
//!   described like a version (`[versions.<variant>]`: service time, errors, faults).

pub mod bucketing;

use crate::analysis::AnalysisSpec;
use crate::engine::{SimDuration, SimTime};
use crate::model::{Dist, VersionId};
use bucketing::BucketingScheme;

/// Who a schedule step targets.
#[derive(Clone, Debug, PartialEq)]
pub struct FlagRules {
    /// Internal users get the path.
    pub internal: bool,
    /// The beta segment gets the path.
    pub beta: bool,
    /// Everyone else in this percentage (0–100) gets it.
    pub percent: f64,
    /// Kill switch: nobody gets it.
    pub killed: bool,
}

impl FlagRules {
    /// The rules before any step: the path is dark.
    pub const DARK: FlagRules = FlagRules {
        internal: false,
        beta: false,
        percent: 0.0,
        killed: false,
    };
}

/// A validated flag.
#[derive(Clone, Debug, PartialEq)]
pub struct FlagSpec {
    /// Flag key (hashed into buckets).
    pub key: String,
    /// Bucketing salt.
    pub salt: String,
    /// Bucketing scheme.
    pub scheme: BucketingScheme,
    /// Versions whose pods ship the dark path.
    pub in_versions: Vec<VersionId>,
    /// The variant the path's requests are attributed to.
    pub variant: VersionId,
    /// Delay until a pod's SDK learns a rule change.
    pub propagation: Dist,
    /// Users `0..internal_users` are internal.
    pub internal_users: u32,
    /// The next `beta_users` users form the beta segment.
    pub beta_users: u32,
    /// Rule changes, in time order.
    pub schedule: Vec<(SimTime, FlagRules)>,
    /// The kill switch is thrown at this time, if set.
    pub kill_at: Option<SimTime>,
    /// Background analysis of the variant against the version it ships in; failure throws
    /// the kill switch.
    pub analysis: Option<AnalysisSpec>,
}

/// Evaluates the flag for users, caching buckets (hashing once per user, not per request).
pub struct FlagEvaluator {
    spec: FlagSpec,
    buckets: Vec<f64>,
}

/// Users above this many are hashed on every request instead of cached.
const CACHE_USERS: u32 = 10_000_000;

impl FlagEvaluator {
    /// An evaluator for `spec` and a population of `users`.
    pub fn new(spec: FlagSpec, users: u32) -> Self {
        let n = if users <= CACHE_USERS {
            users as usize
        } else {
            0
        };
        FlagEvaluator {
            spec,
            buckets: vec![f64::NAN; n],
        }
    }

    /// The flag.
    pub fn spec(&self) -> &FlagSpec {
        &self.spec
    }

    fn bucket(&mut self, user: u32) -> f64 {
        let (key, salt, scheme) = (&self.spec.key, &self.spec.salt, self.spec.scheme);
        match self.buckets.get_mut(user as usize) {
            Some(b) if !b.is_nan() => *b,
            Some(b) => {
                *b = scheme.bucket(key, salt, user);
                *b
            }
            None => scheme.bucket(key, salt, user),
        }
    }

    /// Whether `user`, served by a pod of `version` whose SDK holds `rules`, runs the path.
    pub fn on(&mut self, rules: &FlagRules, version: VersionId, user: u32) -> bool {
        if rules.killed || !self.spec.in_versions.contains(&version) {
            return false;
        }
        let internal = user < self.spec.internal_users;
        let beta = !internal && user < self.spec.internal_users + self.spec.beta_users;
        (rules.internal && internal)
            || (rules.beta && beta)
            || (rules.percent > 0.0 && self.bucket(user) * 100.0 < rules.percent)
    }
}

/// How long after a rule change a pod's SDK applies it: a uniform draw up to the polling
/// interval (`poll`), for SDKs that poll; a streaming SDK is a small constant.
pub fn poll_delay(poll: SimDuration) -> Dist {
    Dist::Uniform {
        min_s: 0.0,
        max_s: poll.as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FlagSpec {
        FlagSpec {
            key: "new-checkout".into(),
            salt: "new-checkout".into(),
            scheme: BucketingScheme::LaunchDarkly,
            in_versions: vec![VersionId(0)],
            variant: VersionId(1),
            propagation: Dist::Constant(SimDuration::ZERO),
            internal_users: 10,
            beta_users: 100,
            schedule: vec![],
            kill_at: None,
            analysis: None,
        }
    }

    #[test]
    fn segments_then_percentages_then_kill() {
        let mut e = FlagEvaluator::new(spec(), 100_000);
        let internal_only = FlagRules {
            internal: true,
            ..FlagRules::DARK
        };
        assert!(e.on(&internal_only, VersionId(0), 3));
        assert!(!e.on(&internal_only, VersionId(0), 50));
        // Not shipped in this version: never on.
        assert!(!e.on(&internal_only, VersionId(1), 3));
        let five = FlagRules {
            internal: true,
            beta: true,
            percent: 5.0,
            killed: false,
        };
        let on = (0..100_000)
            .filter(|u| e.on(&five, VersionId(0), *u))
            .count();
        // 110 targeted + ~5 % of the rest.
        let expected = 110.0 + 0.05 * 99_890.0;
        assert!((on as f64 - expected).abs() < 0.01 * 100_000.0, "{on}");
        let killed = FlagRules {
            killed: true,
            ..five.clone()
        };
        assert!((0..1000).all(|u| !e.on(&killed, VersionId(0), u)));
    }

    #[test]
    fn raising_the_percentage_keeps_everyone_who_had_it() {
        let mut e = FlagEvaluator::new(spec(), 50_000);
        let at = |p: f64| FlagRules {
            percent: p,
            ..FlagRules::DARK
        };
        for u in 0..50_000 {
            if e.on(&at(10.0), VersionId(0), u) {
                assert!(e.on(&at(25.0), VersionId(0), u));
            }
        }
    }
}
