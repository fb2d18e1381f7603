//! The README's claims a newcomer checks first: the quick-start sample output is what the
//! quick-start command prints, and every scenario the README names exists and validates.

use crate::common::{rollsim, root};

/// The fenced block after "The first command prints" in README.md.
fn readme_sample() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let start = readme
        .find("The first command prints")
        .expect("the quick-start sample");
    let block = &readme[start..];
    let open = block.find("```\n").expect("a fenced block") + 4;
    let close = open + block[open..].find("```").expect("its end");
    block[open..close].lines().map(str::to_owned).collect()
}

#[test]
fn the_quick_start_sample_is_what_the_quick_start_prints() {
    let out = crate::common::temp_dir("readme-sample");
    let o = rollsim(&[
        "run",
        "scenarios/rolling.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8(o.stdout).unwrap();
    let printed: Vec<&str> = printed.lines().collect();
    let sample = readme_sample();
    assert!(sample.len() >= 6, "{sample:?}");
    assert_eq!(&printed[..sample.len()], sample.as_slice());
}

#[test]
fn every_scenario_the_readme_names_exists_and_validates() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut named = Vec::new();
    for word in readme.split(|c: char| c == '`' || c.is_whitespace() || c == '|') {
        let w = word
            .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '/' && c != '.');
        if let Some(stem) = w
            .strip_prefix("scenarios/")
            .and_then(|s| s.strip_suffix(".toml"))
        {
            named.push(stem.to_owned());
        }
    }
    // The shipped-scenarios table names them by stem: every row must be a real file.
    let table = readme
        .split("## Shipped scenarios")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a shipped-scenarios section");
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        named.push(line[3..].split('`').next().unwrap_or("").to_owned());
    }
    // …and every shipped scenario has a row, so none ships undocumented.
    for entry in std::fs::read_dir(root().join("scenarios")).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                table.contains(&format!("| `{stem}` |")),
                "scenarios/{stem}.toml is not in README's shipped-scenarios table"
            );
        }
    }
    named.sort();
    named.dedup();
    assert!(named.len() >= 18, "{named:?}");
    for stem in named {
        let path = format!("scenarios/{stem}.toml");
        assert!(
            root().join(&path).exists(),
            "README names {path}, which does not exist"
        );
        let o = rollsim(&["validate", &path]);
        assert!(
            o.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
