//! A comparison's outputs: `comparison.json`, `comparison.csv` and the table on stdout. Key
//! and column names are part of the output contract (README "Compare strategies"): extend,
//! never rename. Missing data stays missing: `null` in JSON, an empty CSV cell, "—" in the
//! table; a difference is missing when either side is.

use std::fmt::Write;

use indexmap::IndexMap;
use serde::Serialize;

use super::metrics::{all, Kind, Metric};
use super::stats::{Estimate, CONFIDENCE};
use super::{Comparison, VariantRuns};

/// `comparison.csv`'s columns: one row per metric × variant.
pub const CSV_HEADER: &str =
    "metric,unit,variant,n,mean,ci95_low,ci95_high,diff,diff_ci95_low,diff_ci95_high";

/// One cell: a variant's estimate of a metric and its difference from the baseline's
/// (`None` for the baseline itself).
struct Cell {
    value: Estimate,
    diff: Option<Estimate>,
}

fn values(m: &Metric, v: &VariantRuns) -> Vec<Option<f64>> {
    v.summaries
        .iter()
        .map(|s| m.value(s, v.new_is_bad))
        .collect()
}

/// Every metric's cells, in metric order then input order.
fn cells(c: &Comparison) -> Vec<(Metric, Vec<Cell>)> {
    all()
        .into_iter()
        .map(|m| {
            let base = c
                .variants
                .first()
                .map(|b| values(&m, b))
                .unwrap_or_default();
            let row = c
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let x = values(&m, v);
                    Cell {
                        value: Estimate::of(&x),
                        diff: (i > 0).then(|| Estimate::paired_difference(&x, &base)),
                    }
                })
                .collect();
            (m, row)
        })
        .collect()
}

/// Rounded to 6 decimals, so that float noise does not reach the files.
fn r6(x: f64) -> f64 {
    let r = (x * 1e6).round() / 1e6;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// A mean (or difference) with its interval, as `comparison.json` holds it.
#[derive(Serialize)]
struct JsonCell {
    n: usize,
    mean: Option<f64>,
    ci95: Option<[f64; 2]>,
    diff: Option<f64>,
    diff_ci95: Option<[f64; 2]>,
}

#[derive(Serialize)]
struct JsonMetric<'a> {
    label: &'static str,
    unit: &'static str,
    variants: IndexMap<&'a str, JsonCell>,
}

#[derive(Serialize)]
struct JsonVariant<'a> {
    name: &'a str,
    file: &'a str,
    strategy: &'a str,
    seeds: &'a [u64],
    outcomes: IndexMap<&'static str, usize>,
}

#[derive(Serialize)]
struct JsonComparison<'a> {
    baseline: Option<&'a str>,
    runs_per_variant: usize,
    confidence: f64,
    identical_traffic: bool,
    warnings: &'a [String],
    variants: Vec<JsonVariant<'a>>,
    metrics: IndexMap<&'static str, JsonMetric<'a>>,
}

fn pair(x: Option<(f64, f64)>) -> Option<[f64; 2]> {
    x.map(|(lo, hi)| [r6(lo), r6(hi)])
}

/// How many runs of `v` ended in each outcome, in the order first seen.
fn outcomes(v: &VariantRuns) -> IndexMap<&'static str, usize> {
    let mut o = IndexMap::new();
    for s in &v.summaries {
        *o.entry(s.rollout.outcome.as_str()).or_insert(0) += 1;
    }
    o
}

/// `comparison.json`: the inputs, then every metric side by side (variants in input order)
/// with its difference from the baseline.
pub fn comparison_json(c: &Comparison) -> String {
    let metrics = cells(c)
        .into_iter()
        .map(|(m, row)| {
            let variants = c
                .variants
                .iter()
                .zip(&row)
                .map(|(v, cell)| {
                    let d = cell.diff.as_ref();
                    let cell = JsonCell {
                        n: cell.value.n,
                        mean: cell.value.mean.map(r6),
                        ci95: pair(cell.value.ci95),
                        diff: d.and_then(|d| d.mean).map(r6),
                        diff_ci95: pair(d.and_then(|d| d.ci95)),
                    };
                    (v.name.as_str(), cell)
                })
                .collect();
            let metric = JsonMetric {
                label: m.label,
                unit: m.kind.unit(),
                variants,
            };
            (m.key, metric)
        })
        .collect();
    let doc = JsonComparison {
        baseline: c.variants.first().map(|v| v.name.as_str()),
        runs_per_variant: c.variants.first().map_or(0, |v| v.summaries.len()),
        confidence: CONFIDENCE,
        identical_traffic: c.warnings.is_empty(),
        warnings: &c.warnings,
        variants: c
            .variants
            .iter()
            .map(|v| JsonVariant {
                name: &v.name,
                file: &v.file,
                strategy: &v.strategy,
                seeds: &v.seeds,
                outcomes: outcomes(v),
            })
            .collect(),
        metrics,
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("comparison serialises");
    s.push('\n');
    s
}

pub(crate) fn csv_num(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| r6(x).to_string())
}

/// `comparison.csv`: tidy, one row per metric × variant ([`CSV_HEADER`]).
pub fn comparison_csv(c: &Comparison) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for (m, row) in cells(c) {
        for (v, cell) in c.variants.iter().zip(&row) {
            let d = cell.diff.as_ref();
            let lo_hi = |e: Option<&Estimate>| {
                let ci = e.and_then(|e| e.ci95);
                (csv_num(ci.map(|c| c.0)), csv_num(ci.map(|c| c.1)))
            };
            let (lo, hi) = lo_hi(Some(&cell.value));
            let (dlo, dhi) = lo_hi(d);
            let _ = writeln!(
                out,
                "{},{},{},{},{},{lo},{hi},{},{dlo},{dhi}",
                m.key,
                m.kind.unit(),
                v.name,
                cell.value.n,
                csv_num(cell.value.mean),
                csv_num(d.and_then(|d| d.mean)),
            );
        }
    }
    out
}

