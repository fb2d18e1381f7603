//! The `[sessions]` table: where login sessions live, cookie affinity, what a lost session
//! costs (see `model::session` for the behaviour and its sources).

use super::problems::{child, Path, Problems};
use super::raw::*;
use crate::engine::{SimDuration, SimTime};
use crate::model::{Dist, JwtSpec, OnLoss, SessionSpec, SessionStore, SharedStoreSpec};

/// Resolves `[sessions]` for the versions `names`.
pub(super) fn sessions(
    pr: &mut Problems<'_>,
    raw: &RawSessions,
    names: &[String],
) -> Option<SessionSpec> {
    let p: Path = vec!["sessions".into()];
    let shared_only = [
        ("latency", raw.latency.is_some()),
        ("capacity", raw.capacity.is_some()),
        ("queue", raw.queue.is_some()),
        ("outage", raw.outage.is_some()),
    ];
    let store = match raw.store.as_str() {
        "in_memory" | "shared" | "jwt" => raw.store.as_str(),
        o => {
            pr.add(
                &child(&p, "store"),
                format!("unknown session store \"{o}\""),
                "use \"in_memory\" (sessions in the pod's memory), \"shared\" (a Redis-like store) or \"jwt\" (signed tokens)",
            );
            return None;
        }
    };
    if store != "shared" {
        for (key, given) in shared_only {
            if given {
                pr.add(
                    &child(&p, key),
                    format!("`{key}` describes a shared session store, but store = \"{store}\""),
                    "set store = \"shared\", or remove this key",
                );
            }
        }
    }
    if store != "jwt" && raw.versions.is_some() {
        pr.add(
            &child(&p, "versions"),
            format!("signing keys describe JWT sessions, but store = \"{store}\""),
            "set store = \"jwt\", or remove [sessions.versions]",
        );
    }
    let sticky = raw.sticky.unwrap_or(false);
    if sticky && store == "jwt" {
        pr.add(
            &child(&p, "sticky"),
            "cookie affinity does nothing for JWT sessions: a token is checked by whichever pod gets it",
            "remove sticky, or use store = \"in_memory\" to see what affinity does for in-memory sessions",
        );
    }
    let on_loss = match raw.on_loss.as_deref() {
        None | Some("fail") => {
            if raw.relogin.is_some() {
                pr.add(
                    &child(&p, "relogin"),
                    "`relogin` is the cost of logging in again, but on_loss = \"fail\"",
                    "set on_loss = \"relogin\", or remove relogin",
                );
            }
            OnLoss::Fail
        }
        Some("relogin") => OnLoss::Relogin(pr.opt_duration(
            &child(&p, "relogin"),
            &raw.relogin,
            SimDuration::from_millis(500),
        )),
        Some(o) => {
            pr.add(
                &child(&p, "on_loss"),
                format!("unknown on_loss \"{o}\""),
                "use \"fail\" (the request fails session_lost) or \"relogin\" (it succeeds after a login costing `relogin`)",
            );
            OnLoss::Fail
        }
    };
    let store = match store {
        "in_memory" => SessionStore::InMemory,
        "shared" => SessionStore::Shared(shared(pr, &p, raw)?),
        _ => SessionStore::Jwt(jwt(pr, &p, raw, names)?),
    };
    Some(SessionSpec {
        store,
        sticky,
        on_loss,
    })
}

fn shared(pr: &mut Problems<'_>, p: &Path, raw: &RawSessions) -> Option<SharedStoreSpec> {
    // About one network round trip on a 1 Gbit/s LAN (state.md §3.5).
    let latency = match &raw.latency {
        None => Dist::Constant(SimDuration::from_micros(200)),
        Some(d) => pr.dist(&child(p, "latency"), d, false)?,
    };
    let capacity = pr.count(&child(p, "capacity"), raw.capacity, 1000, 1, 1_000_000);
    let queue = match &raw.queue {
        None => None,
        Some(RawCountOrWord::Word(w)) if w == "unbounded" => None,
        Some(RawCountOrWord::Word(w)) => {
            pr.add(
                &child(p, "queue"),
                format!("`queue` = \"{w}\" is not a length"),
                "give a count (0 = no queue) or \"unbounded\"",
            );
            None
        }
        Some(RawCountOrWord::Int(n)) => {
            Some(pr.count(&child(p, "queue"), Some(*n), 0, 0, 10_000_000))
        }
    };
    let outage = raw.outage.as_ref().and_then(|o| {
        let op = child(p, "outage");
        let at = pr.duration(&child(&op, "at"), &o.at)?;
        let length = pr.duration(&child(&op, "duration"), &o.duration)?;
        if length.is_zero() {
            pr.add(
                &child(&op, "duration"),
                "an outage of 0 s changes nothing",
                "give how long the store is down, e.g. duration = \"20s\"",
            );
        }
        Some((SimTime::ZERO + at, SimTime::ZERO + at + length))
    });
    Some(SharedStoreSpec {
        latency,
        capacity,
        queue,
        outage,
    })
}

