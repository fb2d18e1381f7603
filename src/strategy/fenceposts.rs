//! maxSurge / maxUnavailable resolution, exactly as the Kubernetes Deployment controller's
//! `ResolveFenceposts` (pkg/controller/deployment/util): a percent of `replicas` is rounded
//! **up** for surge and **down** for unavailable; if both come out 0, unavailable becomes 1 so
//! the rollout can move; unavailable is then clamped to `replicas`.

use std::fmt;

/// An `intstr.IntOrString` as the Deployment API takes it: a count or a percent of replicas.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    /// An absolute pod count.
    Int(u32),
    /// A percent of `spec.replicas`.
    Percent(u32),
}

impl IntOrPercent {
    /// Whether the value as written is zero (what API validation checks, before scaling).
    pub fn is_zero(self) -> bool {
        matches!(self, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
    }

    fn scaled(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            IntOrPercent::Int(n) => n,
            IntOrPercent::Percent(p) => {
                let num = u64::from(p) * u64::from(replicas);
                let v = if round_up {
                    num.div_ceil(100)
                } else {
                    num / 100
                };
                v.min(u64::from(u32::MAX)) as u32
            }
        }
    }
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrPercent::Int(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Whether `ResolveFenceposts` had to raise maxUnavailable to 1 because both values scaled to
/// 0 on `replicas` (the only case its fix-up applies; a written `maxUnavailable: 1` is not it).
pub fn both_resolved_to_zero(
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    replicas: u32,
) -> bool {
    replicas > 0
        && max_surge.scaled(replicas, true) == 0
        && max_unavailable.scaled(replicas, false) == 0
}

/// Resolved `(maxSurge, maxUnavailable)` for `replicas`, as the controller uses them.
pub fn resolve_fenceposts(
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    replicas: u32,
) -> (u32, u32) {
    let surge = max_surge.scaled(replicas, true);
    let mut unavailable = max_unavailable.scaled(replicas, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    // MaxUnavailable(d): 0 for 0 replicas, else clamped to replicas.
    let unavailable = if replicas == 0 {
        0
    } else {
        unavailable.min(replicas)
    };
    (surge, unavailable)
}

#[cfg(test)]
mod tests {
    use super::IntOrPercent::{Int, Percent};
    use super::*;

    #[test]
    fn percent_surge_rounds_up_and_unavailable_rounds_down() {
        assert_eq!(resolve_fenceposts(Percent(25), Percent(25), 10), (3, 2));
        assert_eq!(resolve_fenceposts(Percent(39), Percent(39), 10), (4, 3));
        assert_eq!(resolve_fenceposts(Percent(25), Percent(25), 1), (1, 0));
        assert_eq!(resolve_fenceposts(Percent(10), Percent(10), 5), (1, 0));
    }

    #[test]
    fn both_zero_after_rounding_makes_unavailable_one() {
        assert_eq!(resolve_fenceposts(Int(0), Percent(5), 10), (0, 1));
        assert_eq!(resolve_fenceposts(Percent(0), Percent(0), 10), (0, 1));
        assert_eq!(resolve_fenceposts(Percent(0), Percent(0), 0), (0, 0));
    }

    #[test]
    fn the_fix_up_is_reported_only_when_it_happened() {
        assert!(both_resolved_to_zero(Int(0), Percent(5), 10));
        assert!(both_resolved_to_zero(Percent(0), Int(0), 10));
        // maxUnavailable written as 1 is 1 by itself, not by the fix-up.
        assert!(!both_resolved_to_zero(Int(0), Int(1), 10));
        assert!(!both_resolved_to_zero(Percent(25), Int(0), 10));
        assert!(!both_resolved_to_zero(Int(0), Int(0), 0));
    }

    #[test]
    fn unavailable_is_clamped_to_replicas_and_surge_is_not() {
        assert_eq!(resolve_fenceposts(Int(0), Int(10), 5), (0, 5));
        assert_eq!(resolve_fenceposts(Int(10), Int(0), 5), (10, 0));
        assert_eq!(resolve_fenceposts(Percent(100), Percent(60), 10), (10, 6));
    }

    #[test]
    fn one_percent_surge_is_one_pod_on_any_nonzero_count() {
        assert_eq!(resolve_fenceposts(Percent(1), Int(0), 3), (1, 0));
        assert_eq!(resolve_fenceposts(Percent(1), Int(0), 250), (3, 0));
    }
}
