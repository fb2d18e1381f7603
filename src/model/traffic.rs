//! Synthetic traffic: a non-homogeneous Poisson arrival process over a population of users.
//!
//! Arrivals come from the traffic stream alone and each request's service luck from the service
//! stream, drawn in arrival order; nothing a strategy does can change either, which is what
//! lets `compare` put strategies side by side on identical traffic.

use rand_distr::{Distribution, Exp1, Zipf};

use super::ids::{PodId, VersionId};
use super::spec::{RateProfile, TrafficSpec, UserDistribution};
use crate::engine::{RngStream, SimDuration, SimTime, StreamName};

/// One client request, as it travels through the load balancer to a pod.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// When the client sent it.
    pub arrived: SimTime,
    /// Which user sent it (0-based).
    pub user: u32,
    /// Seed of this request's own service draws (service time, application error), fixed at
    /// arrival so that the same request has the same luck whichever pod serves it.
    pub luck: u64,
    /// Whether a proxy may retry it on another endpoint.
    pub idempotent: bool,
    /// Endpoints tried so far.
    pub attempts: u8,
    /// The last endpoint tried (`None`: not sent anywhere yet), so a retry goes elsewhere.
    pub last_pod: Option<PodId>,
    /// A synthetic request (smoke test) for this version (`None`: a real client's). Only the
    /// monitor sees its outcome.
    pub synthetic_for: Option<VersionId>,
    /// A long-lived connection's reconnect handshake (see `connections.rs`), not a request:
    /// it holds a worker like one, but only the connection counters see its outcome.
    pub handshake: bool,
}

impl Request {
    /// Whether the reported metrics count it: a real client's request, neither a smoke test
    /// nor a connection's handshake.
    #[inline]
    pub fn counted(&self) -> bool {
        self.synthetic_for.is_none() && !self.handshake
    }
}

// A request is copied into worker slots and accept queues on every hop: keep it small. It was
// 32 bytes with `u32::MAX` / "version + 1" sentinels; the two `Option`s cost 8 bytes (no
// niche in the id newtypes), with no measurable change in `cargo bench --bench throughput`.
const _: () = assert!(std::mem::size_of::<Request>() <= 40);

/// Generates arrivals one at a time (the world keeps exactly one pending arrival event).
pub struct TrafficSource {
    spec: TrafficSpec,
    max_rate: f64,
    zipf: Option<Zipf<f64>>,
    traffic: RngStream,
    service: RngStream,
    next_time: SimTime,
    exhausted: bool,
    synthetic: u64,
}

impl TrafficSource {
    /// A source for `spec`, seeded from the run's root seed.
    pub fn new(spec: TrafficSpec, seed: u64) -> Self {
        let max_rate = max_rate(&spec);
        let zipf = match spec.user_distribution {
            UserDistribution::Zipf(s) => Zipf::new(f64::from(spec.users.max(1)), s).ok(),
            UserDistribution::Uniform => None,
        };
        TrafficSource {
            spec,
            max_rate,
            zipf,
            traffic: RngStream::new(seed, StreamName::Traffic),
            service: RngStream::new(seed, StreamName::Service),
            next_time: SimTime::ZERO,
            exhausted: false,
            synthetic: 0,
        }
    }

    /// The rate in force at `t`, req/s.
    pub fn rate_at(&self, t: SimTime) -> f64 {
        rate_at(&self.spec, t)
    }

    /// The expected number of arrivals over the whole run (numeric integral of the rate).
    pub fn expected_requests(spec: &TrafficSpec) -> f64 {
        let steps = 10_000u64;
        let end = spec.end.as_micros();
        let dt = end / steps;
        if dt == 0 {
            return rate_at(spec, SimTime::ZERO) * spec.end.as_secs_f64();
        }
        (0..steps)
            .map(|i| rate_at(spec, SimTime(i * dt + dt / 2)) * (dt as f64 / 1e6))
            .sum()
    }

    /// The time of the next arrival, or `None` once arrivals have ended. Lewis–Shedler
    /// thinning: candidates at the peak rate, each kept with probability rate(t) / peak.
    pub fn next_arrival_time(&mut self) -> Option<SimTime> {
        if self.exhausted || self.max_rate <= 0.0 {
            self.exhausted = true;
            return None;
        }
        let mut t = self.next_time;
        loop {
            let gap: f64 = Exp1.sample(&mut self.traffic);
            t += SimDuration::from_secs_f64(gap / self.max_rate);
            if t >= self.spec.end {
                self.exhausted = true;
                return None;
            }
            let rate = rate_at(&self.spec, t);
            if rate >= self.max_rate || self.traffic.uniform() * self.max_rate < rate {
                self.next_time = t;
                return Some(t);
            }
        }
    }

    /// A synthetic request (smoke test) sent at `at`: its luck comes from a counter, not from
    /// the traffic or service streams, so smoke tests never shift real traffic.
    pub fn synthetic_request(&mut self, at: SimTime) -> Request {
        self.synthetic += 1;
        Request {
            arrived: at,
            user: u32::MAX,
            luck: crate::engine::stream_seed(self.synthetic, "smoke"),
            idempotent: true,
            attempts: 0,
            last_pod: None,
            synthetic_for: None,
            handshake: false,
        }
    }

