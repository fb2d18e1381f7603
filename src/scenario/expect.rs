//! `[expect]`: what `rollsim check` asserts about a scenario's `summary.json`.
//!
//! ```toml
//! [expect]
//! baseline = "rolling.toml"                    # optional: a reference run on the same traffic
//! "requests.failed" = "<= 0"                   # a summary path = a comparison and a threshold
//! "rollout.outcome" = "== 'completed'"
//! "capacity.cost" = "<= 1.2 * baseline"
//! "latency_ms.p99" = { p95 = "< 300" }         # over `--runs N`: the runs' 95th percentile
//! ```
//!
//! Every path is checked against the summary's shape (`check::summary_shape`) while the
//! scenario is read, so a typo is a file:line:col error with the nearest valid path, before
//! anything runs; every expression is parsed (`check::expr`) and a parse error points at the
//! character. A word threshold needs a word metric and a number a number.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use toml::de::DeValue;

use super::problems::{closest, Problems};
use super::Scenario;
use crate::check::expr::{self, Expr, Operand};
use crate::check::shape::{children, leaf, leaf_paths, lookup, summary_shape, Leaf};

/// One `[expect]` entry as written: a string, or a one-key table naming the statistic.
#[derive(Clone, Debug)]
pub enum RawExpectValue {
    /// `"<= 0"`.
    Text(String),
    /// `{ mean = "<= 10" }` (`None`: the entry's value was a table, as a bare `p99.9` makes).
    Table(IndexMap<String, Option<String>>),
}

/// A statistic's expression, or `None` for a table (`{ p99.9 = … }` is the dotted key
/// `p99` → `9`), reported with its fix in [`expectations`].
struct InnerV;

impl<'de> Visitor<'de> for InnerV {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an expectation in quotes such as \"<= 10\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        while m.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

struct Inner(Option<String>);

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InnerV).map(Inner)
    }
}

struct ExpectV;

impl<'de> Visitor<'de> for ExpectV {
    type Value = RawExpectValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an expectation in quotes such as \"<= 0\", or a table such as { mean = \"<= 10\" }",
        )
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawExpectValue::Text(v.to_string()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut t = IndexMap::new();
        while let Some((k, Inner(v))) = m.next_entry::<String, Inner>()? {
            t.insert(k, v);
        }
        Ok(RawExpectValue::Table(t))
    }
}

impl<'de> Deserialize<'de> for RawExpectValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ExpectV)
    }
}

/// Which statistic of the runs an expectation is checked on (with one run, all are that run's
/// value).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Written as a bare string: with `--runs N` > 1, every run must satisfy it (as `every`).
    Plain,
    /// `{ every = … }`: every run.
    Every,
    /// `{ mean = … }`: the mean's 95 % confidence interval must satisfy it — its upper bound
    /// for `<` / `<=`, its lower bound for `>` / `>=`; `==` holds when the threshold lies
    /// inside the interval and `!=` when it lies outside.
    Mean,
    /// `{ p95 = … }`: the runs' percentile (0–100 as written, linear interpolation).
    Quantile(f64),
}

impl Mode {
    /// How the mode is written (`""` for a bare string).
    pub fn label(&self) -> String {
        match self {
            Mode::Plain => String::new(),
            Mode::Every => "every".into(),
            Mode::Mean => "mean".into(),
            Mode::Quantile(pct) => format!("p{pct}"),
        }
    }
}

/// One expectation, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// The summary path (`latency_ms.p99`).
    pub path: String,
    /// The statistic over runs.
    pub mode: Mode,
    /// The comparison.
    pub expr: Expr,
    /// The expression as written.
    pub text: String,
    /// Where the entry is: 1-based line and column of its key.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// The reference scenario `baseline` in an expression refers to.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// As written.
    pub written: String,
    /// Resolved against the scenario file's folder.
    pub path: PathBuf,
    /// 1-based line of the `baseline` value.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A scenario's `[expect]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectations {
    /// The expectations, in file order.
    pub items: Vec<Expectation>,
    /// The baseline scenario, if one is named.
    pub baseline: Option<Baseline>,
}

