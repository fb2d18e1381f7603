//! `report.html` of `run` and of `compare` is one self-contained file — no URL at all, no
//! script — and scenario text (names, descriptions, the file shown at the end) is inert.

use std::path::Path;

use crate::common::{rollsim, temp_dir};

/// A hostile description (it tries to close the page's elements and run a script) and a
/// hostile name (no `/`, so it is a valid name).
const DESCRIPTION: &str =
    r#"</p></title><script>alert('d')</script><img src=x onerror=alert(1)> & "q""#;
const NAME: &str = "<b onmouseover=alert(2)>x";

fn scenario(dir: &Path, file: &str, name: &str, strategy: &str) -> String {
    let text = format!(
        r#"# {file}
#
# What it teaches: <script>alert('t')</script> stays text.

name = "{name}"
description = '''{DESCRIPTION}'''
seed = 3
duration = "60s"
[traffic]
rate = 40
[pod]
startup = "2s"
[versions.v1]
service = "20ms"
[versions.v2]
service = "20ms"
[deployment]
replicas = 3
version = "v1"
[rollout]
to = "v2"
at = "10s"
strategy = "{strategy}"
"#
    );
    let p = dir.join(file);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// The checks every report passes.
fn assert_self_contained_and_inert(html: &str, what: &str, shows_name: bool) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{what}");
    for bad in [
        "http://",
        "https://",
        "<script",
        "<img",
        "<b onmouseover",
        "url(",
        "@import",
        "<link",
        "<iframe",
    ] {
        assert!(!html.contains(bad), "{what}: holds {bad:?}");
    }
    assert!(html.contains("default-src 'none'"), "{what}: CSP");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;d&#39;)&lt;/script&gt;"),
        "{what}: the description is shown, escaped"
    );
    assert!(
        !shows_name || html.contains("&lt;b onmouseover=alert(2)&gt;x"),
        "{what}: the name"
    );
    // Any link is relative, to another report of the same folder.
    for (i, _) in html.match_indices("href=\"") {
        let target = &html[i + 6..i + 6 + html[i + 6..].find('"').unwrap()];
        assert!(
            target.ends_with("/report.html") && !target.contains(':') && !target.starts_with('/'),
            "{what}: link {target}"
        );
    }
}

#[test]
fn run_and_compare_reports_are_self_contained_and_hostile_text_is_inert() {
    let dir = temp_dir("report-inert");
    let a = scenario(&dir, "a.toml", NAME, "rolling");
    let b = scenario(&dir, "b.toml", "other", "recreate");
    let run_out = dir.join("run");
    let o = rollsim(&["run", &a, "--quiet", "--out", run_out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(run_out.join("report.html")).unwrap();
    assert_self_contained_and_inert(&html, "run", true);
    assert!(html.contains("<figure>"), "charts inlined");
    assert!(!html.contains("href="), "a run's report links nowhere");
    assert!(html.contains("&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; stays text."));

    let cmp = dir.join("cmp");
    let o = rollsim(&["compare", &a, &b, "--quiet", "--out", cmp.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(cmp.join("report.html")).unwrap();
    assert_self_contained_and_inert(&html, "compare", true);
    // The hostile name's folder is linked percent-encoded.
    assert!(
        html.contains("href=\"%3Cb%20onmouseover%3Dalert%282%29%3Ex/report.html\""),
        "{html}"
    );
    for run in [NAME, "other"] {
        let page = std::fs::read_to_string(cmp.join(run).join("report.html")).unwrap();
        assert_self_contained_and_inert(&page, run, run == NAME);
    }
}
