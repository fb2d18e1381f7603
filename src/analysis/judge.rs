//! Canary judge: a Mann-Whitney U classifier in the style of Kayenta's `MannWhitneyClassifier`.
//!
//! Kayenta (Spinnaker's canary analysis service, the `NetflixACAJudge`) compares a metric's
//! samples from the canary ("experiment") with those from the baseline ("control") by a
//! Mann-Whitney U test (Wilcoxon rank-sum), which assumes no distribution: latency and error
//! series are skewed and full of ties, so a t-test would mislead. This module does the same.
//!
//! Reproduced from Kayenta:
//! - empty samples give `NoData`; identical samples (as multisets), or samples that are all one
//!   value, give `Pass` without a test;
//! - the decision reads the confidence interval of the location shift (experiment − control),
//!   not the p-value: `High` when the direction allows it and the interval's lower end is above
//!   [`TOLERANCE`] × |shift|, `Low` when its upper end is below −[`TOLERANCE`] × |shift|
//!   (Kayenta's `tolerance` = 0.25 bounds around the Hodges–Lehmann estimate);
//! - an effect-size gate on top (Kayenta's `effectSize.allowedIncrease`/`allowedDecrease`):
//!   a significant change smaller than the allowed one still passes;
//! - `High` is checked before `Low` for [`Direction::Either`].
//!
//! Simplified or changed, each deliberately:
//! - the effect is the shift relative to the control's median, not the ratio of means: an
//!   `effect_size` of 0.1 plays `allowedIncrease` 1.1 and `allowedDecrease` 0.9. With a zero
//!   median (a healthy error-rate series) any non-zero shift counts as beyond every effect size
//!   (Kayenta pins the ratio to 1 there, which would never fail a canary whose errors start
//!   from nothing);
//! - the shift is the exact Hodges–Lehmann estimate (median of all pairwise differences);
//!   Kayenta ports R's asymptotic `wilcox.test`, which solves for the root of the rank statistic
//!   numerically and lands on nearly the same value;
//! - the interval is Moses' distribution-free one, order statistics of the pairwise
//!   differences at the normal-approximation rank with continuity correction; R (and so Kayenta)
//!   solves the same equation with a tie-corrected variance recomputed at each trial shift;
//! - two constant samples are compared as they are instead of Kayenta's added Gaussian noise,
//!   so the judge stays deterministic;
//! - non-finite values are dropped (Kayenta's `nanStrategy: remove`); a `min_samples` floor
//!   gives `NoData` before the test (Kayenta only checks for empty samples);
//! - no outlier removal, criticality or metric scoring: those belong to the caller.
//!
//! The p-value is reported (normal approximation with tie and continuity correction, the
//! `correct = TRUE` asymptotic test of R, scipy and ClickHouse; good for n ≥ 8 per sample) but,
//! as in Kayenta, does not take part in the verdict. Everything is deterministic and allocates
//! only two sorted copies of the input.

/// Kayenta's `tolerance`: the interval must clear ± this fraction of |shift| to count.
pub const TOLERANCE: f64 = 0.25;

/// Which direction of change is bad for a metric (Kayenta's metric `direction`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// A rise is bad (latency, error rate): only `High` fails.
    Increase,
    /// A fall is bad (throughput, success rate): only `Low` fails.
    Decrease,
    /// Any change is bad.
    Either,
}

/// How the judge decides one metric.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct JudgeConfig {
    /// Which direction of change fails the canary.
    pub direction: Direction,
    /// Confidence level of the interval, in (0, 1): 0.95 or Kayenta's 0.98.
    pub confidence: f64,
    /// Smallest relative shift (|shift| / |control median|) that may fail: 0.1 is ±10 %.
    pub effect_size: f64,
    /// Fewer finite values than this in either sample gives `NoData` (0 acts as 1).
    pub min_samples: usize,
}

impl Default for JudgeConfig {
    /// Kayenta's defaults (either direction, 98 %, no effect-size gate), at least 8 samples.
    fn default() -> Self {
        JudgeConfig {
            direction: Direction::Either,
            confidence: 0.98,
            effect_size: 0.0,
            min_samples: 8,
        }
    }
}

/// The judge's classification of one metric.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// No meaningful change in a bad direction.
    Pass,
    /// The experiment is significantly and meaningfully higher (a failure).
    High,
    /// The experiment is significantly and meaningfully lower (a failure).
    Low,
    /// Too few samples to judge.
    NoData,
}

impl Verdict {
    /// `High` or `Low`.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::High | Verdict::Low)
    }
}

