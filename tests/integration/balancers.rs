//! Load-balancer fidelity: nginx's per-reload passive-health state, separate delays for
//! endpoint additions and removals, the AWS ALB preset (target health checks, weighted target
//! groups, deregistration delay) and the per-attempt proxy overhead. Each lesson is asserted
//! on several seeds.

use rollsim::scenario::Scenario;
use rollsim::sim::Simulation;
use serde_json::Value;

use crate::common::{f, root, u};

const SEEDS: [u64; 4] = [1, 2, 3, 42];

/// A shipped scenario's text with `edits` applied (`(from, to)` replacements, each of which
/// must match).
fn variant(name: &str, edits: &[(&str, &str)]) -> String {
    let path = root().join("scenarios").join(format!("{name}.toml"));
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{name}: no `{from}`");
        text = text.replacen(from, to, 1);
    }
    text
}

/// Runs `text` with `seed`; the summary as JSON.
fn run(text: &str, seed: u64) -> Value {
    let mut s = Scenario::parse("variant.toml", "variant", text).expect("scenario parses");
    s.seed = seed;
    serde_json::to_value(Simulation::new(&s).run().expect("the run finishes").summary).unwrap()
}

const NGINX: &str = "preset = \"nginx\"";

#[test]
fn nginx_pays_one_retry_per_reload_generation_still_routing_to_a_dying_pod() {
    let per_reload = variant("rolling-no-prestop-nginx", &[]);
    let shared = variant(
        "rolling-no-prestop-nginx",
        &[(NGINX, "preset = \"nginx\"\nhealth_scope = \"shared\"")],
    );
    let four = variant(
        "rolling-no-prestop-nginx",
        &[(NGINX, "preset = \"nginx\"\nworker_processes = 4")],
    );
    for seed in SEEDS {
        let (p, s, w) = (run(&per_reload, seed), run(&shared, seed), run(&four, seed));
        for r in [&p, &s, &w] {
            assert_eq!(u(r, &["requests", "failed"]), 0, "seed {seed}");
        }
        // Shared state: the first refusal ejects the pod for good, one retry per replaced pod.
        assert_eq!(u(&s, &["requests", "retries"]), 10, "seed {seed}");
        // Clean state at every reload: the pod is tried again by each new generation.
        let (rp, rw) = (
            u(&p, &["requests", "retries"]),
            u(&w, &["requests", "retries"]),
        );
        assert!((25..=60).contains(&rp), "seed {seed}: {rp}");
        // Each worker process learns on its own.
        assert!(rw > 3 * rp, "seed {seed}: {rw} vs {rp}");
    }
}

#[test]
fn only_the_removal_delay_lets_requests_reach_a_terminating_pod() {
    let kube = "preset = \"kube-proxy\"   # random endpoint, no retries; learns endpoint changes after 1–3 s";
    let slow_remove = variant(
        "rolling-no-prestop",
        &[(
            kube,
            "preset = \"kube-proxy\"\npropagation_delay = { add = \"0s\", remove = \"2s\" }",
        )],
    );
    let slow_add = variant(
        "rolling-no-prestop",
        &[(
            kube,
            "preset = \"kube-proxy\"\npropagation_delay = { add = \"2s\", remove = \"0s\" }",
        )],
    );
    for seed in SEEDS {
        let refused = |v: &Value| u(v, &["requests", "failed_by_cause", "connection_refused"]);
        let (r, a) = (run(&slow_remove, seed), run(&slow_add, seed));
        assert!(refused(&r) > 300, "seed {seed}: {}", refused(&r));
        assert!(refused(&a) < 5, "seed {seed}: {}", refused(&a));
    }
}

#[test]
fn a_plain_propagation_delay_reproduces_the_preset_exactly() {
    // The preset's 1–3 s written out as a value: same stream, same draws, same run.
    let kube = "preset = \"kube-proxy\"   # random endpoint, no retries; learns endpoint changes after 1–3 s";
    let plain = variant(
        "rolling-no-prestop",
        &[(kube, "preset = \"kube-proxy\"\npropagation_delay = { dist = \"uniform\", min = \"1s\", max = \"3s\" }")],
    );
    let split = variant(
        "rolling-no-prestop",
        &[(kube, "preset = \"kube-proxy\"\npropagation_delay = { add = { dist = \"uniform\", min = \"1s\", max = \"3s\" }, remove = { dist = \"uniform\", min = \"1s\", max = \"3s\" } }")],
    );
    let shipped = variant("rolling-no-prestop", &[]);
    for seed in [1, 7] {
        let base = run(&shipped, seed);
        assert_eq!(run(&plain, seed), base);
        assert_eq!(run(&split, seed), base);
    }
}

