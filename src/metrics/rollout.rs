//! The rollout's course as the world reports it (when it started, ended, stalled, rolled back),
//! the outcome name derived from it, and the list of its events (what a timeline marks).

use std::fmt;

use serde::{Serialize, Serializer};

use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;

/// How a rollout (or a flag release) ended, as `summary.json` names it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RolloutOutcome {
    /// No rollout in the scenario (or it never started).
    None,
    /// Started, not finished, nothing went wrong yet.
    InProgress,
    /// The new version (or the flag at 100 %) serves everything.
    Completed,
    /// The progress deadline passed and nothing rolled it back.
    Stalled,
    /// Waiting for a human (an indefinite pause, an inconclusive analysis).
    Paused,
    /// Aborted: traffic went back to the stable version (Argo, Flagger, a flag's kill switch).
    Aborted,
    /// A rollback (undo, or after a stall or failed analysis) completed.
    RolledBack,
    /// A rollback began and had not completed when the run ended.
    RollbackInProgress,
}

impl RolloutOutcome {
    /// Every outcome, in documentation order.
    pub const ALL: [RolloutOutcome; 8] = [
        RolloutOutcome::None,
        RolloutOutcome::InProgress,
        RolloutOutcome::Completed,
        RolloutOutcome::Stalled,
        RolloutOutcome::Paused,
        RolloutOutcome::Aborted,
        RolloutOutcome::RolledBack,
        RolloutOutcome::RollbackInProgress,
    ];

    /// The name in `summary.json` and the text summary (part of the output contract).
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutOutcome::None => "none",
            RolloutOutcome::InProgress => "in_progress",
            RolloutOutcome::Completed => "completed",
            RolloutOutcome::Stalled => "stalled",
            RolloutOutcome::Paused => "paused",
            RolloutOutcome::Aborted => "aborted",
            RolloutOutcome::RolledBack => "rolled_back",
            RolloutOutcome::RollbackInProgress => "rollback_in_progress",
        }
    }
}

impl fmt::Display for RolloutOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RolloutOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for RolloutOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for RolloutOutcome {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// When the rollout started, ended, stalled or began to roll back.
#[derive(Clone, Debug, Default)]
pub struct RolloutRecord {
    /// The pod template changed (or, for a flag-only release, its first rules were published).
    pub start: Option<SimTime>,
    /// The Deployment was last complete (for a flag-only release: every pod's SDK applied the
    /// 100 % rules).
    pub end: Option<SimTime>,
    /// The progress deadline passed.
    pub stalled: Option<SimTime>,
    /// A rollback began.
    pub rollback: Option<SimTime>,
    /// The rollout was aborted (traffic back to stable).
    pub abort: Option<SimTime>,
    /// The rollout paused for a human.
    pub paused: Option<SimTime>,
    /// The new version was fully promoted.
    pub promoted: Option<SimTime>,
    /// The feature flag's own release, when the scenario has a flag.
    pub flag: FlagRecord,
    /// The version the rollout moves to (the share a weight event reports).
    pub target: Option<VersionId>,
    /// The course as events, in time order: one per controller status change, weight change,
    /// pause or analysis run (never per request), at most [`MAX_EVENTS`].
    pub events: Vec<RolloutEvent>,
    /// Events not kept because [`MAX_EVENTS`] were already recorded.
    pub events_dropped: u64,
}

/// Most events a run keeps: a canary with a hundred steps stays far below it; past it, later
/// events are dropped (and [`RolloutRecord::events_dropped`] counts them) so memory stays
/// bounded whatever a scenario does.
pub const MAX_EVENTS: usize = 1000;

/// What happened, as `summary.json` names it (`rollout.events[].kind`, part of the contract).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The pod template changed (or a flag-only release's first rules were published).
    Start,
    /// A controller published router weights (Argo `setWeight`, a blue-green switch, Flagger's
    /// step, an abort's weight back to 0).
    Weight,
    /// A timed pause began (a canary `pause: {duration}`, blue-green's auto-promotion wait).
    Pause,
    /// The rollout paused for a human (an indefinite pause, an inconclusive analysis).
    Paused,
    /// A pause ended (its time passed, or a promote came).
    Resumed,
    /// An AnalysisRun began.
    AnalysisStarted,
    /// An AnalysisRun ended Successful.
    AnalysisSuccessful,
    /// An AnalysisRun ended Failed.
    AnalysisFailed,
    /// An AnalysisRun ended Inconclusive.
    AnalysisInconclusive,
    /// The new version was fully promoted.
    Promoted,
    /// The rollout was aborted: traffic back to the stable version.
    Aborted,
    /// A rollback began (undo, or after a stall).
    RollbackStarted,
    /// The Deployment was complete again on the previous version after a rollback.
    RollbackDone,
    /// The progress deadline passed.
    Stalled,
    /// The Deployment was complete on the new version.
    Completed,
    /// Feature-flag rules were published (their percentage in the detail).
    FlagPublished,
    /// The flag's kill switch was thrown.
    FlagKilled,
}