/// Result of a two-sample Mann-Whitney U test. Every float is NaN when a sample is empty.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct MannWhitney {
    /// Finite control values used.
    pub n_control: usize,
    /// Finite experiment values used.
    pub n_experiment: usize,
    /// U of the experiment: pairs with experiment > control, ties counting ½ (R's `W`).
    pub u: f64,
    /// Standardised U (tie- and continuity-corrected); 0 when every value is tied.
    pub z: f64,
    /// Two-sided p-value from `z`; 1 when every value is tied.
    pub p_value: f64,
    /// Hodges–Lehmann shift: median of all differences experiment − control.
    pub shift: f64,
    /// Lower end of the shift's confidence interval.
    pub ci_low: f64,
    /// Upper end of the shift's confidence interval.
    pub ci_high: f64,
}

/// The verdict with the statistics behind it, for reports.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Judgement {
    /// The classification.
    pub verdict: Verdict,
    /// The test, when one was run (`None` for `NoData` and the shortcut passes).
    pub stats: Option<MannWhitney>,
    /// `shift / |control median|` (±∞ for a non-zero shift from a zero median; 0 untested).
    pub relative_change: f64,
}

/// Mann-Whitney U test of `experiment` against `control`, with the Hodges–Lehmann shift and its
/// `confidence` interval. Non-finite values are ignored.
///
/// Cost: sorting both samples, then each order statistic of the n₁·n₂ differences by bisection
/// over the 64-bit ordering of floats with a linear count per step (at most 64 × (n₁ + n₂)
/// each), so large samples need no subsampling and no n₁·n₂ memory; the result is exact.
///
/// # Panics
/// If `confidence` is not strictly between 0 and 1.
pub fn mann_whitney(control: &[f64], experiment: &[f64], confidence: f64) -> MannWhitney {
    test_sorted(
        &sorted_finite(control),
        &sorted_finite(experiment),
        confidence,
    )
}

/// Classify `experiment` against `control` by Kayenta's rule (see the module docs).
pub fn classify(control: &[f64], experiment: &[f64], cfg: &JudgeConfig) -> Verdict {
    judge(control, experiment, cfg).verdict
}

/// [`classify`], also returning the statistics behind the verdict.
///
/// # Panics
/// If a test is run and `cfg.confidence` is not strictly between 0 and 1.
pub fn judge(control: &[f64], experiment: &[f64], cfg: &JudgeConfig) -> Judgement {
    let (c, e) = (sorted_finite(control), sorted_finite(experiment));
    let untested = |verdict| Judgement {
        verdict,
        stats: None,
        relative_change: 0.0,
    };
    let need = cfg.min_samples.max(1);
    if c.len() < need || e.len() < need {
        return untested(Verdict::NoData);
    }
    let all_one_value = c[0] == c[c.len() - 1] && e[0] == e[e.len() - 1] && c[0] == e[0];
    if c == e || all_one_value {
        return untested(Verdict::Pass);
    }
    let stats = test_sorted(&c, &e, cfg.confidence);
    let base = median(&c).abs();
    let relative_change = match (base > 0.0, stats.shift) {
        (true, shift) => shift / base,
        (false, shift) if shift > 0.0 => f64::INFINITY,
        (false, shift) if shift < 0.0 => f64::NEG_INFINITY,
        _ => 0.0,
    };
    let band = TOLERANCE * stats.shift.abs();
    let (up_bad, down_bad) = match cfg.direction {
        Direction::Increase => (true, false),
        Direction::Decrease => (false, true),
        Direction::Either => (true, true),
    };
    let verdict = if up_bad && stats.ci_low > band && relative_change >= cfg.effect_size {
        Verdict::High
    } else if down_bad && stats.ci_high < -band && relative_change <= -cfg.effect_size {
        Verdict::Low
    } else {
        Verdict::Pass
    };
    Judgement {
        verdict,
        stats: Some(stats),
        relative_change,
    }
}

fn sorted_finite(xs: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_unstable_by(f64::total_cmp);
    v
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    0.5 * sorted[(n - 1) / 2] + 0.5 * sorted[n / 2]
}

