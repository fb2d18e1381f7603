//! `[[steps]]`: several deployments and migrations in sequence, as a release pipeline runs
//! them — expand → deploy v2 → deploy v3 → contract. Each step starts when the one before it
//! finished (a deployment when its rollout completes, a migration when its DDL commits, a wait
//! when its time is up), and not before its own `at` if it has one. Deployments use the
//! scenario's `[rollout]` strategy settings; `[rollout]` then gives no `to` or `at`.
//!
//! A background backfill (`[[database.backfills]]`) is one more kind: `backfill = "<name>"`
//! starts it and the step finishes when its last batch commits, as a release pipeline runs a
//! backfill job to completion before deploying the version that reads the new column.

use super::problems::{child, closest, Path, Problems};
use super::raw::*;
use crate::engine::{SimDuration, SimTime};
use crate::model::database::DatabaseSpec;
use crate::model::VersionId;

/// What one step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// A rollout to this version with the `[rollout]` strategy; done when it completes.
    Deploy(VersionId),
    /// Runs this DDL step (index into `DatabaseSpec::ddl`); done when it commits.
    Migrate(u16),
    /// Runs this backfill (index into `DatabaseSpec::backfills`); done when its last batch
    /// commits.
    Backfill(u16),
    /// Waits this long.
    Wait(SimDuration),
    /// `kubectl rollout undo` (an abort for Argo): back to the previous version; done when the
    /// controller reports the rollback complete (or aborted).
    Undo,
}

impl StepKind {
    /// Its name in `summary.json`'s `steps[].kind`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StepKind::Deploy(_) => "deploy",
            StepKind::Migrate(_) => "migrate",
            StepKind::Backfill(_) => "backfill",
            StepKind::Wait(_) => "wait",
            StepKind::Undo => "undo",
        }
    }
}

/// One `[[steps]]` entry, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepSpec {
    /// What it does.
    pub kind: StepKind,
    /// Not before this time (`None`: as soon as the previous step finished; the first step at 0).
    pub at: Option<SimTime>,
}

