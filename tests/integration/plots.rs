//! Plots: every `run` writes valid, non-trivial SVG and PNG charts (text rendered with the
//! embedded font), deterministically, with a version's colour the same in every chart;
//! `--no-plots` writes none; the comparison charts draw from summaries and compact series.

use std::path::Path;

use rollsim::report::plots::{
    comparison_plot_files, svg_colour, version_colour, RunSeries, COMPARISON_PLOT_FILES, PLOT_FILES,
};
use rollsim::scenario::Scenario;
use rollsim::sim::{RunOutput, Simulation};

use crate::common::{rollsim, run_scenario, temp_dir};

const CHARTS: [&str; 4] = ["timeline", "traffic", "failures", "latency"];

/// An SVG that a browser can inline: one `<svg …>` root closed at the end, text in `<text>`,
/// no reference to anything outside it.
pub(crate) fn assert_svg(svg: &str, must_say: &[&str], what: &str) {
    assert!(
        svg.starts_with("<svg ") && svg.contains("xmlns=\"http://www.w3.org/2000/svg\""),
        "{what}: {}",
        &svg[..svg.len().min(200)]
    );
    assert!(svg.trim_end().ends_with("</svg>"), "{what}: not closed");
    assert_eq!(svg.matches("<svg").count(), 1, "{what}: one root");
    for bad in ["href", "url(", "@import", "<script", "<image"] {
        assert!(!svg.contains(bad), "{what}: holds {bad}");
    }
    assert_balanced(svg, what);
    let opened = svg.matches("<text").count();
    assert_eq!(
        opened,
        svg.matches("</text>").count(),
        "{what}: text elements"
    );
    assert!(
        opened >= 10,
        "{what}: {opened} texts (axis labels, ticks, title)"
    );
    for s in must_say {
        assert!(svg.contains(s), "{what}: no {s:?}");
    }
}

/// XML well-formedness of the tags: every element opened is closed, in order, and text holds
/// no raw `<` or `&` (escaped as entities).
pub(crate) fn assert_balanced(svg: &str, what: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find('<') {
        let text = &rest[..i];
        assert!(
            !text.contains('>') && text.split('&').skip(1).all(|e| e.contains(';')),
            "{what}: bad text {text:?}"
        );
        let end = rest[i..]
            .find('>')
            .unwrap_or_else(|| panic!("{what}: unclosed tag"))
            + i;
        let tag = &rest[i + 1..end];
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap();
        if tag.starts_with('/') {
            assert_eq!(
                stack.pop(),
                Some(name),
                "{what}: </{name}> closes the wrong element"
            );
        } else if !tag.ends_with('/') {
            stack.push(name);
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "{what}: {stack:?} never closed");
}

/// Decodes a PNG and checks it is a real picture: the signature, the size, many colours, and
/// dark pixels in the title band (text drawn with the embedded font).
pub(crate) fn assert_png(bytes: &[u8], what: &str) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{what}: PNG signature");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    let (w, h) = (info.width as usize, info.height as usize);
    assert!(w >= 600 && h >= 300, "{what}: {w}×{h}");
    let px = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        (buf[i], buf[i + 1], buf[i + 2])
    };
    let mut colours = std::collections::BTreeSet::new();
    for y in (0..h).step_by(3) {
        for x in (0..w).step_by(3) {
            colours.insert(px(x, y));
        }
    }
    assert!(colours.len() > 20, "{what}: {} colours", colours.len());
    let title_ink = (0..30)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|(x, y)| {
            let (r, g, b) = px(*x, *y);
            r < 100 && g < 100 && b < 100
        })
        .count();
    assert!(
        title_ink > 200,
        "{what}: title text not drawn ({title_ink} dark pixels)"
    );
}

#[test]
fn a_run_writes_valid_svg_and_png_for_each_chart() {
    let (_, dir) = run_scenario("canary-bad-release", &[]);
    for chart in CHARTS {
        let svg = std::fs::read_to_string(dir.join(format!("{chart}.svg"))).unwrap();
        let axis = match chart {
            "timeline" => "pods",
            "traffic" => "share of arrivals (%)",
            "failures" => "failed requests per 1 s bucket",
            _ => "latency (ms)",
        };
        assert_svg(&svg, &["time (s)", axis, "canary-bad-release"], chart);
        assert_png(
            &std::fs::read(dir.join(format!("{chart}.png"))).unwrap(),
            chart,
        );
    }
    // The rollout's events are marked and labelled on the timeline.
    let timeline = std::fs::read_to_string(dir.join("timeline.svg")).unwrap();
    for label in ["start", "weight v2 10%", "ABORT", "analysis FAILED"] {
        assert!(timeline.contains(label), "timeline lacks {label:?}");
    }
    assert!(!dir.join("database.svg").exists(), "no database, no panel");
    assert!(
        !dir.join("connections.svg").exists(),
        "no connections, no panel"
    );
}

