//! `apps/v1` Deployment → the scenario's `[deployment]`, `[pod]` and `[rollout]` settings.
//!
//! Absent fields take the API server's defaults, exactly as it fills them in:
//! `SetDefaults_Deployment` (pkg/apis/apps/v1/defaults.go): replicas 1, strategy RollingUpdate,
//! maxSurge 25 %, maxUnavailable 25 %, revisionHistoryLimit 10, progressDeadlineSeconds 600;
//! minReadySeconds is Go's zero value, 0. `SetDefaults_PodSpec` (pkg/apis/core/v1/defaults.go):
//! terminationGracePeriodSeconds 30. `SetDefaults_Probe`: a zero (or absent) timeoutSeconds
//! becomes 1, periodSeconds 10, successThreshold 1, failureThreshold 3 — so `periodSeconds: 0`
//! is defaulted, not refused; a negative value fails validation. See
//! ../shared/reference/controllers.md §1.2 for the validation rules reproduced here
//! (maxUnavailable ≤ 100 %, not both zero as written, no rollingUpdate under Recreate).
//! `resources.requests` become `[pod] requests`, the pod's effective request (`requests.rs`).

use super::read::Ctx;
use super::yaml::{Kind, Node};

/// An int-or-percent as the Deployment API takes it: a count ≥ 0 or `"N%"`. Returns TOML text.
pub(super) fn int_or_percent(
    cx: &mut Ctx<'_>,
    n: &Node,
    field: &str,
    max_percent: Option<i64>,
    lenient: bool,
) -> Option<(String, i64, bool)> {
    match &n.kind {
        Kind::Int(i) if *i >= 0 => Some((i.to_string(), *i, false)),
        Kind::Str(s) => {
            let (digits, percent) = match s.strip_suffix('%') {
                Some(d) => (d, true),
                // Argo Rollouts reads "20" as 20 % (controllers.md §2.3); the Deployment API
                // refuses it.
                None if lenient => (s.as_str(), true),
                None => (s.as_str(), false),
            };
            match digits.trim().parse::<i64>() {
                Ok(p) if percent && p >= 0 && max_percent.is_none_or(|m| p <= m) => {
                    Some((format!("\"{p}%\""), p, true))
                }
                Ok(p) if percent && p >= 0 => {
                    cx.error(
                        Some(n),
                        format!(
                            "`{field}` = {s} is over {}%: the API refuses it",
                            max_percent.unwrap_or(100)
                        ),
                        "use at most \"100%\" (all pods may be unavailable at once)",
                    );
                    None
                }
                _ => {
                    cx.error(
                        Some(n),
                        format!("`{field}` = \"{s}\" is neither a count nor a percent"),
                        format!("write a whole number ≥ 0 (`{field}: 1`) or a percent string (`{field}: 25%`)"),
                    );
                    None
                }
            }
        }
        _ => {
            cx.error(
                Some(n),
                format!("`{field}` must be a count or a percent, not {}", n.what()),
                format!("write `{field}: 1` or `{field}: 25%`"),
            );
            None
        }
    }
}

