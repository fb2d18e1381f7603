//! `[[steps]]` during a run (see `scenario::steps`): one step at a time, each starting when
//! the previous one finished and not before its own `at`.
//!
//! * `deploy`: the controller starts a rollout to the version from wherever the Deployment
//!   stands (the stable version is the last one completed: a new pod template hash, hence a
//!   new ReplicaSet, for Kubernetes; the promoted ReplicaSet for Argo). It finishes when the
//!   controller reports the rollout complete; an abort or a rollback by the controller ends
//!   the sequence there (`aborted`), as a pipeline stops at a failed stage.
//! * `migrate`: the DDL step is requested now (its lock, `lock_timeout` and retries as when
//!   timed); it finishes when it commits, or fails when its last attempt times out.
//! * `wait`: finishes after its time.
//! * `undo`: `kubectl rollout undo` (Argo: abort while in progress); once a blue-green or
//!   canary rollout is complete, Argo's undo is a new rollout to the previous revision, and so
//!   it is here. Finishes when the rollback completes (or, for an abort, when it is reported).
//!
//! `summary.json`'s `rollout` describes the last deployment started (its record starts afresh
//! with each deploy step); `steps[]` gives every step.

use super::{Event, Simulation};
use crate::engine::SimTime;
use crate::metrics::{StepOutcome, StepSummary};
use crate::model::database::DbEvent;
use crate::model::{ModelEvent, VersionId};
use crate::scenario::StepKind;
use crate::strategy::Report;

/// One step's course.
#[derive(Copy, Clone, Debug, Default)]
pub(super) struct StepRecord {
    requested: Option<SimTime>,
    finished: Option<SimTime>,
    outcome: StepOutcome,
    /// For `undo`: the version it goes back to.
    back_to: Option<VersionId>,
}

/// The sequence's state.
#[derive(Clone, Debug, Default)]
pub(super) struct Steps {
    records: Vec<StepRecord>,
    /// The step running now.
    current: Option<usize>,
    /// Versions deployed, the running one last.
    history: Vec<VersionId>,
}

impl Steps {
    /// The state before the first step, with `initial` running.
    pub(super) fn new(count: usize, initial: VersionId) -> Self {
        Steps {
            records: vec![StepRecord::default(); count],
            current: None,
            history: vec![initial],
        }
    }
}

impl Simulation {
    /// Schedules the first step (before the run).
    pub(super) fn schedule_steps(&mut self) {
        if let Some(first) = self.scenario.steps.first() {
            let at = first.at.unwrap_or(SimTime::ZERO);
            self.queue.schedule(at, Event::Step { k: 0, done: false });
        }
    }

    /// Step `k` starts (`done: false`) or its wait is over (`done: true`).
    pub(super) fn step_event(&mut self, now: SimTime, k: u16, done: bool) {
        let k = k as usize;
        if done {
            return self.step_finished(now, k, StepOutcome::Completed);
        }
        let rec = &mut self.steps.records[k];
        rec.requested = Some(now);
        rec.outcome = StepOutcome::InProgress;
        self.steps.current = Some(k);
        match self.scenario.steps[k].kind {
            StepKind::Deploy(v) => {
                self.steps.history.push(v);
                self.deploy(now, v);
            }
            StepKind::Migrate(d) => {
                let e = Event::Model(ModelEvent::Db(DbEvent::DdlStart(d)));
                self.queue.schedule(now, e);
            }
            StepKind::Backfill(b) => {
                let e = Event::Model(ModelEvent::Db(DbEvent::BackfillStart(b)));
                self.queue.schedule(now, e);
            }
            StepKind::Wait(d) => self.queue.schedule(
                now + d,
                Event::Step {
                    k: k as u16,
                    done: true,
                },
            ),
            StepKind::Undo => {
                let h = &mut self.steps.history;
                if h.len() > 1 {
                    h.pop();
                }
                let back = *h.last().expect("the initial version");
                self.steps.records[k].back_to = Some(back);
                let statuses = self.statuses();
                if self.controller.undo(&statuses, now) {
                    self.rollout.rollback = Some(now);
                    self.rollout.end = None;
                    self.rollout_clock
                        .stop(now, crate::metrics::ClockStop::Rollback);
                    self.rollout.note(
                        now,
                        crate::metrics::EventKind::RollbackStarted,
                        crate::metrics::EventDetail::Text("undo"),
                    );
                    self.controller_sync(now);
                } else {
                    self.deploy(now, back);
                }
            }
        }
    }

