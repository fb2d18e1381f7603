//! Comparison charts: several variants (strategies, settings) of a scenario side by side, from
//! their summaries and compact series only (a comparison never keeps whole recorders).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{stacked, Band, Stack};
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{err, fmt_num, font, render, version_colour, Drawn, PlotError, RunSeries};
use crate::metrics::Summary;

/// The colour of a variant's bar or point: one neutral colour, so that colours keep meaning
/// versions (as in the timelines beside them); variants are told apart by their labels.
const VARIANT: RGBColor = RGBColor(0x44, 0x55, 0x66);

/// One compared variant: its name, its summary, its compact series.
pub type Compared<'a> = (&'a str, &'a Summary, &'a RunSeries);

/// The files [`comparison_plot_files`] writes.
pub const COMPARISON_PLOT_FILES: [&str; 6] = [
    "comparison-bars.svg",
    "comparison-bars.png",
    "cost-risk.svg",
    "cost-risk.png",
    "comparison-timelines.svg",
    "comparison-timelines.png",
];

/// Every comparison chart as (file name, contents): the bars, the cost-versus-risk scatter and
/// the stacked timelines, SVG and PNG.
pub fn comparison_plot_files(
    variants: &[Compared<'_>],
) -> Result<Vec<(&'static str, Vec<u8>)>, PlotError> {
    let mut out = Vec::new();
    let pairs = [
        comparison_bars(variants)?,
        cost_risk_scatter(variants)?,
        comparison_timelines(variants)?,
    ];
    for (i, (svg, png)) in pairs.into_iter().enumerate() {
        out.push((COMPARISON_PLOT_FILES[2 * i], svg.into_bytes()));
        out.push((COMPARISON_PLOT_FILES[2 * i + 1], png));
    }
    Ok(out)
}

/// Users exposed to a bad release: the new variant's users when a bad version (faults or
/// `bad = true`) handled requests, else 0.
fn users_exposed_to_bad(s: &Summary) -> f64 {
    if s.exposure.bad_requests > 0 {
        s.exposure.users_exposed as f64
    } else {
        0.0
    }
}

/// The metrics the bars show: title, unit, value per summary (`None`: no data).
type Metric = (&'static str, &'static str, fn(&Summary) -> Option<f64>);

const METRICS: [Metric; 7] = [
    ("failed requests", "requests", |s| {
        Some(s.requests.failed as f64)
    }),
    ("mixed-version time", "s", |s| {
        Some(s.exposure.mixed_version_s)
    }),
    ("users exposed to a bad version", "users", |s| {
        Some(users_exposed_to_bad(s))
    }),
    ("cost", "cost units", |s| Some(s.capacity.cost)),
    ("rollout time", "s", |s| s.rollout.duration_s),
    ("rollback time", "s", |s| s.rollout.rollback_s),
    ("p99 latency", "ms", |s| s.latency_ms.p99),
];

/// Bars of failed requests, mixed-version seconds, users exposed to a bad version, cost,
/// rollout time, rollback time and p99 latency, one panel each, one labelled bar per variant
/// in the order given. A missing value (`null` in the summary) is a hatched grey
/// "no data" bar, never 0. Returns `(svg, png)`.
pub fn comparison_bars(variants: &[Compared<'_>]) -> Result<(String, Vec<u8>), PlotError> {
    let h = 300 * METRICS.len().div_ceil(2) as u32;
    Ok(render!((1100, h), bars, variants))
}

fn bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, variants: &[Compared<'_>]) -> Drawn {
    let cells = root.split_evenly((METRICS.len().div_ceil(2), 2));
    for (cell, (title, unit, get)) in cells.iter().zip(METRICS) {
        let values: Vec<Option<f64>> = variants.iter().map(|(_, s, _)| get(s)).collect();
        let max = values.iter().flatten().copied().fold(0.0f64, f64::max);
        let top = if max > 0.0 { max * 1.2 } else { 1.0 };
        let n = variants.len().max(1);
        let names: Vec<String> = variants.iter().map(|(n, _, _)| n.to_string()).collect();
        let mut chart = ChartBuilder::on(cell)
            .caption(format!("{title} ({unit})"), font(16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            // An integer range's end is a key point too: `0..n-1` makes n segments.
            .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(unit)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&fmt_num)
            .label_style(font(12))
            .axis_desc_style(font(13))
            .light_line_style(WHITE)
            .draw()
            .map_err(err)?;
        for (i, v) in values.iter().enumerate() {
            let (x0, x1) = (SegmentValue::Exact(i), SegmentValue::Exact(i + 1));
            match v {
                Some(v) => {
                    let mut bar = Rectangle::new([(x0, 0.0), (x1, *v)], VARIANT.filled());
                    bar.set_margin(0, 0, 12, 12);
                    chart.draw_series(std::iter::once(bar)).map_err(err)?;
                    chart
                        .draw_series(std::iter::once(Text::new(
                            fmt_num(v),
                            (SegmentValue::CenterOf(i), *v + top * 0.01),
                            font(12).pos(Pos::new(HPos::Center, VPos::Bottom)),
                        )))
                        .map_err(err)?;
                }
                None => {
                    let grey = RGBColor(0xBB, 0xBB, 0xBB);
                    let mut bar =
                        Rectangle::new([(x0, 0.0), (x1, top * 0.15)], grey.stroke_width(1));
                    bar.set_margin(0, 0, 12, 12);
                    chart.draw_series(std::iter::once(bar)).map_err(err)?;
                    chart
                        .draw_series(std::iter::once(Text::new(
                            "no data",
                            (SegmentValue::CenterOf(i), top * 0.16),
                            font(12)
                                .color(&RGBColor(0x66, 0x66, 0x66))
                                .pos(Pos::new(HPos::Center, VPos::Bottom)),
                        )))
                        .map_err(err)?;
                }
            }
        }
    }
    Ok(())
}

/// Cost (x) against risk (y: failed requests), one labelled point per variant: the trade-off a
/// capacity planner weighs. Returns `(svg, png)`.
pub fn cost_risk_scatter(variants: &[Compared<'_>]) -> Result<(String, Vec<u8>), PlotError> {
    Ok(render!((900, 600), scatter, variants))
}

fn scatter<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, variants: &[Compared<'_>]) -> Drawn {
    let pts: Vec<(f64, f64)> = variants
        .iter()
        .map(|(_, s, _)| (s.capacity.cost, s.requests.failed as f64))
        .collect();
    let xmax = pts.iter().map(|p| p.0).fold(0.0f64, f64::max);
    let ymax = pts.iter().map(|p| p.1).fold(0.0f64, f64::max);
    let xr = if xmax > 0.0 { xmax * 1.25 } else { 1.0 };
    let yr = if ymax > 0.0 { ymax * 1.25 } else { 1.0 };
    let mut chart = ChartBuilder::on(root)
        .caption("cost versus risk (lower left is better)", font(18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..xr, 0f64..yr)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("cost (pod-hours × cost_per_pod_hour)")
        .y_desc("failed requests")
        .x_label_formatter(&fmt_num)
        .y_label_formatter(&fmt_num)
        .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .label_style(font(13))
        .axis_desc_style(font(14))
        .draw()
        .map_err(err)?;
    for ((name, _, _), p) in variants.iter().zip(&pts) {
        let marker = EmptyElement::at(*p)
            + Circle::new((0, 0), 7, VARIANT.filled())
            + Text::new(
                name.to_string(),
                (12, 0),
                font(14)
                    .color(&VARIANT)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            );
        chart.draw_series(std::iter::once(marker)).map_err(err)?;
    }
    Ok(())
}

/// Each variant's pods per version (stacked, versions in their scenario colours) with its
/// rollout's events, one panel per variant on one shared time axis. Returns `(svg, png)`.
pub fn comparison_timelines(variants: &[Compared<'_>]) -> Result<(String, Vec<u8>), PlotError> {
    let h = 220 * variants.len().max(1) as u32 + 40;
    Ok(render!((1100, h), timelines, variants))
}

fn timelines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    variants: &[Compared<'_>],
) -> Drawn {
    let x_end = variants
        .iter()
        .map(|(_, _, s)| s.end_s())
        .fold(1.0f64, f64::max);
    let y_max = variants
        .iter()
        .flat_map(|(_, _, s)| {
            (0..s.buckets()).map(move |b| {
                (0..s.versions.len())
                    .map(|v| f64::from(s.at(&s.pods, b, v)))
                    .sum::<f64>()
            })
        })
        .fold(1.0f64, f64::max);
    let panels = root.split_evenly((variants.len().max(1), 1));
    for (i, (panel, (name, summary, s))) in panels.iter().zip(variants).enumerate() {
        let bands = (0..s.versions.len())
            .map(|v| Band {
                label: s.versions[v].clone(),
                colour: version_colour(v),
                values: (0..s.buckets())
                    .map(|b| Some(f64::from(s.at(&s.pods, b, v))))
                    .collect(),
            })
            .collect();
        let title = format!("{name} ({}): pods per version", summary.strategy);
        stacked(
            panel,
            &Stack {
                title: &title,
                y_desc: "pods",
                x_end,
                bucket_s: s.bucket_s,
                bands,
                y_top: Some((y_max * 1.4).ceil()),
                label_cap: None,
                events: &s.events,
                event_labels: true,
                x_desc: i + 1 == variants.len(),
            },
        )?;
    }
    Ok(())
}
