//! The monitor: what a Prometheus scraping the mesh would hold, per variant and per second.
//!
//! Analysis reads this, never the reporting metrics (which only observe). It keeps a ring of
//! the last `horizon` seconds: requests, errors (every failure the client saw: 5xx, refused,
//! timed out), and a log-scale latency histogram of successful responses (128 buckets, 10 %
//! apart from 1 ms, so a p99 read from it is within about 5 %). Memory is fixed by the horizon
//! and the number of variants, never by traffic.

use crate::engine::{SimDuration, SimTime};

const BUCKETS: usize = 128;
const GROWTH: f64 = 1.1;

#[derive(Clone)]
struct Second {
    /// Which absolute second this row holds (u64::MAX: empty).
    second: u64,
    requests: u32,
    errors: u32,
    ok: u32,
    /// Successful requests that converted (the business metric).
    conversions: u32,
    latency_sum_us: u64,
    hist: [u32; BUCKETS],
}

impl Second {
    fn empty() -> Self {
        Second {
            second: u64::MAX,
            requests: 0,
            errors: 0,
            ok: 0,
            conversions: 0,
            latency_sum_us: 0,
            hist: [0; BUCKETS],
        }
    }
}

/// Aggregates over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowStats {
    /// Requests that finished in the window.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Mean latency of successes, ms (`None`: no success).
    pub mean_ms: Option<f64>,
    /// 99th percentile latency of successes, ms.
    pub p99_ms: Option<f64>,
    /// Conversions / successes (`None`: no success, or the variant tracks no conversions).
    pub conversion_rate: Option<f64>,
}

impl WindowStats {
    /// Errors / requests (`None` without requests).
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }
}

/// A per-second series for the judge.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Series {
    /// Error rate of each second with traffic.
    ErrorRate,
    /// Mean latency of each second with successes, ms.
    MeanLatency,
    /// Conversions / successes of each second with successes (variants tracking conversions).
    ConversionRate,
}

/// Per-variant, per-second observations over a bounded horizon.
#[derive(Clone)]
pub struct Monitor {
    slots: usize,
    horizon: usize,
    rows: Vec<Second>,
    dry_run: bool,
    /// Per slot: whether the variant tracks conversions (declares a `conversion_rate`).
    conversions: Vec<bool>,
    /// [`bucket_starts`], kept here so recording a latency is a search, not a logarithm.
    starts: [u64; BUCKETS],
    /// The second last recorded and the index of its first row: requests finish in time
    /// order, so most records skip the division by the horizon.
    last: (u64, usize),
}

/// The first latency, µs, of each bucket (`[0]` = 0): found once by bisecting [`bucket_of`],
/// so a lookup in it gives exactly `bucket_of`'s answer without a logarithm per request.
fn bucket_starts() -> [u64; BUCKETS] {
    let mut starts = [0u64; BUCKETS];
    for (b, start) in starts.iter_mut().enumerate().skip(1) {
        let (mut lo, mut hi) = (0u64, u64::MAX / 2);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if bucket_of(SimDuration::from_micros(mid)) >= b {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        *start = lo;
    }
    starts
}

fn bucket_of(latency: SimDuration) -> usize {
    let ms = latency.as_micros() as f64 / 1e3;
    if ms <= 1.0 {
        0
    } else {
        ((ms.ln() / GROWTH.ln()) as usize + 1).min(BUCKETS - 1)
    }
}

/// Representative latency of a bucket, ms (geometric middle).
fn bucket_ms(b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        GROWTH.powf(b as f64 - 0.5)
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Monitor({} variants, {} s)", self.slots, self.horizon)
    }
}

impl Monitor {
    /// A monitor for `slots` variants remembering `horizon` seconds.
    pub fn new(slots: usize, horizon: SimDuration) -> Self {
        let horizon = (horizon.as_micros() / 1_000_000).max(1) as usize + 1;
        Monitor {
            slots,
            horizon,
            rows: vec![Second::empty(); slots * horizon],
            dry_run: false,
            starts: bucket_starts(),
            last: (u64::MAX, 0),
            conversions: vec![false; slots],
        }
    }