#[test]
fn blue_green_behind_an_alb_must_wait_for_the_target_health_checks() {
    let waits = variant("blue-green-alb", &[]);
    let hurries = variant(
        "blue-green-alb",
        &[(
            "\nauto_promotion_after = \"45s\"",
            "\nauto_promotion_after = \"0s\"",
        )],
    );
    for seed in SEEDS {
        let w = run(&waits, seed);
        assert_eq!(u(&w, &["requests", "failed"]), 0, "seed {seed}");
        assert_eq!(w["rollout"]["outcome"], "completed", "seed {seed}");
        // The switch happened: the new version served most of the traffic after it.
        assert!(
            u(&w, &["versions", "v2", "requests"]) > 50_000,
            "seed {seed}"
        );
        let h = run(&hurries, seed);
        let overflow = u(&h, &["requests", "failed_by_cause", "queue_full"])
            + u(&h, &["requests", "failed_by_cause", "no_endpoints"]);
        assert!(overflow > 300, "seed {seed}: {overflow}");
    }
}

#[test]
fn an_alb_never_sends_to_a_pod_its_health_check_has_not_seen_listening() {
    // No readiness probe: Kubernetes calls a pod Ready before its app listens (the classic
    // mistake behind `rolling-no-readiness`). The ALB's own check catches it.
    let kube = "preset = \"kube-proxy\"";
    let alb = variant("rolling-no-readiness", &[(kube, "preset = \"aws-alb\"")]);
    let bare = variant("rolling-no-readiness", &[]);
    for seed in [1, 2, 3] {
        let refused = |v: &Value| {
            u(
                v,
                &["versions", "v2", "failed_by_cause", "connection_refused"],
            )
        };
        let (a, b) = (run(&alb, seed), run(&bare, seed));
        assert!(refused(&b) > 100, "seed {seed}");
        assert_eq!(refused(&a), 0, "seed {seed}");
    }
}

#[test]
fn a_short_deregistration_delay_cuts_requests_still_in_flight() {
    // Slow requests (2 s) during a rolling update behind an ALB: a deleted pod is deregistered
    // while it still serves; with no deregistration delay the ALB closes those connections at
    // once, with the default 300 s they finish.
    let kube = "preset = \"kube-proxy\"";
    let edits = [
        (kube, "preset = \"aws-alb\"\nderegistration_delay = \"0s\""),
        (
            "service = { dist = \"lognormal\", mean = \"40ms\", p99 = \"200ms\" }",
            "service = \"2s\"",
        ),
        ("concurrency = 8", "concurrency = 1000"),
    ];
    let cut = variant("rolling", &edits);
    let kept = variant(
        "rolling",
        &[(kube, "preset = \"aws-alb\""), edits[1], edits[2]],
    );
    for seed in [1, 2, 3] {
        let reset = |v: &Value| u(v, &["requests", "failed_by_cause", "reset_on_shutdown"]);
        let (c, k) = (run(&cut, seed), run(&kept, seed));
        assert_eq!(reset(&k), 0, "seed {seed}");
        assert!(reset(&c) > 50, "seed {seed}: {}", reset(&c));
    }
}

#[test]
fn every_attempt_pays_the_proxy_overhead() {
    let kube = "preset = \"kube-proxy\"";
    let none = variant(
        "steady",
        &[(kube, "preset = \"kube-proxy\"\nattempt_overhead = \"0s\"")],
    );
    let two = variant(
        "steady",
        &[(kube, "preset = \"kube-proxy\"\nattempt_overhead = \"2ms\"")],
    );
    for seed in [1, 2] {
        let (a, b) = (run(&none, seed), run(&two, seed));
        assert_eq!(u(&a, &["requests", "ok"]), u(&b, &["requests", "ok"]));
        let shift = f(&b, &["latency_ms", "mean"]) - f(&a, &["latency_ms", "mean"]);
        assert!((shift - 2.0).abs() < 0.01, "seed {seed}: {shift}");
    }
}

#[test]
fn a_rolling_update_outruns_the_alb_unless_pods_wait_for_their_targets() {
    let fast = variant("rolling-alb", &[]);
    let gated = variant(
        "rolling-alb",
        &[("version = \"v1\"", "version = \"v1\"\nmin_ready = \"40s\"")],
    );
    for seed in SEEDS {
        let (hurried, g) = (run(&fast, seed), run(&gated, seed));
        let overflow = u(&hurried, &["requests", "failed_by_cause", "queue_full"]);
        assert!(overflow > 500, "seed {seed}: {overflow}");
        assert_eq!(hurried["rollout"]["outcome"], "completed");
        assert_eq!(u(&g, &["requests", "failed"]), 0, "seed {seed}");
        assert!(f(&g, &["rollout", "duration_s"]) > 90.0, "seed {seed}");
    }
}
