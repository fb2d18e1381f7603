//! The charts of one run: the rollout timeline, traffic shares, failures by cause, latency,
//! and the database's connections and lock waits when the run had a database.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{gapped_line, legend, mark_events, stacked, Band, Stack};
use super::{
    cause_colour, err, fmt_num, fmt_s, font, render, version_colour, Drawn, PlotError, RunSeries,
    SIZE,
};
use crate::model::FailCause;
use crate::sim::RunOutput;

/// Every file a run's plots may write (the database's only with a `[database]`, the
/// connections' only with `[connections]`).
pub const PLOT_FILES: [&str; 12] = [
    "timeline.svg",
    "timeline.png",
    "traffic.svg",
    "traffic.png",
    "failures.svg",
    "failures.png",
    "latency.svg",
    "latency.png",
    "database.svg",
    "database.png",
    "connections.svg",
    "connections.png",
];

/// The plots of `run` as (file name, contents), SVG and PNG of each chart.
pub fn plot_files(run: &RunOutput) -> Result<Vec<(&'static str, Vec<u8>)>, PlotError> {
    let series = RunSeries::from_run(run);
    let title = &run.summary.scenario;
    let mut out = Vec::new();
    let mut add = |names: [&'static str; 2], (svg, png): (String, Vec<u8>)| {
        out.push((names[0], svg.into_bytes()));
        out.push((names[1], png));
    };
    add(
        ["timeline.svg", "timeline.png"],
        render!(SIZE, timeline, &series, title),
    );
    add(
        ["traffic.svg", "traffic.png"],
        render!(SIZE, traffic, run, &series, title),
    );
    add(
        ["failures.svg", "failures.png"],
        render!(SIZE, failures, run, &series, title),
    );
    add(
        ["latency.svg", "latency.png"],
        render!(SIZE, latency, run, &series, title),
    );
    if !run.db_connections.is_empty() {
        add(
            ["database.svg", "database.png"],
            render!(SIZE, database, run, &series, title),
        );
    }
    if run.summary.connections.is_some() {
        add(
            ["connections.svg", "connections.png"],
            render!(SIZE, connections, run, &series, title),
        );
    }
    Ok(out)
}

/// One band per version from a bucket-major column of `series`.
fn version_bands(series: &RunSeries, column: &[u32]) -> Vec<Band> {
    (0..series.versions.len())
        .map(|v| Band {
            label: series.versions[v].clone(),
            colour: version_colour(v),
            values: (0..series.buckets())
                .map(|b| Some(f64::from(series.at(column, b, v))))
                .collect(),
        })
        .collect()
}

/// Pods (upper panel) and Ready pods (lower panel) per version, stacked, with the rollout's
/// events marked: what `kubectl get rs -w` would have shown, over time.
pub(crate) fn timeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &RunSeries,
    title: &str,
) -> Drawn {
    let (upper, lower) = root.split_vertically(SIZE.1 / 2 + 10);
    let pods_title = format!("{title}: pods per version (not terminating)");
    stacked(
        &upper,
        &Stack {
            title: &pods_title,
            y_desc: "pods",
            x_end: series.end_s(),
            bucket_s: series.bucket_s,
            bands: version_bands(series, &series.pods),
            y_top: None,
            label_cap: None,
            events: &series.events,
            event_labels: true,
            x_desc: false,
        },
    )?;
    stacked(
        &lower,
        &Stack {
            title: "Ready pods per version (serving)",
            y_desc: "ready pods",
            x_end: series.end_s(),
            bucket_s: series.bucket_s,
            bands: version_bands(series, &series.ready),
            y_top: None,
            label_cap: None,
            events: &series.events,
            event_labels: false,
            x_desc: true,
        },
    )
}

