//! The plan of `rollsim plan`: the controller's moves as a table, the resolved limits, what
//! happened between moves, and a feature flag's schedule.

use std::fmt::Write;

use serde::Serialize;

use crate::flags::FlagSpec;
use crate::strategy::{Limit, Plan};

/// What the plan assumes, printed in its header and in `--json`.
pub const PLAN_ASSUMPTIONS: &str = "pods are ready the instant they are scheduled; pods that do \
    not fit on the nodes stay Pending; a deleted pod keeps its node slot for its preStop; \
    analyses pass; times are the run's simulated clock";

/// The plan as a table: one row per controller move, then the notes.
pub fn plan_text(header: &str, limits: &[Limit], plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{header}");
    let _ = writeln!(o, "  assumes: {PLAN_ASSUMPTIONS}");
    for l in limits {
        for (i, line) in l.text.iter().enumerate() {
            let key = if i == 0 { l.key } else { "" };
            let _ = writeln!(o, "  {key:<15} {line}");
        }
    }
    let steps = &plan.steps;
    let Some(last) = steps.last() else {
        let _ = writeln!(o, "no step: nothing to roll out");
        notes(&mut o, plan);
        return o;
    };
    let _ = writeln!(o);
    let mut head = format!("{:<5}", "step");
    for rs in &last.replica_sets {
        let _ = write!(
            head,
            " {:<20}",
            format!("{} (rev {})", rs.version, rs.revision)
        );
    }
    let _ = writeln!(o, "{head} {:<6} {:<8} why", "total", "at");
    let mut sub = format!("{:<5}", "");
    for _ in &last.replica_sets {
        let _ = write!(sub, " {:<20}", "desired/exist/ready");
    }
    let _ = writeln!(o, "{}", sub.trim_end());
    for s in steps {
        let mut row = format!("{:<5}", s.step);
        for i in 0..last.replica_sets.len() {
            let cell = s.replica_sets.get(i).map_or(String::from("-"), |r| {
                let pending = if r.pending > 0 {
                    format!(" ({} Pending)", r.pending)
                } else {
                    String::new()
                };
                format!("{}/{}/{}{pending}", r.desired, r.existing, r.ready)
            });
            let _ = write!(row, " {cell:<20}");
        }
        let weights = if s.weights.is_empty() {
            String::new()
        } else {
            let w: Vec<String> = s
                .weights
                .iter()
                .map(|w| format!("{} {}%", w.version, w.percent))
                .collect();
            format!(" [traffic: {}]", w.join(", "))
        };
        let total = if s.terminating > 0 {
            format!("{}+{}", s.total_pods, s.terminating)
        } else {
            s.total_pods.to_string()
        };
        let _ = writeln!(
            o,
            "{row} {total:<6} {:<8} {}{weights}",
            format!("{}s", s.at_s),
            s.why
        );
    }
    let _ = writeln!(
        o,
        "\npeak: {} pods, {} with terminating ones (total column: pods + terminating)",
        plan.peak_pods, plan.peak_pods_incl_terminating
    );
    notes(&mut o, plan);
    o
}

fn notes(o: &mut String, plan: &Plan) {
    for n in &plan.notes {
        let _ = writeln!(o, "  at {}s: {}", n.at_s, n.note);
    }
}

/// One rule change of a flag's schedule.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FlagStep {
    /// Simulated time, in seconds, when the rules are published.
    pub at_s: f64,
    /// Internal users get the new path.
    pub internal: bool,
    /// The beta segment gets it.
    pub beta: bool,
    /// Percent of everyone else.
    pub percent: f64,
    /// The kill switch is thrown.
    pub killed: bool,
}

/// A flag's schedule, as `rollsim plan` shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FlagPlan {
    /// Flag key.
    pub key: String,
    /// The variant its path is reported as.
    pub variant: String,
    /// Versions whose pods ship the path.
    pub in_versions: Vec<String>,
    /// Rule changes in time order (each reaches pods after the SDK's propagation delay).
    pub schedule: Vec<FlagStep>,
    /// When the kill switch is thrown, if scheduled.
    pub kill_at_s: Option<f64>,
    /// Whether an analysis may throw the kill switch earlier.
    pub analysis: bool,
}

/// The schedule of `flag`.
pub fn flag_schedule(flag: &FlagSpec, names: &[String]) -> FlagPlan {
    FlagPlan {
        key: flag.key.clone(),
        variant: names[flag.variant.index()].clone(),
        in_versions: flag
            .in_versions
            .iter()
            .map(|v| names[v.index()].clone())
            .collect(),
        schedule: flag
            .schedule
            .iter()
            .map(|(t, r)| FlagStep {
                at_s: t.as_secs_f64(),
                internal: r.internal,
                beta: r.beta,
                percent: r.percent,
                killed: r.killed,
            })
            .collect(),
        kill_at_s: flag.kill_at.map(|t| t.as_secs_f64()),
        analysis: flag.analysis.is_some(),
    }
}

/// The flag schedule for people.
pub fn flag_text(f: &FlagPlan) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\nflag \"{}\" (variant {}, shipped in {}): rules as published; each pod's SDK learns \
         them after its propagation delay",
        f.key,
        f.variant,
        f.in_versions.join(", ")
    );
    for s in &f.schedule {
        let mut who = vec![];
        if s.internal {
            who.push("internal users".to_string());
        }
        if s.beta {
            who.push("beta segment".to_string());
        }
        who.push(format!("{}% of everyone else", s.percent));
        let rule = if s.killed {
            "kill switch: nobody".to_string()
        } else {
            who.join(" + ")
        };
        let _ = writeln!(o, "  at {}s: {rule}", s.at_s);
    }
    if let Some(k) = f.kill_at_s {
        let _ = writeln!(o, "  at {k}s: kill switch thrown (`kill_at`)");
    }
    if f.analysis {
        let _ = writeln!(
            o,
            "  an analysis may throw the kill switch earlier (the plan assumes it passes)"
        );
    }
    o
}
