//! Statistics over replications: the mean with a Student-t 95 % confidence interval, and
//! quantiles.
//!
//! The interval is the textbook one for the mean of N independent runs (independent seeds):
//! `mean ± t(0.975, N−1) · s / √N`, with `s` the sample standard deviation (divisor N−1).
//! Quantiles use linear interpolation between order statistics — Hyndman and Fan's type 7,
//! the default of R's `quantile`, NumPy's `percentile` and spreadsheets' `PERCENTILE.INC`: the
//! q-quantile of sorted `x[0..n]` is `x[h] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋])` with `h = (n−1)q`.

/// Two-sided 95 % critical values of Student's t, `t(0.975, df)` for df = 1..=30 (any
/// statistics table, e.g. NIST/SEMATECH e-Handbook §1.3.6.7.2).
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// `t(0.975, df)`: the table up to 30 degrees of freedom, then the Cornish-Fisher expansion
/// around the normal quantile (Abramowitz & Stegun 26.7.5), within 1e-4 of the exact value
/// beyond 30.
pub fn t975(df: usize) -> f64 {
    if df == 0 {
        return f64::INFINITY;
    }
    if df <= T975.len() {
        return T975[df - 1];
    }
    let z: f64 = 1.959_963_984_540_054;
    let n = df as f64;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    z + g1 / n + g2 / (n * n) + g3 / (n * n * n)
}

/// The mean and its 95 % confidence interval (`None` for no value; an interval of zero width
/// for one value, which cannot estimate its spread — `check` says "1 run" beside it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanCi {
    /// The sample mean.
    pub mean: f64,
    /// Lower bound of the 95 % interval.
    pub low: f64,
    /// Upper bound of the 95 % interval.
    pub high: f64,
}

/// The mean of `xs` with its Student-t 95 % interval.
pub fn mean_ci(xs: &[f64]) -> Option<MeanCi> {
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(MeanCi {
            mean,
            low: mean,
            high: mean,
        });
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let half = t975(n - 1) * (var / n as f64).sqrt();
    Some(MeanCi {
        mean,
        low: mean - half,
        high: mean + half,
    })
}

/// The `q`-quantile (0–1) of `xs` by linear interpolation (type 7); `None` when empty.
pub fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let h = (s.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    Some(s[lo] + (h - lo as f64) * (s[hi] - s[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_values_match_the_tables() {
        assert_eq!(t975(1), 12.706);
        assert_eq!(t975(9), 2.262);
        assert_eq!(t975(29), 2.045);
        // Exact values: 40 → 2.0211, 60 → 2.0003, 100 → 1.9840, 1000 → 1.9623.
        for (df, t) in [(40, 2.0211), (60, 2.0003), (100, 1.9840), (1000, 1.9623)] {
            assert!((t975(df) - t).abs() < 2e-4, "df {df}: {}", t975(df));
        }
    }

    #[test]
    fn the_interval_of_known_samples() {
        // 1..=10: mean 5.5, s = 3.02765, half-width 2.262 × 3.02765 / √10 = 2.16570.
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let ci = mean_ci(&xs).unwrap();
        assert!((ci.mean - 5.5).abs() < 1e-12);
        assert!((ci.high - 7.66570).abs() < 1e-4, "{ci:?}");
        assert!((ci.low - 3.33430).abs() < 1e-4, "{ci:?}");
        // Identical runs: no spread, the interval is the point.
        let ci = mean_ci(&[4.0, 4.0, 4.0]).unwrap();
        assert_eq!((ci.low, ci.high), (4.0, 4.0));
        assert_eq!(mean_ci(&[]), None);
        let one = mean_ci(&[3.0]).unwrap();
        assert_eq!((one.low, one.mean, one.high), (3.0, 3.0, 3.0));
    }

    #[test]
    fn quantiles_interpolate_like_r_and_numpy() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        // numpy.percentile([1,2,3,4], [0, 50, 95, 100]) = 1, 2.5, 3.85, 4.
        assert_eq!(quantile(&xs, 0.0), Some(1.0));
        assert_eq!(quantile(&xs, 0.5), Some(2.5));
        assert!((quantile(&xs, 0.95).unwrap() - 3.85).abs() < 1e-12);
        assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 1.0), Some(4.0));
        assert_eq!(quantile(&[7.0], 0.9), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