/// Each version's share of arrivals per bucket, stacked to 100 % (buckets with no arrival are
/// gaps); "no endpoint" in grey when requests found none.
fn traffic<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    run: &RunOutput,
    series: &RunSeries,
    title: &str,
) -> Drawn {
    let slots = series.versions.len() + 1;
    let mut arrivals = vec![0u64; series.buckets()];
    let mut shares = vec![vec![None; series.buckets()]; slots];
    for (i, (_, slot, r)) in run.metrics.rows().enumerate() {
        let b = i / slots;
        if b < arrivals.len() {
            arrivals[b] += r.arrivals;
            shares[slot][b] = Some(r.traffic_share * 100.0);
        }
    }
    for col in shares.iter_mut() {
        for (b, v) in col.iter_mut().enumerate() {
            if arrivals[b] == 0 {
                *v = None;
            }
        }
    }
    let mut bands: Vec<Band> = series
        .versions
        .iter()
        .enumerate()
        .map(|(v, name)| Band {
            label: name.clone(),
            colour: version_colour(v),
            values: shares[v].clone(),
        })
        .collect();
    let none = &shares[slots - 1];
    if none.iter().any(|x| x.is_some_and(|p| p > 0.0)) {
        bands.push(Band {
            label: "no endpoint".into(),
            colour: RGBColor(0x99, 0x99, 0x99),
            values: none.clone(),
        });
    }
    let t = format!("{title}: traffic share per version (share of each bucket's arrivals)");
    stacked(
        root,
        &Stack {
            title: &t,
            y_desc: "share of arrivals (%)",
            x_end: series.end_s(),
            bucket_s: series.bucket_s,
            bands,
            y_top: Some(135.0),
            label_cap: Some(100.0),
            events: &series.events,
            event_labels: true,
            x_desc: true,
        },
    )
}

/// Failed requests per bucket by cause (all versions), stacked; only causes that occurred.
fn failures<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    run: &RunOutput,
    series: &RunSeries,
    title: &str,
) -> Drawn {
    let slots = series.versions.len() + 1;
    let n = series.buckets();
    let mut per = vec![vec![0u64; n]; FailCause::ALL.len()];
    for (i, (_, _, r)) in run.metrics.rows().enumerate() {
        let b = i / slots;
        if b < n {
            for (c, k) in r.failed.iter().enumerate() {
                per[c][b] += k;
            }
        }
    }
    let bands: Vec<Band> = FailCause::ALL
        .iter()
        .enumerate()
        .filter(|(c, _)| per[*c].iter().any(|k| *k > 0))
        .map(|(c, cause)| Band {
            label: cause.as_str().to_string(),
            colour: cause_colour(c),
            values: per[c].iter().map(|k| Some(*k as f64)).collect(),
        })
        .collect();
    let t = if bands.is_empty() {
        format!("{title}: failed requests by cause — none failed")
    } else {
        format!("{title}: failed requests by cause")
    };
    let y = format!("failed requests per {} s bucket", fmt_s(&series.bucket_s));
    stacked(
        root,
        &Stack {
            title: &t,
            y_desc: &y,
            x_end: series.end_s(),
            bucket_s: series.bucket_s,
            bands,
            y_top: None,
            label_cap: None,
            events: &series.events,
            event_labels: true,
            x_desc: true,
        },
    )
}

