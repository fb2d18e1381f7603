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
            FaultKind::CrashLoop(_) | FaultKind::NeverReady => {}
        }
    }
    e
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
}
