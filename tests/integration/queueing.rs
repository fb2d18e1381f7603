//! The queueing core against queueing theory.
//!
//! One pod with `c` workers, exponential service of mean 50 ms (μ = 20/s), an unbounded FIFO
//! accept queue, no client timeout, Poisson arrivals at rate λ and no rollout is exactly an
//! M/M/c queue. Its response (sojourn) time has a closed form, so the simulator's mean and
//! 99th percentile can be checked against theory: Erlang C gives the probability of waiting
//! `C(c, a)` (a = λ/μ), the mean `E[T] = C/(cμ − λ) + 1/μ`, and the tail
//!
//! ```text
//! P(T > t) = (1 − C)·e^{−μt} + C·(μ·e^{−rt} − r·e^{−μt})/(μ − r),   r = cμ − λ
//! ```
//!
//! (with the limit `C·(1 + μt)·e^{−μt}` for the second term when r = μ), whose 0.99 point is
//! found by bisection. Each case runs for c ∈ {1, 4, 16} at utilisation ρ ∈ {0.5, 0.9}; the
//! mean must be within 3 % of theory and the p99 within 5 %.
//!
//! # Run lengths
//!
//! The tolerances only mean something if the statistical error is well below them: each run
//! is long enough that the relative standard error (RSE) is at most ~0.75 % for the mean and
//! ~1.25 % for the p99, so either tolerance is at least four standard errors (a spurious failure
//! has probability below 1e-4 per check) and a real bias of a few percent cannot hide.
//!
//! Heavy traffic makes this expensive. Response times near ρ = 1 are strongly autocorrelated:
//! M/M/1 at ρ = 0.9 relaxes on a time scale of 1/(μ(1 − √ρ)²) ≈ 19 s, while a request takes
//! 0.5 s on average, so hundreds of consecutive requests share one busy period and count as
//! one observation. The variance of a long-run average is `σ²_∞ / T`, where the
//! *asymptotic variance* σ²_∞ sums the autocovariances. For the number in system of an M/M/c
//! queue (a birth–death process) σ²_∞ has an exact formula (Whitt 1992, "Asymptotic formulas
//! for Markov processes with applications to simulation"), computed below in
//! [`rse_of_mean`]; by Little's law (E[T] = L/λ) it gives the RSE of the mean response time.
//! Independent replications measured standard errors of 0.8–1.05 times this prediction (the
//! time average of N is a slightly pessimistic stand-in for the per-request average).
//! For the p99 no closed form is at hand, so its constant `K = RSE² · T` was measured from
//! 40–420 independent replications per case with the CLI (`rollsim run --seed`), then
//! rounded up (K mean is from theory, K p99 measured; RSE = √(K/T)):
//!
//! | case       | λ /s | K mean  | K p99   | T         | requests | RSE mean | RSE p99 |
//! |------------|------|---------|---------|-----------|----------|----------|---------|
//! | M/M/1 0.5  | 10   | 1.20 s  | 3.3 s   | 30 000 s  | 0.3 M    | 0.63 %   | 1.05 %  |
//! | M/M/1 0.9  | 18   | 21.1 s  | 80 s    | 600 000 s | 10.8 M   | 0.59 %   | 1.15 %  |
//! | M/M/4 0.5  | 40   | 0.098 s | 0.21 s  | 3 000 s   | 0.12 M   | 0.57 %   | 0.84 %  |
//! | M/M/4 0.9  | 72   | 3.76 s  | 20 s    | 150 000 s | 10.8 M   | 0.50 %   | 1.15 %  |
//! | M/M/16 0.5 | 160  | 0.013 s | 0.037 s | 500 s     | 0.08 M   | 0.51 %   | 0.86 %  |
//! | M/M/16 0.9 | 288  | 0.29 s  | 0.40 s  | 8 000 s   | 2.3 M    | 0.60 %   | 0.71 %  |
//!
//! The runs start empty, which biases the mean down by roughly (1 + ρ)/(2μ(1 − ρ)²) / T
//! (the area of E[N(t)]'s initial deficit relative to L, after Abate & Whitt); for M/M/1 at
//! ρ = 0.9 that is ~4.75 s / 600 000 s ≈ 0.001 %, negligible, so no warm-up is cut. A check
//! with 420 replications of that case at T = 50 000 s found no bias (+0.02 % ± 0.09 %).
//! The latency histogram keeps three significant digits (≤ 0.1 % quantisation), also
//! negligible. All cases use the scenario default seed 1; the seed was not chosen.
//! About 25 M requests in all: ~5 s of CPU in release mode, ~3 s of wall time on two idle
//! cores (the two ρ = 0.9 cases with c ≤ 4 take ~2.2 s each and run in parallel).
//!
//! `run_lengths_give_four_standard_errors` re-derives the "RSE mean" column from theory, so the
//! table cannot silently drift from the code.

