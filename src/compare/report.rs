//! The comparison's `report.html`: what was compared and why (each file's description and
//! lesson), what to notice (which variant paid least in each coin), the table of metrics with
//! their 95 % intervals and differences from the baseline (the rows of the table on stdout),
//! the comparison charts inlined, and a link to each variant's own `report.html` (relative, so
//! the folder can be moved or published as a whole). Self-contained like a run's report:
//! no script, nothing fetched, every piece of scenario text escaped.

use std::fmt::Write;

use super::output::{runs_line, table_rows};
use super::{Comparison, Input};
use crate::report::html::{escape, figures_section, page, what_it_teaches, Figure};
use crate::report::notice_html;

/// A relative link's path, percent-encoded byte by byte outside `[A-Za-z0-9._-]` (and `/`
/// between folders), so any variant name is a safe `href`.
fn href(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A link to the `report.html` in `dir` (relative), showing `text`.
fn link(text: &str, dir: &str) -> String {
    format!(
        "<a href=\"{}\">{}</a>",
        escape(&href(&format!("{dir}/report.html"))),
        escape(text)
    )
}

/// The variant with the lowest and highest value of `get` (first in input order on a tie);
/// `None` when fewer than two variants have a value or all are equal.
fn extremes<'a>(
    c: &'a Comparison,
    get: &dyn Fn(usize) -> Option<f64>,
) -> Option<(&'a str, f64, &'a str, f64)> {
    let vals: Vec<(usize, f64)> = (0..c.variants.len())
        .filter_map(|i| get(i).map(|v| (i, v)))
        .collect();
    if vals.len() < 2 {
        return None;
    }
    let lo = vals
        .iter()
        .copied()
        .fold(vals[0], |a, b| if b.1 < a.1 { b } else { a });
    let hi = vals
        .iter()
        .copied()
        .fold(vals[0], |a, b| if b.1 > a.1 { b } else { a });
    (lo.1 < hi.1).then(|| {
        (
            c.variants[lo.0].name.as_str(),
            lo.1,
            c.variants[hi.0].name.as_str(),
            hi.1,
        )
    })
}

