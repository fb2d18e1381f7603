//! Long-lived connections (`[connections]`): each shipped scenario's lesson on several seeds,
//! with the size of the effect from the arithmetic in its header; the time-series column.

use crate::common::{f, run_scenario, u};

const SEEDS: [&str; 3] = ["42", "7", "2024"];

fn queue_full(s: &serde_json::Value) -> u64 {
    u(s, &["requests", "failed_by_cause", "queue_full"])
}

#[test]
fn a_rolling_update_cuts_every_connection_and_many_twice() {
    for seed in SEEDS {
        let (s, dir) = run_scenario("websockets-rolling", &["--seed", seed]);
        assert_eq!(s["rollout"]["outcome"], "completed", "seed {seed}");
        let c = u(&s, &["connections", "open_at_end"]) as f64;
        assert!((900.0..1100.0).contains(&c), "seed {seed}: {c} connections");
        // C · ((1 + 1/n)^n − 1) with n = 10: ≈ 1.594 C.
        let ratio = u(&s, &["connections", "cut"]) as f64 / c;
        assert!(
            (1.45..1.72).contains(&ratio),
            "seed {seed}: cut/C = {ratio}"
        );
        // Jittered over 1 s onto 10 pods: no handshake fails, no request suffers.
        assert_eq!(
            u(&s, &["connections", "failed_handshakes"]),
            0,
            "seed {seed}"
        );
        assert_eq!(
            u(&s, &["connections", "reconnects"]),
            u(&s, &["connections", "cut"])
        );
        assert_eq!(u(&s, &["requests", "failed"]), 0, "seed {seed}");
        // The time series' column: all C on v1 at the start, all on v2 at the end.
        let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
        let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let col = head.iter().position(|h| *h == "connections").unwrap();
        let rows: Vec<Vec<&str>> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        let at = |t: &str, v: &str| -> u64 {
            rows.iter()
                .find(|r| r[0] == t && r[1] == v)
                .map(|r| r[col].parse().unwrap())
                .unwrap()
        };
        assert_eq!(at("0", "v1") as f64, c, "seed {seed}");
        assert_eq!(at("0", "v2"), 0);
        let last = rows.last().unwrap()[0];
        assert_eq!(
            (at(last, "v1"), at(last, "v2") as f64),
            (0, c),
            "seed {seed}"
        );
    }
}

#[test]
fn reconnecting_at_once_makes_a_storm_and_full_jitter_removes_it() {
    for seed in SEEDS {
        let (storm, _) = run_scenario("websockets-reconnect-storm", &["--seed", seed]);
        let (jitter, _) = run_scenario("websockets-jittered-reconnect", &["--seed", seed]);
        for s in [&storm, &jitter] {
            assert_eq!(s["rollout"]["outcome"], "completed", "seed {seed}");
            assert_eq!(u(s, &["connections", "open_at_end"]), 2000, "seed {seed}");
            // The same cuts either way: 2,000 · (1.25⁴ − 1) ≈ 2,880.
            let cut = u(s, &["connections", "cut"]) as f64;
            assert!((2600.0..3150.0).contains(&cut), "seed {seed}: {cut}");
        }
        // The storm: the last old pod's ≈ 977 clients in one second; ≈ 5,500 refused
        // handshakes (each burst: 4 pods × 40 accepted, the rest retry 1 s later).
        let peak = u(&storm, &["connections", "peak_reconnect_rate"]);
        assert!((800..1200).contains(&peak), "seed {seed}: peak {peak}");
        let failed = u(&storm, &["connections", "failed_handshakes"]) as f64;
        assert!((4000.0..7000.0).contains(&failed), "seed {seed}: {failed}");
        assert!(queue_full(&storm) > 0, "seed {seed}");
        assert!(f(&storm, &["latency_ms", "p99"]) > 100.0, "seed {seed}");
        // Full jitter over 5 s: ≈ 977 / 5 ≈ 195 per second at worst, no failure anywhere.
        let peak = u(&jitter, &["connections", "peak_reconnect_rate"]);
        assert!((120..320).contains(&peak), "seed {seed}: peak {peak}");
        assert_eq!(u(&jitter, &["connections", "failed_handshakes"]), 0);
        assert_eq!(
            u(&jitter, &["connections", "reconnects"]),
            u(&jitter, &["connections", "cut"])
        );
        assert_eq!(queue_full(&jitter), 0, "seed {seed}");
        assert_eq!(u(&jitter, &["requests", "failed"]), 0, "seed {seed}");
        assert!(f(&jitter, &["latency_ms", "p99"]) < 30.0, "seed {seed}");
    }
}

