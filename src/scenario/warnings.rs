//! Pre-flight warnings: settings that are valid but will not do what the author most likely
//! expects. They are printed by `run`, `validate` and `plan` and kept in `summary.json`
//! (`warnings`), so a result can be read knowing what it rests on.
//!
//! Each rule compares settings the way the real system would act on them: the pods a
//! strategy needs at its peak against the nodes' room (the extra pods stay `Pending`); a
//! preStop hook against `terminationGracePeriodSeconds` (the kubelet sends SIGTERM when the
//! grace period ends, with a one-off 2 s extension, then SIGKILL); the mean service time
//! against the client's timeout; the progress deadline against one pod's way to available
//! (the Deployment controller reports `ProgressDeadlineExceeded` when no pod becomes available
//! within it). The peak pods and whether the deadline is enforced are the strategy's to say
//! (`StrategyConfig`); rules about one strategy's own settings (Flagger's silent corrections, a
//! basic canary's inexpressible weights) are found by its resolution (`RolloutInput::warn`)
//! and listed last.

use std::fmt;

use super::diagnostic::Locator;
use super::raw::{RawDuration, RawScenario};
use super::Scenario;
use crate::engine::SimDuration;
use crate::strategy::PeakPods;

/// A warning about a valid scenario, with the place of the setting it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line of the setting (0 when it has no place in the file, e.g. a default).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What will happen, and what to change.
    pub message: String,
}

impl Warning {
    /// `file:line:column: message`, as printed on stderr.
    pub fn located(&self, file: &str) -> String {
        match self.line {
            0 => format!("{file}: {}", self.message),
            l => format!("{file}:{l}:{}: {}", self.column, self.message),
        }
    }
}

/// `line L: message` (the form kept in `summary.json`, which must not depend on the path the
/// scenario was given by).
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => f.write_str(&self.message),
            l => write!(f, "line {l}: {}", self.message),
        }
    }
}

struct Found<'l, 'a> {
    loc: &'l Locator<'a>,
    list: Vec<Warning>,
}

impl Found<'_, '_> {
    fn add(&mut self, path: &[&str], message: String) {
        let p: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        let d = self.loc.at_path(&p, String::new(), None);
        let w = Warning {
            line: d.line,
            column: d.column,
            message,
        };
        if !self.list.contains(&w) {
            self.list.push(w);
        }
    }
}

/// Seconds as written, for settings the resolver silently corrects.
pub(super) fn written_secs(raw: &RawDuration) -> Option<f64> {
    match raw {
        RawDuration::Secs(s) => Some(*s),
        RawDuration::Text(t) => humantime::parse_duration(t.trim())
            .ok()
            .map(|d| d.as_secs_f64()),
    }
}

fn secs(d: SimDuration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{} s", (s * 100.0).round() / 100.0)
    } else {
        format!("{} ms", (s * 1e5).round() / 100.0)
    }
}

/// Every warning for a scenario that resolved without errors.
pub(super) fn warnings(loc: &Locator<'_>, raw: &RawScenario, s: &Scenario) -> Vec<Warning> {
    let mut w = Found {
        loc,
        list: Vec::new(),
    };
    let peak = node_room(&mut w, s);
    requests_unchecked(&mut w, raw, s);
    database_slots(&mut w, s, peak);
    pods(&mut w, raw, s);
    if s.metrics_bucket > s.traffic.end - crate::engine::SimTime::ZERO {
        w.add(
            &["bucket"],
            format!(
                "the time-series bucket ({}) is longer than the run ({}): the CSV will have a single row per version",
                secs(s.metrics_bucket),
                secs(s.traffic.end - crate::engine::SimTime::ZERO)
            ),
        );
    }
    progress_deadline(&mut w, s);
    sessions(&mut w, s);
    conversions(&mut w, s);
    // A strategy's own rules, found by its resolution (`RolloutInput::warn`).
    for (path, message) in s.rollout.iter().flat_map(|r| &r.strategy_warnings) {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        w.add(&path, message.clone());
    }
    w.list
}

