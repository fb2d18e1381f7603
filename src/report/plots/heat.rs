//! The heat map of a sweep: one metric over two swept parameters, a cell per (x, y) coloured
//! on a sequential scale and annotated with its value, a colour bar with the metric's unit,
//! and cells without data hatched grey and labelled "no data" (never coloured as 0).
//!
//! The scale is viridis (van der Walt & Smith, matplotlib 2.0's default, 2015): perceptually
//! uniform, monotonic in lightness, and readable with the common colour-vision deficiencies
//! and in greyscale — dark purple for the lowest value, yellow for the highest. Laid out by
//! hand on pixel coordinates (no mesh), so labels sit at cell centres whatever the grid.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{err, fmt_num, font, render, Drawn, PlotError};
use crate::sweep::HeatGrid;

/// Viridis at 0, 0.1, …, 1 (R's `viridisLite::viridis(11)`, the same map as matplotlib's);
/// colours between are interpolated linearly.
const VIRIDIS: [(u8, u8, u8); 11] = [
    (0x44, 0x01, 0x54),
    (0x48, 0x25, 0x76),
    (0x41, 0x44, 0x87),
    (0x35, 0x60, 0x8D),
    (0x2A, 0x78, 0x8E),
    (0x21, 0x90, 0x8C),
    (0x22, 0xA8, 0x84),
    (0x43, 0xBF, 0x71),
    (0x7A, 0xD1, 0x51),
    (0xBB, 0xDF, 0x27),
    (0xFD, 0xE7, 0x25),
];

/// The fill of a cell without data, and its hatching.
const NO_DATA: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const HATCH: RGBColor = RGBColor(0x99, 0x99, 0x99);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);