#[test]
fn a_run_with_a_database_adds_its_connections_and_lock_waits_panel() {
    let (_, dir) = run_scenario("migration-lock-queue", &[]);
    let svg = std::fs::read_to_string(dir.join("database.svg")).unwrap();
    assert_svg(
        &svg,
        &["connections", "waiting queries", "time (s)"],
        "database",
    );
    assert_png(
        &std::fs::read(dir.join("database.png")).unwrap(),
        "database",
    );
}

#[test]
fn a_run_with_long_lived_connections_adds_their_panel() {
    let (_, dir) = run_scenario("websockets-reconnect-storm", &[]);
    let svg = std::fs::read_to_string(dir.join("connections.svg")).unwrap();
    assert_svg(&svg, &["open connections", "time (s)"], "connections");
    assert_png(
        &std::fs::read(dir.join("connections.png")).unwrap(),
        "connections",
    );
    assert!(!dir.join("database.svg").exists());
}

#[test]
fn plots_are_byte_identical_for_the_same_scenario_and_seed() {
    let (_, a) = run_scenario("canary", &["--seed", "5"]);
    let copy = temp_dir("plots-first");
    for f in PLOT_FILES {
        if a.join(f).exists() {
            std::fs::copy(a.join(f), copy.join(f)).unwrap();
        }
    }
    let (_, b) = run_scenario("canary", &["--seed", "5"]);
    for chart in CHARTS {
        for ext in ["svg", "png"] {
            let f = format!("{chart}.{ext}");
            assert!(
                std::fs::read(copy.join(&f)).unwrap() == std::fs::read(b.join(&f)).unwrap(),
                "{f} differs between two identical runs"
            );
        }
    }
}

#[test]
fn no_plots_writes_the_summary_the_time_series_and_a_report_without_charts() {
    let (_, dir) = run_scenario("rolling", &["--no-plots"]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["report.html", "summary.json", "timeseries.csv"]);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("<figure>"), "no chart in the report");
    assert!(html.contains("ReplicaSets and weights at each step"));
}

#[test]
fn a_version_has_the_same_colour_in_every_chart() {
    let (_, dir) = run_scenario("canary", &[]);
    let v1 = svg_colour(version_colour(0));
    let v2 = svg_colour(version_colour(1));
    assert_ne!(v1, v2);
    for chart in ["timeline", "traffic", "latency"] {
        let svg = std::fs::read_to_string(dir.join(format!("{chart}.svg"))).unwrap();
        assert!(svg.contains(&v1), "{chart}: v1 not in {v1}");
        assert!(svg.contains(&v2), "{chart}: v2 not in {v2}");
    }
    // In the comparison timelines too, whichever variant shows it.
    let run = simulate("canary", 1);
    let series = RunSeries::from_run(&run);
    let files = comparison_plot_files(&[("canary", &run.summary, &series)]).unwrap();
    let svg = String::from_utf8(files[4].1.clone()).unwrap();
    assert!(svg.contains(&v1) && svg.contains(&v2));
}

fn simulate(name: &str, seed: u64) -> RunOutput {
    let path = crate::common::root().join(format!("scenarios/{name}.toml"));
    let mut s = Scenario::load(&path).unwrap();
    s.seed = seed;
    Simulation::new(&s).run().unwrap()
}

