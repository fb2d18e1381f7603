//! Target health as an AWS Application Load Balancer keeps it (`TargetHealthCheck` set).
//!
//! Modelled after the ALB user guide (`target-group-health-checks.md`,
//! `load-balancer-target-groups.md`; `../shared/reference/state.md` §5.2):
//! * A registered target starts `initial` and receives traffic once it passes **one** health
//!   check; checks run every `HealthCheckIntervalSeconds` (the first at a uniformly drawn phase
//!   of the interval after registration) and pass while the pod accepts connections.
//! * `UnhealthyThresholdCount` consecutive failures make a target `unhealthy` (no traffic);
//!   `HealthyThresholdCount` consecutive passes bring it back.
//! * Deregistration puts a target in `draining`: no new requests at once; in-flight requests
//!   may finish for `deregistration_delay`, after which the balancer closes their connections.
//! * Slow start ramps a healthy target's share linearly over `slow_start`.
//!
//! * A target group whose registered targets are all unhealthy fails open: it routes to all of
//!   them. A group with only `initial` targets answers 503.
//!
//! Simplified: one ALB node checks (real ALBs check from every node, each deciding alone); the
//! health-check timeout is not modelled (a listening pod answers the check at once).

use crate::engine::SimTime;

/// Where a target stands.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum TargetState {
    /// Not registered.
    #[default]
    Unused,
    /// Registered, not yet checked healthy: no traffic.
    Initial,
    /// Receives traffic.
    Healthy,
    /// Failed its checks: no traffic until `healthy_threshold` passes.
    Unhealthy,
    /// Deregistered: no new traffic; in-flight requests until `closes_at`.
    Draining,
}

#[derive(Copy, Clone, Debug, Default)]
pub(super) struct Target {
    pub(super) state: TargetState,
    pub(super) passes: u32,
    pub(super) fails: u32,
    /// When it last turned healthy by a check (`None`: healthy from the start, no ramp).
    pub(super) healthy_since: Option<SimTime>,
    pub(super) closes_at: Option<SimTime>,
}

/// What one health check did to a target's traffic.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Transition {
    /// Nothing changes for traffic.
    Same,
    /// The target starts receiving traffic.
    In,
    /// The target stops receiving traffic.
    Out,
}

impl Target {
    /// Registration: `initial`, counts cleared. A target already healthy (a newer registration
    /// overtaking a deregistration that is still in flight) stays healthy.
    pub(super) fn register(&mut self) {
        if self.state != TargetState::Healthy {
            self.state = TargetState::Initial;
        }
        self.passes = 0;
        self.fails = 0;
        self.closes_at = None;
    }

    /// One health-check result.
    pub(super) fn check(
        &mut self,
        pass: bool,
        healthy_threshold: u32,
        unhealthy_threshold: u32,
        now: SimTime,
    ) -> Transition {
        if pass {
            self.fails = 0;
            self.passes += 1;
        } else {
            self.passes = 0;
            self.fails += 1;
        }
        match self.state {
            TargetState::Initial if pass => self.healthy(now),
            TargetState::Unhealthy if self.passes >= healthy_threshold => self.healthy(now),
            TargetState::Initial if self.fails >= unhealthy_threshold => {
                self.state = TargetState::Unhealthy;
                Transition::Same
            }
            TargetState::Healthy if self.fails >= unhealthy_threshold => {
                self.state = TargetState::Unhealthy;
                Transition::Out
            }
            _ => Transition::Same,
        }
    }

    fn healthy(&mut self, now: SimTime) -> Transition {
        self.state = TargetState::Healthy;
        self.healthy_since = Some(now);
        Transition::In
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_target_needs_one_pass_and_an_unhealthy_one_needs_the_threshold() {
        let mut t = Target::default();
        t.register();
        assert_eq!(t.check(true, 5, 2, SimTime(1)), Transition::In);
        assert_eq!(t.check(false, 5, 2, SimTime(2)), Transition::Same);
        assert_eq!(t.check(false, 5, 2, SimTime(3)), Transition::Out);
        for i in 0..4 {
            assert_eq!(t.check(true, 5, 2, SimTime(4 + i)), Transition::Same);
        }
        assert_eq!(t.check(true, 5, 2, SimTime(9)), Transition::In);
        assert_eq!(t.healthy_since, Some(SimTime(9)));
    }

    #[test]
    fn an_initial_target_failing_its_checks_turns_unhealthy() {
        let mut t = Target::default();
        t.register();
        assert_eq!(t.check(false, 5, 2, SimTime(1)), Transition::Same);
        assert_eq!(t.check(false, 5, 2, SimTime(2)), Transition::Same);
        assert_eq!(t.state, TargetState::Unhealthy);
        assert_eq!(t.check(true, 5, 2, SimTime(3)), Transition::Same);
    }
}
