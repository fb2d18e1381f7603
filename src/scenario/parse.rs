//! Stage zero: bytes → text → TOML → raw structs, finding every structural problem at once.
//!
//! One parser gives both the values and their positions: `toml`'s span-keeping `DeTable`
//! (TOML 1.1), deserialised into the `raw` structs through `toml::de::Deserializer`. The
//! `Locator` that places later (semantic) problems walks the same `DeTable`, so a position can
//! never be lost to a second parser that reads the file differently.
//!
//! Serde stops at the first error. To report every structural problem at once, the document is
//! repaired after each error and deserialised again: an unknown key is removed, a value of the
//! wrong type (or a missing required key) is replaced by the first stand-in value of another
//! type that gets past that spot. Stand-ins carry a span past the end of the text, so an error
//! inside one is recognised and never reported. Repairs stop when none helps, after
//! [`MAX_PROBLEMS`] problems, or when the structs deserialise.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeArray, DeInteger, DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{position, Diagnostic, Locator, ScenarioError};
use super::raw::RawScenario;
use super::suggest::{missing_help, unknown_key_help};

/// At most this many structural problems are reported for one file.
pub(super) const MAX_PROBLEMS: usize = 50;

/// Decodes the file's bytes, or says why they are not a scenario (binary, not UTF-8).
pub(super) fn decode<'b>(file: &str, bytes: &'b [u8]) -> Result<&'b str, ScenarioError> {
    if let Some(at) = bytes.iter().take(64 * 1024).position(|b| *b == 0) {
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        return Err(ScenarioError::from(Diagnostic::whole_file(
            file,
            format!("this is a binary file, not a scenario: it holds a NUL byte at byte {at} (line {line})"),
            Some("pass a TOML scenario file, such as scenarios/rolling.toml".into()),
        )));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let lossy = String::from_utf8_lossy(bytes);
        // Position in the lossy text: the valid prefix is identical, so `at` is a boundary.
        let (line, column, source_line, _) = position(&lossy, &(at..at + 1));
        let byte = bytes[at];
        ScenarioError::from(Diagnostic {
            file: file.to_string(),
            line,
            column,
            message: format!(
                "the file is not UTF-8 text: byte 0x{byte:02X} at line {line}, column {column} is not valid UTF-8"
            ),
            help: Some("save the file as UTF-8 (a byte like this usually means Latin-1 or Windows-1252 text)".into()),
            source_line,
            width: 1,
            notes: Vec::new(),
        })
    })
}

/// The TOML parse of `text`, or its syntax errors (a Kubernetes manifest is named as such);
/// `manifests`, the TOML generated from the scenario's manifests, is merged under it (the
/// file's own values win).
pub(super) fn parse_text<'a>(
    file: &'a str,
    text: &'a str,
    manifests: Option<&'a str>,
) -> Result<Locator<'a>, Vec<Diagnostic>> {
    let (mut doc, errors) = DeTable::parse_recoverable(text);
    if errors.is_empty() {
        super::manifests::merge(doc.get_mut(), manifests, text.len() + 2);
    }
    let loc = Locator::new(file, text, doc);
    if let Some(d) = kubernetes_manifest(&loc, text, !errors.is_empty()) {
        return Err(vec![d]);
    }
    if !errors.is_empty() {
        let mut found: Vec<Diagnostic> = errors
            .iter()
            .take(MAX_PROBLEMS)
            .map(|e| syntax(&loc, text, e))
            .collect();
        found.sort_by_key(|d| (d.line, d.column));
        found.dedup();
        return Err(found);
    }
    Ok(loc)
}

/// The raw structs from the parse `loc` holds (for a variant: the base with the variant's
/// tables merged in), or every structural problem found.
pub(super) fn deserialize_checked(
    loc: Locator<'_>,
) -> Result<(RawScenario, Locator<'_>), Vec<Diagnostic>> {
    let text_len = loc.text_len();
    let mut work = loc.doc.clone();
    let mut found = rollout_needs(&loc);
    let fake = text_len + 1;
    while found.len() < MAX_PROBLEMS {
        match deserialize(&work) {
            Ok(raw) if found.is_empty() => return Ok((raw, loc)),
            Ok(_) => break,
            Err(e) => {
                found.push(structural(&loc, &e));
                if !repair(&mut work, &e, fake) {
                    break;
                }
            }
        }
    }
    // Serde meets problems in its own order; show them in the file's.
    found.sort_by_key(|d| (d.line, d.column));
    Err(found)
}

