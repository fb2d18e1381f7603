//! Session stores (`[sessions]`): each shipped pair's lesson on several seeds, with the size of
//! the effect from the arithmetic in the scenario's header; a shared store's outage; re-login.

use crate::common::{f, root, run_into, run_scenario, temp_dir, u};

const SEEDS: [&str; 3] = ["42", "7", "2024"];

fn lost(s: &serde_json::Value) -> u64 {
    u(s, &["requests", "failed_by_cause", "session_lost"])
}

fn logged_out(s: &serde_json::Value) -> u64 {
    u(s, &["sessions", "users_logged_out"])
}

/// Session losses in the time series before `t_s` seconds.
fn lost_before(dir: &std::path::Path, t_s: f64) -> u64 {
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = head.iter().position(|c| *c == "session_lost").unwrap();
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[0].parse::<f64>().unwrap() < t_s)
        .map(|r| r[col].parse::<u64>().unwrap())
        .sum()
}

#[test]
fn in_memory_sessions_without_affinity_lose_n_minus_1_over_n_of_returning_requests() {
    for seed in SEEDS {
        let (s, _) = run_scenario("sessions-in-memory", &["--seed", seed]);
        let total = u(&s, &["requests", "total"]);
        assert_eq!(u(&s, &["sessions", "lost"]), lost(&s));
        // ≈ 0.9 × (requests − first requests of 1,000 users) with ~10 pods.
        let share = lost(&s) as f64 / (total - 1000) as f64;
        assert!((0.87..0.92).contains(&share), "seed {seed}: {share}");
        assert_eq!(logged_out(&s), 1000, "seed {seed}");
    }
}

#[test]
fn sticky_sessions_hold_until_the_rollout_then_every_user_is_logged_out() {
    for seed in SEEDS {
        let (s, dir) = run_scenario("sticky-sessions-rolling", &["--seed", seed]);
        assert_eq!(s["rollout"]["outcome"], "completed");
        // Affinity works while the fleet stands still.
        assert_eq!(lost_before(&dir, 60.0), 0, "seed {seed}");
        // Every user's pod goes: all 1,000 logged out; ≈ users × (1.1^10 − 1) ≈ 1,594 losses.
        assert_eq!(logged_out(&s), 1000, "seed {seed}");
        let l = lost(&s) as f64;
        assert!((1400.0..1800.0).contains(&l), "seed {seed}: {l}");
    }
}

#[test]
fn a_shared_store_loses_no_session_and_costs_one_hop() {
    for seed in SEEDS {
        let (s, _) = run_scenario("sessions-shared", &["--seed", seed]);
        assert_eq!(s["rollout"]["outcome"], "completed");
        assert_eq!(lost(&s), 0, "seed {seed}");
        assert_eq!(u(&s, &["sessions", "lost"]), 0);
        assert_eq!(logged_out(&s), 0);
        assert_eq!(u(&s, &["requests", "failed"]), 0, "seed {seed}");
    }
    // The same run without sessions: the same requests, each 0.2 ms faster.
    let (shared, _) = run_scenario("sessions-shared", &[]);
    let text = shipped("sessions-shared");
    let bare = run_text("sessions-none", &text[..text.find("[sessions]").unwrap()]);
    assert_eq!(shared["requests"]["total"], bare["requests"]["total"]);
    let extra = f(&shared, &["latency_ms", "mean"]) - f(&bare, &["latency_ms", "mean"]);
    assert!((0.15..0.35).contains(&extra), "{extra} ms");
}