#[test]
fn comparison_plots_draw_real_runs_and_mark_missing_values() {
    let names = [
        "rolling-bad-release",
        "canary-bad-release",
        "blue-green-bad-release",
    ];
    let runs: Vec<RunOutput> = names.iter().map(|n| simulate(n, 3)).collect();
    let series: Vec<RunSeries> = runs.iter().map(RunSeries::from_run).collect();
    let variants: Vec<_> = names
        .iter()
        .zip(&runs)
        .zip(&series)
        .map(|((n, r), s)| (*n, &r.summary, s))
        .collect();
    let files = comparison_plot_files(&variants).unwrap();
    let got: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    assert_eq!(got, COMPARISON_PLOT_FILES);
    for (name, bytes) in &files {
        if name.ends_with(".svg") {
            let svg = std::str::from_utf8(bytes).unwrap();
            assert_svg(svg, &names, name);
        } else {
            assert_png(bytes, name);
        }
    }
    let bars = std::str::from_utf8(&files[0].1).unwrap();
    for title in [
        "failed requests",
        "mixed-version time",
        "users exposed to a bad version",
        "cost",
        "rollout time",
        "rollback time",
        "p99 latency",
    ] {
        assert!(bars.contains(title), "bars lack {title}");
    }
    // An aborted canary never completes: its rollout time is null, drawn as "no data".
    assert!(runs[1].summary.rollout.duration_s.is_none());
    assert!(bars.contains("no data"));
    let scatter = std::str::from_utf8(&files[2].1).unwrap();
    assert!(scatter.contains("failed requests") && scatter.contains("cost"));
    // One shared time axis: a single "time (s)" label under the last panel.
    let timelines = std::str::from_utf8(&files[4].1).unwrap();
    assert_eq!(timelines.matches("time (s)").count(), 1);
    // Same inputs, same bytes.
    assert!(comparison_plot_files(&variants).unwrap() == files);
}

#[test]
fn the_compact_series_holds_the_time_series_pods_ready_share_and_events() {
    let run = simulate("rolling-bad-release", 4);
    let s = RunSeries::from_run(&run);
    let nv = run.version_names.len();
    let rows: Vec<_> = run
        .metrics
        .rows()
        .filter(|(_, slot, _)| *slot < nv)
        .collect();
    assert_eq!(s.buckets() * nv, rows.len());
    for (i, (_, _, r)) in rows.iter().enumerate() {
        assert_eq!((s.pods[i], s.ready[i]), (r.pods, r.ready));
        assert_eq!(s.traffic[i], r.traffic_share as f32);
    }
    let kinds: Vec<&str> = s.events.iter().map(|e| e.kind).collect();
    let summary: Vec<&str> = run.summary.rollout.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, summary);
    assert!(s.end_s() >= run.summary.duration_s);
}

#[test]
fn hostile_names_are_escaped_in_svg() {
    let run = simulate("rolling", 1);
    let series = RunSeries::from_run(&run);
    let files =
        comparison_plot_files(&[("<script>alert(1)</script>", &run.summary, &series)]).unwrap();
    for (name, bytes) in files.iter().filter(|(n, _)| n.ends_with(".svg")) {
        let svg = std::str::from_utf8(bytes).unwrap();
        assert!(!svg.contains("<script"), "{name}");
        assert!(svg.contains("&lt;script&gt;"), "{name}");
    }
}

#[test]
fn the_cli_lists_the_plots_it_wrote() {
    let dir = temp_dir("plots-cli");
    let out = dir.join("out");
    let o = rollsim(&[
        "run",
        "scenarios/recreate.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("timeline.svg") && stdout.contains("latency.png"),
        "{stdout}"
    );
    assert!(Path::new(&out.join("failures.png")).exists());
}

#[test]
#[ignore = "writes the comparison charts to $ROLLSIM_PLOT_DUMP for a look"]
fn dump_comparison_plots() {
    let dir = std::env::var("ROLLSIM_PLOT_DUMP").unwrap_or_else(|_| "/tmp".into());
    let names = [
        "rolling-bad-release",
        "canary-bad-release",
        "blue-green-bad-release",
    ];
    let runs: Vec<RunOutput> = names.iter().map(|n| simulate(n, 3)).collect();
    let series: Vec<RunSeries> = runs.iter().map(RunSeries::from_run).collect();
    let variants: Vec<_> = names
        .iter()
        .zip(&runs)
        .zip(&series)
        .map(|((n, r), s)| (*n, &r.summary, s))
        .collect();
    for (name, bytes) in comparison_plot_files(&variants).unwrap() {
        std::fs::write(Path::new(&dir).join(name), bytes).unwrap();
    }
}

#[test]
#[ignore = "a measurement: how long drawing the plots of a one-hour run takes (run with --release)"]
fn time_the_plots_of_a_one_hour_run() {
    let file = crate::common::variant(
        "canary",
        "canary-1h",
        &[("duration = \"5m\"", "duration = \"1h\"")],
    );
    let run = Simulation::new(&Scenario::load(&file).unwrap())
        .run()
        .unwrap();
    let started = std::time::Instant::now();
    let files = rollsim::report::plots::plot_files(&run).unwrap();
    let took = started.elapsed();
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    eprintln!(
        "plots of a 1 h run ({} buckets): {:.0} ms, {} files, {} kB",
        run.metrics.rows().count() / (run.version_names.len() + 1),
        took.as_secs_f64() * 1e3,
        files.len(),
        bytes / 1000
    );
}