/// p99 (solid) and p50 (dashed) latency of successful responses per version and bucket; a
/// bucket without a successful response is a gap, never 0.
fn latency<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    run: &RunOutput,
    series: &RunSeries,
    title: &str,
) -> Drawn {
    let nv = series.versions.len();
    let n = series.buckets();
    let mut p50 = vec![vec![None; n]; nv];
    let mut p99 = vec![vec![None; n]; nv];
    for (i, (_, slot, r)) in run.metrics.rows().enumerate() {
        let b = i / (nv + 1);
        if slot < nv && b < n {
            p50[slot][b] = r.p50_ms;
            p99[slot][b] = r.p99_ms;
        }
    }
    let max = p99
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(0.0f64, f64::max);
    let y_top = (max * 1.35).max(1.0);
    let t = format!("{title}: latency of successful responses (p99 solid, p50 dashed)");
    let mut chart = ChartBuilder::on(root)
        .caption(t, font(18))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..series.end_s(), 0f64..y_top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("latency (ms)")
        .x_label_formatter(&fmt_s)
        .y_label_formatter(&fmt_num)
        .label_style(font(13))
        .axis_desc_style(font(14))
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    for v in 0..nv {
        let c = version_colour(v);
        let name = &series.versions[v];
        gapped_line(
            &mut chart,
            &p99[v],
            series.bucket_s,
            c,
            false,
            &format!("{name} p99"),
        )?;
        gapped_line(
            &mut chart,
            &p50[v],
            series.bucket_s,
            c,
            true,
            &format!("{name} p50"),
        )?;
    }
    mark_events(&mut chart, &series.events, y_top, true)?;
    legend(&mut chart)
}

/// The database: connections open per version at each bucket's end (stacked), and requests'
/// queries waiting for a table lock.
fn database<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    run: &RunOutput,
    series: &RunSeries,
    title: &str,
) -> Drawn {
    let slots = series.versions.len() + 1;
    let n = series.buckets();
    let column = |data: &[u32], v: usize| -> Vec<Option<f64>> {
        (0..n)
            .map(|b| data.get(b * slots + v).map(|x| f64::from(*x)))
            .collect()
    };
    let (upper, lower) = root.split_vertically(SIZE.1 / 2 + 10);
    let bands = (0..series.versions.len())
        .map(|v| Band {
            label: series.versions[v].clone(),
            colour: version_colour(v),
            values: column(&run.db_connections, v),
        })
        .collect();
    let t = format!("{title}: database connections per version (at each bucket's end)");
    stacked(
        &upper,
        &Stack {
            title: &t,
            y_desc: "connections",
            x_end: series.end_s(),
            bucket_s: series.bucket_s,
            bands,
            y_top: None,
            label_cap: None,
            events: &series.events,
            event_labels: true,
            x_desc: false,
        },
    )?;
    let bands = (0..series.versions.len())
        .map(|v| Band {
            label: series.versions[v].clone(),
            colour: version_colour(v),
            values: column(&run.db_lock_waiting, v),
        })
        .collect();
    stacked(
        &lower,
        &Stack {
            title: "Queries waiting for a table lock (at each bucket's end)",
            y_desc: "waiting queries",
            x_end: series.end_s(),
            bucket_s: series.bucket_s,
            bands,
            y_top: None,
            label_cap: None,
            events: &series.events,
            event_labels: false,
            x_desc: true,
        },
    )
}

/// Long-lived connections (WebSockets, streams) open on each version's pods at each bucket's
/// end, stacked: cuts at a rollout and the reconnects that follow show as dips and refills.
fn connections<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    run: &RunOutput,
    series: &RunSeries,
    title: &str,
) -> Drawn {
    let nv = series.versions.len();
    let n = series.buckets();
    let mut open = vec![vec![None; n]; nv];
    for (i, (_, slot, r)) in run.metrics.rows().enumerate() {
        let b = i / (nv + 1);
        if slot < nv && b < n {
            open[slot][b] = Some(f64::from(r.connections));
        }
    }
    let bands = open
        .into_iter()
        .enumerate()
        .map(|(v, values)| Band {
            label: series.versions[v].clone(),
            colour: version_colour(v),
            values,
        })
        .collect();
    let t = format!("{title}: long-lived connections open per version (at each bucket's end)");
    stacked(
        root,
        &Stack {
            title: &t,
            y_desc: "open connections",
            x_end: series.end_s(),
            bucket_s: series.bucket_s,
            bands,
            y_top: None,
            label_cap: None,
            events: &series.events,
            event_labels: true,
            x_desc: true,
        },
    )
}
