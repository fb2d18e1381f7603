//! Each example manifest read into the settings it means: every field the issue lists, the
//! ones written and the ones the API server (or Argo, or Flagger) defaults, each with its
//! source line — the whole list, so a field that goes missing or changes its default fails.
//! `manifest_check.rs` then shows these settings run exactly as the hand-written equivalents.

use rollsim::manifest::{Reading, Source};
use rollsim::scenario::Scenario;

use crate::common::root;

/// `field | [table] key = value | line N` (or `default: why`) for every setting read.
fn settings(r: &Reading) -> Vec<String> {
    r.settings
        .iter()
        .map(|s| {
            let src = match &s.source {
                Source::Written { line, .. } => format!("line {line}"),
                Source::Default(d) => format!("default: {d}"),
            };
            format!("{} | [{}] {} = {} | {src}", s.field, s.table, s.key, s.toml)
        })
        .collect()
}

fn unmodelled(r: &Reading) -> Vec<String> {
    r.unmodelled
        .iter()
        .map(|(_, u)| format!("{}:{}", u.line, u.field))
        .collect()
}

/// Loads `examples/manifests/NAME.toml`: its reading and the version the image maps to.
fn read(name: &str) -> (Reading, String, Scenario) {
    let path = root().join(format!("examples/manifests/{name}.toml"));
    let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (r, v) = s.manifest.clone().expect("read from manifests");
    (r, v, s)
}

const READINESS_2_2: &str =
    "{ initial_delay = \"2s\", period = \"2s\", success_threshold = 1, failure_threshold = 3 }";

#[test]
fn the_plain_deployment_reads_every_field() {
    let (r, version, _) = read("deployment");
    assert_eq!(
        version, "v2",
        "registry.example.com/shop:1.5 → [manifest] versions 1.5 → v2"
    );
    assert_eq!(
        r.image.as_ref().map(|i| (i.0.as_str(), i.1)),
        Some(("registry.example.com/shop:1.5", 39))
    );
    assert_eq!(
        settings(&r),
        [
            "spec.replicas | [deployment] replicas = 10 | line 22".to_string(),
            "spec.minReadySeconds | [deployment] min_ready = \"0s\" | default: 0 (API default)".into(),
            "spec.progressDeadlineSeconds | [deployment] progress_deadline = \"600s\" | default: 600 (API default)".into(),
            "spec.strategy.type | [rollout] strategy = \"rolling\" | line 24".into(),
            "spec.strategy.rollingUpdate.maxSurge | [rollout] max_surge = \"25%\" | line 26".into(),
            "spec.strategy.rollingUpdate.maxUnavailable | [rollout] max_unavailable = \"25%\" | line 27".into(),
            "spec.template.spec.terminationGracePeriodSeconds | [pod] termination_grace = \"30s\" | line 36".into(),
            format!("spec.template.spec.containers[0].readinessProbe | [pod] readiness = {READINESS_2_2} | line 43"),
            "spec.template.spec.containers[0].lifecycle.preStop | [pod] pre_stop = \"5s\" | line 50".into(),
        ]
    );
    // revisionHistoryLimit (10) and paused (false) at their defaults change nothing the
    // simulation shows: no warning. The Service beside it is skipped.
    assert_eq!(unmodelled(&r), Vec::<String>::new());
    let skipped: Vec<(u32, &str)> = r.skipped.iter().map(|(_, l, k)| (*l, k.as_str())).collect();
    assert_eq!(skipped, [(5, "Service")]);
}