    /// The same monitor told which variants (in slot order) track conversions; the others'
    /// conversion rate is no data, never 0.
    pub fn with_conversions(mut self, tracked: impl IntoIterator<Item = bool>) -> Self {
        for (c, t) in self.conversions.iter_mut().zip(tracked) {
            *c = t;
        }
        self
    }

    /// A monitor with no data on which every analysis measurement succeeds: the "everything
    /// goes well" assumption of `rollsim plan`.
    pub fn dry_run() -> Self {
        Monitor {
            dry_run: true,
            ..Monitor::new(0, SimDuration::from_secs(1))
        }
    }

    /// Whether analyses should assume success (see [`Monitor::dry_run`]).
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    fn row_mut(&mut self, at: SimTime, slot: usize) -> Option<&mut Second> {
        if slot >= self.slots {
            return None;
        }
        let second = at.as_micros() / 1_000_000;
        if self.last.0 != second {
            self.last = (second, (second as usize % self.horizon) * self.slots);
        }
        let row = self.rows.get_mut(self.last.1 + slot)?;
        if row.second != second {
            if row.second != u64::MAX && row.second > second {
                return None; // older than the horizon
            }
            *row = Second::empty();
            row.second = second;
        }
        Some(row)
    }

    /// A request of variant `slot` finished at `at`: `latency` for a success, `None` for a
    /// failure.
    pub fn record(&mut self, at: SimTime, slot: usize, latency: Option<SimDuration>) {
        let bucket = latency.map(|l| self.starts.partition_point(|&s| s <= l.as_micros()) - 1);
        let Some(row) = self.row_mut(at, slot) else {
            return;
        };
        row.requests += 1;
        match (latency, bucket) {
            (Some(l), Some(b)) => {
                row.ok += 1;
                row.latency_sum_us += l.as_micros();
                row.hist[b] += 1;
            }
            _ => row.errors += 1,
        }
    }

    /// A successful request of variant `slot` that finished at `at` converted (recorded after
    /// [`Monitor::record`] counted its success).
    pub fn convert(&mut self, at: SimTime, slot: usize) {
        if let Some(row) = self.row_mut(at, slot) {
            row.conversions += 1;
        }
    }

    fn rows_in(&self, slot: usize, from: SimTime, to: SimTime) -> impl Iterator<Item = &Second> {
        let (a, mut b) = (from.as_micros() / 1_000_000, to.as_micros() / 1_000_000);
        if slot >= self.slots {
            b = a; // no such variant: an empty range
        }
        let lo = a.max(b.saturating_sub(self.horizon as u64 - 1));
        (lo..b).filter_map(move |s| {
            let row = &self.rows[(s as usize % self.horizon) * self.slots + slot];
            (row.second == s).then_some(row)
        })
    }

    /// Aggregates of variant `slot` over whole seconds in `[from, to)`.
    pub fn window(&self, slot: usize, from: SimTime, to: SimTime) -> WindowStats {
        let mut hist = [0u64; BUCKETS];
        let (mut requests, mut errors, mut ok, mut sum) = (0u64, 0u64, 0u64, 0u64);
        let mut conversions = 0u64;
        for r in self.rows_in(slot, from, to) {
            conversions += u64::from(r.conversions);
            requests += u64::from(r.requests);
            errors += u64::from(r.errors);
            ok += u64::from(r.ok);
            sum += r.latency_sum_us;
            for (h, x) in hist.iter_mut().zip(r.hist.iter()) {
                *h += u64::from(*x);
            }
        }
        let p99_ms = (ok > 0).then(|| {
            let rank = (ok as f64 * 0.99).ceil() as u64;
            let mut seen = 0;
            let b = hist
                .iter()
                .position(|n| {
                    seen += n;
                    seen >= rank
                })
                .unwrap_or(BUCKETS - 1);
            bucket_ms(b)
        });
        WindowStats {
            requests,
            errors,
            mean_ms: (ok > 0).then(|| sum as f64 / ok as f64 / 1e3),
            p99_ms,
            conversion_rate: (ok > 0 && self.tracks_conversions(slot))
                .then(|| conversions as f64 / ok as f64),
        }
    }

    /// Whether variant `slot` tracks conversions.
    fn tracks_conversions(&self, slot: usize) -> bool {
        self.conversions.get(slot).copied().unwrap_or(false)
    }

