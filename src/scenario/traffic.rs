//! Traffic rate profiles and load-balancer presets.

use super::problems::{child, Path, Problems};
use super::raw::*;
use crate::engine::{SimDuration, SimTime};
use crate::model::{Dist, LbPolicy, LbSpec, RateProfile};

/// Load-balancer presets, named after what they model. Every value can be overridden.
pub(super) fn preset(name: &str) -> Option<LbSpec> {
    let secs = |a: f64, b: f64| Dist::Uniform { min_s: a, max_s: b };
    Some(match name {
        // A Kubernetes Service in iptables mode: a random endpoint per connection, no retry,
        // no health checking; kube-proxy applies EndpointSlice changes within its sync period.
        "kube-proxy" => LbSpec {
            preset: name.into(),
            policy: LbPolicy::Random,
            propagation: secs(1.0, 3.0),
            retries: 0,
            retry_on_reset: false,
            retry_non_idempotent: false,
            max_fails: 0,
            fail_window: SimDuration::from_secs(10),
            ejection: SimDuration::from_secs(10),
            max_ejection_percent: 100,
        },
        // Open-source nginx upstream defaults: round robin; `proxy_next_upstream error timeout`
        // with `proxy_next_upstream_tries 0` (every server once); non-idempotent requests are
        // not retried once sent; `max_fails=1 fail_timeout=10s`.
        "nginx" => LbSpec {
            preset: name.into(),
            policy: LbPolicy::RoundRobin,
            propagation: secs(1.0, 3.0),
            retries: u32::MAX,
            retry_on_reset: true,
            retry_non_idempotent: false,
            max_fails: 1,
            fail_window: SimDuration::from_secs(10),
            ejection: SimDuration::from_secs(10),
            max_ejection_percent: 100,
        },
        // Envoy as an Istio sidecar ships: LEAST_REQUEST (power of two choices); Istio's default
        // retry policy (2 retries on connect-failure, refused-stream, unavailable; not on a
        // reset after the request was sent); outlier detection with Envoy's field defaults
        // (5 consecutive errors, 30 s base ejection, at most 10 % ejected); xDS push latency.
        "envoy" => LbSpec {
            preset: name.into(),
            policy: LbPolicy::LeastRequest,
            propagation: secs(0.5, 2.0),
            retries: 2,
            retry_on_reset: false,
            retry_non_idempotent: false,
            max_fails: 5,
            fail_window: SimDuration::from_secs(10),
            ejection: SimDuration::from_secs(30),
            max_ejection_percent: 10,
        },
        _ => return None,
    })
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