/// Spans of `expect.<key>`'s key and value, and of the inner key and value of a table form.
struct Spans {
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    inner_key: Option<Range<usize>>,
    inner_value: Option<Range<usize>>,
}

fn spans(pr: &Problems<'_>, key: &str) -> Spans {
    let mut s = Spans {
        key: None,
        value: None,
        inner_key: None,
        inner_value: None,
    };
    let Some(DeValue::Table(t)) = pr.loc.doc.get_ref().get("expect").map(|v| v.get_ref()) else {
        return s;
    };
    if let Some((k, v)) = t.get_key_value(key) {
        s.key = Some(k.span());
        s.value = Some(v.span());
        if let DeValue::Table(inner) = v.get_ref() {
            if let Some((ik, iv)) = inner.iter().next() {
                s.inner_key = Some(ik.span());
                s.inner_value = Some(iv.span());
            }
        }
    }
    s
}

fn place(pr: &mut Problems<'_>, span: Option<Range<usize>>, msg: String, help: String) {
    let d = pr.loc.at_span(span, msg, Some(help));
    pr.found.push(d);
}

/// The span of characters `at..at + width` of a string value written at `value` (its quotes
/// included), when the string holds no escapes; else the whole value.
fn inside(
    value: &Option<Range<usize>>,
    text: &str,
    at: usize,
    width: usize,
) -> Option<Range<usize>> {
    let v = value.clone()?;
    if v.len() != text.len() + 2 {
        return Some(v);
    }
    let byte = |c: usize| text.char_indices().nth(c).map_or(text.len(), |(i, _)| i);
    let start = v.start + 1 + byte(at);
    let end = v.start + 1 + byte(at + width).max(byte(at) + 1);
    Some(start..end.min(v.end))
}

/// The statistic named by a table form's key.
fn mode(name: &str) -> Option<Mode> {
    match name {
        "every" => Some(Mode::Every),
        "mean" => Some(Mode::Mean),
        _ => {
            let q: f64 = name.strip_prefix('p')?.parse().ok()?;
            (q > 0.0 && q <= 100.0).then_some(Mode::Quantile(q))
        }
    }
}

const MODE_HELP: &str = "name the statistic over `--runs`: { every = \"<= 0\" } (each run), { mean = \"<= 10\" } (the mean's 95 % interval), or a quantile such as { p95 = \"<= 10\" }";

