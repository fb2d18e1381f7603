//! Duration distributions for service times, start-up delays and propagation delays.

use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::engine::{RngStream, SimDuration};

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// A distribution of durations.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Always the same value.
    Constant(SimDuration),
    /// Exponential with the given mean (memoryless service: the M in M/M/c).
    Exponential {
        /// Mean, in seconds.
        mean_s: f64,
    },
    /// Log-normal, parameterised by the mean and 99th percentile users know from dashboards.
    LogNormal {
        /// Location of ln X.
        mu: f64,
        /// Scale of ln X.
        sigma: f64,
    },
    /// Uniform between two bounds.
    Uniform {
        /// Lower bound, seconds.
        min_s: f64,
        /// Upper bound, seconds.
        max_s: f64,
    },
}

impl Dist {
    /// A log-normal with the given mean and p99 (p99 ≥ mean). Solves
    /// `ln p99 − ln mean = z·σ − σ²/2` for the smaller root; a p99 more than ~14.97× the mean
    /// has no log-normal and is refused.
    pub fn lognormal_from_mean_p99(mean_s: f64, p99_s: f64) -> Result<Dist, String> {
        if !(mean_s > 0.0 && p99_s > 0.0) {
            return Err("mean and p99 must be positive".into());
        }
        if p99_s < mean_s {
            return Err("p99 must be at least the mean".into());
        }
        let k = (p99_s / mean_s).ln();
        let disc = Z_P99 * Z_P99 - 2.0 * k;
        if disc < 0.0 {
            let max_ratio = (Z_P99 * Z_P99 / 2.0).exp();
            return Err(format!(
                "no log-normal has a p99 more than {max_ratio:.2}× its mean; lower p99 or raise mean"
            ));
        }
        let sigma = Z_P99 - disc.sqrt();
        let mu = mean_s.ln() - sigma * sigma / 2.0;
        Ok(Dist::LogNormal { mu, sigma })
    }

    /// The mean, in seconds.
    pub fn mean_s(&self) -> f64 {
        match *self {
            Dist::Constant(d) => d.as_secs_f64(),
            Dist::Exponential { mean_s } => mean_s,
            Dist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Uniform { min_s, max_s } => (min_s + max_s) / 2.0,
        }
    }

    /// The largest value a draw can take, if bounded.
    pub fn max_s(&self) -> Option<f64> {
        match *self {
            Dist::Constant(d) => Some(d.as_secs_f64()),
            Dist::Uniform { max_s, .. } => Some(max_s),
            _ => None,
        }
    }

    /// One draw, in seconds.
    pub fn sample_s(&self, rng: &mut RngStream) -> f64 {
        match *self {
            Dist::Constant(d) => d.as_secs_f64(),
            Dist::Exponential { mean_s } => {
                let e: f64 = Exp1.sample(rng);
                e * mean_s
            }
            Dist::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Dist::Uniform { min_s, max_s } => min_s + (max_s - min_s) * rng.uniform(),
        }
    }

    /// One draw as a duration.
    pub fn sample(&self, rng: &mut RngStream) -> SimDuration {
        SimDuration::from_secs_f64(self.sample_s(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StreamName;

    #[test]
    fn lognormal_matches_its_mean_and_p99() {
        let d = Dist::lognormal_from_mean_p99(0.05, 0.2).unwrap();
        assert!((d.mean_s() - 0.05).abs() < 1e-12);
        let mut rng = RngStream::new(3, StreamName::Service);
        let mut xs: Vec<f64> = (0..200_000).map(|_| d.sample_s(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let p99 = xs[(xs.len() as f64 * 0.99) as usize];
        assert!((mean / 0.05 - 1.0).abs() < 0.02, "mean {mean}");
        assert!((p99 / 0.2 - 1.0).abs() < 0.03, "p99 {p99}");
    }

    #[test]
    fn lognormal_rejects_impossible_tails() {
        assert!(Dist::lognormal_from_mean_p99(0.05, 1.0).is_err());
        assert!(Dist::lognormal_from_mean_p99(0.05, 0.01).is_err());
        assert!(Dist::lognormal_from_mean_p99(0.0, 0.01).is_err());
    }

    #[test]
    fn exponential_and_uniform_have_their_means() {
        let mut rng = RngStream::new(5, StreamName::Service);
        for d in [
            Dist::Exponential { mean_s: 0.05 },
            Dist::Uniform {
                min_s: 1.0,
                max_s: 3.0,
            },
        ] {
            let n = 100_000;
            let mean = (0..n).map(|_| d.sample_s(&mut rng)).sum::<f64>() / n as f64;
            assert!((mean / d.mean_s() - 1.0).abs() < 0.02, "{d:?}: {mean}");
        }
    }
}
