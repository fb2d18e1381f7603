//! The teaching library (`docs/lessons/`): a page's numbers are its scenarios' `[expect]`
//! tables, quoted line for line, and `rollsim check` holds them on five seeds; every figure a
//! page shows exists, and is byte for byte what a fresh `rollsim run` draws (runs are
//! deterministic); every lesson scenario is in the library's index. A page cannot drift from
//! what the simulator says without one of these failing.

use crate::common::{rollsim, root, temp_dir};
use std::path::PathBuf;

/// Runs per scenario for `rollsim check` (seeds S…S+4 from each scenario's `seed`, 42).
const RUNS: &str = "5";

/// The page that is not one lesson but a comparison (tested in `which_strategy.rs`).
const COMPARISON_PAGE: &str = "which-strategy-when.md";

struct Page {
    file: String,
    text: String,
    /// Stems of the `../../scenarios/<stem>.toml` links, in order of first appearance.
    scenarios: Vec<String>,
    /// The `figures/<name>` images it shows.
    figures: Vec<String>,
}

/// Every lesson page: `docs/lessons/*.md` but the index and the comparison page.
fn pages() -> Vec<Page> {
    let dir = root().join("docs/lessons");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("docs/lessons/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name != "README.md" && name != COMPARISON_PAGE
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a lesson page");
            Page {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                scenarios: links(&text, "../../scenarios/", ".toml"),
                figures: links(&text, "](figures/", ""),
                text,
            }
        })
        .collect()
}

/// What follows each `prefix` up to the closing `)` of a Markdown link, with `suffix` removed
/// (links without it are skipped); first appearances, in order.
fn links(text: &str, prefix: &str, suffix: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for piece in text.split(prefix).skip(1) {
        let target = piece.split(')').next().unwrap_or("");
        if let Some(stem) = target.strip_suffix(suffix) {
            if !found.iter().any(|f| f == stem) {
                found.push(stem.to_owned());
            }
        }
    }
    found
}

/// The lines of a scenario's `[expect]` table (each expectation and `baseline`, without blank
/// lines and whole-line comments): what a page must quote.
fn expect_lines(stem: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(format!("scenarios/{stem}.toml")))
        .unwrap_or_else(|e| panic!("scenarios/{stem}.toml: {e}"));
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim_start().starts_with('[') {
            inside = line.trim() == "[expect]";
            continue;
        }
        if inside && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            lines.push(line.to_owned());
        }
    }
    lines
}

#[test]
fn every_page_names_scenarios_with_an_expect_table_and_quotes_it_line_for_line() {
    let pages = pages();
    assert!(pages.len() >= 12, "expected the twelve lessons");
    for page in &pages {
        assert!(
            page.scenarios.len() >= 2,
            "{} should link the mistake and the fix in scenarios/",
            page.file
        );
        for stem in &page.scenarios {
            let lines = expect_lines(stem);
            assert!(
                !lines.is_empty(),
                "{}: scenarios/{stem}.toml has no [expect] table, so the page's numbers are not checked",
                page.file
            );
            for line in lines {
                assert!(
                    page.text.lines().any(|l| l == line),
                    "{} does not quote scenarios/{stem}.toml's [expect] line\n  {line}\n\
                     (a page's numbers table is the scenario's gate, copied verbatim)",
                    page.file
                );
            }
        }
    }
}

#[test]
fn every_lessons_claims_hold_on_five_seeds() {
    let mut stems: Vec<String> = pages().into_iter().flat_map(|p| p.scenarios).collect();
    stems.sort();
    stems.dedup();
    let files: Vec<String> = stems
        .iter()
        .map(|s| format!("scenarios/{s}.toml"))
        .collect();
    let mut args = vec!["check", "--runs", RUNS, "--quiet"];
    args.extend(files.iter().map(String::as_str));
    let o = rollsim(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a lesson's claim does not hold:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn every_figure_a_page_shows_exists_and_is_what_a_fresh_run_draws() {
    let figures = root().join("docs/lessons/figures");
    let mut drawn: Vec<(String, PathBuf)> = Vec::new();
    for page in pages() {
        assert!(!page.figures.is_empty(), "{} shows no figure", page.file);
        for name in &page.figures {
            assert!(
                figures.join(name).is_file(),
                "{} shows figures/{name}, which does not exist: run docs/lessons/make-figures.sh",
                page.file
            );
            // figures/<scenario>-<plot>.svg, the plot `rollsim run` writes as <plot>.svg.
            let (stem, plot) = name
                .strip_suffix(".svg")
                .and_then(|n| n.rsplit_once('-'))
                .unwrap_or_else(|| {
                    panic!("{}: figures/{name} is not <scenario>-<plot>.svg", page.file)
                });
            // One run per scenario, whose folder holds all its plots.
            let out = match drawn.iter().find(|(s, _)| s == stem) {
                Some((_, out)) => out.clone(),
                None => {
                    let out = temp_dir(&format!("lesson-figure-{stem}"));
                    let scenario = format!("scenarios/{stem}.toml");
                    let o = rollsim(&["run", &scenario, "--quiet", "--out", out.to_str().unwrap()]);
                    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                    drawn.push((stem.to_owned(), out.clone()));
                    out
                }
            };
            let fresh = std::fs::read(out.join(format!("{plot}.svg"))).expect("the run's plot");
            assert!(
                std::fs::read(figures.join(name)).unwrap() == fresh,
                "figures/{name} differs from what `rollsim run scenarios/{stem}.toml` draws now: \
                 run docs/lessons/make-figures.sh and commit the figures"
            );
        }
    }
    assert!(drawn.len() >= 12, "expected a figure per lesson");
}

#[test]
fn every_lesson_scenario_is_in_the_librarys_index() {
    let index = std::fs::read_to_string(root().join("docs/lessons/README.md")).expect("README");
    for page in pages() {
        assert!(
            index.contains(&format!("]({})", page.file)),
            "docs/lessons/README.md does not link {}",
            page.file
        );
        for stem in &page.scenarios {
            assert!(
                index.contains(&format!("`{stem}`")),
                "docs/lessons/README.md does not list `{stem}` ({})",
                page.file
            );
        }
    }
}
