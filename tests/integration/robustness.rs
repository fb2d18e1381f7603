//! No input makes the program panic: every shipped scenario, mangled at random (numbers
//! replaced by extreme values, lines dropped or doubled, garbage inserted), either validates
//! with diagnostics or runs to the end.

use std::panic::catch_unwind;

use proptest::prelude::*;
use rollsim::scenario::Scenario;
use rollsim::sim::Simulation;

fn shipped() -> Vec<String> {
    let dir = crate::common::root().join("scenarios");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

const EXTREMES: [&str; 12] = [
    "0",
    "-1",
    "-0.5",
    "1e308",
    "18446744073709551616",
    "\"\"",
    "\"0%\"",
    "\"101%\"",
    "nan",
    "inf",
    "\"1e9h\"",
    "true",
];

#[derive(Clone, Debug)]
enum Edit {
    /// Replace the n-th number in the text by an extreme value.
    Number(usize, usize),
    /// Drop line n.
    DropLine(usize),
    /// Duplicate line n.
    DupLine(usize),
    /// Insert a garbage line at n.
    Garbage(usize, String),
}

fn apply(text: &str, edit: &Edit) -> String {
    let lines: Vec<&str> = text.lines().collect();
    match edit {
        Edit::Number(n, v) => {
            let mut count = 0;
            let mut out = String::new();
            let mut chars = text.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                let starts = c.is_ascii_digit()
                    && (i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric());
                if starts && count == *n {
                    out.push_str(EXTREMES[*v]);
                    while chars
                        .peek()
                        .is_some_and(|(_, c)| c.is_ascii_digit() || *c == '.')
                    {
                        chars.next();
                    }
                    count += 1;
                    continue;
                }
                if starts {
                    count += 1;
                }
                out.push(c);
            }
            out
        }
        Edit::DropLine(n) => lines
            .iter()
            .enumerate()
            .filter(|(i, _)| i != &(n % lines.len()))
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join("\n"),
        Edit::DupLine(n) => {
            let mut l = lines.clone();
            l.insert(n % lines.len(), lines[n % lines.len()]);
            l.join("\n")
        }
        Edit::Garbage(n, g) => {
            let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            l.insert(n % lines.len(), g.clone());
            l.join("\n")
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..60, 0usize..EXTREMES.len()).prop_map(|(n, v)| Edit::Number(n, v)),
        (0usize..80).prop_map(Edit::DropLine),
        (0usize..80).prop_map(Edit::DupLine),
        (0usize..80, "[a-z_\\[\\]=\"{}. 0-9]{0,24}").prop_map(|(n, g)| Edit::Garbage(n, g)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mangled_scenarios_never_panic(which in 0usize..64, edits in prop::collection::vec(edit(), 1..4)) {
        let all = shipped();
        let mut text = all[which % all.len()].clone();
        for e in &edits {
            text = apply(&text, e);
        }
        let outcome = catch_unwind(|| {
            if let Ok(s) = Scenario::parse("mangled.toml", "mangled", &text) {
                // Run only what finishes quickly; the rest is covered by the --force guard.
                if s.expected_requests() < 200_000.0 && s.traffic.end.as_secs_f64() <= 900.0 {
                    let out = Simulation::new(&s).run().expect("the run finishes");
                    let r = &out.summary.requests;
                    assert_eq!(r.total, r.ok + r.failed);
                }
            }
        });
        prop_assert!(outcome.is_ok(), "panic on:\n{}", text);
    }
}
