//! Traffic rate profiles and load-balancer presets.

use super::problems::{child, path, Path, Problems};
use super::raw::*;
use crate::engine::{SimDuration, SimTime};
use crate::model::{
    Dist, HealthScope, LbPolicy, LbSpec, Propagation, RateProfile, TargetHealthCheck,
};

/// Load-balancer presets, named after what they model. Every value can be overridden.
pub(super) fn preset(name: &str) -> Option<LbSpec> {
    let secs = |a: f64, b: f64| Propagation::both(Dist::Uniform { min_s: a, max_s: b });
    let base = |policy, propagation| LbSpec {
        preset: name.into(),
        policy,
        propagation,
        retries: 0,
        retry_on_reset: false,
        retry_non_idempotent: false,
        max_fails: 0,
        fail_window: SimDuration::from_secs(10),
        ejection: SimDuration::from_secs(10),
        max_ejection_percent: 100,
        health_scope: HealthScope::Shared,
        workers: 1,
        reload_overlap: SimDuration::ZERO,
        attempt_overhead: SimDuration::ZERO,
        health_check: None,
        deregistration_delay: None,
        slow_start: SimDuration::ZERO,
    };
    Some(match name {
        // A Kubernetes Service in iptables mode: a random endpoint per connection, no retry,
        // no health checking; kube-proxy applies EndpointSlice changes within its sync period.
        // No proxy hop: the kernel rewrites the destination, so an attempt costs the in-cluster
        // TCP connect (one round trip, ~0.2 ms).
        "kube-proxy" => LbSpec {
            attempt_overhead: SimDuration::from_micros(200),
            ..base(LbPolicy::Random, secs(1.0, 3.0))
        },
        // Open-source nginx upstream defaults: round robin; `proxy_next_upstream error timeout`
        // with `proxy_next_upstream_tries 0` (every server once); non-idempotent requests are
        // not retried once sent; `max_fails=1 fail_timeout=10s`. An endpoint change is a
        // configuration reload: new workers with clean `max_fails` state, the old ones
        // accepting for 100 ms more (`ngx_master_process_cycle`, see `model/lb/generation.rs`);
        // `worker_processes 1` (nginx's default). An attempt costs a fresh upstream connection
        // (no upstream keep-alive by default) plus the proxy hop, ~0.5 ms.
        "nginx" => LbSpec {
            retries: u32::MAX,
            retry_on_reset: true,
            max_fails: 1,
            health_scope: HealthScope::PerReload,
            reload_overlap: SimDuration::from_millis(100),
            attempt_overhead: SimDuration::from_micros(500),
            ..base(LbPolicy::RoundRobin, secs(1.0, 3.0))
        },
        // Envoy as an Istio sidecar ships: LEAST_REQUEST (power of two choices); Istio's default
        // retry policy (2 retries on connect-failure, refused-stream, unavailable; not on a
        // reset after the request was sent); outlier detection with Envoy's field defaults
        // (5 consecutive errors, 30 s base ejection, at most 10 % ejected); xDS push latency.
        // Istio's published benchmark (1.12, telemetry v2) puts the client and server sidecars
        // at 1.7 ms added to p90: ~1 ms per attempt through both.
        "envoy" => LbSpec {
            retries: 2,
            max_fails: 5,
            ejection: SimDuration::from_secs(30),
            max_ejection_percent: 10,
            attempt_overhead: SimDuration::from_millis(1),
            ..base(LbPolicy::LeastRequest, secs(0.5, 2.0))
        },
        // An AWS Application Load Balancer in front of the pods (AWS Load Balancer Controller,
        // `target-type: ip`), defaults from the ALB user guide (`../shared/reference/state.md`
        // §5.2): round robin; no retry to another target (a refused connection is a 502);
        // a registered target waits for one passing health check (every 30 s; 5 passes bring
        // an unhealthy one back, 2 failures take it out); deregistration drains for 300 s; slow
        // start off. The controller's registration and deregistration through the AWS API take
        // a few seconds each (undocumented; 1–5 s assumed). The hop through the ALB, ~1 ms
        // (unverified).
        "aws-alb" => LbSpec {
            health_check: Some(alb_health_check()),
            deregistration_delay: Some(SimDuration::from_secs(300)),
            attempt_overhead: SimDuration::from_millis(1),
            ..base(LbPolicy::RoundRobin, secs(1.0, 5.0))
        },
        _ => return None,
    })
}

