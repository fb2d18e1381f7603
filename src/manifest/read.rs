//! What reading a manifest produces: the scenario settings it implies (each with the field it
//! came from and its line), the fields it cannot model (warnings), and its problems.

use super::yaml::Node;
use crate::scenario::Diagnostic;

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Written in the manifest at this line and column.
    Written {
        /// Line.
        line: u32,
        /// Column.
        column: u32,
    },
    /// Absent: the API server's (or controller's) default, named.
    Default(&'static str),
}

/// One scenario setting a manifest implies: `[table] key = toml` from `field`.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The scenario table (`deployment`, `pod`, `rollout`).
    pub table: &'static str,
    /// The key in it.
    pub key: &'static str,
    /// The value, as TOML text.
    pub toml: String,
    /// The manifest field (`spec.strategy.rollingUpdate.maxSurge`).
    pub field: String,
    /// Where the value came from.
    pub source: Source,
    /// How it was understood, in words.
    pub meaning: String,
}

/// A manifest field read but not modelled, or modelled approximately.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmodelled {
    /// The field.
    pub field: String,
    /// Line (0: absent).
    pub line: u32,
    /// What the real system would do that the simulation does not.
    pub message: String,
}

/// Everything read from one scenario's manifests.
#[derive(Clone, Debug, Default)]
pub struct Reading {
    /// The manifest files, in order.
    pub files: Vec<String>,
    /// The settings, in field order.
    pub settings: Vec<Setting>,
    /// Fields not modelled.
    pub unmodelled: Vec<(String, Unmodelled)>,
    /// Documents skipped because they do not change a rollout (a Service, a ConfigMap).
    pub skipped: Vec<(String, u32, String)>,
    /// The image of the workload's container, with its line.
    pub image: Option<(String, u32, u32)>,
    /// AnalysisTemplates by name, with their file, for the Rollout read after every file.
    pub templates: Vec<(String, String, Node)>,
    /// Deployments, read once every Rollout is known: file, its text, the document.
    pub deployments: Vec<(String, String, Node)>,
    /// Rollouts waiting for every template: file, its text, the document.
    pub pending: Vec<(String, String, Node)>,
    /// The Deployment's `metadata.name` (what a Flagger Canary targets).
    pub deployment_name: Option<String>,
    /// `explain` without a scenario: a template metric no map names is a warning, not an error.
    pub lenient_metrics: bool,
    /// `[manifest] metrics`: a template metric's name → the scenario metric it maps to.
    pub metric_map: Vec<(String, String)>,
}

