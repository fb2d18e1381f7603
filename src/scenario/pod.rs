//! Pod templates (with per-version overrides) and the faults a version carries.

use super::problems::{child, path, Path, Problems};
use super::raw::*;
use crate::engine::{SimDuration, SimTime};
use crate::model::{Dist, Fault, FaultKind, OnSigterm, PodSpec, ProbeSpec, WarmupSpec};

pub(super) fn pod_spec(
    pr: &mut Problems<'_>,
    p: &Path,
    base: &RawPod,
    over: Option<&RawPod>,
) -> PodSpec {
    // Field-by-field override: a version's [versions.X.pod] wins over [pod].
    macro_rules! pick {
        ($f:ident) => {
            over.and_then(|o| o.$f.clone()).or_else(|| base.$f.clone())
        };
    }
    let where_ = |f: &str| -> Path {
        if over.is_some_and(|o| field_set(o, f)) {
            child(p, f)
        } else {
            path(&["pod", f])
        }
    };
    let concurrency = pr.count(&where_("concurrency"), pick!(concurrency), 8, 1, 100_000);
    let queue = match pick!(queue) {
        None => Some(128),
        Some(RawCountOrWord::Word(w)) if w == "unbounded" => None,
        Some(RawCountOrWord::Word(w)) => {
            pr.add(
                &where_("queue"),
                format!("`queue` = \"{w}\" is not a length"),
                "give a count (0 = no queue) or \"unbounded\"",
            );
            None
        }
        Some(RawCountOrWord::Int(n)) => {
            Some(pr.count(&where_("queue"), Some(n), 128, 0, 10_000_000))
        }
    };
    let startup = pick!(startup)
        .and_then(|d| pr.dist(&where_("startup"), &d, false))
        .unwrap_or(Dist::Constant(SimDuration::from_secs(5)));
    let app_init = pick!(app_init)
        .and_then(|d| pr.dist(&where_("app_init"), &d, false))
        .unwrap_or(Dist::Constant(SimDuration::ZERO));
    let warmup = pick!(warmup).and_then(|w| {
        let wp = where_("warmup");
        if !(w.factor >= 1.0 && w.factor.is_finite()) {
            pr.add(
                &child(&wp, "factor"),
                format!("warm-up factor {} is below 1", w.factor),
                "a factor of 3 means three times slower when cold; use ≥ 1",
            );
            return None;
        }
        let duration = pr.duration(&child(&wp, "duration"), &w.duration)?;
        Some(WarmupSpec {
            factor: w.factor,
            duration,
        })
    });
    let readiness = match pick!(readiness) {
        None | Some(RawProbeOrBool::Flag(false)) => None,
        Some(RawProbeOrBool::Flag(true)) => Some(ProbeSpec {
            initial_delay: SimDuration::ZERO,
            period: SimDuration::from_secs(10),
            success_threshold: 1,
            failure_threshold: 3,
        }),
        Some(RawProbeOrBool::Probe(r)) => {
            let rp = where_("readiness");
            let period =
                pr.opt_duration(&child(&rp, "period"), &r.period, SimDuration::from_secs(10));
            if period.is_zero() {
                pr.add(
                    &child(&rp, "period"),
                    "a probe period of 0 would probe endlessly",
                    "Kubernetes' minimum periodSeconds is 1; use \"1s\" or more",
                );
            }
            Some(ProbeSpec {
                initial_delay: pr.opt_duration(
                    &child(&rp, "initial_delay"),
                    &r.initial_delay,
                    SimDuration::ZERO,
                ),
                period: period.max(SimDuration::from_millis(1)),
                success_threshold: pr.count(
                    &child(&rp, "success_threshold"),
                    r.success_threshold,
                    1,
                    1,
                    1000,
                ),
                failure_threshold: pr.count(
                    &child(&rp, "failure_threshold"),
                    r.failure_threshold,
                    3,
                    1,
                    1000,
                ),
            })
        }
    };
    let on_sigterm = match pick!(on_sigterm).as_deref() {
        None => OnSigterm::Drain,
        Some(o) => pr.keyword(
            &where_("on_sigterm"),
            o,
            "SIGTERM behaviour",
            &[
                ("drain", OnSigterm::Drain),
                ("exit", OnSigterm::Exit),
                ("ignore", OnSigterm::Ignore),
            ],
            "use \"drain\" (graceful), \"exit\" (no handler) or \"ignore\" (PID-1 shell)",
            OnSigterm::Drain,
        ),
    };
    PodSpec {
        concurrency,
        queue,
        startup,
        app_init,
        warmup,
        readiness,
        pre_stop: pr.opt_duration(&where_("pre_stop"), &pick!(pre_stop), SimDuration::ZERO),
        grace: pr.opt_duration(
            &where_("termination_grace"),
            &pick!(termination_grace),
            SimDuration::from_secs(30),
        ),
        on_sigterm,
    }
}

