//! How much work a run may do before it is stopped with an error instead of hanging.
//!
//! Simulated time only moves when the next event is later than the current one. A model or a
//! controller that keeps scheduling events at the current instant (a controller whose decision
//! asks to reconcile again "now", forever) would spin without end; the per-instant limit turns
//! that into a [`RunError`] naming the instant and the event that kept recurring. An optional
//! total limit bounds a whole run (a caller that wants a hard ceiling on work).

use std::fmt;

use super::Event;
use crate::engine::SimTime;
use crate::model::ModelEvent;

/// Limits on the events a run may process.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Events allowed at one simulated instant before the run counts as stuck. Real bursts
    /// are small (a controller sync scales a few hundred pods at most at one instant); the
    /// default, a million, is reached in a fraction of a second by a loop.
    pub per_instant: u64,
    /// Events allowed in the whole run (`None`: no limit).
    pub total: Option<u64>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            per_instant: 1_000_000,
            total: None,
        }
    }
}

/// Why a run stopped before its end. `Display` gives the message for users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunError {
    /// Time stopped advancing: `events` events ran at `at` and more kept coming.
    Stuck {
        /// The instant the clock stuck at.
        at: SimTime,
        /// Events processed at that instant.
        events: u64,
        /// What the last of them was, in words.
        last: &'static str,
    },
    /// The run needed more events than its total budget.
    OverBudget {
        /// The budget.
        budget: u64,
        /// Simulated time reached when it ran out.
        at: SimTime,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Stuck { at, events, last } => write!(
                f,
                "the simulation stopped making progress at t = {:.6} s: {events} events at \
                 that instant without the clock moving (the last one: {last}). Something \
                 keeps asking to run again at the same moment; this is a bug in rollsim — \
                 please report it with the scenario file",
                at.as_secs_f64()
            ),
            RunError::OverBudget { budget, at } => write!(
                f,
                "the run needed more than its budget of {budget} events (stopped at t = {:.6} \
                 s); shorten the run or lower the rate",
                at.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for RunError {}

/// Counts events per instant against a [`Budget`] (the queue counts the total).
#[derive(Clone, Debug)]
pub(super) struct Meter {
    per_instant: u64,
    total: u64,
    instant: SimTime,
    at_instant: u64,
}

impl Meter {
    pub(super) fn new(budget: Budget) -> Self {
        Meter {
            per_instant: budget.per_instant,
            total: budget.total.unwrap_or(u64::MAX),
            instant: SimTime::ZERO,
            at_instant: 0,
        }
    }

    /// Counts one event at `now` (about to run; `processed` events so far, this one
    /// included); an error if it exceeds the budget.
    #[inline(always)]
    pub(super) fn charge(
        &mut self,
        now: SimTime,
        processed: u64,
        event: &Event,
    ) -> Result<(), RunError> {
        if now != self.instant {
            self.instant = now;
            self.at_instant = 0;
        }
        self.at_instant += 1;
        if self.at_instant > self.per_instant || processed > self.total {
            return Err(self.exceeded(now, processed, event));
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn exceeded(&self, now: SimTime, processed: u64, event: &Event) -> RunError {
        if processed > self.total {
            RunError::OverBudget {
                budget: self.total,
                at: now,
            }
        } else {
            RunError::Stuck {
                at: now,
                events: self.at_instant - 1,
                last: describe(event),
            }
        }
    }
}

/// An event in words, for error messages.
fn describe(event: &Event) -> &'static str {
    match event {
        Event::Model(m) => match m {
            ModelEvent::ServiceDone { .. } => "a request finishing on a pod",
            ModelEvent::CallDone { .. } => "a call to a dependency finishing",
            ModelEvent::Db(_) => "a database query or pool wait ending",
            ModelEvent::ContainerStarted(_) => "a container starting",
            ModelEvent::Listening(_) => "an application starting to listen",
            ModelEvent::Probe { .. } => "a readiness probe",
            ModelEvent::Crash { .. } => "a container crash",
            ModelEvent::MinReadyElapsed(_) => "minReadySeconds elapsing",
            ModelEvent::PreStopDone(_) => "a preStop hook ending",
            ModelEvent::GraceExpired(_) => "a termination grace period ending",
            ModelEvent::EndpointUpdate { .. } => "an endpoint update reaching the balancer",
        },
        Event::Arrival => "a request arriving",
        Event::ControllerSync => "a rollout controller reconciling",
        Event::RolloutStart => "the rollout starting",
        Event::Undo => "a rollout undo",
        Event::Step { .. } => "a [[steps]] entry starting or its wait ending",
        Event::BucketEnd => "a metrics bucket closing",
        Event::WeightsLearned(_) => "the router learning traffic weights",
        Event::TargetHealthCheck { .. } => "a load-balancer target health check",
        Event::Flag(_) => "a feature-flag change",
        Event::FlagSync { .. } => "a pod's flag SDK updating",
        Event::FlagAnalysis => "a flag analysis measurement",
        Event::Reconnect(_) => "a long-lived connection's client reconnecting",
        Event::Smoke { .. } => "a smoke-test request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_at_one_instant_is_stopped_and_time_passing_resets_the_count() {
        let mut m = Meter::new(Budget {
            per_instant: 3,
            total: None,
        });
        let t = SimTime(5_000_000);
        for n in 1..=3 {
            m.charge(t, n, &Event::ControllerSync).unwrap();
        }
        let later = SimTime(5_000_001);
        m.charge(later, 4, &Event::Arrival).unwrap();
        for n in 5..=6 {
            m.charge(later, n, &Event::ControllerSync).unwrap();
        }
        let err = m.charge(later, 7, &Event::ControllerSync).unwrap_err();
        assert_eq!(
            err,
            RunError::Stuck {
                at: SimTime(5_000_001),
                events: 3,
                last: "a rollout controller reconciling",
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("t = 5.000001 s"), "{msg}");
        assert!(!msg.contains("ControllerSync"), "no type names: {msg}");
    }

    #[test]
    fn the_total_budget_bounds_a_run() {
        let mut m = Meter::new(Budget {
            per_instant: 10,
            total: Some(2),
        });
        m.charge(SimTime(1), 1, &Event::Arrival).unwrap();
        m.charge(SimTime(2), 2, &Event::Arrival).unwrap();
        assert_eq!(
            m.charge(SimTime(3), 3, &Event::Arrival),
            Err(RunError::OverBudget {
                budget: 2,
                at: SimTime(3)
            })
        );
    }

    /// A controller that asks to reconcile again at the same instant, every time.
    struct Restless;

    impl crate::strategy::Controller for Restless {
        fn replicas(&self) -> u32 {
            2
        }
        fn start(&mut self, _: crate::model::VersionId, _: SimTime) {}
        fn undo(&mut self, _: &[crate::strategy::RsStatus], _: SimTime) -> bool {
            false
        }
        fn reconcile(&mut self, view: &crate::strategy::View<'_>) -> crate::strategy::Decision {
            crate::strategy::Decision {
                requeue_at: Some(view.now),
                ..Default::default()
            }
        }
        fn limits(&self) -> Vec<crate::strategy::Limit> {
            Vec::new()
        }
    }

    #[test]
    fn a_controller_that_requeues_at_now_forever_is_an_error_not_a_hang() {
        let text = r#"
            duration = "60s"
            [traffic]
            rate = 50
            [versions.v1]
            service = "10ms"
            [versions.v2]
            service = "10ms"
            [deployment]
            replicas = 2
            version = "v1"
            [rollout]
            to = "v2"
            at = "10s"
            strategy = "rolling"
        "#;
        let scenario = crate::scenario::Scenario::parse("t.toml", "t", text).unwrap();
        let sim = super::super::Simulation::with_controller(&scenario, Box::new(Restless))
            .with_budget(Budget {
                per_instant: 10_000,
                total: None,
            });
        let err = sim.run().err().expect("a stuck run is an error");
        match err {
            RunError::Stuck { at, events, last } => {
                assert_eq!(at, SimTime(10_000_000));
                assert_eq!(events, 10_000);
                assert_eq!(last, "a rollout controller reconciling");
            }
            other => panic!("{other}"),
        }
        // The same scenario with its real controller finishes under the default budget.
        let out = super::super::Simulation::new(&scenario).run().unwrap();
        assert_eq!(out.summary.rollout.outcome, "completed");
    }
}