    /// A rollout to `v` begins now; the rollout record and its clock start afresh.
    fn deploy(&mut self, now: SimTime, v: VersionId) {
        let r = &mut self.rollout;
        (r.end, r.stalled, r.rollback, r.abort, r.paused, r.promoted) =
            (None, None, None, None, None, None);
        r.start = Some(now);
        r.target = Some(v);
        // The course keeps every deployment's events, so the timeline shows them all.
        r.note(
            now,
            crate::metrics::EventKind::Start,
            crate::metrics::EventDetail::None,
        );
        // Like the record, the time breakdown describes the latest deployment.
        self.rollout_clock = crate::metrics::RolloutClock::default();
        self.rollout_clock.start(now);
        self.controller.start(v, now);
        self.controller_sync(now);
    }

    /// The controller reported `report`: it may end the deploy or undo step running.
    pub(super) fn step_report(&mut self, now: SimTime, report: Report) {
        let Some(k) = self.steps.current else { return };
        let outcome = match (&self.scenario.steps[k].kind, report) {
            (StepKind::Deploy(_) | StepKind::Undo, Report::Completed) => StepOutcome::Completed,
            (StepKind::Undo, Report::Aborted) => StepOutcome::Completed,
            (StepKind::Deploy(_), Report::Aborted | Report::RollbackStarted) => {
                StepOutcome::Aborted
            }
            _ => return,
        };
        self.step_finished(now, k, outcome);
    }

    /// DDL step `d` committed or timed out: it may end the migrate step running.
    pub(super) fn ddl_progress(&mut self, now: SimTime, d: u16) {
        let Some(k) = self.steps.current else { return };
        if self.scenario.steps[k].kind != StepKind::Migrate(d) {
            return;
        }
        let Some(db) = self.deps.database.as_ref() else {
            return;
        };
        let (o, spec) = (db.ddl_outcomes()[d as usize], &db.spec().ddl[d as usize]);
        if o.finished.is_some() {
            self.step_finished(now, k, StepOutcome::Completed);
        } else if o.acquired.is_none() && o.lock_timeouts > spec.retries {
            self.step_finished(now, k, StepOutcome::Failed);
        }
    }

    /// A batch of backfill `b` committed: its last one ends the backfill step running.
    pub(super) fn backfill_progress(&mut self, now: SimTime, b: u16) {
        let Some(k) = self.steps.current else { return };
        if self.scenario.steps[k].kind != StepKind::Backfill(b) {
            return;
        }
        let Some(db) = self.deps.database.as_ref() else {
            return;
        };
        if db.backfill_outcomes()[b as usize].finished.is_some() {
            self.step_finished(now, k, StepOutcome::Completed);
        }
    }

    fn step_finished(&mut self, now: SimTime, k: usize, outcome: StepOutcome) {
        if self.steps.current != Some(k) {
            return;
        }
        self.steps.current = None;
        let rec = &mut self.steps.records[k];
        rec.finished = Some(now);
        rec.outcome = outcome;
        if outcome != StepOutcome::Completed {
            return;
        }
        if let Some(next) = self.scenario.steps.get(k + 1) {
            let at = next.at.map_or(now, |a| a.max(now));
            let k = (k + 1) as u16;
            self.queue.schedule(at, Event::Step { k, done: false });
        }
    }

    /// `summary.json`'s `steps[]`.
    pub(super) fn steps_summary(&self) -> Vec<StepSummary> {
        let names = &self.scenario.versions;
        let db = self.deps.database.as_ref();
        self.scenario
            .steps
            .iter()
            .zip(&self.steps.records)
            .map(|(s, r)| StepSummary {
                kind: s.kind.as_str(),
                target: match s.kind {
                    StepKind::Deploy(v) => Some(names[v.index()].name.clone()),
                    StepKind::Undo => r.back_to.map(|v| names[v.index()].name.clone()),
                    StepKind::Migrate(d) => {
                        db.and_then(|db| db.spec().ddl[d as usize].name.clone())
                    }
                    StepKind::Backfill(b) => {
                        db.and_then(|db| db.spec().backfills[b as usize].name.clone())
                    }
                    StepKind::Wait(d) => Some(format!("{}s", d.as_secs_f64())),
                },
                requested_s: r.requested.map(|t| t.as_secs_f64()),
                finished_s: r.finished.map(|t| t.as_secs_f64()),
                outcome: r.outcome,
            })
            .collect()
    }
}
