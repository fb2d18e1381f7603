//! Stage two: check every value and cross-field rule, then build the [`Scenario`].
//!
//! Rules copy the real systems where one exists: maxSurge and maxUnavailable follow the
//! Deployment API's validation (non-negative int or `N%`; not both zero as written;
//! maxUnavailable at most 100 %; a Recreate deployment may not carry rolling-update settings).

use super::diagnostic::{Diagnostic, Locator, ScenarioError};
use super::raw::*;
use super::{DeploymentSpec, RolloutSpec, Scenario, StrategySpec};
use crate::engine::{SimDuration, SimTime};
use crate::model::{
    ClusterSpec, Dist, Fault, FaultKind, LbPolicy, LbSpec, OnSigterm, PodSpec, ProbeSpec,
    RateProfile, TrafficSpec, UserDistribution, VersionId, VersionSpec, WarmupSpec,
};
use crate::strategy::IntOrPercent;

/// Errors collected while resolving: (key path, message, help).
struct Problems<'a> {
    loc: Locator<'a>,
    found: Vec<Diagnostic>,
}

type Path = Vec<String>;

fn path(parts: &[&str]) -> Path {
    parts.iter().map(|s| s.to_string()).collect()
}

fn child(p: &Path, key: &str) -> Path {
    let mut p = p.clone();
    p.push(key.to_string());
    p
}

