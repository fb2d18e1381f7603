//! The `[connections]` table: long-lived connections, when termination cuts them, how clients
//! reconnect (see `model::connections` for the behaviour and its sources).

use super::problems::{child, Path, Problems};
use super::raw::*;
use crate::engine::SimDuration;
use crate::model::{Backoff, CloseOn, ConnectionSpec, Dist};

/// Resolves `[connections]`.
pub(super) fn connections(pr: &mut Problems<'_>, raw: &RawConnections) -> Option<ConnectionSpec> {
    let p: Path = vec!["connections".into()];
    let share = pr.fraction(&child(&p, "share"), raw.share, 1.0);
    let close_on = match raw.close_on.as_deref() {
        None | Some("sigterm") => CloseOn::Sigterm,
        Some("exit") => CloseOn::Exit,
        Some(o) => {
            pr.add(
                &child(&p, "close_on"),
                format!("unknown close_on \"{o}\""),
                "use \"sigterm\" (the app closes its sockets when it gets SIGTERM) or \"exit\" (they end when the process ends)",
            );
            CloseOn::Sigterm
        }
    };
    let backoff = match raw.backoff.as_deref() {
        None | Some("full_jitter") => Backoff::FullJitter,
        Some("exponential") => Backoff::Exponential,
        Some("none") => Backoff::None,
        Some(o) => {
            pr.add(
                &child(&p, "backoff"),
                format!("unknown backoff \"{o}\""),
                "use \"none\" (reconnect at once, retry every `base`), \"exponential\" (min(cap, base·2ⁿ)) or \"full_jitter\" (uniform between 0 and that)",
            );
            Backoff::FullJitter
        }
    };
    let base = pr.opt_duration(&child(&p, "base"), &raw.base, SimDuration::from_secs(1));
    let cap = pr.opt_duration(&child(&p, "cap"), &raw.cap, SimDuration::from_secs(30));
    if base.is_zero() && raw.base.is_some() {
        pr.add(
            &child(&p, "base"),
            "a back-off base of 0 s retries a failed handshake at the same instant, forever (full jitter too: U(0, 0) = 0)",
            "give a base of at least 1ms, e.g. base = \"1s\"",
        );
    }
    if cap < base && raw.cap.is_some() {
        pr.add(
            &child(&p, "cap"),
            "the back-off cap is below its base",
            "make cap at least base (e.g. base = \"1s\", cap = \"30s\")",
        );
    }
    // A TLS handshake plus the HTTP upgrade and an authentication check: a few round trips
    // and a token verification (state.md §4.5 "each paying setup").
    let handshake = match &raw.handshake {
        None => Dist::Constant(SimDuration::from_millis(20)),
        Some(d) => pr.dist(&child(&p, "handshake"), d, false)?,
    };
    Some(ConnectionSpec {
        share,
        close_on,
        backoff,
        base,
        cap,
        handshake,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Scenario;
    use crate::engine::SimDuration;
    use crate::model::{Backoff, CloseOn};

    const BASE: &str = r#"
duration = "1m"
[traffic]
rate = 10
[versions.v1]
service = "50ms"
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
        let s = Scenario::parse("s.toml", "s", &format!("{BASE}[connections]\n")).unwrap();
        let c = s.connections.unwrap();
        assert_eq!(
            (c.share, c.close_on, c.backoff, c.base, c.cap),
            (
                1.0,
                CloseOn::Sigterm,
                Backoff::FullJitter,
                SimDuration::from_secs(1),
                SimDuration::from_secs(30)
            )
        );
        let s = Scenario::parse(
            "s.toml",
            "s",
            &format!("{BASE}[connections]\nshare = 0.3\nclose_on = \"exit\"\nbackoff = \"none\"\nbase = \"500ms\"\n"),
        )
        .unwrap();
        let c = s.connections.unwrap();
        assert_eq!(
            (c.share, c.close_on, c.backoff, c.base),
            (
                0.3,
                CloseOn::Exit,
                Backoff::None,
                SimDuration::from_millis(500)
            )
        );
    }

    #[test]
    fn bad_tables_are_told_at_their_line_with_a_fix() {
        let line = BASE.lines().count() + 1;
        let cases: [(&str, usize, &str, &str); 7] = [
            ("share = 1.5\n", line + 1, "not a fraction", "0 to 1"),
            ("base = \"0ms\"\n", line + 1, "same instant", "at least 1ms"),
            (
                "close_on = \"kill\"\n",
                line + 1,
                "unknown close_on \"kill\"",
                "\"sigterm\"",
            ),
            (
                "backoff = \"jitter\"\n",
                line + 1,
                "unknown backoff \"jitter\"",
                "\"full_jitter\"",
            ),
            (
                "backoff = \"none\"\nbase = \"0s\"\n",
                line + 2,
                "same instant",
                "at least 1ms",
            ),
            (
                "base = \"2s\"\ncap = \"1s\"\n",
                line + 2,
                "cap is below its base",
                "at least base",
            ),
            ("handshake = \"fast\"\n", line + 1, "", ""),
        ];
        for (body, at, message, help) in cases {
            let got = problems(&format!("[connections]\n{body}"));
            assert_eq!(got.len(), 1, "{body}: {got:?}");
            let (l, m, h) = &got[0];
            assert_eq!(*l, at, "{body}: {got:?}");
            assert!(m.contains(message) && h.contains(help), "{body}: {got:?}");
        }
        let got = problems("[connections]\nshares = 0.5\n");
        assert!(got[0].1.contains("shares"), "{got:?}");
    }
}
