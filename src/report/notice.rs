//! "What to notice": the scenario's lesson (its "What it teaches:" paragraph) and a few
//! sentences read off the run's results — how the rollout ended, what failed and why, who met
//! the new (or a bad) version, how much of the rollout was spent waiting for pods. Results
//! only: nothing here is judged against a threshold the scenario did not state.

use std::fmt::Write;

use super::html::{escape, num};
use super::text::thousands;
use crate::metrics::{RolloutOutcome, Summary};

/// How the rollout ended, as a sentence.
fn outcome_sentence(s: &Summary) -> Option<String> {
    let r = &s.rollout;
    let start = r.start_s.map(num)?;
    Some(match r.outcome {
        RolloutOutcome::None => return None,
        RolloutOutcome::Completed => format!(
            "The rollout started at {start} s and completed in {} s.",
            r.duration_s.map_or_else(|| "an unknown time".into(), num)
        ),
        RolloutOutcome::InProgress => {
            format!("The rollout started at {start} s and had not finished when the run ended.")
        }
        RolloutOutcome::Paused => {
            format!(
                "The rollout started at {start} s and ended the run paused, waiting for a human."
            )
        }
        RolloutOutcome::Stalled => format!(
            "The rollout started at {start} s and stalled at {} s (progress deadline).",
            r.stalled_at_s.map_or_else(|| "an unknown time".into(), num)
        ),
        RolloutOutcome::Aborted
        | RolloutOutcome::RolledBack
        | RolloutOutcome::RollbackInProgress => {
            let mut t = format!(
                "The rollout started at {start} s and was {} at {} s",
                if r.outcome == RolloutOutcome::Aborted {
                    "aborted"
                } else {
                    "rolled back"
                },
                r.rollback_at_s
                    .map_or_else(|| "an unknown time".into(), num)
            );
            if let Some(d) = r.detect_s {
                let _ = write!(
                    t,
                    ", {d:.1} s after the new version answered its first request"
                );
            }
            match r.rollback_s {
                Some(b) => {
                    let _ = write!(
                        t,
                        "; the new version answered its last request {b:.1} s later."
                    );
                }
                None => t.push_str("; the rollback had not finished when the run ended."),
            }
            t
        }
    })
}

/// The failure causes that occurred, largest first (ties in the summary's fixed order), each
/// as "count cause in words".
pub(crate) fn failure_causes(s: &Summary) -> Vec<String> {
    let mut causes: Vec<(&&str, &u64)> = s
        .requests
        .failed_by_cause
        .iter()
        .filter(|(_, n)| **n > 0)
        .collect();
    causes.sort_by(|a, b| b.1.cmp(a.1));
    causes
        .iter()
        .map(|(c, n)| format!("{} {}", thousands(**n), c.replace('_', " ")))
        .collect()
}

/// The sentences read off `s`.
pub fn observations(s: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(outcome_sentence(s));
    let r = &s.requests;
    if r.failed == 0 {
        out.push(format!(
            "Every one of the {} requests succeeded.",
            thousands(r.total)
        ));
    } else {
        let mut list = failure_causes(s);
        list.truncate(3);
        out.push(format!(
            "{} of {} requests failed ({:.3} %): {}.",
            thousands(r.failed),
            thousands(r.total),
            100.0 * r.failed as f64 / r.total.max(1) as f64,
            list.join(", ")
        ));
    }
    let e = &s.exposure;
    if e.bad_requests > 0 {
        out.push(format!(
            "{} requests reached a bad version ({} of them failed); {} users met the new version.",
            thousands(e.bad_requests),
            thousands(e.bad_failed),
            thousands(e.users_exposed)
        ));
    } else if e.users_exposed > 0 {
        out.push(format!(
            "{} users met the new version; for {} s two versions served at once.",
            thousands(e.users_exposed),
            num(e.mixed_version_s)
        ));
    }
    if let Some(t) = &s.rollout.time_breakdown_s {
        if t.total > 0.0 {
            out.push(format!(
                "{:.0} % of the rollout's {} s went waiting for pods (scheduling, start-up, readiness).",
                100.0 * t.waiting_for_pods / t.total,
                num(t.total)
            ));
        }
    }
    out
}

/// The section: the lesson, if the scenario states one, then the observations.
pub fn notice_section(s: &Summary, lesson: Option<&str>) -> String {
    notice_html(lesson.into_iter(), &observations(s))
}

/// "What to notice" from its parts: each lesson (a scenario's "What it teaches"), then the
/// sentences read off the results; a comparison's page uses it too.
pub fn notice_html<'a>(lessons: impl Iterator<Item = &'a str>, sentences: &[String]) -> String {
    let mut out = String::from("<h2>What to notice</h2>\n");
    for l in lessons {
        let _ = writeln!(
            out,
            "<div class=\"teach\"><b>What it teaches:</b> {}</div>",
            escape(l)
        );
    }
    out.push_str("<ul class=\"notice\">");
    for o in sentences {
        let _ = write!(out, "<li>{}</li>", escape(o));
    }
    out.push_str("</ul>\n");
    out
}