impl Problems<'_> {
    fn add(&mut self, p: &Path, message: impl Into<String>, help: impl Into<String>) {
        let d = self.loc.at_path(p, message.into(), Some(help.into()));
        self.found.push(d);
    }

    fn duration(&mut self, p: &Path, raw: &RawDuration) -> Option<SimDuration> {
        let key = p.join(".");
        match raw {
            RawDuration::Secs(s) if s.is_finite() && *s >= 0.0 => {
                Some(SimDuration::from_secs_f64(*s))
            }
            RawDuration::Secs(s) => {
                self.add(p, format!("`{key}` must be a non-negative duration, not {s}"), "write seconds as a number (30) or a string with units (\"30s\", \"250ms\", \"2m\")");
                None
            }
            RawDuration::Text(t) => match humantime::parse_duration(t.trim()) {
                Ok(d) => Some(SimDuration::from_micros(
                    d.as_micros().min(u128::from(u64::MAX)) as u64,
                )),
                Err(e) => {
                    self.add(p, format!("`{key}` = \"{t}\" is not a duration ({e})"), "use units such as \"500ms\", \"30s\", \"5m\", \"1h30m\", or a number of seconds");
                    None
                }
            },
        }
    }

    fn opt_duration(
        &mut self,
        p: &Path,
        raw: &Option<RawDuration>,
        default: SimDuration,
    ) -> SimDuration {
        raw.as_ref()
            .and_then(|r| self.duration(p, r))
            .unwrap_or(default)
    }

    /// A duration that may be the word "none".
    fn duration_or_none(
        &mut self,
        p: &Path,
        raw: &Option<RawDuration>,
        default: Option<SimDuration>,
    ) -> Option<SimDuration> {
        match raw {
            None => default,
            Some(RawDuration::Text(t)) if t.trim().eq_ignore_ascii_case("none") => None,
            Some(r) => self.duration(p, r),
        }
    }

    fn dist(&mut self, p: &Path, raw: &RawDist, positive: bool) -> Option<Dist> {
        let key = p.join(".");
        match raw {
            RawDist::Fixed(d) => {
                let d = self.duration(p, d)?;
                if positive && d.is_zero() {
                    self.add(
                        p,
                        format!("`{key}` must be above zero"),
                        "give a positive duration, e.g. \"50ms\"",
                    );
                    return None;
                }
                Some(Dist::Constant(d))
            }
            RawDist::Table(t) => {
                let get = |s: &mut Self, name: &str, v: &Option<RawDuration>| -> Option<f64> {
                    match v {
                        Some(v) => s.duration(&child(p, name), v).map(|d| d.as_secs_f64()),
                        None => {
                            s.add(
                                p,
                                format!("`{key}` with dist = \"{}\" needs `{name}`", t.dist),
                                format!("add {name} = \"…\" to the table"),
                            );
                            None
                        }
                    }
                };
                let unused = |s: &mut Self, names: &[(&str, bool)]| {
                    for (n, present) in names {
                        if *present {
                            s.add(
                                &child(p, n),
                                format!("`{n}` does not apply to dist = \"{}\"", t.dist),
                                "remove it",
                            );
                        }
                    }
                };
                match t.dist.as_str() {
                    "constant" => {
                        unused(
                            self,
                            &[
                                ("mean", t.mean.is_some()),
                                ("p99", t.p99.is_some()),
                                ("min", t.min.is_some()),
                                ("max", t.max.is_some()),
                            ],
                        );
                        let v = get(self, "value", &t.value)?;
                        Some(Dist::Constant(SimDuration::from_secs_f64(v)))
                    }
                    "exponential" => {
                        unused(
                            self,
                            &[
                                ("p99", t.p99.is_some()),
                                ("min", t.min.is_some()),
                                ("max", t.max.is_some()),
                                ("value", t.value.is_some()),
                            ],
                        );
                        let mean_s = get(self, "mean", &t.mean)?;
                        if mean_s <= 0.0 {
                            self.add(
                                &child(p, "mean"),
                                "the mean of an exponential must be above zero",
                                "give a positive mean such as \"50ms\"",
                            );
                            return None;
                        }
                        Some(Dist::Exponential { mean_s })
                    }
                    "lognormal" => {
                        unused(
                            self,
                            &[
                                ("min", t.min.is_some()),
                                ("max", t.max.is_some()),
                                ("value", t.value.is_some()),
                            ],
                        );
                        let mean = get(self, "mean", &t.mean);
                        let p99 = get(self, "p99", &t.p99);
                        let (mean, p99) = (mean?, p99?);
                        match Dist::lognormal_from_mean_p99(mean, p99) {
                            Ok(d) => Some(d),
                            Err(e) => {
                                self.add(
                                    &child(p, "p99"),
                                    format!("`{key}`: {e}"),
                                    "a log-normal needs mean > 0 and mean ≤ p99 ≤ ~15 × mean",
                                );
                                None
                            }
                        }
                    }
                    "uniform" => {
                        unused(
                            self,
                            &[
                                ("mean", t.mean.is_some()),
                                ("p99", t.p99.is_some()),
                                ("value", t.value.is_some()),
                            ],
                        );
                        let min = get(self, "min", &t.min);
                        let max = get(self, "max", &t.max);
                        let (min_s, max_s) = (min?, max?);
                        if max_s < min_s {
                            self.add(
                                &child(p, "max"),
                                format!("`{key}`: max is below min"),
                                "make max ≥ min",
                            );
                            return None;
                        }
                        Some(Dist::Uniform { min_s, max_s })
                    }
                    other => {
                        self.add(
                            &child(p, "dist"),
                            format!("unknown distribution \"{other}\""),
                            "use one of \"constant\", \"exponential\", \"lognormal\", \"uniform\"",
                        );
                        None
                    }
                }
            }
        }
    }

    fn count(&mut self, p: &Path, v: Option<i64>, default: u32, min: i64, max: i64) -> u32 {
        match v {
            None => default,
            Some(n) if n < min || n > max => {
                self.add(
                    p,
                    format!("`{}` = {n} is out of range", p.join(".")),
                    format!("allowed: {min} to {max}"),
                );
                default
            }
            Some(n) => n as u32,
        }
    }

    fn fraction(&mut self, p: &Path, v: Option<f64>, default: f64) -> f64 {
        match v {
            None => default,
            Some(x) if (0.0..=1.0).contains(&x) => x,
            Some(x) => {
                self.add(
                    p,
                    format!("`{}` = {x} is not a fraction", p.join(".")),
                    "allowed: 0 to 1 (e.g. 0.001 for 0.1 %)",
                );
                default
            }
        }
    }

    fn int_or_percent(
        &mut self,
        p: &Path,
        raw: &RawIntOrPercent,
        max_percent: Option<u32>,
    ) -> Option<IntOrPercent> {
        let key = p.last().cloned().unwrap_or_default();
        let v = match raw {
            RawIntOrPercent::Int(n) if *n >= 0 && *n <= i64::from(u32::MAX) => {
                IntOrPercent::Int(*n as u32)
            }
            RawIntOrPercent::Int(n) => {
                self.add(
                    p,
                    format!("`{key}` = {n} is negative"),
                    "Kubernetes takes a non-negative count or a percent string such as \"25%\"",
                );
                return None;
            }
            RawIntOrPercent::Text(t) => {
                match t.trim().strip_suffix('%').map(|n| n.trim().parse::<u32>()) {
                    Some(Ok(n)) => IntOrPercent::Percent(n),
                    _ => {
                        self.add(p, format!("`{key}` = \"{t}\" is neither a count nor a percent"), "write a count (2) or a percent with its % sign (\"25%\"); Kubernetes rejects \"25\"");
                        return None;
                    }
                }
            }
        };
        if let (IntOrPercent::Percent(n), Some(max)) = (v, max_percent) {
            if n > max {
                self.add(
                    p,
                    format!("`{key}` = {n}% is above {max}%"),
                    format!("Kubernetes allows at most {max}% here"),
                );
                return None;
            }
        }
        Some(v)
    }

    fn version_ref(&mut self, p: &Path, name: &str, names: &[String]) -> Option<VersionId> {
        if let Some(i) = names.iter().position(|n| n == name) {
            return Some(VersionId(i as u16));
        }
        let help = match closest(name, names) {
            Some(s) => format!(
                "did you mean \"{s}\"? Defined versions: {}",
                names.join(", ")
            ),
            None => format!(
                "define it under [versions.{name}], or use one of: {}",
                names.join(", ")
            ),
        };
        self.add(p, format!("version \"{name}\" is not defined"), help);
        None
    }
}

