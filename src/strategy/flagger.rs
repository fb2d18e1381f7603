//! Flagger's canary loop (pkg/controller/scheduler.go), one tick per `interval`:
//!
//! * first tick on a new revision: the canary Deployment is scaled up; weights untouched;
//! * while the canary is not fully available: wait;
//! * **rollback check first**: once `failedChecks ≥ threshold` the next tick routes 100 % back
//!   to the primary and scales the canary to 0 (phase Failed);
//! * otherwise the metric checks run over the interval that just ended (not on the very first
//!   analysis tick, at weight 0, which only runs pre-rollout hooks); any failure increments
//!   `failedChecks` — **cumulative**, never reset by later successes — and changes no traffic;
//! * on success the canary weight grows by `stepWeight` (or to the next `stepWeights` entry),
//!   not clamped to `maxWeight` (20, 40, **60** with maxWeight 50); once at or above
//!   `maxWeight` the canary is promoted.
//!
//! Simplified: Flagger promotes by copying the canary's spec into the primary Deployment (a
//! rolling update of the primary) and then routing back to it; here the canary's pods take all
//! traffic at promotion and the old primary is scaled down, the same end state with one move.

use super::{all_traffic_to, max_revision, newest_of, Action, Controller, Decision, Limit, Report};
use super::{RsStatus, View};
use crate::analysis::{evaluate, Measurement, MetricSpec};
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;

/// Flagger's analysis settings.
#[derive(Clone, Debug, PartialEq)]
pub struct FlaggerSpec {
    /// Replicas of the primary and of the canary.
    pub replicas: u32,
    /// Number of versions (length of the weight vector).
    pub versions: usize,
    /// `analysis.interval` (at least 10 s).
    pub interval: SimDuration,
    /// `analysis.threshold`.
    pub threshold: u32,
    /// `analysis.stepWeight` (0: none).
    pub step_weight: u32,
    /// `analysis.stepWeights`.
    pub step_weights: Vec<u32>,
    /// `analysis.maxWeight` as resolved (last step weight capped at 100, or maxWeight, or 100).
    pub max_weight: u32,
    /// `analysis.metrics`.
    pub metrics: Vec<MetricSpec>,
}

impl FlaggerSpec {
    /// The increment from `weight` (Flagger's `nextStepWeight`).
    pub fn next_step(&self, weight: u32) -> u32 {
        if self.step_weight > 0 || self.step_weights.is_empty() {
            return self.step_weight;
        }
        match self.step_weights.iter().position(|w| *w == weight) {
            Some(i) => self
                .step_weights
                .get(i + 1)
                .map_or(100 - weight, |n| n.saturating_sub(weight)),
            None if weight == 0 => self.step_weights[0],
            None => 100 - weight,
        }
        .min(100 - weight)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Idle,
    Initializing,
    Progressing,
    Finalising,
    Done,
    Failed,
}

/// The Flagger controller.
#[derive(Clone, Debug)]
pub struct Flagger {
    spec: FlaggerSpec,
    primary: VersionId,
    canary: VersionId,
    phase: Phase,
    weight: u32,
    failed_checks: u32,
    next_tick: SimTime,
    last_tick: SimTime,
    analysed_once: bool,
}

impl Flagger {
    /// A controller whose primary runs `primary`.
    pub fn new(spec: FlaggerSpec, primary: VersionId) -> Self {
        Flagger {
            spec,
            primary,
            canary: primary,
            phase: Phase::Idle,
            weight: 0,
            failed_checks: 0,
            next_tick: SimTime::ZERO,
            last_tick: SimTime::ZERO,
            analysed_once: false,
        }
    }

    fn weights(&self, canary_weight: u32) -> Action {
        let mut v = vec![0; self.spec.versions];
        v[self.primary.index()] = 100 - canary_weight;
        v[self.canary.index()] += canary_weight;
        Action::SetWeights(Some(v))
    }

    fn checks_pass(&self, view: &View<'_>) -> bool {
        self.spec.metrics.iter().all(|m| {
            let (_, r) = evaluate(
                m,
                self.canary,
                Some(self.primary),
                self.last_tick,
                view.now,
                view.monitor,
            );
            r == Measurement::Successful
        })
    }
}

impl Controller for Flagger {
    fn strategy(&self) -> &'static str {
        "flagger"
    }

    fn replicas(&self) -> u32 {
        self.spec.replicas
    }

    fn initial_weights(&self) -> Option<Vec<u32>> {
        Some(all_traffic_to(self.spec.versions, self.primary))
    }

    fn start(&mut self, target: VersionId, now: SimTime) {
        self.canary = target;
        self.phase = Phase::Initializing;
        // The revision is detected on the next tick of the interval ticker.
        self.next_tick = now + self.spec.interval;
        self.last_tick = now;
    }

    fn undo(&mut self, _rss: &[RsStatus], _now: SimTime) -> bool {
        if self.phase == Phase::Progressing {
            self.failed_checks = self.spec.threshold;
            return true;
        }
        false
    }

