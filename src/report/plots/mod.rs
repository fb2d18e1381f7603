//! Plots of a finished run (and of several runs side by side), as SVG and PNG.
//!
//! They read results only — a [`RunOutput`], or the compact [`RunSeries`] kept from one — and
//! are drawn after the simulation, so they never slow or steer it. Every chart is drawn twice
//! by the same code: once into an SVG string (real `<text>`, no external reference, so it can
//! be inlined in an HTML page) and once into an RGB buffer encoded as PNG. PNG text is drawn
//! with DejaVu Sans embedded in the binary (`assets/fonts/`, Bitstream Vera licence), so it
//! renders on a machine with no system fonts.
//!
//! Colours are the Okabe–Ito palette, safe for the common colour-vision deficiencies
//! (Okabe & Ito, "Color Universal Design", 2008): a version keeps its colour (by its index in
//! the scenario) in every chart, and each failure cause has a fixed colour.

mod compare;
mod draw;
mod heat;
mod run;
mod series;

pub use compare::{
    comparison_bars, comparison_plot_files, comparison_timelines, cost_risk_scatter, Compared,
    COMPARISON_PLOT_FILES,
};
pub use heat::{cell_note, heat_map, viridis};
pub use run::{plot_files, PLOT_FILES};
pub use series::{RunSeries, SeriesEvent};

use std::fmt;
use std::sync::Once;

use plotters::prelude::*;

/// DejaVu Sans 2.37, embedded so PNG text needs no system font (licence beside it).
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// The family every chart asks for; the embedded font is registered under it.
pub(crate) const FAMILY: &str = "sans-serif";

/// Chart size in pixels (SVG user units and PNG pixels alike).
pub(crate) const SIZE: (u32, u32) = (960, 540);

static REGISTER: Once = Once::new();

/// Registers the embedded font with plotters (once per process).
pub(crate) fn register_font() {
    REGISTER.call_once(|| {
        // The bytes are a valid TrueType file checked in with the source; a failure here would
        // show as missing text, which the tests catch.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// A chart could not be drawn (a plotters error, in words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotError(pub String);

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot draw a plot: {}", self.0)
    }
}

impl std::error::Error for PlotError {}

/// What a drawing function returns, whatever the backend.
pub(crate) type Drawn = Result<(), PlotError>;

/// Converts any plotters error into a [`PlotError`].
pub(crate) fn err<E: fmt::Debug>(e: E) -> PlotError {
    PlotError(format!("{e:?}"))
}

/// Okabe–Ito colours in the order versions take them: blue, orange, bluish green, reddish
/// purple, sky blue, vermillion, yellow, black.
pub const VERSION_COLOURS: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xF0, 0xE4, 0x42),
    RGBColor(0x00, 0x00, 0x00),
];

/// The colour of version `index` (the same in every chart of every run).
pub fn version_colour(index: usize) -> RGBColor {
    VERSION_COLOURS[index % VERSION_COLOURS.len()]
}

/// The colour of a failure cause, by its index in `FailCause::ALL` (fixed: the same cause has
/// the same colour in every chart).
pub fn cause_colour(index: usize) -> RGBColor {
    // Sized by the causes, so a new cause cannot be added without its colour.
    const C: [RGBColor; crate::model::FailCause::ALL.len()] = [
        RGBColor(0xD5, 0x5E, 0x00), // connection_refused: vermillion
        RGBColor(0xCC, 0x79, 0xA7), // reset_on_shutdown: reddish purple
        RGBColor(0x00, 0x00, 0x00), // no_endpoints: black
        RGBColor(0xE6, 0x9F, 0x00), // queue_full: orange
        RGBColor(0x56, 0xB4, 0xE9), // timeout: sky blue
        RGBColor(0x00, 0x9E, 0x73), // app_error: bluish green (common: a strong colour)
        RGBColor(0x99, 0x99, 0x99), // in_flight_at_end: grey
        RGBColor(0xF0, 0xE4, 0x42), // session_lost: yellow
        RGBColor(0x00, 0x72, 0xB2), // db_connections_exhausted: blue
        RGBColor(0x55, 0x55, 0x55), // db_timeout: dark grey
        RGBColor(0x88, 0x22, 0x55), // schema_error: wine (Paul Tol's muted scheme)
    ];
    C[index % C.len()]
}