#[test]
fn without_connections_the_section_is_null_and_the_column_zero() {
    let (s, dir) = run_scenario("rolling", &[]);
    assert!(s["connections"].is_null());
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with(",traffic_share,connections"));
    assert!(csv.lines().skip(1).all(|l| l.ends_with(",0")));
}

#[test]
fn bad_connections_tables_exit_2_and_write_nothing() {
    let dir = crate::common::temp_dir("conn-bad");
    let file = dir.join("bad.toml");
    let text =
        std::fs::read_to_string(crate::common::root().join("scenarios/websockets-rolling.toml"))
            .unwrap()
            .replace("backoff = \"full_jitter\"", "backoff = \"jittered\"");
    std::fs::write(&file, text).unwrap();
    let out = dir.join("out");
    let o = crate::common::rollsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml:"), "{err}");
    assert!(err.contains("unknown backoff \"jittered\""), "{err}");
    assert!(err.contains("full_jitter"), "{err}");
    assert!(!out.join("summary.json").exists());
}

mod properties {
    use proptest::prelude::*;
    use rollsim::report::{summary_json, timeseries_csv};
    use rollsim::scenario::Scenario;
    use rollsim::sim::{RunOutput, Simulation};

    fn text(seed: u64, replicas: u32, lb: &str, strategy: &str, connections: &str) -> String {
        format!(
            r#"seed = {seed}
duration = "40s"
[traffic]
rate = 80
users = 300
timeout = "2s"
[pod]
concurrency = 4
queue = 16
startup = "2s"
pre_stop = "1s"
termination_grace = "5s"
[versions.v1]
service = {{ dist = "exponential", mean = "30ms" }}
[versions.v2]
service = {{ dist = "exponential", mean = "30ms" }}
error_rate = 0.01
[load_balancer]
preset = "{lb}"
[deployment]
replicas = {replicas}
version = "v1"
[rollout]
to = "v2"
at = "10s"
{strategy}
{connections}"#
        )
    }

    fn run(t: &str) -> RunOutput {
        let s = Scenario::parse("p.toml", "p", t).unwrap_or_else(|e| panic!("{e:?}\n{t}"));
        Simulation::new(&s).run().expect("the run finishes")
    }

