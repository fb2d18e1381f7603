//! Drawing helpers shared by the run and comparison charts: stacked step areas over buckets,
//! lines with gaps, event markers. Generic over the backend, so SVG and PNG come from the same
//! code.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{err, event_colour, event_label, fmt_num, fmt_s, font, Drawn, SeriesEvent};

/// One layer of a stacked chart: a value per bucket (`None`: no data, drawn as a gap).
pub(crate) struct Band {
    pub label: String,
    pub colour: RGBColor,
    pub values: Vec<Option<f64>>,
}

/// A stacked step-area chart over time buckets.
pub(crate) struct Stack<'a> {
    pub title: &'a str,
    pub y_desc: &'a str,
    pub x_end: f64,
    pub bucket_s: f64,
    pub bands: Vec<Band>,
    /// Fixed top of the y axis (a share: 100), or `None` for the data's maximum with headroom.
    pub y_top: Option<f64>,
    /// No tick labels above this value (a share's axis stops at 100 %; the room above it is
    /// for the legend and the event labels).
    pub label_cap: Option<f64>,
    pub events: &'a [SeriesEvent],
    /// Write the events' labels (otherwise only their lines).
    pub event_labels: bool,
    pub x_desc: bool,
}

/// Rows of event labels at the top of a chart.
const LABEL_ROWS: usize = 5;

/// Maximal runs of consecutive buckets where `ok(b)` holds.
pub(crate) fn runs(n: usize, ok: impl Fn(usize) -> bool) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for b in 0..n {
        match (ok(b), start) {
            (true, None) => start = Some(b),
            (false, Some(s)) => {
                out.push(s..b);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..n);
    }
    out
}

/// Drops the middle points of horizontal runs (a step outline of an hour of one-second buckets
/// whose value rarely changes shrinks from thousands of points to a few).
pub(crate) fn simplify(pts: &mut Vec<(f64, f64)>) {
    if pts.len() < 3 {
        return;
    }
    let mut out = Vec::with_capacity(pts.len());
    out.push(pts[0]);
    for i in 1..pts.len() - 1 {
        let (a, b, c) = (pts[i - 1], pts[i], pts[i + 1]);
        if !(a.1 == b.1 && b.1 == c.1) {
            out.push(b);
        }
    }
    out.push(pts[pts.len() - 1]);
    *pts = out;
}

/// Draws `stack` on `area`.
pub(crate) fn stacked<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: &Stack<'_>) -> Drawn {
    let n = s.bands.iter().map(|b| b.values.len()).max().unwrap_or(0);
    let mut base = vec![0.0f64; n];
    let mut tops: Vec<Vec<f64>> = Vec::with_capacity(s.bands.len());
    for band in &s.bands {
        let top: Vec<f64> = (0..n)
            .map(|b| base[b] + band.values.get(b).copied().flatten().unwrap_or(0.0))
            .collect();
        base.clone_from(&top);
        tops.push(top);
    }
    let data_max = base.iter().copied().fold(0.0, f64::max);
    let y_top = s.y_top.unwrap_or_else(|| (data_max * 1.35).max(1.0).ceil());
    let mut chart = ChartBuilder::on(area)
        .caption(s.title, font(18))
        .margin(8)
        .x_label_area_size(if s.x_desc { 40 } else { 24 })
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..s.x_end.max(s.bucket_s), 0f64..y_top)
        .map_err(err)?;
    let cap = s.label_cap.unwrap_or(f64::INFINITY);
    let y_label = move |y: &f64| {
        if *y > cap + 1e-9 {
            String::new()
        } else {
            fmt_num(y)
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(s.y_desc)
        .x_label_formatter(&fmt_s)
        .y_label_formatter(&y_label)
        .label_style(font(13))
        .axis_desc_style(font(14))
        .light_line_style(WHITE);
    if s.x_desc {
        mesh.x_desc("time (s)");
    }
    mesh.draw().map_err(err)?;
    let w = s.bucket_s;
    let mut lower = vec![0.0f64; n];
    for (band, top) in s.bands.iter().zip(&tops) {
        let has = |b: usize| band.values.get(b).copied().flatten().is_some();
        let mut labelled = false;
        for r in runs(n, has) {
            if (r.start..r.end).all(|b| top[b] <= lower[b]) {
                continue;
            }
            let mut pts: Vec<(f64, f64)> = Vec::with_capacity(4 * r.len());
            for b in r.clone() {
                pts.push((b as f64 * w, top[b]));
                pts.push(((b + 1) as f64 * w, top[b]));
            }
            for b in r.clone().rev() {
                pts.push(((b + 1) as f64 * w, lower[b]));
                pts.push((b as f64 * w, lower[b]));
            }
            simplify(&mut pts);
            let c = band.colour;
            let drawn = chart
                .draw_series(std::iter::once(Polygon::new(pts, c.mix(0.85).filled())))
                .map_err(err)?;
            if !labelled {
                labelled = true;
                drawn.label(band.label.clone()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], c.filled())
                });
            }
        }
        lower.clone_from(top);
    }
    mark_events(&mut chart, s.events, y_top, s.event_labels)?;
    legend(&mut chart)
}

