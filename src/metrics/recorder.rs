//! The recorder the world feeds while the simulation runs.

use hdrhistogram::Histogram;

use super::summary::{LatencySummary, RequestSummary};
use crate::engine::{SimDuration, SimTime};
use crate::model::{Census, FailCause, VersionId};

const CAUSES: usize = FailCause::ALL.len();
/// Latencies above an hour are clamped into the top bucket.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// One (bucket, version) row of the time series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketRow {
    /// Requests that arrived in the bucket and were first routed to the version.
    pub arrivals: u64,
    /// Successful responses seen in the bucket.
    pub ok: u64,
    /// Failures seen in the bucket, by cause.
    pub failed: [u64; CAUSES],
    /// Median latency of the bucket's successful responses, ms (`None`: no response).
    pub p50_ms: Option<f64>,
    /// 99th percentile latency of the bucket's successful responses, ms.
    pub p99_ms: Option<f64>,
    /// Non-terminating pods of the version at the end of the bucket.
    pub pods: u32,
    /// Ready pods of the version at the end of the bucket.
    pub ready: u32,
    /// The version's share of the bucket's arrivals, 0–1.
    pub traffic_share: f64,
    /// Long-lived connections open on the version's pods at the end of the bucket.
    pub connections: u32,
}

impl BucketRow {
    /// All failures in the bucket.
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }
}

#[derive(Clone, Debug)]
struct VersionTotals {
    arrivals: u64,
    requests: u64,
    ok: u64,
    failed: [u64; CAUSES],
    latency: Histogram<u64>,
    /// Successful requests that converted (the business metric).
    conversions: u64,
}

fn histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, sigfig).expect("valid histogram bounds")
}

/// Collects everything `summary.json` and `timeseries.csv` report.
pub struct Recorder {
    bucket: SimDuration,
    /// Version slots: the scenario's versions, then one for "no version" (no endpoint at all).
    slots: usize,
    rows: Vec<BucketRow>,
    open_bucket: usize,
    open_latency: Vec<Histogram<u64>>,
    totals: Vec<VersionTotals>,
    retries: u64,
    /// Long-lived connections open per version (empty without `[connections]`).
    long_lived: Vec<u32>,
    /// Per user: bit 15 once they sent anything; bit `v` once variant `v` handled them.
    user_mask: Vec<u16>,
    /// Per user: bit `v` once variant `v` handled them while two or more variants served.
    user_mixed: Vec<u16>,
    /// Per user: 1 + the variant that last answered (0: none yet).
    user_last: Vec<u8>,
    /// Per user: how many times the answering variant changed (saturating).
    user_switches: Vec<u8>,
    first_served: Vec<Option<SimTime>>,
    last_served: Vec<Option<SimTime>>,
    // census integrals
    last_census_at: SimTime,
    census: Census,
    pod_us: u128,
    peak_pods: u32,
    peak_pods_incl_terminating: u32,
    min_ready: u32,
    // exposure
    last_mix_at: SimTime,
    serving_versions: usize,
    mixed_us: u64,
    last_flag_mix_at: SimTime,
    flag_mixed: bool,
    flag_mixed_us: u64,
    /// Told the simulated time at each bucket's end (a progress display); observes only.
    progress: Option<Box<dyn FnMut(SimTime) + Send>>,
}

impl Recorder {
    /// A recorder for `versions` versions, `users` users and the given bucket width.
    pub fn new(versions: usize, users: u32, bucket: SimDuration) -> Self {
        let slots = versions + 1;
        Recorder {
            bucket,
            slots,
            rows: Vec::new(),
            open_bucket: 0,
            open_latency: (0..slots).map(|_| histogram(2)).collect(),
            totals: (0..slots)
                .map(|_| VersionTotals {
                    arrivals: 0,
                    requests: 0,
                    ok: 0,
                    failed: [0; CAUSES],
                    latency: histogram(3),
                    conversions: 0,
                })
                .collect(),
            retries: 0,
            long_lived: Vec::new(),
            user_mask: vec![0; users as usize],
            user_mixed: vec![0; users as usize],
            user_last: vec![0; users as usize],
            user_switches: vec![0; users as usize],
            first_served: vec![None; slots],
            last_served: vec![None; slots],
            last_census_at: SimTime::ZERO,
            census: Census::default(),
            pod_us: 0,
            peak_pods: 0,
            peak_pods_incl_terminating: 0,
            min_ready: u32::MAX,
            last_mix_at: SimTime::ZERO,
            serving_versions: 0,
            mixed_us: 0,
            last_flag_mix_at: SimTime::ZERO,
            flag_mixed: false,
            flag_mixed_us: 0,
            progress: None,
        }
    }

