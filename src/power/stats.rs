//! The statistics of `rollsim power`: a proportion with its Wilson score interval, and the
//! median / p90 / max of a sample in which missing values are left out (never read as 0).

use serde::Serialize;

/// The 97.5th percentile of the standard normal: a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A rate out of `n` trials with its 95 % interval (`rate` and `ci95` are `None` without
/// trials: no data).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rate {
    /// Successes (detections, false alarms).
    pub count: u32,
    /// Trials.
    pub n: u32,
    /// `count / n`.
    pub rate: Option<f64>,
    /// The Wilson score interval `[low, high]`.
    pub ci95: Option<[f64; 2]>,
}

impl Rate {
    /// `count` of `n` with its Wilson interval.
    pub fn of(count: u32, n: u32) -> Rate {
        Rate {
            count,
            n,
            rate: (n > 0).then(|| f64::from(count) / f64::from(n)),
            ci95: wilson(count, n, Z95).map(|(l, h)| [l, h]),
        }
    }
}

/// The Wilson score interval for `k` successes in `n` trials at normal quantile `z` (Wilson
/// 1927; Agresti & Coull 1998 recommend it over the Wald interval, which collapses to a point
/// at 0 and n — exactly where a detection rate of 10/10 or a false-alarm rate of 0/10 sits):
/// centre `(p̂ + z²/2n) / (1 + z²/n)`, half-width `z √(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n)`.
pub fn wilson(k: u32, n: u32, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (k, n) = (f64::from(k.min(n)), f64::from(n));
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // At k = 0 (k = n) the bound is exactly 0 (1); rounding would leave 1e-17 off it.
    let low = if k == 0.0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if k == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Some((low, high))
}

/// Median, 90th percentile and maximum of the values present (`null` fields: no value).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Values present (runs with data).
    pub n: usize,
    /// Median (type-7 interpolation, as R's and numpy's default).
    pub median: Option<f64>,
    /// 90th percentile (type 7).
    pub p90: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Spread {
    /// The spread of the values that are present; missing ones are left out.
    pub fn of(values: &[Option<f64>]) -> Spread {
        let xs: Vec<f64> = values.iter().flatten().copied().collect();
        let q = |p| crate::check::stats::quantile(&xs, p);
        Spread {
            n: xs.len(),
            median: q(0.5),
            p90: q(0.9),
            max: xs.iter().copied().reduce(f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-4
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), Table I, method 3 (Wilson score): 81/263 → 0.2553–0.3662,
        // 15/148 → 0.0624–0.1605, 0/20 → 0–0.1611, 1/29 → 0.0061–0.1718.
        for (k, n, lo, hi) in [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let (l, h) = wilson(k, n, Z95).unwrap();
            assert!(close(l, lo) && close(h, hi), "{k}/{n}: {l} {h}");
        }
        // All successes mirror none: 10/10 → 0.7225–1.
        let (l, h) = wilson(10, 10, Z95).unwrap();
        assert!(close(l, 0.7225) && h == 1.0, "{l} {h}");
        assert_eq!(wilson(0, 0, Z95), None);
    }

    #[test]
    fn rates_without_trials_are_no_data() {
        let r = Rate::of(0, 0);
        assert_eq!((r.rate, r.ci95), (None, None));
        let r = Rate::of(3, 4);
        assert_eq!(r.rate, Some(0.75));
        let [l, h] = r.ci95.unwrap();
        assert!(l < 0.75 && h > 0.75);
    }

    #[test]
    fn spreads_skip_missing_values_and_never_invent_zeros() {
        let s = Spread::of(&[Some(4.0), None, Some(1.0), Some(3.0), Some(2.0)]);
        assert_eq!(s.n, 4);
        assert_eq!(s.median, Some(2.5));
        assert!(close(s.p90.unwrap(), 3.7));
        assert_eq!(s.max, Some(4.0));
        let empty = Spread::of(&[None, None]);
        assert_eq!(
            (empty.n, empty.median, empty.p90, empty.max),
            (0, None, None, None)
        );
    }
}