#[test]
fn a_one_step_jwt_key_switch_logs_users_out_and_dual_keys_do_not() {
    for seed in SEEDS {
        let (bad, _) = run_scenario("jwt-key-rotation", &["--seed", seed]);
        let (good, _) = run_scenario("jwt-dual-key", &["--seed", seed]);
        // Same requests (common random numbers), same rollout.
        assert_eq!(bad["requests"]["total"], good["requests"]["total"]);
        assert_eq!(lost(&good), 0, "seed {seed}");
        assert_eq!(logged_out(&good), 0);
        assert_eq!(logged_out(&bad), 1000, "seed {seed}");
        // ≈ rate × mixed window / 3: a request crosses versions with chance 2f(1−f).
        let mixed = f(&bad, &["exposure", "mixed_version_s"]);
        let expected = 200.0 * mixed / 3.0;
        let ratio = lost(&bad) as f64 / expected;
        assert!((0.8..1.5).contains(&ratio), "seed {seed}: {ratio}");
    }
}

fn run_text(name: &str, text: &str) -> serde_json::Value {
    let dir = temp_dir(name);
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap();
    let out = dir.join("out");
    let o = run_into(&file, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    crate::common::read_summary(&out)
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(root().join(format!("scenarios/{name}.toml"))).unwrap()
}

#[test]
fn a_shared_store_outage_fails_every_request_in_its_window_and_logs_no_one_out() {
    // 200 req/s, the store down for 10 s: ≈ 2,000 requests fail `session_lost`.
    let text = shipped("sessions-shared").replace(
        "capacity = 1000",
        "capacity = 1000\noutage = { at = \"30s\", duration = \"10s\" }",
    );
    let s = run_text("sessions-outage", &text);
    let l = lost(&s) as f64;
    assert!((1800.0..2200.0).contains(&l), "{l}");
    assert_eq!(u(&s, &["sessions", "lost"]), lost(&s));
    assert_eq!(logged_out(&s), 0);
}

#[test]
fn relogin_turns_lost_sessions_into_slower_successes() {
    let text = shipped("sticky-sessions-rolling").replace(
        "on_loss = \"fail\"",
        "on_loss = \"relogin\"\nrelogin = \"2s\"",
    );
    let s = run_text("sessions-relogin", &text);
    assert_eq!(lost(&s), 0);
    assert_eq!(u(&s, &["requests", "failed"]), 0);
    let l = u(&s, &["sessions", "lost"]) as f64;
    assert!((1400.0..1800.0).contains(&l), "{l}");
    assert_eq!(logged_out(&s), 1000);
    // ~1,600 of ~48,000 requests took a 2 s login: the p99 is not, the max is.
    assert!(f(&s, &["latency_ms", "max"]) > 2000.0);
    assert!(f(&s, &["latency_ms", "p50"]) < 100.0);
}

#[test]
fn an_unknown_store_exits_2_naming_the_line_and_writes_nothing() {
    let dir = temp_dir("sessions-bad");
    let file = dir.join("bad.toml");
    let text = shipped("sessions-shared").replace("store = \"shared\"", "store = \"memcache\"");
    std::fs::write(&file, text).unwrap();
    let out = dir.join("out");
    let o = run_into(&file, &out, &["--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml:"), "{err}");
    assert!(err.contains("unknown session store \"memcache\""), "{err}");
    assert!(!out.join("summary.json").exists());
}

mod properties {
    use proptest::prelude::*;
    use rollsim::report::summary_json;
    use rollsim::scenario::Scenario;
    use rollsim::sim::{RunOutput, Simulation};

    fn text(seed: u64, replicas: u32, lb: &str, strategy: &str, sessions: &str) -> String {
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
{sessions}"#
        )
    }

    fn run(t: &str) -> RunOutput {
        let s = Scenario::parse("p.toml", "p", t).unwrap_or_else(|e| panic!("{e:?}\n{t}"));
        Simulation::new(&s).run().expect("the run finishes")
    }

    fn sessions_table() -> impl Strategy<Value = (String, &'static str, bool)> {
        let on_loss = prop_oneof![
            Just("on_loss = \"fail\""),
            Just("on_loss = \"relogin\"\nrelogin = \"300ms\"")
        ];
        let keys = prop_oneof![
            Just(("k1", "[\"k1\"]", "k2", "[\"k2\"]", false)),
            Just(("k1", "[\"k1\", \"k2\"]", "k2", "[\"k1\", \"k2\"]", true)),
            Just(("k1", "[\"k1\"]", "k1", "[\"k1\"]", true)),
        ];
        (0u8..3, any::<bool>(), on_loss, keys, prop::option::of(5u32..30)).prop_map(
            |(store, sticky, on_loss, (s1, a1, s2, a2, safe), outage)| match store {
                0 => (
                    format!("[sessions]\nstore = \"in_memory\"\nsticky = {sticky}\n{on_loss}\n"),
                    "in_memory",
                    false,
                ),
                1 => (
                    format!(
                        "[sessions]\nstore = \"shared\"\nsticky = {sticky}\ncapacity = 4\nqueue = 8\n{}{on_loss}\n",
                        outage.map_or(String::new(), |at| format!(
                            "outage = {{ at = \"{at}s\", duration = \"3s\" }}\n"
                        ))
                    ),
                    "shared",
                    false,
                ),
                _ => (
                    format!(
                        "[sessions]\nstore = \"jwt\"\n{on_loss}\n[sessions.versions.v1]\nsigning_key = \"{s1}\"\naccept_keys = {a1}\n[sessions.versions.v2]\nsigning_key = \"{s2}\"\naccept_keys = {a2}\n"
                    ),
                    "jwt",
                    safe,
                ),
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

        /// With any session store: every arrival has one outcome, the session counters agree
        /// with the failure causes, runs are deterministic, and the requests are the same as
        /// without sessions (no draw on any existing stream).
        #[test]
        fn sessions_keep_conservation_determinism_and_common_random_numbers(
            seed in 0u64..1_000_000,
            replicas in 1u32..6,
            lb in prop_oneof![Just("kube-proxy"), Just("nginx"), Just("envoy"), Just("aws-alb")],
            strategy in prop_oneof![
                Just("strategy = \"rolling\"\nmax_surge = 1\nmax_unavailable = 0"),
                Just("strategy = \"recreate\""),
                Just("strategy = \"blue_green\"\nscale_down_delay = \"5s\""),
            ],
            (table, store, safe) in sessions_table(),
        ) {
            let with = text(seed, replicas, lb, strategy, &table);
            let a = run(&with);
            let b = run(&with);
            prop_assert_eq!(summary_json(&a), summary_json(&b));
            let r = &a.summary.requests;
            prop_assert_eq!(r.total, r.ok + r.failed);
            prop_assert_eq!(r.failed, r.failed_by_cause.values().sum::<u64>());
            let s = a.summary.sessions.clone().expect("sessions section");
            prop_assert_eq!(s.store, store);
            let session_lost = r.failed_by_cause["session_lost"];
            if store == "shared" || with.contains("on_loss = \"fail\"") {
                prop_assert_eq!(s.lost, session_lost);
            } else {
                prop_assert_eq!(session_lost, 0);
            }
            prop_assert!(s.users_logged_out <= 300 && s.users_logged_out <= s.lost);
            if store == "shared" {
                prop_assert_eq!(s.users_logged_out, 0);
            }
            if safe {
                prop_assert_eq!(s.lost, 0);
            }
            let bare = run(&text(seed, replicas, lb, strategy, ""));
            prop_assert_eq!(bare.summary.requests.total, r.total);
        }
    }
}

#[test]
fn in_memory_sessions_without_affinity_get_a_pre_flight_warning() {
    let warnings = |text: &str| -> Vec<String> {
        rollsim::scenario::Scenario::parse("s.toml", "s", text)
            .unwrap()
            .warnings
            .iter()
            .map(|w| w.to_string())
            .collect()
    };
    let w = warnings(&shipped("sessions-in-memory"));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("about 90 %") && w[0].contains("sticky = true"),
        "{w:?}"
    );
    assert!(w[0].starts_with("line "), "{w:?}");
    assert!(warnings(&shipped("sticky-sessions-rolling")).is_empty());
    assert!(warnings(&shipped("sessions-shared")).is_empty());
}
