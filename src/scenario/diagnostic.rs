//! Errors in scenario files, rendered the way compilers do: what is wrong, where (file, line,
//! column), the offending line with a caret, and how to fix it.
//!
//! Validation reports a key path (`rollout.max_surge`); the path is located in a span-keeping
//! parse of the same text (`toml_edit`), so the validator never handles byte offsets itself.

use std::fmt;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as given on the command line.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The source line, for the caret display.
    pub source_line: String,
    /// Length of the underline.
    pub width: usize,
}

/// Every problem found in one file (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl std::error::Error for ScenarioError {}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.line == 0 {
            writeln!(f, "  --> {}", self.file)?;
        } else {
            let gutter = self.line.to_string().len();
            let pad = " ".repeat(gutter);
            writeln!(f, "{pad}--> {}:{}:{}", self.file, self.line, self.column)?;
            writeln!(f, "{pad} |")?;
            writeln!(f, "{} | {}", self.line, self.source_line)?;
            writeln!(
                f,
                "{pad} | {}{}",
                " ".repeat(self.column.saturating_sub(1)),
                "^".repeat(self.width.max(1))
            )?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

/// Locates key paths and byte offsets in one scenario text.
pub struct Locator<'a> {
    file: &'a str,
    text: &'a str,
    doc: Option<toml_edit::Document<&'a str>>,
}

impl<'a> Locator<'a> {
    /// A locator over `text`, read from `file`.
    pub fn new(file: &'a str, text: &'a str) -> Self {
        Locator {
            file,
            text,
            doc: toml_edit::Document::parse(text).ok(),
        }
    }

    /// A diagnostic at a byte span.
    pub fn at_span(
        &self,
        span: Option<std::ops::Range<usize>>,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let Some(span) = span else {
            return Diagnostic {
                file: self.file.to_string(),
                line: 0,
                column: 0,
                message,
                help,
                source_line: String::new(),
                width: 0,
            };
        };
        let start = span.start.min(self.text.len());
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line = self.text[..start].matches('\n').count() + 1;
        let column = self.text[line_start..start].chars().count() + 1;
        let source_line = self.text[line_start..line_end].trim_end_matches('\r');
        let width = self.text[start..span.end.clamp(start, line_end)]
            .chars()
            .count();
        Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            message,
            help,
            source_line: source_line.to_string(),
            width,
        }
    }

    /// A diagnostic at the value of `path` (or, if it is absent, at the nearest table that is
    /// present).
    pub fn at_path(&self, path: &[String], message: String, help: Option<String>) -> Diagnostic {
        self.at_span(self.span_of(path), message, help)
    }

    fn span_of(&self, path: &[String]) -> Option<std::ops::Range<usize>> {
        use toml_edit::{Item, Table, Value};
        enum Node<'d> {
            Item(&'d Item),
            Table(&'d Table),
            Value(&'d Value),
        }
        let doc = self.doc.as_ref()?;
        let mut best = None;
        let mut node = Node::Item(doc.as_item());
        for key in path {
            let index = key.parse::<usize>().ok();
            let next = match node {
                Node::Item(Item::Table(t)) | Node::Table(t) => {
                    if let Some((k, _)) = t.get_key_value(key) {
                        best = k.span().or(best);
                    }
                    t.get(key).map(Node::Item)
                }
                Node::Item(Item::ArrayOfTables(a)) => index.and_then(|i| a.get(i)).map(Node::Table),
                Node::Item(Item::Value(v)) | Node::Value(v) => match v {
                    Value::InlineTable(t) => {
                        if let Some((k, _)) = t.get_key_value(key) {
                            best = k.span().or(best);
                        }
                        t.get(key).map(Node::Value)
                    }
                    Value::Array(a) => index.and_then(|i| a.get(i)).map(Node::Value),
                    _ => None,
                },
                Node::Item(Item::None) => None,
            };
            let Some(n) = next else {
                return best;
            };
            best = match &n {
                Node::Item(i) => i.span(),
                Node::Table(t) => t.span(),
                Node::Value(v) => v.span(),
            }
            .or(best);
            node = n;
        }
        best
    }
}