impl EventKind {
    /// The name in `summary.json` (part of the output contract).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Start => "start",
            EventKind::Weight => "weight",
            EventKind::Pause => "pause",
            EventKind::Paused => "paused",
            EventKind::Resumed => "resumed",
            EventKind::AnalysisStarted => "analysis_started",
            EventKind::AnalysisSuccessful => "analysis_successful",
            EventKind::AnalysisFailed => "analysis_failed",
            EventKind::AnalysisInconclusive => "analysis_inconclusive",
            EventKind::Promoted => "promoted",
            EventKind::Aborted => "aborted",
            EventKind::RollbackStarted => "rollback_started",
            EventKind::RollbackDone => "rollback_done",
            EventKind::Stalled => "stalled",
            EventKind::Completed => "completed",
            EventKind::FlagPublished => "flag_published",
            EventKind::FlagKilled => "flag_killed",
        }
    }
}

/// An event's data, kept unformatted while the run goes on (rendered by `summarise`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum EventDetail {
    /// Nothing to add.
    None,
    /// The rollout's target version receives this share of the router's weight, percent.
    Weight {
        /// The version the rollout moves to.
        version: VersionId,
        /// Its share of the total weight, 0–100.
        percent: f64,
    },
    /// Weights cleared: the Service splits by endpoints.
    Endpoints,
    /// A timed pause's length.
    Duration(SimDuration),
    /// Which analysis (`inline`, `background`, `pre-promotion`, `post-promotion`, `flag`).
    Text(&'static str),
    /// A flag's published rollout percentage.
    FlagPercent(f64),
}

/// One event of the rollout's course.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RolloutEvent {
    /// When it happened.
    pub at: SimTime,
    /// What happened.
    pub kind: EventKind,
    /// Its data.
    pub detail: EventDetail,
}

/// A feature flag's release: published rules, and what the pods' SDKs made of them.
#[derive(Clone, Debug, Default)]
pub struct FlagRecord {
    /// The first rules that turn the path on for someone were published.
    pub start: Option<SimTime>,
    /// Rules at 100 % were published (not yet applied by every SDK).
    pub full_published: Option<SimTime>,
    /// Every pod serving a version that ships the path had applied the 100 % rules.
    pub end: Option<SimTime>,
    /// The kill switch was thrown.
    pub killed: Option<SimTime>,
}

impl RolloutRecord {
    /// Records an event of the course (dropped past [`MAX_EVENTS`]). A weight event that
    /// repeats the last published share is not recorded: controllers re-publish unchanged
    /// weights, and a timeline marks changes.
    pub fn note(&mut self, at: SimTime, kind: EventKind, detail: EventDetail) {
        if kind == EventKind::Weight {
            let last = self
                .events
                .iter()
                .rev()
                .find(|e| e.kind == EventKind::Weight);
            if last.is_some_and(|e| e.detail == detail) {
                return;
            }
        }
        if self.events.len() < MAX_EVENTS {
            self.events.push(RolloutEvent { at, kind, detail });
        } else {
            self.events_dropped += 1;
        }
    }