/// The `rgb(r,g,b)` an SVG chart writes for `c` (what the tests look for).
pub fn svg_colour(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Draws `$draw(&root, args…)` into an SVG string and a PNG, returning `(svg, png)`.
macro_rules! render {
    ($size:expr, $draw:path $(, $arg:expr)* $(,)?) => {{
        $crate::report::plots::register_font();
        let (w, h) = $size;
        let mut svg = String::new();
        {
            let root = plotters::prelude::SVGBackend::with_string(&mut svg, (w, h))
                .into_drawing_area();
            root.fill(&plotters::prelude::WHITE).map_err($crate::report::plots::err)?;
            $draw(&root $(, $arg)*)?;
            root.present().map_err($crate::report::plots::err)?;
        }
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = plotters::prelude::BitMapBackend::with_buffer(&mut rgb, (w, h))
                .into_drawing_area();
            root.fill(&plotters::prelude::WHITE).map_err($crate::report::plots::err)?;
            $draw(&root $(, $arg)*)?;
            root.present().map_err($crate::report::plots::err)?;
        }
        let png = $crate::report::plots::encode_png(&rgb, w, h)?;
        (svg, png)
    }};
}
pub(crate) use render;

/// Encodes an RGB buffer as PNG (deterministic: fixed compression, no timestamps).
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, PlotError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(rgb).map_err(err)?;
    }
    Ok(out)
}

/// A label's text style at `size` pixels.
pub(crate) fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font())
}

/// Seconds as an axis label: whole seconds when they are.
pub(crate) fn fmt_s(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// A number as an axis or bar label: whole numbers without decimals, others with about three
/// significant digits (a cost of 0.0445, a p99 of 212.3 ms).
pub(crate) fn fmt_num(x: &f64) -> String {
    let a = x.abs();
    if (x - x.round()).abs() < 1e-9 || a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// A short label for an event on a timeline.
pub(crate) fn event_label(kind: &str, detail: Option<&str>) -> Option<String> {
    let word = match kind {
        "start" => "start",
        "weight" => return detail.map(|d| format!("weight {d}")),
        "pause" => return Some(format!("pause {}", detail.unwrap_or(""))),
        "paused" => "paused",
        "resumed" => "resume",
        "analysis_started" => "analysis",
        "analysis_successful" => "analysis ok",
        "analysis_failed" => "analysis FAILED",
        "analysis_inconclusive" => "analysis inconclusive",
        "promoted" => "promote",
        "aborted" => "ABORT",
        "rollback_started" => "rollback",
        "rollback_done" => "rollback done",
        "stalled" => "stalled",
        "completed" => "complete",
        "flag_published" => return detail.map(|d| format!("flag {d}")),
        "flag_killed" => "flag killed",
        _ => return None,
    };
    Some(word.to_string())
}

/// The marker colour of an event: failures and aborts in vermillion, the rest dark grey.
pub(crate) fn event_colour(kind: &str) -> RGBColor {
    match kind {
        "aborted" | "analysis_failed" | "rollback_started" | "stalled" | "flag_killed" => {
            RGBColor(0xD5, 0x5E, 0x00)
        }
        "promoted" | "completed" | "rollback_done" | "analysis_successful" => {
            RGBColor(0x00, 0x9E, 0x73)
        }
        _ => RGBColor(0x44, 0x44, 0x44),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        let f = |x: f64| fmt_num(&x);
        assert_eq!(
            [f(2000.0), f(212.34), f(21.94), f(1.475), f(0.0446), f(0.0)],
            ["2000", "212", "21.9", "1.48", "0.045", "0"]
        );
    }

    #[test]
    fn versions_and_causes_keep_their_colours() {
        assert_eq!(svg_colour(version_colour(0)), "#0072B2");
        assert_eq!(svg_colour(version_colour(1)), "#E69F00");
        assert_eq!(version_colour(9), version_colour(1));
        let causes: std::collections::BTreeSet<String> = (0..crate::model::FailCause::ALL.len())
            .map(|c| svg_colour(cause_colour(c)))
            .collect();
        assert_eq!(
            causes.len(),
            crate::model::FailCause::ALL.len(),
            "one colour per cause"
        );
    }

    #[test]
    fn every_event_kind_has_a_label() {
        for k in [
            "start",
            "pause",
            "paused",
            "resumed",
            "analysis_started",
            "analysis_successful",
            "analysis_failed",
            "analysis_inconclusive",
            "promoted",
            "aborted",
            "rollback_started",
            "rollback_done",
            "stalled",
            "completed",
            "flag_killed",
        ] {
            assert!(event_label(k, None).is_some(), "{k}");
        }
        assert_eq!(
            event_label("weight", Some("v2 10%")).as_deref(),
            Some("weight v2 10%")
        );
    }
}
