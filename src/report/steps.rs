//! "ReplicaSets and weights at each step": the table the Argo Rollouts dashboard shows for the
//! present moment (each ReplicaSet's pods and ready pods, the canary weight), written for
//! every moment the rollout's course changed — one row per event of `rollout.events`, plus the
//! state before the rollout and at the end of the traffic.
//!
//! Counts come from the run's time series: the pods (not terminating) and ready pods of each
//! version at the end of the bucket holding the event — what `kubectl get rs` would show a
//! bucket later (the table says so) — and each version's observed share of that bucket's
//! requests. The published weight is the last `weight` event's, carried forward (the router
//! learns it after the propagation delay, which the observed share shows). Read from results
//! only.

use std::fmt::Write;

use super::html::escape;
use super::plots::{version_colour, RunSeries};

/// The bucket holding time `t_s` (clamped to the series).
fn bucket_at(series: &RunSeries, t_s: f64) -> Option<usize> {
    let n = series.buckets();
    if n == 0 || series.bucket_s <= 0.0 {
        return None;
    }
    let b = (t_s / series.bucket_s).floor().max(0.0) as usize;
    Some(b.min(n - 1))
}

/// An event's kind as a reader says it.
fn event_words(kind: &str) -> String {
    kind.replace('_', " ")
}

fn state_cells(out: &mut String, series: &RunSeries, b: Option<usize>) {
    for v in 0..series.versions.len() {
        match b {
            Some(b) => {
                let share = series.at(&series.traffic, b, v);
                let _ = write!(
                    out,
                    "<td>{} / {}</td><td>{:.0} %</td>",
                    series.at(&series.pods, b, v),
                    series.at(&series.ready, b, v),
                    100.0 * f64::from(share)
                );
            }
            None => out.push_str("<td>no data</td><td>no data</td>"),
        }
    }
}

/// The section: a table with a row per event; empty when the run had no rollout events.
pub fn steps_section(series: &RunSeries) -> String {
    let mut out = String::new();
    if series.events.is_empty() {
        return out;
    }
    out.push_str("<h2>ReplicaSets and weights at each step</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"sub\">At each event of the rollout: every version's pods / ready pods and its \
         share of the requests, at the end of the {} s bucket holding the event; the weight the \
         controller last published.</p>",
        super::plots::fmt_s(&series.bucket_s)
    );
    out.push_str(
        "<table class=\"steps\"><tr><th rowspan=\"2\">time (s)</th><th rowspan=\"2\">event</th>",
    );
    for (v, name) in series.versions.iter().enumerate() {
        let _ = write!(
            out,
            "<th colspan=\"2\"><span style=\"color:{}\">■</span> {}</th>",
            super::plots::svg_colour(version_colour(v)),
            escape(name)
        );
    }
    out.push_str("<th rowspan=\"2\">published weight</th></tr><tr>");
    for _ in &series.versions {
        out.push_str("<th>pods / ready</th><th>traffic</th>");
    }
    out.push_str("</tr>\n");
    let mut weight: Option<&str> = None;
    let row = |out: &mut String, t_s: f64, what: String, weight: Option<&str>| {
        let _ = write!(out, "<tr><td>{t_s:.1}</td><td>{what}</td>");
        // The end of traffic shows the last bucket of traffic, not the drain after it.
        let state_t = if t_s >= series.duration_s {
            series.duration_s - series.bucket_s / 2.0
        } else {
            t_s
        };
        state_cells(out, series, bucket_at(series, state_t));
        let _ = writeln!(
            out,
            "<td>{}</td></tr>",
            weight.map_or_else(|| "—".to_owned(), escape)
        );
    };
    let first = series.events[0].t_s;
    if first > 0.0 {
        row(&mut out, 0.0, "before the rollout".into(), None);
    }
    for e in &series.events {
        if e.kind == "weight" {
            weight = e.detail.as_deref();
        }
        let what = match &e.detail {
            Some(d) => format!(
                "{} <span class=\"sub\">{}</span>",
                event_words(e.kind),
                escape(d)
            ),
            None => event_words(e.kind),
        };
        row(&mut out, e.t_s, what, weight);
    }
    row(&mut out, series.duration_s, "end of traffic".into(), weight);
    out.push_str("</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::plots::SeriesEvent;
    use super::*;

    fn series() -> RunSeries {
        RunSeries {
            versions: vec!["v1".into(), "<v2>".into()],
            bucket_s: 10.0,
            duration_s: 30.0,
            pods: vec![4, 0, 4, 1, 0, 4],
            ready: vec![4, 0, 4, 0, 0, 4],
            traffic: vec![1.0, 0.0, 0.9, 0.1, 0.0, 1.0],
            events: vec![
                SeriesEvent {
                    t_s: 12.0,
                    kind: "weight",
                    detail: Some("<v2> 10%".into()),
                },
                SeriesEvent {
                    t_s: 25.0,
                    kind: "completed",
                    detail: None,
                },
            ],
        }
    }

    #[test]
    fn each_event_gets_the_counts_of_its_bucket_and_the_weight_carried_forward() {
        let html = steps_section(&series());
        let rows: Vec<&str> = html.lines().filter(|l| l.starts_with("<tr><td>")).collect();
        assert_eq!(rows.len(), 4, "{html}");
        assert!(
            rows[0].contains("before the rollout")
                && rows[0].contains("<td>4 / 4</td><td>100 %</td><td>0 / 0</td>")
        );
        assert!(
            rows[1].starts_with("<tr><td>12.0</td><td>weight"),
            "{}",
            rows[1]
        );
        assert!(
            rows[1].contains("<td>1 / 0</td><td>10 %</td>"),
            "{}",
            rows[1]
        );
        assert!(rows[2].contains("completed") && rows[2].ends_with("<td>&lt;v2&gt; 10%</td></tr>"));
        assert!(
            rows[3].starts_with("<tr><td>30.0</td><td>end of traffic")
                && rows[3].contains("<td>0 / 0</td><td>0 %</td><td>4 / 4</td><td>100 %</td>"),
            "{}",
            rows[3]
        );
        assert!(!html.contains("<v2>"), "version names are escaped");
    }

    #[test]
    fn a_run_without_events_has_no_table() {
        let mut s = series();
        s.events.clear();
        assert_eq!(steps_section(&s), "");
    }
}