    /// Calls `f` with the simulated time at the end of every bucket, for a progress display.
    /// It cannot change the run: it only learns the clock.
    pub fn on_progress(&mut self, f: impl FnMut(SimTime) + Send + 'static) {
        self.progress = Some(Box::new(f));
    }

    /// The bucket width.
    pub fn bucket(&self) -> SimDuration {
        self.bucket
    }

    fn slot(&self, version: Option<VersionId>) -> usize {
        version.map_or(self.slots - 1, |v| v.index())
    }

    fn row(&mut self, at: SimTime, slot: usize) -> &mut BucketRow {
        let b = (at.as_micros() / self.bucket.as_micros().max(1)) as usize;
        let i = b * self.slots + slot;
        if self.rows.len() <= i {
            self.rows.resize((b + 1) * self.slots, BucketRow::default());
        }
        &mut self.rows[i]
    }

    /// A request arrived and was first routed to `version`.
    pub fn arrival(&mut self, now: SimTime, user: u32, version: Option<VersionId>) {
        let slot = self.slot(version);
        self.row(now, slot).arrivals += 1;
        self.totals[slot].arrivals += 1;
        if let Some(m) = self.user_mask.get_mut(user as usize) {
            *m |= 1 << 15;
        }
    }

    /// A proxy retried a request on another endpoint.
    pub fn retry(&mut self) {
        self.retries += 1;
    }

    /// A successful response after `latency`, served by `version`.
    pub fn ok(&mut self, now: SimTime, _user: u32, version: VersionId, latency: SimDuration) {
        let slot = version.index();
        self.row(now, slot).ok += 1;
        let us = latency.as_micros().clamp(1, MAX_LATENCY_US);
        self.open_latency[slot].saturating_record(us);
        let t = &mut self.totals[slot];
        t.requests += 1;
        t.ok += 1;
        t.latency.saturating_record(us);
        self.answered(now, version);
    }

    /// A successful request of `version` converted (the business metric).
    pub fn converted(&mut self, version: VersionId) {
        self.totals[version.index()].conversions += 1;
    }

    /// A failure seen by the client at `at`, attributed to `version` when a pod was involved.
    /// Exposure is counted at routing ([`Recorder::handled`]), not here.
    pub fn failed(
        &mut self,
        at: SimTime,
        _user: u32,
        version: Option<VersionId>,
        cause: FailCause,
    ) {
        let slot = self.slot(version);
        self.row(at, slot).failed[cause.index()] += 1;
        let t = &mut self.totals[slot];
        t.requests += 1;
        t.failed[cause.index()] += 1;
        if let (Some(v), FailCause::AppError) = (version, cause) {
            self.answered(at, v);
        }
    }

    /// Variant `version`'s application answered at `at` (a success or an application error):
    /// the span `detect_s` and `rollback_s` are measured on.
    fn answered(&mut self, at: SimTime, version: VersionId) {
        let slot = version.index();
        self.first_served[slot].get_or_insert(at);
        let last = &mut self.last_served[slot];
        *last = Some(last.map_or(at, |l| l.max(at)));
    }

