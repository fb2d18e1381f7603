//! Judging one expectation on the summaries of N runs (and of their paired baseline runs).
//!
//! * A bare expectation and `every`: each run must satisfy it (the baseline run with the same
//!   seed gives that run's `baseline`).
//! * `mean`: the 95 % confidence interval of the mean must satisfy it — its upper bound for
//!   `<` / `<=`, its lower bound for `>` / `>=`; `==` needs the threshold inside the interval,
//!   `!=` outside. `baseline` is the baseline runs' mean.
//! * `pNN`: the NN-th percentile of the runs (linear interpolation); `baseline` is the same
//!   percentile of the baseline runs.
//!
//! A `null` in the summary (no data: no successful response, a rollout that never started)
//! fails a numeric expectation and says so: a gate must not pass on a run that measured
//! nothing.

use serde_json::Value;

use super::expr::{Op, Operand};
use super::shape::lookup;
use super::stats::{mean_ci, quantile};
use crate::scenario::{Expectation, Mode};

/// The verdict on one expectation.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Whether it holds.
    pub passed: bool,
    /// What was measured, in words (`max 0 over 10 runs`, `actual 3 (seed 42)`, …).
    pub message: String,
    /// The value compared (the run's value, the interval's bound, the quantile), if any.
    pub actual: Value,
    /// Each run's value, in seed order.
    pub values: Vec<Value>,
    /// The threshold compared against, when it is a number (per run for `every` with a
    /// baseline: the first failing run's).
    pub threshold: Option<f64>,
    /// The mean's interval (`mean` only).
    pub ci: Option<(f64, f64)>,
    /// Seeds of the runs that failed it (`every`; all seeds when a statistic fails).
    pub failing_seeds: Vec<u64>,
}

/// A number for people: whole numbers without a decimal point, others to 4 decimals.
pub fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let r = (x * 1e4).round() / 1e4;
        format!("{r}")
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "null, no data".into(),
        Value::String(s) => format!("'{s}'"),
        Value::Number(n) => n.as_f64().map_or(n.to_string(), num),
        o => o.to_string(),
    }
}