/// A number as the table writes it for `kind` (`signed`: a difference, with its sign); a
/// count is whole unless it is a mean (`fraction`).
fn fmt_num(kind: Kind, x: f64, signed: bool) -> String {
    fmt_num_of(kind, x, signed, x.fract() != 0.0)
}

fn fmt_num_of(kind: Kind, x: f64, signed: bool, fraction: bool) -> String {
    let decimals = match kind {
        Kind::Count if !fraction => 0,
        Kind::Count | Kind::Secs | Kind::Ms => 1,
        Kind::Share => 2,
        Kind::Money => 3,
    };
    let x = if x == 0.0 { 0.0 } else { x };
    if signed {
        format!("{x:+.decimals$}")
    } else {
        format!("{x:.decimals$}")
    }
}

fn fmt_estimate(kind: Kind, e: &Estimate, signed: bool) -> String {
    match (e.mean, e.ci95) {
        (None, _) => "—".into(),
        (Some(m), None) => fmt_num(kind, m, signed),
        // A mean over runs: counts get a decimal too, so a column reads alike.
        (Some(m), Some((lo, hi))) => format!(
            "{} ±{}",
            fmt_num_of(kind, m, signed, true),
            fmt_num_of(kind, (hi - lo) / 2.0, false, true)
        ),
    }
}

/// The table's rows (label, one cell per variant): strategy, outcome, then every metric, each
/// non-baseline cell with its difference from the baseline in parentheses. Failure causes no
/// run had are left out; a cause's label is indented by two spaces. `report.html` shows the
/// same rows.
pub fn table_rows(c: &Comparison) -> Vec<(String, Vec<String>)> {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    rows.push((
        "strategy".into(),
        c.variants.iter().map(|v| v.strategy.clone()).collect(),
    ));
    rows.push((
        "outcome".into(),
        c.variants
            .iter()
            .map(|v| {
                let o = outcomes(v);
                if o.len() == 1 {
                    o.keys().next().map_or(String::new(), |k| k.to_string())
                } else {
                    o.iter()
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            })
            .collect(),
    ));
    for (m, row) in cells(c) {
        if m.is_cause() && row.iter().all(|c| c.value.mean.is_none_or(|x| x == 0.0)) {
            continue;
        }
        let label = if m.is_cause() {
            format!("  {}", m.key.trim_start_matches("failed."))
        } else {
            m.label.to_string()
        };
        let texts = row
            .iter()
            .map(|cell| {
                let v = fmt_estimate(m.kind, &cell.value, false);
                match &cell.diff {
                    None => v,
                    Some(d) if d.mean.is_none() => format!("{v} (—)"),
                    Some(d) => format!("{v} ({})", fmt_estimate(m.kind, d, true)),
                }
            })
            .collect();
        rows.push((label, texts));
    }
    rows
}

/// A line saying how many runs each cell stands for.
pub(crate) fn runs_line(c: &Comparison) -> String {
    let runs = c.variants.first().map_or(0, |v| v.summaries.len());
    match c.variants.first() {
        Some(v) if runs > 1 => format!(
            "{runs} runs each (seeds {}–{}), mean ±95 % interval",
            v.seeds[0],
            v.seeds[runs - 1]
        ),
        Some(v) => format!("1 run each (seed {})", v.seeds[0]),
        None => String::new(),
    }
}

/// The table on stdout: metrics as rows, variants as columns, each non-baseline cell with its
/// difference from the baseline in parentheses. Failure causes no run had are left out.
pub fn comparison_text(c: &Comparison) -> String {
    let rows = table_rows(c);
    let label_w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..c.variants.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.1[i].chars().count())
                .chain([c.variants[i].name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let seeds = runs_line(c);
    let _ = writeln!(
        out,
        "compare    {} variants, {seeds}; in parentheses: the difference from {}",
        c.variants.len(),
        c.variants.first().map_or("", |v| v.name.as_str())
    );
    let mut line = format!("{:label_w$}", "");
    for (v, w) in c.variants.iter().zip(&widths) {
        let _ = write!(line, "  {:<w$}", v.name);
    }
    let _ = writeln!(out, "{}", line.trim_end());
    for (label, texts) in rows {
        let mut line = format!("{label:label_w$}");
        for (t, w) in texts.iter().zip(&widths) {
            let pad = w - t.chars().count();
            let _ = write!(line, "  {t}{}", " ".repeat(pad));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_by_kind_and_missing_ones_as_a_dash() {
        assert_eq!(fmt_num(Kind::Count, 12.0, false), "12");
        assert_eq!(fmt_num(Kind::Count, 12.25, true), "+12.2");
        assert_eq!(fmt_num(Kind::Money, -0.5, true), "-0.500");
        assert_eq!(fmt_num(Kind::Secs, -0.0, true), "+0.0");
        let none = Estimate::of(&[None]);
        assert_eq!(fmt_estimate(Kind::Ms, &none, false), "—");
        let two = Estimate::of(&[Some(1.0), Some(3.0)]);
        assert!(fmt_estimate(Kind::Ms, &two, false).starts_with("2.0 ±12.7"));
    }
}
