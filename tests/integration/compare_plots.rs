//! `rollsim compare` draws its charts — the bars, cost versus risk, the stacked timelines — as
//! valid, non-trivial SVG and PNG in its output folder, and each run's folder gets the charts
//! and `report.html` `rollsim run` writes; `--no-plots` leaves every chart out but still
//! writes every report.

use std::path::{Path, PathBuf};

use crate::common::{rollsim, temp_dir};
use crate::compare::{tree, SMALL};
use crate::plots::{assert_png, assert_svg};

/// The small bad-release scenario of `compare`'s tests with a rolling and a canary variant.
fn variants_file(dir: &Path) -> PathBuf {
    let text = format!(
        "description = \"two strategies, one bad release\"\n{SMALL}strategy = \"rolling\"\n\n[[variant]]\nname = \"rolling\"\n\n[[variant]]\nname = \"canary\"\n[variant.rollout]\nstrategy = \"canary\"\ntraffic_routing = true\nsteps = [{{ set_weight = 25 }}, {{ pause = \"20s\" }}]\n"
    );
    let p = dir.join("pair.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn compare(file: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![
        "compare",
        file.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = rollsim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn compare_writes_its_charts_and_each_runs_charts_and_report() {
    let dir = temp_dir("compare-plots");
    let out = dir.join("cmp");
    compare(&variants_file(&dir), &out, &[]);
    for (chart, says) in [
        (
            "comparison-bars",
            &["failed requests", "rolling", "canary"][..],
        ),
        ("cost-risk", &["cost versus risk", "rolling", "canary"]),
        (
            "comparison-timelines",
            &["pods per version", "rolling", "canary"],
        ),
    ] {
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap();
        assert_svg(&svg, says, chart);
        assert!(svg.len() > 5_000, "{chart}.svg: {} bytes", svg.len());
        let png = std::fs::read(out.join(format!("{chart}.png"))).unwrap();
        assert_png(&png, chart);
    }
    for variant in ["rolling", "canary"] {
        let run = out.join(variant);
        for chart in ["timeline", "traffic", "failures", "latency"] {
            let svg = std::fs::read_to_string(run.join(format!("{chart}.svg"))).unwrap();
            assert_svg(&svg, &[], &format!("{variant}/{chart}"));
            assert_png(
                &std::fs::read(run.join(format!("{chart}.png"))).unwrap(),
                &format!("{variant}/{chart}"),
            );
        }
        let html = std::fs::read_to_string(run.join("report.html")).unwrap();
        assert!(html.contains(&format!("<h1>{variant}</h1>")), "{variant}");
        assert_eq!(
            html.matches("<figure>").count(),
            4,
            "{variant}: the four charts"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(
        html.matches("<figure>").count(),
        3,
        "the three comparison charts"
    );
    for link in [
        "href=\"rolling/report.html\"",
        "href=\"canary/report.html\"",
    ] {
        assert!(html.contains(link), "no {link}");
    }
}

#[test]
fn no_plots_on_compare_writes_no_chart_but_every_report() {
    let dir = temp_dir("compare-no-plots");
    let out = dir.join("cmp");
    compare(&variants_file(&dir), &out, &["--no-plots", "--seeds", "2"]);
    let mut files: Vec<String> = tree(&out)
        .into_iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "canary/seed-7/report.html",
            "canary/seed-7/summary.json",
            "canary/seed-7/timeseries.csv",
            "canary/seed-8/report.html",
            "canary/seed-8/summary.json",
            "canary/seed-8/timeseries.csv",
            "comparison.csv",
            "comparison.json",
            "report.html",
            "rolling/seed-7/report.html",
            "rolling/seed-7/summary.json",
            "rolling/seed-7/timeseries.csv",
            "rolling/seed-8/report.html",
            "rolling/seed-8/summary.json",
            "rolling/seed-8/timeseries.csv",
        ]
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<figure>"));
    // With seeds, each variant links its first seed's report; cells carry intervals.
    assert!(
        html.contains("href=\"canary/seed-7/report.html\""),
        "{html}"
    );
    assert!(html.contains(" ±"), "intervals shown");
}
