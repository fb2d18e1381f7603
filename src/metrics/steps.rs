//! `summary.json`'s `steps[]`: what each `[[steps]]` entry did and when.

use serde::Serialize;

/// How a step ended (`steps[].outcome`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// Never started: an earlier step did not finish, or the run ended first.
    #[default]
    NotReached,
    /// Started, not finished when the run ended.
    InProgress,
    /// Finished as asked: a rollout completed (an undo's rollback included), a DDL committed,
    /// a wait passed.
    Completed,
    /// A deployment was aborted or rolled back by its controller (failed analysis, a stall);
    /// the steps after it do not run, as a pipeline stops at a failed stage.
    Aborted,
    /// A migration gave up: every attempt timed out waiting for its lock.
    Failed,
}

impl StepOutcome {
    /// Its name in `summary.json` and the text summary.
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::NotReached => "not_reached",
            StepOutcome::InProgress => "in_progress",
            StepOutcome::Completed => "completed",
            StepOutcome::Aborted => "aborted",
            StepOutcome::Failed => "failed",
        }
    }
}

/// One step's course (`null`: it never got there).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepSummary {
    /// `deploy`, `migrate`, `wait` or `undo`.
    pub kind: &'static str,
    /// The version deployed (or gone back to, for `undo`), the DDL step's name, or the wait
    /// (`"30s"`).
    pub target: Option<String>,
    /// When it started, seconds.
    pub requested_s: Option<f64>,
    /// When it finished (completed, aborted or failed), seconds.
    pub finished_s: Option<f64>,
    /// How it ended.
    pub outcome: StepOutcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_serialise_to_their_contract_names() {
        let names: Vec<String> = [
            StepOutcome::NotReached,
            StepOutcome::InProgress,
            StepOutcome::Completed,
            StepOutcome::Aborted,
            StepOutcome::Failed,
        ]
        .iter()
        .map(|o| {
            let json = serde_json::to_string(o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.as_str()));
            json
        })
        .collect();
        assert_eq!(
            names.join(","),
            "\"not_reached\",\"in_progress\",\"completed\",\"aborted\",\"failed\""
        );
    }
}
