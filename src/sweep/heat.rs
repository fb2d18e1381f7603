//! Heat maps of a sweep: one metric over two swept parameters, each cell aggregating the rows
//! at its (x, y) — the runs, and every value of any other swept parameter — by the mean unless
//! told otherwise. The grid comes from a `sweep.csv` (a sweep's folder, or shards merged by
//! `rollsim merge`); the drawing is `report::plots::heat_map`.
//!
//! `rollsim sweep … --heatmap X,Y,METRIC` draws one after the sweep, into its folder;
//! `rollsim heatmap DIR --x X --y Y --metric METRIC` draws one from an existing folder. Both
//! check the names before anything runs or is written: X and Y must be two swept parameters
//! and METRIC one of `sweep.csv`'s metric columns.

use std::fmt;
use std::path::{Path, PathBuf};

use super::command::{bad, Meta, META_FILE, SWEEP_FILE};
use super::set::{parse_set, Param};
use super::table::{split_cells, write_atomic};
use crate::cli::{EXIT_BAD_INPUT, EXIT_IO};
use crate::compare::all_metrics;

/// How a cell's rows become its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Agg {
    /// The arithmetic mean of the rows that have a value.
    #[default]
    Mean,
    /// The median (the mean of the two middle values for an even count).
    Median,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
}

impl Agg {
    /// The word shown on the chart.
    pub fn word(self) -> &'static str {
        match self {
            Agg::Mean => "mean",
            Agg::Median => "median",
            Agg::Min => "minimum",
            Agg::Max => "maximum",
        }
    }

    /// The aggregate of `v` (not empty).
    fn of(self, v: &mut [f64]) -> f64 {
        match self {
            Agg::Mean => v.iter().sum::<f64>() / v.len() as f64,
            Agg::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
            Agg::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Agg::Median => {
                v.sort_by(f64::total_cmp);
                let n = v.len();
                if n % 2 == 1 {
                    v[n / 2]
                } else {
                    (v[n / 2 - 1] + v[n / 2]) / 2.0
                }
            }
        }
    }
}

/// A metric over two swept parameters: what a heat map draws.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatGrid {
    /// The parameter along x.
    pub x: String,
    /// The x values, in sweep order.
    pub xs: Vec<String>,
    /// The parameter along y.
    pub y: String,
    /// The y values, in sweep order (drawn bottom to top).
    pub ys: Vec<String>,
    /// The metric's column in `sweep.csv`.
    pub metric: String,
    /// The metric in words with its unit (`failed requests (count)`).
    pub label: String,
    /// How each cell's rows were aggregated.
    pub agg: Agg,
    /// `values[yi][xi]`: the aggregate of the rows at (x, y) that have the metric; `None` when
    /// none has (no row, or every row's cell empty): "no data", never 0.
    pub values: Vec<Vec<Option<f64>>>,
    /// `rows[yi][xi]`: how many rows have a value there.
    pub rows: Vec<Vec<usize>>,
    /// The other swept parameters with more than one value among the rows: each cell
    /// aggregates over their values.
    pub others: Vec<String>,
    /// `PATH=VALUE` filters the rows were restricted to.
    pub filters: Vec<String>,
}

/// What a heat map asks for.
#[derive(Clone, Debug, Default)]
pub struct HeatSpec {
    /// The x parameter.
    pub x: String,
    /// The y parameter.
    pub y: String,
    /// The metric column.
    pub metric: String,
    /// The aggregation.
    pub agg: Agg,
    /// `PATH=VALUE`: keep only the rows where a swept parameter has that value.
    pub filters: Vec<String>,
}

/// A heat map that cannot be drawn: what is wrong and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeatError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl fmt::Display for HeatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

fn err(message: String, help: impl Into<String>) -> HeatError {
    HeatError {
        message,
        help: help.into(),
    }
}

/// The metric's words and unit, from the comparison's metrics (the column name when unknown).
pub fn metric_label(key: &str) -> String {
    all_metrics()
        .into_iter()
        .find(|m| m.key == key)
        .map_or_else(
            || key.to_string(),
            |m| {
                let unit = match m.kind.unit() {
                    "cost" => "cost units",
                    u => u,
                };
                if m.label.contains('(') {
                    m.label.to_string()
                } else {
                    format!("{} ({unit})", m.label)
                }
            },
        )
}