/// `spec.replicas`, `minReadySeconds` and `progressDeadlineSeconds`, which a Deployment and an
/// Argo Rollout spell and default alike (1, 0 and 600; `defaults` names whose defaults they
/// are: the labels `explain` shows for replicas, minReadySeconds and the deadline), and which
/// both APIs validate alike: the deadline must exceed minReadySeconds
/// (Kubernetes' `ValidateDeploymentSpec`, Argo's `ValidateRolloutSpec`).
pub(super) fn replica_settings(cx: &mut Ctx<'_>, s: &Node, defaults: [&'static str; 3]) {
    let replicas_n = s.get("replicas");
    let replicas = cx.int_or(replicas_n, "spec.replicas", 1, 0, 100_000);
    cx.set(
        "deployment",
        "replicas",
        replicas.to_string(),
        "spec.replicas",
        replicas_n,
        defaults[0],
        format!("{replicas} pods"),
    );

    let mr_n = s.get("minReadySeconds");
    let min_ready = cx.int_or(mr_n, "spec.minReadySeconds", 0, 0, 86_400);
    cx.set(
        "deployment",
        "min_ready",
        format!("\"{min_ready}s\""),
        "spec.minReadySeconds",
        mr_n,
        defaults[1],
        format!("a pod counts as available {min_ready} s after it is Ready"),
    );

    let pd_n = s.get("progressDeadlineSeconds");
    let pd = cx.int_or(
        pd_n,
        "spec.progressDeadlineSeconds",
        600,
        1,
        i64::from(i32::MAX),
    );
    // Checked after defaulting, as both APIs do: a minReadySeconds of 600 or more needs a
    // deadline written above it.
    if pd <= min_ready {
        cx.error(pd_n.or(mr_n), format!("`progressDeadlineSeconds` ({pd}) must be greater than `minReadySeconds` ({min_ready})"), "the API refuses a deadline that is not above minReadySeconds; raise progressDeadlineSeconds (the default is 600)");
    }
    cx.set(
        "deployment",
        "progress_deadline",
        format!("\"{pd}s\""),
        "spec.progressDeadlineSeconds",
        pd_n,
        defaults[2],
        format!("the rollout is reported stalled after {pd} s without progress"),
    );
}

/// Reads one Deployment document.
pub(super) fn deployment(cx: &mut Ctx<'_>, doc: &Node) {
    let spec = doc.get("spec");
    let spec_n = spec.cloned().unwrap_or(Node {
        line: doc.line,
        column: doc.column,
        kind: Kind::Map(Vec::new()),
    });
    let s = &spec_n;
    cx.other_keys(
        s,
        "spec",
        &[
            "replicas",
            "selector",
            "template",
            "strategy",
            "minReadySeconds",
            "progressDeadlineSeconds",
            "revisionHistoryLimit",
            "paused",
        ],
    );
    replica_settings(
        cx,
        s,
        ["1 (API default)", "0 (API default)", "600 (API default)"],
    );

    if let Some(n) = s.get("revisionHistoryLimit") {
        let v = cx.int_or(
            Some(n),
            "spec.revisionHistoryLimit",
            10,
            0,
            i64::from(i32::MAX),
        );
        cx.unmodelled("spec.revisionHistoryLimit", Some(n), format!("{v} old ReplicaSets kept: not modelled (the simulation keeps every old ReplicaSet, so `undo_at` always finds one)"));
    }
    if cx.bool_or(s.get("paused"), "spec.paused", false) {
        cx.unmodelled("spec.paused", s.get("paused"), "a paused Deployment does not roll out until resumed; the simulation rolls out at [rollout] at");
    }

    // strategy
    let st = s.get("strategy");
    let ty_n = st.and_then(|t| t.get("type"));
    let ty = ty_n.and_then(Node::str).unwrap_or("RollingUpdate");
    let ru = st.and_then(|t| t.get("rollingUpdate"));
    match ty {
        "Recreate" => {
            if ru.is_some() {
                cx.error(
                    ru,
                    "`rollingUpdate` may not be set when the strategy type is Recreate",
                    "remove the rollingUpdate block, or use type: RollingUpdate",
                );
            }
            cx.set(
                "rollout",
                "strategy",
                "\"recreate\"".into(),
                "spec.strategy.type",
                ty_n,
                "",
                "Recreate: every old pod is deleted before new ones start".into(),
            );
        }
        "RollingUpdate" => {
            cx.set(
                "rollout",
                "strategy",
                "\"rolling\"".into(),
                "spec.strategy.type",
                ty_n,
                "RollingUpdate (API default)",
                "a rolling update".into(),
            );
            let mut both_zero = true;
            for (key, name, max) in [
                ("max_surge", "maxSurge", None),
                ("max_unavailable", "maxUnavailable", Some(100)),
            ] {
                let field = format!("spec.strategy.rollingUpdate.{name}");
                let n = ru.and_then(|r| r.get(name));
                let (toml, v) = match n {
                    Some(n) => match int_or_percent(cx, n, &field, max, false) {
                        Some((t, v, _)) => (t, v),
                        None => continue,
                    },
                    None => ("\"25%\"".to_string(), 25),
                };
                both_zero &= v == 0;
                let meaning = if key == "max_surge" {
                    format!(
                        "up to {} extra pods during the update",
                        toml.trim_matches('"')
                    )
                } else {
                    format!(
                        "up to {} pods may be unavailable during the update",
                        toml.trim_matches('"')
                    )
                };
                cx.set(
                    "rollout",
                    key,
                    toml,
                    &field,
                    n,
                    "25% (API default)",
                    meaning,
                );
            }
            if both_zero {
                cx.error(ru, "maxSurge and maxUnavailable may not both be 0", "the rollout could never move: allow maxSurge: 1 (one extra pod) or maxUnavailable: 1");
            }
        }
        other => cx.error(
            ty_n,
            format!("unknown strategy type \"{other}\""),
            "a Deployment's strategy type is RollingUpdate or Recreate",
        ),
    }
    pod_template(cx, s, "spec.template.spec");
}

