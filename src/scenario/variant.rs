//! `[[variant]]`: several scenarios in one file, for `rollsim compare`.
//!
//! A variant is the base scenario (the file without its `[[variant]]` tables) with the
//! variant's tables deep-merged over it: a table merges key by key, any other value (arrays
//! included) replaces the base's. The merge happens on the span-keeping parse (`DeTable`) of
//! the one file, before deserialisation, so every value keeps the place it was written: a
//! problem in a value the variant sets is reported at the variant's line and column, one in a
//! value it inherits at the base's, both naming the variant. `rollsim run`, `plan` and
//! `Scenario::load` use the base alone (with a warning saying the variants exist).

use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{Diagnostic, Locator, ScenarioError};
use super::parse::{deserialize_checked, parse_text};
use super::resolve::{resolve, resolve_parsed};
use super::{Scenario, Warning};

/// The top-level key holding the variants.
pub(super) const KEY: &str = "variant";

/// Names a variant may not take: they are files of a comparison's output folder.
pub const RESERVED_NAMES: [&str; 9] = [
    "comparison.json",
    "comparison.csv",
    "report.html",
    "comparison-bars.svg",
    "comparison-bars.png",
    "cost-risk.svg",
    "cost-risk.png",
    "comparison-timelines.svg",
    "comparison-timelines.png",
];

/// A file's base scenario and its variants (empty without `[[variant]]`), in file order.
#[derive(Clone, Debug)]
pub struct Variants {
    /// The file without its variants.
    pub base: Scenario,
    /// One scenario per `[[variant]]`, each named by the variant's `name`.
    pub variants: Vec<Scenario>,
}

/// The `variant` entry, removed from the top level of `doc`: (its key's span, its value).
pub(super) fn set_aside<'a>(
    doc: &mut Spanned<DeTable<'a>>,
) -> Option<(Range<usize>, Spanned<DeValue<'a>>)> {
    doc.get_mut().remove_entry(KEY).map(|(k, v)| (k.span(), v))
}