use rollsim::scenario::Scenario;
use rollsim::sim::Simulation;

/// Service rate: exponential service of mean 50 ms.
const MU: f64 = 20.0;
/// Tolerance on the mean response time.
const MEAN_TOLERANCE: f64 = 0.03;
/// Tolerance on the 99th percentile of the response time.
const P99_TOLERANCE: f64 = 0.05;

/// Erlang C, the probability that an arrival waits in M/M/c with offered load `a` = λ/μ.
/// Computed through the Erlang B recursion `B(k) = a·B(k−1) / (k + a·B(k−1))`, which never
/// forms a^c or c! and so stays accurate for large c, then `C = B / (1 − ρ(1 − B))`.
fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(a < f64::from(c), "M/M/c is unstable at a = {a} ≥ c = {c}");
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

/// Mean response time of M/M/c, seconds.
fn mean_sojourn(c: u32, lambda: f64) -> f64 {
    erlang_c(c, lambda / MU) / (f64::from(c) * MU - lambda) + 1.0 / MU
}

/// `P(T > t)` for the response time T of M/M/c (FIFO).
fn sojourn_tail(c: u32, lambda: f64, t: f64) -> f64 {
    let wait = erlang_c(c, lambda / MU);
    let r = f64::from(c) * MU - lambda;
    let waited = if (r - MU).abs() < 1e-9 * MU {
        (1.0 + MU * t) * (-MU * t).exp()
    } else {
        (MU * (-r * t).exp() - r * (-MU * t).exp()) / (MU - r)
    };
    (1.0 - wait) * (-MU * t).exp() + wait * waited
}

