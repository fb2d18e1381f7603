//! Heat maps of a sweep (`rollsim sweep --heatmap`, `rollsim heatmap`): a valid SVG holding
//! every cell's value, a real PNG, the same bytes every time (and from merged shards as from
//! the unsharded sweep), missing cells drawn as "no data", and bad names refused with exit 2
//! before anything is run or written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::common::{root, temp_dir};
use super::plots::assert_balanced;
use super::sweep::scenario;

const GRID: [&str; 6] = [
    "--set",
    "rollout.max_surge=1,2,50%",
    "--set",
    "deployment.replicas=2..4:1",
    "--runs",
    "2",
];

const AXES: &str = "rollout.max_surge,deployment.replicas";

fn rollsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollsim"))
        .args(args)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .current_dir(root())
        .output()
        .expect("run rollsim")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Sweeps GRID into `dir/out` with `extra` arguments.
fn sweep(dir: &Path, out: &str, extra: &[&str]) -> (Output, PathBuf) {
    let s = scenario(dir);
    let out = dir.join(out);
    let mut args = vec!["sweep", s.to_str().unwrap()];
    args.extend(GRID);
    args.extend(["--quiet", "--out", out.to_str().unwrap()]);
    args.extend(extra);
    (rollsim(&args), out)
}

/// The texts of an SVG's `<text>` elements, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// Decodes a PNG: its size and how many distinct colours it has.
fn png_colours(bytes: &[u8]) -> (u32, u32, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    let colours: std::collections::BTreeSet<&[u8]> = buf.chunks(3).collect();
    (info.width, info.height, colours.len())
}

/// The mean of column `metric` per (max_surge, replicas) from a sweep.csv.
fn means(csv: &str, metric: &str) -> Vec<f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (cx, cy, cm) = (
        col("rollout.max_surge"),
        col("deployment.replicas"),
        col(metric),
    );
    let mut cells: Vec<((String, String), Vec<f64>)> = Vec::new();
    for l in lines {
        let c: Vec<&str> = l.split(',').collect();
        let k = (c[cx].to_string(), c[cy].to_string());
        let v: f64 = c[cm].parse().unwrap();
        match cells.iter_mut().find(|e| e.0 == k) {
            Some(e) => e.1.push(v),
            None => cells.push((k, vec![v])),
        }
    }
    cells
        .into_iter()
        .map(|(_, v)| v.iter().sum::<f64>() / v.len() as f64)
        .collect()
}

fn heat_files(dir: &Path, metric: &str) -> (String, Vec<u8>) {
    let stem = format!("heatmap-{metric}-by-rollout.max_surge-and-deployment.replicas");
    (
        std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap(),
        std::fs::read(dir.join(format!("{stem}.png"))).unwrap(),
    )
}

#[test]
fn a_sweep_draws_its_heat_map_with_every_cell_value_and_a_labelled_legend() {
    let dir = temp_dir("heat-sweep");
    let heat = format!("{AXES},peak_pods");
    let (o, out) = sweep(&dir, "a", &["--heatmap", &heat]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (svg, png) = heat_files(&out, "peak_pods");
    assert_balanced(&svg, "heat map");
    let t = texts(&svg);
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let cells = means(&csv, "peak_pods");
    assert_eq!(cells.len(), 9);
    for v in cells {
        // Peak pods are whole numbers; two runs of a point may differ, so a mean may not be.
        let shown = if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        };
        assert!(t.contains(&shown), "no cell {shown} in {t:?}");
    }
    for needle in [
        "peak pods (count)",
        "mean per cell",
        "rollout.max_surge",
        "deployment.replicas",
        "50%",
    ] {
        assert!(
            t.iter().any(|s| s.contains(needle)),
            "no {needle:?} in {t:?}"
        );
    }
    assert!(
        t.iter()
            .any(|s| s.contains("the mean over its runs (2 rows)")),
        "the aggregation is said: {t:?}"
    );
    // The viridis ends: the lowest cell is dark purple, the highest yellow.
    assert!(svg.contains("#440154") && svg.contains("#FDE725"));
    assert!(!t.iter().any(|s| s == "no data"), "every cell has data");
    let (w, h, colours) = png_colours(&png);
    assert!(w >= 600 && h >= 300, "{w}×{h}");
    assert!(colours > 30, "{colours} colours");
}

