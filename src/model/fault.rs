//! Bad releases: faults a version carries, each active from a time or from the version's start.
//!
//! * `ErrorRate` — each request also fails with this probability (drawn from the request's own
//!   luck, so the same request fails whichever strategy sent it there);
//! * `Latency` — service times multiplied;
//! * `CrashLoop` — the container dies after an uptime drawn from the faults stream and restarts
//!   after Kubernetes' CrashLoopBackOff (10 s, doubling, capped at 5 min);
//! * `NeverReady` — the readiness probe never succeeds;
//! * `Degradation` — service slows down with pod uptime (a leak): the multiplier grows by
//!   `per_minute` for every minute since the application started listening.
//! * `Conversion` — a business bug: a successful request converts (a purchase, a sign-up) with
//!   the version's `conversion_rate` times this multiplier; no error and no latency change, so
//!   only an analysis of conversion can see it.

use super::Dist;
use crate::engine::{SimDuration, SimTime};

/// One fault and when it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// Active from this time on (`None`: from the version's first pod).
    pub from: Option<SimTime>,
}

/// What goes wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Extra application errors with this probability.
    ErrorRate(f64),
    /// Service-time multiplier.
    Latency(f64),
    /// Crash after this uptime; restart with back-off.
    CrashLoop(Dist),
    /// Readiness probe always fails.
    NeverReady,
    /// Service-time multiplier growing with uptime: `1 + per_minute × minutes`.
    Degradation(f64),
    /// Conversion-probability multiplier (e.g. 0.7: 30 % fewer conversions).
    Conversion(f64),
}

impl Fault {
    /// Whether the fault is in force at `now`.
    pub fn active(&self, now: SimTime) -> bool {
        self.from.is_none_or(|t| now >= t)
    }
}

/// Kubernetes' CrashLoopBackOff delay before restart number `restarts` (1-based): 10 s,
/// doubling, capped at 300 s.
pub fn crash_backoff(restarts: u32) -> SimDuration {
    let exp = restarts.saturating_sub(1).min(5);
    SimDuration::from_secs((10u64 << exp).min(300))
}

/// The combined effect of a version's faults at one moment on one pod.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FaultEffect {
    /// Multiply service time by this.
    pub latency: f64,
    /// Probability of an extra error.
    pub error_rate: f64,
}

/// What the active faults do to a request served at `now` by a pod listening for `uptime`.
pub fn effect(faults: &[Fault], now: SimTime, uptime: SimDuration) -> FaultEffect {
    let mut e = FaultEffect {
        latency: 1.0,
        error_rate: 0.0,
    };
    for f in faults.iter().filter(|f| f.active(now)) {
        match f.kind {
            FaultKind::ErrorRate(p) => e.error_rate = 1.0 - (1.0 - e.error_rate) * (1.0 - p),
            FaultKind::Latency(m) => e.latency *= m,
            FaultKind::Degradation(per_minute) => {
                e.latency *= 1.0 + per_minute * uptime.as_secs_f64() / 60.0
            }
            FaultKind::CrashLoop(_) | FaultKind::NeverReady | FaultKind::Conversion(_) => {}
        }
    }
    e
}

/// The probability that a successful request served at `now` converts: the version's
/// `conversion_rate` times every active conversion fault's multiplier, at most 1 (`None`: the
/// version declares no conversion rate, so conversions are not tracked). Called once per
/// successful request of a version with a rate: a walk over its few faults, no allocation.
pub fn conversion_probability(base: Option<f64>, faults: &[Fault], now: SimTime) -> Option<f64> {
    let mut p = base?;
    for f in faults {
        if let FaultKind::Conversion(m) = f.kind {
            if f.active(now) {
                p *= m;
            }
        }
    }
    Some(p.clamp(0.0, 1.0))
}

/// Whether a readiness probe at `now` fails because of a fault.
pub fn fails_readiness(faults: &[Fault], now: SimTime) -> bool {
    faults
        .iter()
        .any(|f| f.kind == FaultKind::NeverReady && f.active(now))
}

/// The crash-loop uptime distribution in force at `now`, if any.
pub fn crash_after(faults: &[Fault], now: SimTime) -> Option<&Dist> {
    faults.iter().find_map(|f| match &f.kind {
        FaultKind::CrashLoop(d) if f.active(now) => Some(d),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_to_five_minutes() {
        let b: Vec<u64> = (1..=8)
            .map(|n| crash_backoff(n).as_micros() / 1_000_000)
            .collect();
        assert_eq!(b, [10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn effects_combine_and_respect_start_times() {
        let faults = vec![
            Fault {
                kind: FaultKind::ErrorRate(0.5),
                from: None,
            },
            Fault {
                kind: FaultKind::ErrorRate(0.5),
                from: Some(SimTime(10)),
            },
            Fault {
                kind: FaultKind::Latency(2.0),
                from: None,
            },
            Fault {
                kind: FaultKind::Degradation(0.5),
                from: None,
            },
        ];
        let e = effect(&faults, SimTime(5), SimDuration::from_secs(120));
        assert_eq!(e.error_rate, 0.5);
        assert_eq!(e.latency, 4.0);
        let e = effect(&faults, SimTime(10), SimDuration::ZERO);
        assert_eq!(e.error_rate, 0.75);
        assert!(!fails_readiness(&faults, SimTime(0)));
    }

    #[test]
    fn conversion_faults_multiply_the_rate_and_touch_nothing_else() {
        let faults = vec![
            Fault {
                kind: FaultKind::Conversion(0.5),
                from: None,
            },
            Fault {
                kind: FaultKind::Conversion(0.5),
                from: Some(SimTime(10)),
            },
        ];
        assert_eq!(conversion_probability(None, &faults, SimTime(0)), None);
        assert_eq!(
            conversion_probability(Some(0.1), &[], SimTime(0)),
            Some(0.1)
        );
        assert_eq!(
            conversion_probability(Some(0.1), &faults, SimTime(0)),
            Some(0.05)
        );
        assert_eq!(
            conversion_probability(Some(0.1), &faults, SimTime(10)),
            Some(0.025)
        );
        assert_eq!(
            conversion_probability(Some(0.8), &faults[..1], SimTime(0)),
            Some(0.4)
        );
        let e = effect(&faults, SimTime(10), SimDuration::ZERO);
        assert_eq!((e.latency, e.error_rate), (1.0, 0.0));
    }
}