/// The preset names, for messages.
pub(super) const PRESETS: &str = "\"kube-proxy\", \"nginx\", \"envoy\" or \"aws-alb\"";

/// `[load_balancer]`: the preset, then each override checked where it is written.
pub(super) fn load_balancer(pr: &mut Problems<'_>, l: &RawLoadBalancer) -> LbSpec {
    let lp = path(&["load_balancer"]);
    let preset_name = l.preset.clone().unwrap_or_else(|| "kube-proxy".into());
    let mut lb = preset(&preset_name).unwrap_or_else(|| {
        pr.add(
            &child(&lp, "preset"),
            format!("unknown load-balancer preset \"{preset_name}\""),
            format!("use {PRESETS} (and override single settings beside it)"),
        );
        preset("kube-proxy").expect("built-in preset")
    });
    if let Some(p) = &l.policy {
        lb.policy = pr.keyword(
            &child(&lp, "policy"),
            p,
            "policy",
            &[
                ("round_robin", LbPolicy::RoundRobin),
                ("least_request", LbPolicy::LeastRequest),
                ("random", LbPolicy::Random),
            ],
            "use \"round_robin\", \"least_request\" or \"random\"",
            lb.policy,
        );
    }
    let pp = child(&lp, "propagation_delay");
    match &l.propagation_delay {
        None => {}
        Some(RawPropagation::Both(d)) => {
            if let Some(d) = pr.dist(&pp, d, false) {
                lb.propagation = Propagation::both(d);
            }
        }
        Some(RawPropagation::Split(split)) => {
            if let Some(d) = split
                .add
                .as_ref()
                .and_then(|d| pr.dist(&child(&pp, "add"), d, false))
            {
                lb.propagation.add = d;
            }
            if let Some(d) = split
                .remove
                .as_ref()
                .and_then(|d| pr.dist(&child(&pp, "remove"), d, false))
            {
                lb.propagation.remove = d;
            }
        }
    }
    if l.retries.is_some() {
        lb.retries = pr.count(&child(&lp, "retries"), l.retries, 0, 0, 1000);
    }
    lb.retry_on_reset = l.retry_on_reset.unwrap_or(lb.retry_on_reset);
    lb.retry_non_idempotent = l.retry_non_idempotent.unwrap_or(lb.retry_non_idempotent);
    if l.max_fails.is_some() {
        lb.max_fails = pr.count(&child(&lp, "max_fails"), l.max_fails, 0, 0, 1000);
    }
    lb.fail_window = pr.opt_duration(&child(&lp, "fail_timeout"), &l.fail_timeout, lb.fail_window);
    lb.ejection = pr.opt_duration(&child(&lp, "ejection"), &l.ejection, lb.ejection);
    if l.max_ejection_percent.is_some() {
        lb.max_ejection_percent = pr.count(
            &child(&lp, "max_ejection_percent"),
            l.max_ejection_percent,
            10,
            0,
            100,
        );
    }
    if let Some(scope) = &l.health_scope {
        lb.health_scope = pr.keyword(
            &child(&lp, "health_scope"),
            scope,
            "health scope",
            &[
                ("shared", HealthScope::Shared),
                ("per_reload", HealthScope::PerReload),
            ],
            "use \"per_reload\" (nginx: clean failure counts at every reload) or \"shared\" (Envoy)",
            lb.health_scope,
        );
    }
    let wp = child(&lp, "worker_processes");
    lb.workers = pr.count(&wp, l.worker_processes, lb.workers, 1, 64);
    if l.worker_processes.is_some_and(|w| w > 1) && lb.health_scope == HealthScope::Shared {
        pr.add(
            &wp,
            "`worker_processes` only matters with health_scope = \"per_reload\"",
            "set health_scope = \"per_reload\" or remove worker_processes",
        );
    }
    lb.reload_overlap = pr.opt_duration(
        &child(&lp, "reload_overlap"),
        &l.reload_overlap,
        lb.reload_overlap,
    );
    let op = child(&lp, "attempt_overhead");
    lb.attempt_overhead = pr.opt_duration(&op, &l.attempt_overhead, lb.attempt_overhead);
    if lb.attempt_overhead > SimDuration::from_secs(1) {
        pr.add(
            &op,
            "an attempt overhead above 1 s is not a proxy hop",
            "typical values are \"0.2ms\" to \"2ms\"; model slow service with `service`",
        );
    }
    let hp = child(&lp, "health_check");
    match &l.health_check {
        None => {}
        Some(RawHealthCheckOrBool::Flag(false)) => lb.health_check = None,
        Some(RawHealthCheckOrBool::Flag(true)) => {
            lb.health_check.get_or_insert_with(alb_health_check);
        }
        Some(RawHealthCheckOrBool::Table(t)) => {
            let mut hc = lb.health_check.clone().unwrap_or_else(alb_health_check);
            let ip = child(&hp, "interval");
            hc.interval = pr.opt_duration(&ip, &t.interval, hc.interval);
            if hc.interval < SimDuration::from_secs(1) {
                pr.add(
                    &ip,
                    "a health-check interval must be at least 1 s",
                    "AWS allows 5 s to 300 s (default 30 s); rollsim takes 1 s and above",
                );
                hc.interval = SimDuration::from_secs(1);
            }
            hc.healthy_threshold = pr.count(
                &child(&hp, "healthy_threshold"),
                t.healthy_threshold,
                hc.healthy_threshold,
                1,
                10,
            );
            hc.unhealthy_threshold = pr.count(
                &child(&hp, "unhealthy_threshold"),
                t.unhealthy_threshold,
                hc.unhealthy_threshold,
                1,
                10,
            );
            lb.health_check = Some(hc);
        }
    }
    lb.deregistration_delay = pr.duration_or_none(
        &child(&lp, "deregistration_delay"),
        &l.deregistration_delay,
        lb.deregistration_delay,
    );
    lb.slow_start = pr.opt_duration(&child(&lp, "slow_start"), &l.slow_start, lb.slow_start);
    if !lb.slow_start.is_zero() && lb.health_check.is_none() {
        pr.add(
            &child(&lp, "slow_start"),
            "`slow_start` needs target health checks: it ramps a target up from its first passing check",
            "use it with health checks (preset = \"aws-alb\" or a `health_check` table)",
        );
    }
    lb
}

