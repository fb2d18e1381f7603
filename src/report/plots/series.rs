//! The compact per-run series a comparison keeps instead of the whole recorder: per bucket and
//! version the pods, ready pods and traffic share, plus the rollout's events. A one-hour run
//! with one-second buckets and three versions holds about 130 kB.

use crate::sim::RunOutput;

/// One event of a run's course, as `summary.json` gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesEvent {
    /// When, seconds.
    pub t_s: f64,
    /// `rollout.events[].kind`.
    pub kind: &'static str,
    /// `rollout.events[].detail`.
    pub detail: Option<String>,
}

/// A run's time series reduced to what timelines need; owned, so a comparison can keep one per
/// variant after dropping the run's recorder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSeries {
    /// The scenario's version names, in scenario order (a version's index picks its colour).
    pub versions: Vec<String>,
    /// Bucket width, seconds.
    pub bucket_s: f64,
    /// Simulated seconds of traffic (the drain after it may add buckets).
    pub duration_s: f64,
    /// Non-terminating pods at each bucket's end, bucket-major: `[bucket × versions + version]`.
    pub pods: Vec<u32>,
    /// Ready pods at each bucket's end, same layout.
    pub ready: Vec<u32>,
    /// Each version's share of the bucket's arrivals, 0–1, same layout (0 when nothing arrived).
    pub traffic: Vec<f32>,
    /// The rollout's events, in time order.
    pub events: Vec<SeriesEvent>,
}

impl RunSeries {
    /// Keeps the timeline data of `run` (the "no version" slot is left out: it has no pods).
    pub fn from_run(run: &RunOutput) -> RunSeries {
        let n = run.version_names.len();
        let mut s = RunSeries {
            versions: run.version_names.clone(),
            bucket_s: run.metrics.bucket().as_secs_f64(),
            duration_s: run.summary.duration_s,
            pods: Vec::new(),
            ready: Vec::new(),
            traffic: Vec::new(),
            events: run
                .summary
                .rollout
                .events
                .iter()
                .map(|e| SeriesEvent {
                    t_s: e.t_s,
                    kind: e.kind,
                    detail: e.detail.clone(),
                })
                .collect(),
        };
        for (_, slot, r) in run.metrics.rows() {
            if slot < n {
                s.pods.push(r.pods);
                s.ready.push(r.ready);
                s.traffic.push(r.traffic_share as f32);
            }
        }
        s
    }

    /// Buckets held.
    pub fn buckets(&self) -> usize {
        self.pods
            .len()
            .checked_div(self.versions.len())
            .unwrap_or(0)
    }

    /// The end of the last bucket, seconds (at least the traffic's duration).
    pub fn end_s(&self) -> f64 {
        (self.buckets() as f64 * self.bucket_s).max(self.duration_s)
    }

    /// The value of `column` for bucket `b`, version `v`.
    pub(crate) fn at<T: Copy>(&self, column: &[T], b: usize, v: usize) -> T {
        column[b * self.versions.len() + v]
    }
}