/// Validates `[expect]` against the summary `scenario` would write.
pub(super) fn expectations(
    pr: &mut Problems<'_>,
    raw: &IndexMap<String, RawExpectValue>,
    scenario: &Scenario,
) -> Option<Expectations> {
    let shape = summary_shape(scenario);
    let valid = leaf_paths(&shape);
    let file = pr.loc.file().to_string();
    let mut out = Expectations {
        items: Vec::new(),
        baseline: None,
    };
    let before = pr.found.len();
    for (key, value) in raw {
        let sp = spans(pr, key);
        if key == "baseline" {
            match value {
                RawExpectValue::Text(t) if !t.trim().is_empty() => {
                    let d = pr.loc.at_span(sp.value.clone(), String::new(), None);
                    let dir = std::path::Path::new(&file)
                        .parent()
                        .map(PathBuf::from)
                        .unwrap_or_default();
                    out.baseline = Some(Baseline {
                        written: t.clone(),
                        path: dir.join(t),
                        line: d.line,
                        column: d.column,
                    });
                }
                _ => place(
                    pr,
                    sp.value,
                    "`baseline` names a scenario file".into(),
                    "write baseline = \"other.toml\" (relative to this file's folder)".into(),
                ),
            }
            continue;
        }
        let (mode, text, value_span, mode_span) = match value {
            RawExpectValue::Text(t) => (Mode::Plain, t.clone(), sp.value.clone(), None),
            RawExpectValue::Table(t) if t.len() == 1 => {
                let (name, text) = t.iter().next().expect("one entry");
                let Some(text) = text else {
                    place(
                        pr,
                        sp.inner_key.clone(),
                        format!(
                            "`{name}.…` is a dotted key: TOML splits an unquoted name at its dots"
                        ),
                        format!("quote the statistic, e.g. {{ \"{name}.9\" = \"< 300\" }}"),
                    );
                    continue;
                };
                match self::mode(name) {
                    Some(m) => (
                        m,
                        text.clone(),
                        sp.inner_value.clone(),
                        sp.inner_key.clone(),
                    ),
                    None => {
                        place(
                            pr,
                            sp.inner_key.clone(),
                            format!("`{name}` is not a statistic over runs"),
                            MODE_HELP.into(),
                        );
                        continue;
                    }
                }
            }
            RawExpectValue::Table(_) => {
                place(
                    pr,
                    sp.value.clone(),
                    format!("the expectation on `{key}` must name exactly one statistic"),
                    format!("{MODE_HELP}; to bound two statistics, keep the stricter one"),
                );
                continue;
            }
        };
        // The path, against the summary's shape.
        let kind = match lookup(&shape, key) {
            None => {
                let help = match closest(key, &valid) {
                    Some(near) => format!("did you mean \"{near}\"?"),
                    None => {
                        let top = key.split(['.', '[']).next().unwrap_or("");
                        let under = children(&shape, top);
                        if under.is_empty() {
                            "expectations use summary.json's paths, such as \"requests.failed\", \"latency_ms.p99\", \"rollout.outcome\", \"capacity.cost\"".into()
                        } else {
                            format!("`{top}` holds: {}", under.join(", "))
                        }
                    }
                };
                place(
                    pr,
                    sp.key.clone(),
                    format!("\"{key}\" is not in this scenario's summary.json"),
                    help,
                );
                continue;
            }
            Some(v) => match leaf(v) {
                Some(Leaf::Other) | None => {
                    let under = children(&shape, key);
                    place(
                        pr,
                        sp.key.clone(),
                        format!("\"{key}\" is not a single number or word in summary.json"),
                        if under.is_empty() {
                            "expect a number (such as \"requests.failed\") or a word (\"rollout.outcome\")".into()
                        } else {
                            format!(
                                "name one of its entries: {}",
                                under
                                    .iter()
                                    .map(|c| format!("\"{key}.{c}\""))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        },
                    );
                    continue;
                }
                Some(k) => k,
            },
        };
        let parsed = match expr::parse(&text) {
            Ok(e) => e,
            Err(e) => {
                let span = inside(&value_span, &text, e.at, e.width);
                place(
                    pr,
                    span,
                    format!("the expectation \"{text}\" does not parse: {}", e.message),
                    e.help,
                );
                continue;
            }
        };
        let problem = match (&parsed.rhs, kind) {
            (Operand::Word(w), Leaf::Number) => Some((
                format!("\"{key}\" is a number, not a word like '{w}'"),
                "compare it with a number, e.g. \"<= 0\"".to_string(),
            )),
            (Operand::Number(_), Leaf::Word) => Some((
                format!("\"{key}\" is a word, not a number"),
                "compare it with a quoted word: \"== 'completed'\"".to_string(),
            )),
            (Operand::Word(_), _) if matches!(mode, Mode::Mean | Mode::Quantile(_)) => Some((
                format!("a {} of words has no meaning", mode.label()),
                "use { every = \"== 'completed'\" } or a bare string".to_string(),
            )),
            (Operand::Number(a), _) if a.uses_baseline() && !raw.contains_key("baseline") => {
                Some((
                    "`baseline` is used but no baseline scenario is named".to_string(),
                    "add baseline = \"other.toml\" to [expect]: a scenario run on the same traffic and seed".to_string(),
                ))
            }
            _ => None,
        };
        if let Some((msg, help)) = problem {
            place(pr, value_span.or(mode_span), msg, help);
            continue;
        }
        let d = pr.loc.at_span(sp.key.clone(), String::new(), None);
        out.items.push(Expectation {
            path: key.clone(),
            mode,
            expr: parsed,
            text,
            line: d.line,
            column: d.column,
        });
    }
    if out.items.is_empty() && pr.found.len() == before {
        let span = pr.loc.span_of(&["expect".to_string()]);
        place(
            pr,
            span,
            "[expect] holds no expectation".into(),
            "add one such as \"requests.failed\" = \"<= 0\", or remove the table".into(),
        );
    }
    (pr.found.len() == before).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
duration = "1m"
[traffic]
rate = 10
[versions.v1]
service = "50ms"
[deployment]
replicas = 3
version = "v1"
[expect]
"#;

    fn load(expect: &str) -> Result<Scenario, Vec<crate::scenario::Diagnostic>> {
        Scenario::parse("dir/s.toml", "s", &format!("{BASE}{expect}")).map_err(|e| e.diagnostics)
    }

    #[test]
    fn every_form_resolves_with_its_position() {
        let s = load(
            "baseline = \"b.toml\"\n\"requests.failed\" = \"<= 0\"\n\"rollout.detect_s\" = { mean = \"< 15\" }\n\"latency_ms.p99\" = { \"p99.9\" = \"< 300\" }\n\"capacity.cost\" = { every = \"<= 1.2 * baseline\" }\n",
        )
        .unwrap();
        let e = s.expect.unwrap();
        let b = e.baseline.unwrap();
        assert_eq!(b.path, PathBuf::from("dir/b.toml"));
        assert_eq!((b.line, b.column), (11, 12));
        let modes: Vec<Mode> = e.items.iter().map(|i| i.mode).collect();
        assert_eq!(
            modes,
            vec![Mode::Plain, Mode::Mean, Mode::Quantile(99.9), Mode::Every]
        );
        assert_eq!(e.items[2].mode.label(), "p99.9");
        assert_eq!((e.items[0].line, e.items[0].column), (12, 1));
    }

    #[test]
    fn types_statistics_and_baselines_are_checked() {
        let cases = [
            (
                "\"requests.failed\" = \"== 'none'\"\n",
                "is a number, not a word",
            ),
            (
                "\"rollout.outcome\" = \"<= 3\"\n",
                "is a word, not a number",
            ),
            (
                "\"rollout.outcome\" = { mean = \"== 'completed'\" }\n",
                "a mean of words",
            ),
            (
                "\"requests.failed\" = { mean = \"<= 1\", every = \"<= 2\" }\n",
                "exactly one statistic",
            ),
            (
                "\"requests.failed\" = { p0 = \"<= 1\" }\n",
                "not a statistic over runs",
            ),
            (
                "\"requests.failed\" = \"<= baseline\"\n",
                "no baseline scenario is named",
            ),
            ("\"requests\" = \"<= 1\"\n", "not a single number or word"),
            ("\"warnings\" = \"<= 1\"\n", "not a single number or word"),
            (
                "\"database.queries\" = \"<= 1\"\n",
                "not in this scenario's summary.json",
            ),
            ("", "[expect] holds no expectation"),
            (
                "\"latency_ms.p99\" = { p99.9 = \"< 3\" }\n",
                "`p99.…` is a dotted key",
            ),
        ];
        for (text, want) in cases {
            let e = load(text).unwrap_err();
            assert_eq!(e.len(), 1, "{text}: {e:?}");
            assert!(e[0].message.contains(want), "{text}: {}", e[0].message);
            assert!(e[0].line >= 10, "{text}: located: {:?}", e[0]);
        }
    }

    #[test]
    fn a_parse_error_points_at_the_character() {
        let e = load("\"latency_ms.p99\" = \"<= 3OO\"\n").unwrap_err();
        assert_eq!((e[0].line, e[0].column), (11, 25), "{e:?}");
        assert!(e[0].message.contains("does not parse"), "{e:?}");
    }
}
