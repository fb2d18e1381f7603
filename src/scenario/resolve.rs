//! Stage two: check every value and cross-field rule, then build the [`Scenario`].
//!
//! Rules copy the real systems where one exists: maxSurge and maxUnavailable follow the
//! Deployment API's validation (non-negative int or `N%`; not both zero as written;
//! maxUnavailable at most 100 %; a Recreate deployment may not carry rolling-update settings).

use super::diagnostic::ScenarioError;
use super::parse::{deserialize_checked, parse_text};
use super::pod::{fault, pod_spec};
use super::problems::{child, path, Problems};
use super::raw::*;
use super::rollout::{rollout, RolloutContext};
use super::traffic::{load_balancer, profile};
use super::warnings::warnings;
use super::{DeploymentSpec, Scenario};
use crate::engine::{SimDuration, SimTime};
use crate::model::{
    Dist, Fault, RateProfile, TrafficSpec, UserDistribution, VersionId, VersionSpec,
};

/// Parses and validates a whole scenario text.
pub(super) fn resolve(file: &str, stem: &str, text: &str) -> Result<Scenario, ScenarioError> {
    resolve_with(file, stem, text, &[])
}

/// [`resolve`], with manifest files (`run --manifest`) added to those the text names.
pub(super) fn resolve_with(
    file: &str,
    stem: &str,
    text: &str,
    manifests: &[std::path::PathBuf],
) -> Result<Scenario, ScenarioError> {
    let err = |diagnostics| ScenarioError { diagnostics };
    let prepared = super::manifests::prepare(file, text, manifests).map_err(err)?;
    let generated = prepared.as_ref().map(|p| p.toml.as_str());
    let mut loc = parse_text(file, text, generated).map_err(err)?;
    // A file's `[[variant]]` tables are set aside: this is the base scenario.
    let aside = super::variant::set_aside(&mut loc.doc);
    let extra = super::variant::base_warning(&loc, aside.as_ref());
    let (raw, loc) = deserialize_checked(loc).map_err(err)?;
    let result = resolve_parsed(stem, &raw, loc);
    result
        .map_err(|e| manifest_problems(e, text, prepared.as_ref()))
        .map(|mut s| {
            // A warning about a value the manifests supplied has no line in the scenario file.
            if prepared.is_some() {
                let lines = text.lines().count();
                for w in s.warnings.iter_mut().filter(|w| w.line > lines) {
                    (w.line, w.column) = (0, 0);
                    w.message = format!(
                        "{} (a value read from the manifest: see `rollsim explain`)",
                        w.message
                    );
                }
            }
            s.warnings.extend(extra);
            s.manifest = prepared.map(|p| (p.reading, p.version));
            s
        })
}

/// A problem with a value the manifests supplied has no place in the scenario file: it is
/// placed in the manifests instead (their own reading is shown by `rollsim explain`).
pub(super) fn manifest_problems(
    mut e: ScenarioError,
    text: &str,
    prepared: Option<&super::manifests::Prepared>,
) -> ScenarioError {
    if let Some(p) = prepared {
        let lines = text.lines().count();
        for d in e.diagnostics.iter_mut().filter(|d| d.line > lines) {
            d.file = p.reading.files.join(", ");
            d.message = format!(
                "{} (a value read from the manifest: see `rollsim explain`)",
                d.message
            );
            (d.line, d.column, d.width) = (0, 0, 0);
            d.source_line.clear();
        }
    }
    e
}

/// Validates deserialised `raw`, whose parse `loc` places its problems and warnings.
pub(super) fn resolve_parsed(
    stem: &str,
    raw: &RawScenario,
    loc: super::diagnostic::Locator<'_>,
) -> Result<Scenario, ScenarioError> {
    let mut pr = Problems {
        loc,
        found: Vec::new(),
    };
    let scenario = build(&mut pr, stem, raw);
    if pr.found.is_empty() {
        let mut scenario = scenario.expect("no problems means a scenario");
        scenario.warnings = warnings(&pr.loc, raw, &scenario);
        Ok(scenario)
    } else {
        pr.found.sort_by_key(|d| (d.line, d.column));
        pr.found.dedup();
        Err(ScenarioError {
            diagnostics: pr.found,
        })
    }
}