fn jwt(pr: &mut Problems<'_>, p: &Path, raw: &RawSessions, names: &[String]) -> Option<JwtSpec> {
    let vp = child(p, "versions");
    let Some(list) = &raw.versions else {
        pr.add(
            &child(p, "store"),
            "JWT sessions need each version's signing key",
            format!(
                "add [sessions.versions.<name>] with signing_key = \"k1\" (and accept_keys) for each of: {}",
                names.join(", ")
            ),
        );
        return None;
    };
    let mut keys: Vec<String> = Vec::new();
    let mut id = |k: &str| match keys.iter().position(|n| n == k) {
        Some(i) => i,
        None => {
            keys.push(k.to_string());
            keys.len() - 1
        }
    };
    let mut signs = vec![None; names.len()];
    let mut accepts = vec![0u32; names.len()];
    let mut ok = true;
    for (name, k) in list {
        let Some(v) = pr.version_ref(&child(&vp, name), name, names) else {
            ok = false;
            continue;
        };
        let s = id(&k.signing_key);
        let acc = k
            .accept_keys
            .clone()
            .unwrap_or_else(|| vec![k.signing_key.clone()]);
        let mut mask = 0u32;
        for a in &acc {
            mask |= 1u32.checked_shl(id(a) as u32).unwrap_or(0);
        }
        if mask & (1 << s.min(31)) == 0 {
            pr.add(
                &child(&child(&vp, name), "accept_keys"),
                format!(
                    "version \"{name}\" signs with \"{}\" but does not accept it",
                    k.signing_key
                ),
                format!(
                    "add \"{}\" to accept_keys: its own tokens would be rejected",
                    k.signing_key
                ),
            );
            ok = false;
        }
        signs[v.index()] = Some(s as u8);
        accepts[v.index()] = mask;
    }
    if keys.len() > 31 {
        pr.add(
            &vp,
            "more than 31 signing keys",
            "a scenario may name at most 31 keys",
        );
        return None;
    }
    for (i, s) in signs.iter().enumerate() {
        if s.is_none() && ok {
            pr.add(
                &vp,
                format!("version \"{}\" has no signing key", names[i]),
                format!(
                    "add [sessions.versions.{}] with signing_key = \"…\"",
                    names[i]
                ),
            );
            ok = false;
        }
    }
    ok.then(|| JwtSpec {
        keys,
        signs: signs.into_iter().map(|s| s.unwrap_or(0)).collect(),
        accepts,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Scenario;
    use crate::model::{OnLoss, SessionStore};

    const BASE: &str = r#"
duration = "1m"
[traffic]
rate = 10
[versions.v1]
service = "50ms"
[versions.v2]
service = "40ms"
[deployment]
replicas = 3
version = "v1"
"#;

    /// (line, message, help) of each problem.
    fn problems(extra: &str) -> Vec<(usize, String, String)> {
        match Scenario::parse("s.toml", "s", &format!("{BASE}{extra}")) {
            Ok(_) => vec![],
            Err(e) => e
                .diagnostics
                .into_iter()
                .map(|d| (d.line, d.message, d.help.unwrap_or_default()))
                .collect(),
        }
    }

    #[test]
    fn a_valid_table_resolves_with_defaults() {
        let s = Scenario::parse(
            "s.toml",
            "s",
            &format!(
                "{BASE}[sessions]\nstore = \"in_memory\"\nsticky = true\non_loss = \"relogin\"\n"
            ),
        )
        .unwrap();
        let spec = s.sessions.unwrap();
        assert!(spec.sticky);
        assert!(matches!(spec.store, SessionStore::InMemory));
        assert_eq!(
            spec.on_loss,
            OnLoss::Relogin(crate::engine::SimDuration::from_millis(500))
        );
        let s = Scenario::parse("s.toml", "s", &format!("{BASE}[sessions]\nstore = \"jwt\"\n[sessions.versions.v1]\nsigning_key = \"a\"\n[sessions.versions.v2]\nsigning_key = \"b\"\naccept_keys = [\"a\", \"b\"]\n")).unwrap();
        let SessionStore::Jwt(j) = s.sessions.unwrap().store else {
            panic!("jwt");
        };
        assert_eq!((j.signs, j.accepts), (vec![0, 1], vec![0b01, 0b11]));
    }

    #[test]
    fn bad_tables_are_told_at_their_line_with_a_fix() {
        let p = problems("[sessions]\nstore = \"redis\"\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, 13);
        assert!(p[0].1.contains("unknown session store \"redis\""));
        assert!(p[0].2.contains("\"shared\""));

        let p =
            problems("[sessions]\nstore = \"in_memory\"\nlatency = \"1ms\"\nrelogin = \"1s\"\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].1.contains("shared session store") && p[0].0 == 14);
        assert!(p[1].1.contains("on_loss = \"fail\"") && p[1].0 == 15);

        let p = problems("[sessions]\nstore = \"jwt\"\nsticky = true\n");
        assert!(
            p.iter().any(|x| x.1.contains("affinity does nothing")),
            "{p:?}"
        );
        assert!(p
            .iter()
            .any(|x| x.1.contains("need each version's signing key")));

        let p = problems("[sessions]\nstore = \"jwt\"\n[sessions.versions.v1]\nsigning_key = \"a\"\naccept_keys = [\"b\"]\n[sessions.versions.v3]\nsigning_key = \"a\"\n");
        assert!(
            p.iter()
                .any(|x| x.1.contains("signs with \"a\" but does not accept it")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|x| x.1.contains("version \"v3\" is not defined")),
            "{p:?}"
        );

        let p =
            problems("[sessions]\nstore = \"jwt\"\n[sessions.versions.v1]\nsigning_key = \"a\"\n");
        assert!(
            p.iter().any(|x| x.1.contains("\"v2\" has no signing key")),
            "{p:?}"
        );

        let p = problems("[sessions]\nstore = \"shared\"\noutage = { at = \"10s\", duration = \"0s\" }\non_loss = \"maybe\"\n");
        assert_eq!(p.len(), 2, "{p:?}");
        // No Rust type names in what users read.
        for (_, m, h) in p {
            assert!(!m.contains("Option") && !h.contains("Option"));
        }
    }
}