/// Checks `spec`'s names against a sweep's parameter paths and the metric keys, before
/// anything runs (`rollsim sweep --heatmap`).
pub fn check_names(spec: &HeatSpec, params: &[&str], metrics: &[&str]) -> Result<(), HeatError> {
    let swept = params.join(", ");
    if params.len() < 2 {
        return Err(err(
            format!(
                "a heat map needs two swept parameters; this sweep varies {}",
                if swept.is_empty() { "none" } else { &swept }
            ),
            "sweep two parameters (--set A=… --set B=…), or plot one with a spreadsheet",
        ));
    }
    for (axis, p) in [("x", &spec.x), ("y", &spec.y)] {
        if !params.contains(&p.as_str()) {
            let what = if metrics.contains(&p.as_str()) {
                format!("`{p}` (the {axis} axis) is a metric, not a swept parameter")
            } else {
                format!("`{p}` (the {axis} axis) is not a swept parameter of this sweep")
            };
            return Err(err(
                format!("{what}; the swept parameters are {swept}"),
                "give two of the swept parameters' paths, as in --set",
            ));
        }
    }
    if spec.x == spec.y {
        return Err(err(
            format!("x and y are both `{}`", spec.x),
            "give two different swept parameters",
        ));
    }
    if !metrics.contains(&spec.metric.as_str()) {
        let what = if params.contains(&spec.metric.as_str()) {
            format!("`{}` is a swept parameter, not a metric", spec.metric)
        } else {
            format!("`{}` is not a metric of sweep.csv", spec.metric)
        };
        return Err(err(
            format!("{what}; the metrics are {}", metrics.join(", ")),
            "name one of sweep.csv's metric columns, e.g. failed, p99_ms, cost, rollout_duration_s (or its summary.json path: requests.failed, latency_ms.p99, capacity.cost, rollout.duration_s)",
        ));
    }
    Ok(())
}

/// Parses `--heatmap X,Y,METRIC`.
pub fn parse_heatmap_arg(arg: &str) -> Result<HeatSpec, HeatError> {
    let parts: Vec<&str> = arg.split(',').map(str::trim).collect();
    match parts[..] {
        [x, y, m] if !x.is_empty() && !y.is_empty() && !m.is_empty() => Ok(HeatSpec {
            x: x.into(),
            y: y.into(),
            metric: crate::compare::metrics::key_for(m).into(),
            ..HeatSpec::default()
        }),
        _ => Err(err(
            format!("--heatmap {arg}: expected X,Y,METRIC"),
            "write --heatmap rollout.max_surge,rollout.max_unavailable,failed (two swept paths, then a metric column of sweep.csv)",
        )),
    }
}