    /// The request arriving at `at` (call once per time returned by `next_arrival_time`).
    pub fn make_request(&mut self, at: SimTime) -> Request {
        let user = match &self.zipf {
            Some(z) => (z.sample(&mut self.traffic) as u32).saturating_sub(1),
            None => self.traffic.index(self.spec.users.max(1) as usize) as u32,
        };
        // Always one draw, whatever the share, so the share never shifts later arrivals.
        let idempotent = self.traffic.uniform() < self.spec.idempotent_share;
        Request {
            arrived: at,
            user,
            luck: rand::RngCore::next_u64(&mut self.service),
            idempotent,
            attempts: 0,
            last_pod: None,
            synthetic_for: None,
            handshake: false,
        }
    }
}

fn rate_at(spec: &TrafficSpec, t: SimTime) -> f64 {
    match &spec.profile {
        RateProfile::Constant => spec.rate,
        RateProfile::Steps(steps) => steps
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .map_or(spec.rate, |(_, r)| *r),
        RateProfile::Spike {
            at,
            duration,
            multiplier,
        } => {
            if t >= *at && t < *at + *duration {
                spec.rate * multiplier
            } else {
                spec.rate
            }
        }
        RateProfile::Diurnal {
            period,
            amplitude,
            peak_at,
        } => {
            let phase = (t.as_secs_f64() - peak_at.as_secs_f64()) / period.as_secs_f64();
            spec.rate * (1.0 + amplitude * (2.0 * std::f64::consts::PI * phase).cos())
        }
    }
    .max(0.0)
}

fn max_rate(spec: &TrafficSpec) -> f64 {
    match &spec.profile {
        RateProfile::Constant => spec.rate,
        RateProfile::Steps(steps) => steps.iter().map(|s| s.1).fold(spec.rate, f64::max),
        RateProfile::Spike { multiplier, .. } => spec.rate * multiplier.max(1.0),
        RateProfile::Diurnal { amplitude, .. } => spec.rate * (1.0 + amplitude),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(profile: RateProfile) -> TrafficSpec {
        TrafficSpec {
            rate: 100.0,
            profile,
            users: 1000,
            user_distribution: UserDistribution::Uniform,
            idempotent_share: 1.0,
            timeout: None,
            end: SimTime(100_000_000),
        }
    }

    fn count(spec: TrafficSpec, from: u64, to: u64) -> usize {
        let mut src = TrafficSource::new(spec, 9);
        std::iter::from_fn(|| src.next_arrival_time())
            .filter(|t| t.0 >= from * 1_000_000 && t.0 < to * 1_000_000)
            .count()
    }

    #[test]
    fn constant_rate_gives_poisson_counts() {
        let n = count(spec(RateProfile::Constant), 0, 100);
        // 10,000 expected; 4 sigma = 400.
        assert!((9_600..=10_400).contains(&n), "{n}");
    }

    #[test]
    fn spike_multiplies_the_rate_inside_its_window() {
        let s = spec(RateProfile::Spike {
            at: SimTime(50_000_000),
            duration: SimDuration::from_secs(10),
            multiplier: 5.0,
        });
        let inside = count(s.clone(), 50, 60);
        let before = count(s, 30, 40);
        assert!((4_600..=5_400).contains(&inside), "{inside}");
        assert!((800..=1_200).contains(&before), "{before}");
    }

    #[test]
    fn steps_and_diurnal_follow_their_rate_curves() {
        let s = spec(RateProfile::Steps(vec![(SimTime(20_000_000), 300.0)]));
        assert_eq!(rate_at(&s, SimTime(0)), 100.0);
        assert_eq!(rate_at(&s, SimTime(25_000_000)), 300.0);
        let d = spec(RateProfile::Diurnal {
            period: SimDuration::from_secs(100),
            amplitude: 0.5,
            peak_at: SimTime(25_000_000),
        });
        assert!((rate_at(&d, SimTime(25_000_000)) - 150.0).abs() < 1e-9);
        assert!((rate_at(&d, SimTime(75_000_000)) - 50.0).abs() < 1e-9);
        assert!((TrafficSource::expected_requests(&d) - 10_000.0).abs() < 1.0);
    }

    #[test]
    fn the_idempotent_share_does_not_change_arrivals() {
        let times = |share: f64| {
            let mut s = spec(RateProfile::Constant);
            s.idempotent_share = share;
            let mut src = TrafficSource::new(s, 4);
            (0..1000)
                .map(|_| {
                    let t = src.next_arrival_time().unwrap();
                    (t, src.make_request(t).user)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(times(1.0), times(0.3));
    }

    #[test]
    fn users_stay_in_range_for_both_distributions() {
        for ud in [UserDistribution::Uniform, UserDistribution::Zipf(1.1)] {
            let mut s = spec(RateProfile::Constant);
            s.user_distribution = ud;
            let mut src = TrafficSource::new(s, 1);
            for _ in 0..10_000 {
                let t = src.next_arrival_time().unwrap();
                assert!(src.make_request(t).user < 1000);
            }
        }
    }
}
#[cfg(test)]
mod size_probe {
    #[test]
    fn probe() {
        eprintln!("SIZE {}", std::mem::size_of::<super::Request>());
    }
}
