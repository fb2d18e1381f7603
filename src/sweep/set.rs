//! `--set PATH=VALUES`: the swept parameters and their cartesian grid.
//!
//! Values are written as in the scenario's TOML: a number, `true`, a quoted string; anything
//! that is not a TOML value (`25%`, `30s`, `rolling`) is taken as a string, as the scenario
//! would spell it in quotes. `A..B:STEP` is a range of numbers, or of numbers with one unit
//! (`10s..60s:10s`, `0%..50%:25%`), both ends included.

use toml::de::DeTable;

/// Largest grid a sweep accepts (points, before runs).
pub const MAX_POINTS: u64 = 1_000_000;

/// One swept parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The argument as given (`rollout.max_surge=0,1,25%`).
    pub arg: String,
    /// The dotted key path.
    pub path: String,
    /// Each value as written (the CSV cell).
    pub values: Vec<String>,
    /// Each value as TOML text.
    pub toml: Vec<String>,
}

/// What is wrong with a `--set` argument, and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

fn bad(message: String, help: &str) -> SetError {
    SetError {
        message,
        help: help.into(),
    }
}

const FORM: &str = "write --set PATH=V1,V2,… or --set PATH=A..B:STEP, e.g. --set rollout.max_surge=0,1,25% --set traffic.rate=500..2000:500";

/// The TOML text of a value as written: itself when it is a TOML value, else a quoted string.
pub fn toml_value(v: &str) -> String {
    let probe = format!("x = {v}");
    if DeTable::parse(&probe).is_ok_and(|t| t.get_ref().len() == 1) {
        v.to_string()
    } else {
        let mut s = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c => s.push(c),
            }
        }
        s.push('"');
        s
    }
}

/// Splits on commas outside quotes and brackets.
fn split_list(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0i32, None);
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out.into_iter().map(|v| v.trim().to_string()).collect()
}

/// A number and its unit (`10s` → (10, "s")).
fn number_unit(s: &str) -> Option<(&str, &str)> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    let (n, u) = s.split_at(end);
    (!n.is_empty() && n.parse::<f64>().is_ok()).then_some((n, u))
}

/// The values of a range `A..B:STEP`, as written.
fn range(spec: &str) -> Result<Vec<String>, SetError> {
    let help = "a range is A..B:STEP with numbers (or numbers with one unit: 10s..60s:10s), A ≤ B and STEP > 0; list values with commas instead";
    let (ab, step) = spec.split_once(':').unwrap_or((spec, ""));
    let (a, b) = ab.split_once("..").unwrap_or((ab, ""));
    let parts = [a.trim(), b.trim(), step.trim()];
    let mut nums = Vec::new();
    let mut unit: Option<&str> = None;
    for (p, what) in parts.iter().zip(["start", "end", "step"]) {
        let Some((n, u)) = number_unit(p) else {
            return Err(bad(
                format!("the range `{spec}` has no number as its {what} (`{p}`)"),
                help,
            ));
        };
        match unit {
            Some(prev) if prev != u => {
                return Err(bad(
                    format!("the range `{spec}` mixes units (`{prev}` and `{u}`)"),
                    help,
                ))
            }
            _ => unit = Some(u),
        }
        nums.push(n);
    }
    let unit = unit.unwrap_or("");
    let ints: Option<Vec<i64>> = nums.iter().map(|n| n.parse::<i64>().ok()).collect();
    let (a, b, step): (f64, f64, f64) = (
        nums[0].parse().unwrap_or(0.0),
        nums[1].parse().unwrap_or(0.0),
        nums[2].parse().unwrap_or(0.0),
    );
    if step <= 0.0 || a > b || !(a.is_finite() && b.is_finite() && step.is_finite()) {
        return Err(bad(
            format!(
                "the range `{spec}` is empty ({})",
                if step <= 0.0 {
                    "its step is not above 0"
                } else {
                    "its start is above its end"
                }
            ),
            help,
        ));
    }
    let count = ((b - a) / step + 1e-9).floor() as u64 + 1;
    if count > MAX_POINTS {
        return Err(bad(
            format!("the range `{spec}` has {count} values"),
            "use a larger step",
        ));
    }
    Ok((0..count)
        .map(|k| match &ints {
            Some(i) => format!("{}{unit}", i[0] + k as i64 * i[2]),
            None => {
                let x = a + k as f64 * step;
                format!("{}{unit}", (x * 1e9).round() / 1e9)
            }
        })
        .collect())
}

