//! Where a rollout's time goes: its span cut into what it waited for — pods being scheduled,
//! starting, passing readiness, old pods terminating; pauses; analysis; the scale-down delay;
//! the controller's own ticks; the rest. The question Argo Rollouts users keep asking ("how much
//! of my deploy is waiting for pods?"), answered from the run rather than guessed.
//!
//! The world tells the clock, whenever either can change, what the controller waits for (its
//! last decision's [`Wait`]) and, when that is pods, what the pods wait for ([`PodWait`]); the
//! clock charges the time since the previous observation to the previous answer. Integer
//! microseconds, so the parts add up to the span exactly.

use serde::Serialize;

use crate::engine::{SimDuration, SimTime};
use crate::model::PodWait;
use crate::strategy::Wait;

/// One use of a rollout's time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimeUse {
    /// Pods Pending: no node has room.
    Scheduling,
    /// Pods bound: image pull, container start, application start-up.
    Starting,
    /// Pods up but not yet available: readiness probes, `minReadySeconds`.
    Readiness,
    /// Old pods terminating (preStop, grace period) with no new pod on its way.
    Terminating,
    /// A pause (timed, or waiting for a promote).
    Pause,
    /// An analysis the rollout waits for.
    Analysis,
    /// Old pods kept for `scaleDownDelaySeconds`.
    ScaleDownDelay,
    /// The controller's own ticks (Flagger's detection and promotion phases).
    Controller,
    /// Anything else: every pod available and the controller not paused — weights being
    /// learned by the balancer, a reconcile about to move.
    Other,
}

impl TimeUse {
    const COUNT: usize = 9;