/// The series labels, upper right, on a white box.
pub(crate) fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
) -> Drawn {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(0x88, 0x88, 0x88))
        .label_font(font(13))
        .draw()
        .map_err(err)
}

/// Vertical lines at the rollout's events, with their labels (events at the same instant share
/// one label) in rows near the top.
pub(crate) fn mark_events<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    events: &[SeriesEvent],
    y_top: f64,
    labels: bool,
) -> Drawn {
    let mut groups: Vec<(f64, &'static str, Vec<String>)> = Vec::new();
    for e in events {
        let label = event_label(e.kind, e.detail.as_deref());
        match groups.last_mut() {
            Some(g) if (g.0 - e.t_s).abs() < 1e-9 => {
                g.2.extend(label);
                if event_colour(e.kind) != event_colour("start") {
                    g.1 = e.kind;
                }
            }
            _ => groups.push((e.t_s, e.kind, label.into_iter().collect())),
        }
    }
    // Labels go to the first of a few rows near the top where they do not overlap the one
    // before (widths estimated from the font size); one that fits nowhere keeps only its line.
    let (width_px, _) = chart.plotting_area().dim_in_pixel();
    let x_range = chart.x_range();
    let span = (x_range.end - x_range.start).max(1e-9);
    // Rows hold the pixel spans taken; outcomes (abort, promote, rollback, completion) are
    // placed first, so they keep their labels when the rest cannot all fit.
    let mut rows: Vec<Vec<(f64, f64)>> = vec![Vec::new(); LABEL_ROWS];
    let mut placed: Vec<Option<usize>> = vec![None; groups.len()];
    for pass in [true, false] {
        for (i, (t, kind, words)) in groups.iter().enumerate() {
            if !labels || words.is_empty() || (event_colour(kind) != event_colour("start")) != pass
            {
                continue;
            }
            let chars = words.iter().map(|w| w.chars().count() + 2).sum::<usize>();
            let x0 = (t - x_range.start) / span * f64::from(width_px);
            let x1 = x0 + 6.8 * chars as f64;
            let free = |row: &Vec<(f64, f64)>| row.iter().all(|(a, b)| x1 < *a || x0 > *b);
            if let Some(r) = rows.iter().position(free) {
                rows[r].push((x0, x1));
                placed[i] = Some(r);
            }
        }
    }
    for ((t, kind, words), row) in groups.iter().zip(placed) {
        let c = event_colour(kind);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*t, 0.0), (*t, y_top)],
                c.mix(0.7).stroke_width(1),
            )))
            .map_err(err)?;
        let Some(row) = row else {
            continue;
        };
        let y = y_top * (0.985 - 0.05 * row as f64);
        chart
            .draw_series(std::iter::once(Text::new(
                format!(" {}", words.join(", ")),
                (*t, y),
                font(12).color(&c),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// A line per run of consecutive `Some` values (missing buckets are gaps, never 0), at bucket
/// midpoints; `dashed` for a second statistic of the same series.
pub(crate) fn gapped_line<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    values: &[Option<f64>],
    bucket_s: f64,
    colour: RGBColor,
    dashed: bool,
    label: &str,
) -> Drawn {
    let mut labelled = false;
    for r in runs(values.len(), |b| values[b].is_some()) {
        let pts: Vec<(f64, f64)> = r
            .clone()
            .map(|b| ((b as f64 + 0.5) * bucket_s, values[b].unwrap_or(0.0)))
            .collect();
        let style = colour.stroke_width(2);
        let drawn = if dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                .map_err(err)?
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), style))
                .map_err(err)?
        };
        if !labelled {
            labelled = true;
            drawn.label(label.to_string()).legend(move |(x, y)| {
                if dashed {
                    PathElement::new(vec![(x, y), (x + 6, y)], colour.stroke_width(2))
                } else {
                    PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2))
                }
            });
        }
        // A lone bucket is a dot, so a one-bucket run is not invisible.
        if r.len() == 1 {
            chart
                .draw_series(std::iter::once(Circle::new(pts[0], 3, colour.filled())))
                .map_err(err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{runs, simplify};

    #[test]
    fn flat_stretches_of_an_outline_keep_only_their_ends() {
        let mut p = vec![
            (0.0, 1.0),
            (1.0, 1.0),
            (2.0, 1.0),
            (2.0, 3.0),
            (3.0, 3.0),
            (3.0, 0.0),
        ];
        simplify(&mut p);
        assert_eq!(
            p,
            [(0.0, 1.0), (2.0, 1.0), (2.0, 3.0), (3.0, 3.0), (3.0, 0.0)]
        );
    }

    #[test]
    fn missing_buckets_split_a_line_into_runs() {
        let v = [Some(1.0), Some(2.0), None, None, Some(3.0), None, Some(4.0)];
        assert_eq!(runs(v.len(), |b| v[b].is_some()), [0..2, 4..5, 6..7]);
        assert!(runs(3, |_| false).is_empty());
        assert_eq!(runs(3, |_| true).len(), 1);
        assert_eq!(runs(3, |_| true)[0], 0..3);
    }
}