/// Judges `e` on `runs` (seed, summary) and, when it uses `baseline`, the paired baseline
/// summaries (same order, same seeds).
pub fn judge(e: &Expectation, runs: &[(u64, &Value)], baseline: &[&Value]) -> Verdict {
    let values: Vec<Value> = runs
        .iter()
        .map(|(_, s)| lookup(s, &e.path).cloned().unwrap_or(Value::Null))
        .collect();
    let base: Vec<Option<f64>> = baseline
        .iter()
        .map(|s| lookup(s, &e.path).and_then(Value::as_f64))
        .collect();
    let seeds: Vec<u64> = runs.iter().map(|(s, _)| *s).collect();
    let mut v = Verdict {
        passed: true,
        message: String::new(),
        actual: Value::Null,
        values: values.clone(),
        threshold: None,
        ci: None,
        failing_seeds: Vec::new(),
    };
    if runs.is_empty() {
        v.passed = false;
        v.message = "no run to judge".into();
        return v;
    }
    let op = e.expr.op;
    match (&e.expr.rhs, e.mode) {
        (Operand::Word(w), _) => {
            let mut bad = Vec::new();
            for (i, x) in values.iter().enumerate() {
                if (x.as_str() == Some(w.as_str())) != (op == Op::Eq) {
                    bad.push(i);
                }
            }
            v.actual = values.first().cloned().unwrap_or(Value::Null);
            finish_each(
                &mut v,
                &bad,
                &seeds,
                |i| format!("{} (seed {})", show(&values[i]), seeds[i]),
                || distinct(&values),
            );
        }
        (Operand::Number(a), Mode::Plain | Mode::Every) => {
            let mut bad = Vec::new();
            let mut why = Vec::new();
            for (i, x) in values.iter().enumerate() {
                let b = base.get(i).copied().flatten();
                let thr = a.eval(b);
                let ok = match (x.as_f64(), thr) {
                    (Some(x), Some(t)) => op.holds(x, t),
                    _ => false,
                };
                if !ok {
                    if v.threshold.is_none() {
                        v.threshold = thr;
                    }
                    bad.push(i);
                    why.push(match (x.as_f64(), thr) {
                        (None, _) => format!("{} (seed {})", show(x), seeds[i]),
                        (Some(_), None) => {
                            format!("the baseline has no data (seed {})", seeds[i])
                        }
                        (Some(x), Some(t)) if a.uses_baseline() => {
                            format!("{} (seed {}; threshold {})", num(x), seeds[i], num(t))
                        }
                        (Some(x), Some(_)) => format!("{} (seed {})", num(x), seeds[i]),
                    });
                } else if v.threshold.is_none() && bad.is_empty() && i + 1 == values.len() {
                    v.threshold = thr;
                }
            }
            v.actual = match bad.first() {
                Some(&i) => values[i].clone(),
                None => extreme(&values, op),
            };
            let why_of = |i: usize| why[bad.iter().position(|b| *b == i).unwrap_or(0)].clone();
            finish_each(&mut v, &bad, &seeds, why_of, || range(&values));
        }
        (Operand::Number(a), mode) => {
            let nulls: Vec<usize> = (0..values.len())
                .filter(|i| values[*i].as_f64().is_none())
                .collect();
            if let Some(&i) = nulls.first() {
                v.passed = false;
                v.failing_seeds = nulls.iter().map(|i| seeds[*i]).collect();
                v.message = format!(
                    "{} in {} of {} runs (seed {})",
                    show(&values[i]),
                    nulls.len(),
                    values.len(),
                    seeds[i]
                );
                return v;
            }
            let xs: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
            let bs: Vec<f64> = base.iter().flatten().copied().collect();
            let (stat, b, label) = match mode {
                Mode::Mean => {
                    let ci = mean_ci(&xs).expect("at least one run");
                    v.ci = Some((ci.low, ci.high));
                    let b = mean_ci(&bs).map(|c| c.mean);
                    (ci.mean, b, "mean".to_string())
                }
                Mode::Quantile(pct) => (
                    quantile(&xs, pct / 100.0).expect("at least one run"),
                    quantile(&bs, pct / 100.0),
                    e.mode.label(),
                ),
                Mode::Plain | Mode::Every => unreachable!("judged above"),
            };
            let thr = if a.uses_baseline() && bs.len() != baseline.len() {
                None
            } else {
                a.eval(b)
            };
            v.threshold = thr;
            let Some(t) = thr else {
                v.passed = false;
                v.failing_seeds = seeds.clone();
                v.message = "the baseline has no data in some run".into();
                return v;
            };
            let (compared, passed, what) = match (v.ci, op) {
                (Some((_, hi)), Op::Lt | Op::Le) => (hi, op.holds(hi, t), "upper bound"),
                (Some((lo, _)), Op::Gt | Op::Ge) => (lo, op.holds(lo, t), "lower bound"),
                (Some((lo, hi)), Op::Eq) => (stat, lo <= t && t <= hi, "interval"),
                (Some((lo, hi)), Op::Ne) => (stat, !(lo <= t && t <= hi), "interval"),
                (None, _) => (stat, op.holds(stat, t), label.as_str()),
            };
            v.passed = passed;
            v.actual = serde_json::json!(compared);
            let over = seed_range(&seeds);
            let thr_words = if a.uses_baseline() {
                format!("{} (baseline {})", num(t), b.map_or("null".into(), num))
            } else {
                num(t)
            };
            v.message = match v.ci {
                Some((lo, hi)) => format!(
                    "mean {}, 95 % CI [{}, {}] over {over}: {what} {} {}",
                    num(stat),
                    num(lo),
                    num(hi),
                    if passed { "satisfies" } else { "fails" },
                    format_args!("{} {thr_words}", op.as_str())
                ),
                None => format!(
                    "{label} {} over {over}{}",
                    num(stat),
                    if passed {
                        String::new()
                    } else {
                        format!(", not {} {thr_words}", op.as_str())
                    }
                ),
            };
            if !passed {
                v.failing_seeds = seeds.clone();
            }
        }
    }
    v
}

