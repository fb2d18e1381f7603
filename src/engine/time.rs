//! Simulated time as an integer count of microseconds.
//!
//! Microseconds resolve a 1 ms service time to 0.1 % and still let a `u64` count 584,000 years,
//! so the simulator never needs floating-point time or epsilon comparisons.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of simulated time, in microseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in microseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// A time later than any event the simulator will schedule.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Microseconds since the start of the run.
    pub fn as_micros(self) -> u64 {
        self.0
    }

    /// Seconds since the start of the run, for reporting only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration of `us` microseconds.
    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us)
    }

    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * 1_000)
    }

    /// A duration of `s` whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1_000_000)
    }

    /// A duration from fractional seconds, rounded to the nearest microsecond (negative and NaN
    /// become zero, huge values saturate).
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_nan() || s <= 0.0 {
            SimDuration(0)
        } else {
            // `f64::round` without SSE4.1 is a library call; this is the same rounding (half
            // away from zero) in integer arithmetic: `x - trunc(x)` is exact below 2^53 and
            // zero above it.
            let x = s * 1e6;
            if x >= u64::MAX as f64 {
                return SimDuration(u64::MAX);
            }
            let t = x as u64;
            SimDuration(t + u64::from(x - t as f64 >= 0.5))
        }
    }

    /// Microseconds in this duration.
    pub fn as_micros(self) -> u64 {
        self.0
    }

    /// Seconds in this duration, for reporting and rate arithmetic.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Milliseconds in this duration, for reporting.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e3
    }

    /// True for the zero duration.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    /// Saturating: an earlier minus a later time is zero, never a panic.
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.saturating_since(earlier)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1_000_000) {
            write!(f, "{}s", self.0 / 1_000_000)
        } else if self.0.is_multiple_of(1_000) {
            write!(f, "{}ms", self.0 / 1_000)
        } else {
            write!(f, "{}us", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_secs_rounds_like_f64_round() {
        let reference = |s: f64| {
            if s.is_nan() || s <= 0.0 {
                0
            } else {
                (s * 1e6).round().min(u64::MAX as f64) as u64
            }
        };
        let mut x = 1e-9f64;
        while x < 1e15 {
            for s in [
                x,
                x * 1.000_000_3,
                0.5e-6 * (x * 1e6).floor().max(1.0),
                f64::from_bits(x.to_bits() + 1),
            ] {
                assert_eq!(
                    SimDuration::from_secs_f64(s).as_micros(),
                    reference(s),
                    "{s}"
                );
            }
            x *= 1.37;
        }
        for s in [
            0.0000005,
            0.0000015,
            2.5e-6,
            1e20,
            f64::INFINITY,
            f64::NAN,
            -1.0,
            4_503_599_627.370_5,
        ] {
            assert_eq!(
                SimDuration::from_secs_f64(s).as_micros(),
                reference(s),
                "{s}"
            );
        }
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(SimTime(5) - SimTime(9), SimDuration::ZERO);
        assert_eq!(SimTime::MAX + SimDuration(1), SimTime::MAX);
        assert_eq!(SimDuration::from_secs_f64(-1.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(0.0000015), SimDuration(2));
    }

    #[test]
    fn durations_print_in_their_natural_unit() {
        assert_eq!(SimDuration::from_secs(30).to_string(), "30s");
        assert_eq!(SimDuration::from_millis(250).to_string(), "250ms");
        assert_eq!(SimDuration(7).to_string(), "7us");
        assert_eq!(SimTime(1_500_000).to_string(), "1.500s");
    }
}
