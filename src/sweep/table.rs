//! `sweep.csv`: one row per grid point and run — `key,point,run`, the swept parameters (the
//! value as written), `seed`, then every metric `rollsim compare` reports (same keys, empty when
//! missing). Rows are appended whole as runs finish (one write of a complete line each, then a
//! flush); when a sweep (or shard) has every row, the file is rewritten in canonical order
//! (point, then run), so an interrupted-and-resumed sweep, an uninterrupted one, whatever the
//! thread count, and merged shards all give the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::set::Param;
use crate::compare::{all_metrics, csv_num, Metric};
use crate::metrics::Summary;

/// The header line (without its newline) for these parameters.
pub fn header(params: &[Param]) -> String {
    let mut h = String::from("key,point,run");
    for p in params {
        h.push(',');
        h.push_str(&cell(&p.path));
    }
    h.push_str(",seed");
    for m in all_metrics() {
        h.push(',');
        h.push_str(m.key);
    }
    h
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
pub fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Which row: its key, grid point, run and seed.
#[derive(Clone, Copy, Debug)]
pub struct RowId<'a> {
    /// The row's key.
    pub key: &'a str,
    /// The grid point.
    pub point: u64,
    /// The run (0-based).
    pub run: u32,
    /// The run's seed.
    pub seed: u64,
}

/// One row, with its newline.
pub fn row(
    id: RowId<'_>,
    values: &[&str],
    summary: &Summary,
    new_is_bad: bool,
    metrics: &[Metric],
) -> String {
    let RowId {
        key,
        point,
        run,
        seed,
    } = id;
    let mut r = format!("{key},{point},{run}");
    for v in values {
        r.push(',');
        r.push_str(&cell(v));
    }
    let _ = write!(r, ",{seed}");
    for m in metrics {
        r.push(',');
        r.push_str(&csv_num(m.value(summary, new_is_bad)));
    }
    r.push('\n');
    r
}

/// The rows of a `sweep.csv` (complete lines only), by key.
#[derive(Debug, Default)]
pub struct Rows {
    /// The header line, if the file had one.
    pub header: Option<String>,
    /// key → (point, run, the line without its newline).
    pub by_key: BTreeMap<String, (u64, u32, String)>,
    /// Bytes of complete lines (a trailing partial line, from a killed run, is not counted).
    pub complete_len: u64,
}

/// `(key, point, run)` of a data line.
fn ids(line: &str) -> Option<(String, u64, u32)> {
    let mut it = line.splitn(4, ',');
    let key = it.next()?.to_string();
    let point = it.next()?.parse().ok()?;
    let run = it.next()?.parse().ok()?;
    (key.len() == 16).then_some((key, point, run))
}

/// Reads `text`: the header, each complete row by key; a line that is not a row is an error
/// (naming its line number).
pub fn parse_rows(text: &str) -> Result<Rows, String> {
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    let mut rows = Rows {
        complete_len: complete as u64,
        ..Rows::default()
    };
    for (n, line) in text[..complete].lines().enumerate() {
        if n == 0 {
            rows.header = Some(line.to_string());
            continue;
        }
        let (key, point, run) =
            ids(line).ok_or_else(|| format!("line {} is not a sweep row", n + 1))?;
        rows.by_key.insert(key, (point, run, line.to_string()));
    }
    Ok(rows)
}

/// The file with `header` and `rows` in canonical order (point, then run).
pub fn canonical(header: &str, rows: &Rows) -> String {
    let mut sorted: Vec<&(u64, u32, String)> = rows.by_key.values().collect();
    sorted.sort_by_key(|(p, r, _)| (*p, *r));
    let mut out = String::with_capacity(header.len() + 1 + sorted.len() * 200);
    out.push_str(header);
    out.push('\n');
    for (_, _, line) in sorted {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Writes `text` to `path` whole: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Splits a CSV line into cells (quotes as `cell` writes them).
pub fn split_cells(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => out.push(std::mem::take(&mut cur)),
            (_, c) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "key,point,run,a,b,seed,failed\n\
        0000000000000001,0,0,1,x,7,4\n\
        0000000000000002,0,1,1,x,8,6\n\
        0000000000000003,1,0,1,y,7,\n\
        0000000000000004,2,0,2,x,7,1\n";

    #[test]
    fn a_trailing_partial_line_is_not_a_row() {
        let text = format!("{CSV}0000000000000005,3,0,2,y,7,1");
        let rows = parse_rows(&text).unwrap();
        assert_eq!(rows.by_key.len(), 4);
        assert_eq!(rows.complete_len, CSV.len() as u64);
        assert_eq!(
            rows.header.as_deref(),
            Some("key,point,run,a,b,seed,failed")
        );
        assert!(parse_rows("h\nnot a row\n").unwrap_err().contains("line 2"));
    }

    #[test]
    fn canonical_order_is_point_then_run_whatever_the_order_written() {
        let lines: Vec<&str> = CSV.lines().collect();
        let shuffled = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            lines[0], lines[4], lines[2], lines[3], lines[1]
        );
        let rows = parse_rows(&shuffled).unwrap();
        assert_eq!(canonical(lines[0], &rows), CSV);
    }

    #[test]
    fn cells_round_trip_through_quotes() {
        for s in ["plain", "a,b", "say \"hi\"", ""] {
            assert_eq!(split_cells(&format!("{},z", cell(s))), [s, "z"]);
        }
    }
}