fn finish_each(
    v: &mut Verdict,
    bad: &[usize],
    seeds: &[u64],
    why: impl Fn(usize) -> String,
    summary: impl Fn() -> String,
) {
    let n = seeds.len();
    v.failing_seeds = bad.iter().map(|i| seeds[*i]).collect();
    v.passed = bad.is_empty();
    v.message = if bad.is_empty() {
        if n == 1 {
            format!("actual {} (seed {})", summary(), seeds[0])
        } else {
            format!("{} over {n} runs ({})", summary(), seed_range(seeds))
        }
    } else if n == 1 {
        format!("actual {}", why(bad[0]))
    } else {
        let shown: Vec<String> = bad.iter().take(5).map(|i| why(*i)).collect();
        format!(
            "fails on {} of {n} runs: {}{}",
            bad.len(),
            shown.join(", "),
            if bad.len() > 5 { ", …" } else { "" }
        )
    };
}

/// `seeds 42–51` or `seed 42`.
pub fn seed_range(seeds: &[u64]) -> String {
    match seeds {
        [] => "no run".into(),
        [s] => format!("seed {s}"),
        [a, .., b] => format!("seeds {a}–{b}"),
    }
}

/// The run value nearest to failing: the largest for `<`/`<=`, the smallest for `>`/`>=`.
fn extreme(values: &[Value], op: Op) -> Value {
    let xs = values.iter().filter_map(Value::as_f64);
    let x = match op {
        Op::Gt | Op::Ge => xs.fold(f64::INFINITY, f64::min),
        _ => xs.fold(f64::NEG_INFINITY, f64::max),
    };
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        values.first().cloned().unwrap_or(Value::Null)
    }
}

fn range(values: &[Value]) -> String {
    let xs: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
    if values.len() == 1 || xs.is_empty() {
        return values.first().map_or("—".into(), show);
    }
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo == hi {
        num(lo)
    } else {
        format!("{} to {}", num(lo), num(hi))
    }
}