/// Parses one `--set` argument.
pub fn parse_set(arg: &str) -> Result<Param, SetError> {
    let Some((path, spec)) = arg.split_once('=') else {
        return Err(bad(format!("`{arg}` has no `=`"), FORM));
    };
    let path = path.trim();
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| {
        p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        return Err(bad(
            format!("`{path}` is not a key path"),
            "a path is the scenario's keys joined by dots, as a TOML dotted key: rollout.max_surge, traffic.rate, versions.v2.error_rate",
        ));
    }
    let spec = spec.trim();
    let quoted = spec.starts_with(['"', '\'', '[', '{']);
    let values = if !quoted && spec.contains("..") {
        range(spec)?
    } else {
        split_list(spec)
    };
    if values.iter().any(String::is_empty) {
        return Err(bad(
            format!("`{arg}` has an empty value"),
            "give one or more values separated by commas, e.g. rollout.max_surge=0,1,25%",
        ));
    }
    let toml = values.iter().map(|v| toml_value(v)).collect();
    Ok(Param {
        arg: arg.to_string(),
        path: path.to_string(),
        values,
        toml,
    })
}

/// Points in the grid of `params` (the product of their value counts).
pub fn grid_len(params: &[Param]) -> u64 {
    params
        .iter()
        .fold(1u64, |n, p| n.saturating_mul(p.values.len() as u64))
}

/// The value index of each parameter at grid point `point`: the first `--set` varies
/// slowest, the last fastest (nested loops in argument order).
pub fn indices(params: &[Param], mut point: u64) -> Vec<usize> {
    let mut out = vec![0; params.len()];
    for (slot, p) in out.iter_mut().zip(params).rev() {
        let n = p.values.len() as u64;
        *slot = (point % n) as usize;
        point /= n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(arg: &str) -> Vec<String> {
        parse_set(arg).unwrap().values
    }

    #[test]
    fn values_are_typed_like_toml_and_bare_words_become_strings() {
        let p = parse_set("rollout.max_surge=0,1,25%").unwrap();
        assert_eq!(p.path, "rollout.max_surge");
        assert_eq!(p.values, ["0", "1", "25%"]);
        assert_eq!(p.toml, ["0", "1", "\"25%\""]);
        assert_eq!(toml_value("30s"), "\"30s\"");
        assert_eq!(toml_value("0.5"), "0.5");
        assert_eq!(toml_value("true"), "true");
        assert_eq!(toml_value("\"a,b\""), "\"a,b\"");
        assert_eq!(toml_value("rolling"), "\"rolling\"");
        assert_eq!(values("x=\"a,b\",c"), ["\"a,b\"", "c"]);
    }

    #[test]
    fn ranges_include_both_ends_and_keep_their_unit() {
        assert_eq!(
            values("traffic.rate=500..2000:500"),
            ["500", "1000", "1500", "2000"]
        );
        assert_eq!(values("d=10s..30s:10s"), ["10s", "20s", "30s"]);
        assert_eq!(values("p=0%..50%:25%"), ["0%", "25%", "50%"]);
        assert_eq!(values("e=0..0.3:0.1"), ["0", "0.1", "0.2", "0.3"]);
        assert_eq!(values("n=1..10:4"), ["1", "5", "9"]);
        assert_eq!(values("n=3..3:1"), ["3"]);
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        for (arg, needle) in [
            ("rollout.max_surge", "no `=`"),
            ("n=5..1:1", "is empty"),
            ("n=1..5:0", "is empty"),
            ("n=1s..5m:1s", "mixes units"),
            ("n=a..b:1", "no number"),
            ("n=1,,2", "empty value"),
            ("n=", "empty value"),
            ("a..b=1", "not a key path"),
            ("n=1..2000000:1", "values"),
        ] {
            let e = parse_set(arg).unwrap_err();
            assert!(e.message.contains(needle), "{arg}: {}", e.message);
        }
    }

    #[test]
    fn the_grid_runs_the_first_parameter_slowest() {
        let ps = [parse_set("a=1,2").unwrap(), parse_set("b=x,y,z").unwrap()];
        assert_eq!(grid_len(&ps), 6);
        let order: Vec<Vec<usize>> = (0..6).map(|p| indices(&ps, p)).collect();
        assert_eq!(
            order,
            [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]].map(|a| a.to_vec())
        );
    }
}