/// The grid of `spec` over a `sweep.csv`'s text. `order`: the sweep's parameters (from
/// `sweep.json`), so the axes keep the sweep's order and a point without rows shows as no
/// data; without it, values in order of first appearance (the sweep's order in a complete file).
pub fn grid(csv: &str, spec: &HeatSpec, order: Option<&[Param]>) -> Result<HeatGrid, HeatError> {
    let mut lines = csv.lines();
    let header = split_cells(lines.next().unwrap_or(""));
    let (Some(run), Some(seed)) = (
        header.iter().position(|h| h == "run"),
        header.iter().position(|h| h == "seed"),
    ) else {
        return Err(err(
            "sweep.csv has no header of a sweep (key,point,run,…,seed,…)".into(),
            "point at a folder written by `rollsim sweep` or `rollsim merge`",
        ));
    };
    let params: Vec<&str> = header[run + 1..seed.max(run + 1)]
        .iter()
        .map(String::as_str)
        .collect();
    let metrics: Vec<&str> = header[seed + 1..].iter().map(String::as_str).collect();
    check_names(spec, &params, &metrics)?;
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or(0);
    let mut filters = Vec::new();
    for f in &spec.filters {
        let Some((p, v)) = f.split_once('=') else {
            return Err(err(
                format!("--where {f}: expected PATH=VALUE"),
                "e.g. --where pod.pre_stop=5s",
            ));
        };
        let (p, v) = (p.trim(), v.trim());
        if !params.contains(&p) || p == spec.x || p == spec.y {
            return Err(err(
                format!("--where {f}: `{p}` is not one of the other swept parameters"),
                "filter on a swept parameter that is on neither axis",
            ));
        }
        filters.push((col(p), p.to_string(), v.to_string()));
    }
    let (cx, cy, cm) = (col(&spec.x), col(&spec.y), col(&spec.metric));
    let values_of = |name: &str| -> Vec<String> {
        order
            .and_then(|ps| ps.iter().find(|p| p.path == name))
            .map(|p| p.values.clone())
            .unwrap_or_default()
    };
    let (mut xs, mut ys) = (values_of(&spec.x), values_of(&spec.y));
    let mut cells: Vec<(usize, usize, Option<f64>)> = Vec::new();
    // The values seen of each parameter, to name only those that vary among the kept rows.
    let mut seen: Vec<Vec<String>> = vec![Vec::new(); params.len()];
    let mut seen_filter = vec![false; filters.len()];
    for line in lines.filter(|l| !l.is_empty()) {
        let c = split_cells(line);
        let (Some(vx), Some(vy), Some(vm)) = (c.get(cx), c.get(cy), c.get(cm)) else {
            continue;
        };
        let mut keep = true;
        for (i, (fc, _, fv)) in filters.iter().enumerate() {
            if c.get(*fc) == Some(fv) {
                seen_filter[i] = true;
            } else {
                keep = false;
            }
        }
        if !keep {
            continue;
        }
        for (k, vals) in seen.iter_mut().enumerate() {
            if let Some(v) = c.get(run + 1 + k) {
                if !vals.contains(v) {
                    vals.push(v.clone());
                }
            }
        }
        let at = |vals: &mut Vec<String>, v: &String| {
            vals.iter().position(|e| e == v).unwrap_or_else(|| {
                vals.push(v.clone());
                vals.len() - 1
            })
        };
        let (ix, iy) = (at(&mut xs, vx), at(&mut ys, vy));
        cells.push((ix, iy, vm.parse().ok().filter(|v: &f64| v.is_finite())));
    }
    if let Some(i) = seen_filter.iter().position(|s| !s) {
        let (_, p, v) = &filters[i];
        let known = values_of(p);
        return Err(err(
            format!("--where {p}={v}: no row has that value"),
            if known.is_empty() {
                "give a value as written in sweep.csv's column".to_string()
            } else {
                format!("the swept values are {}", known.join(", "))
            },
        ));
    }
    let mut found = vec![vec![Vec::new(); xs.len()]; ys.len()];
    for (ix, iy, v) in cells {
        if let Some(v) = v {
            found[iy][ix].push(v);
        }
    }
    let rows = found
        .iter()
        .map(|r| r.iter().map(Vec::len).collect())
        .collect();
    let values = found
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|mut v| (!v.is_empty()).then(|| spec.agg.of(&mut v)))
                .collect()
        })
        .collect();
    let fixed: Vec<&str> = filters.iter().map(|(_, p, _)| p.as_str()).collect();
    Ok(HeatGrid {
        x: spec.x.clone(),
        xs,
        y: spec.y.clone(),
        ys,
        metric: spec.metric.clone(),
        label: metric_label(&spec.metric),
        agg: spec.agg,
        values,
        rows,
        others: params
            .iter()
            .zip(&seen)
            .filter(|(p, vals)| {
                **p != spec.x && **p != spec.y && !fixed.contains(p) && vals.len() > 1
            })
            .map(|(p, _)| p.to_string())
            .collect(),
        filters: filters
            .into_iter()
            .map(|(_, p, v)| format!("{p}={v}"))
            .collect(),
    })
}

/// The grid of `metric` over `x` and `y` (means, values in order of appearance): the
/// simplest use of [`grid`].
pub fn heat_grid(csv: &str, x: &str, y: &str, metric: &str) -> Result<HeatGrid, HeatError> {
    let spec = HeatSpec {
        x: x.into(),
        y: y.into(),
        metric: crate::compare::metrics::key_for(metric).into(),
        ..HeatSpec::default()
    };
    grid(csv, &spec, None)
}

/// The file name stem of a heat map: `heatmap-METRIC-by-X-and-Y` (characters other than
/// letters, digits, `.`, `_` and `-` become `_`).
pub fn file_stem(spec: &HeatSpec) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "heatmap-{}-by-{}-and-{}",
        clean(&spec.metric),
        clean(&spec.x),
        clean(&spec.y)
    )
}

/// The sweep's parameters from its `sweep.json`, if it is there and readable.
pub(super) fn params_of(dir: &Path) -> Option<Vec<Param>> {
    let meta: Meta =
        serde_json::from_str(&std::fs::read_to_string(dir.join(META_FILE)).ok()?).ok()?;
    meta.set.iter().map(|s| parse_set(s).ok()).collect()
}

