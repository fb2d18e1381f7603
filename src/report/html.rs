//! `report.html`: one self-contained page per run (and per comparison, in `compare`) that a
//! person would rather look at than read — what the scenario is and teaches, the headline
//! numbers, where the rollout's time went, the plots, the failures by cause.
//!
//! Self-contained means: inline CSS and inline SVG only — no script, no font, no image or
//! style sheet fetched from anywhere — so the file opens the same from a CI artifact, an
//! e-mail or a laptop offline, and a strict Content-Security-Policy (`default-src 'none'`) is
//! declared to prove it. Every piece of scenario text (names, descriptions, comments, the
//! source shown at the end) is HTML-escaped: a `<script>` in a description is shown, never run.
//! Reporting reads results only.

use std::fmt::Write;

use super::text::thousands;
use crate::metrics::{Summary, TimeBreakdown};

/// A figure for the report: an SVG document (the plots module's output) and its title.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Shown above the figure.
    pub title: String,
    /// The SVG document, inlined as is (it must be rollsim's own output, never user text).
    pub svg: String,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The "What it teaches:" paragraph of a scenario's header comment (the shipped scenarios all
/// have one), joined into one line; `None` when the header has none.
pub fn what_it_teaches(source: &str) -> Option<String> {
    let mut lines = source
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim());
    let first = lines.find_map(|l| l.strip_prefix("What it teaches:"))?;
    let mut text = first.trim().to_owned();
    for l in lines.take_while(|l| !l.is_empty()) {
        text.push(' ');
        text.push_str(l);
    }
    Some(text)
}

const STYLE: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}\
main{max-width:1100px;margin:0 auto;padding:24px}\
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.sub{color:#555;margin:0 0 12px}.lead{font-size:17px;margin:0 0 6px}.notice li{margin:4px 0}.steps td,.steps th{text-align:right}.cause td:first-child{padding-left:26px}.teach{background:#eef6fb;border-left:4px solid #0072B2;padding:10px 14px;margin:12px 0}\
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px}\
.card .v{font-size:22px;font-weight:600}.card .k{color:#555;font-size:13px}.bad .v{color:#D55E00}\
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}\
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}\
figure{background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 0 16px;padding:10px}\
figure svg{max-width:100%;height:auto}figcaption{font-weight:600;margin-bottom:6px}\
pre{background:#fff;border:1px solid #ddd;padding:10px;overflow:auto;font-size:13px}\
.warn{color:#8a5a00}";

/// The page's frame around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

pub(crate) fn num(v: f64) -> String {
    if v.fract() == 0.0 && (0.0..1e15).contains(&v) {
        thousands(v as u64)
    } else {
        format!("{v:.1}")
    }
}

/// A value or "no data" (missing data is never shown as 0).
fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "no data".to_owned(), |v| format!("{} {unit}", num(v)))
}

fn card(out: &mut String, key: &str, value: &str, bad: bool) {
    let _ = write!(
        out,
        "<div class=\"card{}\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
        if bad { " bad" } else { "" },
        escape(value),
        escape(key)
    );
}

/// The headline numbers of a run.
fn headline(out: &mut String, s: &Summary) {
    out.push_str("<h2>Headline numbers</h2>\n<div class=\"cards\">");
    let r = &s.requests;
    let share = if r.total > 0 {
        format!(" ({:.3} %)", 100.0 * r.failed as f64 / r.total as f64)
    } else {
        String::new()
    };
    // Failed requests with their causes (largest first), so the card says why.
    let why = super::notice::failure_causes(s);
    let key = if why.is_empty() {
        "failed requests".to_owned()
    } else {
        format!("failed requests: {}", why.join(", "))
    };
    card(
        out,
        &key,
        &format!("{}{share}", thousands(r.failed)),
        r.failed > 0,
    );
    card(out, "latency p99", &opt(s.latency_ms.p99, "ms"), false);
    match s.rollout.duration_s {
        Some(d) => card(
            out,
            &format!("rollout ({})", s.rollout.outcome),
            &format!("{} s", num(d)),
            false,
        ),
        None => card(
            out,
            "rollout",
            &s.rollout.outcome.to_string().replace('_', " "),
            s.rollout.rollback_at_s.is_some(),
        ),
    }
    card(
        out,
        "mixed-version time",
        &format!("{} s", num(s.exposure.mixed_version_s)),
        false,
    );
    card(
        out,
        "users who met the new version",
        &thousands(s.exposure.users_exposed),
        false,
    );
    if s.exposure.bad_requests > 0 {
        card(
            out,
            "requests to a bad version",
            &thousands(s.exposure.bad_requests),
            true,
        );
    }
    if let Some(t) = s.rollout.rollback_s {
        card(out, "rollback time", &format!("{} s", num(t)), false);
    }
    card(
        out,
        "peak pods",
        &thousands(u64::from(s.capacity.peak_pods)),
        false,
    );
    card(out, "cost", &format!("{:.4}", s.capacity.cost), false);
    out.push_str("</div>\n");
}