    /// A pod running `variant` accepted a request of `user` at `now` (it will serve it, queued
    /// it, or rejected it for a full queue): the user is exposed to the variant, whatever the
    /// outcome. While two or more variants serve, it also counts towards
    /// `users_both_versions`, which is therefore 0 whenever `mixed_version_s` is.
    pub fn handled(&mut self, user: u32, variant: VersionId) {
        let slot = variant.index();
        let u = user as usize;
        let bit = 1u16 << slot.min(14);
        if let Some(m) = self.user_mask.get_mut(u) {
            *m |= bit;
            if self.serving_versions >= 2 {
                self.user_mixed[u] |= bit;
            }
            let tag = slot as u8 + 1;
            let prev = self.user_last[u];
            if prev != 0 && prev != tag {
                self.user_switches[u] = self.user_switches[u].saturating_add(1);
            }
            self.user_last[u] = tag;
        }
    }

    /// When variant `slot` first and last answered a request.
    pub fn served_span(&self, slot: usize) -> (Option<SimTime>, Option<SimTime>) {
        (self.first_served[slot], self.last_served[slot])
    }

    /// Users handled at least once by one of `slots`.
    pub fn users_handled_by(&self, slots: &[usize]) -> u64 {
        let mask: u16 = slots
            .iter()
            .map(|s| 1u16 << (*s).min(14))
            .fold(0, |a, b| a | b);
        self.user_mask.iter().filter(|m| **m & mask != 0).count() as u64
    }

    /// Users whose handling variant changed at least twice (A → B → A): the mixed-version
    /// experience.
    pub fn users_flapped(&self) -> u64 {
        self.user_switches.iter().filter(|n| **n >= 2).count() as u64
    }

    /// The largest traffic share variant `slot` had in any closed bucket.
    pub fn max_traffic_share(&self, slot: usize) -> f64 {
        self.rows
            .iter()
            .skip(slot)
            .step_by(self.slots)
            .map(|r| r.traffic_share)
            .fold(0.0, f64::max)
    }

    /// Pod counts changed at `now`.
    pub fn census(&mut self, now: SimTime, census: Census) {
        let dt = now.saturating_since(self.last_census_at).as_micros();
        self.pod_us += u128::from(dt) * u128::from(self.census.running);
        self.last_census_at = now;
        self.census = census;
        self.peak_pods = self.peak_pods.max(census.pods);
        self.peak_pods_incl_terminating = self
            .peak_pods_incl_terminating
            .max(census.pods_incl_terminating);
        self.min_ready = self.min_ready.min(census.ready);
    }

    /// The number of versions receiving traffic changed at `now`.
    pub fn serving_versions(&mut self, now: SimTime, n: usize) {
        if self.serving_versions >= 2 {
            self.mixed_us += now.saturating_since(self.last_mix_at).as_micros();
        }
        self.last_mix_at = now;
        self.serving_versions = n;
    }

    /// Whether a flag's variant and a version it ships in both serve, from `now` on.
    pub fn flag_mixed(&mut self, now: SimTime, mixed: bool) {
        if self.flag_mixed {
            self.flag_mixed_us += now.saturating_since(self.last_flag_mix_at).as_micros();
        }
        self.last_flag_mix_at = now;
        self.flag_mixed = mixed;
    }

    /// Seconds during which a flag's variant and a version it ships in both served.
    pub fn flag_mixed_s(&self) -> f64 {
        self.flag_mixed_us as f64 / 1e6
    }

    /// Closes the bucket ending at `now`: percentiles, pod gauges, traffic shares.
    pub fn close_bucket(&mut self, now: SimTime, pods_ready: &[(u32, u32)]) {
        let b = self.open_bucket;
        let start = SimTime(b as u64 * self.bucket.as_micros());
        // make sure the row exists
        self.row(start, 0);
        let base = b * self.slots;
        let arrivals: u64 = self.rows[base..base + self.slots]
            .iter()
            .map(|r| r.arrivals)
            .sum();
        for slot in 0..self.slots {
            let h = &mut self.open_latency[slot];
            let row = &mut self.rows[base + slot];
            if !h.is_empty() {
                row.p50_ms = Some(h.value_at_quantile(0.5) as f64 / 1e3);
                row.p99_ms = Some(h.value_at_quantile(0.99) as f64 / 1e3);
                h.reset();
            }
            if let Some((pods, ready)) = pods_ready.get(slot) {
                row.pods = *pods;
                row.ready = *ready;
            }
            if let Some(n) = self.long_lived.get(slot) {
                row.connections = *n;
            }
            if arrivals > 0 {
                row.traffic_share = row.arrivals as f64 / arrivals as f64;
            }
        }
        self.open_bucket += 1;
        if let Some(progress) = self.progress.as_mut() {
            progress(now);
        }
    }