/// Draws `spec` from `csv` and writes `<out>.svg` and `<out>.png` (each whole, through a
/// temporary file). Returns the two paths.
pub(super) fn draw(
    csv: &str,
    spec: &HeatSpec,
    order: Option<&[Param]>,
    out: &Path,
) -> Result<[PathBuf; 2], (u8, HeatError)> {
    let g = grid(csv, spec, order).map_err(|e| (EXIT_BAD_INPUT, e))?;
    let (svg, png) = crate::report::plots::heat_map(&g).map_err(|e| {
        (
            EXIT_IO,
            err(e.to_string(), "report this: a heat map should always draw"),
        )
    })?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let svg_path = out.with_file_name(format!("{name}.svg"));
    let png_path = out.with_file_name(format!("{name}.png"));
    let io = |p: &Path, e: std::io::Error| {
        (
            EXIT_IO,
            err(
                format!("cannot write {}: {e}", p.display()),
                "check the folder exists and is writable",
            ),
        )
    };
    write_atomic(&svg_path, &svg).map_err(|e| io(&svg_path, e))?;
    write_bytes_atomic(&png_path, &png).map_err(|e| io(&png_path, e))?;
    Ok([svg_path, png_path])
}

fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    std::fs::rename(&tmp, path)
}

/// `rollsim heatmap`'s arguments.
#[derive(clap::Args, Debug)]
pub struct HeatmapArgs {
    /// A sweep's folder (sweep.csv, and sweep.json for the axes' order), or shards merged by
    /// `rollsim merge`, or a sweep.csv file.
    pub dir: PathBuf,
    /// The swept parameter along x (its path, as in --set).
    #[arg(long)]
    pub x: String,
    /// The swept parameter along y.
    #[arg(long)]
    pub y: String,
    /// The metric: a metric column of sweep.csv (failed, p99_ms, cost, rollout_duration_s, …).
    #[arg(long)]
    pub metric: String,
    /// How each cell's rows (its runs, and the values of any other swept parameter) are
    /// combined.
    #[arg(long, value_enum, default_value_t = Agg::Mean)]
    pub agg: Agg,
    /// Keep only rows where another swept parameter has this value (repeatable).
    #[arg(long = "where", value_name = "PATH=VALUE")]
    pub filters: Vec<String>,
    /// Output path without extension: writes OUT.svg and OUT.png (default:
    /// DIR/heatmap-METRIC-by-X-and-Y). A .svg or .png extension given is dropped.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `rollsim heatmap`.
pub fn cmd_heatmap(args: &HeatmapArgs) -> u8 {
    let (dir, csv_path) = if args.dir.is_file() {
        let dir = args
            .dir
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        (dir, args.dir.clone())
    } else {
        (args.dir.clone(), args.dir.join(SWEEP_FILE))
    };
    let text = match std::fs::read(&csv_path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            let what = if !args.dir.exists() {
                format!("{} does not exist", args.dir.display())
            } else if !csv_path.exists() {
                format!(
                    "{} is not a sweep's folder: it holds no {SWEEP_FILE}",
                    args.dir.display()
                )
            } else {
                format!("cannot read {}: {e}", csv_path.display())
            };
            return bad(
                &what,
                "give a folder written by `rollsim sweep` or `rollsim merge` (it holds sweep.csv)",
            );
        }
    };
    let spec = HeatSpec {
        x: args.x.clone(),
        y: args.y.clone(),
        metric: crate::compare::metrics::key_for(&args.metric).into(),
        agg: args.agg,
        filters: args.filters.clone(),
    };
    let out = match &args.out {
        Some(o) => match o.extension().and_then(|e| e.to_str()) {
            Some("svg" | "png") => o.with_extension(""),
            _ => o.clone(),
        },
        None => dir.join(file_stem(&spec)),
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return bad(
                &format!(
                    "--out {}: the folder {} does not exist",
                    out.display(),
                    parent.display()
                ),
                "create the folder first, or pick another --out",
            );
        }
    }
    let order = params_of(&dir);
    match draw(&text, &spec, order.as_deref(), &out) {
        Ok([svg, png]) => {
            println!("wrote      {} and {}", svg.display(), png.display());
            0
        }
        Err((code, e)) => {
            let at = csv_path.display();
            if code == EXIT_BAD_INPUT {
                bad(&format!("{at}: {}", e.message), &e.help)
            } else {
                eprintln!("error: {}", e.message);
                code
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "key,point,run,a,b,seed,failed,p99_ms\n\
        0000000000000001,0,0,1,x,7,4,10\n\
        0000000000000002,0,1,1,x,8,6,30\n\
        0000000000000003,1,0,1,y,7,,\n\
        0000000000000004,2,0,2,x,7,1,\n";

    #[test]
    fn cells_aggregate_their_runs_and_keep_missing_values_missing() {
        let g = heat_grid(CSV, "a", "b", "failed").unwrap();
        assert_eq!(
            (g.xs.clone(), g.ys.clone()),
            (vec!["1".into(), "2".into()], vec!["x".into(), "y".into()])
        );
        assert_eq!(g.values, [[Some(5.0), Some(1.0)], [None, None]]);
        assert_eq!(g.rows, [[2, 1], [0, 0]]);
        assert_eq!(g.label, "failed requests (count)");
        let spec = |agg| HeatSpec {
            x: "a".into(),
            y: "b".into(),
            metric: "failed".into(),
            agg,
            filters: vec![],
        };
        let at = |agg| grid(CSV, &spec(agg), None).unwrap().values[0][0];
        assert_eq!(
            [Agg::Median, Agg::Min, Agg::Max].map(at),
            [Some(5.0), Some(4.0), Some(6.0)]
        );
    }

    #[test]
    fn the_sweep_order_places_points_without_rows_as_no_data() {
        let ps = [parse_set("a=1,2,3").unwrap(), parse_set("b=y,x").unwrap()];
        let g = grid(
            CSV,
            &HeatSpec {
                x: "a".into(),
                y: "b".into(),
                metric: "p99_ms".into(),
                ..HeatSpec::default()
            },
            Some(&ps),
        )
        .unwrap();
        assert_eq!(g.xs, ["1", "2", "3"]);
        assert_eq!(g.ys, ["y", "x"]);
        assert_eq!(g.values, [[None, None, None], [Some(20.0), None, None]]);
    }

    #[test]
    fn bad_names_say_what_the_sweep_has() {
        for (x, y, m, needle) in [
            (
                "a",
                "c",
                "failed",
                "`c` (the y axis) is not a swept parameter",
            ),
            (
                "failed",
                "b",
                "failed",
                "is a metric, not a swept parameter",
            ),
            ("a", "a", "failed", "both `a`"),
            (
                "a",
                "b",
                "p95_ms",
                "not a metric of sweep.csv; the metrics are failed, p99_ms",
            ),
            ("a", "b", "b", "is a swept parameter, not a metric"),
        ] {
            let e = heat_grid(CSV, x, y, m).unwrap_err();
            assert!(e.message.contains(needle), "{x} {y} {m}: {}", e.message);
        }
        let one = "key,point,run,a,seed,failed\n";
        assert!(heat_grid(one, "a", "b", "failed")
            .unwrap_err()
            .message
            .contains("needs two swept parameters"));
        assert!(heat_grid("", "a", "b", "failed").is_err());
    }

    #[test]
    fn heatmap_arguments_name_two_axes_and_a_metric() {
        let s = parse_heatmap_arg("rollout.max_surge, traffic.rate,failed").unwrap();
        assert_eq!(
            (s.x.as_str(), s.y.as_str()),
            ("rollout.max_surge", "traffic.rate")
        );
        assert_eq!(
            file_stem(&s),
            "heatmap-failed-by-rollout.max_surge-and-traffic.rate"
        );
        for bad in ["a,b", "a,b,c,d", "a,,c"] {
            assert!(parse_heatmap_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_filter_keeps_one_value_of_another_parameter() {
        let csv = "key,point,run,a,b,c,seed,failed\n\
            0000000000000001,0,0,1,x,u,7,4\n\
            0000000000000002,1,0,1,x,v,7,8\n";
        let spec = |filters: Vec<String>| HeatSpec {
            x: "a".into(),
            y: "b".into(),
            metric: "failed".into(),
            filters,
            ..HeatSpec::default()
        };
        let all = grid(csv, &spec(vec![]), None).unwrap();
        assert_eq!(
            (all.values[0][0], all.others.clone()),
            (Some(6.0), vec!["c".into()])
        );
        let v = grid(csv, &spec(vec!["c=v".into()]), None).unwrap();
        assert_eq!((v.values[0][0], v.others.len()), (Some(8.0), 0));
        assert!(grid(csv, &spec(vec!["c=w".into()]), None)
            .unwrap_err()
            .message
            .contains("no row has that value"));
        assert!(grid(csv, &spec(vec!["a=1".into()]), None).is_err());
    }
}