/// The test on finite samples sorted ascending.
fn test_sorted(c: &[f64], e: &[f64], confidence: f64) -> MannWhitney {
    assert!(
        confidence > 0.0 && confidence < 1.0,
        "confidence must be in (0, 1), got {confidence}"
    );
    let (n1, n2) = (c.len(), e.len());
    if n1 == 0 || n2 == 0 {
        let nan = f64::NAN;
        return MannWhitney {
            n_control: n1,
            n_experiment: n2,
            u: nan,
            z: nan,
            p_value: nan,
            shift: nan,
            ci_low: nan,
            ci_high: nan,
        };
    }
    // 2U exactly: each experiment value scores 2 per smaller control value, 1 per equal one.
    let (mut twice_u, mut lt, mut le) = (0u64, 0usize, 0usize);
    for &x in e {
        while lt < n1 && c[lt] < x {
            lt += 1;
        }
        le = le.max(lt);
        while le < n1 && c[le] <= x {
            le += 1;
        }
        twice_u += (lt + le) as u64;
    }
    // Σ(t³ − t) over groups of tied values in the pooled sample.
    let (mut ties, mut i, mut j) = (0.0f64, 0usize, 0usize);
    while i < n1 || j < n2 {
        let v = if j == n2 || (i < n1 && c[i] <= e[j]) {
            c[i]
        } else {
            e[j]
        };
        let start = i + j;
        while i < n1 && c[i] == v {
            i += 1;
        }
        while j < n2 && e[j] == v {
            j += 1;
        }
        let t = (i + j - start) as f64;
        ties += t * t * t - t;
    }
    let (a, b) = (n1 as f64, n2 as f64);
    let n = a + b;
    let u = twice_u as f64 / 2.0;
    let mean = a * b / 2.0;
    let var = a * b / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let d = u - mean;
    let (z, p_value) = if var > 0.0 {
        // |d| is a multiple of ½, so the continuity correction never flips its sign.
        let z = (d.abs() - 0.5).max(0.0).copysign(d) / var.sqrt();
        (z, erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0))
    } else {
        (0.0, 1.0)
    };
    let pairs = n1 as u64 * n2 as u64;
    let kth = |k: u64| kth_difference(c, e, k);
    let shift = if pairs % 2 == 1 {
        kth(pairs / 2 + 1)
    } else {
        0.5 * kth(pairs / 2) + 0.5 * kth(pairs / 2 + 1)
    };
    // Moses: the shifts whose continuity-corrected |z| stays within the quantile.
    let zq = normal_quantile(0.5 + confidence / 2.0);
    let rank = (mean - 0.5 - zq * (a * b * (n + 1.0) / 12.0).sqrt())
        .ceil()
        .max(1.0) as u64;
    MannWhitney {
        n_control: n1,
        n_experiment: n2,
        u,
        z,
        p_value,
        shift,
        ci_low: kth(rank),
        ci_high: kth(pairs + 1 - rank),
    }
}