/// A conversion fault on a version without `conversion_rate` (it multiplies nothing), and a
/// conversion metric on a version that declares no `conversion_rate`: the monitor has no
/// conversion data for it, every measurement is an Error, and after `consecutive_error_limit`
/// of them the analysis fails — a rollout aborted for want of data.
fn conversions(w: &mut Found<'_, '_>, s: &Scenario) {
    use crate::analysis::{MetricKind, Series};
    for v in s.versions.iter().filter(|v| v.conversion_rate.is_none()) {
        if v.faults
            .iter()
            .any(|f| matches!(f.kind, crate::model::FaultKind::Conversion(_)))
        {
            w.add(
                &["versions", &v.name],
                format!(
                    "version {} has a conversion fault but no conversion_rate: the fault changes nothing; add conversion_rate = … to [versions.{}]",
                    v.name, v.name
                ),
            );
        }
    }
    let judged = crate::power::twins::metrics(s).iter().any(|m| {
        matches!(
            m.kind,
            MetricKind::ConversionRate
                | MetricKind::Judge {
                    series: Series::ConversionRate,
                    ..
                }
        )
    });
    if !judged {
        return;
    }
    for v in s.new_variants() {
        let spec = &s.versions[v.index()];
        if spec.conversion_rate.is_none() {
            w.add(
                &["versions", &spec.name],
                format!(
                    "an analysis judges the conversion rate, but version {} declares no conversion_rate: its measurements have no data and the analysis will fail after consecutive errors; add conversion_rate = … to [versions.{}]",
                    spec.name, spec.name
                ),
            );
        }
    }
}

/// In-memory sessions behind a balancer without affinity: a session is only on the pod that
/// created it, so with `n` pods a returning user's request finds it with chance 1/n
/// (`model::session`).
fn sessions(w: &mut Found<'_, '_>, s: &Scenario) {
    let Some(spec) = &s.sessions else {
        return;
    };
    let n = s.deployment.replicas;
    if matches!(spec.store, crate::model::SessionStore::InMemory) && !spec.sticky && n > 1 {
        w.add(
            &["sessions", "store"],
            format!(
                "in-memory sessions without affinity on {n} replicas: about {:.0} % of a returning user's requests reach a pod that does not hold their session; set sticky = true, or store = \"shared\"",
                100.0 * f64::from(n - 1) / f64::from(n)
            ),
        );
    }
}

/// `[pod] requests` that no node capacity is given for: the scheduler would check them
/// (`NodeResourcesFit`), the scenario cannot, so `pods_per_node` decides instead.
fn requests_unchecked(w: &mut Found<'_, '_>, raw: &RawScenario, s: &Scenario) {
    let Some(req) = &raw.pod.requests else {
        return;
    };
    let nonzero = |q: &Option<super::quantity::RawQuantity>| {
        q.as_ref()
            .and_then(|q| super::quantity::parse(&q.0).ok())
            .and_then(|v| v.milli())
            .is_some_and(|v| v > 0)
    };
    let c = &raw.cluster;
    let unchecked: Vec<(&str, &str)> = [
        (
            "cpu",
            nonzero(&req.cpu) && c.node_cpu.is_none(),
            "node_cpu = 4 (cores, or \"3500m\")",
        ),
        (
            "memory",
            nonzero(&req.memory) && c.node_memory.is_none(),
            "node_memory = \"16Gi\"",
        ),
    ]
    .into_iter()
    .filter(|(_, unchecked, _)| *unchecked)
    .map(|(res, _, how)| (res, how))
    .collect();
    if unchecked.is_empty() {
        return;
    }
    let described = c.node_cpu.is_some() || c.node_memory.is_some() || c.max_pods.is_some();
    let names: Vec<&str> = unchecked.iter().map(|(r, _)| *r).collect();
    let how: Vec<&str> = unchecked.iter().map(|(_, h)| *h).collect();
    let what = if described {
        format!(
            "so {} pods fit on a node by the other settings",
            s.cluster.pods_per_node
        )
    } else {
        format!(
            "so [cluster] pods_per_node ({}) decides how many pods fit on a node",
            s.cluster.pods_per_node
        )
    };
    w.add(
        &["pod", "requests", names[0]],
        format!(
            "the pod's {} {} not checked against the nodes ({what}); to fit pods by their requests as the scheduler does, give a node's allocatable in [cluster]: {}",
            names.join(" and "),
            if names.len() > 1 { "requests are" } else { "request is" },
            how.join(", ")
        ),
    );
}

/// Peak pods of the strategy against `nodes × pods_per_node`. Returns the peak and how it
/// arises.
fn node_room(w: &mut Found<'_, '_>, s: &Scenario) -> (u64, String) {
    let room = s.cluster.capacity();
    let r = s.deployment.replicas;
    let PeakPods {
        pods: peak,
        why,
        at,
    } = s
        .rollout
        .as_ref()
        .map_or_else(|| PeakPods::replicas(r), |x| x.strategy.peak_pods(r));
    if peak > room {
        w.add(
            at,
            format!(
                "the rollout needs up to {peak} pods ({why}) but the cluster has room for {room} ({} nodes × {} pods): the pods beyond it stay Pending and the rollout may stall",
                s.cluster.nodes, s.cluster.pods_per_node
            ),
        );
    }
    (peak, why)
}

