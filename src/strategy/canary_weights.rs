//! The canary's traffic side, apart from its step machine in `canary.rs`: which weight is in
//! force at the current step, the weight the router carries (and when it may move), the
//! `setCanaryScale` in force, and the pod counts that weight asks for. Kept in its own file
//! because it is the part that follows Argo's `rollout/trafficrouting.go` and
//! `utils/replicaset/canary.go` (weights and counts) rather than `rollout/canary.go` (steps),
//! and so that `canary.rs` stays a readable size.

use super::{counts, Canary, CanaryStep, Stage};
use crate::strategy::argo_canary::{
    basic_canary_move, traffic_routed_counts, CanaryScale, TrafficWeights,
};
use crate::strategy::{Action, Decision, RsStatus};

impl Canary {
    /// The scale weights are on: `trafficRouting.maxTrafficWeight` (default 100; always 100
    /// for a basic canary), as `utils/weightutil/weight.go` `MaxTrafficWeight`.
    pub(super) fn max_weight(&self) -> u32 {
        self.spec.traffic_routing.map_or(100, |t| t.max_weight)
    }

    /// The weight in force, in units of [`Self::max_weight`]: the latest `setWeight` at or
    /// before the current step (`GetCurrentSetWeight`); the maximum after the last step; 0 once
    /// aborted.
    pub(super) fn weight(&self) -> u32 {
        if matches!(self.stage, Stage::Aborted { .. }) {
            return 0;
        }
        if self.step >= self.spec.steps.len() {
            return self.max_weight();
        }
        self.set_weight_before(self.step + 1)
    }

    /// The latest `setWeight` among the steps before index `end` (0 if none).
    pub(super) fn set_weight_before(&self, end: usize) -> u32 {
        self.spec.steps[..end.min(self.spec.steps.len())]
            .iter()
            .rev()
            .find_map(|s| match s {
                CanaryStep::SetWeight(w) => Some(*w),
                _ => None,
            })
            .unwrap_or(0)
    }

    /// The canary weight the router should carry now (`rollout/trafficrouting.go`,
    /// `reconcileTrafficRouting`): none while the canary has no available pod ("never weight to
    /// canary"); the current step's weight once the ReplicaSets are at their counts for it
    /// (the maximum after the last step); until then the weight of the `setWeight` before the
    /// current step — so a lower `setWeight` keeps the higher weight on the shrinking canary
    /// until it reaches its smaller count, as Argo does.
    pub(super) fn router_target(&self, canary: &RsStatus, at_counts: bool) -> u32 {
        if canary.available == 0 {
            0
        } else if at_counts {
            self.weight()
        } else {
            self.set_weight_before(self.step)
        }
    }

    /// The `setCanaryScale` in force: the latest at or before the current step; after the
    /// last step or once aborted the canary's size follows the weight again.
    pub(super) fn scale_in_force(&self) -> CanaryScale {
        if self.step >= self.spec.steps.len() || matches!(self.stage, Stage::Aborted { .. }) {
            return CanaryScale::MatchTrafficWeight;
        }
        self.spec.steps[..=self.step]
            .iter()
            .rev()
            .find_map(|s| match s {
                CanaryStep::SetCanaryScale(c) => Some(*c),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Sets the router to `canary_weight` (the stable gets the rest of `maxTrafficWeight`),
    /// emitting a `SetWeights` (and its reason) only when the split changes.
    pub(super) fn set_router(&mut self, d: &mut Decision, canary_weight: u32) {
        let max = self.max_weight();
        let w = TrafficWeights {
            canary: canary_weight,
            stable: max - canary_weight.min(max),
        };
        if self.router == Some(w) {
            return;
        }
        self.router = Some(w);
        let mut v = vec![0; self.spec.versions];
        v[self.stable.index()] = w.stable;
        v[self.target.index()] += w.canary;
        d.actions.push(Action::SetWeights(Some(v)));
        let note = if max == 100 {
            crate::why!("route {}% to the canary", canary_weight)
        } else {
            crate::why!("route {}/{} of traffic to the canary", canary_weight, max)
        };
        d.why.push(note);
    }

    /// Desired (canary, stable) counts now.
    pub(super) fn desired(
        &self,
        stable: Option<&RsStatus>,
        canary: Option<&RsStatus>,
        older: u32,
    ) -> (u32, u32) {
        let (surge, unavailable) = self.fenceposts();
        let r = self.spec.replicas;
        match &self.spec.traffic_routing {
            None => basic_canary_move(
                r,
                self.weight(),
                surge,
                unavailable,
                stable.map(|s| counts(Some(s))),
                counts(canary),
                older,
            ),
            Some(routing) => {
                let aborted = matches!(self.stage, Stage::Aborted { .. });
                if aborted {
                    return (0, r);
                }
                traffic_routed_counts(
                    r,
                    routing,
                    self.weight(),
                    self.scale_in_force(),
                    self.router,
                    aborted,
                )
            }
        }
    }
}
