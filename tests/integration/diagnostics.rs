//! How structural problems are told: every one at once, in words (no Rust type names), with
//! "did you mean" and manifest spellings mapped, duplicate keys at both copies, carets under
//! the right character whatever the tabs and wide characters, and files that are not scenarios
//! (binary, not UTF-8, a Kubernetes manifest) named as such.

use rollsim::scenario::Scenario;

use crate::common::{rollsim, temp_dir};

fn rendered(text: &str) -> String {
    match Scenario::parse("bad.toml", "bad", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const MULTI: &str = r#"duration = "1m"
[traffic]
rate = "fast"
[versions.v1]
service = { dist = "exponential", meen = "40ms" }
[versions.v2]
service = "40ms"
pod = { readiness = 5, terminationGracePeriodSeconds = 30 }
[deployment]
replicas = 3
version = "v1"
[rollout]
to = "v2"
at = "10s"
strategy = "rolling"
maxSurge = 1
max_unavailabel = 0
"#;

/// The whole rendering of a file with six structural problems (a golden output).
#[test]
fn a_file_with_six_structural_problems_renders_them_all() {
    let rollout_keys = "to, at, strategy, max_surge, max_unavailable, undo_at, rollback_on_stall, analysis, preview_replicas, auto_promotion, auto_promotion_after, promote_at, scale_down_delay, abort_scale_down_delay, smoke_test, pre_promotion_analysis, post_promotion_analysis, steps, traffic_routing, max_traffic_weight, min_pods_per_replica_set, dynamic_stable_scale, interval, threshold, step_weight, step_weights, max_weight";
    let got = rendered(MULTI);
    // Another helper may add keys to [rollout]; the list is checked apart from the layout.
    let mut normalised = String::new();
    for line in got.lines() {
        let line = match line.split_once("accepted here: ") {
            Some((head, list)) if list.starts_with("to, at, strategy") => {
                assert!(
                    list.starts_with(rollout_keys) || list.contains("max_surge"),
                    "{list}"
                );
                format!("{head}accepted here: <rollout keys>")
            }
            _ => line.to_string(),
        };
        normalised.push_str(&line);
        normalised.push('\n');
    }
    let expected = r#"error: `traffic.rate` must be a number, not the string "fast"
 --> bad.toml:3:8
  |
3 | rate = "fast"
  |        ^^^^^^
  = help: write numbers without quotes, e.g. 100 or 0.5

error: unknown key `meen` in [versions.v1.service]
 --> bad.toml:5:35
  |
5 | service = { dist = "exponential", meen = "40ms" }
  |                                   ^^^^
  = help: did you mean `mean`? accepted here: dist, mean, p99, min, max, value

error: `versions.v2.pod.readiness` must be true, false, or a probe table such as { period = "5s", failure_threshold = 3 }, not the whole number 5
 --> bad.toml:8:21
  |
8 | pod = { readiness = 5, terminationGracePeriodSeconds = 30 }
  |                     ^
  = help: the scenarios in scenarios/ show each key with a value of the right type

error: unknown key `terminationGracePeriodSeconds` in [versions.v2.pod]
 --> bad.toml:8:24
  |
8 | pod = { readiness = 5, terminationGracePeriodSeconds = 30 }
  |                        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  = help: `terminationGracePeriodSeconds` is the Kubernetes/Argo/Flagger spelling; rollsim calls it `termination_grace` (a duration: "10s" or a number of seconds); accepted here: concurrency, queue, startup, app_init, warmup, readiness, pre_stop, termination_grace, on_sigterm, requests

error: unknown key `maxSurge` in [rollout]
  --> bad.toml:16:1
   |
16 | maxSurge = 1
   | ^^^^^^^^
  = help: `maxSurge` is the Kubernetes/Argo/Flagger spelling; rollsim calls it `max_surge`; accepted here: <rollout keys>

error: unknown key `max_unavailabel` in [rollout]
  --> bad.toml:17:1
   |
17 | max_unavailabel = 0
   | ^^^^^^^^^^^^^^^
  = help: did you mean `max_unavailable`? accepted here: <rollout keys>
"#;
    assert_eq!(normalised, expected, "got:\n{got}");
}

#[test]
fn wrong_types_are_told_in_words_without_rust_type_names() {
    let cases = [
        ("rate = 10", "rate = true", "must be a number, not true"),
        (
            "replicas = 3",
            "replicas = 2.5",
            "must be a whole number, not the number 2.5",
        ),
        (
            "version = \"v1\"",
            "version = 1",
            "must be a string in double quotes",
        ),
        (
            "service = \"40ms\"",
            "service = true",
            "a duration such as \"50ms\" or a distribution table",
        ),
        (
            "max_surge = 1",
            "max_surge = 1.5",
            "a whole number of pods or a percent string",
        ),
        ("at = \"10s\"", "at = [1]", "a duration such as \"30s\""),
        (
            "replicas = 3",
            "replicas = 18446744073709551616",
            "not 18446744073709551616, which is too large",
        ),
        (
            "replicas = 3",
            "replicas = 1979-05-27",
            "not the date/time 1979-05-27",
        ),
    ];
    let base = MULTI
        .replace("rate = \"fast\"", "rate = 10")
        .replace(
            "service = { dist = \"exponential\", meen = \"40ms\" }",
            "service = \"50ms\"",
        )
        .replace(
            "pod = { readiness = 5, terminationGracePeriodSeconds = 30 }\n",
            "",
        )
        .replace("maxSurge = 1", "max_surge = 1")
        .replace("max_unavailabel = 0", "max_unavailable = 0");
    assert!(Scenario::parse("ok.toml", "ok", &base).is_ok());
    for (from, to, needle) in cases {
        let text = base.replace(from, to);
        let got = rendered(&text);
        assert!(got.contains(needle), "{to}: {needle:?} missing in\n{got}");
        for rust in [
            "i64", "f64", "untagged", "enum", "Raw", "struct", "u32", "sequence", "map",
        ] {
            assert!(!got.contains(rust), "{to}: Rust name {rust:?} in\n{got}");
        }
    }
}

#[test]
fn several_wrong_types_and_missing_keys_are_all_reported() {
    let text = "duration = true\n[traffic]\nrate = \"x\"\n[versions.v1]\nservice = \"1ms\"\n[deployment]\nversion = 3\n[rollout]\nto = \"v1\"\nstrategy = 5\n";
    let got = rendered(text);
    for needle in [
        "`duration` must be a duration",
        "`traffic.rate` must be a number",
        "`deployment` needs `replicas`",
        "`deployment.version` must be a string",
        "`rollout` needs `at`",
        "`rollout.strategy` must be a string",
    ] {
        assert!(got.contains(needle), "{needle:?} missing in\n{got}");
    }
}

#[test]
fn a_duplicate_key_points_at_both_copies() {
    let text = "duration = \"1m\"\nduration = \"2m\"\n[traffic]\nrate = 1\n[traffic]\n";
    let got = rendered(text);
    assert!(got.contains("duplicate key `duration`"), "{got}");
    assert!(got.contains("bad.toml:2:1"), "{got}");
    assert!(got.contains("::: bad.toml:1:1"), "{got}");
    assert!(got.contains("`duration` first defined here"), "{got}");
    assert!(got.contains("duplicate key `traffic`"), "{got}");
    assert!(got.contains("::: bad.toml:3:2"), "{got}");
}

#[test]
fn carets_stay_under_the_value_after_tabs_and_wide_characters() {
    // A tab before the key, and a wide character in the description on the same line.
    let text = "duration = \"1m\"\n[traffic]\n\trate = \"fast\"\n";
    let got = rendered(text);
    assert!(
        got.contains("3 |     rate = \"fast\"\n  |            ^^^^^^"),
        "{got}"
    );
    // Wide characters before the error on the same line: `"日本"` is 4 characters, 6 columns.
    let text = "description = \"日本\"; rate = 1\n";
    let got = rendered(text);
    let caret = format!(
        "1 | description = \"日本\"; rate = 1\n  | {}^",
        " ".repeat(20)
    );
    assert!(got.contains(&caret), "{got}");
    assert!(
        got.contains("bad.toml:1:19"),
        "column counts characters: {got}"
    );
}

#[test]
fn files_that_are_not_scenarios_say_what_they_are() {
    let dir = temp_dir("not-scenarios");
    let cases: [(&str, &[u8], &str); 3] = [
        ("binary.toml", b"duration\0\x01\x02", "binary file"),
        (
            "latin1.toml",
            b"duration = \"1m\"\ndescription = \"caf\xe9\"\n",
            "bad.toml",
        ),
        (
            "deployment.yaml",
            b"# app\napiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 3\n",
            "Kubernetes manifest",
        ),
    ];
    for (name, bytes, _) in &cases {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let o = rollsim(&["validate", dir.join("binary.toml").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("binary file") && err.contains("NUL byte at byte 8"),
        "{err}"
    );
    let o = rollsim(&["validate", dir.join("latin1.toml").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("not UTF-8") && err.contains("byte 0xE9 at line 2, column 19"),
        "{err}"
    );
    assert!(err.contains("latin1.toml:2:19"), "{err}");
    let o = rollsim(&["validate", dir.join("deployment.yaml").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("Kubernetes manifest (YAML)"), "{err}");
    assert!(err.contains("deployment.yaml:2:1"), "{err}");
    assert!(!err.contains("invalid TOML"), "{err}");
}

/// TOML 1.1 syntax (a multi-line inline table with a trailing comma) parses, and a problem the
/// validator finds inside it keeps its line and column: values and positions come from one
/// parse. (With a TOML 1.0 parser for positions, this error had no place at all.)
#[test]
fn a_toml_1_1_file_keeps_its_positions() {
    let text = "duration = \"1m\"\n[traffic]\nrate = 10\n[versions.v1]\nservice = {\n  dist = \"exponential\",\n  mean = \"fortnight\",\n}\n[deployment]\nreplicas = 3\nversion = \"v1\"\n";
    let got = rendered(text);
    assert!(got.contains("bad.toml:7:10"), "{got}");
    assert!(got.contains("is not a duration"), "{got}");
}

#[test]
fn yaml_syntax_is_named_as_such() {
    let got = rendered("duration: 1m\n");
    assert!(got.contains("bad.toml:1:9"), "{got}");
    assert!(got.contains("looks like YAML (`key: value`)"), "{got}");
    // An ordinary TOML mistake gets the ordinary help.
    let got = rendered("duration = 1m\n");
    assert!(!got.contains("YAML"), "{got}");
}

#[test]
fn missing_top_level_tables_are_all_named() {
    let got = rendered("duration = \"1m\"\n[traffic]\nrate = \"x\"\n");
    for needle in [
        "error: the scenario needs `versions`\n  --> bad.toml\n",
        "error: the scenario needs `deployment`\n  --> bad.toml\n",
        "`traffic.rate` must be a number",
    ] {
        assert!(got.contains(needle), "{needle:?} missing in\n{got}");
    }
}

#[test]
fn manifest_spellings_are_mapped_inside_nested_tables_and_across_tables() {
    let text = "duration = \"1m\"\n[traffic]\nrate = 1\n[pod]\nreadiness = { periodSeconds = 5, initialDelaySeconds = 2 }\n[versions.v1]\nservice = \"1ms\"\n[deployment]\nreplicas = 1\nversion = \"v1\"\nmaxSurge = 1\n";
    let got = rendered(text);
    for needle in [
        "unknown key `periodSeconds` in [pod.readiness]",
        "rollsim calls it `period`",
        "rollsim calls it `initial_delay`",
        "bad.toml:11:1",
        "`max_surge` belongs in [rollout], not here",
    ] {
        assert!(got.contains(needle), "{needle:?} missing in\n{got}");
    }
}

/// A scenario with a `[load_balancer]` table ending in `lines` (the table is line 9).
fn balancer(lines: &str) -> String {
    format!("duration = \"1m\"\n[traffic]\nrate = 10\n[versions.v1]\nservice = \"50ms\"\n[deployment]\nreplicas = 3\nversion = \"v1\"\n[load_balancer]\n{lines}\n")
}

/// `propagation_delay` takes a distribution or `{ add, remove }`; a misspelled key inside the
/// split form is told at the key, with "did you mean" (it was "not in a form this key
/// accepts", at the whole table).
#[test]
fn a_misspelled_key_in_a_split_propagation_delay_is_named() {
    let got = rendered(&balancer(
        "propagation_delay = { add = \"2s\", remov = \"1s\" }",
    ));
    let expected = r#"error: unknown key `remov` in [load_balancer.propagation_delay]
  --> bad.toml:10:35
   |
10 | propagation_delay = { add = "2s", remov = "1s" }
   |                                   ^^^^^
  = help: did you mean `remove`? accepted here: add, remove
"#;
    assert_eq!(got, expected);
}

/// A wrong value inside either multi-form key of `[load_balancer]` is reported at its own
/// position, in words; every problem at once.
#[test]
fn wrong_values_inside_balancer_tables_are_placed_and_told_in_words() {
    let cases: &[(&str, &[&str])] = &[
        (
            "propagation_delay = { add = true }",
            &["bad.toml:10:29", "`load_balancer.propagation_delay.add` must be a duration such as \"50ms\" or a distribution table", "not true"],
        ),
        (
            "propagation_delay = { remove = { dist = \"uniform\", mn = \"1s\" } }",
            &["bad.toml:10:52", "unknown key `mn` in [load_balancer.propagation_delay.remove]", "did you mean `min`?"],
        ),
        (
            "propagation_delay = { dist = \"uniform\", mn = \"1s\" }",
            &["bad.toml:10:41", "unknown key `mn` in [load_balancer.propagation_delay]", "did you mean `min`?"],
        ),
        (
            "propagation_delay = { ad = \"1s\" }",
            &["bad.toml:10:23", "did you mean `add`?"],
        ),
        (
            "propagation_delay = { mean = \"1s\" }",
            &["bad.toml:10:21", "`load_balancer.propagation_delay` needs `dist`"],
        ),
        (
            "propagation_delay = true",
            &["bad.toml:10:21", "`load_balancer.propagation_delay` must be a duration such as \"2s\", a distribution table", "{ add = …, remove = … }", "not true"],
        ),
        (
            "health_check = { interval = true, healthy_treshold = 3, unhealthy_threshold = \"2\" }",
            &[
                "bad.toml:10:29",
                "`load_balancer.health_check.interval` must be a duration",
                "bad.toml:10:35",
                "unknown key `healthy_treshold` in [load_balancer.health_check]",
                "did you mean `healthy_threshold`?",
                "bad.toml:10:79",
                "`load_balancer.health_check.unhealthy_threshold` must be a whole number, not the string \"2\"",
            ],
        ),
        (
            "health_check = 3",
            &["bad.toml:10:16", "`load_balancer.health_check` must be true, false, or a health-check table", "not the whole number 3"],
        ),
    ];
    for (line, needles) in cases {
        let got = rendered(&balancer(line));
        for needle in *needles {
            assert!(got.contains(needle), "{line}: {needle:?} missing in\n{got}");
        }
        assert!(!got.contains("not in a form"), "{line}:\n{got}");
        let placed = needles
            .iter()
            .filter(|n| n.starts_with("bad.toml:"))
            .count();
        assert_eq!(got.matches("error: ").count(), placed, "{line}:\n{got}");
    }
}

/// The two table forms of `propagation_delay` mixed in one table: told as two forms, not as
/// a misspelling.
#[test]
fn mixing_the_two_forms_of_propagation_delay_is_explained() {
    let got = rendered(&balancer(
        "propagation_delay = { dist = \"uniform\", min = \"1s\", max = \"2s\", add = \"1s\" }",
    ));
    assert!(got.contains("bad.toml:10:65"), "{got}");
    assert!(
        got.contains("a table with `dist` is one delay for both directions"),
        "{got}"
    );
    let got = rendered(&balancer(
        "propagation_delay = { add = \"1s\", dist = \"uniform\" }",
    ));
    assert!(got.contains("bad.toml:10:35"), "{got}");
    assert!(
        got.contains("`dist` belongs in a distribution table"),
        "{got}"
    );
}

/// `deregistration_delay` (like `timeout`, `progress_deadline`, `abort_scale_down_delay`)
/// takes "none": its messages say so.
#[test]
fn keys_that_take_none_say_so() {
    let got = rendered(&balancer("deregistration_delay = false"));
    assert!(got.contains("bad.toml:10:24"), "{got}");
    assert!(got.contains("or the word \"none\", not false"), "{got}");
    let got = rendered(&balancer("deregistration_delay = \"never\""));
    assert!(got.contains("bad.toml:10:24"), "{got}");
    assert!(
        got.contains("\"never\" is neither a duration nor \"none\""),
        "{got}"
    );
    let got = rendered(&balancer("").replace("rate = 10", "rate = 10\ntimeout = \"forever\""));
    assert!(got.contains("bad.toml:4:11"), "{got}");
    assert!(
        got.contains("`traffic.timeout` = \"forever\" is neither a duration nor \"none\""),
        "{got}"
    );
    let got = rendered(&balancer("").replace(
        "version = \"v1\"",
        "version = \"v1\"\nprogress_deadline = [600]",
    ));
    assert!(got.contains("bad.toml:9:21"), "{got}");
    assert!(got.contains("or the word \"none\", not an array"), "{got}");
}

/// Every `[load_balancer]` key given a value of the wrong kind: the message is placed at the
/// value and has no Rust type name in it.
#[test]
fn every_balancer_key_rejects_a_wrong_value_in_words_at_its_place() {
    let keys = [
        ("preset", "3"),
        ("policy", "1"),
        ("propagation_delay", "[1]"),
        ("retries", "1.5"),
        ("retry_on_reset", "\"yes\""),
        ("retry_non_idempotent", "1"),
        ("max_fails", "\"2\""),
        ("fail_timeout", "true"),
        ("ejection", "[1]"),
        ("max_ejection_percent", "\"10%\""),
        ("health_scope", "1"),
        ("worker_processes", "2.5"),
        ("reload_overlap", "{}"),
        ("attempt_overhead", "false"),
        ("health_check", "\"yes\""),
        ("deregistration_delay", "[]"),
        ("slow_start", "{ x = 1 }"),
    ];
    for (key, value) in keys {
        let got = rendered(&balancer(&format!("{key} = {value}")));
        let column = key.len() + 4;
        assert!(
            got.contains(&format!("bad.toml:10:{column}\n")),
            "{key}: not placed at its value:\n{got}"
        );
        assert!(
            got.contains(&format!("`load_balancer.{key}` must be ")),
            "{key}:\n{got}"
        );
        for word in [
            "Raw", "untagged", "variant", "i64", "f64", "u32", "struct", "map", "sequence",
        ] {
            assert!(!got.contains(word), "{key}: {word:?} in\n{got}");
        }
    }
}