/// The `q` quantile of the M/M/c response time, seconds, by bisection (the tail is monotone).
fn sojourn_quantile(c: u32, lambda: f64, q: f64) -> f64 {
    let target = 1.0 - q;
    let mut hi = 1.0 / MU;
    while sojourn_tail(c, lambda, hi) > target {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if sojourn_tail(c, lambda, mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Predicted relative standard error of the mean response time of an M/M/c run of `secs`
/// seconds. The number in system N is a birth–death process (births λ, deaths min(n, c)·μ)
/// with stationary law π; by Whitt (1992) its time average over T has variance σ²_∞/T with
///
/// ```text
/// σ²_∞ = 2 Σ_j  (Σ_{i ≤ j} (i − L)·π_i)² / (λ·π_j),     L = Σ i·π_i,
/// ```
///
/// and Little's law turns the relative error of L into that of E[T].
fn rse_of_mean(c: u32, lambda: f64, secs: f64) -> f64 {
    let rho = lambda / (f64::from(c) * MU);
    // Truncate where π_n has fallen below ~1e-35 (geometric decay ρ^n beyond c).
    let n_max = c as usize + (80.0 / -rho.ln()).ceil() as usize;
    let mut pi = vec![1.0_f64];
    for n in 1..n_max {
        let deaths = f64::from(c.min(n as u32)) * MU;
        pi.push(pi[n - 1] * lambda / deaths);
    }
    let total: f64 = pi.iter().sum();
    pi.iter_mut().for_each(|p| *p /= total);
    let l: f64 = pi.iter().enumerate().map(|(i, p)| i as f64 * p).sum();
    // Partial sums Σ_{i≤j} (i − L)π_i, taken from the far end (they are minus the tail sums)
    // once past the median, so that cancellation does not swamp the tiny π_j they divide.
    let terms: Vec<f64> = pi
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64 - l) * p)
        .collect();
    let mut suffix = vec![0.0; n_max + 1];
    for j in (0..n_max).rev() {
        suffix[j] = suffix[j + 1] + terms[j];
    }
    let (mut prefix, mut mass, mut sigma2) = (0.0, 0.0, 0.0);
    for j in 0..n_max {
        prefix += terms[j];
        mass += pi[j];
        let partial = if mass < 0.5 { prefix } else { -suffix[j + 1] };
        sigma2 += 2.0 * partial * partial / (lambda * pi[j]);
    }
    (sigma2 / secs).sqrt() / l
}

/// The cases: (c, ρ, simulated seconds). See the module comment for the run lengths.
const CASES: [(u32, f64, u64); 6] = [
    (1, 0.5, 30_000),
    (1, 0.9, 600_000),
    (4, 0.5, 3_000),
    (4, 0.9, 150_000),
    (16, 0.5, 500),
    (16, 0.9, 8_000),
];

fn mmc_scenario(c: u32, lambda: f64, secs: u64) -> Scenario {
    // One time-series bucket for the whole run: nothing here reads the series.
    let text = format!(
        r#"
seed = 1
duration = "{secs}s"
bucket = "{secs}s"

[traffic]
rate = {lambda}
timeout = "none"

[pod]
concurrency = {c}
queue = "unbounded"

[versions.v1]
service = {{ dist = "exponential", mean = "50ms" }}

[deployment]
replicas = 1
version = "v1"
"#
    );
    Scenario::parse("mmc.toml", "mmc", &text).expect("the M/M/c scenario is valid")
}

/// Simulates M/M/c at utilisation `rho` for `secs` seconds and checks it against theory.
fn check_mmc(c: u32, rho: f64, secs: u64) {
    let lambda = rho * f64::from(c) * MU;
    let run = Simulation::new(&mmc_scenario(c, lambda, secs))
        .run()
        .expect("the run finishes");
    let s = &run.summary;
    let expected = lambda * secs as f64;
    assert!(
        (s.requests.total as f64 - expected).abs() < 5.0 * expected.sqrt(),
        "M/M/{c} at ρ = {rho}: {} arrivals, expected {expected:.0} ± Poisson noise",
        s.requests.total
    );
    assert_eq!(
        s.requests.failed, 0,
        "M/M/{c} at ρ = {rho}: no timeout and an unbounded queue, yet failures: {:?}",
        s.requests.failed_by_cause
    );

    let mean_theory = mean_sojourn(c, lambda) * 1e3;
    let p99_theory = sojourn_quantile(c, lambda, 0.99) * 1e3;
    let (mean, p99) = (
        s.latency_ms.mean.expect("successful responses"),
        s.latency_ms.p99.expect("successful responses"),
    );
    let mean_err = mean / mean_theory - 1.0;
    let p99_err = p99 / p99_theory - 1.0;
    eprintln!(
        "M/M/{c} ρ={rho}: {} requests; mean {mean:.3} ms vs {mean_theory:.3} ms ({:+.2} %); \
         p99 {p99:.3} ms vs {p99_theory:.3} ms ({:+.2} %)",
        s.requests.total,
        mean_err * 100.0,
        p99_err * 100.0
    );
    assert!(
        mean_err.abs() <= MEAN_TOLERANCE,
        "M/M/{c} at ρ = {rho}: mean response time {mean:.3} ms, Erlang C says {mean_theory:.3} ms \
         ({:+.2} %, tolerance ±{} %)",
        mean_err * 100.0,
        MEAN_TOLERANCE * 100.0
    );
    assert!(
        p99_err.abs() <= P99_TOLERANCE,
        "M/M/{c} at ρ = {rho}: p99 response time {p99:.3} ms, theory says {p99_theory:.3} ms \
         ({:+.2} %, tolerance ±{} %)",
        p99_err * 100.0,
        P99_TOLERANCE * 100.0
    );
}

fn case(c: u32, rho: f64) {
    let (_, _, secs) = CASES
        .iter()
        .copied()
        .find(|&(cc, r, _)| cc == c && r == rho)
        .expect("case listed in CASES");
    check_mmc(c, rho, secs);
}

#[test]
fn mm1_at_half_load_matches_theory() {
    case(1, 0.5);
}

#[test]
fn mm1_at_ninety_percent_load_matches_theory() {
    case(1, 0.9);
}

#[test]
fn mm4_at_half_load_matches_theory() {
    case(4, 0.5);
}

#[test]
fn mm4_at_ninety_percent_load_matches_theory() {
    case(4, 0.9);
}

#[test]
fn mm16_at_half_load_matches_theory() {
    case(16, 0.5);
}

#[test]
fn mm16_at_ninety_percent_load_matches_theory() {
    case(16, 0.9);
}

#[test]
fn erlang_c_matches_known_values() {
    // c = 2, a = 1: B = 1/5, C = (1/5) / (1 − ½·⅘) = 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // M/M/1: the probability of waiting is ρ.
    assert!((erlang_c(1, 0.9) - 0.9).abs() < 1e-12);
    // The textbook formula, fine for small c: C = X / (Σ_{k<c} a^k/k! + X), X = a^c/c!·c/(c − a).
    let (c, a) = (10, 8.0_f64);
    let term = |k: i32| a.powi(k) / (1..=k).map(f64::from).product::<f64>();
    let x = term(c) * f64::from(c) / (f64::from(c) - a);
    let direct = x / ((0..c).map(term).sum::<f64>() + x);
    assert!((erlang_c(10, 8.0) - direct).abs() < 1e-12, "{direct}");
    assert!((direct - 0.409_18).abs() < 1e-5, "{direct}");
    // Large c stays finite and sane (a naive a^c / c! would overflow).
    let big = erlang_c(500, 450.0);
    assert!(big.is_finite() && (0.0..1.0).contains(&big), "{big}");
}

#[test]
fn sojourn_formulas_match_closed_forms() {
    // M/M/1: T is exponential with rate μ − λ, so E[T] = 1/(μ − λ) and p99 = ln 100 / (μ − λ).
    let lambda = 18.0;
    assert!((mean_sojourn(1, lambda) - 0.5).abs() < 1e-12);
    let p99 = sojourn_quantile(1, lambda, 0.99);
    assert!((p99 - 100f64.ln() / (MU - lambda)).abs() < 1e-9, "{p99}");
    // The tail starts at 1, and the r = μ limit joins the general form continuously
    // (c = 2, λ = μ makes r = μ exactly).
    assert!((sojourn_tail(4, 72.0, 0.0) - 1.0).abs() < 1e-12);
    let at = |lambda: f64| sojourn_tail(2, lambda, 0.1);
    assert!((at(MU) - at(MU * (1.0 + 1e-6))).abs() < 1e-5);
    // The mean from the tail (∫ P(T > t) dt over [0, 20 s], Simpson's rule) agrees with
    // Erlang C's E[T]: the tail formula and the mean formula are independent derivations.
    for (c, rho, _) in CASES {
        let lambda = rho * f64::from(c) * MU;
        let (n, dt) = (200_000, 1e-4);
        let integral: f64 = (0..=n)
            .map(|i| {
                let weight = if i == 0 || i == n {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                weight * sojourn_tail(c, lambda, f64::from(i) * dt)
            })
            .sum::<f64>()
            * dt
            / 3.0;
        let mean = mean_sojourn(c, lambda);
        assert!(
            (integral / mean - 1.0).abs() < 1e-6,
            "c={c} ρ={rho}: {integral} vs {mean}"
        );
    }
}

#[test]
fn run_lengths_give_four_standard_errors() {
    // The predicted RSE of the mean must keep the 3 % tolerance at ≥ 4 standard errors.
    for (c, rho, secs) in CASES {
        let rse = rse_of_mean(c, rho * f64::from(c) * MU, secs as f64);
        assert!(
            rse * 4.0 <= MEAN_TOLERANCE,
            "M/M/{c} at ρ = {rho} over {secs} s: RSE of the mean {:.2} %",
            rse * 100.0
        );
    }
    // The formula against the M/M/1 closed form σ²_∞ = 2ρ(1 + ρ) / (μ(1 − ρ)⁴) (L = ρ/(1 − ρ)).
    for rho in [0.5_f64, 0.9] {
        let l = rho / (1.0 - rho);
        let closed = (2.0 * rho * (1.0 + rho) / (MU * (1.0 - rho).powi(4))).sqrt() / l;
        let rse = rse_of_mean(1, rho * MU, 1.0);
        assert!(
            (rse / closed - 1.0).abs() < 1e-6,
            "ρ={rho}: {rse} vs {closed}"
        );
    }
}