/// The reader's state for one file.
pub struct Ctx<'r> {
    /// The file as given.
    pub file: String,
    /// Its text.
    pub text: &'r str,
    /// What was read so far.
    pub out: &'r mut Reading,
    /// Problems.
    pub errors: Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// A problem at `n` (or at the whole file when `n` is `None`).
    pub fn error(&mut self, n: Option<&Node>, message: impl Into<String>, help: impl Into<String>) {
        let d = diagnostic(
            &self.file,
            self.text,
            n.map_or((0, 0), |n| (n.line, n.column)),
            message.into(),
            help.into(),
        );
        self.errors.push(d);
    }

    /// A setting read from `n`, or the default `default` when `n` is absent.
    #[allow(clippy::too_many_arguments)]
    pub fn set(
        &mut self,
        table: &'static str,
        key: &'static str,
        toml: String,
        field: &str,
        n: Option<&Node>,
        default: &'static str,
        meaning: String,
    ) {
        let source = match n {
            Some(n) => Source::Written {
                line: n.line,
                column: n.column,
            },
            None => Source::Default(default),
        };
        self.out.settings.push(Setting {
            table,
            key,
            toml,
            field: field.to_string(),
            source,
            meaning,
        });
    }

    /// A field that changes behaviour but is not modelled.
    pub fn unmodelled(&mut self, field: &str, n: Option<&Node>, message: impl Into<String>) {
        self.out.unmodelled.push((
            self.file.clone(),
            Unmodelled {
                field: field.to_string(),
                line: n.map_or(0, |n| n.line),
                message: message.into(),
            },
        ));
    }

    /// Keys of mapping `n` that rollsim neither reads nor knows to leave a rollout unchanged:
    /// each becomes a warning, so no field that may change behaviour is silently ignored.
    pub fn other_keys(&mut self, n: &Node, at: &str, known: &[&str]) {
        for (k, v) in n.entries() {
            if !known.contains(&k.as_str()) {
                self.unmodelled(
                    &format!("{at}.{k}"),
                    Some(v),
                    format!("`{k}` is not read: whatever it changes in the real rollout, the simulation does not show"),
                );
            }
        }
    }

    /// A whole number ≥ `min` at `n` (`None` after reporting a problem).
    pub fn int(&mut self, n: &Node, field: &str, min: i64, max: i64) -> Option<i64> {
        match &n.kind {
            super::yaml::Kind::Int(i) if (min..=max).contains(i) => Some(*i),
            super::yaml::Kind::Int(i) => {
                self.error(
                    Some(n),
                    format!("`{field}` = {i} is out of range"),
                    format!("use a whole number from {min} to {max}"),
                );
                None
            }
            _ => {
                self.error(
                    Some(n),
                    format!("`{field}` must be a whole number, not {}", n.what()),
                    format!("e.g. `{field}: {min}`"),
                );
                None
            }
        }
    }

    /// An optional whole number, `default` when absent.
    pub fn int_or(
        &mut self,
        n: Option<&Node>,
        field: &str,
        default: i64,
        min: i64,
        max: i64,
    ) -> i64 {
        n.and_then(|n| self.int(n, field, min, max))
            .unwrap_or(default)
    }

    /// An optional true/false, `default` when absent.
    pub fn bool_or(&mut self, n: Option<&Node>, field: &str, default: bool) -> bool {
        match n.map(|n| (n, &n.kind)) {
            None => default,
            Some((_, super::yaml::Kind::Bool(b))) => *b,
            Some((n, _)) => {
                self.error(
                    Some(n),
                    format!("`{field}` must be true or false, not {}", n.what()),
                    format!("write `{field}: true` or `{field}: false`"),
                );
                default
            }
        }
    }
}

/// A Go duration of whole hours, minutes and seconds (`"90s"`, `"1m"`, `"1m30s"`) in seconds;
/// `None` for anything else (fractions and `ms` are not whole seconds).
pub fn go_seconds(d: &str) -> Option<u64> {
    let (mut total, mut num) = (0u64, String::new());
    for c in d.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
        total = total.checked_add(num.parse::<u64>().ok()?.checked_mul(unit)?)?;
        num.clear();
    }
    (num.is_empty() && !d.is_empty()).then_some(total)
}

/// Source lines longer than this are not shown under a diagnostic.
const MAX_SHOWN: usize = 200;

/// A diagnostic at a line and column of `text` (1-based; 0 for the whole file).
pub fn diagnostic(
    file: &str,
    text: &str,
    (line, column): (u32, u32),
    message: String,
    help: String,
) -> Diagnostic {
    let long = text
        .lines()
        .nth((line as usize).saturating_sub(1))
        .is_some_and(|l| l.chars().count() > MAX_SHOWN);
    if line > 0 && long {
        // A line too long to show (a minified or hostile file): the place goes in the message.
        return Diagnostic::whole_file(
            file,
            format!("{message} (line {line}, column {column})"),
            Some(help),
        );
    }
    let source_line = if line == 0 {
        String::new()
    } else {
        text.lines()
            .nth(line as usize - 1)
            .unwrap_or("")
            .to_string()
    };
    let width = if line == 0 {
        0
    } else {
        source_line
            .chars()
            .skip((column as usize).saturating_sub(1))
            .take_while(|c| !c.is_whitespace())
            .count()
            .max(1)
    };
    Diagnostic {
        file: file.to_string(),
        line: line as usize,
        column: column as usize,
        message,
        help: Some(help),
        source_line,
        width,
        notes: Vec::new(),
    }
}
