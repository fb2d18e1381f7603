//! The teaching view: a controller's moves replayed as if every scheduled pod became ready and
//! available the instant it was created. Real rollouts take longer, but they take these same
//! steps in this order. Analyses are assumed to pass; pauses, analysis intervals, scale-down
//! delays, `promote_at` and `undo_at` advance the plan's clock, which is the run's simulated
//! clock (the rollout starts at the scenario's `rollout.at`), so plan and run agree on times.
//!
//! Two things the plan keeps from the real cluster because they change the course of a
//! rollout: node room (pods that do not fit stay Pending and are not ready, so a rollout that
//! stalls for lack of room stalls in the plan too), and terminating pods (a deleted pod keeps
//! its node slot and counts towards the peak for its preStop hook, the shortest time it can
//! take to exit).

use serde::Serialize;

use super::{Action, Controller, Report, RsStatus, View};
use crate::engine::{SimDuration, SimTime};
use crate::model::{RsId, VersionId};

/// What the plan needs to know besides the controller.
#[derive(Clone, Debug)]
pub struct PlanSetup {
    /// The version running before the rollout.
    pub from: VersionId,
    /// The version rolled out.
    pub to: VersionId,
    /// When the rollout starts (`rollout.at`, absolute simulated time).
    pub start: SimTime,
    /// `kubectl rollout undo` at this time (`rollout.undo_at`).
    pub undo_at: Option<SimTime>,
    /// When the run ends: the plan shows nothing later.
    pub end: Option<SimTime>,
    /// Pods the nodes can hold (`None`: unlimited).
    pub capacity: Option<u64>,
    /// How long a deleted pod of each version keeps terminating (its preStop hook).
    pub linger: Vec<SimDuration>,
    /// Version names by id.
    pub names: Vec<String>,
}

/// One ReplicaSet after a plan step.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PlanRs {
    /// Version name.
    pub version: String,
    /// Revision.
    pub revision: u64,
    /// `spec.replicas`.
    pub desired: u32,
    /// Pods that exist and are not terminating (Pending ones included).
    pub existing: u32,
    /// Pods ready.
    pub ready: u32,
    /// Pods Pending for lack of node room.
    pub pending: u32,
}

/// A version's share of the router's traffic.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlanWeight {
    /// Version name.
    pub version: String,
    /// Percent of traffic (weights are shown as shares, whatever scale the router uses).
    pub percent: f64,
}

/// One controller move.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlanStep {
    /// 1-based step number.
    pub step: u32,
    /// Simulated time of the move, in seconds (the run's clock).
    pub at_s: f64,
    /// What the controller did and why.
    pub why: String,
    /// Every ReplicaSet after the move.
    pub replica_sets: Vec<PlanRs>,
    /// Pods in all after the move (terminating ones not included).
    pub total_pods: u32,
    /// Pods still terminating after the move.
    pub terminating: u32,
    /// Router weights after the move (empty: split by endpoints).
    pub weights: Vec<PlanWeight>,
}

/// Something that happened without a move: a pause, a promote, a stall, the end.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PlanNote {
    /// Simulated time, in seconds.
    pub at_s: f64,
    /// What happened.
    pub note: String,
}

/// The replayed rollout.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Plan {
    /// The moves.
    pub steps: Vec<PlanStep>,
    /// Pauses, promotes, undo, stalls and how the plan ended.
    pub notes: Vec<PlanNote>,
    /// Most pods at once, terminating ones not included.
    pub peak_pods: u32,
    /// Most pods at once, terminating ones included.
    pub peak_pods_incl_terminating: u32,
}

struct Terminating {
    rs: usize,
    until: SimTime,
}

struct Replay<'a> {
    setup: &'a PlanSetup,
    rss: Vec<RsStatus>,
    pending: Vec<u32>,
    terminating: Vec<Terminating>,
}

