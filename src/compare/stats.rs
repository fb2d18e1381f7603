//! Means with 95 % confidence intervals over a comparison's seeds (Student's t).
//!
//! With `--seeds N` every variant runs on the same N seeds, so its runs are paired with the
//! baseline's: the difference from the baseline is the mean of the per-seed differences, and
//! its interval is the paired-t interval of those differences (narrower than comparing two
//! independent means, because both runs of a pair saw the same traffic).

/// The two-sided confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// A mean over runs, with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Runs with a value (runs where the metric is missing, such as p99 without a success,
    /// are left out).
    pub n: usize,
    /// Mean of the values (`None` without any).
    pub mean: Option<f64>,
    /// `[low, high]` of the 95 % interval (`None` with fewer than two values).
    pub ci95: Option<(f64, f64)>,
}

impl Estimate {
    /// The mean and Student-t interval of the present values.
    pub fn of(values: &[Option<f64>]) -> Estimate {
        let xs: Vec<f64> = values.iter().flatten().copied().collect();
        let n = xs.len();
        if n == 0 {
            return Estimate {
                n,
                mean: None,
                ci95: None,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let ci95 = (n >= 2).then(|| {
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let half = t_quantile(0.5 + CONFIDENCE / 2.0, (n - 1) as f64) * (var / n as f64).sqrt();
            (mean - half, mean + half)
        });
        Estimate {
            n,
            mean: Some(mean),
            ci95,
        }
    }

    /// The paired difference `a − b`: the estimate of the per-run differences over runs where
    /// both have a value.
    pub fn paired_difference(a: &[Option<f64>], b: &[Option<f64>]) -> Estimate {
        let d: Vec<Option<f64>> = a.iter().zip(b).map(|(x, y)| Some((*x)? - (*y)?)).collect();
        Estimate::of(&d)
    }
}

/// `ln Γ(x)` for x > 0 (Lanczos, g = 7, nine coefficients: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(π x).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function `I_x(a, b)`.
fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Student's t distribution function with `df` degrees of freedom.
fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p` quantile (0.5 < p < 1) of Student's t with `df` degrees of freedom, by bisection
/// on the distribution function (exact to about 1e-12; `t_{0.975, 1}` = 12.706…).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while t_cdf(hi, df) < p && hi < 1e12 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two-sided 95 % critical values of Student's t (any statistics table; R's
    /// `qt(0.975, df)`).
    #[test]
    fn t_quantiles_match_the_tables() {
        for (df, t) in [
            (1.0, 12.706_204_736_174_7),
            (2.0, 4.302_652_729_749_46),
            (3.0, 3.182_446_305_284_26),
            (4.0, 2.776_445_105_197_8),
            (5.0, 2.570_581_835_636_31),
            (10.0, 2.228_138_851_986_27),
            (30.0, 2.042_272_456_301_24),
            (100.0, 1.983_971_518_523_56),
        ] {
            let got = t_quantile(0.975, df);
            assert!((got - t).abs() < 1e-9, "df {df}: {got} vs {t}");
        }
        assert!((t_quantile(0.95, 1.0) - 6.313_751_514_675_04).abs() < 1e-9);
    }

    #[test]
    fn the_interval_is_the_t_interval_and_missing_values_are_left_out() {
        // 1, 2, 3, 4, 5: mean 3, s = √2.5, half-width t(4) · s / √5.
        let e = Estimate::of(&[Some(1.0), Some(2.0), None, Some(3.0), Some(4.0), Some(5.0)]);
        assert_eq!(e.n, 5);
        assert_eq!(e.mean, Some(3.0));
        let half = 2.776_445_105_197_8 * (2.5_f64 / 5.0).sqrt();
        let (lo, hi) = e.ci95.unwrap();
        assert!((lo - (3.0 - half)).abs() < 1e-9 && (hi - (3.0 + half)).abs() < 1e-9);
        // One value: a mean, no interval; none: nothing.
        let one = Estimate::of(&[Some(7.0), None]);
        assert_eq!((one.mean, one.ci95), (Some(7.0), None));
        assert_eq!(Estimate::of(&[None, None]).mean, None);
    }

    #[test]
    fn a_paired_difference_uses_only_pairs_with_both_values() {
        let a = [Some(10.0), Some(12.0), None, Some(15.0)];
        let b = [Some(8.0), Some(9.0), Some(1.0), None];
        let d = Estimate::paired_difference(&a, &b);
        assert_eq!(d.n, 2);
        assert_eq!(d.mean, Some(2.5));
        // Differences 2 and 3: s = √0.5, half-width t(1) · s / √2 = 12.706… / 2.
        let (lo, hi) = d.ci95.unwrap();
        assert!((hi - lo - 12.706_204_736_174_7).abs() < 1e-9);
    }
}
