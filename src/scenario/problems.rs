//! The validator's toolbox: collecting problems by key path, and checking the value types every
//! table uses (durations, distributions, counts, fractions, percents, version references).

use super::diagnostic::{Diagnostic, Locator};
use super::raw::*;
use crate::engine::SimDuration;
use crate::model::{Dist, VersionId};
use crate::strategy::IntOrPercent;

/// Errors collected while resolving: (key path, message, help).
pub(super) struct Problems<'a> {
    pub(super) loc: Locator<'a>,
    pub(super) found: Vec<Diagnostic>,
}

pub(super) type Path = Vec<String>;

pub(super) fn path(parts: &[&str]) -> Path {
    parts.iter().map(|s| s.to_string()).collect()
}

pub(super) fn child(p: &Path, key: &str) -> Path {
    let mut p = p.clone();
    p.push(key.to_string());
    p
}

impl Problems<'_> {
    pub(super) fn add(&mut self, p: &Path, message: impl Into<String>, help: impl Into<String>) {
        let d = self.loc.at_path(p, message.into(), Some(help.into()));
        self.found.push(d);
    }

    /// A keyword setting (`policy = "random"`): the value of the matching `choices` entry; an
    /// unknown word is a problem `unknown <what> "<word>"` with `help` listing the choices, and
    /// gives `fallback` so resolution goes on and reports every problem at once.
    pub(super) fn keyword<T: Copy>(
        &mut self,
        p: &Path,
        given: &str,
        what: &str,
        choices: &[(&str, T)],
        help: &str,
        fallback: T,
    ) -> T {
        match choices.iter().find(|(word, _)| *word == given) {
            Some((_, v)) => *v,
            None => {
                self.add(p, format!("unknown {what} \"{given}\""), help);
                fallback
            }
        }
    }

    pub(super) fn duration(&mut self, p: &Path, raw: &RawDuration) -> Option<SimDuration> {
        let key = p.join(".");
        match raw {
            RawDuration::Secs(s) if s.is_finite() && *s >= 0.0 => {
                Some(SimDuration::from_secs_f64(*s))
            }
            RawDuration::Secs(s) => {
                self.add(p, format!("`{key}` must be a non-negative duration, not {s}"), "write seconds as a number (30) or a string with units (\"30s\", \"250ms\", \"2m\")");
                None
            }
            RawDuration::Text(t) => match humantime::parse_duration(t.trim()) {
                Ok(d) => Some(SimDuration::from_micros(
                    d.as_micros().min(u128::from(u64::MAX)) as u64,
                )),
                Err(e) => {
                    self.add(p, format!("`{key}` = \"{t}\" is not a duration: {}", duration_error(t, &e)), "use units such as \"500ms\", \"30s\", \"5m\", \"1h30m\", or a number of seconds");
                    None
                }
            },
        }
    }

    pub(super) fn opt_duration(
        &mut self,
        p: &Path,
        raw: &Option<RawDuration>,
        default: SimDuration,
    ) -> SimDuration {
        raw.as_ref()
            .and_then(|r| self.duration(p, r))
            .unwrap_or(default)
    }

    /// A duration that may be the word "none".
    pub(super) fn duration_or_none(
        &mut self,
        p: &Path,
        raw: &Option<RawDuration>,
        default: Option<SimDuration>,
    ) -> Option<SimDuration> {
        match raw {
            None => default,
            Some(RawDuration::Text(t)) if t.trim().eq_ignore_ascii_case("none") => None,
            Some(RawDuration::Text(t)) if humantime::parse_duration(t.trim()).is_err() => {
                let key = p.join(".");
                self.add(
                    p,
                    format!("`{key}` = \"{t}\" is neither a duration nor \"none\""),
                    "use units such as \"500ms\", \"30s\", \"5m\", a number of seconds, or \"none\"",
                );
                None
            }
            Some(r) => self.duration(p, r),
        }
    }

    pub(super) fn dist(&mut self, p: &Path, raw: &RawDist, positive: bool) -> Option<Dist> {
        let key = p.join(".");
        match raw {
            RawDist::Fixed(d) => {
                let d = self.duration(p, d)?;
                if positive && d.is_zero() {
                    self.add(
                        p,
                        format!("`{key}` must be above zero"),
                        "give a positive duration, e.g. \"50ms\"",
                    );
                    return None;
                }
                Some(Dist::Constant(d))
            }
            RawDist::Table(t) => {
                let get = |s: &mut Self, name: &str, v: &Option<RawDuration>| -> Option<f64> {
                    match v {
                        Some(v) => s.duration(&child(p, name), v).map(|d| d.as_secs_f64()),
                        None => {
                            s.add(
                                p,
                                format!("`{key}` with dist = \"{}\" needs `{name}`", t.dist),
                                format!("add {name} = \"…\" to the table"),
                            );
                            None
                        }
                    }
                };
                let unused = |s: &mut Self, names: &[(&str, bool)]| {
                    for (n, present) in names {
                        if *present {
                            s.add(
                                &child(p, n),
                                format!("`{n}` does not apply to dist = \"{}\"", t.dist),
                                "remove it",
                            );
                        }
                    }
                };
                match t.dist.as_str() {
                    "constant" => {
                        unused(
                            self,
                            &[
                                ("mean", t.mean.is_some()),
                                ("p99", t.p99.is_some()),
                                ("min", t.min.is_some()),
                                ("max", t.max.is_some()),
                            ],
                        );
                        let v = get(self, "value", &t.value)?;
                        Some(Dist::Constant(SimDuration::from_secs_f64(v)))
                    }
                    "exponential" => {
                        unused(
                            self,
                            &[
                                ("p99", t.p99.is_some()),
                                ("min", t.min.is_some()),
                                ("max", t.max.is_some()),
                                ("value", t.value.is_some()),
                            ],
                        );
                        let mean_s = get(self, "mean", &t.mean)?;
                        if mean_s <= 0.0 {
                            self.add(
                                &child(p, "mean"),
                                "the mean of an exponential must be above zero",
                                "give a positive mean such as \"50ms\"",
                            );
                            return None;
                        }
                        Some(Dist::Exponential { mean_s })
                    }
                    "lognormal" => {
                        unused(
                            self,
                            &[
                                ("min", t.min.is_some()),
                                ("max", t.max.is_some()),
                                ("value", t.value.is_some()),
                            ],
                        );
                        let mean = get(self, "mean", &t.mean);
                        let p99 = get(self, "p99", &t.p99);
                        let (mean, p99) = (mean?, p99?);
                        match Dist::lognormal_from_mean_p99(mean, p99) {
                            Ok(d) => Some(d),
                            Err(e) => {
                                self.add(
                                    &child(p, "p99"),
                                    format!("`{key}`: {e}"),
                                    "a log-normal needs mean > 0 and mean ≤ p99 ≤ ~15 × mean",
                                );
                                None
                            }
                        }
                    }
                    "uniform" => {
                        unused(
                            self,
                            &[
                                ("mean", t.mean.is_some()),
                                ("p99", t.p99.is_some()),
                                ("value", t.value.is_some()),
                            ],
                        );
                        let min = get(self, "min", &t.min);
                        let max = get(self, "max", &t.max);
                        let (min_s, max_s) = (min?, max?);
                        if max_s < min_s {
                            self.add(
                                &child(p, "max"),
                                format!("`{key}`: max is below min"),
                                "make max ≥ min",
                            );
                            return None;
                        }
                        Some(Dist::Uniform { min_s, max_s })
                    }
                    other => {
                        self.add(
                            &child(p, "dist"),
                            format!("unknown distribution \"{other}\""),
                            "use one of \"constant\", \"exponential\", \"lognormal\", \"uniform\"",
                        );
                        None
                    }
                }
            }
        }
    }

    pub(super) fn count(
        &mut self,
        p: &Path,
        v: Option<i64>,
        default: u32,
        min: i64,
        max: i64,
    ) -> u32 {
        match v {
            None => default,
            Some(n) if n < min || n > max => {
                self.add(
                    p,
                    format!("`{}` = {n} is out of range", p.join(".")),
                    format!("allowed: {min} to {max}"),
                );
                default
            }
            Some(n) => n as u32,
        }
    }

    pub(super) fn fraction(&mut self, p: &Path, v: Option<f64>, default: f64) -> f64 {
        match v {
            None => default,
            Some(x) if (0.0..=1.0).contains(&x) => x,
            Some(x) => {
                self.add(
                    p,
                    format!("`{}` = {x} is not a fraction", p.join(".")),
                    "allowed: 0 to 1 (e.g. 0.001 for 0.1 %)",
                );
                default
            }
        }
    }

    pub(super) fn int_or_percent(
        &mut self,
        p: &Path,
        raw: &RawIntOrPercent,
        max_percent: Option<u32>,
    ) -> Option<IntOrPercent> {
        let key = p.last().cloned().unwrap_or_default();
        let v = match raw {
            RawIntOrPercent::Int(n) if *n >= 0 && *n <= i64::from(u32::MAX) => {
                IntOrPercent::Int(*n as u32)
            }
            RawIntOrPercent::Int(n) => {
                self.add(
                    p,
                    format!("`{key}` = {n} is negative"),
                    "Kubernetes takes a non-negative count or a percent string such as \"25%\"",
                );
                return None;
            }
            RawIntOrPercent::Text(t) => {
                match t.trim().strip_suffix('%').map(|n| n.trim().parse::<u32>()) {
                    Some(Ok(n)) => IntOrPercent::Percent(n),
                    _ => {
                        self.add(p, format!("`{key}` = \"{t}\" is neither a count nor a percent"), "write a count (2) or a percent with its % sign (\"25%\"); Kubernetes rejects \"25\"");
                        return None;
                    }
                }
            }
        };
        if let (IntOrPercent::Percent(n), Some(max)) = (v, max_percent) {
            if n > max {
                self.add(
                    p,
                    format!("`{key}` = {n}% is above {max}%"),
                    format!("Kubernetes allows at most {max}% here"),
                );
                return None;
            }
        }
        Some(v)
    }

    pub(super) fn version_ref(
        &mut self,
        p: &Path,
        name: &str,
        names: &[String],
    ) -> Option<VersionId> {
        if let Some(i) = names.iter().position(|n| n == name) {
            return Some(VersionId(i as u16));
        }
        let help = match closest(name, names) {
            Some(s) => format!(
                "did you mean \"{s}\"? Defined versions: {}",
                names.join(", ")
            ),
            None => format!(
                "define it under [versions.{name}], or use one of: {}",
                names.join(", ")
            ),
        };
        self.add(p, format!("version \"{name}\" is not defined"), help);
        None
    }
}

