//! Kubernetes manifests as input: each example read into the settings it means (defaults
//! included), the same run as its hand-written TOML, bad input refused with its place and a
//! fix, `explain`, and a property test that mangled manifests never panic the reader.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rollsim::engine::SimDuration;
use rollsim::manifest::{self, Reading, Source};
use rollsim::model::ProbeSpec;
use rollsim::scenario::Scenario;
use rollsim::strategy::{IntOrPercent, RollingSettings};

use crate::common::{read_summary, rollsim, root, temp_dir};

fn load(rel: &str) -> Scenario {
    Scenario::load(&root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

fn rolling(s: &Scenario) -> RollingSettings {
    let r = s.rollout.as_ref().expect("a rollout");
    r.strategy
        .get::<RollingSettings>()
        .expect("a rolling update")
        .clone()
}

#[test]
fn the_plain_deployment_is_read_into_its_settings() {
    let s = load("examples/manifests/deployment.toml");
    assert_eq!(s.deployment.replicas, 10);
    assert_eq!(s.deployment.min_ready, secs(0), "minReadySeconds default 0");
    assert_eq!(
        s.deployment.progress_deadline,
        Some(secs(600)),
        "default 600"
    );
    assert_eq!(s.version_names()[s.deployment.initial.0 as usize], "v1");
    let r = s.rollout.as_ref().unwrap();
    assert_eq!(
        s.version_names()[r.target.0 as usize],
        "v2",
        "shop:1.5 → v2"
    );
    assert_eq!(r.at.as_micros(), secs(60).as_micros());
    let st = rolling(&s);
    assert_eq!(st.max_surge, IntOrPercent::Percent(25));
    assert_eq!(st.max_unavailable, IntOrPercent::Percent(25));
    for v in &s.versions {
        assert_eq!(
            v.pod.readiness,
            Some(ProbeSpec {
                initial_delay: secs(2),
                period: secs(2),
                success_threshold: 1,
                failure_threshold: 3,
            })
        );
        assert_eq!(v.pod.pre_stop, secs(5), "preStop sleep.seconds");
        assert_eq!(v.pod.grace, secs(30));
    }
    let (reading, version) = s.manifest.as_ref().unwrap();
    assert_eq!(version, "v2");
    assert!(reading.unmodelled.is_empty(), "{:?}", reading.unmodelled);
    assert_eq!(reading.skipped.len(), 1, "the Service beside it");
}

#[test]
fn the_missing_prestop_deployment_takes_the_api_defaults_and_warns() {
    let s = load("examples/manifests/deployment-no-prestop.toml");
    assert_eq!(s.deployment.replicas, 10);
    assert_eq!(s.deployment.progress_deadline, Some(secs(600)));
    let st = rolling(&s);
    assert_eq!(st.max_surge, IntOrPercent::Percent(25), "API default");
    assert_eq!(st.max_unavailable, IntOrPercent::Percent(25), "API default");
    let pod = &s.versions[0].pod;
    assert_eq!(pod.pre_stop, secs(0), "no preStop hook");
    assert_eq!(pod.grace, secs(30), "terminationGracePeriodSeconds default");
    assert_eq!(
        pod.readiness,
        Some(ProbeSpec {
            initial_delay: secs(0),
            period: secs(2),
            success_threshold: 1,
            failure_threshold: 3,
        }),
        "SetDefaults_Probe fills the thresholds"
    );
    let (reading, _) = s.manifest.as_ref().unwrap();
    let fields: Vec<&str> = reading
        .unmodelled
        .iter()
        .map(|(_, u)| u.field.as_str())
        .collect();
    assert_eq!(fields, ["spec.template.spec.containers[0].livenessProbe"]);
    let defaulted = |field: &str| {
        reading
            .settings
            .iter()
            .any(|st| st.field == field && matches!(st.source, Source::Default(_)))
    };
    assert!(defaulted("spec.strategy.rollingUpdate.maxSurge"));
    assert!(defaulted(
        "spec.template.spec.containers[0].lifecycle.preStop"
    ));
}

/// `run` of a scenario into a fresh folder; returns the summary's text.
pub(crate) fn summary_of(args: &[&str], tag: &str) -> String {
    let out = temp_dir(tag);
    let mut a = vec!["run"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--quiet", "--out", out.to_str().unwrap()]);
    let o = rollsim(&a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out.join("summary.json")).unwrap()
}

#[test]
fn a_manifest_runs_exactly_as_its_hand_written_toml() {
    let manifest = summary_of(&["examples/manifests/deployment.toml"], "m-yaml");
    let toml = summary_of(&["examples/manifests/equivalent/deployment.toml"], "m-toml");
    assert_eq!(manifest, toml, "byte-for-byte the same summary");
    // The command-line form: the same run (the scenario's name and description aside).
    let cli = summary_of(
        &[
            "--manifest",
            "examples/manifests/deployment.yaml",
            "--traffic",
            "examples/manifests/traffic/shop.toml",
        ],
        "m-cli",
    );
    let strip = |s: &str| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("scenario");
        o.remove("description");
        v
    };
    assert_eq!(strip(&cli), strip(&toml));
}

#[test]
fn the_missing_prestop_mistake_fails_requests_the_plain_deployment_does_not() {
    let dir = temp_dir("m-lesson");
    for seed in ["1", "2", "3"] {
        let mut failed = Vec::new();
        for name in ["deployment", "deployment-no-prestop"] {
            let out = dir.join(format!("{name}-{seed}"));
            let file = format!("examples/manifests/{name}.toml");
            let o = rollsim(&[
                "run",
                &file,
                "--seed",
                seed,
                "--quiet",
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            failed.push(crate::common::u(
                &read_summary(&out),
                &["requests", "failed"],
            ));
        }
        assert_eq!(
            failed[0], 0,
            "seed {seed}: the preStop sleep covers propagation"
        );
        assert!(failed[1] > 0, "seed {seed}: without preStop requests fail");
    }
}

/// Writes `yaml` and a scenario naming it in a fresh folder; returns the scenario.
pub(crate) fn with_manifest(tag: &str, yaml: &str, scenario_extra: &str) -> PathBuf {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("deploy.yaml"), yaml).unwrap();
    let traffic =
        std::fs::read_to_string(root().join("examples/manifests/traffic/shop.toml")).unwrap();
    let text = format!("manifests = [\"deploy.yaml\"]\n{scenario_extra}\n{traffic}");
    let file = dir.join("s.toml");
    std::fs::write(&file, text).unwrap();
    file
}

pub(crate) const GOOD: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 4
  template:
    spec:
      containers:
        - name: shop
          image: shop:1.5
";

/// Runs `s`, which must be refused: exit 2, nothing written; returns stderr.
pub(crate) fn refused(s: &Path) -> String {
    let out = s.parent().unwrap().join("out");
    let o = rollsim(&["run", s.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!out.exists(), "nothing written");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_manifests_are_refused_with_their_place_and_a_fix() {
    let cases: &[(&str, String, &str, &str)] = &[
        ("syntax", GOOD.replace("  replicas: 4", "  replicas: [4"), "invalid YAML", "deploy.yaml:"),
        ("kind", GOOD.replace("kind: Deployment", "kind: StatefulSet"), "kind \"StatefulSet\"", "deploy.yaml:2:7"),
        ("api", GOOD.replace("apps/v1", "extensions/v1beta1"), "apiVersion \"extensions/v1beta1\"", "deploy.yaml:1:13"),
        (
            "percent",
            GOOD.replace("  replicas: 4\n", "  replicas: 4\n  strategy:\n    rollingUpdate:\n      maxUnavailable: 150%\n"),
            "over 100%",
            "deploy.yaml:9:23",
        ),
        (
            "both-zero",
            GOOD.replace("  replicas: 4\n", "  replicas: 4\n  strategy:\n    rollingUpdate:\n      maxSurge: 0\n      maxUnavailable: 0\n"),
            "may not both be 0",
            "deploy.yaml:",
        ),
        (
            "recreate",
            GOOD.replace("  replicas: 4\n", "  replicas: 4\n  strategy:\n    type: Recreate\n    rollingUpdate:\n      maxSurge: 1\n"),
            "may not be set when the strategy type is Recreate",
            "deploy.yaml:",
        ),
        (
            "probe",
            GOOD.replace("image: shop:1.5\n", "image: shop:1.5\n          readinessProbe:\n            periodSeconds: -1\n"),
            "out of range",
            "deploy.yaml:13:28",
        ),
        ("unmapped", GOOD.replace("shop:1.5", "shop:9.9"), "maps to no scenario version", "deploy.yaml:11:18"),
        ("rollout-api", GOOD.replace("Deployment", "Rollout"), "apiVersion \"apps/v1\" is not supported for a Rollout", "deploy.yaml:1:13"),
        ("empty", String::new(), "no document", "deploy.yaml"),
    ];
    for (tag, yaml, what, place) in cases {
        let err = refused(&with_manifest(&format!("m-bad-{tag}"), yaml, ""));
        assert!(err.contains(what), "{tag}: {err}");
        assert!(err.contains(place), "{tag}: {err}");
        assert!(err.contains("help"), "{tag}: a fix: {err}");
    }
}

#[test]
fn a_key_both_the_manifest_and_the_scenario_set_is_refused() {
    let s = with_manifest("m-conflict", GOOD, "");
    let text = std::fs::read_to_string(&s)
        .unwrap()
        .replace("[deployment]\n", "[deployment]\nreplicas = 3\n");
    std::fs::write(&s, text).unwrap();
    let err = refused(&s);
    assert!(
        err.contains("`deployment.replicas` is also set by the manifest (spec.replicas line 6)"),
        "{err}"
    );
    assert!(err.contains("s.toml:"), "{err}");
    // A version's own pod table may not override the manifest's pod template either.
    let s = with_manifest("m-conflict-version", GOOD, "");
    let text = std::fs::read_to_string(&s).unwrap().replace(
        "[versions.v2]\n",
        "[versions.v2]\npod = { pre_stop = \"3s\" }\n",
    );
    std::fs::write(&s, text).unwrap();
    let err = refused(&s);
    assert!(
        err.contains("`versions.v2.pod.pre_stop` overrides the manifest's"),
        "{err}"
    );
}

#[test]
fn hostile_yaml_is_refused_quickly() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='m' {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        bomb.push_str(&format!("{c}: &{c} [{refs}]\n"));
        prev = c;
    }
    let huge = format!("{GOOD}# {}\n", "x".repeat(2 * 1024 * 1024));
    let deep = format!("{GOOD}  x: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    for (tag, yaml) in [("bomb", bomb), ("huge", huge), ("deep", deep)] {
        let t = Instant::now();
        let err = refused(&with_manifest(&format!("m-hostile-{tag}"), &yaml, ""));
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{tag} took {:?}",
            t.elapsed()
        );
        assert!(err.contains("deploy.yaml"), "{tag}: {err}");
    }
}

#[test]
fn explain_shows_each_field_its_line_and_what_is_not_modelled() {
    let o = rollsim(&[
        "explain",
        "--manifest",
        "examples/manifests/deployment-no-prestop.yaml",
        "--traffic",
        "examples/manifests/traffic/shop.toml",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    for needle in [
        "image registry.example.com/shop:1.5 → [rollout] to = \"v2\"",
        "line   10  spec.replicas → [deployment] replicas = 10",
        "default  spec.progressDeadlineSeconds → [deployment] progress_deadline = \"600s\" [600 (API default)]",
        "default  spec.strategy.rollingUpdate.maxSurge → [rollout] max_surge = \"25%\" [25% (API default)]",
        "default  spec.template.spec.containers[0].lifecycle.preStop → [pod] pre_stop = \"0s\"",
        "deployment-no-prestop.yaml:28: spec.template.spec.containers[0].livenessProbe",
        "line   33  spec.template.spec.containers[0].resources.requests → [pod] requests = { cpu = \"250m\", memory = \"256Mi\" }",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    // Without a scenario, the manifest alone; bad input is exit 2.
    let o = rollsim(&[
        "explain",
        "--manifest",
        "examples/manifests/deployment.yaml",
    ]);
    assert!(o.status.success());
    // A template metric is mapped by the scenario: alone, explain warns instead of failing.
    let o = rollsim(&[
        "explain",
        "--manifest",
        "examples/manifests/rollout-canary.yaml",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("metric \"error-rate\": maps to no scenario metric yet"),
        "{out}"
    );
    assert!(
        out.contains("failure_limit = 1, inconclusive_limit = 0, consecutive_error_limit = 4"),
        "{out}"
    );
    let o = rollsim(&["explain", "--manifest", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn run_warns_about_fields_it_does_not_model() {
    let out = temp_dir("m-warn");
    let o = rollsim(&[
        "run",
        "examples/manifests/deployment-no-prestop.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: "), "{err}");
    assert!(err.contains("livenessProbe is not modelled"), "{err}");
}

fn examples() -> Vec<String> {
    [
        "deployment.yaml",
        "deployment-no-prestop.yaml",
        "rollout-canary.yaml",
        "rollout-blue-green.yaml",
        "flagger-canary.yaml",
        "rollout-workload-ref.yaml",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(root().join("examples/manifests").join(f)).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Truncated, overwritten or spliced manifests: the reader answers (settings or problems)
    /// and never panics, quickly.
    #[test]
    fn mangled_manifests_never_panic_the_reader(
        which in 0usize..6,
        cut in 0usize..2000,
        edits in proptest::collection::vec((0usize..2000, any::<u8>()), 0..8),
        splice in proptest::option::of((0usize..2000, "[-:&*!|>{}\\[\\], \n#%'\"a-z0-9]{0,12}")),
    ) {
        let mut bytes = examples()[which].clone().into_bytes();
        for (at, b) in edits {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = b;
            }
        }
        if let Some((at, s)) = splice {
            let i = at.min(bytes.len());
            bytes.splice(i..i, s.into_bytes());
        }
        bytes.truncate(cut.max(1).min(bytes.len()));
        let text = String::from_utf8_lossy(&bytes);
        let t = Instant::now();
        let mut r = Reading::default();
        if manifest::read_text("m.yaml", &text, &mut r).is_empty() {
            let _ = manifest::finish(&mut r);
        }
        prop_assert!(t.elapsed() < Duration::from_secs(2));
    }
}

#[test]
fn the_argo_canary_is_read_into_its_settings_and_runs_as_its_toml() {
    let s = load("examples/manifests/rollout-canary.toml");
    assert_eq!(s.strategy_name(), "canary");
    let c = s
        .rollout
        .as_ref()
        .unwrap()
        .strategy
        .get::<rollsim::strategy::CanarySpec>()
        .expect("a canary")
        .clone();
    let text = format!("{c:?}");
    for needle in [
        "max_surge: Percent(25)",
        "max_unavailable: Percent(25)",
        "traffic_routing: Some(TrafficRouting { max_weight: 100",
        "dynamic_stable_scale: false",
        "failure_limit: 1",
    ] {
        assert!(text.contains(needle), "missing {needle} in {text}");
    }
    let (reading, _) = s.manifest.as_ref().unwrap();
    let step_count = reading
        .settings
        .iter()
        .find(|st| st.key == "steps")
        .map(|st| st.meaning.clone());
    assert_eq!(step_count.as_deref(), Some("6 steps"));
    let equivalent = load("examples/manifests/equivalent/rollout-canary.toml");
    assert_eq!(
        format!("{:?}", s.rollout),
        format!("{:?}", equivalent.rollout)
    );
    assert_eq!(
        summary_of(&["examples/manifests/rollout-canary.toml"], "m-argo-yaml"),
        summary_of(
            &["examples/manifests/equivalent/rollout-canary.toml"],
            "m-argo-toml"
        ),
        "byte-for-byte the same summary"
    );
}

#[test]
fn the_argo_blue_green_takes_argo_defaults() {
    let s = load("examples/manifests/rollout-blue-green.toml");
    assert_eq!(s.strategy_name(), "blue_green");
    let b = s
        .rollout
        .as_ref()
        .unwrap()
        .strategy
        .get::<rollsim::strategy::BlueGreenSpec>()
        .expect("a blue-green")
        .clone();
    let text = format!("{b:?}");
    assert!(text.contains("auto_promotion: true"), "{text}");
    let (reading, _) = s.manifest.as_ref().unwrap();
    let get = |k: &str| {
        reading
            .settings
            .iter()
            .find(|st| st.key == k)
            .map(|st| (st.toml.clone(), matches!(st.source, Source::Default(_))))
    };
    assert_eq!(get("auto_promotion"), Some(("true".into(), true)));
    assert_eq!(get("auto_promotion_after"), Some(("\"30s\"".into(), false)));
    assert_eq!(get("scale_down_delay"), Some(("\"30s\"".into(), false)));
    assert_eq!(
        get("abort_scale_down_delay"),
        Some(("\"30s\"".into(), true))
    );
    assert_eq!(get("progress_deadline"), Some(("\"600s\"".into(), true)));
}

const ROLLOUT: &str = "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  replicas: 4
  strategy:
    canary:
      steps:
        - setWeight: 20
        - analysis:
            templates:
              - templateName: errors
  template:
    spec:
      containers:
        - name: shop
          image: shop:1.5
";

const TEMPLATE: &str = "---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: errors
spec:
  metrics:
    - name: errors
      interval: 10s
      successCondition: result[0] < 0.05
";

#[test]
fn bad_rollouts_are_refused_with_their_place_and_a_fix() {
    let with_template = format!("{ROLLOUT}{TEMPLATE}");
    let mapped = "[manifest]\nmetrics = { \"errors\" = \"error_rate\" }\n";
    let cases: &[(&str, String, &str, &str, &str)] = &[
        (
            "both",
            with_template.replace(
                "    canary:\n",
                "    blueGreen:\n      activeService: a\n    canary:\n",
            ),
            mapped,
            "only one of strategy.canary and strategy.blueGreen",
            "deploy.yaml:8:5",
        ),
        (
            "dynamic",
            with_template.replace(
                "    canary:\n",
                "    canary:\n      dynamicStableScale: true\n",
            ),
            mapped,
            "dynamicStableScale needs trafficRouting",
            "deploy.yaml:9:27",
        ),
        (
            "template",
            ROLLOUT.to_string(),
            mapped,
            "no AnalysisTemplate named \"errors\"",
            "deploy.yaml:13:31",
        ),
        (
            "metric",
            with_template.clone(),
            "",
            "template metric \"errors\"",
            "deploy.yaml:",
        ),
        (
            "condition",
            with_template.replace("result[0] < 0.05", "len(result) > 0"),
            mapped,
            "not a simple comparison",
            "deploy.yaml:",
        ),
    ];
    for (tag, yaml, extra, what, place) in cases {
        let s = with_manifest(&format!("m-argo-{tag}"), yaml, "");
        if !extra.is_empty() {
            let text = std::fs::read_to_string(&s)
                .unwrap()
                .replace("[manifest]\n", extra);
            std::fs::write(&s, text).unwrap();
        }
        let err = refused(&s);
        assert!(err.contains(what), "{tag}: {err}");
        assert!(err.contains(place), "{tag}: {err}");
        assert!(err.contains("help"), "{tag}: {err}");
    }
    // A metric name holding a quote and a backslash is carried through intact.
    let odd = with_template.replace("    - name: errors", "    - name: 'err\"o\\rs'");
    let s = with_manifest("m-argo-odd", &odd, "");
    let text = std::fs::read_to_string(&s).unwrap().replace(
        "[manifest]\n",
        "[manifest]\nmetrics = { 'err\"o\\rs' = \"error_rate\" }\n",
    );
    std::fs::write(&s, text).unwrap();
    let sc = Scenario::load(&s).unwrap_or_else(|e| panic!("{e}"));
    let shown = format!("{:?}", sc.rollout);
    assert!(shown.contains(r#"name: "err\"o\\rs""#), "{shown}");
    // With the template and the mapping, the same Rollout is read.
    let s = with_manifest("m-argo-good", &with_template, "");
    let text = std::fs::read_to_string(&s)
        .unwrap()
        .replace("[manifest]\n", mapped);
    std::fs::write(&s, text).unwrap();
    let sc = Scenario::load(&s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sc.strategy_name(),
        "canary_basic",
        "no trafficRouting: a basic canary"
    );
}

#[test]
fn the_flagger_canary_is_read_over_its_deployment() {
    let s = load("examples/manifests/flagger-canary.toml");
    assert_eq!(s.strategy_name(), "flagger");
    assert_eq!(s.deployment.replicas, 10, "from the targeted Deployment");
    let f = s
        .rollout
        .as_ref()
        .unwrap()
        .strategy
        .get::<rollsim::strategy::FlaggerSpec>()
        .expect("a Flagger canary")
        .clone();
    let text = format!("{f:?}");
    for needle in [
        "threshold: 2",
        "SimDuration(15000000)",
        "ErrorRate, max: Some(0.05)",
        "P99LatencyMs, max: Some(500.0)",
    ] {
        assert!(text.contains(needle), "missing {needle} in {text}");
    }
    let (reading, _) = s.manifest.as_ref().unwrap();
    assert!(
        !reading.settings.iter().any(|st| st.key == "max_surge"),
        "the Deployment's own strategy is not used under Flagger"
    );
    // A Canary whose target is not in the manifests is refused at its targetRef.
    let yaml = std::fs::read_to_string(root().join("examples/manifests/flagger-canary.yaml"))
        .unwrap()
        .replace(
            "    name: shop\n  service:",
            "    name: shop-api\n  service:",
        );
    let err = refused(&with_manifest("m-flagger-target", &yaml, ""));
    assert!(err.contains("targets Deployment \"shop-api\""), "{err}");
    assert!(err.contains("deploy.yaml:39:"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The whole path (read, map, merge into the scenario, resolve) with a mangled manifest:
    /// a scenario or a list of problems, never a panic.
    #[test]
    fn mangled_manifests_never_panic_the_scenario_loader(
        which in 0usize..6,
        edits in proptest::collection::vec((0usize..2000, "[-:0-9a-z \n\"'%{}\\[\\]]{1,4}"), 1..4),
    ) {
        let mut text = examples()[which].clone();
        for (at, s) in edits {
            let mut i = at % text.len().max(1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            // Both ends of the replaced range on character boundaries (the examples hold
            // multi-byte characters such as `—` in their comments).
            let mut end = (i + s.len()).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(i..end, &s);
        }
        let s = with_manifest(&format!("m-prop-{which}"), &text, "");
        let scenario = std::fs::read_to_string(&s).unwrap().replacen(
            "versions = { \"1.5\" = \"v2\" }",
            "versions = { \"1.5\" = \"v2\" }\nmetrics = { \"error-rate\" = \"error_rate\" }",
            1,
        );
        std::fs::write(&s, scenario).unwrap();
        let _ = Scenario::load(&s);
    }
}