/// The viridis colour at `t` in 0..=1 (clamped).
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + (f64::from(q) - f64::from(p)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Text that stays readable on `c`: white on dark cells, near-black on light ones.
fn text_on(c: RGBColor) -> RGBColor {
    let lum = 0.2126 * f64::from(c.0) + 0.7152 * f64::from(c.1) + 0.0722 * f64::from(c.2);
    if lum < 128.0 {
        WHITE
    } else {
        INK
    }
}

/// Pixel width of `s` at about 12–13 px (for layout only).
fn text_w(s: &str) -> i32 {
    (s.chars().count() as f64 * 7.0).ceil() as i32
}

/// Where everything goes.
struct Layout {
    size: (u32, u32),
    left: i32,
    top: i32,
    cw: i32,
    ch: i32,
    annotate: bool,
}

impl Layout {
    fn of(g: &HeatGrid) -> Layout {
        let (nx, ny) = (g.xs.len().max(1) as i32, g.ys.len().max(1) as i32);
        let cw = (720 / nx).clamp(8, 110);
        let ch = (400 / ny).clamp(8, 60);
        let ylab = g.ys.iter().map(|s| text_w(s)).max().unwrap_or(0);
        let left = 40 + ylab.max(20);
        let top = 70;
        let legend = 60 + text_w(&g.label).max(text_w("no data") + 30).max(110);
        let w = (left + nx * cw + legend)
            .max(text_w(&title(g)).max(text_w(&cell_note(g))) + 40)
            .max(640);
        // Room below the cells for the x labels and name, and for the colour bar and swatch.
        let h = (top + ny * ch + 70).max(top + 28 + 100 + 60);
        Layout {
            size: (w as u32, h as u32),
            left,
            top,
            cw,
            ch,
            annotate: cw >= 36 && ch >= 16,
        }
    }
}

fn title(g: &HeatGrid) -> String {
    format!("{} by {} and {}", g.label, g.x, g.y)
}

/// What each cell is, in words: the aggregation and what it runs over.
pub fn cell_note(g: &HeatGrid) -> String {
    let counts: Vec<usize> = g
        .rows
        .iter()
        .flatten()
        .copied()
        .filter(|n| *n > 0)
        .collect();
    let (lo, hi) = (
        counts.iter().copied().min().unwrap_or(0),
        counts.iter().copied().max().unwrap_or(0),
    );
    let n = if lo == hi {
        format!("{lo} row{}", if lo == 1 { "" } else { "s" })
    } else {
        format!("{lo}–{hi} rows")
    };
    let over = if g.others.is_empty() {
        "its runs".to_string()
    } else {
        format!("its runs and every value of {}", g.others.join(", "))
    };
    let mut s = format!("each cell: the {} over {over} ({n})", g.agg.word());
    if !g.filters.is_empty() {
        s.push_str(&format!("; where {}", g.filters.join(", ")));
    }
    s
}

/// The heat map of `g`. Returns `(svg, png)`; the same grid always gives the same bytes.
pub fn heat_map(g: &HeatGrid) -> Result<(String, Vec<u8>), PlotError> {
    let layout = Layout::of(g);
    Ok(render!(layout.size, draw, g, &layout))
}

/// A grey cell with diagonal hatching, clipped to the cell.
fn hatched<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
) -> Drawn {
    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], NO_DATA.filled()))
        .map_err(err)?;
    let (w, h) = (x1 - x0, y1 - y0);
    let mut d = -h;
    while d < w {
        // The line (x0 + d + s, y1 - s) for s in 0..=h, kept where x0 <= x <= x1.
        let (lo, hi) = ((-d).max(0), h.min(w - d));
        if lo < hi {
            root.draw(&PathElement::new(
                vec![(x0 + d + lo, y1 - lo), (x0 + d + hi, y1 - hi)],
                HATCH.stroke_width(1),
            ))
            .map_err(err)?;
        }
        d += 7;
    }
    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], HATCH.stroke_width(1)))
        .map_err(err)
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, g: &HeatGrid, l: &Layout) -> Drawn {
    let centre = Pos::new(HPos::Center, VPos::Center);
    let (nx, ny) = (g.xs.len() as i32, g.ys.len() as i32);
    let (w, _) = l.size;
    root.draw(&Text::new(
        title(g),
        (w as i32 / 2, 18),
        font(18).pos(centre).color(&INK),
    ))
    .map_err(err)?;
    root.draw(&Text::new(
        cell_note(g),
        (w as i32 / 2, 42),
        font(13).pos(centre).color(&RGBColor(0x44, 0x44, 0x44)),
    ))
    .map_err(err)?;
    let known: Vec<f64> = g.values.iter().flatten().flatten().copied().collect();
    let lo = known.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let t = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    let bottom = l.top + ny * l.ch;
    for (yi, row) in g.values.iter().enumerate() {
        for (xi, v) in row.iter().enumerate() {
            let x0 = l.left + xi as i32 * l.cw;
            // The first y value at the bottom, as on a plot's axis.
            let y1 = bottom - yi as i32 * l.ch;
            let (a, b) = ((x0, y1 - l.ch), (x0 + l.cw - 1, y1 - 1));
            let mid = (x0 + l.cw / 2, y1 - l.ch / 2);
            match v {
                Some(v) => {
                    let c = viridis(t(*v));
                    root.draw(&Rectangle::new([a, b], c.filled()))
                        .map_err(err)?;
                    if l.annotate {
                        root.draw(&Text::new(
                            fmt_num(v),
                            mid,
                            font(12).pos(centre).color(&text_on(c)),
                        ))
                        .map_err(err)?;
                    }
                }
                None => {
                    hatched(root, a, b)?;
                    if l.annotate {
                        root.draw(&Text::new("no data", mid, font(11).pos(centre).color(&INK)))
                            .map_err(err)?;
                    }
                }
            }
        }
    }
    // Axis labels at cell centres, thinned so they do not overlap.
    let every = |width: i32, cell: i32| (width / cell.max(1) + 1).max(1) as usize;
    let kx = every(g.xs.iter().map(|s| text_w(s) + 6).max().unwrap_or(0), l.cw);
    for (xi, s) in g.xs.iter().enumerate().step_by(kx) {
        root.draw(&Text::new(
            s.clone(),
            (l.left + xi as i32 * l.cw + l.cw / 2, bottom + 12),
            font(12).pos(centre).color(&INK),
        ))
        .map_err(err)?;
    }
    let ky = every(16, l.ch);
    for (yi, s) in g.ys.iter().enumerate().step_by(ky) {
        root.draw(&Text::new(
            s.clone(),
            (l.left - 6, bottom - yi as i32 * l.ch - l.ch / 2),
            font(12)
                .pos(Pos::new(HPos::Right, VPos::Center))
                .color(&INK),
        ))
        .map_err(err)?;
    }
    root.draw(&Text::new(
        g.x.clone(),
        (l.left + nx * l.cw / 2, bottom + 36),
        font(14).pos(centre).color(&INK),
    ))
    .map_err(err)?;
    root.draw(&Text::new(
        g.y.clone(),
        (14, l.top + ny * l.ch / 2),
        font(14)
            .transform(FontTransform::Rotate270)
            .pos(centre)
            .color(&INK),
    ))
    .map_err(err)?;
    legend(root, g, l, (lo, hi), !known.is_empty())
}