/// The mean of a metric over a variant's runs (`None` when no run has it).
fn mean_of(c: &Comparison, key: &str, i: usize) -> Option<f64> {
    let m = super::all_metrics().into_iter().find(|m| m.key == key)?;
    let v = &c.variants[i];
    let xs: Vec<f64> = v
        .summaries
        .iter()
        .filter_map(|s| m.value(s, v.new_is_bad))
        .collect();
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// "What to notice": for each of the costs a strategy trades, who paid least and most.
fn observations(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    let many = c.variants.first().is_some_and(|v| v.summaries.len() > 1);
    let mean = if many { " (mean over the seeds)" } else { "" };
    for (key, what, unit, few, most) in [
        ("failed", "failed requests", "", "Fewest", "most"),
        (
            "users_exposed_bad",
            "users exposed to a bad version",
            "",
            "Fewest",
            "most",
        ),
        (
            "mixed_version_s",
            "mixed-version time",
            " s",
            "Shortest",
            "longest",
        ),
        ("cost", "cost", "", "Lowest", "highest"),
        (
            "rollout_duration_s",
            "rollout time",
            " s",
            "Shortest",
            "longest",
        ),
        ("rollback_s", "rollback time", " s", "Shortest", "longest"),
    ] {
        if let Some((lo, lo_v, hi, hi_v)) = extremes(c, &|i| mean_of(c, key, i)) {
            let f = |x: f64| {
                if x.fract() == 0.0 {
                    format!("{x:.0}")
                } else if x.abs() < 1.0 {
                    format!("{x:.4}")
                } else {
                    format!("{x:.1}")
                }
            };
            out.push(format!(
                "{few} {what}{mean}: {lo} ({}{unit}); {most}: {hi} ({}{unit}).",
                f(lo_v),
                f(hi_v)
            ));
        }
    }
    out
}

/// The comparison's `report.html`. `inputs` in input order (one per variant); `run_dirs` each
/// variant's folder for its first seed, relative to the comparison's folder; `figures` the
/// comparison charts (empty with `--no-plots`).
pub fn comparison_report(
    c: &Comparison,
    inputs: &[Input],
    run_dirs: &[String],
    figures: &[Figure],
) -> String {
    let names: Vec<&str> = c.variants.iter().map(|v| v.name.as_str()).collect();
    let mut body = String::new();
    let _ = writeln!(body, "<h1>Comparison: {}</h1>", escape(&names.join(", ")));
    // Each file once: its description and lesson.
    let mut seen: Vec<&str> = Vec::new();
    let mut lessons = Vec::new();
    for i in inputs {
        if seen.contains(&i.source.file.as_str()) {
            continue;
        }
        seen.push(&i.source.file);
        if let Some(d) = &i.source.description {
            let _ = writeln!(body, "<p class=\"lead\">{}</p>", escape(d));
        }
        lessons.extend(what_it_teaches(&i.source.text));
    }
    let _ = writeln!(
        body,
        "<p class=\"sub\">{}: {}; the first, {}, is the baseline.</p>",
        escape(&seen.join(", ")),
        escape(&runs_line(c)),
        escape(names.first().copied().unwrap_or(""))
    );
    for w in &c.warnings {
        let _ = writeln!(body, "<p class=\"warn\">warning: {}</p>", escape(w));
    }
    body.push_str(&notice_html(
        lessons.iter().map(String::as_str),
        &observations(c),
    ));
    body.push_str("<h2>Metrics side by side</h2>\n");
    let _ = writeln!(
        body,
        "<p class=\"sub\">In parentheses: the difference from {}{}; — is no data.</p>",
        escape(names.first().copied().unwrap_or("")),
        if c.variants.first().is_some_and(|v| v.summaries.len() > 1) {
            ", a mean ± the half-width of its 95 % interval (paired by seed)"
        } else {
            ""
        }
    );
    body.push_str("<table><tr><th></th>");
    for (n, dir) in names.iter().zip(run_dirs) {
        let _ = write!(body, "<th>{}</th>", link(n, dir));
    }
    body.push_str("</tr>\n");
    for (label, cells) in table_rows(c) {
        // A failure cause's row (indented on stdout) is indented here too.
        let class = if label.starts_with("  ") {
            " class=\"cause\""
        } else {
            ""
        };
        let _ = write!(body, "<tr{class}><td>{}</td>", escape(label.trim_start()));
        for cell in cells {
            let _ = write!(body, "<td>{}</td>", escape(&cell));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</table>\n");
    body.push_str(&figures_section(figures));
    body.push_str("<h2>Each run</h2>\n<p class=\"sub\">Each variant's own report: its timeline, the ReplicaSets and weights at each step, where its time went.</p>\n<table><tr><th>variant</th><th>strategy</th><th>file</th><th>report</th></tr>\n");
    for ((v, i), dir) in c.variants.iter().zip(inputs).zip(run_dirs) {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&v.name),
            escape(&v.strategy),
            escape(&i.source.file),
            link(&format!("{dir}/report.html"), dir)
        );
    }
    body.push_str("</table>\n");
    page(&format!("rollsim: {}", names.join(" vs ")), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_comparison_folder_is_a_reserved_variant_name() {
        use crate::report::plots::COMPARISON_PLOT_FILES;
        for f in super::super::COMPARISON_FILES
            .iter()
            .chain(COMPARISON_PLOT_FILES.iter())
        {
            assert!(crate::scenario::RESERVED_NAMES.contains(f), "{f}");
        }
    }

    #[test]
    fn a_link_is_percent_encoded() {
        assert_eq!(href("canary/report.html"), "canary/report.html");
        assert_eq!(
            href("a\"b <c>/seed-1/report.html"),
            "a%22b%20%3Cc%3E/seed-1/report.html"
        );
        assert_eq!(href("é"), "%C3%A9");
    }
}
