//! Recording the rollout's course as events (`metrics::RolloutRecord::events`): what the
//! controller reported and the weights it published. Observes only; never steers the run.

use super::Simulation;
use crate::analysis::RunPhase;
use crate::engine::SimTime;
use crate::metrics::{EventDetail, EventKind};
use crate::strategy::Report;

impl Simulation {
    /// Records a controller's report on the rollout's course (observes only).
    pub(super) fn note_report(&mut self, now: SimTime, report: Report) {
        let (kind, detail) = match report {
            // A completion after a rollback began is the rollback's end.
            Report::Completed if self.rollout.rollback.is_some() => {
                (EventKind::RollbackDone, EventDetail::None)
            }
            Report::Completed => (EventKind::Completed, EventDetail::None),
            Report::Stalled => (EventKind::Stalled, EventDetail::None),
            Report::RollbackStarted => (EventKind::RollbackStarted, EventDetail::None),
            Report::Aborted => (EventKind::Aborted, EventDetail::None),
            Report::Paused => (EventKind::Paused, EventDetail::None),
            Report::Promoted => (EventKind::Promoted, EventDetail::None),
            Report::PauseStarted(d) => (EventKind::Pause, EventDetail::Duration(d)),
            Report::PauseEnded => (EventKind::Resumed, EventDetail::None),
            Report::AnalysisStarted(which) => {
                (EventKind::AnalysisStarted, EventDetail::Text(which))
            }
            Report::AnalysisDone(which, phase) => (
                match phase {
                    RunPhase::Successful | RunPhase::Running => EventKind::AnalysisSuccessful,
                    RunPhase::Failed => EventKind::AnalysisFailed,
                    RunPhase::Inconclusive => EventKind::AnalysisInconclusive,
                },
                EventDetail::Text(which),
            ),
        };
        self.rollout.note(now, kind, detail);
    }

    /// Records published weights as the rollout target's share (observes only).
    pub(super) fn note_weights(&mut self, now: SimTime, weights: Option<&[u32]>) {
        let Some(version) = self.rollout.target else {
            return;
        };
        let detail = match weights {
            None => EventDetail::Endpoints,
            Some(w) => {
                let total: u64 = w.iter().map(|x| u64::from(*x)).sum();
                let mine = w.get(version.index()).copied().unwrap_or(0);
                EventDetail::Weight {
                    version,
                    percent: if total == 0 {
                        0.0
                    } else {
                        (f64::from(mine) * 1000.0 / total as f64).round() / 10.0
                    },
                }
            }
        };
        self.rollout.note(now, EventKind::Weight, detail);
    }
}
