//! The rollout's course as the world reports it (when it started, ended, stalled, rolled back)
//! and the outcome name derived from it.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::engine::SimTime;

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