fn field_set(p: &RawPod, f: &str) -> bool {
    match f {
        "concurrency" => p.concurrency.is_some(),
        "queue" => p.queue.is_some(),
        "startup" => p.startup.is_some(),
        "app_init" => p.app_init.is_some(),
        "warmup" => p.warmup.is_some(),
        "readiness" => p.readiness.is_some(),
        "pre_stop" => p.pre_stop.is_some(),
        "termination_grace" => p.termination_grace.is_some(),
        "on_sigterm" => p.on_sigterm.is_some(),
        _ => false,
    }
}

pub(super) fn fault(pr: &mut Problems<'_>, p: &Path, raw: &RawFault) -> Option<Fault> {
    let allowed: &[&str] = match raw.kind.as_str() {
        "error_rate" => &["rate"],
        "latency" => &["multiplier"],
        "crash_loop" => &["after"],
        "never_ready" => &[],
        "degradation" => &["per_minute"],
        "conversion" => &["multiplier"],
        other => {
            pr.add(&child(p, "kind"), format!("unknown fault \"{other}\""), "use \"error_rate\", \"latency\", \"crash_loop\", \"never_ready\", \"degradation\" or \"conversion\"");
            return None;
        }
    };
    for (name, set) in [
        ("rate", raw.rate.is_some()),
        ("multiplier", raw.multiplier.is_some()),
        ("after", raw.after.is_some()),
        ("per_minute", raw.per_minute.is_some()),
    ] {
        if set && !allowed.contains(&name) {
            pr.add(
                &child(p, name),
                format!("`{name}` does not apply to a {} fault", raw.kind),
                format!(
                    "a {} fault takes: {}",
                    raw.kind,
                    if allowed.is_empty() {
                        "nothing but `from`".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ),
            );
        }
    }
    let missing = |pr: &mut Problems<'_>, name: &str| {
        pr.add(
            p,
            format!("a {} fault needs `{name}`", raw.kind),
            format!("add {name} = … to this fault"),
        );
    };
    let from = raw
        .from
        .as_ref()
        .and_then(|f| pr.duration(&child(p, "from"), f))
        .map(|d| SimTime::ZERO + d);
    let kind = match raw.kind.as_str() {
        "error_rate" => match raw.rate {
            None => {
                missing(pr, "rate");
                return None;
            }
            Some(r) => FaultKind::ErrorRate(pr.fraction(&child(p, "rate"), Some(r), 0.0)),
        },
        "latency" => match raw.multiplier {
            None => {
                missing(pr, "multiplier");
                return None;
            }
            Some(m) if m > 0.0 && m.is_finite() => FaultKind::Latency(m),
            Some(m) => {
                pr.add(
                    &child(p, "multiplier"),
                    format!("latency multiplier {m} must be above zero"),
                    "e.g. multiplier = 3 for three times slower",
                );
                return None;
            }
        },
        "crash_loop" => match &raw.after {
            None => {
                missing(pr, "after");
                return None;
            }
            Some(d) => FaultKind::CrashLoop(pr.dist(&child(p, "after"), d, true)?),
        },
        "never_ready" => FaultKind::NeverReady,
        "conversion" => match raw.multiplier {
            None => {
                missing(pr, "multiplier");
                return None;
            }
            Some(m) if (0.0..=1e6).contains(&m) => FaultKind::Conversion(m),
            Some(m) => {
                pr.add(
                    &child(p, "multiplier"),
                    format!("conversion multiplier {m} must be 0 or more"),
                    "e.g. multiplier = 0.7 for 30 % fewer conversions",
                );
                return None;
            }
        },
        _ => match raw.per_minute {
            None => {
                missing(pr, "per_minute");
                return None;
            }
            Some(x) if x >= 0.0 && x.is_finite() => FaultKind::Degradation(x),
            Some(x) => {
                pr.add(
                    &child(p, "per_minute"),
                    format!("degradation {x} per minute must be ≥ 0"),
                    "0.5 adds 50 % to service time per minute of uptime",
                );
                return None;
            }
        },
    };
    Some(Fault { kind, from })
}
