//! YAML documents as a tree whose every node keeps its line and column, read within limits.
//!
//! serde-saphyr gives each value its position through `Spanned<T>`; a generic tree of such
//! nodes lets the readers (`k8s.rs`, `argo.rs`) look up any field by path, report a problem at
//! its line and column, list every field `explain` understood and every one it did not.
//!
//! Hostile input is refused, never expanded: the file is capped in bytes before parsing, and
//! serde-saphyr's `Budget` caps events, nodes, depth, documents and aliases while it parses
//! (an alias bomb trips `max_total_replayed_events` long before it uses memory).

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A manifest file larger than this is refused before parsing (real manifests are a few KiB).
pub const MAX_BYTES: usize = 1024 * 1024;
/// At most this many documents in one file.
pub const MAX_DOCUMENTS: usize = 64;
/// Nesting depth (a Deployment nests about 12 deep).
pub const MAX_DEPTH: usize = 48;
/// Nodes across the file.
pub const MAX_NODES: usize = 100_000;
/// Events replayed by aliases across the file: the guard against alias bombs.
pub const MAX_ALIAS_EVENTS: usize = 20_000;

/// One YAML node with its position (1-based; 0 when serde-saphyr could not place it).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Line.
    pub line: u32,
    /// Column.
    pub column: u32,
    /// The value.
    pub kind: Kind,
}

/// A node's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A string (quoted or plain).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The child at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node at a path of keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, k| n.get(k))
    }

    /// A string value.
    pub fn str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping's entries (empty for anything else).
    pub fn entries(&self) -> &[(String, Node)] {
        match &self.kind {
            Kind::Map(m) => m,
            _ => &[],
        }
    }

    /// The sequence's items (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(s) => s,
            _ => &[],
        }
    }

    /// The value as written, short, for messages and `explain`.
    pub fn show(&self) -> String {
        match &self.kind {
            Kind::Null => "null".into(),
            Kind::Bool(b) => b.to_string(),
            Kind::Int(i) => i.to_string(),
            Kind::Float(f) => f.to_string(),
            Kind::Str(s) if s.chars().count() > 40 => {
                format!("\"{}…\"", s.chars().take(40).collect::<String>())
            }
            Kind::Str(s) => format!("\"{s}\""),
            Kind::Seq(s) => format!("a list of {}", s.len()),
            Kind::Map(_) => "a mapping".into(),
        }
    }

    /// What kind of value this is, in words.
    pub fn what(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "true/false",
            Kind::Int(_) => "a whole number",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Kind>::deserialize(d)?;
        Ok(Node {
            line: s.referenced.line() as u32,
            column: s.referenced.column() as u32,
            kind: s.value,
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut v = Vec::new();
        while let Some(n) = a.next_element::<Node>()? {
            v.push(n);
        }
        Ok(Kind::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut m = Vec::new();
        while let Some(k) = a.next_key::<Key>()? {
            m.push((k.0, a.next_value::<Node>()?));
        }
        Ok(Kind::Map(m))
    }
}

/// A mapping key: any scalar, as text (`80: http` has the key "80").
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Kind::deserialize(d)? {
            Kind::Str(s) => Ok(Key(s)),
            Kind::Int(i) => Ok(Key(i.to_string())),
            Kind::Float(f) => Ok(Key(f.to_string())),
            Kind::Bool(b) => Ok(Key(b.to_string())),
            Kind::Null => Ok(Key("null".into())),
            _ => Err(serde::de::Error::custom(
                "a mapping key must be a plain value, not a list or mapping",
            )),
        }
    }
}

/// Why a file could not be read as YAML: a message and, where known, its line and column.
#[derive(Clone, Debug, PartialEq)]
pub struct YamlError {
    /// What is wrong.
    pub message: String,
    /// Line (0: unknown).
    pub line: u32,
    /// Column (0: unknown).
    pub column: u32,
}

/// Parses every document of `text` within the limits above.
pub fn documents(text: &str) -> Result<Vec<Node>, YamlError> {
    if text.len() > MAX_BYTES {
        return Err(YamlError {
            message: format!(
                "the manifest is {} bytes, over the {MAX_BYTES}-byte limit for one file",
                text.len()
            ),
            line: 0,
            column: 0,
        });
    }
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_documents = MAX_DOCUMENTS;
    budget.max_nodes = MAX_NODES;
    budget.max_events = 4 * MAX_NODES;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_EVENTS;
    options.with_snippet = false;
    let docs: Vec<Node> = serde_saphyr::from_multiple_with_options(text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((0, 0), |l| (l.line() as u32, l.column() as u32));
        let message = e.to_string();
        // The first line, without serde-saphyr's own "at line …" chain (the place is kept
        // apart, and an alias bomb's chain names every level).
        let first = message.lines().next().unwrap_or("");
        let message = first
            .split(" at line ")
            .next()
            .unwrap_or(first)
            .trim()
            .to_string();
        YamlError {
            message,
            line,
            column,
        }
    })?;
    Ok(docs.into_iter().filter(|d| d.kind != Kind::Null).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_keep_their_lines() {
        let d = documents("a: 1\nb:\n  c: x\n---\nd: [1, 2]\n").unwrap();
        assert_eq!(d.len(), 2);
        let c = d[0].at(&["b", "c"]).unwrap();
        assert_eq!((c.line, c.kind.clone()), (3, Kind::Str("x".into())));
        assert_eq!(d[1].get("d").unwrap().items().len(), 2);
    }

    #[test]
    fn an_alias_bomb_is_refused_quickly() {
        let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            s.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        let t = std::time::Instant::now();
        assert!(documents(&s).is_err());
        assert!(t.elapsed().as_secs() < 5);
    }

    #[test]
    fn deep_nesting_and_big_files_are_refused() {
        let deep = "[".repeat(500) + &"]".repeat(500);
        assert!(documents(&deep).is_err());
        let big = "a: b\n".repeat(MAX_BYTES / 4);
        assert!(documents(&big).unwrap_err().message.contains("limit"));
    }
}