impl Replay<'_> {
    fn running(&self) -> u64 {
        let ready: u64 = self.rss.iter().map(|r| u64::from(r.ready)).sum();
        ready + self.terminating.len() as u64
    }

    /// Schedules Pending pods into free node room, oldest ReplicaSet first.
    fn schedule(&mut self) {
        for i in 0..self.rss.len() {
            while self.pending[i] > 0 && self.setup.capacity.is_none_or(|c| self.running() < c) {
                self.pending[i] -= 1;
                let r = &mut self.rss[i];
                r.ready += 1;
                r.available += 1;
            }
        }
    }

    /// Drops pods whose preStop is over; they free their slot.
    fn expire(&mut self, now: SimTime) {
        let rss = &mut self.rss;
        self.terminating.retain(|t| {
            let gone = t.until <= now;
            if gone {
                rss[t.rs].terminating -= 1;
            }
            !gone
        });
        self.schedule();
    }

    fn scale(&mut self, i: usize, replicas: u32, now: SimTime) {
        let r = &mut self.rss[i];
        r.spec = replicas;
        if replicas > r.replicas {
            self.pending[i] += replicas - r.replicas;
            r.replicas = replicas;
        } else {
            // Unscheduled pods are deleted first (the ReplicaSet controller's ranking).
            let mut remove = r.replicas - replicas;
            let unscheduled = remove.min(self.pending[i]);
            self.pending[i] -= unscheduled;
            remove -= unscheduled;
            r.replicas = replicas;
            r.ready -= remove;
            r.available = r.ready;
            let linger = self.setup.linger[r.version.index()];
            if !linger.is_zero() {
                r.terminating += remove;
                for _ in 0..remove {
                    self.terminating.push(Terminating {
                        rs: i,
                        until: now + linger,
                    });
                }
            }
        }
        self.schedule();
    }

    fn next_expiry(&self) -> Option<SimTime> {
        self.terminating.iter().map(|t| t.until).min()
    }
}

