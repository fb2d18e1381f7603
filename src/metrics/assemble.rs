//! Assembling `summary.json` from what the recorder observed and the rollout's course. The
//! simulation hands over its facts; every derived number (detection and rollback times,
//! exposure, cost) is computed here, in one place.

use indexmap::IndexMap;

use super::recorder::Recorder;
use super::rollout::{EventDetail, RolloutRecord};
use super::summary::{
    CapacitySummary, EventSummary, ExposureSummary, FlagSummary, RolloutSummary, Summary,
    VersionSummary,
};
use crate::engine::SimTime;
use crate::scenario::Scenario;

/// What the simulation knows at the end of a run that the recorder does not.
pub struct RunFacts<'a> {
    /// The scenario that ran (seed override applied).
    pub scenario: &'a Scenario,
    /// The rollout's (and flag's) course.
    pub rollout: &'a RolloutRecord,
    /// Events the engine processed.
    pub events_processed: u64,
}

fn secs(t: Option<SimTime>) -> Option<f64> {
    t.map(SimTime::as_secs_f64)
}

fn span(start: Option<SimTime>, end: Option<SimTime>) -> Option<f64> {
    match (start, end) {
        (Some(s), Some(e)) => Some((e - s).as_secs_f64()),
        _ => None,
    }
}

/// Detection time (from the new variant's first answer to the abort) and rollback time (from
/// the abort to its last answer, 0 if it answered nothing after), when there was an abort.
fn detect_and_rollback(
    abort: Option<SimTime>,
    first: Option<SimTime>,
    last: Option<SimTime>,
) -> (Option<f64>, Option<f64>) {
    let detect = match (abort, first) {
        (Some(a), Some(f)) if f <= a => Some((a - f).as_secs_f64()),
        _ => None,
    };
    let rollback = abort.map(|a| match last {
        Some(l) if l > a => (l - a).as_secs_f64(),
        _ => 0.0,
    });
    (detect, rollback)
}

/// An event's detail in words, `None` when it has none.
fn detail_text(d: &EventDetail, scenario: &Scenario) -> Option<String> {
    match *d {
        EventDetail::None => None,
        EventDetail::Weight { version, percent } => Some(format!(
            "{} {percent}%",
            scenario
                .versions
                .get(version.index())
                .map_or("?", |v| v.name.as_str())
        )),
        EventDetail::Endpoints => Some("by endpoints".into()),
        EventDetail::Duration(d) => Some(format!("{}s", d.as_secs_f64())),
        EventDetail::Text(t) => Some(t.into()),
        EventDetail::FlagPercent(p) => Some(format!(
            "{} {p}%",
            scenario.flag.as_ref().map_or("flag", |f| f.key.as_str())
        )),
    }
}

/// The run's summary (the `summary.json` contract).
pub fn summarise(m: &Recorder, facts: &RunFacts<'_>) -> Summary {
    let scenario = facts.scenario;
    let r = facts.rollout;
    let mut versions = IndexMap::new();
    for (i, v) in scenario.versions.iter().enumerate() {
        let req = m.version_requests(i);
        versions.insert(
            v.name.clone(),
            VersionSummary {
                requests: m.version_total(i),
                arrivals: m.version_arrivals(i),
                ok: req.ok,
                failed: req.failed,
                failed_by_cause: req.failed_by_cause,
                latency_ms: m.version_latency(i),
                conversions: scenario
                    .versions
                    .iter()
                    .any(|v| v.conversion_rate.is_some())
                    .then(|| v.conversion_rate.map(|_| m.version_conversions(i))),
            },
        );
    }
    let (pod_seconds, peak, peak_all, min_ready) = m.capacity();
    let (both, users) = m.users();
    let new_slots: Vec<usize> = scenario.new_variants().iter().map(|v| v.index()).collect();
    let first_new = new_slots.iter().filter_map(|s| m.served_span(*s).0).min();
    let last_new = new_slots.iter().filter_map(|s| m.served_span(*s).1).max();
    let (detect_s, rollback_s) = detect_and_rollback(r.abort, first_new, last_new);
    let (mut bad_requests, mut bad_failed) = (0, 0);
    for (i, v) in scenario.versions.iter().enumerate() {
        if v.bad {
            bad_requests += m.version_total(i);
            bad_failed += m.version_requests(i).failed;
        }
    }
    let max_new_share = new_slots
        .iter()
        .map(|s| m.max_traffic_share(*s))
        .fold(0.0, f64::max);
    let flag = scenario.flag.as_ref().map(|f| {
        let fr = &r.flag;
        let (first, last) = m.served_span(f.variant.index());
        let (detect_s, rollback_s) = detect_and_rollback(fr.killed, first, last);
        FlagSummary {
            key: f.key.clone(),
            outcome: fr.outcome(),
            start_s: secs(fr.start),
            end_s: secs(fr.end),
            duration_s: span(fr.start, fr.end),
            killed_at_s: secs(fr.killed),
            detect_s,
            rollback_s,
            mixed_version_s: m.flag_mixed_s(),
            users_exposed: m.users_handled_by(&[f.variant.index()]),
        }
    });
    Summary {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        strategy: scenario.strategy_name(),
        events_processed: facts.events_processed,
        duration_s: scenario.traffic.end.as_secs_f64(),
        requests: m.request_summary(),
        latency_ms: m.latency(),
        versions,
        rollout: RolloutSummary {
            outcome: r.outcome(),
            start_s: secs(r.start),
            end_s: secs(r.end),
            duration_s: span(r.start, r.end),
            stalled_at_s: secs(r.stalled),
            rollback_at_s: secs(r.rollback.or(r.abort)),
            detect_s,
            rollback_s,
            time_breakdown_s: None,
            events: r
                .events
                .iter()
                .map(|e| EventSummary {
                    t_s: e.at.as_secs_f64(),
                    kind: e.kind.as_str(),
                    detail: detail_text(&e.detail, scenario),
                })
                .collect(),
        },
        exposure: ExposureSummary {
            mixed_version_s: m.mixed_version_s(),
            users_both_versions: both,
            users_total: users,
            users_exposed: m.users_handled_by(&new_slots),
            users_flapped: m.users_flapped(),
            bad_requests,
            bad_failed,
            max_new_traffic_share: max_new_share,
        },
        flag,
        // Filled in by the simulation, which owns the session store.
        sessions: None,
        connections: None,
        capacity: CapacitySummary {
            peak_pods: peak,
            peak_pods_incl_terminating: peak_all,
            min_ready_pods: min_ready,
            pod_seconds,
            cost: (pod_seconds / 3600.0 * scenario.cluster.cost_per_pod_hour * 1e6).round() / 1e6,
        },
        database: None,
        steps: Vec::new(),
        load_balancer: scenario.load_balancer.preset.clone(),
        warnings: scenario.warnings.iter().map(|w| w.to_string()).collect(),
    }
}
