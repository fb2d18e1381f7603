//! Common random numbers, checked: a comparison means something only when every run sees the
//! same requests. Arrivals, users and idempotency come from the `traffic` stream, derived from
//! the root seed (ARCHITECTURE.md, "Common random numbers"), and a request's luck from the
//! `service` stream; the strategy, the balancer and the pods never change them. So two runs
//! see identical traffic exactly when their seed and their resolved `[traffic]` settings
//! (rate, profile, users and their distribution, idempotent share, client timeout) and
//! duration are equal — which is what is compared here, on the resolved values, so that
//! `"1m"` and `60` are equal.

use crate::scenario::Scenario;

/// What differs between `a`'s and `b`'s traffic, as `setting (a vs b)` phrases; empty when
/// the runs see identical traffic.
pub fn traffic_differences(a: &Scenario, b: &Scenario) -> Vec<String> {
    let (ta, tb) = (&a.traffic, &b.traffic);
    let mut d = Vec::new();
    let mut check = |name: &str, same: bool, x: String, y: String| {
        if !same {
            d.push(format!("{name} ({x} vs {y})"));
        }
    };
    check(
        "seed",
        a.seed == b.seed,
        a.seed.to_string(),
        b.seed.to_string(),
    );
    check(
        "duration",
        ta.end == tb.end,
        format!("{} s", ta.end.as_secs_f64()),
        format!("{} s", tb.end.as_secs_f64()),
    );
    check(
        "traffic.rate",
        ta.rate == tb.rate,
        ta.rate.to_string(),
        tb.rate.to_string(),
    );
    check(
        "traffic.profile",
        ta.profile == tb.profile,
        format!("{:?}", ta.profile).to_lowercase(),
        format!("{:?}", tb.profile).to_lowercase(),
    );
    check(
        "traffic.users",
        ta.users == tb.users,
        ta.users.to_string(),
        tb.users.to_string(),
    );
    check(
        "traffic.user_distribution",
        ta.user_distribution == tb.user_distribution,
        format!("{:?}", ta.user_distribution).to_lowercase(),
        format!("{:?}", tb.user_distribution).to_lowercase(),
    );
    check(
        "traffic.idempotent_share",
        ta.idempotent_share == tb.idempotent_share,
        ta.idempotent_share.to_string(),
        tb.idempotent_share.to_string(),
    );
    let timeout = |t: Option<crate::engine::SimDuration>| {
        t.map_or("none".into(), |t| format!("{} s", t.as_secs_f64()))
    };
    check(
        "traffic.timeout",
        ta.timeout == tb.timeout,
        timeout(ta.timeout),
        timeout(tb.timeout),
    );
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str, traffic: &str) -> Scenario {
        let text = format!(
            "duration = \"60s\"\n{extra}\n[traffic]\nrate = 50\n{traffic}\n[versions.v1]\nservice = \"10ms\"\n[deployment]\nreplicas = 2\nversion = \"v1\"\n"
        );
        Scenario::parse("t.toml", "t", &text).unwrap()
    }

    #[test]
    fn equal_settings_written_differently_are_equal_and_differences_are_named() {
        let a = scenario("seed = 3", "timeout = \"10s\"");
        let b = scenario("seed = 3", "timeout = 10");
        assert!(traffic_differences(&a, &b).is_empty());
        let c = scenario("seed = 4", "timeout = \"5s\"\nusers = 7");
        assert_eq!(
            traffic_differences(&a, &c),
            [
                "seed (3 vs 4)",
                "traffic.users (10000 vs 7)",
                "traffic.timeout (10 s vs 5 s)"
            ]
        );
    }
}
