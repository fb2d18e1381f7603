//! `report.html`: self-contained, scenario text made inert, and — in a real browser — the page
//! renders (a screenshot that is not blank, no console message). The browser check uses
//! headless Chromium (`.ci/run` installs Debian's `chromium`); where none can be found the test
//! says why and skips that part.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rollsim::report::html::{run_report, About, Figure};
use rollsim::scenario::Scenario;
use rollsim::sim::Simulation;

use crate::common::{root, temp_dir};

fn report_of(name: &str, description: Option<&str>) -> String {
    let path = root().join(format!("scenarios/{name}.toml"));
    let source = std::fs::read_to_string(&path).unwrap();
    let mut scenario = Scenario::load(&path).unwrap();
    if let Some(d) = description {
        scenario.name = d.to_owned();
    }
    let out = Simulation::new(&scenario).run().unwrap();
    let bar = Figure {
        title: "a figure".into(),
        svg: "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"300\" height=\"120\"><rect width=\"300\" height=\"120\" fill=\"#0072B2\"/></svg>".into(),
    };
    let about = About {
        file: "canary-bad-release.toml",
        description: scenario.description.as_deref(),
        source: &source,
    };
    run_report(&out.summary, &about, &[bar], "")
}

#[test]
fn the_report_is_self_contained_and_scenario_text_is_inert() {
    let html = report_of("canary-bad-release", Some("<script>alert(1)</script>"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    // No script at all, nothing fetched: no src/href to anywhere, a CSP that forbids it.
    assert!(!html.contains("<script"), "a script tag made it through");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains(" src=") && !html.contains("href=") && !html.contains("url("));
    assert!(html.contains("default-src 'none'"));
    // The figure is inlined without its XML declaration; the lesson and the numbers are there.
    assert!(!html.contains("<?xml"));
    assert!(html.contains("What it teaches:"));
    assert!(html.contains("Where the time goes"));
    assert!(html.contains("app_error"));
    // The headline's failures say their cause.
    assert!(
        html.contains("<div class=\"k\">failed requests: ") && html.contains(" app error</div>"),
        "{html}"
    );
}

#[test]
fn a_run_without_successes_shows_no_data_not_zero() {
    let path = root().join("scenarios/steady.toml");
    let source = std::fs::read_to_string(&path).unwrap();
    let mut summary = Simulation::new(&Scenario::load(&path).unwrap())
        .run()
        .unwrap()
        .summary;
    summary.latency_ms = rollsim::metrics::LatencySummary::MISSING;
    let about = About {
        file: "steady.toml",
        description: None,
        source: &source,
    };
    let html = run_report(&summary, &about, &[], "");
    assert!(
        html.contains("<div class=\"v\">no data</div><div class=\"k\">latency p99</div>"),
        "{html}"
    );
}

/// The first Chromium on the PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome", "chrome"]
        .iter()
        .flat_map(|b| std::env::split_paths(&path).map(move |d| d.join(b)))
        .find(|p| p.is_file())
}

/// Runs Chromium headless on `page` with `args`; its stderr, or `None` after two minutes.
fn headless(browser: &Path, profile: &Path, args: &[&str], page: &Path) -> Option<String> {
    let mut child = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    Some(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Opens `page` in headless Chromium and checks it renders: no console message, a
/// screenshot that is not blank and has many colours. `false` (with the reason printed) when
/// no Chromium is installed.
fn renders(page: &Path, dir: &Path) -> bool {
    let Some(browser) = chromium() else {
        eprintln!(
            "skipped: no Chromium on the PATH (install Debian's `chromium`, as .ci/run does)"
        );
        return false;
    };
    let shot = dir.join("shot.png");
    let log = headless(
        &browser,
        &dir.join("profile"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
        ],
        page,
    )
    .expect("chromium finished within two minutes");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("a screenshot was written"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let non_white = pixels
        .iter()
        .filter(|p| p.iter().take(3).any(|c| *c < 200))
        .count();
    let distinct: std::collections::BTreeSet<&[u8]> = pixels.iter().copied().collect();
    assert!(
        non_white * 50 > pixels.len(),
        "the page looks blank: {non_white} of {} pixels are not white",
        pixels.len()
    );
    assert!(distinct.len() > 20, "only {} colours", distinct.len());
    true
}

#[test]
fn the_report_renders_in_headless_chromium_without_console_messages() {
    let dir = temp_dir("report-html");
    let page = dir.join("report.html");
    std::fs::write(&page, report_of("canary-bad-release", None)).unwrap();
    renders(&page, &dir);
}

/// The comparison's page and a variant's page, as `rollsim compare` writes them (charts
/// inlined, links between them), render too.
#[test]
fn the_comparison_report_renders_in_headless_chromium_without_console_messages() {
    let dir = temp_dir("report-html-compare");
    let out = dir.join("cmp");
    let o = crate::common::rollsim(&[
        "compare",
        "scenarios/rolling-bad-release.toml",
        "scenarios/canary-bad-release.toml",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<figure>") && html.contains("href=\"canary-bad-release/report.html\""));
    if renders(&out.join("report.html"), &dir) {
        renders(&out.join("canary-bad-release/report.html"), &dir);
    }
}