fn build(pr: &mut Problems<'_>, stem: &str, raw: &RawScenario) -> Option<Scenario> {
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
    } else if end.as_micros() / bucket.as_micros() > 1_000_000 {
        pr.add(
            &path(&["bucket"]),
            "this bucket would make more than a million time-series rows",
            "use a wider bucket (rows = duration / bucket, per version)",
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
    let cluster = super::cluster::cluster(pr, raw);

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
        let conversion_rate = v
            .conversion_rate
            .map(|c| pr.fraction(&child(&vp, "conversion_rate"), Some(c), 0.0));
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
            conversion_rate,
            pod,
            faults: faults.clone(),
            bad: v.bad.unwrap_or(false) || !faults.is_empty(),
        });
    }

    // load balancer
    let lb = load_balancer(pr, &raw.load_balancer);

    // deployment
    let dp = path(&["deployment"]);
    let d = &raw.deployment;
    let replicas = pr.count(&child(&dp, "replicas"), Some(d.replicas), 1, 0, 100_000);
    // Worker slots are allocated per pod: bound their total so no input exhausts memory.
    let max_pods = u64::from(replicas.saturating_mul(3))
        .min(cluster.capacity())
        .max(1);
    for v in &versions {
        if u64::from(v.pod.concurrency) * max_pods > 20_000_000 {
            pr.add(
                &path(&["pod", "concurrency"]),
                format!("{} pods × concurrency {} is over 20 million worker slots", max_pods, v.pod.concurrency),
                "lower the concurrency or the replicas; a simulated pod with thousands of workers is better modelled as several pods",
            );
            break;
        }
    }
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
    let mut rollout = raw.rollout.as_ref().and_then(|r| {
        let ctx = RolloutContext {
            names: &names,
            initial,
            replicas,
            end: duration.map(|_| end),
            with_steps: !raw.steps.is_empty(),
        };
        rollout(pr, r, &ctx)
    });

    let flag = raw
        .flag
        .as_ref()
        .and_then(|f| super::flag::flag(pr, f, &names, users));
    let sessions = raw
        .sessions
        .as_ref()
        .and_then(|s| super::sessions::sessions(pr, s, &names));
    let connections = raw
        .connections
        .as_ref()
        .and_then(|c| super::connections::connections(pr, c));

    let database = raw
        .database
        .as_ref()
        .and_then(|d| super::database::database(pr, d, &names));
    let steps = super::steps::steps(pr, raw, &names, initial, database.as_ref());
    // With steps, `rollout` stands for the first deployment (plan, warnings, exposure).
    if let Some(r) = rollout.as_mut() {
        if let Some((v, at)) = steps.iter().find_map(|s| match s.kind {
            super::StepKind::Deploy(v) => Some((v, s.at)),
            _ => None,
        }) {
            r.target = v;
            r.at = at.unwrap_or(SimTime::ZERO);
        }
    }

    if let Some(name) = &raw.name {
        if let Err(why) = check_name(name) {
            pr.add(
                &path(&["name"]),
                format!("`name` = {name:?} {why}"),
                "a scenario name names the output folder outputs/<name>: use letters, digits, '-', '_' and '.', e.g. name = \"rolling-fast\"",
            );
        }
    }

    let mut scenario = Scenario {
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
        flag,
        sessions,
        database,
        connections,
        steps,
        metrics_bucket: bucket.max(SimDuration::from_millis(1)),
        warnings: Vec::new(),
        expect: None,
        manifest: None,
    };
    scenario.expect = raw
        .expect
        .as_ref()
        .and_then(|e| super::expect::expectations(pr, e, &scenario));
    Some(scenario)
}

/// A scenario's `name` becomes the folder `outputs/<name>`: it must be a name, not a path, so
/// a scenario file can never make `run` write outside `outputs/`.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        Err("is empty")
    } else if name.contains(['/', '\\']) {
        Err("contains a path separator")
    } else if name.contains("..") || name == "." {
        Err("would leave the outputs folder")
    } else if name.chars().any(char::is_control) {
        Err("contains a control character")
    } else if name.contains(':') {
        Err("contains ':' (a drive or stream on Windows)")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::diagnostic::Diagnostic;
    use super::super::problems::closest;
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
    fn an_unknown_sigterm_behaviour_is_named_with_the_three_choices() {
        let e = errors("[pod]\non_sigterm = \"kill\"\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].message, "unknown SIGTERM behaviour \"kill\"");
        assert_eq!(
            e[0].help.as_deref(),
            Some("use \"drain\" (graceful), \"exit\" (no handler) or \"ignore\" (PID-1 shell)")
        );
        let s = resolve(
            "s.toml",
            "s",
            &format!("{BASE}[pod]\non_sigterm = \"ignore\"\n"),
        )
        .unwrap();
        assert_eq!(
            s.versions[0].pod.on_sigterm,
            crate::model::OnSigterm::Ignore
        );
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
        assert!(e[0].message.contains("unknown key `max_surg`"), "{e:?}");
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
    fn a_name_is_a_name_not_a_path() {
        for bad in [
            "../../x", "/etc/x", "a/b", "a\\b", "..", ".", "", "  ", "x..y", "c:x",
        ] {
            let text = format!("name = {bad:?}\n{BASE}");
            let e = resolve("s.toml", "s", &text).unwrap_err().diagnostics;
            assert_eq!(e.len(), 1, "{bad:?}: {e:?}");
            assert!(e[0].message.starts_with("`name` = "), "{bad:?}: {e:?}");
            assert_eq!(e[0].line, 1, "{bad:?}");
        }
        for good in ["rolling-fast", "v1.2_canary", "日本"] {
            let text = format!("name = {good:?}\n{BASE}");
            assert_eq!(resolve("s.toml", "s", &text).unwrap().name, good);
        }
    }

    #[test]
    fn edit_distance_finds_typos() {
        assert_eq!(closest("v3", &["v1".into(), "v2".into()]), Some("v1"));
        assert_eq!(closest("canary", &["stable".into()]), None);
    }
}