/// Reads the pod template (`spec.template.spec`): grace period, then the workload container.
pub(super) fn pod_template(cx: &mut Ctx<'_>, s: &Node, at: &str) {
    let Some(ps) = s.at(&["template", "spec"]) else {
        cx.error(
            Some(s),
            "the manifest has no pod template (`spec.template.spec`)",
            "add the pod template with its containers",
        );
        return;
    };
    let g_n = ps.get("terminationGracePeriodSeconds");
    let grace = cx.int_or(g_n, "terminationGracePeriodSeconds", 30, 0, 86_400);
    cx.set(
        "pod",
        "termination_grace",
        format!("\"{grace}s\""),
        &format!("{at}.terminationGracePeriodSeconds"),
        g_n,
        "30 (API default)",
        format!("SIGKILL {grace} s after termination starts"),
    );
    let containers = ps.get("containers").map(Node::items).unwrap_or(&[]);
    let Some(c) = containers.first() else {
        cx.error(
            Some(ps),
            "the pod template has no containers",
            "add `containers:` with the application's container",
        );
        return;
    };
    for (i, other) in containers.iter().enumerate().skip(1) {
        let name = other.get("name").and_then(Node::str).unwrap_or("?");
        cx.unmodelled(&format!("{at}.containers[{i}]"), Some(other), format!("sidecar container \"{name}\" is not modelled: the pod is simulated as its first container alone"));
    }
    if let Some(n) = ps.get("initContainers") {
        cx.unmodelled(
            &format!("{at}.initContainers"),
            Some(n),
            "init containers are not modelled separately: give their time in [pod] startup",
        );
    }
    let ca = format!("{at}.containers[0]");
    match c.get("image") {
        Some(n) if n.str().is_some() => {
            cx.out.image = Some((n.str().unwrap_or("").to_string(), n.line, n.column))
        }
        n => cx.error(
            n.or(Some(c)),
            "the container has no image",
            "set `image: name:tag`; the tag names the version it runs",
        ),
    }
    probe(cx, c, &ca);
    for name in ["livenessProbe", "startupProbe"] {
        if let Some(n) = c.get(name) {
            probe_values(cx, n, &format!("{ca}.{name}"));
            cx.unmodelled(
                &format!("{ca}.{name}"),
                Some(n),
                format!("a failing {name} restarts the container in the real cluster"),
            );
        }
    }
    pre_stop(cx, c, &ca);
    super::requests::pod_requests(cx, ps, at);
}