/// The ALB's health-check defaults (`target-group-health-checks.md`).
fn alb_health_check() -> TargetHealthCheck {
    TargetHealthCheck {
        interval: SimDuration::from_secs(30),
        healthy_threshold: 5,
        unhealthy_threshold: 2,
    }
}

pub(super) fn profile(pr: &mut Problems<'_>, p: &Path, raw: &RawProfile) -> RateProfile {
    let need = |pr: &mut Problems<'_>, name: &str, present: bool| {
        if !present {
            pr.add(
                p,
                format!("a \"{}\" profile needs `{name}`", raw.kind),
                format!("add {name} to [traffic.profile]"),
            );
        }
        present
    };
    match raw.kind.as_str() {
        "constant" => RateProfile::Constant,
        "steps" => {
            let mut steps = Vec::new();
            if need(pr, "steps", raw.steps.is_some()) {
                for (i, s) in raw.steps.iter().flatten().enumerate() {
                    let sp = child(&child(p, "steps"), &i.to_string());
                    let at = pr.duration(&child(&sp, "at"), &s.at).unwrap_or_default();
                    if !(s.rate >= 0.0 && s.rate.is_finite()) {
                        pr.add(
                            &child(&sp, "rate"),
                            format!("rate {} is not a rate", s.rate),
                            "requests per second ≥ 0",
                        );
                    }
                    if steps
                        .last()
                        .is_some_and(|(prev, _)| *prev > SimTime::ZERO + at)
                    {
                        pr.add(
                            &child(&sp, "at"),
                            "steps must be in time order",
                            "sort the steps by `at`",
                        );
                    }
                    steps.push((SimTime::ZERO + at, s.rate.max(0.0)));
                }
            }
            RateProfile::Steps(steps)
        }
        "spike" => {
            let at = raw
                .at
                .as_ref()
                .and_then(|a| pr.duration(&child(p, "at"), a));
            let duration = raw
                .duration
                .as_ref()
                .and_then(|a| pr.duration(&child(p, "duration"), a));
            need(pr, "at", raw.at.is_some());
            need(pr, "duration", raw.duration.is_some());
            let multiplier = raw.multiplier.unwrap_or(2.0);
            if !(multiplier >= 0.0 && multiplier.is_finite()) {
                pr.add(
                    &child(p, "multiplier"),
                    "the spike multiplier must be ≥ 0",
                    "e.g. multiplier = 3",
                );
            }
            RateProfile::Spike {
                at: SimTime::ZERO + at.unwrap_or_default(),
                duration: duration.unwrap_or_default(),
                multiplier: multiplier.max(0.0),
            }
        }
        "diurnal" => {
            let period = raw
                .period
                .as_ref()
                .and_then(|a| pr.duration(&child(p, "period"), a))
                .unwrap_or(SimDuration::from_secs(86_400));
            if period.is_zero() {
                pr.add(
                    &child(p, "period"),
                    "a diurnal period must be above zero",
                    "e.g. period = \"24h\"",
                );
            }
            let amplitude = raw.amplitude.unwrap_or(0.5);
            if !(0.0..=1.0).contains(&amplitude) {
                pr.add(
                    &child(p, "amplitude"),
                    "the amplitude must be between 0 and 1",
                    "0.5 swings the rate between 50 % and 150 % of `rate`",
                );
            }
            RateProfile::Diurnal {
                period: period.max(SimDuration::from_secs(1)),
                amplitude: amplitude.clamp(0.0, 1.0),
                peak_at: SimTime::ZERO
                    + raw
                        .peak_at
                        .as_ref()
                        .and_then(|a| pr.duration(&child(p, "peak_at"), a))
                        .unwrap_or_default(),
            }
        }
        o => {
            pr.add(
                &child(p, "kind"),
                format!("unknown rate profile \"{o}\""),
                "use \"constant\", \"steps\", \"spike\" or \"diurnal\"",
            );
            RateProfile::Constant
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::resolve::resolve;
    use super::*;

    const BASE: &str = r#"
duration = "1m"
[traffic]
rate = 10
[versions.v1]
service = "50ms"
[deployment]
replicas = 3
version = "v1"
"#;

    fn lb(extra: &str) -> Result<LbSpec, Vec<String>> {
        let text = format!("{BASE}[load_balancer]\n{extra}");
        resolve("s.toml", "s", &text)
            .map(|s| s.load_balancer)
            .map_err(|e| e.diagnostics.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn a_plain_propagation_delay_means_both_directions() {
        let l = lb("propagation_delay = \"2s\"").unwrap();
        let two = Dist::Constant(SimDuration::from_secs(2));
        assert_eq!(l.propagation, Propagation::both(two));
    }

    #[test]
    fn additions_and_removals_take_their_own_delays() {
        let l = lb("preset = \"envoy\"\npropagation_delay = { add = \"5s\", remove = { dist = \"uniform\", min = \"1s\", max = \"2s\" } }").unwrap();
        assert_eq!(l.propagation.add, Dist::Constant(SimDuration::from_secs(5)));
        assert_eq!(
            l.propagation.remove,
            Dist::Uniform {
                min_s: 1.0,
                max_s: 2.0
            }
        );
        // One side alone keeps the preset's other side.
        let l = lb("preset = \"envoy\"\npropagation_delay = { remove = \"0s\" }").unwrap();
        assert_eq!(
            l.propagation.add,
            Dist::Uniform {
                min_s: 0.5,
                max_s: 2.0
            }
        );
        assert_eq!(l.propagation.remove, Dist::Constant(SimDuration::ZERO));
    }

    #[test]
    fn presets_set_their_health_scope_overhead_and_target_checks() {
        let nginx = lb("preset = \"nginx\"").unwrap();
        assert_eq!(nginx.health_scope, HealthScope::PerReload);
        assert_eq!(nginx.reload_overlap, SimDuration::from_millis(100));
        assert_eq!(nginx.attempt_overhead, SimDuration::from_micros(500));
        let envoy = lb("preset = \"envoy\"").unwrap();
        assert_eq!(envoy.health_scope, HealthScope::Shared);
        let alb = lb("preset = \"aws-alb\"").unwrap();
        assert_eq!(alb.health_check, Some(alb_health_check()));
        assert_eq!(alb.deregistration_delay, Some(SimDuration::from_secs(300)));
        assert!(alb.slow_start.is_zero());
        assert_eq!(alb.retries, 0);
        let tuned = lb("preset = \"aws-alb\"\nhealth_check = { interval = \"10s\", healthy_threshold = 3 }\nderegistration_delay = \"none\"\nslow_start = \"30s\"").unwrap();
        let hc = tuned.health_check.unwrap();
        assert_eq!(hc.interval, SimDuration::from_secs(10));
        assert_eq!((hc.healthy_threshold, hc.unhealthy_threshold), (3, 2));
        assert_eq!(tuned.deregistration_delay, None);
        assert_eq!(tuned.slow_start, SimDuration::from_secs(30));
        let nginx_zone = lb("preset = \"nginx\"\nworker_processes = 4\nhealth_scope = \"shared\"");
        assert!(nginx_zone.is_err());
        assert!(lb("preset = \"aws-alb\"\nhealth_check = false")
            .unwrap()
            .health_check
            .is_none());
    }

    #[test]
    fn bad_balancer_values_are_named() {
        let e = lb("health_scope = \"global\"").unwrap_err();
        assert!(e[0].contains("unknown health scope"), "{e:?}");
        let e = lb("preset = \"alb\"").unwrap_err();
        assert!(e[0].contains("unknown load-balancer preset"), "{e:?}");
        let e = lb("slow_start = \"30s\"").unwrap_err();
        assert!(
            e[0].contains("`slow_start` needs target health checks"),
            "{e:?}"
        );
        let e = lb("preset = \"aws-alb\"\nhealth_check = { interval = \"0s\" }").unwrap_err();
        assert!(e[0].contains("at least 1 s"), "{e:?}");
        let e = lb("attempt_overhead = \"2s\"").unwrap_err();
        assert!(e[0].contains("not a proxy hop"), "{e:?}");
    }

    #[test]
    fn keyword_settings_take_each_word_and_name_an_unknown_one() {
        assert_eq!(lb("policy = \"random\"").unwrap().policy, LbPolicy::Random);
        assert_eq!(
            lb("policy = \"least_request\"").unwrap().policy,
            LbPolicy::LeastRequest
        );
        assert_eq!(
            lb("health_scope = \"per_reload\"").unwrap().health_scope,
            HealthScope::PerReload
        );
        let e = lb("policy = \"fastest\"").unwrap_err();
        assert_eq!(e, ["unknown policy \"fastest\""]);
    }
}