    /// Long-lived connections open per version now (read when a bucket closes).
    pub fn long_lived(&mut self, per_version: &[u32]) {
        self.long_lived.clear();
        self.long_lived.extend_from_slice(per_version);
    }

    /// Finalises the integrals at the end of the run and closes the buckets still open (the
    /// drain after arrivals stopped lands in them).
    pub fn finish(&mut self, end: SimTime, pods_ready: &[(u32, u32)]) {
        while self.open_bucket * self.slots < self.rows.len() {
            self.close_bucket(end, pods_ready);
        }
        self.census(end, self.census);
        self.serving_versions(end, self.serving_versions);
        self.flag_mixed(end, self.flag_mixed);
    }

    /// Closed rows: `(bucket start, slot, row)`; the last slot is "no version".
    pub fn rows(&self) -> impl Iterator<Item = (SimTime, usize, &BucketRow)> {
        let slots = self.slots;
        let width = self.bucket.as_micros();
        self.rows
            .iter()
            .enumerate()
            .map(move |(i, r)| (SimTime((i / slots) as u64 * width), i % slots, r))
    }

    /// Run totals over all versions.
    pub fn request_summary(&self) -> RequestSummary {
        let mut failed = [0u64; CAUSES];
        let mut ok = 0;
        for t in &self.totals {
            ok += t.ok;
            for (a, b) in failed.iter_mut().zip(t.failed) {
                *a += b;
            }
        }
        RequestSummary::new(ok, failed, self.retries)
    }

    /// Run totals of one version slot.
    pub fn version_requests(&self, slot: usize) -> RequestSummary {
        let t = &self.totals[slot];
        RequestSummary::new(t.ok, t.failed, 0)
    }

    /// Latency summary over all successful responses.
    pub fn latency(&self) -> LatencySummary {
        let mut all = histogram(3);
        for t in &self.totals {
            all.add(&t.latency).expect("histograms share bounds");
        }
        LatencySummary::from_histogram(&all)
    }

    /// Latency summary of one version slot.
    pub fn version_latency(&self, slot: usize) -> LatencySummary {
        LatencySummary::from_histogram(&self.totals[slot].latency)
    }

    /// Requests whose outcome is attributed to one version slot.
    pub fn version_total(&self, slot: usize) -> u64 {
        self.totals[slot].requests
    }

    /// Conversions of one version slot.
    pub fn version_conversions(&self, slot: usize) -> u64 {
        self.totals[slot].conversions
    }

    /// Requests first routed to one version slot.
    pub fn version_arrivals(&self, slot: usize) -> u64 {
        self.totals[slot].arrivals
    }

    /// Users handled by at least two variants during mixed-version time, and users who sent
    /// anything.
    pub fn users(&self) -> (u64, u64) {
        let total = self
            .user_mask
            .iter()
            .filter(|m| *m & (1 << 15) != 0)
            .count();
        let both = self
            .user_mixed
            .iter()
            .filter(|m| m.count_ones() >= 2)
            .count();
        (both as u64, total as u64)
    }

    /// Seconds with two or more versions receiving traffic.
    pub fn mixed_version_s(&self) -> f64 {
        self.mixed_us as f64 / 1e6
    }