/// The peak fleet's fixed-size pools against PostgreSQL's ordinary connection slots
/// (`../shared/reference/state.md` §2.3): `(replicas + surge) × pool ≤ max_connections −
/// superuser_reserved_connections`, before counting terminating pods.
fn database_slots(w: &mut Found<'_, '_>, s: &Scenario, (peak, why): (u64, String)) {
    let Some(db) = &s.database else {
        return;
    };
    let want = peak * u64::from(db.pool_size);
    let usable = u64::from(db.usable());
    if want > usable {
        let then = match db.on_exhausted {
            crate::model::OnExhausted::FailReadiness => "never turn Ready",
            crate::model::OnExhausted::FailRequests => {
                "fail their requests with db_connections_exhausted"
            }
        };
        w.add(
            &["database", "pool_size"],
            format!(
                "up to {peak} pods ({why}) × pool_size {} = {want} connections, but PostgreSQL allows {usable} (max_connections {} − superuser_reserved_connections {}): {} are refused, and pods left without any {then}; size pools so the peak fleet fits (pool_size ≤ {})",
                db.pool_size,
                db.max_connections,
                db.superuser_reserved,
                want - usable,
                usable / peak.max(1)
            ),
        );
    }
}

/// Per version: preStop against the grace period, service time against the client timeout.
fn pods(w: &mut Found<'_, '_>, raw: &RawScenario, s: &Scenario) {
    for v in &s.versions {
        let own = raw.versions.get(&v.name).and_then(|rv| rv.pod.as_ref());
        let p = &v.pod;
        if !p.pre_stop.is_zero() && p.pre_stop >= p.grace {
            let path: Vec<&str> = match own {
                Some(o) if o.pre_stop.is_some() => vec!["versions", &v.name, "pod", "pre_stop"],
                Some(o) if o.termination_grace.is_some() => {
                    vec!["versions", &v.name, "pod", "termination_grace"]
                }
                _ => vec!["pod", "pre_stop"],
            };
            w.add(
                &path,
                format!(
                    "preStop ({}) is not shorter than the termination grace period ({}): the kubelet sends SIGTERM at the end of the grace period (plus a one-off 2 s), then SIGKILL, so requests still in flight are cut; make termination_grace longer than pre_stop plus the longest request",
                    secs(p.pre_stop),
                    secs(p.grace)
                ),
            );
        }
        if let Some(timeout) = s.traffic.timeout {
            let mean = v.service.mean_s();
            if mean > timeout.as_secs_f64() {
                w.add(
                    &["versions", &v.name, "service"],
                    format!(
                        "the mean service time of {} ({}) is above the client timeout ({}): most of its requests will time out",
                        v.name,
                        secs(SimDuration::from_secs_f64(mean)),
                        secs(timeout)
                    ),
                );
            }
        }
    }
}

/// One new pod's way to available (mean start-up, app init, readiness, minReadySeconds)
/// against `progressDeadlineSeconds`, for the Deployment strategies that enforce it.
fn progress_deadline(w: &mut Found<'_, '_>, s: &Scenario) {
    let Some(r) = &s.rollout else { return };
    if !r.strategy.enforces_progress_deadline() {
        return;
    }
    let Some(deadline) = s.deployment.progress_deadline else {
        return;
    };
    let p = &s.versions[r.target.index()].pod;
    let readiness = p.readiness.as_ref().map_or(0.0, |probe| {
        probe.initial_delay.as_secs_f64()
            + f64::from(probe.success_threshold.saturating_sub(1)) * probe.period.as_secs_f64()
    });
    let needed =
        p.startup.mean_s() + p.app_init.mean_s() + readiness + s.deployment.min_ready.as_secs_f64();
    if needed > deadline.as_secs_f64() {
        w.add(
            &["deployment", "progress_deadline"],
            format!(
                "the progress deadline ({}) is shorter than a new pod's way to available (about {}: start-up + app init + readiness + min_ready): the rollout will be reported as stalled (ProgressDeadlineExceeded)",
                secs(deadline),
                secs(SimDuration::from_secs_f64(needed))
            ),
        );
    }
}