fn distinct(values: &[Value]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for v in values {
        let s = show(v);
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::expr::parse;
    use serde_json::json;

    fn ex(path: &str, mode: Mode, text: &str) -> Expectation {
        Expectation {
            path: path.into(),
            mode,
            expr: parse(text).unwrap(),
            text: text.into(),
            line: 1,
            column: 1,
        }
    }

    fn runs(xs: &[Value]) -> Vec<Value> {
        xs.iter()
            .map(|x| json!({ "requests": { "failed": x }, "rollout": { "outcome": x } }))
            .collect()
    }

    fn judge_on(e: &Expectation, xs: &[Value], base: &[Value]) -> Verdict {
        let docs = runs(xs);
        let bdocs = runs(base);
        let pairs: Vec<(u64, &Value)> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (10 + i as u64, d))
            .collect();
        let b: Vec<&Value> = bdocs.iter().collect();
        judge(e, &pairs, &b)
    }

    #[test]
    fn every_run_must_hold_and_failures_name_their_seeds() {
        let e = ex("requests.failed", Mode::Plain, "<= 2");
        let v = judge_on(&e, &[json!(0), json!(2), json!(1)], &[]);
        assert!(v.passed, "{v:?}");
        assert_eq!(v.message, "0 to 2 over 3 runs (seeds 10–12)");
        let v = judge_on(&e, &[json!(0), json!(5), json!(1)], &[]);
        assert!(!v.passed);
        assert_eq!(v.failing_seeds, vec![11]);
        assert_eq!(v.actual, json!(5));
        assert_eq!(v.message, "fails on 1 of 3 runs: 5 (seed 11)");
        let v = judge_on(&e, &[json!(7)], &[]);
        assert_eq!(v.message, "actual 7 (seed 10)");
    }

    #[test]
    fn null_fails_a_numeric_expectation_with_no_data() {
        for mode in [Mode::Plain, Mode::Every, Mode::Mean, Mode::Quantile(95.0)] {
            let e = ex("requests.failed", mode, "<= 1000");
            let v = judge_on(&e, &[json!(1), Value::Null], &[]);
            assert!(!v.passed, "{mode:?}");
            assert!(v.message.contains("no data"), "{mode:?}: {}", v.message);
        }
    }

    #[test]
    fn the_mean_is_judged_on_its_interval_bound() {
        // 1..=10: mean 5.5, 95 % CI [3.33, 7.67].
        let xs: Vec<Value> = (1..=10).map(|i| json!(i)).collect();
        assert!(judge_on(&ex("requests.failed", Mode::Mean, "<= 8"), &xs, &[]).passed);
        let v = judge_on(&ex("requests.failed", Mode::Mean, "<= 7"), &xs, &[]);
        assert!(
            !v.passed,
            "the mean 5.5 is below 7 but the upper bound is not"
        );
        assert!(
            v.message.contains("upper bound fails <= 7"),
            "{}",
            v.message
        );
        assert!(judge_on(&ex("requests.failed", Mode::Mean, ">= 3"), &xs, &[]).passed);
        assert!(!judge_on(&ex("requests.failed", Mode::Mean, ">= 4"), &xs, &[]).passed);
        assert!(judge_on(&ex("requests.failed", Mode::Mean, "== 5"), &xs, &[]).passed);
        assert!(judge_on(&ex("requests.failed", Mode::Mean, "!= 9"), &xs, &[]).passed);
    }

    #[test]
    fn a_quantile_of_the_runs() {
        let xs: Vec<Value> = (1..=10).map(|i| json!(i)).collect();
        // p90 of 1..=10 (type 7) = 9.1.
        assert!(
            judge_on(
                &ex("requests.failed", Mode::Quantile(90.0), "<= 9.1"),
                &xs,
                &[]
            )
            .passed
        );
        let v = judge_on(
            &ex("requests.failed", Mode::Quantile(90.0), "< 9.1"),
            &xs,
            &[],
        );
        assert!(!v.passed);
        assert_eq!(v.message, "p90 9.1 over seeds 10–19, not < 9.1");
    }

    #[test]
    fn baseline_arithmetic_pairs_runs_by_seed() {
        let e = ex("requests.failed", Mode::Every, "<= 1.5 * baseline");
        let v = judge_on(&e, &[json!(3), json!(3)], &[json!(2), json!(4)]);
        assert!(v.passed, "3 ≤ 3 and 3 ≤ 6: {v:?}");
        let v = judge_on(&e, &[json!(4), json!(3)], &[json!(2), json!(4)]);
        assert!(!v.passed);
        assert_eq!(v.message, "fails on 1 of 2 runs: 4 (seed 10; threshold 3)");
        let v = judge_on(&e, &[json!(1)], &[Value::Null]);
        assert!(!v.passed);
        assert!(v.message.contains("baseline has no data"));
        let m = ex("requests.failed", Mode::Mean, "<= baseline + 1");
        let v = judge_on(&m, &[json!(3), json!(3)], &[json!(2), json!(2)]);
        assert!(v.passed, "{v:?}");
        assert_eq!(v.threshold, Some(3.0));
    }

    #[test]
    fn words_compare_with_equality() {
        let e = ex("rollout.outcome", Mode::Plain, "== 'aborted'");
        assert!(judge_on(&e, &[json!("aborted"), json!("aborted")], &[]).passed);
        let v = judge_on(&e, &[json!("aborted"), json!("completed")], &[]);
        assert!(!v.passed);
        assert_eq!(v.message, "fails on 1 of 2 runs: 'completed' (seed 11)");
        let e = ex("rollout.outcome", Mode::Plain, "!= 'completed'");
        assert!(judge_on(&e, &[json!("aborted")], &[]).passed);
    }
}
