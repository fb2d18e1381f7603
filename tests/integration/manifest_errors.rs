//! The bad-input list, each through the CLI: `rollsim run` names the file, line and
//! column, says what is wrong and how to fix it, exits 2 and writes nothing. Also what the
//! API server accepts is accepted (a probe period of 0 is its default, 10 s; maxSurge may
//! exceed 100 %), and `workloadRef` reads the named Deployment's pod template.

use rollsim::scenario::Scenario;

use crate::manifests::{refused, with_manifest, GOOD};

/// A Rollout taking its pod template from the Deployment `shop` through `workloadRef`.
const WORKLOAD_REF: &str = "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  replicas: 4
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: shop
  strategy:
    canary:
      steps:
        - setWeight: 20
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 0
  template:
    spec:
      terminationGracePeriodSeconds: 45
      containers:
        - name: shop
          image: shop:1.5
          readinessProbe:
            periodSeconds: 3
";

const CANARY_AND_BLUE_GREEN: &str = "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  strategy:
    blueGreen:
      activeService: shop
    canary:
      steps: [{setWeight: 20}]
  template:
    spec:
      containers: [{name: shop, image: \"shop:1.5\"}]
";

const MISSING_TEMPLATE: &str = "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  strategy:
    canary:
      steps:
        - analysis:
            templates:
              - templateName: errors
  template:
    spec:
      containers: [{name: shop, image: \"shop:1.5\"}]
";

#[test]
fn each_bad_input_names_its_place_and_fix_exits_2_and_writes_nothing() {
    let strategy =
        |block: &str| GOOD.replace("  replicas: 4\n", &format!("  replicas: 4\n{block}"));
    let probe = |block: &str| {
        GOOD.replace(
            "image: shop:1.5\n",
            &format!("image: shop:1.5\n          readinessProbe:\n{block}"),
        )
    };
    // (tag, manifest, what the message says, file:line:column, what the help says)
    let cases: Vec<(&str, String, &str, &str, &str)> = vec![
        ("syntax", GOOD.replace("  replicas: 4", "  replicas: [4"), "invalid YAML", "deploy.yaml:7:11", "fix the YAML"),
        ("kind", GOOD.replace("kind: Deployment", "kind: StatefulSet"), "kind \"StatefulSet\" (apps/v1) is not supported", "deploy.yaml:2:7", "rollsim reads"),
        ("deployment-api", GOOD.replace("apps/v1", "extensions/v1beta1"), "apiVersion \"extensions/v1beta1\" is not supported for a Deployment", "deploy.yaml:1:13", "apps/v1"),
        ("rollout-api", CANARY_AND_BLUE_GREEN.replace("argoproj.io/v1alpha1", "argoproj.io/v1"), "apiVersion \"argoproj.io/v1\" is not supported for a Rollout", "deploy.yaml:1:13", "argoproj.io/v1alpha1"),
        ("canary-api", format!("{GOOD}---\napiVersion: flagger.app/v1alpha3\nkind: Canary\n"), "apiVersion \"flagger.app/v1alpha3\" is not supported for a Canary", "deploy.yaml:13:13", "flagger.app/v1beta1"),
        ("deadline", strategy("  minReadySeconds: 60\n  progressDeadlineSeconds: 30\n"), "`progressDeadlineSeconds` (30) must be greater than `minReadySeconds` (60)", "deploy.yaml:8:28", "raise progressDeadlineSeconds"),
        ("deadline-default", strategy("  minReadySeconds: 700\n"), "`progressDeadlineSeconds` (600) must be greater than `minReadySeconds` (700)", "deploy.yaml:7:20", "the default is 600"),
        ("percent", strategy("  strategy:\n    rollingUpdate:\n      maxUnavailable: 150%\n"), "maxUnavailable` = 150% is over 100%", "deploy.yaml:9:23", "at most \"100%\""),
        ("argo-percent", CANARY_AND_BLUE_GREEN.replace("    blueGreen:\n      activeService: shop\n", "").replace("    canary:\n", "    canary:\n      maxUnavailable: 101%\n"), "canary.maxUnavailable` = 101% is over 100%", "deploy.yaml:8:23", "at most \"100%\""),
        ("weight", CANARY_AND_BLUE_GREEN.replace("    blueGreen:\n      activeService: shop\n", "").replace("setWeight: 20", "setWeight: 120"), "setWeight` = 120 is out of range", "deploy.yaml:8:27", "from 0 to 100"),
        ("probe-negative", probe("            periodSeconds: -1\n"), "periodSeconds` = -1 is out of range", "deploy.yaml:13:28", "whole number"),
        ("both-strategies", CANARY_AND_BLUE_GREEN.to_string(), "only one of strategy.canary and strategy.blueGreen", "deploy.yaml:7:5", "remove the other"),
        ("missing-template", MISSING_TEMPLATE.to_string(), "no AnalysisTemplate named \"errors\"", "deploy.yaml:11:31", "add the AnalysisTemplate"),
        ("unmapped-image", GOOD.replace("shop:1.5", "shop:9.9"), "the container image \"shop:9.9\" maps to no scenario version", "deploy.yaml:11:18", "[manifest] versions"),
        ("workload-ref-missing", WORKLOAD_REF.replace("    name: shop\n  strategy", "    name: shop-api\n  strategy"), "`workloadRef` names Deployment \"shop-api\", which the manifests do not hold", "deploy.yaml:10:11", "Deployments held: shop"),
        ("workload-ref-kind", WORKLOAD_REF.replace("    kind: Deployment\n    name", "    kind: StatefulSet\n    name"), "`workloadRef` names a StatefulSet", "deploy.yaml:9:11", "kind: Deployment"),
        ("workload-ref-and-template", WORKLOAD_REF.replace("  strategy:\n", "  template:\n    spec:\n      containers: [{name: a, image: \"shop:1.5\"}]\n  strategy:\n"), "may not also set `spec.template`", "deploy.yaml:12:5", "remove spec.template"),
    ];
    for (tag, yaml, what, place, fix) in cases {
        let err = refused(&with_manifest(&format!("merr-{tag}"), &yaml, ""));
        assert!(err.contains(what), "{tag}: message: {err}");
        assert!(err.contains(place), "{tag}: place: {err}");
        assert!(
            err.contains("help:") && err.contains(fix),
            "{tag}: fix: {err}"
        );
        assert!(
            !err.contains("::") && !err.contains("Option<"),
            "{tag}: no Rust names: {err}"
        );
    }
}

#[test]
fn what_the_api_server_accepts_is_accepted() {
    // SetDefaults_Probe (pkg/apis/core/v1/defaults.go): periodSeconds 0 is "unset" and becomes
    // 10, as do successThreshold 0 → 1 and failureThreshold 0 → 3.
    let yaml = GOOD.replace(
        "image: shop:1.5\n",
        "image: shop:1.5\n          readinessProbe:\n            periodSeconds: 0\n            successThreshold: 0\n            failureThreshold: 0\n",
    );
    let s =
        Scenario::load(&with_manifest("merr-period0", &yaml, "")).unwrap_or_else(|e| panic!("{e}"));
    let p = s.versions[1]
        .pod
        .readiness
        .clone()
        .expect("a readiness probe");
    assert_eq!(p.period.as_micros(), 10_000_000, "periodSeconds 0 → 10 s");
    assert_eq!((p.success_threshold, p.failure_threshold), (1, 3));
    // maxSurge has no upper bound in the Deployment API (only maxUnavailable ≤ 100 %).
    let yaml = GOOD.replace(
        "  replicas: 4\n",
        "  replicas: 4\n  strategy:\n    rollingUpdate:\n      maxSurge: 150%\n",
    );
    assert!(Scenario::load(&with_manifest("merr-surge", &yaml, "")).is_ok());
}

#[test]
fn a_rollout_reads_its_pod_template_through_workload_ref() {
    let s = Scenario::load(&with_manifest("merr-wref", WORKLOAD_REF, ""))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.deployment.replicas, 4,
        "the Rollout's replicas, not the Deployment's 0"
    );
    assert_eq!(s.strategy_name(), "canary_basic");
    let pod = &s.versions[1].pod;
    assert_eq!(
        pod.grace.as_micros(),
        45_000_000,
        "the Deployment's terminationGracePeriodSeconds"
    );
    assert_eq!(
        pod.readiness.as_ref().map(|p| p.period.as_micros()),
        Some(3_000_000)
    );
    let (r, version) = s.manifest.as_ref().unwrap();
    assert_eq!(version, "v2");
    let grace = r
        .settings
        .iter()
        .find(|st| st.key == "termination_grace")
        .unwrap();
    assert_eq!(
        grace.field,
        "Deployment shop: spec.template.spec.terminationGracePeriodSeconds"
    );
    // replicas: 0 on the Deployment, as Argo's migration guide says: nothing to warn about.
    assert!(r.unmodelled.is_empty(), "{:?}", r.unmodelled);
    // The same Rollout with its template inline reads the same pod and strategy.
    let inline = WORKLOAD_REF
        .split("---")
        .next()
        .unwrap()
        .replace(
            "  workloadRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: shop\n",
            "  template:\n    spec:\n      terminationGracePeriodSeconds: 45\n      containers:\n        - name: shop\n          image: shop:1.5\n          readinessProbe:\n            periodSeconds: 3\n",
        );
    let t = Scenario::load(&with_manifest("merr-wref-inline", &inline, ""))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(format!("{:?}", t.rollout), format!("{:?}", s.rollout));
    assert_eq!(format!("{:?}", t.versions), format!("{:?}", s.versions));
    // A Deployment still running its own pods (scaleDown never) is warned about.
    let running = WORKLOAD_REF.replace("  replicas: 0\n", "  replicas: 4\n");
    let s = Scenario::load(&with_manifest("merr-wref-running", &running, ""))
        .unwrap_or_else(|e| panic!("{e}"));
    let (r, _) = s.manifest.as_ref().unwrap();
    assert_eq!(r.unmodelled.len(), 1);
    assert_eq!(r.unmodelled[0].1.field, "spec.workloadRef.scaleDown");
}

/// Argo accepts a pause as a digit string or any Go duration, and a setCanaryScale weight over
/// 100; it ignores setCanaryScale without a traffic router (skipped here too, with a warning).
#[test]
fn argo_durations_and_canary_scales_are_read_as_argo_reads_them() {
    let rollout = |canary: &str, steps: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  replicas: 4
  strategy:
    canary:
{canary}      steps:
{steps}  template:
    spec:
      containers: [{{name: shop, image: \"shop:1.5\"}}]
"
        )
    };
    let steps_of = |tag: &str, yaml: String| {
        let s = Scenario::load(&with_manifest(tag, &yaml, "")).unwrap_or_else(|e| panic!("{e}"));
        let (r, _) = s.manifest.clone().unwrap();
        let steps = r
            .settings
            .iter()
            .find(|st| st.key == "steps")
            .unwrap()
            .toml
            .clone();
        let warned: Vec<String> = r.unmodelled.iter().map(|(_, u)| u.field.clone()).collect();
        (steps, warned)
    };
    let (steps, _) = steps_of(
        "merr-pauses",
        rollout(
            "",
            "        - pause: {duration: 1m30s}\n        - pause: {duration: \"45\"}\n        - pause: {duration: 20}\n",
        ),
    );
    assert_eq!(
        steps,
        "[{ pause = \"90s\" }, { pause = \"45s\" }, { pause = \"20s\" }]"
    );
    let (steps, warned) = steps_of(
        "merr-scale",
        rollout(
            "      trafficRouting:\n        nginx: {stableIngress: shop}\n",
            "        - setCanaryScale: {weight: 200}\n        - setWeight: 10\n",
        ),
    );
    assert_eq!(
        steps,
        "[{ set_canary_scale = { weight = 200 } }, { set_weight = 10 }]"
    );
    assert!(warned.is_empty(), "{warned:?}");
    let (steps, warned) = steps_of(
        "merr-scale-basic",
        rollout(
            "",
            "        - setCanaryScale: {replicas: 2}\n        - setWeight: 10\n",
        ),
    );
    assert_eq!(steps, "[{ set_weight = 10 }]");
    assert_eq!(warned, ["spec.strategy.canary.steps[0].setCanaryScale"]);
}