/// Resolves `[[steps]]`, and checks that every DDL step without `at` is run by exactly one
/// `migrate` step and that the migrations' column changes fit the schema in their order.
pub(super) fn steps(
    pr: &mut Problems<'_>,
    raw: &RawScenario,
    names: &[String],
    initial: Option<VersionId>,
    database: Option<&DatabaseSpec>,
) -> Vec<StepSpec> {
    let sp: Path = vec!["steps".into()];
    let ddl_names: Vec<String> = database
        .map(|d| {
            d.ddl
                .iter()
                .map(|x| x.name.clone().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    let mut migrated = vec![false; ddl_names.len()];
    let backfill_names: Vec<String> = database
        .map(|d| {
            d.backfills
                .iter()
                .map(|x| x.name.clone().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    let mut backfilled = vec![false; backfill_names.len()];
    let mut out = Vec::new();
    // Versions deployed so far, the running one last (for `undo` and "already running").
    let mut history: Vec<VersionId> = initial.into_iter().collect();
    for (i, s) in raw.steps.iter().enumerate() {
        let p = child(&sp, &i.to_string());
        let set: Vec<&str> = [
            ("deploy", s.deploy.is_some()),
            ("migrate", s.migrate.is_some()),
            ("wait", s.wait.is_some()),
            ("undo", s.undo.is_some()),
            ("backfill", s.backfill.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.then_some(k))
        .collect();
        if set.len() != 1 {
            pr.add(
                &p,
                if set.is_empty() {
                    "this step does nothing".to_string()
                } else {
                    format!("this step has {}: a step does one thing", set.join(" and "))
                },
                "give each step one of deploy = \"v2\", migrate = \"<a [[database.ddl]] name>\", backfill = \"<a [[database.backfills]] name>\", wait = \"30s\" or undo = true",
            );
            continue;
        }
        let at =
            s.at.as_ref()
                .and_then(|a| pr.duration(&child(&p, "at"), a))
                .map(|d| SimTime::ZERO + d);
        let kind = match set[0] {
            "deploy" => deploy(pr, &p, raw, s, names, &mut history),
            "migrate" => migrate(pr, &p, s, &ddl_names, database, &mut migrated),
            "backfill" => backfill(pr, &p, s, &backfill_names, database, &mut backfilled),
            "wait" => pr
                .duration(&child(&p, "wait"), s.wait.as_ref().expect("set"))
                .map(StepKind::Wait),
            _ => undo(pr, &p, s, &mut history),
        };
        if let Some(kind) = kind {
            out.push(StepSpec { kind, at });
        }
    }
    if let Some(db) = database {
        for (k, d) in db.ddl.iter().enumerate() {
            if d.at.is_none() && !migrated[k] {
                let p: Path = ["database", "ddl", &k.to_string()]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                pr.add(
                    &p,
                    "this DDL step has no `at` and no [[steps]] entry migrates it: it would never run",
                    match &d.name {
                        Some(n) => format!("add at = \"60s\", or a step: [[steps]] migrate = \"{n}\""),
                        None => "add at = \"60s\", or name it (name = \"add-email\") and add a step: [[steps]] migrate = \"add-email\"".into(),
                    },
                );
            }
        }
        for (k, b) in db.backfills.iter().enumerate() {
            if b.at.is_none() && !backfilled[k] {
                let p: Path = ["database", "backfills", &k.to_string()]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                pr.add(
                    &p,
                    "this backfill has no `at` and no [[steps]] entry runs it: it would never run",
                    match &b.name {
                        Some(n) => format!("add at = \"60s\", or a step: [[steps]] backfill = \"{n}\""),
                        None => "add at = \"60s\", or name it (name = \"fill-email\") and add a step: [[steps]] backfill = \"fill-email\"".into(),
                    },
                );
            }
        }
        if let Some(schema) = &db.schema {
            // Timed DDL by `at`, then the steps' migrations in step order.
            let mut order: Vec<usize> = (0..db.ddl.len())
                .filter(|k| db.ddl[*k].at.is_some())
                .collect();
            order.sort_by_key(|k| db.ddl[*k].at);
            order.extend(out.iter().filter_map(|s| match s.kind {
                StepKind::Migrate(k) => Some(k as usize),
                _ => None,
            }));
            super::schema::check_sequence(pr, schema, &db.ddl, &order);
        }
    }
    out
}

fn deploy(
    pr: &mut Problems<'_>,
    p: &Path,
    raw: &RawScenario,
    s: &RawSeqStep,
    names: &[String],
    history: &mut Vec<VersionId>,
) -> Option<StepKind> {
    let name = s.deploy.as_deref().expect("set");
    let dp = child(p, "deploy");
    if raw.rollout.is_none() {
        pr.add(
            &dp,
            "a deploy step needs [rollout] for its strategy settings",
            "add [rollout] with strategy = \"rolling\" (and its settings); with [[steps]] it gives no `to` or `at`",
        );
    }
    let v = pr.version_ref(&dp, name, names)?;
    if history.last() == Some(&v) {
        pr.add(
            &dp,
            format!("\"{name}\" is already running at this step"),
            "deploy another version, or remove the step",
        );
        return None;
    }
    history.push(v);
    Some(StepKind::Deploy(v))
}

fn migrate(
    pr: &mut Problems<'_>,
    p: &Path,
    s: &RawSeqStep,
    ddl_names: &[String],
    database: Option<&DatabaseSpec>,
    migrated: &mut [bool],
) -> Option<StepKind> {
    let name = s.migrate.as_deref().expect("set");
    let mp = child(p, "migrate");
    let Some(db) = database else {
        pr.add(
            &mp,
            "a migrate step needs [database] with [[database.ddl]] steps",
            "add [database] with a [[database.ddl]] step named by `name`",
        );
        return None;
    };
    let Some(k) = ddl_names.iter().position(|n| !n.is_empty() && n == name) else {
        let named: Vec<String> = ddl_names
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect();
        let help = match closest(name, &named) {
            Some(c) => format!(
                "did you mean \"{c}\"? Named DDL steps: {}",
                named.join(", ")
            ),
            None if named.is_empty() => {
                "give a [[database.ddl]] step name = \"…\" and use it here".into()
            }
            None => format!("use one of the named DDL steps: {}", named.join(", ")),
        };
        pr.add(
            &mp,
            format!("no [[database.ddl]] step is named \"{name}\""),
            help,
        );
        return None;
    };
    if db.ddl[k].at.is_some() {
        pr.add(
            &mp,
            format!("DDL step \"{name}\" has its own `at`: it would run twice"),
            "remove `at` from the DDL step (the step runs it), or remove this step",
        );
        return None;
    }
    if std::mem::replace(&mut migrated[k], true) {
        pr.add(
            &mp,
            format!("DDL step \"{name}\" is already run by an earlier step"),
            "declare another [[database.ddl]] step for a second statement",
        );
        return None;
    }
    Some(StepKind::Migrate(k as u16))
}

/// A `backfill = "<name>"` step: the named `[[database.backfills]]` entry, which has no `at`
/// and no other step running it.
fn backfill(
    pr: &mut Problems<'_>,
    p: &Path,
    s: &RawSeqStep,
    names: &[String],
    database: Option<&DatabaseSpec>,
    run: &mut [bool],
) -> Option<StepKind> {
    let name = s.backfill.as_deref().expect("set");
    let bp = child(p, "backfill");
    let Some(db) = database else {
        pr.add(
            &bp,
            "a backfill step needs [database] with [[database.backfills]]",
            "add [database] with a [[database.backfills]] entry named by `name`",
        );
        return None;
    };
    let Some(k) = names.iter().position(|n| !n.is_empty() && n == name) else {
        let named: Vec<String> = names.iter().filter(|n| !n.is_empty()).cloned().collect();
        let help = match closest(name, &named) {
            Some(c) => format!(
                "did you mean \"{c}\"? Named backfills: {}",
                named.join(", ")
            ),
            None if named.is_empty() => {
                "give a [[database.backfills]] entry name = \"…\" and use it here".into()
            }
            None => format!("use one of the named backfills: {}", named.join(", ")),
        };
        pr.add(
            &bp,
            format!("no [[database.backfills]] entry is named \"{name}\""),
            help,
        );
        return None;
    };
    if db.backfills[k].at.is_some() {
        pr.add(
            &bp,
            format!("backfill \"{name}\" has its own `at`: it would run twice"),
            "remove `at` from the backfill (the step runs it), or remove this step",
        );
        return None;
    }
    if std::mem::replace(&mut run[k], true) {
        pr.add(
            &bp,
            format!("backfill \"{name}\" is already run by an earlier step"),
            "declare another [[database.backfills]] entry for a second pass",
        );
        return None;
    }
    Some(StepKind::Backfill(k as u16))
}

fn undo(
    pr: &mut Problems<'_>,
    p: &Path,
    s: &RawSeqStep,
    history: &mut Vec<VersionId>,
) -> Option<StepKind> {
    if s.undo == Some(false) {
        pr.add(
            &child(p, "undo"),
            "undo = false does nothing",
            "write undo = true to roll back to the previous version, or remove the step",
        );
        return None;
    }
    if history.len() < 2 {
        pr.add(
            &child(p, "undo"),
            "nothing to undo: no deploy step comes before this one",
            "put the undo after a deploy step",
        );
        return None;
    }
    history.pop();
    Some(StepKind::Undo)
}

#[cfg(test)]
mod tests {
    use crate::scenario::{Scenario, StepKind};

    const HEAD: &str = "duration = \"60s\"\n[traffic]\nrate = 10\n[versions.v1]\nservice = \"10ms\"\n[versions.v2]\nservice = \"10ms\"\n[deployment]\nreplicas = 2\nversion = \"v1\"\n[rollout]\nstrategy = \"rolling\"\n[database]\n[database.tables]\nusers = { columns = [\"id\"] }\n[[database.ddl]]\nname = \"add\"\ntable = \"users\"\nkind = \"add_column\"\ncolumn = \"email\"\nduration = \"1ms\"\n";

    fn messages(steps: &str) -> Vec<String> {
        match Scenario::parse("s.toml", "s", &format!("{HEAD}{steps}")) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics.into_iter().map(|d| d.message).collect(),
        }
    }

    #[test]
    fn steps_resolve_in_order_and_the_rollout_stands_for_the_first_deployment() {
        let text = format!("{HEAD}[[steps]]\nmigrate = \"add\"\nat = \"5s\"\n[[steps]]\ndeploy = \"v2\"\nat = \"10s\"\n[[steps]]\nwait = \"3s\"\n[[steps]]\nundo = true\n");
        let s = Scenario::parse("s.toml", "s", &text).unwrap();
        let kinds: Vec<&str> = s.steps.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["migrate", "deploy", "wait", "undo"]);
        assert_eq!(s.steps[0].kind, StepKind::Migrate(0));
        let r = s.rollout.as_ref().unwrap();
        assert_eq!((r.target.index(), r.at.as_secs_f64()), (1, 10.0));
        assert_eq!(s.database.as_ref().unwrap().ddl[0].at, None);
    }

    #[test]
    fn a_sequence_that_cannot_run_is_refused() {
        let undo_first = messages("[[steps]]\nundo = true\n[[steps]]\nmigrate = \"add\"\n");
        assert!(
            undo_first[0].starts_with("nothing to undo"),
            "{undo_first:?}"
        );
        let same = messages("[[steps]]\nmigrate = \"add\"\n[[steps]]\ndeploy = \"v1\"\n");
        assert_eq!(same, ["\"v1\" is already running at this step"]);
        let twice = messages("[[steps]]\nmigrate = \"add\"\n[[steps]]\nmigrate = \"add\"\n");
        assert_eq!(
            twice,
            ["DDL step \"add\" is already run by an earlier step"]
        );
        let empty = messages("[[steps]]\nat = \"1s\"\n[[steps]]\nmigrate = \"add\"\n");
        assert_eq!(empty, ["this step does nothing"]);
        let text = HEAD.replace("name = \"add\"\n", "name = \"add\"\nat = \"1s\"\n");
        let e = Scenario::parse(
            "s.toml",
            "s",
            &format!("{text}[[steps]]\nmigrate = \"add\"\n"),
        )
        .unwrap_err();
        assert!(e.diagnostics[0].message.contains("has its own `at`"));
    }

    const BACKFILL: &str =
        "[[database.backfills]]\nname = \"fill-email\"\ntable = \"users\"\nrows = 1000\n";

    fn diagnostics(tail: &str) -> Vec<(usize, String, String)> {
        let text = format!("{HEAD}{BACKFILL}{tail}");
        match Scenario::parse("s.toml", "s", &text) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .diagnostics
                .into_iter()
                .map(|d| (d.line, d.message, d.help.unwrap_or_default()))
                .collect(),
        }
    }

    #[test]
    fn a_backfill_step_runs_the_named_backfill() {
        let text = format!(
            "{HEAD}{BACKFILL}[[steps]]\nmigrate = \"add\"\n[[steps]]\nbackfill = \"fill-email\"\n"
        );
        let s = Scenario::parse("s.toml", "s", &text).unwrap();
        assert_eq!(s.steps[1].kind, StepKind::Backfill(0));
        assert_eq!(s.steps[1].kind.as_str(), "backfill");
        let b = &s.database.as_ref().unwrap().backfills[0];
        assert_eq!((b.name.as_deref(), b.at), (Some("fill-email"), None));
    }

    #[test]
    fn a_backfill_step_that_cannot_run_is_refused() {
        // An unknown name (listed second: diagnostics go in file order): the ones that exist.
        let d = diagnostics("[[steps]]\nmigrate = \"add\"\n[[steps]]\nbackfill = \"fill-emial\"\n");
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            d[1].1,
            "no [[database.backfills]] entry is named \"fill-emial\""
        );
        assert!(d[1].2.starts_with("did you mean \"fill-email\"?"), "{d:?}");
        // … and the backfill itself then never runs: named at its own line with the fix.
        assert_eq!(d[0].0, HEAD.lines().count() + 1, "{d:?}");
        assert!(d[0].1.contains("no `at` and no [[steps]] entry runs it"));
        assert_eq!(
            d[0].2,
            "add at = \"60s\", or a step: [[steps]] backfill = \"fill-email\""
        );
        let twice = diagnostics(
            "[[steps]]\nmigrate = \"add\"\n[[steps]]\nbackfill = \"fill-email\"\n[[steps]]\nbackfill = \"fill-email\"\n",
        );
        assert_eq!(twice.len(), 1);
        assert_eq!(
            twice[0].1,
            "backfill \"fill-email\" is already run by an earlier step"
        );
        let both = diagnostics("[[steps]]\nbackfill = \"fill-email\"\nwait = \"1s\"\n");
        assert!(
            both.iter()
                .any(|d| d.1 == "this step has wait and backfill: a step does one thing"),
            "{both:?}"
        );
        // A backfill with its own `at` is run by it, not by a step.
        let timed = format!("{HEAD}{}", BACKFILL.replace("rows", "at = \"1s\"\nrows"));
        let e = Scenario::parse(
            "s.toml",
            "s",
            &format!("{timed}[[steps]]\nbackfill = \"fill-email\"\n"),
        )
        .unwrap_err();
        assert!(e
            .diagnostics
            .iter()
            .any(|d| d.message == "backfill \"fill-email\" has its own `at`: it would run twice"));
        // Without a name and without `at`: the fix says to name it.
        let unnamed = format!(
            "{HEAD}{}[[steps]]\nmigrate = \"add\"\n",
            BACKFILL.replace("name = \"fill-email\"\n", "")
        );
        let e = Scenario::parse("s.toml", "s", &unnamed).unwrap_err();
        let d = e
            .diagnostics
            .iter()
            .find(|d| d.message.starts_with("this backfill"))
            .unwrap();
        assert!(d.message.contains("it would never run"), "{d:?}");
        assert!(
            d.help
                .as_deref()
                .unwrap()
                .contains("name it (name = \"fill-email\")"),
            "{d:?}"
        );
    }
}