/// Maps a float to an integer with the same order (`f64::total_cmp`'s mapping); an involution.
fn order_key(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

fn from_order_key(key: i64) -> f64 {
    f64::from_bits((key ^ ((((key >> 63) as u64) >> 1) as i64)) as u64)
}

/// How many differences e_i − c_j are ≤ t (both sorted ascending). Floating subtraction is
/// monotone in each operand, so the qualifying j form a suffix that only shrinks as i grows.
fn count_le(c: &[f64], e: &[f64], t: f64) -> u64 {
    let (mut j, mut count) = (0usize, 0u64);
    for &x in e {
        while j < c.len() && x - c[j] > t {
            j += 1;
        }
        count += (c.len() - j) as u64;
    }
    count
}

/// The k-th smallest (1-based) difference e_i − c_j: the least float t with `count_le(t) ≥ k`,
/// found by bisection over the ordered keys; that t is always one of the differences.
fn kth_difference(c: &[f64], e: &[f64], k: u64) -> f64 {
    let mut lo = order_key(e[0] - c[c.len() - 1]);
    let mut hi = order_key(e[e.len() - 1] - c[0]);
    while lo < hi {
        let mid = ((lo as i128 + hi as i128) >> 1) as i64;
        if count_le(c, e, from_order_key(mid)) >= k {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    from_order_key(lo)
}

/// Complementary error function, relative error below 1.2e-7 everywhere (the Chebyshev-fitted
/// exponential of Press et al., *Numerical Recipes*, §6.2).
fn erfc(x: f64) -> f64 {
    const COEF: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = COEF.iter().rev().fold(0.0, |acc, c| acc * t + c);
    let r = t * (poly - z * z).exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Inverse standard normal CDF by bisection on [`erfc`] (60 halvings of [−40, 40]); as exact as
/// `erfc`, which is plenty for an interval rank that is rounded to an integer.
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if 0.5 * erfc(-mid / std::f64::consts::SQRT_2) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}
#[cfg(test)]
mod tests {
    use super::Direction::{Decrease, Either, Increase};
    use super::Verdict::{High, Low, NoData, Pass};
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    /// Deterministic values spread uniformly over [centre − spread, centre + spread].
    fn sample(n: usize, centre: f64, spread: f64, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| centre + spread * (2.0 * next() - 1.0))
            .collect()
    }

    fn cfg(direction: Direction) -> JudgeConfig {
        let (confidence, effect_size, min_samples) = (0.95, 0.1, 8);
        JudgeConfig {
            direction,
            confidence,
            effect_size,
            min_samples,
        }
    }

    fn verdict(control: &[f64], experiment: &[f64], direction: Direction) -> Verdict {
        classify(control, experiment, &cfg(direction))
    }

    fn u(control: &[f64], experiment: &[f64]) -> f64 {
        mann_whitney(control, experiment, 0.95).u
    }

    #[test]
    fn hand_computed_u() {
        assert_eq!(u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 9.0);
        assert_eq!(u(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]), 0.0);
        // 1.5 beats 1; 2.5 beats 1 and 2: U = 3.
        assert_eq!(u(&[1.0, 2.0, 3.0], &[1.5, 2.5]), 3.0);
        // Ties count ½: 2 beats 1 and ties two 2s (2), 4 beats all four (4).
        assert_eq!(u(&[1.0, 2.0, 2.0, 3.0], &[2.0, 4.0]), 6.0);
    }

    #[test]
    fn p_values_match_reference_implementations() {
        // scipy.stats.mannwhitneyu(method="asymptotic"): U = 0, p = 0.0808555983700522.
        let m = mann_whitney(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0], 0.95);
        assert!(close(m.p_value, 0.080_855_598_370_052_24, 1e-6), "{m:?}");
        // Hollander & Wolfe (1973) p. 69 permeability data (R's wilcox.test example): W = 35,
        // normal-approximation p = 0.2446236 (scipy; R with exact = FALSE).
        let x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
        let y = [1.15, 0.88, 0.90, 0.74, 1.21];
        let m = mann_whitney(&y, &x, 0.95);
        assert_eq!(m.u, 35.0);
        assert!(close(m.p_value, 0.244_623_605_126_983_33, 1e-6), "{m:?}");
        // Brute force over the 50 sorted differences: median, Moses' 9th and 42nd.
        assert!(close(m.shift, 0.305, 1e-12) && close(m.ci_low, -0.15, 1e-12));
        assert!(close(m.ci_high, 0.76, 1e-12), "{m:?}");
        // ClickHouse's mannWhitneyUTest test data (ties): U = 223, p = 0.5426959774289482.
        let left = [
            310., 195., 530., 155., 530., 245., 385., 450., 465., 545., 170., 180., 125., 180.,
            230., 75., 430., 480., 495., 295.,
        ];
        let right = [
            116., 171., 176., 421., 111., 326., 481., 111., 346., 441., 261., 411., 206., 521.,
            456., 446., 296., 51., 426., 261.,
        ];
        let m = mann_whitney(&right, &left, 0.95);
        assert_eq!(m.u, 223.0);
        assert!(close(m.p_value, 0.542_695_977_428_948_2, 1e-6), "{m:?}");
        assert_eq!((m.shift, m.ci_low, m.ci_high), (24.0, -81.0, 119.0));
        let m99 = mann_whitney(&right, &left, 0.99);
        assert_eq!((m99.ci_low, m99.ci_high), (-131.0, 149.0));
    }

    #[test]
    fn order_statistics_match_brute_force() {
        let halves = |v: Vec<f64>| -> Vec<f64> { v.iter().map(|x| x.round() * 0.5).collect() };
        let (c, e) = (
            halves(sample(37, 0.0, 5.0, 1)),
            halves(sample(23, 1.0, 5.0, 2)),
        );
        let mut all: Vec<f64> = e
            .iter()
            .flat_map(|x| c.iter().map(move |y| x - y))
            .collect();
        all.sort_unstable_by(f64::total_cmp);
        let (cs, es) = (sorted_finite(&c), sorted_finite(&e));
        for k in 1..=all.len() {
            assert_eq!(kth_difference(&cs, &es, k as u64), all[k - 1], "k = {k}");
        }
        assert_eq!(mann_whitney(&c, &e, 0.9).shift, median(&all));
    }

    #[test]
    fn special_functions() {
        // math.erfc and statistics.NormalDist().inv_cdf.
        assert!(close(erfc(0.5), 0.479_500_122_186_953_5, 1.2e-7));
        assert!(close(erfc(-2.0), 2.0 - 0.004_677_734_981_047_265, 1.2e-7));
        assert!(close(erfc(6.0), 2.151_973_671_249_891_6e-17, 1.2e-7));
        let quantiles = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_053_6),
            (0.001, -3.090_232_306),
        ];
        for (p, want) in quantiles {
            assert!((normal_quantile(p) - want).abs() < 1e-6, "{p}");
        }
    }

    #[test]
    fn identical_or_constant_samples_pass() {
        let a = sample(50, 100.0, 10.0, 3);
        let reversed: Vec<f64> = a.iter().rev().copied().collect();
        assert_eq!(verdict(&a, &reversed, Either), Pass);
        assert_eq!(verdict(&[7.0; 20], &[7.0; 30], Either), Pass);
        let tied = mann_whitney(&[7.0; 20], &[7.0; 30], 0.95);
        assert_eq!((tied.p_value, tied.z, tied.shift), (1.0, 0.0, 0.0));
    }

    #[test]
    fn doubling_fails_only_in_the_bad_direction() {
        let control = sample(50, 100.0, 20.0, 4);
        let doubled: Vec<f64> = sample(50, 100.0, 20.0, 5).iter().map(|v| 2.0 * v).collect();
        let j = judge(&control, &doubled, &cfg(Increase));
        assert_eq!(j.verdict, High, "{j:?}");
        let stats = j.stats.unwrap();
        assert!(stats.p_value < 1e-12 && stats.ci_low > 80.0 && j.relative_change > 0.8);
        assert_eq!(verdict(&control, &doubled, Either), High);
        assert_eq!(verdict(&control, &doubled, Decrease), Pass);
        assert_eq!(verdict(&doubled, &control, Decrease), Low);
        assert_eq!(verdict(&doubled, &control, Either), Low);
        assert_eq!(verdict(&doubled, &control, Increase), Pass);
    }

    #[test]
    fn noise_and_small_effects_pass() {
        let control = sample(60, 100.0, 20.0, 6);
        assert_eq!(verdict(&control, &sample(60, 100.0, 20.0, 7), Either), Pass);
        // +3 % is significant on tight data but under a 10 % effect size.
        let (tight, up3) = (sample(60, 100.0, 1.0, 8), sample(60, 103.0, 1.0, 9));
        let j = judge(&tight, &up3, &cfg(Increase));
        assert!(
            j.stats.unwrap().p_value < 1e-6 && j.verdict == Pass,
            "{j:?}"
        );
        let strict = JudgeConfig {
            effect_size: 0.01,
            ..cfg(Increase)
        };
        assert_eq!(classify(&tight, &up3, &strict), High);
    }

    #[test]
    fn ties_and_zero_baselines() {
        // Error rates: a healthy control is mostly 0; a bad canary errs most seconds.
        let mut control = vec![0.0; 55];
        control.extend([0.01, 0.02, 0.0, 0.01, 0.0]);
        let canary: Vec<f64> = (0..60).map(|i| [0.0, 0.04, 0.05, 0.05][i % 4]).collect();
        let j = judge(&control, &canary, &cfg(Increase));
        assert_eq!(
            (j.verdict, j.relative_change),
            (High, f64::INFINITY),
            "{j:?}"
        );
        let mut also_healthy = vec![0.0; 52];
        also_healthy.extend([0.01; 8]);
        assert_eq!(verdict(&control, &also_healthy, Increase), Pass);
        // Two constants are compared as they are: 1 → 2 on every sample.
        assert_eq!(verdict(&[1.0; 10], &[2.0; 10], Either), High);
    }

    #[test]
    fn too_few_samples_is_no_data() {
        let (c, e) = (sample(7, 100.0, 10.0, 10), sample(30, 300.0, 10.0, 11));
        assert_eq!(verdict(&c, &e, Either), NoData);
        assert_eq!(verdict(&e, &c, Either), NoData);
        let mut with_nan = c.clone();
        with_nan.push(f64::NAN);
        assert_eq!(verdict(&with_nan, &e, Either), NoData);
        with_nan.push(101.0);
        assert_eq!(verdict(&with_nan, &e, Either), High);
        let no_floor = JudgeConfig {
            min_samples: 0,
            ..cfg(Either)
        };
        assert_eq!(classify(&[], &[], &no_floor), NoData);
        assert!(mann_whitney(&[], &[1.0], 0.95).shift.is_nan());
    }
}
