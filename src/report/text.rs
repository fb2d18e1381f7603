//! The readable summary printed by `rollsim run`.

use std::fmt::Write;

use crate::metrics::Summary;

pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.3}%", part as f64 * 100.0 / whole as f64)
    }
}

fn secs(s: Option<f64>) -> String {
    s.map_or("—".into(), |s| format!("{s:.1} s"))
}

/// A latency in ms with one decimal, or "—" when it is missing (nothing succeeded).
fn ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.1}"))
}

/// The run summary for people.
pub fn summary_text(s: &Summary) -> String {
    let mut o = String::new();
    let r = &s.requests;
    let _ = writeln!(
        o,
        "{}: strategy {}, load balancer {}, seed {}, {} s simulated, {} events",
        s.scenario,
        s.strategy,
        s.load_balancer,
        s.seed,
        s.duration_s,
        thousands(s.events_processed)
    );
    let _ = writeln!(
        o,
        "requests   {} total, {} ok, {} failed ({}), {} retried by the balancer",
        thousands(r.total),
        thousands(r.ok),
        thousands(r.failed),
        pct(r.failed, r.total),
        thousands(r.retries)
    );
    let causes: Vec<String> = r
        .failed_by_cause
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{c} {}", thousands(*n)))
        .collect();
    if !causes.is_empty() {
        let _ = writeln!(o, "  failed by cause: {}", causes.join(", "));
    }
    let l = &s.latency_ms;
    if l.mean.is_none() {
        let _ = writeln!(o, "latency    — (no successful response)");
    } else {
        let _ = writeln!(
            o,
            "latency    mean {} ms, p50 {}, p90 {}, p99 {}, p99.9 {}, max {} (successful responses)",
            ms(l.mean),
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max)
        );
    }
    let ro = &s.rollout;
    let mut line = format!(
        "rollout    {}: start {}, end {}, duration {}",
        ro.outcome,
        secs(ro.start_s),
        secs(ro.end_s),
        secs(ro.duration_s)
    );
    if let Some(t) = ro.stalled_at_s {
        let _ = write!(line, ", stalled at {t:.1} s");
    }
    if let Some(t) = ro.rollback_at_s {
        let _ = write!(line, ", rollback from {t:.1} s");
    }
    let _ = writeln!(o, "{line}");
    if let Some(t) = &ro.time_breakdown_s {
        let _ = writeln!(o, "time went  {}", time_breakdown(t));
    }
    if let (Some(detect), Some(rollback)) = (ro.detect_s, ro.rollback_s) {
        let _ = writeln!(
            o,
            "rollback   detected {detect:.1} s after the new version first answered; its last answer came {rollback:.1} s after the abort"
        );
    }
    let e = &s.exposure;
    let _ = writeln!(
        o,
        "exposure   {:.1} s with two versions serving; {} of {} users met both in that time, {} met the new version ({} flapped); new version's peak share {:.0}%",
        e.mixed_version_s,
        thousands(e.users_both_versions),
        thousands(e.users_total),
        thousands(e.users_exposed),
        thousands(e.users_flapped),
        e.max_new_traffic_share * 100.0
    );
    if let Some(f) = &s.flag {
        let mut line = format!(
            "flag       {} {}: start {}, end {} (every SDK at 100%), duration {}, {:.1} s with the path on for some users only, {} users exposed",
            f.key,
            f.outcome,
            secs(f.start_s),
            secs(f.end_s),
            secs(f.duration_s),
            f.mixed_version_s,
            thousands(f.users_exposed)
        );
        if let Some(t) = f.killed_at_s {
            let _ = write!(line, ", killed at {t:.1} s");
        }
        let _ = writeln!(o, "{line}");
    }
    if let Some(ss) = &s.sessions {
        let _ = writeln!(
            o,
            "sessions   {} store: {} requests found no session, {} users logged out",
            ss.store,
            thousands(ss.lost),
            thousands(ss.users_logged_out)
        );
    }
    if let Some(d) = &s.database {
        let _ = writeln!(
            o,
            "database   {} queries ({} writes); {} connections at peak of {} usable (max_connections {}, pool {}), {} refused; {} pool waits and {} statements timed out",
            thousands(d.queries),
            thousands(d.writes),
            d.peak_connections,
            d.usable_connections,
            d.max_connections,
            d.pool_size,
            thousands(d.connection_errors),
            thousands(d.pool_timeouts),
            thousands(d.statement_timeouts)
        );
        if d.blocked_queries > 0 {
            let _ = writeln!(
                o,
                "locks      {} queries waited for a table lock, {:.1} s in all, longest {:.1} s",
                thousands(d.blocked_queries),
                d.lock_wait_s,
                d.max_lock_wait_s
            );
        }
        for step in &d.ddl {
            let _ = writeln!(
                o,
                "migration  {} on {}: requested {}, waited {} for its lock, held it {} ({} attempt{}, {} lock timeout{})",
                step.kind,
                step.table,
                secs(step.requested_s),
                between(step.requested_s, step.lock_acquired_s),
                between(step.lock_acquired_s, step.finished_s),
                step.attempts,
                if step.attempts == 1 { "" } else { "s" },
                step.lock_timeouts,
                if step.lock_timeouts == 1 { "" } else { "s" }
            );
        }
        for b in &d.backfills {
            let _ = writeln!(
                o,
                "backfill   {}: {} of {} rows in {} batches of {}, {} → {}",
                b.table,
                thousands(b.rows_done),
                thousands(b.rows),
                thousands(b.batches),
                thousands(b.batch_size),
                secs(b.started_s),
                secs(b.finished_s)
            );
        }
    }
    if let Some(n) = s.database.as_ref().and_then(|d| d.schema_errors) {
        let _ = writeln!(o, "schema     {} queries failed schema_error", thousands(n));
    }
    for (i, st) in s.steps.iter().enumerate() {
        let _ = writeln!(
            o,
            "{:<10} {} {} {}: {} → {}, {}",
            if i == 0 { "steps" } else { "" },
            i + 1,
            st.kind,
            st.target.as_deref().unwrap_or("—"),
            secs(st.requested_s),
            secs(st.finished_s),
            st.outcome.as_str()
        );
    }
    if let Some(c) = &s.connections {
        let _ = writeln!(
            o,
            "connections {} cut, {} reconnects ({} failed), peak {}/s, {} of {} open at the end",
            thousands(c.cut),
            thousands(c.reconnects),
            thousands(c.failed_handshakes),
            thousands(c.peak_reconnect_rate),
            thousands(u64::from(c.open_at_end)),
            thousands(u64::from(c.held_at_start))
        );
    }
    if e.bad_requests > 0 {
        let _ = writeln!(
            o,
            "bad        {} requests handled by a bad release, {} of them failed",
            thousands(e.bad_requests),
            thousands(e.bad_failed)
        );
    }
    let c = &s.capacity;
    let _ = writeln!(
        o,
        "capacity   peak {} pods ({} with terminating), min {} ready, {:.0} pod-seconds, cost {:.4}",
        c.peak_pods, c.peak_pods_incl_terminating, c.min_ready_pods, c.pod_seconds, c.cost
    );
    for (name, v) in &s.versions {
        if v.requests == 0 {
            continue;
        }
        let _ = writeln!(
            o,
            "  {name:<8} {} requests, {} failed ({}), p99 {} ms",
            thousands(v.requests),
            thousands(v.failed),
            pct(v.failed, v.requests),
            ms(v.latency_ms.p99)
        );
    }
    o
}

