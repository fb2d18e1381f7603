//! `timeseries.csv`: tidy, one row per (bucket, version). Column names are part of the output
//! contract: extend, never rename.

use std::fmt::Write;

use crate::model::FailCause;
use crate::sim::RunOutput;

/// The contract's leading columns, then failures by cause, then traffic share.
pub const HEADER: &str = "t_s,version,pods,ready,arrivals,ok,failed,p50_ms,p99_ms";

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.3}"))
}

/// Renders the time series. The "none" version (requests that found no endpoint at all) only
/// appears when such requests exist.
pub fn timeseries_csv(run: &RunOutput) -> String {
    let mut out = String::from(HEADER);
    for c in FailCause::ALL {
        out.push(',');
        out.push_str(c.as_str());
    }
    out.push_str(",traffic_share,connections");
    // With a database: connections open at the bucket's end.
    let db = &run.db_connections;
    out.push_str(if db.is_empty() {
        "\n"
    } else {
        ",db_connections,db_lock_waiting\n"
    });
    let names = &run.version_names;
    let none_used = run
        .metrics
        .rows()
        .any(|(_, slot, r)| slot == names.len() && (r.arrivals > 0 || r.failed_total() > 0));
    for (i, (t, slot, r)) in run.metrics.rows().enumerate() {
        let name = match names.get(slot) {
            Some(n) => n.as_str(),
            None if none_used => "none",
            None => continue,
        };
        let _ = write!(
            out,
            "{},{name},{},{},{},{},{},{},{}",
            t.as_secs_f64(),
            r.pods,
            r.ready,
            r.arrivals,
            r.ok,
            r.failed_total(),
            opt(r.p50_ms),
            opt(r.p99_ms)
        );
        for n in r.failed {
            let _ = write!(out, ",{n}");
        }
        let _ = write!(out, ",{:.4},{}", r.traffic_share, r.connections);
        match db.get(i) {
            Some(n) => {
                let w = run.db_lock_waiting.get(i).copied().unwrap_or(0);
                let _ = writeln!(out, ",{n},{w}");
            }
            None => out.push('\n'),
        }
    }
    out
}