/// `[rollout]` needs `to` and `at` unless the scenario has `[[steps]]` (whose deploy steps
/// give them): a structural problem like a missing key, reported with the others.
fn rollout_needs(loc: &Locator<'_>) -> Vec<Diagnostic> {
    let doc = loc.doc.get_ref();
    if doc.get("steps").is_some() {
        return Vec::new();
    }
    let Some(DeValue::Table(t)) = doc.get("rollout").map(|v| v.get_ref()) else {
        return Vec::new();
    };
    ["to", "at"]
        .into_iter()
        .filter(|k| t.get(*k).is_none())
        .map(|k| {
            loc.at_path(
                &["rollout".to_string()],
                format!("`rollout` needs `{k}`"),
                Some(missing_help(k)),
            )
        })
        .collect()
}

fn deserialize(doc: &Spanned<DeTable<'_>>) -> Result<RawScenario, toml::de::Error> {
    RawScenario::deserialize(toml::de::Deserializer::from(doc.clone()))
}

/// A Kubernetes manifest passed as a scenario: say so instead of listing YAML's syntax errors.
fn kubernetes_manifest(loc: &Locator<'_>, text: &str, broken: bool) -> Option<Diagnostic> {
    const YAML_KEYS: [&str; 4] = ["apiVersion:", "kind:", "metadata:", "spec:"];
    let mut offset = 0;
    let mut first = true;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let here = offset + (line.len() - line.trim_start().len());
        offset += line.len();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let yaml = YAML_KEYS.iter().any(|k| t.starts_with(k)) || (first && t == "---");
        if yaml && (first || broken) {
            return Some(loc.at_span(
                Some(here..here + t.len()),
                "this looks like a Kubernetes manifest (YAML), not a rollsim scenario (TOML)".into(),
                Some("rollsim reads its own TOML scenario: put spec.replicas under [deployment] as replicas, the strategy's maxSurge/maxUnavailable under [rollout] as max_surge/max_unavailable; start from scenarios/rolling.toml".into()),
            ));
        }
        first = false;
    }
    None
}