/// The parts of a time breakdown, in the summary's order, with a colour each (Okabe–Ito, so
/// they stay apart for colour-blind readers).
fn time_parts(t: &TimeBreakdown) -> [(&'static str, f64, &'static str); 9] {
    [
        ("scheduling", t.scheduling, "#999999"),
        ("start-up", t.starting, "#E69F00"),
        ("readiness", t.readiness, "#F0E442"),
        ("termination", t.terminating, "#CC79A7"),
        ("pauses", t.pause, "#56B4E9"),
        ("analysis", t.analysis, "#009E73"),
        ("scale-down delay", t.scale_down_delay, "#0072B2"),
        ("controller ticks", t.controller, "#D55E00"),
        ("other", t.other, "#DDDDDD"),
    ]
}

/// "Where the time goes": a stacked bar of the rollout's span and the table behind it.
pub fn time_breakdown_section(t: &TimeBreakdown) -> String {
    let mut out = String::from("<h2>Where the time goes</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"sub\">{} s from the rollout's start to {}; {} s of it waiting for pods.</p>",
        num(t.total),
        escape(&t.until.replace('_', " ")),
        num(t.waiting_for_pods)
    );
    let (w, h) = (900.0, 34.0);
    let _ = write!(
        out,
        "<svg width=\"100%\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"time breakdown\">"
    );
    let mut x = 0.0;
    for (name, secs, colour) in time_parts(t) {
        if secs <= 0.0 || t.total <= 0.0 {
            continue;
        }
        let width = w * secs / t.total;
        let _ = write!(
            out,
            "<rect x=\"{x:.2}\" y=\"0\" width=\"{width:.2}\" height=\"{h}\" fill=\"{colour}\"><title>{name}: {secs:.1} s</title></rect>"
        );
        x += width;
    }
    out.push_str("</svg>\n<table><tr><th>waiting for</th><th>seconds</th><th>share</th></tr>");
    for (name, secs, colour) in time_parts(t) {
        if secs <= 0.0 {
            continue;
        }
        let share = if t.total > 0.0 {
            100.0 * secs / t.total
        } else {
            0.0
        };
        let _ = write!(
            out,
            "<tr><td><span style=\"color:{colour}\">■</span> {name}</td><td>{secs:.1}</td><td>{share:.0} %</td></tr>"
        );
    }
    out.push_str("</table>\n");
    out
}

fn failures_table(out: &mut String, s: &Summary) {
    out.push_str("<h2>Failed requests by cause</h2>\n");
    if s.requests.failed == 0 {
        out.push_str("<p>None: every request succeeded.</p>\n");
        return;
    }
    out.push_str("<table><tr><th>cause</th><th>requests</th></tr>");
    for (cause, n) in s.requests.failed_by_cause.iter().filter(|(_, n)| **n > 0) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(cause),
            thousands(*n)
        );
    }
    out.push_str("</table>\n");
}

fn versions_table(out: &mut String, s: &Summary) {
    out.push_str("<h2>Versions</h2>\n<table><tr><th>version</th><th>requests</th><th>failed</th><th>p50 (ms)</th><th>p99 (ms)</th></tr>");
    for (name, v) in &s.versions {
        let ms = |x: Option<f64>| x.map_or_else(|| "no data".to_owned(), |x| format!("{x:.1}"));
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            thousands(v.requests),
            thousands(v.failed),
            ms(v.latency_ms.p50),
            ms(v.latency_ms.p99)
        );
    }
    out.push_str("</table>\n");
}

/// Inlines figures, each in a `<figure>` with its title.
pub fn figures_section(figures: &[Figure]) -> String {
    let mut out = String::new();
    if figures.is_empty() {
        return out;
    }
    out.push_str("<h2>Plots</h2>\n");
    for f in figures {
        let _ = writeln!(
            out,
            "<figure><figcaption>{}</figcaption>{}</figure>",
            escape(&f.title),
            inline_svg(&f.svg)
        );
    }
    out
}