    fn reconcile(&mut self, view: &View<'_>) -> Decision {
        let mut d = Decision::default();
        let now = view.now;
        let rss = view.replica_sets;
        let find = |v: VersionId| newest_of(rss, v);
        if matches!(self.phase, Phase::Idle | Phase::Done) {
            return d;
        }
        if self.phase == Phase::Failed {
            if let Some(c) = find(self.canary).filter(|c| c.spec > 0) {
                d.actions.push(Action::Scale {
                    rs: c.id,
                    replicas: 0,
                });
            }
            return d;
        }
        if self.phase == Phase::Finalising {
            let old: Vec<&RsStatus> = rss.iter().filter(|r| r.version != self.canary).collect();
            if let Some(o) = old.iter().find(|r| r.spec > 0) {
                d.actions.push(Action::Scale {
                    rs: o.id,
                    replicas: 0,
                });
                d.why = "finalising: scale the old primary down".into();
            } else if old.iter().all(|r| r.replicas == 0) {
                self.phase = Phase::Done;
                self.primary = self.canary;
                d.reports.push(Report::Completed);
                d.why = "succeeded".into();
            }
            return d;
        }
        if now < self.next_tick {
            d.requeue_at = Some(self.next_tick);
            return d;
        }
        self.next_tick = now + self.spec.interval;
        d.requeue_at = Some(self.next_tick);
        let Some(canary) = find(self.canary).cloned() else {
            d.actions.push(Action::CreateReplicaSet {
                version: self.canary,
                replicas: self.spec.replicas,
                revision: max_revision(rss) + 1,
            });
            d.why = "new revision detected: scale the canary up (Progressing)".into();
            self.phase = Phase::Progressing;
            self.last_tick = now;
            return d;
        };
        if canary.available < self.spec.replicas {
            d.why = "canary not ready yet".into();
            self.last_tick = now;
            return d;
        }
        if self.failed_checks >= self.spec.threshold {
            d.actions.push(self.weights(0));
            d.actions.push(Action::Scale {
                rs: canary.id,
                replicas: 0,
            });
            d.reports.push(Report::Aborted);
            d.why = format!(
                "rollback: {} failed checks ≥ threshold {}",
                self.failed_checks, self.spec.threshold
            );
            self.phase = Phase::Failed;
            return d;
        }
        let first = !self.analysed_once;
        self.analysed_once = true;
        if !first && !self.checks_pass(view) {
            self.failed_checks += 1;
            d.why = format!(
                "checks failed ({} of threshold {})",
                self.failed_checks, self.spec.threshold
            );
            self.last_tick = now;
            return d;
        }
        self.last_tick = now;
        if self.weight < self.spec.max_weight {
            self.weight = (self.weight + self.spec.next_step(self.weight)).min(100);
            d.actions.push(self.weights(self.weight));
            d.why = format!("checks passed: canary weight {}", self.weight);
        } else {
            d.actions.push(self.weights(100));
            d.reports.push(Report::Promoted);
            d.why = "promote: all traffic to the new version".into();
            self.phase = Phase::Finalising;
            d.requeue_at = Some(now);
        }
        d
    }

    fn limits(&self) -> Vec<Limit> {
        let mut v = vec![
            Limit::count("replicas", self.spec.replicas),
            Limit::duration("interval", self.spec.interval),
            Limit::count("threshold", self.spec.threshold),
        ];
        if self.spec.step_weights.is_empty() {
            v.push(Limit::count("stepWeight", self.spec.step_weight));
        } else {
            v.push(Limit {
                key: "stepWeights",
                value: self.spec.step_weights.clone().into(),
                text: vec![format!("{:?}", self.spec.step_weights)],
            });
        }
        v.push(Limit::count("maxWeight", self.spec.max_weight));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(step_weight: u32, step_weights: Vec<u32>, max_weight: u32) -> FlaggerSpec {
        FlaggerSpec {
            replicas: 2,
            versions: 2,
            interval: SimDuration::from_secs(10),
            threshold: 1,
            step_weight,
            step_weights,
            max_weight,
            metrics: vec![],
        }
    }

    /// The weight sequences pinned by Flagger's `TestScheduler_ServicePromotion*`.
    #[test]
    fn weight_sequences_match_flaggers_tests() {
        let walk = |s: FlaggerSpec| {
            let mut w = 0;
            let mut seq = vec![];
            while w < s.max_weight {
                w = (w + s.next_step(w)).min(100);
                seq.push(100 - w);
            }
            seq
        };
        assert_eq!(walk(spec(20, vec![], 50)), [80, 60, 40]);
        assert_eq!(walk(spec(50, vec![], 100)), [50, 0]);
        assert_eq!(walk(spec(0, vec![1, 2, 10, 80], 80)), [99, 98, 90, 20]);
        assert_eq!(walk(spec(0, vec![1, 2, 10, 200], 100)), [99, 98, 90, 0]);
    }
}
