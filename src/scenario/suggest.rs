//! Help for misspelled and missing keys: "did you mean", and the Kubernetes, Argo Rollouts and
//! Flagger spellings people copy from their manifests mapped to rollsim's.
//!
//! Manifests spell keys in camelCase with a unit suffix (`periodSeconds`); rollsim spells them
//! in snake_case and durations take units (`period = "10s"`, or a number of seconds). Most
//! mappings fall out of comparing the two with case, `_`/`-` and a `Seconds`/`Count`/`Enabled`
//! suffix ignored; the few whose words differ are listed in [`RENAMED`].

use super::problems::closest;

/// Manifest spellings whose words differ from rollsim's key.
const RENAMED: [(&str, &str); 4] = [
    ("terminationGracePeriodSeconds", "termination_grace"),
    ("autoPromotionSeconds", "auto_promotion_after"),
    ("previewReplicaCount", "preview_replicas"),
    ("readinessProbe", "readiness"),
];

/// Keys people put in the wrong table, with the table that takes them (manifests keep
/// `maxSurge` beside `replicas` in the Deployment; rollsim keeps the rollout's settings in
/// `[rollout]`).
const HOMES: [(&str, &str); 14] = [
    ("max_surge", "[rollout]"),
    ("max_unavailable", "[rollout]"),
    ("strategy", "[rollout]"),
    ("replicas", "[deployment]"),
    ("min_ready", "[deployment]"),
    ("progress_deadline", "[deployment]"),
    ("pre_stop", "[pod] (or [versions.NAME.pod])"),
    ("termination_grace", "[pod] (or [versions.NAME.pod])"),
    ("readiness", "[pod] (or [versions.NAME.pod])"),
    ("concurrency", "[pod] (or [versions.NAME.pod])"),
    ("rate", "[traffic]"),
    ("timeout", "[traffic]"),
    ("nodes", "[cluster]"),
    ("service", "[versions.NAME]"),
];

/// Lower case without `_`/`-` and without a unit suffix.
fn normal(key: &str) -> String {
    let k: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    for suffix in ["seconds", "count", "enabled"] {
        if let Some(stem) = k.strip_suffix(suffix) {
            if !stem.is_empty() {
                return stem.to_string();
            }
        }
    }
    k
}

/// The accepted key `name` most likely means, and whether `name` is a manifest spelling.
pub(super) fn suggestion(name: &str, accepted: &[String]) -> Option<(String, bool)> {
    let manifest = name.chars().any(|c| c.is_ascii_uppercase());
    if let Some((_, ours)) = RENAMED.iter().find(|(theirs, _)| *theirs == name) {
        if accepted.iter().any(|a| a == ours) {
            return Some((ours.to_string(), true));
        }
    }
    let n = normal(name);
    if let Some(a) = accepted.iter().find(|a| normal(a) == n) {
        return Some((a.clone(), manifest));
    }
    closest(name, accepted).map(|a| (a.to_string(), false))
}

/// The help line of an unknown key: the likely key, then every accepted one.
pub(super) fn unknown_key_help(name: &str, accepted: &[String]) -> String {
    let list = if accepted.is_empty() {
        "this table takes no keys".to_string()
    } else {
        format!("accepted here: {}", accepted.join(", "))
    };
    if let Some(help) = other_form(name, accepted) {
        return format!("{help}; {list}");
    }
    let elsewhere = HOMES
        .iter()
        .find(|(key, _)| normal(key) == normal(name) && !accepted.iter().any(|a| a == key));
    if let (None, Some((key, table))) = (suggestion(name, accepted), elsewhere) {
        return format!("`{key}` belongs in {table}, not here; {list}");
    }
    match suggestion(name, accepted) {
        Some((ours, true)) => {
            let units = if name.ends_with("Seconds") {
                " (a duration: \"10s\" or a number of seconds)"
            } else {
                ""
            };
            format!("`{name}` is the Kubernetes/Argo/Flagger spelling; rollsim calls it `{ours}`{units}; {list}")
        }
        Some((ours, false)) => format!("did you mean `{ours}`? {list}"),
        None => list,
    }
}