/// The names written in the variants, best effort (for the base's warning).
fn written_names(value: &DeValue<'_>) -> Vec<String> {
    let DeValue::Array(a) = value else {
        return Vec::new();
    };
    a.iter()
        .filter_map(|e| match e.get_ref() {
            DeValue::Table(t) => match t.get("name").map(Spanned::get_ref) {
                Some(DeValue::String(s)) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The warning a base scenario gets when its file defines variants: `run` and `plan` use the
/// base alone, which is easy to miss.
pub(super) fn base_warning(
    loc: &Locator<'_>,
    aside: Option<&(Range<usize>, Spanned<DeValue<'_>>)>,
) -> Option<Warning> {
    let (span, value) = aside?;
    let names = written_names(value.get_ref());
    let d = loc.at_span(Some(span.clone()), String::new(), None);
    Some(Warning {
        line: d.line,
        column: d.column,
        message: format!(
            "this file defines {} variant{} ({}): `rollsim run` and `plan` use the base scenario without them; run `rollsim compare` on the file to run every variant",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ),
    })
}

/// Deep merge: tables key by key, every other value replaced.
fn merge<'a>(base: &mut DeTable<'a>, over: &DeTable<'a>) {
    for (k, v) in over.iter() {
        let key: &str = k.get_ref().as_ref();
        match base.get_mut(key) {
            Some(b) => match (b.get_mut(), v.get_ref()) {
                (DeValue::Table(bt), DeValue::Table(ot)) => merge(bt, ot),
                _ => *b = v.clone(),
            },
            None => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Why `name` cannot name a variant (its output folder), if it cannot.
fn bad_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("a variant's name must not be empty")
    } else if name.len() > 64 {
        Some("a variant's name must be at most 64 characters")
    } else if name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("a variant's name names its output folder: use letters, digits, `-`, `_` and `.` (not first)")
    } else if RESERVED_NAMES.contains(&name.to_ascii_lowercase().as_str()) {
        Some("this name is taken by a file of the comparison's output folder")
    } else {
        None
    }
}

const NAME_HELP: &str = "write name = \"rolling\" (letters, digits, `-`, `_`, `.`) under the [[variant]] header; it names the run's column and output folder";

/// Resolves the base scenario of `text` and each of its variants, reporting every problem of
/// every variant at once (each prefixed with the variant's name).
pub(super) fn resolve_variants(
    file: &str,
    stem: &str,
    text: &str,
) -> Result<Variants, ScenarioError> {
    let base = resolve(file, stem, text)?;
    let err = |diagnostics| ScenarioError { diagnostics };
    // Variants of a scenario built on manifests are built on the same manifests.
    let prepared = super::manifests::prepare(file, text, &[]).map_err(err)?;
    let generated = prepared.as_ref().map(|p| p.toml.as_str());
    let mut loc = parse_text(file, text, generated).map_err(err)?;
    let Some((key_span, value)) = set_aside(&mut loc.doc) else {
        return Ok(Variants {
            base,
            variants: Vec::new(),
        });
    };
    let mut found: Vec<Diagnostic> = Vec::new();
    let mut variants = Vec::new();
    let DeValue::Array(tables) = value.get_ref() else {
        return Err(err(vec![loc.at_span(
            Some(key_span),
            "`variant` must be a list of tables: one [[variant]] header per variant".into(),
            Some(NAME_HELP.into()),
        )]));
    };
    if tables.is_empty() {
        found.push(loc.at_span(
            Some(value.span()),
            "`variant` is an empty list: there is no variant to run".into(),
            Some("add [[variant]] tables, or remove `variant` to run the file alone".into()),
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, el) in tables.iter().enumerate() {
        let DeValue::Table(t) = el.get_ref() else {
            found.push(loc.at_span(
                Some(el.span()),
                format!("variant {} is not a table", i + 1),
                Some(NAME_HELP.into()),
            ));
            continue;
        };
        let name = match t.get_key_value("name") {
            None => {
                let at = t.keys().next().map_or(el.span(), |k| k.span());
                found.push(loc.at_span(
                    Some(at),
                    format!("variant {} needs a `name`", i + 1),
                    Some(NAME_HELP.into()),
                ));
                continue;
            }
            Some((_, v)) => match v.get_ref() {
                DeValue::String(s) => {
                    if let Some(why) = bad_name(s) {
                        found.push(loc.at_span(
                            Some(v.span()),
                            format!("{why}: \"{s}\""),
                            Some(NAME_HELP.into()),
                        ));
                        continue;
                    }
                    if seen.iter().any(|n| n.eq_ignore_ascii_case(s)) {
                        found.push(loc.at_span(
                            Some(v.span()),
                            format!("two variants are named \"{s}\""),
                            Some("give each variant its own name (they name output folders, so case does not tell them apart)".into()),
                        ));
                        continue;
                    }
                    s.to_string()
                }
                _ => {
                    found.push(loc.at_span(
                        Some(v.span()),
                        "a variant's `name` must be a string in double quotes".into(),
                        Some(NAME_HELP.into()),
                    ));
                    continue;
                }
            },
        };
        seen.push(name.clone());
        if let Some((k, _)) = t.get_key_value(KEY) {
            found.push(loc.at_span(
                Some(k.span()),
                format!("variant `{name}` holds variants of its own"),
                Some("variants do not nest: write each one as a [[variant]] of the file".into()),
            ));
            continue;
        }
        let mut over = t.clone();
        over.remove("name");
        let mut doc = loc.doc.clone();
        merge(doc.get_mut(), &over);
        let vloc = Locator::new(file, text, doc);
        let resolved = deserialize_checked(vloc)
            .map_err(err)
            .and_then(|(raw, vloc)| resolve_parsed(&name, &raw, vloc))
            .map_err(|e| super::resolve::manifest_problems(e, text, prepared.as_ref()));
        match resolved {
            Ok(mut s) => {
                s.name = name;
                s.manifest = base.manifest.clone();
                variants.push(s);
            }
            Err(e) => found.extend(e.diagnostics.into_iter().map(|mut d| {
                d.message = format!("variant `{name}`: {}", d.message);
                d
            })),
        }
    }
    if found.is_empty() {
        Ok(Variants { base, variants })
    } else {
        found.sort_by_key(|d| (d.line, d.column));
        found.dedup();
        Err(err(found))
    }
}

/// One `rollsim sweep --set PATH=VALUE` assignment, as TOML: `path` a dotted key, `value`
/// TOML text (a bare word is quoted by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The dotted key path (`rollout.max_surge`).
    pub path: String,
    /// The value as TOML (`25`, `"25%"`).
    pub value: String,
}

/// The base scenario of `text` with `sets` deep-merged over it, the way a `[[variant]]`'s
/// tables are, so a bad value is found by the same validation and told the same way. Each
/// override is parsed as a line `path = value` placed after the file's text: a problem whose
/// place is on such a line is returned as `Err((Some(i), d))` for override `i`, one in the
/// file as `(None, d)`. A path whose parent table is missing from the file is refused: a
/// sweep changes a scenario, it does not write new tables.
pub fn resolve_with_overrides(
    file: &str,
    stem: &str,
    text: &str,
    sets: &[Override],
) -> Result<Scenario, Vec<(Option<usize>, Diagnostic)>> {
    let in_file = |ds: Vec<Diagnostic>| ds.into_iter().map(|d| (None, d)).collect::<Vec<_>>();
    let mut full = String::with_capacity(text.len() + 64 * sets.len());
    full.push_str(text);
    let mut lines = Vec::with_capacity(sets.len());
    let mut padded = Vec::with_capacity(sets.len());
    for o in sets {
        full.push('\n');
        let offset = full.len();
        lines.push(full.matches('\n').count() + 1);
        full.push_str(&format!("{} = {}", o.path, o.value));
        // Padding keeps every span an offset into `full`.
        padded.push(format!("{}{}", "\n".repeat(offset), &full[offset..]));
    }
    let mut overs = Vec::new();
    let mut found = Vec::new();
    for (i, p) in padded.iter().enumerate() {
        match DeTable::parse(p) {
            Ok(t) => overs.push((i, t.into_inner())),
            Err(e) => found.push((
                Some(i),
                Diagnostic::whole_file(
                    file,
                    format!("cannot read the value: {}", e.message()),
                    None,
                ),
            )),
        }
    }
    if !found.is_empty() {
        return Err(found);
    }
    let prepared = super::manifests::prepare(file, text, &[]).map_err(in_file)?;
    let generated = prepared.as_ref().map(|p| p.toml.as_str());
    let mut loc = parse_text(file, text, generated).map_err(in_file)?;
    set_aside(&mut loc.doc);
    for (i, _) in &overs {
        let path: Vec<&str> = sets[*i].path.split('.').collect();
        let mut table: &DeTable<'_> = loc.doc.get_ref();
        for (depth, part) in path[..path.len() - 1].iter().enumerate() {
            match table.get(*part).map(Spanned::get_ref) {
                Some(DeValue::Table(t)) => table = t,
                _ => {
                    found.push((
                        Some(*i),
                        Diagnostic::whole_file(
                            file,
                            format!("the scenario has no [{}] table", path[..=depth].join(".")),
                            Some("--set changes a key of a table the file has; check the path's spelling against the scenario".into()),
                        ),
                    ));
                    break;
                }
            }
        }
    }
    if !found.is_empty() {
        return Err(found);
    }
    let mut doc = loc.doc.clone();
    for (_, over) in &overs {
        merge(doc.get_mut(), over);
    }
    let vloc = Locator::new(file, &full, doc);
    let place = |ds: Vec<Diagnostic>| {
        ds.into_iter()
            .map(|d| (lines.iter().position(|l| *l == d.line), d))
            .collect::<Vec<_>>()
    };
    let (raw, vloc) = deserialize_checked(vloc).map_err(place)?;
    let mut scenario = resolve_parsed(stem, &raw, vloc).map_err(|e| place(e.diagnostics))?;
    scenario.manifest = prepared.map(|p| (p.reading, p.version));
    Ok(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
name = "base"
duration = "60s"
[traffic]
rate = 50
[versions.v1]
service = "10ms"
[versions.v2]
service = "10ms"
[deployment]
replicas = 4
version = "v1"
[rollout]
to = "v2"
at = "10s"
strategy = "rolling"
max_surge = 1
"#;

    fn variants(extra: &str) -> Result<Variants, ScenarioError> {
        let text = format!("{BASE}{extra}");
        resolve_variants("v.toml", "v", &text)
    }

    #[test]
    fn tables_merge_key_by_key_and_other_values_replace() {
        let v = variants(
            "[[variant]]\nname = \"surge2\"\n[variant.rollout]\nmax_surge = 2\n[[variant]]\nname = \"fast\"\nduration = \"30s\"\n",
        )
        .unwrap();
        assert_eq!(v.variants.len(), 2);
        let (a, b) = (&v.variants[0], &v.variants[1]);
        assert_eq!(a.name, "surge2");
        assert_eq!(b.name, "fast");
        // The merged rollout keeps the base's target and strategy.
        assert_eq!(
            a.rollout.as_ref().unwrap().target,
            v.base.rollout.as_ref().unwrap().target
        );
        assert_eq!(a.strategy_name(), "rolling");
        assert_eq!(b.traffic.end.as_secs_f64(), 30.0);
        assert_eq!(v.base.traffic.end.as_secs_f64(), 60.0);
        assert_eq!(v.base.name, "base");
        // The base warns that `run` ignores the variants.
        assert!(v
            .base
            .warnings
            .iter()
            .any(|w| w.message.contains("2 variants (surge2, fast)")));
        assert!(a.warnings.iter().all(|w| !w.message.contains("variants")));
    }

    #[test]
    fn a_problem_in_a_variant_is_placed_in_the_variant_and_names_it() {
        let e = variants("[[variant]]\nname = \"bad\"\n[variant.rollout]\nmax_surge = -3\n")
            .unwrap_err();
        let d = &e.diagnostics[0];
        assert_eq!((d.line, d.column), (21, 13), "{e}");
        assert!(d.message.starts_with("variant `bad`: "), "{}", d.message);
        let e =
            variants("[[variant]]\nname = \"typo\"\n[variant.rollout]\nstrategi = \"canary\"\n")
                .unwrap_err();
        assert_eq!(e.diagnostics[0].line, 21, "{e}");
        assert!(e.to_string().contains("strategy"), "did you mean: {e}");
        // A base value the variant makes invalid is placed at the base's line, naming it.
        let e =
            variants("[[variant]]\nname = \"re\"\n[variant.rollout]\nstrategy = \"recreate\"\n")
                .unwrap_err();
        let at = BASE
            .lines()
            .position(|l| l.starts_with("max_surge"))
            .unwrap()
            + 1;
        assert!(
            e.diagnostics
                .iter()
                .any(|d| d.line == at && d.message.starts_with("variant `re`: ")),
            "{e}"
        );
    }

    #[test]
    fn names_are_required_unique_and_usable_as_folders() {
        for (extra, needle) in [
            ("[[variant]]\nduration = \"30s\"\n", "needs a `name`"),
            ("[[variant]]\nname = \"a/b\"\n", "names its output folder"),
            ("[[variant]]\nname = \"comparison.csv\"\n", "taken"),
            ("[[variant]]\nname = 3\n", "must be a string"),
            (
                "[[variant]]\nname = \"x\"\n[[variant]]\nname = \"X\"\n",
                "two variants",
            ),
        ] {
            let e = variants(extra).unwrap_err().to_string();
            assert!(e.contains(needle), "{extra:?}: {e}");
        }
        let e = resolve_variants("v.toml", "v", &format!("variant = 3\n{BASE}")).unwrap_err();
        assert!(e.to_string().contains("list of tables"), "{e}");
    }

    /// Every line of the shipped variants file dropped, doubled or followed by a stray
    /// header or key: problems are reported (or the file still resolves), never a panic.
    #[test]
    fn a_mangled_variants_file_never_panics() {
        let text = include_str!("../../scenarios/compare-strategies.toml");
        let lines: Vec<&str> = text.lines().collect();
        let extras = [
            "[[variant]]",
            "[variant]",
            "name = 3",
            "variant = []",
            "[variant.variant]",
        ];
        for i in 0..lines.len() {
            let mut edits = vec![
                [&lines[..i], &lines[i + 1..]].concat(),
                [&lines[..=i], &lines[i..]].concat(),
            ];
            for e in extras {
                edits.push([&lines[..=i], &[e][..], &lines[i + 1..]].concat());
            }
            for edited in edits {
                let t = edited.join("\n");
                let r = std::panic::catch_unwind(|| resolve_variants("m.toml", "m", &t).is_ok());
                assert!(r.is_ok(), "panic on:\n{t}");
            }
        }
    }

    #[test]
    fn overrides_merge_like_a_variant_and_their_problems_name_the_override() {
        let set = |path: &str, value: &str| Override {
            path: path.into(),
            value: value.into(),
        };
        let s = resolve_with_overrides(
            "v.toml",
            "v",
            BASE,
            &[set("rollout.max_surge", "3"), set("duration", "\"30s\"")],
        )
        .unwrap();
        assert_eq!(s.traffic.end.as_secs_f64(), 30.0);
        assert_eq!(s.strategy_name(), "rolling");
        // A wrong type on the second override: placed on its line, index 1.
        let e = resolve_with_overrides(
            "v.toml",
            "v",
            BASE,
            &[set("rollout.max_surge", "3"), set("traffic.rate", "\"x\"")],
        )
        .unwrap_err();
        assert_eq!(e[0].0, Some(1), "{:?}", e);
        assert_eq!(e[0].1.source_line, "traffic.rate = \"x\"");
        // A table the file does not have.
        let e =
            resolve_with_overrides("v.toml", "v", BASE, &[set("database.cpu", "4")]).unwrap_err();
        assert!(e[0].1.message.contains("no [database] table"), "{:?}", e);
    }

    #[test]
    fn a_file_without_variants_has_none_and_no_warning() {
        let v = variants("").unwrap();
        assert!(v.variants.is_empty());
        assert!(v.base.warnings.is_empty());
    }
}