/// The colour bar (its unit and the aggregation above it, five values beside it) and the
/// "no data" swatch when a cell has none.
fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    g: &HeatGrid,
    l: &Layout,
    (lo, hi): (f64, f64),
    any: bool,
) -> Drawn {
    let x = l.left + g.xs.len() as i32 * l.cw + 30;
    let top = l.top + 28;
    let height = (g.ys.len() as i32 * l.ch - 28).clamp(100, 300);
    let left_text = Pos::new(HPos::Left, VPos::Center);
    root.draw(&Text::new(
        g.label.clone(),
        (x, l.top),
        font(13).pos(left_text).color(&INK),
    ))
    .map_err(err)?;
    root.draw(&Text::new(
        format!("{} per cell", g.agg.word()),
        (x, l.top + 16),
        font(12).pos(left_text).color(&RGBColor(0x44, 0x44, 0x44)),
    ))
    .map_err(err)?;
    let mut below = top;
    if any {
        for i in 0..height {
            let t = 1.0 - f64::from(i) / f64::from(height - 1);
            root.draw(&Rectangle::new(
                [(x, top + i), (x + 18, top + i + 1)],
                viridis(t).filled(),
            ))
            .map_err(err)?;
        }
        root.draw(&Rectangle::new(
            [(x, top), (x + 18, top + height)],
            HATCH.stroke_width(1),
        ))
        .map_err(err)?;
        let ticks = if hi > lo { 5 } else { 1 };
        for k in 0..ticks {
            let f = if ticks == 1 {
                0.5
            } else {
                f64::from(k) / f64::from(ticks - 1)
            };
            let v = lo + (hi - lo) * f;
            let y = top + ((1.0 - f) * f64::from(height)).round() as i32;
            root.draw(&PathElement::new(
                vec![(x + 18, y), (x + 23, y)],
                INK.stroke_width(1),
            ))
            .map_err(err)?;
            root.draw(&Text::new(
                fmt_num(&v),
                (x + 27, y),
                font(12).pos(left_text).color(&INK),
            ))
            .map_err(err)?;
        }
        below = top + height;
    }
    if g.values.iter().flatten().any(Option::is_none) {
        let y = below + 18;
        hatched(root, (x, y), (x + 18, y + 18))?;
        root.draw(&Text::new(
            "no data",
            (x + 27, y + 9),
            font(12).pos(left_text).color(&INK),
        ))
        .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_runs_from_dark_purple_to_yellow_getting_lighter() {
        assert_eq!(viridis(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(viridis(1.0), RGBColor(0xFD, 0xE7, 0x25));
        assert_eq!(viridis(2.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        let lum = |c: RGBColor| {
            0.2126 * f64::from(c.0) + 0.7152 * f64::from(c.1) + 0.0722 * f64::from(c.2)
        };
        let steps: Vec<f64> = (0..=50)
            .map(|i| lum(viridis(f64::from(i) / 50.0)))
            .collect();
        assert!(steps.windows(2).all(|w| w[1] >= w[0]), "{steps:?}");
        assert_eq!(text_on(viridis(0.0)), WHITE);
        assert_eq!(text_on(viridis(1.0)), INK);
    }
}