/// A key of the other table form of `propagation_delay` (a distribution table, or
/// `{ add, remove }`): the form is chosen by the table's first key, so a mix of the two is
/// told as such rather than as a misspelling.
fn other_form(name: &str, accepted: &[String]) -> Option<String> {
    let is = |keys: &[&str]| accepted.iter().map(String::as_str).eq(keys.iter().copied());
    let dist = ["dist", "mean", "p99", "min", "max", "value"];
    if is(&dist) && matches!(name, "add" | "remove") {
        Some("a table with `dist` is one delay for both directions; for separate delays give each its own: { add = { dist = … }, remove = … }".into())
    } else if is(&["add", "remove"]) && dist.contains(&name) {
        Some(format!("`{name}` belongs in a distribution table; a table with `add`/`remove` gives each direction its own: {{ add = {{ dist = \"uniform\", min = \"1s\", max = \"3s\" }}, remove = \"1s\" }}"))
    } else {
        None
    }
}

/// The help line of a missing key, with an example value.
pub(super) fn missing_help(name: &str) -> String {
    let example = match name {
        "duration" => "duration = \"10m\"",
        "traffic" => "[traffic] with rate = 100",
        "rate" => "rate = 100 (requests per second)",
        "versions" => "[versions.v1] with service = \"50ms\"",
        "service" => {
            "service = \"50ms\" or { dist = \"lognormal\", mean = \"50ms\", p99 = \"200ms\" }"
        }
        "deployment" => "[deployment] with replicas = 3 and version = \"v1\"",
        "replicas" => "replicas = 3",
        "version" => "version = \"v1\" (a name under [versions])",
        "to" => "to = \"v2\" (a name under [versions])",
        "at" => "at = \"30s\"",
        "strategy" => "strategy = \"rolling\" (or recreate, blue_green, canary, flagger)",
        "dist" => "dist = \"exponential\" (or constant, lognormal, uniform)",
        "kind" => "kind = \"…\"; see the scenario reference in README.md",
        "metric" => "metric = \"error_rate\"",
        "metrics" => "[[….metrics]] with metric = \"error_rate\" and max = 0.01",
        _ => "",
    };
    if example.is_empty() {
        format!("add `{name} = …`; the scenarios in scenarios/ are complete examples")
    } else {
        format!("add {example}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn manifest_spellings_map_to_ours() {
        let pod = keys(&["pre_stop", "termination_grace", "readiness"]);
        let probe = keys(&[
            "initial_delay",
            "period",
            "success_threshold",
            "failure_threshold",
        ]);
        let rollout = keys(&["to", "max_surge", "max_unavailable", "scale_down_delay"]);
        let cases = [
            ("periodSeconds", &probe, "period"),
            ("initialDelaySeconds", &probe, "initial_delay"),
            ("failureThreshold", &probe, "failure_threshold"),
            ("maxSurge", &rollout, "max_surge"),
            ("scaleDownDelaySeconds", &rollout, "scale_down_delay"),
            ("terminationGracePeriodSeconds", &pod, "termination_grace"),
            ("preStop", &pod, "pre_stop"),
        ];
        for (theirs, accepted, ours) in cases {
            assert_eq!(
                suggestion(theirs, accepted),
                Some((ours.to_string(), true)),
                "{theirs}"
            );
        }
    }

    #[test]
    fn a_key_in_the_wrong_table_is_sent_home() {
        let deployment = keys(&["replicas", "version", "min_ready", "progress_deadline"]);
        let help = unknown_key_help("maxSurge", &deployment);
        assert!(
            help.starts_with("`max_surge` belongs in [rollout], not here"),
            "{help}"
        );
        let help = unknown_key_help("rate", &keys(&["nodes"]));
        assert!(help.starts_with("`rate` belongs in [traffic]"), "{help}");
    }

    #[test]
    fn typos_get_a_did_you_mean_and_strangers_only_the_list() {
        let rollout = keys(&["to", "max_surge", "max_unavailable"]);
        assert_eq!(
            suggestion("max_surg", &rollout),
            Some(("max_surge".into(), false))
        );
        assert!(unknown_key_help("max_surg", &rollout).starts_with("did you mean `max_surge`?"));
        assert_eq!(suggestion("colour", &rollout), None);
        assert!(unknown_key_help("colour", &rollout).starts_with("accepted here: to, max_surge"));
    }
}