/// The defined name nearest to `name`, if it is close enough to be a typo.
pub(super) fn closest<'n>(name: &str, names: &'n [String]) -> Option<&'n str> {
    names
        .iter()
        .map(|n| (edit_distance(name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// What is wrong with a duration string, in words (the parser's own wording names byte
/// offsets, which a scenario author should not have to decode).
fn duration_error(text: &str, e: &humantime::DurationError) -> String {
    let t = text.trim();
    match e {
        _ if t.is_empty() => "it is empty".into(),
        _ if t.starts_with('-') => "durations cannot be negative".into(),
        humantime::DurationError::UnknownUnit { unit, .. } => {
            format!("`{unit}` is not a unit (use ms, s, m, h or d)")
        }
        humantime::DurationError::NumberOverflow => "the number is too large".into(),
        _ if t.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            "a number in a string needs a unit (or write it without quotes for seconds)".into()
        }
        _ => "expected a number followed by a unit, e.g. \"250ms\" or \"1h30m\"".into(),
    }
}

#[cfg(test)]
mod duration_words {
    use super::duration_error;

    fn words(t: &str) -> String {
        duration_error(t, &humantime::parse_duration(t).unwrap_err())
    }

    #[test]
    fn duration_errors_are_told_in_words() {
        assert_eq!(words("-1s"), "durations cannot be negative");
        assert_eq!(
            words("5 parsecs"),
            "`parsecs` is not a unit (use ms, s, m, h or d)"
        );
        assert_eq!(words(""), "it is empty");
        assert!(words("soon").starts_with("expected a number followed by a unit"));
        for t in ["-1s", "5 parsecs", "", "soon", "1.5.2s"] {
            assert!(!words(t).contains(" at "), "{t}: {}", words(t));
        }
    }
}
