//! Errors in scenario files, rendered the way compilers do: what is wrong, where (file, line,
//! column), the offending line with a caret, and how to fix it.
//!
//! Validation reports a key path (`rollout.max_surge`); the path is located in the span-keeping
//! parse that also produced the values (`toml`'s `DeTable`, see `parse.rs`), so the validator
//! never handles byte offsets itself and a position can never be lost to two parsers
//! disagreeing.
//!
//! Columns count characters (as editors do); the caret under the source line is placed by
//! display width, with tabs expanded to the next multiple of 4 and wide (East Asian, emoji) or
//! zero-width characters measured by `unicode-width`, so it stays under the right character.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;
use unicode_width::UnicodeWidthChar;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as given on the command line.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column in characters (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The source line, for the caret display.
    pub source_line: String,
    /// Length of the underline, in characters.
    pub width: usize,
    /// Other places that belong to the problem (the first copy of a duplicate key).
    pub notes: Vec<Note>,
}

/// A secondary place in the file, shown under the main one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// What this place is.
    pub label: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
    /// The source line.
    pub source_line: String,
    /// Length of the underline, in characters.
    pub width: usize,
}

impl Diagnostic {
    /// A problem with the whole file (no position).
    pub fn whole_file(file: &str, message: String, help: Option<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: 0,
            column: 0,
            message,
            help,
            source_line: String::new(),
            width: 0,
            notes: Vec::new(),
        }
    }
}

/// Every problem found in one file (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl std::error::Error for ScenarioError {}

impl From<Diagnostic> for ScenarioError {
    fn from(d: Diagnostic) -> Self {
        ScenarioError {
            diagnostics: vec![d],
        }
    }
}

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

/// Tab stops every 4 columns, as rustc renders them.
const TAB: usize = 4;

/// `line` with tabs expanded, and the display columns (0-based) where character `column`
/// (1-based) starts and where `width` characters later end.
fn layout(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    let mut shown = String::new();
    let (mut start, mut end) = (None, None);
    let mut col = 0;
    for (i, c) in line.chars().enumerate() {
        if i + 1 == column {
            start = Some(col);
        }
        if i + 1 == column + width {
            end = Some(col);
        }
        if c == '\t' {
            let n = TAB - col % TAB;
            shown.push_str(&" ".repeat(n));
            col += n;
        } else {
            shown.push(c);
            col += c.width().unwrap_or(0);
        }
    }
    let start = start.unwrap_or(col);
    let end = end.unwrap_or(col).max(start + 1);
    (shown, start, end)
}

/// One underlined source line: (line number, text, column, width) and the underline's mark.
struct Snippet<'s> {
    line: usize,
    source: &'s str,
    column: usize,
    width: usize,
    mark: char,
    label: &'s str,
}

impl Snippet<'_> {
    fn write(&self, f: &mut fmt::Formatter<'_>, pad: &str) -> fmt::Result {
        let (shown, start, end) = layout(self.source, self.column, self.width.max(1));
        writeln!(f, "{:>w$} | {shown}", self.line, w = pad.len())?;
        let under: String = std::iter::repeat_n(self.mark, end - start).collect();
        let sep = if self.label.is_empty() { "" } else { " " };
        writeln!(f, "{pad} | {}{under}{sep}{}", " ".repeat(start), self.label)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        if self.line == 0 {
            writeln!(f, "  --> {}", self.file)?;
        } else {
            let widest = self
                .notes
                .iter()
                .map(|n| n.line)
                .fold(self.line, usize::max);
            let pad = " ".repeat(widest.to_string().len());
            writeln!(f, "{pad}--> {}:{}:{}", self.file, self.line, self.column)?;
            writeln!(f, "{pad} |")?;
            Snippet {
                line: self.line,
                source: &self.source_line,
                column: self.column,
                width: self.width,
                mark: '^',
                label: "",
            }
            .write(f, &pad)?;
            for n in &self.notes {
                writeln!(f, "{pad}::: {}:{}:{}", self.file, n.line, n.column)?;
                writeln!(f, "{pad} |")?;
                Snippet {
                    line: n.line,
                    source: &n.source_line,
                    column: n.column,
                    width: n.width,
                    mark: '-',
                    label: &n.label,
                }
                .write(f, &pad)?;
            }
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

/// Where a byte span is: (line, column, source line, width), all 1-based and in characters.
pub(super) fn position(text: &str, span: &Range<usize>) -> (usize, usize, String, usize) {
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let source_line = text[line_start..line_end].trim_end_matches('\r');
    let mut end = span.end.clamp(start, line_end);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let width = text[start..end].chars().count();
    (line, column, source_line.to_string(), width)
}

/// Locates key paths and byte offsets in one scenario text.
pub struct Locator<'a> {
    file: &'a str,
    text: &'a str,
    pub(super) doc: Spanned<DeTable<'a>>,
}

impl<'a> Locator<'a> {
    /// A locator over `text` (read from `file`) and its span-keeping parse `doc`.
    pub(super) fn new(file: &'a str, text: &'a str, doc: Spanned<DeTable<'a>>) -> Self {
        Locator { file, text, doc }
    }

    /// The length of the scenario text, bytes (stand-in values get spans past it).
    pub(super) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The file's name as given.
    pub(super) fn file(&self) -> &'a str {
        self.file
    }

    /// A note (a secondary place) at a byte span.
    pub(super) fn note_at(&self, span: &Range<usize>, label: String) -> Note {
        let (line, column, source_line, width) = position(self.text, span);
        Note {
            label,
            line,
            column,
            source_line,
            width,
        }
    }

    /// A diagnostic at a byte span.
    pub fn at_span(
        &self,
        span: Option<Range<usize>>,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let Some(span) = span else {
            return Diagnostic::whole_file(self.file, message, help);
        };
        let (line, column, source_line, width) = position(self.text, &span);
        Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            message,
            help,
            source_line,
            width,
            notes: Vec::new(),
        }
    }

    /// A diagnostic at the value of `path` (or, if it is absent, at the nearest table that is
    /// present).
    pub fn at_path(&self, path: &[String], message: String, help: Option<String>) -> Diagnostic {
        self.at_span(self.span_of(path), message, help)
    }

    /// The span of the value at `path`, or of the deepest part of it that exists.
    pub(super) fn span_of(&self, path: &[String]) -> Option<Range<usize>> {
        let mut best = None;
        let mut node: Option<&DeValue<'_>> = None;
        let mut table = Some(self.doc.get_ref());
        for key in path {
            let next = match (table, node) {
                (Some(t), _) => t.get_key_value(key.as_str()).map(|(k, v)| {
                    best = Some(k.span());
                    v
                }),
                (None, Some(DeValue::Array(a))) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
            let Some(v) = next else {
                return best;
            };
            best = Some(v.span());
            node = Some(v.get_ref());
            table = v.get_ref().as_table();
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::layout;

    #[test]
    fn tabs_expand_to_the_next_stop_and_wide_characters_count_two() {
        // "a\tb": the tab fills columns 1–3, so `b` (character 3) is at display column 4.
        assert_eq!(layout("a\tb", 3, 1), ("a   b".to_string(), 4, 5));
        // "日本x": `x` (character 3) starts at display column 4, after two wide characters.
        assert_eq!(layout("日本x", 3, 1).1, 4);
        // An underline of two wide characters is four columns long.
        assert_eq!(layout("日本x", 1, 2), ("日本x".to_string(), 0, 4));
        // A combining accent takes no column.
        assert_eq!(layout("e\u{301}x", 3, 1).1, 1);
    }
}
