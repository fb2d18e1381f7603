//! Throughput benchmark: how fast the simulator chews through events and requests.
//!
//! Two workloads, each a scenario TOML built here, parsed with [`Scenario::parse`] and run with
//! [`Simulation::run`], with realistic pods (readiness probe, 5 s preStop, drain on SIGTERM,
//! log-normal service of mean 40 ms, concurrency 8) and a kube-proxy balancer:
//!
//! * **a** — 30 pods, 1,000 req/s, 1 simulated hour (≈ 3.6 M requests), a RollingUpdate
//!   (maxSurge 25 %, maxUnavailable 25 %) a third of the way in;
//! * **b** — 3,000 pods, 10,000 req/s, 1 simulated hour (≈ 36 M requests), the same rollout;
//! * **c** — workload a with a `[database]`: pools of 10 (300 + surge connections of 500),
//!   2–4 queries per request on 16 cores: the cost of the database path.
//!
//! The cluster has room for the surge (nodes × pods_per_node ≥ 1.3 × replicas) and the time
//! series uses 10 s buckets. For each workload it prints the simulated requests, the events
//! processed, wall seconds, M events/s, M requests/s and the process's peak RSS (`VmHWM`).
//! It measures; it never asserts a wall time.
//!
//! Run (release profile):
//!
//! ```text
//! cargo bench --bench throughput            # a, then b (b's RSS then includes a's peak)
//! cargo bench --bench throughput -- a       # one workload per process: RSS is its own
//! cargo bench --bench throughput -- a connections  # half the users hold a WebSocket
//! cargo bench --bench throughput -- b
//! cargo bench --bench throughput -- c       # a with a database
//! cargo bench --bench throughput -- b quick # 5 simulated minutes instead of an hour
//! ROLLSIM_BENCH_QUICK=1 cargo bench --bench throughput
//! ```
//!
//! Without cargo bench's `--bench` flag (e.g. under `cargo test --benches`) it runs the quick
//! mode, so a CI compile-and-smoke check stays short.

use std::process::ExitCode;
use std::time::Instant;

use rollsim::scenario::Scenario;
use rollsim::sim::Simulation;

/// One benchmark workload.
struct Workload {
    key: &'static str,
    title: &'static str,
    replicas: u32,
    rate: f64,
    users: u32,
    nodes: u32,
    pods_per_node: u32,
    database: bool,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        key: "a",
        title: "30 pods, 1,000 req/s, rolling update",
        replicas: 30,
        rate: 1_000.0,
        users: 20_000,
        nodes: 10,
        pods_per_node: 4,
        database: false,
    },
    Workload {
        key: "b",
        title: "3,000 pods, 10,000 req/s, rolling update",
        replicas: 3_000,
        rate: 10_000.0,
        users: 200_000,
        nodes: 400,
        pods_per_node: 10,
        database: false,
    },
    Workload {
        key: "c",
        title: "30 pods, 1,000 req/s, rolling update, with a database",
        replicas: 30,
        rate: 1_000.0,
        users: 20_000,
        nodes: 10,
        pods_per_node: 4,
        database: true,
    },
];

/// Workload c's database: every pod's pool fits, so the path is exercised, not the incident.
const DATABASE: &str = r#"
[database]
max_connections = 500
pool_size = 10
cpu = 16
queries = 2
queries_max = 4
read_time = { dist = "lognormal", mean = "1ms", p99 = "8ms" }
write_time = { dist = "lognormal", mean = "3ms", p99 = "20ms" }
[database.tables]
users = { share = 0.7, writes = 0.05 }
orders = { share = 0.3, writes = 0.4 }
"#;

/// Simulated seconds of a full run and of a quick (smoke) run.
const FULL_S: u64 = 3_600;
const QUICK_S: u64 = 300;