    /// Per-second values of `series` for variant `slot` over `[from, to)`, skipping seconds
    /// without data.
    pub fn series(&self, slot: usize, from: SimTime, to: SimTime, series: Series) -> Vec<f64> {
        let tracked = self.tracks_conversions(slot);
        self.rows_in(slot, from, to)
            .filter_map(|r| match series {
                Series::ErrorRate => {
                    (r.requests > 0).then(|| f64::from(r.errors) / f64::from(r.requests))
                }
                Series::MeanLatency => {
                    (r.ok > 0).then(|| r.latency_sum_us as f64 / f64::from(r.ok) / 1e3)
                }
                Series::ConversionRate => {
                    (r.ok > 0 && tracked).then(|| f64::from(r.conversions) / f64::from(r.ok))
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> SimTime {
        SimTime((secs * 1e6) as u64)
    }

    #[test]
    fn windows_aggregate_whole_seconds() {
        let mut m = Monitor::new(2, SimDuration::from_secs(60));
        for i in 0..100 {
            m.record(
                s(10.0 + i as f64 * 0.01),
                0,
                Some(SimDuration::from_millis(20)),
            );
        }
        m.record(s(10.5), 0, None);
        m.record(s(10.5), 1, None);
        let w = m.window(0, s(10.0), s(11.0));
        assert_eq!((w.requests, w.errors), (101, 1));
        assert!((w.mean_ms.unwrap() - 20.0).abs() < 1e-9);
        let p99 = w.p99_ms.unwrap();
        assert!((p99 / 20.0 - 1.0).abs() < 0.06, "{p99}");
        assert_eq!(m.window(0, s(11.0), s(12.0)).requests, 0);
        assert_eq!(m.series(1, s(0.0), s(20.0), Series::ErrorRate), [1.0]);
        // No variant tracks conversions: the rate is no data, not 0.
        assert_eq!(w.conversion_rate, None);
    }

    #[test]
    fn conversion_rate_is_conversions_over_successes_of_tracked_variants() {
        let mut m = Monitor::new(2, SimDuration::from_secs(60)).with_conversions([true, false]);
        for i in 0..40 {
            for slot in 0..2 {
                let at = s(5.0 + i as f64 * 0.02);
                m.record(at, slot, Some(SimDuration::from_millis(10)));
                if i % 4 == 0 {
                    m.convert(at, slot);
                }
            }
        }
        m.record(s(5.5), 0, None); // a failure is not a success: not in the denominator
        let w = m.window(0, s(5.0), s(6.0));
        assert_eq!(w.conversion_rate, Some(0.25));
        assert_eq!(m.window(1, s(5.0), s(6.0)).conversion_rate, None);
        assert_eq!(m.series(0, s(0.0), s(10.0), Series::ConversionRate), [0.25]);
        assert!(m
            .series(1, s(0.0), s(10.0), Series::ConversionRate)
            .is_empty());
    }

    #[test]
    fn the_bucket_table_agrees_with_the_logarithm() {
        let starts = bucket_starts();
        let by_table = |us: u64| starts.partition_point(|&s| s <= us) - 1;
        let mut us = 0u64;
        while us < 3_600_000_000 {
            for x in [us.saturating_sub(1), us, us + 1] {
                assert_eq!(
                    by_table(x),
                    bucket_of(SimDuration::from_micros(x)),
                    "{x} µs"
                );
            }
            us = us * 21 / 20 + 1;
        }
        for &s in &starts[1..] {
            for x in [s - 1, s, s + 1] {
                assert_eq!(
                    by_table(x),
                    bucket_of(SimDuration::from_micros(x)),
                    "{x} µs"
                );
            }
        }
    }

    #[test]
    fn old_seconds_fall_off_the_horizon() {
        let mut m = Monitor::new(1, SimDuration::from_secs(10));
        m.record(s(1.0), 0, None);
        m.record(s(30.0), 0, None);
        assert_eq!(m.window(0, s(0.0), s(31.0)).requests, 1);
        // Recording into a second older than the horizon is ignored.
        m.record(s(2.0), 0, None);
        assert_eq!(m.window(0, s(25.0), s(31.0)).requests, 1);
    }
}