/// "163.7 s to completed: waiting for pods 43.7 (start-up 31.2, readiness 12.5), pause 90.0,
/// scale-down delay 30.0" — the parts that are not zero, in the summary's order.
fn time_breakdown(t: &crate::metrics::TimeBreakdown) -> String {
    let mut line = format!("{:.1} s to {}", t.total, t.until.replace('_', " "));
    let pods: Vec<String> = [
        ("scheduling", t.scheduling),
        ("start-up", t.starting),
        ("readiness", t.readiness),
        ("termination", t.terminating),
    ]
    .iter()
    .filter(|(_, v)| *v > 0.0)
    .map(|(k, v)| format!("{k} {v:.1}"))
    .collect();
    let mut parts = Vec::new();
    if !pods.is_empty() {
        parts.push(format!(
            "waiting for pods {:.1} ({})",
            t.waiting_for_pods,
            pods.join(", ")
        ));
    }
    for (k, v) in [
        ("pauses", t.pause),
        ("analysis", t.analysis),
        ("scale-down delay", t.scale_down_delay),
        ("controller ticks", t.controller),
        ("other", t.other),
    ] {
        if v > 0.0 {
            parts.push(format!("{k} {v:.1}"));
        }
    }
    if !parts.is_empty() {
        line.push_str(": ");
        line.push_str(&parts.join(", "));
    }
    line
}

/// The time from `a` to `b` in a unit that shows it ("8 ms", "2.0 s"); "—" when either is
/// missing (a step that never got its lock).
fn between(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b - a < 1.0 => format!("{:.0} ms", (b - a) * 1000.0),
        (Some(a), Some(b)) => format!("{:.1} s", b - a),
        _ => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