#[test]
fn the_missing_prestop_deployment_reads_the_api_defaults() {
    let (r, version, s) = read("deployment-no-prestop");
    assert_eq!(version, "v2");
    assert_eq!(
        settings(&r),
        [
            "spec.replicas | [deployment] replicas = 10 | line 10".to_string(),
            "spec.minReadySeconds | [deployment] min_ready = \"0s\" | default: 0 (API default)".into(),
            "spec.progressDeadlineSeconds | [deployment] progress_deadline = \"600s\" | default: 600 (API default)".into(),
            "spec.strategy.type | [rollout] strategy = \"rolling\" | default: RollingUpdate (API default)".into(),
            "spec.strategy.rollingUpdate.maxSurge | [rollout] max_surge = \"25%\" | default: 25% (API default)".into(),
            "spec.strategy.rollingUpdate.maxUnavailable | [rollout] max_unavailable = \"25%\" | default: 25% (API default)".into(),
            "spec.template.spec.terminationGracePeriodSeconds | [pod] termination_grace = \"30s\" | default: 30 (API default)".into(),
            // initialDelaySeconds absent: 0; successThreshold 1 and failureThreshold 3 filled
            // in by SetDefaults_Probe.
            "spec.template.spec.containers[0].readinessProbe | [pod] readiness = { initial_delay = \"0s\", period = \"2s\", success_threshold = 1, failure_threshold = 3 } | line 23".into(),
            "spec.template.spec.containers[0].lifecycle.preStop | [pod] pre_stop = \"0s\" | default: none".into(),
            // cpu: 250m, memory: 256Mi: the effective request of a one-container pod.
            "spec.template.spec.containers[0].resources.requests | [pod] requests = { cpu = \"250m\", memory = \"256Mi\" } | line 33".into(),
        ]
    );
    assert_eq!(
        unmodelled(&r),
        ["28:spec.template.spec.containers[0].livenessProbe"]
    );
    // Against the scenario's nodes (node_cpu = 1, node_memory = "4Gi"): min(110, 1000m / 250m,
    // 4Gi / 256Mi) = 4 pods a node.
    assert_eq!(s.cluster.pods_per_node, 4);
    // The resolved scenario: what the run uses.
    let pod = &s.versions[1].pod;
    assert_eq!(pod.pre_stop.as_micros(), 0);
    assert_eq!(pod.grace.as_micros(), 30_000_000);
}

#[test]
fn the_argo_canary_reads_every_field() {
    let (r, version, _) = read("rollout-canary");
    assert_eq!(version, "v2");
    assert_eq!(
        settings(&r),
        [
            "spec.replicas | [deployment] replicas = 10 | line 26".to_string(),
            "spec.minReadySeconds | [deployment] min_ready = \"0s\" | default: 0".into(),
            "spec.progressDeadlineSeconds | [deployment] progress_deadline = \"600s\" | default: 600 (Argo default)".into(),
            "spec.strategy.canary | [rollout] strategy = \"canary\" | line 32".into(),
            "spec.strategy.canary.maxSurge | [rollout] max_surge = \"25%\" | default: \"25\" = 25% (Argo default)".into(),
            "spec.strategy.canary.maxUnavailable | [rollout] max_unavailable = \"25%\" | default: \"25\" = 25% (Argo default)".into(),
            "spec.strategy.canary.trafficRouting | [rollout] traffic_routing = true | line 35".into(),
            "spec.strategy.canary.trafficRouting.maxTrafficWeight | [rollout] max_traffic_weight = 100 | default: 100 (Argo default)".into(),
            "spec.strategy.canary.dynamicStableScale | [rollout] dynamic_stable_scale = false | default: false (Argo default)".into(),
            "spec.strategy.canary.scaleDownDelaySeconds | [rollout] scale_down_delay = \"30s\" | default: 30 (Argo default)".into(),
            "spec.strategy.canary.abortScaleDownDelaySeconds | [rollout] abort_scale_down_delay = \"30s\" | default: 30 (Argo default)".into(),
            "spec.strategy.canary.steps | [rollout] steps = [{ set_weight = 10 }, { pause = \"30s\" }, { set_weight = 30 }, { pause = \"30s\" }, { set_weight = 60 }, { pause = \"30s\" }] | line 42".into(),
            // The AnalysisTemplate's metric: interval 10s, failureLimit 1 written; Argo's
            // inconclusiveLimit 0 and consecutiveErrorLimit 4; no count: until the end.
            "spec.strategy.canary.analysis | [rollout] analysis = { interval = \"10s\", failure_limit = 1, inconclusive_limit = 0, consecutive_error_limit = 4, starting_step = 1, metrics = [{ name = \"error-rate\", metric = \"error_rate\", max = 0.05 }] } | line 38".into(),
            "spec.template.spec.terminationGracePeriodSeconds | [pod] termination_grace = \"30s\" | default: 30 (API default)".into(),
            format!("spec.template.spec.containers[0].readinessProbe | [pod] readiness = {READINESS_2_2} | line 57"),
            "spec.template.spec.containers[0].lifecycle.preStop | [pod] pre_stop = \"5s\" | line 64".into(),
        ]
    );
    assert_eq!(unmodelled(&r), Vec::<String>::new());
}