/// Probe fields, checked and defaulted as the API server does (`SetDefaults_Probe`).
fn probe_values(cx: &mut Ctx<'_>, p: &Node, field: &str) -> [i64; 5] {
    let mut out = [0; 5];
    for (i, (name, default)) in [
        ("initialDelaySeconds", 0),
        ("periodSeconds", 10),
        ("timeoutSeconds", 1),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ]
    .into_iter()
    .enumerate()
    {
        let n = p.get(name);
        let v = cx.int_or(
            n,
            &format!("{field}.{name}"),
            default,
            0,
            i64::from(i32::MAX),
        );
        // SetDefaults_Probe: zero means "unset" for everything but initialDelaySeconds.
        out[i] = if v == 0 && i > 0 { default } else { v };
    }
    out
}

fn probe(cx: &mut Ctx<'_>, c: &Node, ca: &str) {
    let field = format!("{ca}.readinessProbe");
    let Some(p) = c.get("readinessProbe") else {
        cx.set(
            "pod",
            "readiness",
            "false".into(),
            &field,
            None,
            "none",
            "no readiness probe: a pod is Ready as soon as its container has started".into(),
        );
        return;
    };
    let [delay, period, timeout, success, failure] = probe_values(cx, p, &field);
    let toml = format!("{{ initial_delay = \"{delay}s\", period = \"{period}s\", success_threshold = {success}, failure_threshold = {failure} }}");
    cx.set("pod", "readiness", toml, &field, Some(p), "", format!("probed every {period} s after {delay} s; Ready after {success} success(es), unready after {failure} failure(s)"));
    if timeout != 1 {
        cx.unmodelled(
            &format!("{field}.timeoutSeconds"),
            p.get("timeoutSeconds"),
            format!(
                "a probe timeout of {timeout} s is not modelled: simulated probes answer at once"
            ),
        );
    }
}

/// `lifecycle.preStop`: the `sleep` action (Kubernetes 1.29+) or the `exec: sleep N` idiom.
fn pre_stop(cx: &mut Ctx<'_>, c: &Node, ca: &str) {
    let field = format!("{ca}.lifecycle.preStop");
    let Some(h) = c.at(&["lifecycle", "preStop"]) else {
        cx.set(
            "pod",
            "pre_stop",
            "\"0s\"".into(),
            &field,
            None,
            "none",
            "no preStop hook: SIGTERM at once, while load balancers may still route to the pod"
                .into(),
        );
        return;
    };
    let secs = if let Some(n) = h.at(&["sleep", "seconds"]) {
        cx.int(n, &format!("{field}.sleep.seconds"), 0, 86_400)
    } else if let Some(cmd) = h.at(&["exec", "command"]) {
        let words: Vec<&str> = cmd.items().iter().filter_map(Node::str).collect();
        let line = words.join(" ");
        // `sleep N`, `/bin/sleep N`, or `sh -c "sleep N"`.
        let parse = |s: &str| {
            let mut w = s.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some(c), Some(n), None) if c.ends_with("sleep") => {
                    n.trim_end_matches('s').parse::<i64>().ok()
                }
                _ => None,
            }
        };
        let secs = parse(&line).or_else(|| words.last().and_then(|l| parse(l)));
        if secs.is_none() {
            cx.unmodelled(&field, Some(h), format!("preStop command `{line}` is not a sleep: its duration is not modelled (0 s assumed)"));
        }
        secs
    } else {
        cx.unmodelled(
            &field,
            Some(h),
            "a preStop hook other than sleep (httpGet, tcpSocket) is not modelled (0 s assumed)",
        );
        None
    };
    let secs = secs.unwrap_or(0);
    cx.set(
        "pod",
        "pre_stop",
        format!("\"{secs}s\""),
        &field,
        Some(h),
        "",
        format!("SIGTERM {secs} s after deletion starts (endpoints are withdrawn meanwhile)"),
    );
}