/// An SVG file may start with `<?xml …?>`, which has no place inside HTML.
fn strip_xml_declaration(svg: &str) -> &str {
    let t = svg.trim_start();
    match t.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").map_or(t, |i| rest[i + 2..].trim_start()),
        None => t,
    }
}

/// The SVG namespace declaration: needed in a `.svg` file, implied for `<svg>` inside HTML.
/// Dropped when inlining, so the page holds no URL at all (easy to check, and nothing that
/// even looks like a fetch).
const SVG_NS: &str = " xmlns=\"http://www.w3.org/2000/svg\"";

/// A rollsim SVG document as an inline `<svg>` element.
pub fn inline_svg(svg: &str) -> String {
    strip_xml_declaration(svg).replacen(SVG_NS, "", 1)
}

/// Where a report's run came from: the scenario file, its `description`, and its text (shown
/// escaped at the end, and read for its "What it teaches" paragraph).
#[derive(Clone, Copy, Debug)]
pub struct About<'a> {
    /// The scenario file's name (no folders, so a report does not depend on where it ran).
    pub file: &'a str,
    /// The scenario's `description`.
    pub description: Option<&'a str>,
    /// The scenario file's text.
    pub source: &'a str,
}

/// A scenario as `report.html` shows it, owned (a comparison keeps one per input).
#[derive(Clone, Debug)]
pub struct ScenarioText {
    /// The file's name, without its folders.
    pub file: String,
    /// The scenario's `description`.
    pub description: Option<String>,
    /// The file's text.
    pub text: std::sync::Arc<str>,
}

impl ScenarioText {
    /// Reads the scenario file at `path` (just loaded, so a failure to read it again leaves
    /// the page without its text rather than failing the run).
    pub fn read(path: &std::path::Path, description: Option<&str>) -> ScenarioText {
        ScenarioText {
            file: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            description: description.map(str::to_owned),
            text: std::fs::read_to_string(path).unwrap_or_default().into(),
        }
    }

    /// The report's view of it.
    pub fn about(&self) -> About<'_> {
        About {
            file: &self.file,
            description: self.description.as_deref(),
            source: &self.text,
        }
    }
}

/// A run's `report.html`: `figures` the run's plots, `extra` any further sections already
/// rendered (the ReplicaSets at each step), placed after the plots.
pub fn run_report(s: &Summary, about: &About<'_>, figures: &[Figure], extra: &str) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "<h1>{}</h1>", escape(&s.scenario));
    if let Some(d) = about.description {
        let _ = writeln!(body, "<p class=\"lead\">{}</p>", escape(d));
    }
    let _ = writeln!(
        body,
        "<p class=\"sub\">{}: strategy {}, load balancer {}, seed {}, {} s simulated</p>",
        escape(about.file),
        escape(&s.strategy),
        escape(&s.load_balancer),
        s.seed,
        num(s.duration_s)
    );
    for w in &s.warnings {
        let _ = writeln!(body, "<p class=\"warn\">warning: {}</p>", escape(w));
    }
    headline(&mut body, s);
    body.push_str(&super::notice::notice_section(
        s,
        what_it_teaches(about.source).as_deref(),
    ));
    if let Some(t) = &s.rollout.time_breakdown_s {
        body.push_str(&time_breakdown_section(t));
    }
    body.push_str(&figures_section(figures));
    body.push_str(extra);
    failures_table(&mut body, s);
    versions_table(&mut body, s);
    let _ = writeln!(
        body,
        "<h2>The scenario</h2>\n<details><summary>{}</summary><pre>{}</pre></details>",
        escape(about.file),
        escape(about.source)
    );
    page(&format!("rollsim: {}", s.scenario), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_makes_markup_inert() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn the_teaching_paragraph_is_read_from_the_header() {
        let src = "# title\n#\n# What it teaches: one thing\n# and another.\n#\n# more\nx = 1\n";
        assert_eq!(
            what_it_teaches(src).as_deref(),
            Some("one thing and another.")
        );
        assert_eq!(what_it_teaches("x = 1\n# What it teaches: no\n"), None);
    }

    #[test]
    fn an_xml_declaration_is_dropped_before_inlining() {
        assert_eq!(
            strip_xml_declaration("<?xml version=\"1.0\"?>\n<svg/>"),
            "<svg/>"
        );
        assert_eq!(strip_xml_declaration("<svg/>"), "<svg/>");
    }

    #[test]
    fn whole_numbers_are_written_whole() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(0.26), "0.3");
    }
}