#[test]
fn the_argo_blue_green_reads_every_field() {
    let (r, version, _) = read("rollout-blue-green");
    assert_eq!(version, "v2");
    assert_eq!(
        settings(&r),
        [
            "spec.replicas | [deployment] replicas = 10 | line 9".to_string(),
            "spec.minReadySeconds | [deployment] min_ready = \"0s\" | default: 0".into(),
            "spec.progressDeadlineSeconds | [deployment] progress_deadline = \"600s\" | default: 600 (Argo default)".into(),
            "spec.strategy.blueGreen | [rollout] strategy = \"blue_green\" | line 15".into(),
            "spec.strategy.blueGreen.autoPromotionEnabled | [rollout] auto_promotion = true | default: true (Argo default)".into(),
            "spec.strategy.blueGreen.autoPromotionSeconds | [rollout] auto_promotion_after = \"30s\" | line 17".into(),
            "spec.strategy.blueGreen.scaleDownDelaySeconds | [rollout] scale_down_delay = \"30s\" | line 18".into(),
            "spec.strategy.blueGreen.abortScaleDownDelaySeconds | [rollout] abort_scale_down_delay = \"30s\" | default: 30 (Argo default)".into(),
            "spec.template.spec.terminationGracePeriodSeconds | [pod] termination_grace = \"30s\" | default: 30 (API default)".into(),
            format!("spec.template.spec.containers[0].readinessProbe | [pod] readiness = {READINESS_2_2} | line 28"),
            "spec.template.spec.containers[0].lifecycle.preStop | [pod] pre_stop = \"5s\" | line 35".into(),
        ]
    );
    // previewReplicaCount absent: the preview runs every replica (no key written).
    assert_eq!(unmodelled(&r), Vec::<String>::new());
}

#[test]
fn the_flagger_canary_reads_every_field() {
    let (r, version, _) = read("flagger-canary");
    assert_eq!(version, "v2");
    assert_eq!(
        settings(&r),
        [
            // From the targeted Deployment; its own strategy is not used under Flagger.
            "spec.replicas | [deployment] replicas = 10 | line 10".to_string(),
            "spec.minReadySeconds | [deployment] min_ready = \"0s\" | default: 0 (API default)".into(),
            "spec.template.spec.terminationGracePeriodSeconds | [pod] termination_grace = \"30s\" | default: 30 (API default)".into(),
            format!("spec.template.spec.containers[0].readinessProbe | [pod] readiness = {READINESS_2_2} | line 23"),
            "spec.template.spec.containers[0].lifecycle.preStop | [pod] pre_stop = \"5s\" | line 30".into(),
            // From the Canary.
            "spec.progressDeadlineSeconds (Canary) | [deployment] progress_deadline = \"600s\" | default: 600 (Flagger default)".into(),
            "kind: Canary | [rollout] strategy = \"flagger\" | line 34".into(),
            "spec.analysis.interval | [rollout] interval = \"15s\" | line 46".into(),
            "spec.analysis.threshold | [rollout] threshold = 2 | line 47".into(),
            "spec.analysis.maxWeight | [rollout] max_weight = 50 | line 48".into(),
            "spec.analysis.stepWeight | [rollout] step_weight = 20 | line 49".into(),
            // request-success-rate min 95 % → error_rate ≤ 0.05; request-duration max 500 ms.
            "spec.analysis.metrics | [rollout] analysis = { metrics = [{ name = \"request-success-rate\", metric = \"error_rate\", max = 0.05 }, { name = \"request-duration\", metric = \"p99_latency_ms\", max = 500 }] } | line 51".into(),
        ]
    );
    // The checks' 1m query windows against the 15 s tick are warned about.
    assert_eq!(
        unmodelled(&r),
        [
            "54:spec.analysis.metrics[0].interval",
            "58:spec.analysis.metrics[1].interval"
        ]
    );
}