#[test]
fn missing_values_are_no_data_never_zero() {
    let dir = temp_dir("heat-missing");
    let (o, out) = sweep(&dir, "a", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // No run rolls back: every rollback_s cell is empty.
    let o = rollsim(&[
        "heatmap",
        out.to_str().unwrap(),
        "--x",
        "rollout.max_surge",
        "--y",
        "deployment.replicas",
        "--metric",
        "rollback_s",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (svg, png) = heat_files(&out, "rollback_s");
    let t = texts(&svg);
    assert_eq!(
        t.iter().filter(|s| *s == "no data").count(),
        10,
        "9 cells and the legend's swatch: {t:?}"
    );
    assert!(
        !t.iter().any(|s| s == "0"),
        "a missing cell drawn as 0: {t:?}"
    );
    assert!(!svg.contains("#440154"), "no colour scale without data");
    assert!(png_colours(&png).2 > 5);
}

#[test]
fn heat_maps_are_byte_identical_and_merged_shards_draw_the_unsharded_map() {
    let dir = temp_dir("heat-same");
    let heat = format!("{AXES},failed");
    let (o, whole) = sweep(&dir, "whole", &["--heatmap", &heat]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = heat_files(&whole, "failed");
    // Drawn again from the folder: the same bytes.
    let o = rollsim(&[
        "heatmap",
        whole.to_str().unwrap(),
        "--x",
        "rollout.max_surge",
        "--y",
        "deployment.replicas",
        "--metric",
        "failed",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(first == heat_files(&whole, "failed"), "redrawn differently");
    let mut shards = Vec::new();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let (o, out) = sweep(&dir, &format!("shard-{i}"), &["--shard", &shard]);
        assert!(o.status.success(), "{}", stderr(&o));
        shards.push(out.to_str().unwrap().to_string());
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    let o = rollsim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rollsim(&[
        "heatmap",
        merged.to_str().unwrap(),
        "--x",
        "rollout.max_surge",
        "--y",
        "deployment.replicas",
        "--metric",
        "failed",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        first == heat_files(&merged, "failed"),
        "merged shards drew another map"
    );
    // A shard alone: the other shard's points are no data.
    let o = rollsim(&[
        "heatmap",
        &shards[0],
        "--x",
        "rollout.max_surge",
        "--y",
        "deployment.replicas",
        "--metric",
        "failed",
        "--out",
        dir.join("shard0.svg").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = texts(&std::fs::read_to_string(dir.join("shard0.svg")).unwrap());
    assert_eq!(t.iter().filter(|s| *s == "no data").count(), 4 + 1);
    assert!(dir.join("shard0.png").exists());
}

#[test]
fn bad_heat_map_names_are_refused_before_anything_is_written() {
    let dir = temp_dir("heat-bad");
    for (heat, needle) in [
        (
            "rollout.max_surge,traffic.rate,failed",
            "`traffic.rate` (the y axis) is not a swept parameter",
        ),
        (
            "rollout.max_surge,deployment.replicas,p98_ms",
            "`p98_ms` is not a metric",
        ),
        ("rollout.max_surge,failed", "expected X,Y,METRIC"),
    ] {
        let (o, out) = sweep(&dir, "a", &["--heatmap", heat]);
        assert_eq!(o.status.code(), Some(2), "{heat}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{heat}: {}", stderr(&o));
        assert!(!out.exists(), "{heat}: the sweep ran");
    }
    let (o, out) = sweep(&dir, "a", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    let folder = out.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                folder,
                "--x",
                "rollout.max_surge",
                "--y",
                "seed",
                "--metric",
                "failed",
            ],
            "`seed` (the y axis) is not a swept parameter",
        ),
        (
            vec![
                folder,
                "--x",
                "rollout.max_surge",
                "--y",
                "deployment.replicas",
                "--metric",
                "nope",
            ],
            "`nope` is not a metric of sweep.csv; the metrics are requests, failed",
        ),
        (
            vec![
                dir.to_str().unwrap(),
                "--x",
                "rollout.max_surge",
                "--y",
                "deployment.replicas",
                "--metric",
                "failed",
            ],
            "is not a sweep's folder: it holds no sweep.csv",
        ),
    ] {
        let mut a = vec!["heatmap"];
        a.extend(args.iter().copied());
        let o = rollsim(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(needle), "{args:?}: {e}");
        assert!(e.contains("help:"), "{e}");
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        before.len(),
        "nothing written"
    );
}

#[test]
fn a_sweep_replaced_with_force_drops_the_old_sweeps_heat_maps() {
    let dir = temp_dir("heat-force");
    let heat = format!("{AXES},failed");
    let (o, out) = sweep(&dir, "a", &["--heatmap", &heat]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stem = "heatmap-failed-by-rollout.max_surge-and-deployment.replicas";
    assert!(out.join(format!("{stem}.svg")).exists());
    // Resumed (the same sweep, complete): the map stays.
    let (o, _) = sweep(&dir, "a", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join(format!("{stem}.png")).exists());
    // Another sweep (another seed) over it: the old map would show rows that are gone.
    let (o, _) = sweep(&dir, "a", &["--seed", "3", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for ext in ["svg", "png"] {
        assert!(!out.join(format!("{stem}.{ext}")).exists(), "{ext} kept");
    }
}