impl Workload {
    /// The scenario TOML: `duration_s` of traffic, the rollout a third of the way in.
    fn scenario_text(&self, duration_s: u64) -> String {
        assert!(
            u64::from(self.nodes) * u64::from(self.pods_per_node) * 10
                >= u64::from(self.replicas) * 13,
            "workload {}: no room for the surge",
            self.key
        );
        format!(
            r#"
description = "throughput benchmark, workload {key}"
seed = 7
duration = "{duration_s}s"
bucket = "10s"

[traffic]
rate = {rate:?}
users = {users}
timeout = "10s"

[cluster]
nodes = {nodes}
pods_per_node = {pods_per_node}
cost_per_pod_hour = 0.05

[pod]
concurrency = 8
queue = 64
startup = {{ dist = "uniform", min = "4s", max = "8s" }}
app_init = "2s"
warmup = {{ factor = 2.0, duration = "20s" }}
readiness = {{ initial_delay = "2s", period = "2s", success_threshold = 1, failure_threshold = 3 }}
pre_stop = "5s"
termination_grace = "30s"
on_sigterm = "drain"

[versions.v1]
service = {{ dist = "lognormal", mean = "40ms", p99 = "200ms" }}
error_rate = 0.001

[versions.v2]
service = {{ dist = "lognormal", mean = "38ms", p99 = "190ms" }}
error_rate = 0.001

[load_balancer]
preset = "kube-proxy"

[deployment]
replicas = {replicas}
version = "v1"

[rollout]
to = "v2"
at = "{at}s"
strategy = "rolling"
max_surge = "25%"
max_unavailable = "25%"
{database}"#,
            database = if self.database { DATABASE } else { "" },
            key = self.key,
            rate = self.rate,
            users = self.users,
            nodes = self.nodes,
            pods_per_node = self.pods_per_node,
            replicas = self.replicas,
            at = duration_s / 3,
        )
    }
}

/// The process's peak resident set size in MB (`VmHWM`), if the kernel reports it.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One measured run; prints one result row and a sanity line.
fn run(w: &Workload, duration_s: u64, connections: bool) -> Result<(), String> {
    let mut text = w.scenario_text(duration_s);
    if connections {
        // Half the users hold a WebSocket; full-jitter reconnects with 20 ms handshakes.
        text.push_str("\n[connections]\nshare = 0.5\nbackoff = \"full_jitter\"\nbase = \"1s\"\n");
    }
    let scenario = Scenario::parse("bench", "bench", &text).map_err(|e| format!("{e:?}"))?;
    let expected = scenario.expected_requests();

    let start = Instant::now();
    let out = Simulation::new(&scenario)
        .run()
        .map_err(|e| e.to_string())?;
    let wall = start.elapsed().as_secs_f64();

    let s = &out.summary;
    let requests = s.requests.total;
    let events = s.events_processed;
    let rss = peak_rss_mb().map_or("n/a".to_string(), |mb| format!("{mb:.1}"));
    println!(
        "{:<9} {:>12} {:>12} {:>9.2} {:>12.2} {:>14.2} {:>13}",
        format!("{} ({}s)", w.key, duration_s),
        requests,
        events,
        wall,
        events as f64 / wall / 1e6,
        requests as f64 / wall / 1e6,
        rss,
    );
    println!(
        "          {}: expected ≈{:.0} requests; ok {}, failed {}; rollout {} in {} s; \
         peak pods {}",
        w.title,
        expected,
        s.requests.ok,
        s.requests.failed,
        s.rollout.outcome,
        s.rollout
            .duration_s
            .map_or("n/a".to_string(), |d| format!("{d:.1}")),
        s.capacity.peak_pods,
    );
    if requests == 0 || events < requests {
        return Err(format!(
            "workload {}: implausible run ({requests} requests, {events} events)",
            w.key
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; without it we are a smoke test (`cargo test --benches`).
    let under_cargo_bench = args.iter().any(|a| a == "--bench");
    let quick_env = std::env::var("ROLLSIM_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut quick = quick_env || !under_cargo_bench;
    let mut selected: Vec<&Workload> = Vec::new();
    let mut connections = false;
    for a in &args {
        match a.as_str() {
            "quick" | "--quick" => quick = true,
            "connections" => connections = true,
            flag if flag.starts_with('-') => {} // libtest-style flags cargo may pass
            key => match WORKLOADS.iter().find(|w| w.key == key) {
                Some(w) => selected.push(w),
                None => {
                    eprintln!("unknown workload {key:?}; usage: throughput [a|b|c]... [quick] [connections]");
                    return ExitCode::from(2);
                }
            },
        }
    }
    if selected.is_empty() {
        selected = WORKLOADS.iter().collect();
    }
    let duration_s = if quick { QUICK_S } else { FULL_S };

    println!(
        "{:<9} {:>12} {:>12} {:>9} {:>12} {:>14} {:>13}",
        "workload", "requests", "events", "wall s", "M events/s", "M requests/s", "peak RSS MB"
    );
    for w in selected {
        if let Err(e) = run(w, duration_s, connections) {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