/// The defined name nearest to `name`, if it is close enough to be a typo.
fn closest<'n>(name: &str, names: &'n [String]) -> Option<&'n str> {
    names
        .iter()
        .map(|n| (edit_distance(name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses and validates a whole scenario text.
pub(super) fn resolve(file: &str, stem: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let loc = Locator::new(file, text);
    let raw: RawScenario = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let msg = e.message().trim().to_string();
            let help = if msg.contains("unknown field") {
                "remove or correct the key; the accepted keys are listed above"
            } else if msg.contains("missing field") {
                "add the key; see the scenarios in scenarios/ for complete examples"
            } else if msg.contains("did not match any variant") {
                "check the value's type: durations are \"30s\" or a number of seconds, distributions a duration or { dist = \"…\", … }, maxSurge a count or \"25%\""
            } else {
                "fix the TOML syntax or the value's type"
            };
            return Err(ScenarioError {
                diagnostics: vec![loc.at_span(e.span(), msg, Some(help.to_string()))],
            });
        }
    };
    let mut pr = Problems {
        loc,
        found: Vec::new(),
    };
    let scenario = build(&mut pr, stem, raw);
    if pr.found.is_empty() {
        Ok(scenario.expect("no problems means a scenario"))
    } else {
        pr.found.sort_by_key(|d| (d.line, d.column));
        pr.found.dedup();
        Err(ScenarioError {
            diagnostics: pr.found,
        })
    }
}

fn pod_spec(pr: &mut Problems<'_>, p: &Path, base: &RawPod, over: Option<&RawPod>) -> PodSpec {
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
        None | Some("drain") => OnSigterm::Drain,
        Some("exit") => OnSigterm::Exit,
        Some("ignore") => OnSigterm::Ignore,
        Some(o) => {
            pr.add(
                &where_("on_sigterm"),
                format!("unknown SIGTERM behaviour \"{o}\""),
                "use \"drain\" (graceful), \"exit\" (no handler) or \"ignore\" (PID-1 shell)",
            );
            OnSigterm::Drain
        }
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

/// Load-balancer presets, named after what they model. Every value can be overridden.
fn preset(name: &str) -> Option<LbSpec> {
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

fn build(pr: &mut Problems<'_>, stem: &str, raw: RawScenario) -> Option<Scenario> {
    let duration = pr.duration(&path(&["duration"]), &raw.duration);
    if duration.is_some_and(|d| d.is_zero()) {
        pr.add(
            &path(&["duration"]),
            "the run's duration must be above zero",
            "e.g. duration = \"10m\"",
        );
    }
    let end = SimTime::ZERO + duration.unwrap_or(SimDuration::from_secs(1));
    let seed = match raw.seed {
        Some(s) if s < 0 => {
            pr.add(
                &path(&["seed"]),
                "the seed must not be negative",
                "use any whole number ≥ 0",
            );
            1
        }
        Some(s) => s as u64,
        None => 1,
    };
    let bucket = pr.opt_duration(&path(&["bucket"]), &raw.bucket, SimDuration::from_secs(1));
    if bucket < SimDuration::from_millis(1) {
        pr.add(
            &path(&["bucket"]),
            "the time-series bucket must be at least 1 ms",
            "e.g. bucket = \"1s\"",
        );
    } else if end.as_micros() / bucket.as_micros() > 10_000_000 {
        pr.add(
            &path(&["bucket"]),
            "this bucket would make more than 10 million time-series rows",
            "use a wider bucket",
        );
    }

    // traffic
    let t = &raw.traffic;
    let tp = path(&["traffic"]);
    if !(t.rate.is_finite() && t.rate >= 0.0) {
        pr.add(
            &child(&tp, "rate"),
            format!("`traffic.rate` = {} is not a rate", t.rate),
            "requests per second: a number ≥ 0",
        );
    }
    let users = pr.count(&child(&tp, "users"), t.users, 10_000, 1, 100_000_000);
    let user_distribution = match t.user_distribution.as_deref() {
        None | Some("uniform") => {
            if t.zipf_exponent.is_some() {
                pr.add(
                    &child(&tp, "zipf_exponent"),
                    "`zipf_exponent` needs user_distribution = \"zipf\"",
                    "set user_distribution = \"zipf\" or remove zipf_exponent",
                );
            }
            UserDistribution::Uniform
        }
        Some("zipf") => {
            let s = t.zipf_exponent.unwrap_or(1.0);
            if !(s > 0.0 && s.is_finite()) {
                pr.add(
                    &child(&tp, "zipf_exponent"),
                    "the Zipf exponent must be above zero",
                    "typical values are 0.8 to 1.5",
                );
            }
            UserDistribution::Zipf(s)
        }
        Some(o) => {
            pr.add(
                &child(&tp, "user_distribution"),
                format!("unknown user distribution \"{o}\""),
                "use \"uniform\" or \"zipf\"",
            );
            UserDistribution::Uniform
        }
    };
    let idempotent_share = pr.fraction(&child(&tp, "idempotent_share"), t.idempotent_share, 1.0);
    let timeout = pr.duration_or_none(
        &child(&tp, "timeout"),
        &t.timeout,
        Some(SimDuration::from_secs(10)),
    );
    if timeout.is_some_and(|d| d.is_zero()) {
        pr.add(
            &child(&tp, "timeout"),
            "a client timeout of 0 fails every request",
            "give a positive timeout or \"none\"",
        );
    }
    let profile = match &t.profile {
        None => RateProfile::Constant,
        Some(p) => profile(pr, &child(&tp, "profile"), p),
    };

    // cluster
    let cp = path(&["cluster"]);
    let cluster = ClusterSpec {
        nodes: pr.count(&child(&cp, "nodes"), raw.cluster.nodes, 10, 1, 1_000_000),
        pods_per_node: pr.count(
            &child(&cp, "pods_per_node"),
            raw.cluster.pods_per_node,
            10,
            1,
            10_000,
        ),
        cost_per_pod_hour: match raw.cluster.cost_per_pod_hour {
            None => 0.05,
            Some(c) if c >= 0.0 && c.is_finite() => c,
            Some(c) => {
                pr.add(
                    &child(&cp, "cost_per_pod_hour"),
                    format!("a price of {c} per pod-hour"),
                    "give a price ≥ 0",
                );
                0.0
            }
        },
    };

    // versions
    if raw.versions.is_empty() {
        pr.add(
            &path(&["versions"]),
            "no version is defined",
            "define at least one: [versions.v1] with service = \"50ms\"",
        );
    }
    if raw.versions.len() > 15 {
        pr.add(
            &path(&["versions"]),
            "more than 15 versions",
            "a scenario may define at most 15 versions",
        );
    }
    let names: Vec<String> = raw.versions.keys().cloned().collect();
    let mut versions = Vec::new();
    for (name, v) in &raw.versions {
        let vp = path(&["versions", name]);
        let service = pr.dist(&child(&vp, "service"), &v.service, true);
        let error_rate = pr.fraction(&child(&vp, "error_rate"), v.error_rate, 0.0);
        let pod = pod_spec(pr, &child(&vp, "pod"), &raw.pod, v.pod.as_ref());
        let faults: Vec<Fault> = v
            .faults
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, f)| fault(pr, &child(&child(&vp, "faults"), &i.to_string()), f))
            .collect();
        versions.push(VersionSpec {
            name: name.clone(),
            service: service.unwrap_or(Dist::Constant(SimDuration::from_millis(1))),
            error_rate,
            pod,
            faults: faults.clone(),
            bad: v.bad.unwrap_or(false) || !faults.is_empty(),
        });
    }

    // load balancer
    let lp = path(&["load_balancer"]);
    let l = &raw.load_balancer;
    let preset_name = l.preset.clone().unwrap_or_else(|| "kube-proxy".into());
    let mut lb = preset(&preset_name).unwrap_or_else(|| {
        pr.add(
            &child(&lp, "preset"),
            format!("unknown load-balancer preset \"{preset_name}\""),
            "use \"kube-proxy\", \"nginx\" or \"envoy\" (and override single settings beside it)",
        );
        preset("kube-proxy").expect("built-in preset")
    });
    if let Some(p) = &l.policy {
        lb.policy = match p.as_str() {
            "round_robin" => LbPolicy::RoundRobin,
            "least_request" => LbPolicy::LeastRequest,
            "random" => LbPolicy::Random,
            o => {
                pr.add(
                    &child(&lp, "policy"),
                    format!("unknown policy \"{o}\""),
                    "use \"round_robin\", \"least_request\" or \"random\"",
                );
                lb.policy
            }
        };
    }
    if let Some(d) = &l.propagation_delay {
        if let Some(d) = pr.dist(&child(&lp, "propagation_delay"), d, false) {
            lb.propagation = d;
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

    // deployment
    let dp = path(&["deployment"]);
    let d = &raw.deployment;
    let replicas = pr.count(&child(&dp, "replicas"), Some(d.replicas), 1, 0, 100_000);
    let initial = pr.version_ref(&child(&dp, "version"), &d.version, &names);
    let deployment = DeploymentSpec {
        replicas,
        initial: initial.unwrap_or(VersionId(0)),
        min_ready: pr.opt_duration(&child(&dp, "min_ready"), &d.min_ready, SimDuration::ZERO),
        progress_deadline: pr.duration_or_none(
            &child(&dp, "progress_deadline"),
            &d.progress_deadline,
            Some(SimDuration::from_secs(600)),
        ),
    };

    // rollout
    let rollout = raw.rollout.as_ref().and_then(|r| {
        let rp = path(&["rollout"]);
        let target = pr.version_ref(&child(&rp, "to"), &r.to, &names);
        if initial.is_some() && target == initial {
            pr.add(&child(&rp, "to"), format!("the rollout goes to \"{}\", the version already running", r.to), "roll out to another version defined under [versions]");
        }
        if replicas == 0 {
            pr.add(&child(&dp, "replicas"), "a rollout of 0 replicas moves nothing", "set deployment.replicas ≥ 1, or remove [rollout]");
        }
        let at = pr.duration(&child(&rp, "at"), &r.at).map(|d| SimTime::ZERO + d);
        if let (Some(at), Some(_)) = (at, duration) {
            if at >= end {
                pr.add(&child(&rp, "at"), "the rollout starts after the run ends", "start it before `duration`, or lengthen the run");
            }
        }
        let undo_at = r.undo_at.as_ref().and_then(|u| pr.duration(&child(&rp, "undo_at"), u)).map(|d| SimTime::ZERO + d);
        if let (Some(u), Some(a)) = (undo_at, at) {
            if u <= a {
                pr.add(&child(&rp, "undo_at"), "the undo comes before the rollout starts", "undo_at must be later than `at`");
            }
        }
        let strategy = match r.strategy.as_str() {
            "recreate" => {
                for (k, set) in [("max_surge", r.max_surge.is_some()), ("max_unavailable", r.max_unavailable.is_some())] {
                    if set {
                        pr.add(&child(&rp, k), format!("`{k}` does not apply to the Recreate strategy"), "Kubernetes rejects a Recreate deployment with rollingUpdate settings; remove it or use strategy = \"rolling\"");
                    }
                }
                StrategySpec::Recreate
            }
            "rolling" => {
                let surge = r.max_surge.as_ref().map_or(Some(IntOrPercent::Percent(25)), |v| pr.int_or_percent(&child(&rp, "max_surge"), v, None));
                let unavailable = r.max_unavailable.as_ref().map_or(Some(IntOrPercent::Percent(25)), |v| pr.int_or_percent(&child(&rp, "max_unavailable"), v, Some(100)));
                let (surge, unavailable) = (surge.unwrap_or(IntOrPercent::Int(1)), unavailable.unwrap_or(IntOrPercent::Int(0)));
                if surge.is_zero() && unavailable.is_zero() {
                    pr.add(&child(&rp, "max_unavailable"), "max_surge and max_unavailable are both 0: the rollout could never move", "Kubernetes rejects this (\"may not be 0 when maxSurge is 0\"); allow a surge (max_surge = 1) or some unavailability (max_unavailable = 1)");
                }
                StrategySpec::Rolling { max_surge: surge, max_unavailable: unavailable }
            }
            o => {
                pr.add(&child(&rp, "strategy"), format!("unknown strategy \"{o}\""), "use \"rolling\" (Kubernetes RollingUpdate) or \"recreate\"");
                StrategySpec::Recreate
            }
        };
        Some(RolloutSpec {
            target: target?,
            at: at?,
            strategy,
            undo_at,
            rollback_on_stall: r.rollback_on_stall.unwrap_or(false),
        })
    });

    Some(Scenario {
        name: raw.name.clone().unwrap_or_else(|| stem.to_string()),
        description: raw.description.clone(),
        seed,
        traffic: TrafficSpec {
            rate: t.rate.max(0.0),
            profile,
            users,
            user_distribution,
            idempotent_share,
            timeout,
            end,
        },
        cluster,
        versions,
        load_balancer: lb,
        deployment,
        rollout,
        metrics_bucket: bucket.max(SimDuration::from_millis(1)),
    })
}

fn fault(pr: &mut Problems<'_>, p: &Path, raw: &RawFault) -> Option<Fault> {
    let allowed: &[&str] = match raw.kind.as_str() {
        "error_rate" => &["rate"],
        "latency" => &["multiplier"],
        "crash_loop" => &["after"],
        "never_ready" => &[],
        "degradation" => &["per_minute"],
        other => {
            pr.add(&child(p, "kind"), format!("unknown fault \"{other}\""), "use \"error_rate\", \"latency\", \"crash_loop\", \"never_ready\" or \"degradation\"");
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

fn profile(pr: &mut Problems<'_>, p: &Path, raw: &RawProfile) -> RateProfile {
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
    use super::*;

    const BASE: &str = r#"
duration = "1m"
[traffic]
rate = 10
[versions.v1]
service = "50ms"
[versions.v2]
service = { dist = "exponential", mean = "40ms" }
[deployment]
replicas = 3
version = "v1"
"#;

    fn errors(extra: &str) -> Vec<Diagnostic> {
        let text = format!("{BASE}{extra}");
        match resolve("s.toml", "s", &text) {
            Ok(_) => vec![],
            Err(e) => e.diagnostics,
        }
    }

    #[test]
    fn a_minimal_scenario_resolves_with_kubernetes_defaults() {
        let s = resolve("s.toml", "s", BASE).unwrap();
        assert_eq!(s.name, "s");
        assert_eq!(
            s.deployment.progress_deadline,
            Some(SimDuration::from_secs(600))
        );
        assert_eq!(s.load_balancer.preset, "kube-proxy");
        assert!(s.rollout.is_none());
    }

    #[test]
    fn both_zero_is_rejected_at_the_right_line() {
        let e = errors("[rollout]\nto = \"v2\"\nat = \"10s\"\nstrategy = \"rolling\"\nmax_surge = 0\nmax_unavailable = \"0%\"\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].message.contains("both 0"));
        assert_eq!(e[0].source_line, "max_unavailable = \"0%\"");
        assert_eq!(e[0].column, 19);
    }

    #[test]
    fn unknown_versions_get_a_suggestion() {
        let e = errors("[rollout]\nto = \"v3\"\nat = \"10s\"\nstrategy = \"rolling\"\n");
        assert!(e[0].message.contains("\"v3\" is not defined"));
        assert!(e[0].help.as_deref().unwrap().contains("did you mean"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = errors("[rollout]\nto = \"v2\"\nat = \"ten seconds\"\nstrategy = \"rolling\"\nmax_surge = \"25\"\n");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].message.contains("is not a duration"));
        assert!(e[1].message.contains("neither a count nor a percent"));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_syntax_errors_with_positions() {
        let e =
            errors("[rollout]\nto = \"v2\"\nat = \"10s\"\nstrategy = \"rolling\"\nmax_surg = 1\n");
        assert!(e[0].message.contains("unknown field"), "{e:?}");
        assert!(e[0].line > 0);
        let text = BASE.replace("rate = 10", "rate = \"fast\"");
        let e = resolve("s.toml", "s", &text).unwrap_err().diagnostics;
        assert_eq!(e[0].source_line, "rate = \"fast\"");
    }

    #[test]
    fn negative_rates_and_recreate_with_surge_are_rejected() {
        let text = BASE.replace("rate = 10", "rate = -1");
        assert!(resolve("s.toml", "s", &text).is_err());
        let e = errors(
            "[rollout]\nto = \"v2\"\nat = \"10s\"\nstrategy = \"recreate\"\nmax_surge = 1\n",
        );
        assert!(e[0].message.contains("does not apply to the Recreate"));
    }

    #[test]
    fn edit_distance_finds_typos() {
        assert_eq!(closest("v3", &["v1".into(), "v2".into()]), Some("v1"));
        assert_eq!(closest("canary", &["stable".into()]), None);
    }
}