    /// What the rollout spends time on when the controller waits for `wait` and the pods for
    /// `pods`.
    pub fn of(wait: Wait, pods: PodWait) -> TimeUse {
        match wait {
            Wait::Pods => match pods {
                PodWait::Scheduling => TimeUse::Scheduling,
                PodWait::Starting => TimeUse::Starting,
                PodWait::Readiness => TimeUse::Readiness,
                PodWait::Terminating => TimeUse::Terminating,
                PodWait::Nothing => TimeUse::Other,
            },
            Wait::Pause => TimeUse::Pause,
            Wait::Analysis => TimeUse::Analysis,
            Wait::ScaleDownDelay => TimeUse::ScaleDownDelay,
            Wait::Controller => TimeUse::Controller,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why the clock stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClockStop {
    /// The rollout completed.
    Completed,
    /// It was aborted (analysis failed, a manual abort).
    Aborted,
    /// A rollback began.
    Rollback,
    /// The progress deadline passed.
    Stalled,
}

impl ClockStop {
    fn as_str(self) -> &'static str {
        match self {
            ClockStop::Completed => "completed",
            ClockStop::Aborted => "aborted",
            ClockStop::Rollback => "rollback",
            ClockStop::Stalled => "stalled",
        }
    }
}

/// The running account of a rollout's time (see the module comment).
#[derive(Clone, Debug, Default)]
pub struct RolloutClock {
    started: Option<SimTime>,
    current: Option<(TimeUse, SimTime)>,
    totals: [SimDuration; TimeUse::COUNT],
    stopped: Option<(SimTime, ClockStop)>,
}

impl RolloutClock {
    /// The rollout began at `now`; what it waits for is told by the next [`observe`](Self::observe).
    pub fn start(&mut self, now: SimTime) {
        if self.started.is_none() {
            self.started = Some(now);
            self.current = Some((TimeUse::Other, now));
        }
    }

    /// Whether the clock runs (started, not stopped): the world skips its observations
    /// otherwise.
    pub fn running(&self) -> bool {
        self.current.is_some()
    }

    /// From `now` on, the rollout spends its time on `to`.
    pub fn observe(&mut self, now: SimTime, to: TimeUse) {
        if let Some((was, since)) = self.current {
            if was != to {
                self.totals[was.index()] = self.totals[was.index()] + (now - since);
                self.current = Some((to, now));
            }
        }
    }

    /// The span ends at `now` (the first of completion, abort, rollback, stall).
    pub fn stop(&mut self, now: SimTime, why: ClockStop) {
        if let Some((was, since)) = self.current.take() {
            self.totals[was.index()] = self.totals[was.index()] + (now - since);
            self.stopped = Some((now, why));
        }
    }

    /// The breakdown, with a span still running closed at `run_end`; `None` when no rollout
    /// started.
    pub fn breakdown(&self, run_end: SimTime) -> Option<TimeBreakdown> {
        let start = self.started?;
        let mut totals = self.totals;
        let (end, until) = match (self.current, self.stopped) {
            (Some((was, since)), _) => {
                let end = run_end.max(since);
                totals[was.index()] = totals[was.index()] + (end - since);
                (end, "run_end")
            }
            (None, Some((at, why))) => (at, why.as_str()),
            (None, None) => (start, "run_end"),
        };
        let s = |u: TimeUse| totals[u.index()].as_secs_f64();
        Some(TimeBreakdown {
            until,
            total: (end - start).as_secs_f64(),
            waiting_for_pods: (totals[TimeUse::Scheduling.index()]
                + totals[TimeUse::Starting.index()]
                + totals[TimeUse::Readiness.index()]
                + totals[TimeUse::Terminating.index()])
            .as_secs_f64(),
            scheduling: s(TimeUse::Scheduling),
            starting: s(TimeUse::Starting),
            readiness: s(TimeUse::Readiness),
            terminating: s(TimeUse::Terminating),
            pause: s(TimeUse::Pause),
            analysis: s(TimeUse::Analysis),
            scale_down_delay: s(TimeUse::ScaleDownDelay),
            controller: s(TimeUse::Controller),
            other: s(TimeUse::Other),
        })
    }
}

/// `rollout.time_breakdown_s`: seconds of the rollout's span by what it waited for. The parts
/// `scheduling` … `other` add up to `total`; `waiting_for_pods` is the sum of the first four.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TimeBreakdown {
    /// Where the span ends: `completed`, `aborted`, `rollback` (a rollback began), `stalled`,
    /// or `run_end` (still going when the run ended).
    pub until: &'static str,
    /// The span: from the rollout's start to `until`.
    pub total: f64,
    /// `scheduling + starting + readiness + terminating`.
    pub waiting_for_pods: f64,
    /// New pods Pending: no node has room.
    pub scheduling: f64,
    /// New pods bound: image pull, container start, application start-up.
    pub starting: f64,
    /// New pods up but not yet available (readiness probes, minReadySeconds).
    pub readiness: f64,
    /// Old pods terminating, no new pod on its way.
    pub terminating: f64,
    /// Pauses: timed, or waiting for a promote.
    pub pause: f64,
    /// Analysis the rollout waits for.
    pub analysis: f64,
    /// Old pods kept for scaleDownDelaySeconds.
    pub scale_down_delay: f64,
    /// The controller's own ticks (Flagger's detection and promotion phases).
    pub controller: f64,
    /// Every pod available, nothing paused: weights being learned, a reconcile about to move.
    pub other: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn parts_add_up_to_the_span_and_stop_at_completion() {
        let mut c = RolloutClock::default();
        c.observe(t(1), TimeUse::Pause); // not started: ignored
        c.start(t(10));
        c.observe(t(10), TimeUse::Starting);
        c.observe(t(25), TimeUse::Readiness);
        c.observe(t(30), TimeUse::Pause);
        c.observe(t(90), TimeUse::Pause);
        c.observe(t(90), TimeUse::Terminating);
        c.stop(t(100), ClockStop::Completed);
        c.observe(t(200), TimeUse::Analysis); // stopped: ignored
        let b = c.breakdown(t(300)).unwrap();
        assert_eq!(b.until, "completed");
        assert_eq!(b.total, 90.0);
        assert_eq!(
            (b.starting, b.readiness, b.pause, b.terminating),
            (15.0, 5.0, 60.0, 10.0)
        );
        assert_eq!(b.waiting_for_pods, 30.0);
        let sum = b.scheduling
            + b.starting
            + b.readiness
            + b.terminating
            + b.pause
            + b.analysis
            + b.scale_down_delay
            + b.controller
            + b.other;
        assert_eq!(sum, b.total);
    }

    #[test]
    fn a_running_span_closes_at_the_run_end_and_no_rollout_is_null() {
        assert!(RolloutClock::default().breakdown(t(5)).is_none());
        let mut c = RolloutClock::default();
        c.start(t(10));
        c.observe(t(12), TimeUse::Analysis);
        let b = c.breakdown(t(40)).unwrap();
        assert_eq!(
            (b.until, b.total, b.other, b.analysis),
            ("run_end", 30.0, 2.0, 28.0)
        );
    }

    #[test]
    fn the_controller_s_wait_wins_over_the_pods() {
        assert_eq!(TimeUse::of(Wait::Pause, PodWait::Starting), TimeUse::Pause);
        assert_eq!(
            TimeUse::of(Wait::Pods, PodWait::Scheduling),
            TimeUse::Scheduling
        );
        assert_eq!(TimeUse::of(Wait::Pods, PodWait::Nothing), TimeUse::Other);
    }
}