/// A TOML syntax error; a duplicate key points at both copies.
fn syntax(loc: &Locator<'_>, text: &str, e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim();
    if msg.starts_with("duplicate key") {
        if let Some(span) = e.span() {
            let name = text[span.clone()]
                .trim()
                .trim_matches(['"', '\''])
                .to_string();
            let mut d = loc.at_span(
                Some(span.clone()),
                format!("duplicate key `{name}`: it is already defined"),
                Some("keep one of the two; TOML allows a key once per table (and a [table] header once)".into()),
            );
            if let Some(first) = first_copy(loc, text, &name, &span) {
                d.notes
                    .push(loc.note_at(&first, format!("`{name}` first defined here")));
            }
            return d;
        }
    }
    let line = e.span().map_or("", |sp| {
        let start = text[..sp.start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        text[start..].lines().next().unwrap_or("")
    });
    let yaml = line.split_once(':').is_some_and(|(k, _)| {
        !k.contains('=') && !k.trim().is_empty() && !k.trim_start().starts_with(['[', '#'])
    });
    let help = if yaml {
        "this line looks like YAML (`key: value`); scenarios are TOML: write `key = value`, strings in double quotes"
    } else {
        "write `key = value` with strings in double quotes (strategy = \"rolling\"), tables as [name]"
    };
    loc.at_span(e.span(), format!("invalid TOML: {msg}"), Some(help.into()))
}

/// The earlier copy of a duplicated key: the nearest preceding key of that name in the parse,
/// or, for a repeated `[table]` header (which the parse merges), the earlier identical header.
fn first_copy(
    loc: &Locator<'_>,
    text: &str,
    name: &str,
    dup: &Range<usize>,
) -> Option<Range<usize>> {
    let line_start = text[..dup.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[dup.start..]
        .find('\n')
        .map_or(text.len(), |i| dup.start + i);
    let line = text[line_start..line_end].trim();
    if line.starts_with('[') {
        let mut offset = 0;
        let mut best = None;
        for l in text[..line_start].split_inclusive('\n') {
            if l.trim() == line {
                let key_at = l.find(name).unwrap_or(0);
                best = Some(offset + key_at..offset + key_at + name.len());
            }
            offset += l.len();
        }
        if best.is_some() {
            return best;
        }
    }
    let mut best: Option<Range<usize>> = None;
    fn walk(t: &DeTable<'_>, name: &str, dup: &Range<usize>, best: &mut Option<Range<usize>>) {
        for (k, v) in t.iter() {
            let s = k.span();
            if k.get_ref() == name
                && s.start < dup.start
                && best.as_ref().is_none_or(|b| b.start < s.start)
            {
                *best = Some(s);
            }
            walk_value(v.get_ref(), name, dup, best);
        }
    }
    fn walk_value(
        v: &DeValue<'_>,
        name: &str,
        dup: &Range<usize>,
        best: &mut Option<Range<usize>>,
    ) {
        match v {
            DeValue::Table(t) => walk(t, name, dup, best),
            DeValue::Array(a) => a
                .iter()
                .for_each(|e| walk_value(e.get_ref(), name, dup, best)),
            _ => {}
        }
    }
    walk(loc.doc.get_ref(), name, dup, &mut best);
    best
}

/// The key path of the key or value at `span` (`[]` for the whole document).
fn path_at(doc: &Spanned<DeTable<'_>>, span: &Range<usize>) -> Option<Vec<String>> {
    fn in_value(v: &Spanned<DeValue<'_>>, span: &Range<usize>, p: &mut Vec<String>) -> bool {
        if v.span() == *span {
            return true;
        }
        match v.get_ref() {
            DeValue::Table(t) => in_table(t, span, p),
            DeValue::Array(a) => a.iter().enumerate().any(|(i, e)| {
                p.push(i.to_string());
                in_value(e, span, p) || {
                    p.pop();
                    false
                }
            }),
            _ => false,
        }
    }
    fn in_table(t: &DeTable<'_>, span: &Range<usize>, p: &mut Vec<String>) -> bool {
        t.iter().any(|(k, v)| {
            p.push(k.get_ref().to_string());
            k.span() == *span || in_value(v, span, p) || {
                p.pop();
                false
            }
        })
    }
    if doc.span() == *span {
        return Some(Vec::new());
    }
    let mut p = Vec::new();
    in_table(doc.get_ref(), span, &mut p).then_some(p)
}

/// The value whose span is `span`.
fn value_at<'d, 'a>(doc: &'d Spanned<DeTable<'a>>, span: &Range<usize>) -> Option<&'d DeValue<'a>> {
    fn in_value<'d, 'a>(
        v: &'d Spanned<DeValue<'a>>,
        span: &Range<usize>,
    ) -> Option<&'d DeValue<'a>> {
        if v.span() == *span {
            return Some(v.get_ref());
        }
        match v.get_ref() {
            DeValue::Table(t) => t.values().find_map(|c| in_value(c, span)),
            DeValue::Array(a) => a.iter().find_map(|c| in_value(c, span)),
            _ => None,
        }
    }
    doc.get_ref().values().find_map(|v| in_value(v, span))
}

/// `rollout.steps[1].pause`.
pub(super) fn show_path(p: &[String]) -> String {
    let mut s = String::new();
    for k in p {
        if k.parse::<usize>().is_ok() && !s.is_empty() {
            s.push_str(&format!("[{k}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(k);
        }
    }
    s
}

/// `[rollout]`, `rollout.steps[1]` or "the top level".
fn show_table(p: &[String]) -> String {
    match p {
        [] => "at the top level".into(),
        _ if p.last().is_some_and(|k| k.parse::<usize>().is_ok()) => {
            format!("in `{}`", show_path(p))
        }
        _ => format!("in [{}]", show_path(p)),
    }
}

/// The backquoted names in `s`.
fn quoted(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// What serde's name for an expected type means, in words.
fn expected_words(b: &str) -> String {
    let b = b.trim();
    match b {
        "f64" | "f32" => "a number".into(),
        "i64" | "i32" | "i16" | "i8" | "u64" | "u32" | "u16" | "u8" | "usize" | "isize" => {
            "a whole number".into()
        }
        "a boolean" => "true or false".into(),
        "a string" | "a borrowed string" | "a char" => "a string in double quotes".into(),
        "a sequence" => "an array such as [ … ]".into(),
        _ if b.starts_with("struct ") || b.starts_with("a map") || b == "map" => "a table".into(),
        _ => b.into(),
    }
}

/// What serde's description of a found value means, in words.
fn found_words(a: &str) -> String {
    let a = a.trim();
    let inner = |p: &str| a.strip_prefix(p).map(|r| r.trim_matches('`').to_string());
    if let Some(s) = a.strip_prefix("string ") {
        format!("the string {s}")
    } else if let Some(n) = inner("integer ") {
        match n.split_once('`') {
            // Serde's "integer `N` as i128": beyond 64 bits.
            Some((n, _)) => format!("{n}, which is too large"),
            None => format!("the whole number {n}"),
        }
    } else if let Some(n) = inner("floating point ") {
        format!("the number {n}")
    } else if let Some(b) = inner("boolean ") {
        b
    } else {
        match a {
            "map" => "a table".into(),
            "sequence" => "an array".into(),
            o => o.into(),
        }
    }
}

/// A structural error (unknown key, missing key, wrong type) in words, at its place.
fn structural(loc: &Locator<'_>, e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim();
    let span = e.span();
    let p = span
        .as_ref()
        .and_then(|s| path_at(&loc.doc, s))
        .unwrap_or_default();
    let key = show_path(&p);
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let names = quoted(rest);
        let (name, accepted) = names
            .split_first()
            .map_or((String::new(), &[][..]), |(n, a)| (n.clone(), a));
        let table = show_table(&p[..p.len().saturating_sub(1)]);
        return loc.at_span(
            span,
            format!("unknown key `{name}` {table}"),
            Some(unknown_key_help(&name, accepted)),
        );
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let name = quoted(rest).into_iter().next().unwrap_or_default();
        if p.is_empty() {
            return Diagnostic::whole_file(
                loc.file(),
                format!("the scenario needs `{name}`"),
                Some(missing_help(&name)),
            );
        }
        let table = format!("`{key}`");
        return loc.at_span(
            span,
            format!("{table} needs `{name}`"),
            Some(missing_help(&name)),
        );
    }
    for kind in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(kind) {
            if let Some(i) = rest.rfind(", expected ") {
                // TOML dates reach serde as a table; say what was written.
                let date =
                    span.as_ref()
                        .and_then(|s| value_at(&loc.doc, s))
                        .and_then(|v| match v {
                            DeValue::Datetime(d) => Some(format!("the date/time {d}")),
                            _ => None,
                        });
                let found = date.unwrap_or_else(|| found_words(&rest[..i]));
                let expected = expected_words(&rest[i + ", expected ".len()..]);
                let help = if found.starts_with("the string") && expected.contains("number") {
                    "write numbers without quotes, e.g. 100 or 0.5".to_string()
                } else if expected.starts_with("a string") {
                    "put the value in double quotes".to_string()
                } else {
                    "the scenarios in scenarios/ show each key with a value of the right type"
                        .to_string()
                };
                return loc.at_span(
                    span,
                    format!("`{key}` must be {expected}, not {found}"),
                    Some(help),
                );
            }
        }
    }
    if msg.contains("did not match any variant") {
        return loc.at_span(
            span,
            format!("`{key}` is not in a form this key accepts"),
            Some("see the scenario reference in README.md for the forms it takes".into()),
        );
    }
    let plain = msg
        .replace("i64", "a whole number")
        .replace("f64", "a number");
    loc.at_span(
        span,
        format!("`{key}`: {plain}"),
        Some("see the scenario reference in README.md".into()),
    )
}

/// Stand-in values, tried in turn to get past a value of the wrong type or a missing key.
fn stand_ins(span: &Range<usize>) -> [Spanned<DeValue<'static>>; 5] {
    let v = |d| Spanned::new(span.clone(), d);
    [
        v(DeValue::Integer(DeInteger::default())),
        v(DeValue::String(Cow::Borrowed("1s"))),
        v(DeValue::Boolean(true)),
        v(DeValue::Array(DeArray::default())),
        v(DeValue::Table(DeTable::new())),
    ]
}

/// The value whose span is `s`, anywhere under `v`.
fn value_mut<'w, 'a>(
    v: &'w mut Spanned<DeValue<'a>>,
    s: &Range<usize>,
) -> Option<&'w mut Spanned<DeValue<'a>>> {
    if v.span() == *s {
        return Some(v);
    }
    match v.get_mut() {
        DeValue::Table(t) => t.iter_mut().find_map(|(_, c)| value_mut(c, s)),
        DeValue::Array(a) => a.iter_mut().find_map(|c| value_mut(c, s)),
        _ => None,
    }
}

/// Removes the entry whose key has span `s`.
fn remove_key(t: &mut DeTable<'_>, s: &Range<usize>) -> bool {
    let name = t
        .keys()
        .find(|k| k.span() == *s)
        .map(|k| k.get_ref().to_string());
    if let Some(name) = name {
        return t.remove(name.as_str()).is_some();
    }
    fn in_value(v: &mut DeValue<'_>, s: &Range<usize>) -> bool {
        match v {
            DeValue::Table(t) => remove_key(t, s),
            DeValue::Array(a) => a.iter_mut().any(|e| in_value(e.get_mut(), s)),
            _ => false,
        }
    }
    t.iter_mut().any(|(_, v)| in_value(v.get_mut(), s))
}

/// Changes `work` so that deserialising gets past `e`; false if nothing does.
fn repair(work: &mut Spanned<DeTable<'_>>, e: &toml::de::Error, fake: usize) -> bool {
    let Some(span) = e.span() else {
        return false;
    };
    let msg = e.message();
    if msg.starts_with("unknown field") {
        return remove_key(work.get_mut(), &span);
    }
    let stand_in_span = fake..fake + 1;
    let past = |doc: &Spanned<DeTable<'_>>| match deserialize(doc) {
        Ok(_) => true,
        Err(e2) => {
            !(e2.span() == Some(span.clone()) && e2.message() == msg)
                && e2.span().is_none_or(|s| s.start < fake)
        }
    };
    if let Some(rest) = msg.strip_prefix("missing field ") {
        let Some(name) = quoted(rest).into_iter().next() else {
            return false;
        };
        for c in stand_ins(&stand_in_span) {
            let mut trial = work.clone();
            let table = if trial.span() == span {
                Some(trial.get_mut())
            } else {
                trial
                    .get_mut()
                    .iter_mut()
                    .find_map(|(_, v)| value_mut(v, &span))
                    .and_then(|v| match v.get_mut() {
                        DeValue::Table(t) => Some(t),
                        _ => None,
                    })
            };
            let Some(table) = table else {
                return false;
            };
            table.insert(
                Spanned::new(stand_in_span.clone(), Cow::Owned(name.clone())),
                c,
            );
            if past(&trial) {
                *work = trial;
                return true;
            }
        }
        return false;
    }
    for c in stand_ins(&stand_in_span) {
        let mut trial = work.clone();
        let Some(slot) = trial
            .get_mut()
            .iter_mut()
            .find_map(|(_, v)| value_mut(v, &span))
        else {
            return false;
        };
        *slot = c;
        if past(&trial) {
            *work = trial;
            return true;
        }
    }
    false
}