    fn connections_table() -> impl Strategy<Value = String> {
        (
            0u32..=10,
            prop_oneof![Just("sigterm"), Just("exit")],
            prop_oneof![Just("none"), Just("exponential"), Just("full_jitter")],
            50u32..2000,
            1u32..80,
        )
            .prop_map(|(share, close_on, backoff, base_ms, handshake_ms)| {
                format!(
                    "[connections]\nshare = {}\nclose_on = \"{close_on}\"\nbackoff = \"{backoff}\"\nbase = \"{base_ms}ms\"\ncap = \"5s\"\nhandshake = \"{handshake_ms}ms\"\n",
                    f64::from(share) / 10.0
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

        /// With long-lived connections: every arrival has one outcome, every connection is
        /// accounted for (open at the end = at the start − cut + successful handshakes), the
        /// time series' column ends at the open count, runs are deterministic, and the
        /// requests are the same as without connections (no draw on any existing stream).
        #[test]
        fn connections_keep_conservation_determinism_and_common_random_numbers(
            seed in 0u64..1_000_000,
            replicas in 1u32..6,
            lb in prop_oneof![Just("kube-proxy"), Just("nginx"), Just("envoy"), Just("aws-alb")],
            strategy in prop_oneof![
                Just("strategy = \"rolling\"\nmax_surge = 1\nmax_unavailable = 0"),
                Just("strategy = \"recreate\""),
                Just("strategy = \"blue_green\"\nscale_down_delay = \"5s\""),
            ],
            table in connections_table(),
        ) {
            let with = text(seed, replicas, lb, strategy, &table);
            let a = run(&with);
            let b = run(&with);
            prop_assert_eq!(summary_json(&a), summary_json(&b));
            let csv = timeseries_csv(&a);
            prop_assert_eq!(&csv, &timeseries_csv(&b));
            let r = &a.summary.requests;
            prop_assert_eq!(r.total, r.ok + r.failed);
            prop_assert_eq!(r.failed, r.failed_by_cause.values().sum::<u64>());
            let c = a.summary.connections.clone().expect("connections section");
            prop_assert!(c.held_at_start <= 300);
            prop_assert!(c.failed_handshakes <= c.reconnects);
            prop_assert_eq!(
                u64::from(c.open_at_end) + c.cut,
                u64::from(c.held_at_start) + c.reconnects - c.failed_handshakes
            );
            prop_assert!(c.peak_reconnect_rate <= c.reconnects);
            // The last bucket's column, over versions, is what is open at the end.
            let last_t = csv.lines().last().unwrap().split(',').next().unwrap().to_string();
            let open: u64 = csv
                .lines()
                .skip(1)
                .filter(|l| l.split(',').next() == Some(last_t.as_str()))
                .map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap())
                .sum();
            prop_assert_eq!(open, u64::from(c.open_at_end));
            let bare = run(&text(seed, replicas, lb, strategy, ""));
            prop_assert_eq!(bare.summary.requests.total, r.total);
            prop_assert!(bare.summary.connections.is_none());
        }
    }
}

/// `close_on`: with an app that ignores SIGTERM, "sigterm" ends the sockets at the deletion
/// (no preStop), "exit" only when SIGKILL ends the process 20 s later.
#[test]
fn close_on_sigterm_cuts_at_sigterm_and_exit_at_the_kill() {
    use rollsim::report::timeseries_csv;
    use rollsim::scenario::Scenario;
    use rollsim::sim::Simulation;
    let text = |close_on: &str| {
        format!(
            r#"duration = "60s"
[traffic]
rate = 20
users = 200
[pod]
startup = "2s"
termination_grace = "20s"
on_sigterm = "ignore"
[versions.v1]
service = "10ms"
[versions.v2]
service = "10ms"
[deployment]
replicas = 3
version = "v1"
[rollout]
to = "v2"
at = "10s"
strategy = "recreate"
[connections]
close_on = "{close_on}"
backoff = "full_jitter"
base = "1s"
cap = "5s"
"#
        )
    };
    // The first bucket at whose end (t_s + 1 s) no v1 pod holds a connection any more.
    let v1_empty_at = |close_on: &str| -> f64 {
        let s = Scenario::parse("c.toml", "c", &text(close_on)).unwrap();
        let run = Simulation::new(&s).run().unwrap();
        let c = run.summary.connections.clone().unwrap();
        assert_eq!(
            c.cut,
            u64::from(c.held_at_start),
            "{close_on}: every connection cut once"
        );
        assert_eq!(c.open_at_end, c.held_at_start, "{close_on}: all back on v2");
        timeseries_csv(&run)
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .find(|r| r[1] == "v1" && r[r.len() - 1] == "0")
            .map(|r| r[0].parse().unwrap())
            .unwrap()
    };
    let (at_sigterm, at_exit) = (v1_empty_at("sigterm"), v1_empty_at("exit"));
    // Deleted at 10 s: the bucket [9 s, 10 s) closes at 10 s; SIGKILL comes at 30 s.
    assert_eq!(at_sigterm, 9.0);
    assert!((28.0..=30.0).contains(&at_exit), "{at_exit}");
}

/// A crashing container drops its sockets whatever `close_on` says: the same rollout cuts
/// more when the new version crash-loops.
#[test]
fn a_crash_cuts_the_pods_connections() {
    use rollsim::scenario::Scenario;
    use rollsim::sim::Simulation;
    let text = |fault: &str| {
        format!(
            r#"duration = "90s"
[traffic]
rate = 20
users = 200
[pod]
startup = "1s"
[versions.v1]
service = "10ms"
[versions.v2]
service = "10ms"
{fault}
[deployment]
replicas = 3
version = "v1"
[rollout]
to = "v2"
at = "5s"
strategy = "recreate"
[connections]
close_on = "exit"
base = "500ms"
cap = "2s"
"#
        )
    };
    let cut = |fault: &str| {
        let s = Scenario::parse("c.toml", "c", &text(fault)).unwrap();
        let c = Simulation::new(&s)
            .run()
            .unwrap()
            .summary
            .connections
            .unwrap();
        (c.cut, c.held_at_start)
    };
    let (plain, held) = cut("");
    assert_eq!(plain, u64::from(held), "recreate: each connection cut once");
    let (crashing, _) = cut("[[versions.v2.faults]]\nkind = \"crash_loop\"\nafter = \"15s\"");
    assert!(crashing >= 2 * plain, "{crashing} vs {plain}");
}