#[test]
fn the_workload_ref_rollout_reads_its_deployments_template() {
    let (r, version, _) = read("rollout-workload-ref");
    assert_eq!(version, "v2");
    assert_eq!(
        settings(&r),
        [
            "spec.replicas | [deployment] replicas = 10 | line 39".to_string(),
            "spec.minReadySeconds | [deployment] min_ready = \"0s\" | default: 0".into(),
            "spec.progressDeadlineSeconds | [deployment] progress_deadline = \"600s\" | default: 600 (Argo default)".into(),
            "spec.strategy.canary | [rollout] strategy = \"canary\" | line 49".into(),
            // "20" without a percent sign: Argo reads it as 20 %.
            "spec.strategy.canary.maxSurge | [rollout] max_surge = \"20%\" | line 49".into(),
            "spec.strategy.canary.maxUnavailable | [rollout] max_unavailable = 0 | line 50".into(),
            "spec.strategy.canary.trafficRouting | [rollout] traffic_routing = false | default: absent: weights from replica counts".into(),
            "spec.strategy.canary.scaleDownDelaySeconds | [rollout] scale_down_delay = \"30s\" | default: 30 (Argo default; applied only with trafficRouting)".into(),
            "spec.strategy.canary.abortScaleDownDelaySeconds | [rollout] abort_scale_down_delay = \"30s\" | default: 30 (Argo default; applied only with trafficRouting)".into(),
            "spec.strategy.canary.steps | [rollout] steps = [{ set_weight = 20 }, { pause = \"20s\" }, { set_weight = 50 }, { pause = \"20s\" }] | line 52".into(),
            // From the Deployment workloadRef names; `sh -c "sleep 5"` is the sleep idiom.
            "Deployment shop: spec.template.spec.terminationGracePeriodSeconds | [pod] termination_grace = \"30s\" | default: 30 (API default)".into(),
            format!("Deployment shop: spec.template.spec.containers[0].readinessProbe | [pod] readiness = {READINESS_2_2} | line 24"),
            "Deployment shop: spec.template.spec.containers[0].lifecycle.preStop | [pod] pre_stop = \"5s\" | line 31".into(),
        ]
    );
    // The Deployment is scaled to 0: nothing runs beside the Rollout, nothing to warn about.
    assert_eq!(unmodelled(&r), Vec::<String>::new());
}

/// Argo's `effectiveCount`: a template metric with neither `interval` nor `count` takes one
/// measurement; with an interval and no count it measures until the analysis ends.
#[test]
fn a_template_metric_without_an_interval_measures_once() {
    let yaml = |interval: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1
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
      containers: [{{name: shop, image: \"shop:1.5\"}}]
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: errors
spec:
  metrics:
    - name: error_rate
{interval}      successCondition: result[0] < 0.05
"
        )
    };
    let steps = |tag: &str, interval: &str| {
        let s = Scenario::load(&crate::manifests::with_manifest(tag, &yaml(interval), ""))
            .unwrap_or_else(|e| panic!("{e}"));
        let (r, _) = s.manifest.clone().unwrap();
        r.settings
            .iter()
            .find(|st| st.key == "steps")
            .unwrap()
            .toml
            .clone()
    };
    let once = steps("mfields-once", "");
    assert!(once.contains("count = 1"), "{once}");
    let every = steps("mfields-every", "      interval: 10s\n");
    assert!(!every.contains("count"), "{every}");
    assert!(every.contains("interval = \"10s\""), "{every}");
}