fn secs(t: SimTime) -> f64 {
    (t.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Replays `controller` from a fleet of ready pods of `setup.from` to `setup.to`.
pub fn plan(controller: &mut dyn Controller, setup: &PlanSetup) -> Plan {
    let replicas = controller.replicas();
    let mut replay = Replay {
        setup,
        rss: vec![RsStatus {
            id: RsId(0),
            version: setup.from,
            revision: 1,
            spec: replicas,
            replicas,
            ready: 0,
            available: 0,
            terminating: 0,
        }],
        pending: vec![replicas],
        terminating: vec![],
    };
    replay.schedule();
    let mut now = setup.start;
    controller.start(setup.to, now);
    let monitor = crate::analysis::Monitor::dry_run();
    let mut out = Plan {
        steps: vec![],
        notes: vec![],
        peak_pods: replicas,
        peak_pods_incl_terminating: replicas,
    };
    let mut weights: Vec<PlanWeight> = controller
        .initial_weights()
        .map(|w| shares(&w, &setup.names))
        .unwrap_or_default();
    let mut undo_at = setup.undo_at;
    let mut paused = false;
    let mut completed = false;
    let mut idle = 0;
    let mut last_wait: Option<super::Why> = None;
    for _ in 0..10_000 {
        replay.expire(now);
        if undo_at.is_some_and(|u| u <= now) {
            undo_at = None;
            if controller.undo(&replay.rss, now) {
                note(
                    &mut out,
                    now,
                    "undo (`undo_at`): back to the previous revision".into(),
                );
            } else {
                note(&mut out, now, "undo (`undo_at`): nothing to undo".into());
            }
        }
        let d = controller.reconcile(&View {
            now,
            replica_sets: &replay.rss,
            monitor: &monitor,
        });
        for r in &d.reports {
            let text = match r {
                Report::Paused => {
                    paused = true;
                    "paused: waiting for a human (`promote_at`) or for analysis"
                }
                Report::Completed => {
                    completed = true;
                    if !d.why.is_empty() {
                        continue; // the controller's own sentence follows
                    }
                    "complete"
                }
                Report::Stalled => "progress deadline exceeded: the Deployment is stalled",
                Report::RollbackStarted => "rollback started",
                Report::Aborted => "aborted: traffic back to the stable version",
                Report::Promoted => "promoted: the new version takes all traffic",
                // Marks for a run's timeline; the plan's own notes already say these.
                Report::PauseStarted(_)
                | Report::PauseEnded
                | Report::AnalysisStarted(_)
                | Report::AnalysisDone(..) => continue,
            };
            note(&mut out, now, text.into());
        }
        if paused && !d.reports.contains(&Report::Paused) && !d.actions.is_empty() {
            paused = false;
            note(
                &mut out,
                now,
                "the pause ended: the rollout continues".into(),
            );
        }
        if !d.actions.is_empty() {
            idle = 0;
            for a in &d.actions {
                match *a {
                    Action::CreateReplicaSet {
                        version,
                        replicas,
                        revision,
                    } => {
                        replay.rss.push(RsStatus {
                            id: RsId(replay.rss.len() as u32),
                            version,
                            revision,
                            spec: 0,
                            replicas: 0,
                            ready: 0,
                            available: 0,
                            terminating: 0,
                        });
                        replay.pending.push(0);
                        replay.scale(replay.rss.len() - 1, replicas, now);
                    }
                    Action::Scale { rs, replicas } => replay.scale(rs.index(), replicas, now),
                    Action::SetRevision { rs, revision } => {
                        replay.rss[rs.index()].revision = revision
                    }
                    Action::SetWeights(ref w) => {
                        weights = w
                            .as_ref()
                            .map(|w| shares(w, &setup.names))
                            .unwrap_or_default()
                    }
                    Action::SmokeTest { .. } => {}
                }
            }
            let total: u32 = replay.rss.iter().map(|r| r.replicas).sum();
            let terminating = replay.terminating.len() as u32;
            out.peak_pods = out.peak_pods.max(total);
            out.peak_pods_incl_terminating =
                out.peak_pods_incl_terminating.max(total + terminating);
            out.steps.push(PlanStep {
                step: out.steps.len() as u32 + 1,
                at_s: secs(now),
                why: d.why.to_string(),
                total_pods: total,
                terminating,
                weights: weights.clone(),
                replica_sets: replay
                    .rss
                    .iter()
                    .zip(&replay.pending)
                    .map(|(r, p)| PlanRs {
                        version: setup.names[r.version.index()].clone(),
                        revision: r.revision,
                        desired: r.spec,
                        existing: r.replicas,
                        ready: r.ready,
                        pending: *p,
                    })
                    .collect(),
            });
            continue;
        }
        // Nothing to move now: say why once (a pause, a wait, a phase change), then follow the
        // controller's clock, the undo and pods leaving.
        if !d.why.is_empty() && last_wait != Some(d.why) {
            note(&mut out, now, d.why.to_string());
            last_wait = Some(d.why);
        }
        let requeue = d.requeue_at.filter(|t| *t > now);
        if d.requeue_at.is_some_and(|t| t <= now) && idle < 3 {
            idle += 1;
            continue;
        }
        idle = 0;
        let next = [requeue, undo_at, replay.next_expiry()]
            .into_iter()
            .flatten()
            .min();
        match (next, setup.end) {
            (Some(t), Some(end)) if t >= end => {
                if requeue.is_some() && !completed {
                    note(
                        &mut out,
                        end,
                        "the run ends here; the rollout has not finished".into(),
                    );
                }
                break;
            }
            (Some(t), _) => now = t,
            (None, _) => break,
        }
    }
    let pending: u32 = replay.pending.iter().sum();
    if pending > 0 {
        let room = setup.capacity.unwrap_or(0);
        note(
            &mut out,
            now,
            format!(
                "{pending} pods stay Pending: the nodes hold {room} pods; the rollout cannot \
                 go on until room is freed"
            ),
        );
    }
    if paused && !completed {
        note(
            &mut out,
            now,
            "still paused at the end: nothing promotes it (no later `promote_at`)".into(),
        );
    }
    out
}

fn note(out: &mut Plan, at: SimTime, text: String) {
    out.notes.push(PlanNote {
        at_s: secs(at),
        note: text,
    });
}

/// Weights as percent shares of their sum (a router's scale need not be 100).
fn shares(w: &[u32], names: &[String]) -> Vec<PlanWeight> {
    let total: u64 = w.iter().map(|w| u64::from(*w)).sum();
    w.iter()
        .enumerate()
        .filter(|(_, w)| **w > 0)
        .map(|(i, w)| PlanWeight {
            version: names[i].clone(),
            percent: (u64::from(*w) as f64 * 1000.0 / total as f64).round() / 10.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::rolling::RollingSpec;
    use crate::strategy::{IntOrPercent, Recreate, RollingUpdate};

    fn setup(capacity: Option<u64>, linger: u64) -> PlanSetup {
        PlanSetup {
            from: VersionId(0),
            to: VersionId(1),
            start: SimTime::ZERO + SimDuration::from_secs(60),
            undo_at: None,
            end: None,
            capacity,
            linger: vec![SimDuration::from_secs(linger); 2],
            names: vec!["v1".into(), "v2".into()],
        }
    }

    fn rolling(replicas: u32, surge: u32, unavailable: u32) -> RollingUpdate {
        RollingUpdate::new(
            RollingSpec {
                replicas,
                max_surge: IntOrPercent::Int(surge),
                max_unavailable: IntOrPercent::Int(unavailable),
                progress_deadline: None,
                rollback_on_stall: false,
                analysis: None,
            },
            VersionId(0),
        )
    }

    #[test]
    fn rolling_defaults_on_ten_replicas_take_five_moves() {
        let mut c = rolling(10, 3, 2);
        let p = plan(&mut c, &setup(None, 0));
        let shape: Vec<(u32, u32)> = p
            .steps
            .iter()
            .map(|s| (s.replica_sets[0].desired, s.replica_sets[1].desired))
            .collect();
        assert_eq!(shape, [(8, 3), (8, 5), (3, 5), (3, 10), (0, 10)]);
        assert!(p.steps.iter().all(|s| s.total_pods <= 13));
        // Times are the run's clock: the rollout starts at 60 s.
        assert!(p.steps.iter().all(|s| s.at_s == 60.0));
        assert_eq!(p.peak_pods, 13);
        assert_eq!(p.peak_pods_incl_terminating, 13);
    }

    #[test]
    fn terminating_pods_count_towards_the_peak_for_their_pre_stop() {
        let mut c = rolling(10, 3, 2);
        let p = plan(&mut c, &setup(None, 5));
        assert_eq!(p.peak_pods, 13);
        // All moves happen at once, so every deleted pod is still terminating: 10 old + 10 new.
        assert_eq!(p.peak_pods_incl_terminating, 20);
        assert_eq!(p.steps.last().unwrap().terminating, 10);
    }

    #[test]
    fn pods_without_node_room_stay_pending_and_the_plan_says_so() {
        // 12 slots, 12 replicas, surge only: the surge pods never schedule.
        let mut c = rolling(12, 3, 0);
        let p = plan(&mut c, &setup(Some(12), 5));
        let first = &p.steps[0].replica_sets[1];
        assert_eq!((first.desired, first.ready, first.pending), (3, 0, 3));
        assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
        assert!(p
            .notes
            .iter()
            .any(|n| n.note.contains("3 pods stay Pending")));
    }

    #[test]
    fn recreate_is_two_moves() {
        let mut c = Recreate::new(4, VersionId(0), None, false);
        let p = plan(&mut c, &setup(None, 0));
        assert_eq!(p.steps.len(), 2);
        assert_eq!(p.steps[0].total_pods, 0);
        assert_eq!(p.steps[1].total_pods, 4);
    }

    #[test]
    fn weights_are_shown_as_shares() {
        let w = shares(&[900, 100], &["v1".into(), "v2".into()]);
        assert_eq!(w[0].percent, 90.0);
        assert_eq!(w[1].percent, 10.0);
    }
}