    /// Pod-seconds (node slots held), peak pods (non-terminating and all), minimum ready pods.
    pub fn capacity(&self) -> (f64, u32, u32, u32) {
        (
            (self.pod_us / 1000) as f64 / 1e3,
            self.peak_pods,
            self.peak_pods_incl_terminating,
            if self.min_ready == u32::MAX {
                0
            } else {
                self.min_ready
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_counted_once_in_its_bucket() {
        let mut r = Recorder::new(2, 10, SimDuration::from_secs(1));
        r.arrival(SimTime(100), 1, Some(VersionId(0)));
        r.arrival(SimTime(200), 2, Some(VersionId(1)));
        r.arrival(SimTime(300), 3, None);
        r.failed(
            SimTime(400),
            2,
            Some(VersionId(1)),
            FailCause::ConnectionRefused,
        );
        r.failed(SimTime(300), 3, None, FailCause::NoEndpoints);
        r.close_bucket(SimTime(1_000_000), &[(2, 2), (1, 1)]);
        r.ok(
            SimTime(1_500_000),
            1,
            VersionId(0),
            SimDuration::from_millis(40),
        );
        r.close_bucket(SimTime(2_000_000), &[(2, 2), (1, 1)]);
        let s = r.request_summary();
        assert_eq!((s.total, s.ok, s.failed), (3, 1, 2));
        let rows: Vec<_> = r.rows().collect();
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[0].2.arrivals, 1);
        assert!((rows[0].2.traffic_share - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(rows[3].2.ok, 1);
        assert_eq!(rows[3].2.p50_ms.map(|p| p.round()), Some(40.0));
        assert_eq!(r.users(), (0, 3));
    }

    #[test]
    fn users_on_two_versions_count_only_during_mixed_time() {
        let mut r = Recorder::new(2, 3, SimDuration::from_secs(1));
        r.serving_versions(SimTime::ZERO, 1);
        r.handled(0, VersionId(0));
        r.handled(1, VersionId(0));
        r.serving_versions(SimTime(1_000_000), 2);
        r.handled(1, VersionId(1));
        r.handled(2, VersionId(0));
        r.handled(2, VersionId(1));
        r.serving_versions(SimTime(2_000_000), 1);
        r.handled(0, VersionId(1));
        // User 0 met both versions, but never while two served; user 1 met v1 before the
        // mixed window and v2 in it; user 2 met both in it.
        assert_eq!(r.users_handled_by(&[1]), 3);
        assert_eq!(r.users().0, 1);
    }

    #[test]
    fn progress_hears_every_bucket_end() {
        use std::sync::{Arc, Mutex};
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut r = Recorder::new(1, 1, SimDuration::from_secs(1));
        let s = Arc::clone(&seen);
        r.on_progress(move |t| s.lock().unwrap().push(t.as_secs_f64()));
        r.arrival(SimTime(2_500_000), 0, Some(VersionId(0)));
        r.close_bucket(SimTime(1_000_000), &[]);
        r.finish(SimTime(3_000_000), &[]);
        assert_eq!(*seen.lock().unwrap(), [1.0, 3.0, 3.0]);
    }

    #[test]
    fn census_integrates_pod_seconds_and_tracks_extremes() {
        let mut r = Recorder::new(1, 1, SimDuration::from_secs(1));
        let c = |running, ready| Census {
            pods: running,
            pods_incl_terminating: running,
            running,
            ready,
        };
        r.census(SimTime::ZERO, c(2, 2));
        r.census(SimTime(10_000_000), c(3, 1));
        r.finish(SimTime(20_000_000), &[]);
        let (pod_s, peak, _, min_ready) = r.capacity();
        assert_eq!(pod_s, 50.0);
        assert_eq!(peak, 3);
        assert_eq!(min_ready, 1);
    }

    #[test]
    fn mixed_seconds_accumulate_only_with_two_versions() {
        let mut r = Recorder::new(2, 1, SimDuration::from_secs(1));
        r.serving_versions(SimTime::ZERO, 1);
        r.serving_versions(SimTime(5_000_000), 2);
        r.serving_versions(SimTime(8_000_000), 1);
        r.finish(SimTime(10_000_000), &[]);
        assert_eq!(r.mixed_version_s(), 3.0);
    }
}