    /// The rollout's outcome.
    pub fn outcome(&self) -> RolloutOutcome {
        use RolloutOutcome as O;
        if self.start.is_some() && self.abort.is_some() && self.rollback.is_none() {
            return O::Aborted;
        }
        if self.start.is_some()
            && self.end.is_none()
            && self.rollback.is_none()
            && self.paused.is_some()
        {
            return O::Paused;
        }
        match (self.start, self.end, self.stalled, self.rollback) {
            (None, ..) => O::None,
            (_, Some(_), _, Some(_)) => O::RolledBack,
            (_, None, _, Some(_)) => O::RollbackInProgress,
            (_, Some(_), _, None) => O::Completed,
            (_, None, Some(_), None) => O::Stalled,
            _ => O::InProgress,
        }
    }
}

impl FlagRecord {
    /// The flag release's outcome: `none`, `in_progress`, `completed` or `aborted` (killed).
    pub fn outcome(&self) -> RolloutOutcome {
        match (self.start, self.killed, self.end) {
            (None, None, _) => RolloutOutcome::None,
            (_, Some(_), _) => RolloutOutcome::Aborted,
            (_, None, Some(_)) => RolloutOutcome::Completed,
            _ => RolloutOutcome::InProgress,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialise_to_their_contract_names() {
        let names: Vec<String> = RolloutOutcome::ALL
            .iter()
            .map(|o| serde_json::to_string(o).unwrap())
            .collect();
        assert_eq!(
            names.join(","),
            "\"none\",\"in_progress\",\"completed\",\"stalled\",\"paused\",\"aborted\",\"rolled_back\",\"rollback_in_progress\""
        );
        assert_eq!(RolloutOutcome::RolledBack, "rolled_back");
    }

    #[test]
    fn unchanged_weights_are_not_repeated_and_the_list_is_bounded() {
        let mut r = RolloutRecord::default();
        let w = |p| EventDetail::Weight {
            version: VersionId(1),
            percent: p,
        };
        r.note(SimTime(1), EventKind::Weight, w(10.0));
        r.note(SimTime(2), EventKind::Weight, w(10.0));
        r.note(SimTime(3), EventKind::Pause, EventDetail::None);
        r.note(SimTime(4), EventKind::Weight, w(10.0));
        r.note(SimTime(5), EventKind::Weight, w(30.0));
        let kinds: Vec<_> = r.events.iter().map(|e| (e.at.0, e.kind.as_str())).collect();
        assert_eq!(kinds, [(1, "weight"), (3, "pause"), (5, "weight")]);
        for i in 0..2 * MAX_EVENTS as u64 {
            r.note(SimTime(i), EventKind::Paused, EventDetail::None);
        }
        assert_eq!(r.events.len(), MAX_EVENTS);
        assert_eq!(r.events_dropped, MAX_EVENTS as u64 + 3);
    }

    #[test]
    fn record_outcomes() {
        let t = Some(SimTime(1));
        let mut r = RolloutRecord::default();
        assert_eq!(r.outcome(), RolloutOutcome::None);
        r.start = t;
        assert_eq!(r.outcome(), RolloutOutcome::InProgress);
        r.stalled = t;
        assert_eq!(r.outcome(), RolloutOutcome::Stalled);
        r.rollback = t;
        assert_eq!(r.outcome(), RolloutOutcome::RollbackInProgress);
        r.end = t;
        assert_eq!(r.outcome(), RolloutOutcome::RolledBack);
        let aborted = RolloutRecord {
            start: t,
            abort: t,
            ..RolloutRecord::default()
        };
        assert_eq!(aborted.outcome(), RolloutOutcome::Aborted);
        let flag = FlagRecord {
            start: t,
            killed: t,
            ..FlagRecord::default()
        };
        assert_eq!(flag.outcome(), RolloutOutcome::Aborted);
    }
}
