//! The `[rollout]` table's shared part: `to`, `at`, `undo_at`, `strategy` (dispatched through
//! the registry, `strategy::STRATEGIES`), and the check that each set key belongs to the chosen
//! strategy, as the real controllers' schemas would reject one that does not. Each strategy's
//! own keys are resolved beside its controller, through [`RolloutInput`]: the narrow view of
//! the table and of the problem list this module gives them.

use super::analysis::analysis_spec;
use super::problems::{child, Path, Problems};
use super::raw::*;
use super::RolloutSpec;
use crate::analysis::AnalysisSpec;
use crate::engine::{SimDuration, SimTime};
use crate::model::VersionId;
use crate::strategy::{accepted_by, strategy_named, IntOrPercent, STRATEGIES};
use toml::de::DeValue;

/// What the rollout table is checked against.
pub(super) struct RolloutContext<'a> {
    pub(super) names: &'a [String],
    pub(super) initial: Option<VersionId>,
    pub(super) replicas: u32,
    pub(super) end: Option<SimTime>,
    /// The scenario has `[[steps]]`: deployments are steps, `to` and `at` are not used.
    pub(super) with_steps: bool,
}

/// The `[rollout]` keys every strategy takes; every other key belongs to the strategies whose
/// `StrategyDef::keys` list it.
const SHARED_KEYS: [&str; 4] = ["to", "at", "strategy", "undo_at"];

/// What a strategy's resolution reads: the `[rollout]` table as written, the Deployment's size,
/// and the checks that report a problem at a key. Keys are given relative to `[rollout]`
/// (`&["steps", "2", "pause"]`); messages name the full path (`rollout.steps.2.pause`), exactly
/// as the scenario layer's own checks do.
pub struct RolloutInput<'p, 'a> {
    pr: &'p mut Problems<'a>,
    r: &'p RawRollout,
    replicas: u32,
    versions: usize,
    warnings: Vec<(Path, String)>,
}

impl<'p> RolloutInput<'p, '_> {
    /// The `[rollout]` table as written.
    pub(crate) fn raw(&self) -> &'p RawRollout {
        self.r
    }

    /// The Deployment's `spec.replicas`.
    pub fn replicas(&self) -> u32 {
        self.replicas
    }

    /// How many versions the scenario defines.
    pub fn versions(&self) -> usize {
        self.versions
    }

    fn path(key: &[&str]) -> Path {
        std::iter::once("rollout")
            .chain(key.iter().copied())
            .map(str::to_string)
            .collect()
    }

    /// Reports a problem at `rollout.<key>`.
    pub fn add(&mut self, key: &[&str], message: impl Into<String>, help: impl Into<String>) {
        self.pr.add(&Self::path(key), message, help);
    }

    /// A pre-flight warning at `rollout.<key>`: a valid setting the controller will silently
    /// correct or approximate.
    pub fn warn(&mut self, key: &[&str], message: impl Into<String>) {
        self.warnings.push((Self::path(key), message.into()));
    }

    /// A duration's seconds as written, for a setting the controller silently corrects.
    pub(crate) fn written_secs(raw: &RawDuration) -> Option<f64> {
        super::warnings::written_secs(raw)
    }

    /// A duration.
    pub(crate) fn duration(&mut self, key: &[&str], raw: &RawDuration) -> Option<SimDuration> {
        self.pr.duration(&Self::path(key), raw)
    }

    /// A duration, `default` when absent (or invalid, after reporting it).
    pub(crate) fn opt_duration(
        &mut self,
        key: &[&str],
        raw: &Option<RawDuration>,
        default: SimDuration,
    ) -> SimDuration {
        self.pr.opt_duration(&Self::path(key), raw, default)
    }

    /// A duration that may be the word "none"; `default` when absent.
    pub(crate) fn duration_or_none(
        &mut self,
        key: &[&str],
        raw: &Option<RawDuration>,
        default: Option<SimDuration>,
    ) -> Option<SimDuration> {
        self.pr.duration_or_none(&Self::path(key), raw, default)
    }

    /// A count within `min..=max`; `default` when absent (or out of range, after reporting it).
    pub fn count(&mut self, key: &[&str], v: Option<i64>, default: u32, min: i64, max: i64) -> u32 {
        self.pr.count(&Self::path(key), v, default, min, max)
    }

    /// A Kubernetes int-or-percent; a percent above `max_percent` is a problem.
    pub(crate) fn int_or_percent(
        &mut self,
        key: &[&str],
        raw: &RawIntOrPercent,
        max_percent: Option<u32>,
    ) -> Option<IntOrPercent> {
        self.pr.int_or_percent(&Self::path(key), raw, max_percent)
    }

    /// An analysis (`count`: the measurement count when the table gives none).
    pub(crate) fn analysis(
        &mut self,
        key: &[&str],
        raw: &RawAnalysis,
        count: Option<u32>,
    ) -> Option<AnalysisSpec> {
        analysis_spec(self.pr, &Self::path(key), raw, count)
    }
}

/// The strategy-specific keys set in `[rollout]`, read from the parsed document: the raw struct
/// accepted the file, so its keys are exactly the table's.
fn set_keys(pr: &Problems<'_>) -> Vec<String> {
    match pr.loc.doc.get_ref().get("rollout").map(|v| v.get_ref()) {
        Some(DeValue::Table(t)) => t
            .keys()
            .map(|k| k.get_ref().to_string())
            .filter(|k| !SHARED_KEYS.contains(&k.as_str()))
            .collect(),
        _ => Vec::new(),
    }
}

/// With `[[steps]]`, each deployment is a step: `to`, `at` and `undo_at` have no place here.
/// The target and start are the first deploy step's, filled in after the steps resolve.
fn steps_rollout(
    pr: &mut Problems<'_>,
    r: &RawRollout,
    ctx: &RolloutContext<'_>,
) -> (Option<VersionId>, Option<SimTime>, Option<SimTime>) {
    let rp: Path = vec!["rollout".into()];
    for (key, set, help) in [
        (
            "to",
            r.to.is_some(),
            "write each deployment as a step: [[steps]] deploy = \"v2\"",
        ),
        (
            "at",
            r.at.is_some(),
            "give the deploy step its start: [[steps]] deploy = \"v2\", at = \"30s\"",
        ),
        (
            "undo_at",
            r.undo_at.is_some(),
            "write the rollback as a step: [[steps]] undo = true",
        ),
    ] {
        if set {
            pr.add(
                &child(&rp, key),
                format!("with [[steps]], `rollout.{key}` is not used: deployments are steps"),
                format!("remove it; {help}"),
            );
        }
    }
    (
        Some(ctx.initial.unwrap_or(VersionId(0))),
        Some(SimTime::ZERO),
        None,
    )
}

/// One rollout: `to` at `at`, and an optional `undo_at`.
fn single_rollout(
    pr: &mut Problems<'_>,
    r: &RawRollout,
    ctx: &RolloutContext<'_>,
) -> (Option<VersionId>, Option<SimTime>, Option<SimTime>) {
    let rp: Path = vec!["rollout".into()];
    let missing = |pr: &mut Problems<'_>, key: &str| {
        pr.add(
            &rp,
            format!("`rollout` needs `{key}`"),
            super::suggest::missing_help(key),
        );
    };
    let target = match &r.to {
        None => {
            missing(pr, "to");
            None
        }
        Some(to) => pr.version_ref(&child(&rp, "to"), to, ctx.names),
    };
    if ctx.initial.is_some() && target == ctx.initial {
        pr.add(
            &child(&rp, "to"),
            format!(
                "the rollout goes to \"{}\", the version already running",
                r.to.as_deref().unwrap_or_default()
            ),
            "roll out to another version defined under [versions]",
        );
    }
    let at = match &r.at {
        None => {
            missing(pr, "at");
            None
        }
        Some(a) => pr.duration(&child(&rp, "at"), a).map(|d| SimTime::ZERO + d),
    };
    if let (Some(at), Some(end)) = (at, ctx.end) {
        if at >= end {
            pr.add(
                &child(&rp, "at"),
                "the rollout starts after the run ends",
                "start it before `duration`, or lengthen the run",
            );
        }
    }
    let undo_at = r
        .undo_at
        .as_ref()
        .and_then(|u| pr.duration(&child(&rp, "undo_at"), u))
        .map(|d| SimTime::ZERO + d);
    if let (Some(u), Some(a)) = (undo_at, at) {
        if u <= a {
            pr.add(
                &child(&rp, "undo_at"),
                "the undo comes before the rollout starts",
                "undo_at must be later than `at`",
            );
        }
    }
    (target, at, undo_at)
}

/// Resolves `[rollout]`.
pub(super) fn rollout(
    pr: &mut Problems<'_>,
    r: &RawRollout,
    ctx: &RolloutContext<'_>,
) -> Option<RolloutSpec> {
    let rp: Path = vec!["rollout".into()];
    if ctx.replicas == 0 {
        pr.add(
            &vec!["deployment".into(), "replicas".into()],
            "a rollout of 0 replicas moves nothing",
            "set deployment.replicas ≥ 1, or remove [rollout]",
        );
    }
    let (target, at, undo_at) = if ctx.with_steps {
        steps_rollout(pr, r, ctx)
    } else {
        single_rollout(pr, r, ctx)
    };
    let kind = r.strategy.as_str();
    let Some(def) = strategy_named(kind) else {
        let names: Vec<String> = STRATEGIES
            .iter()
            .map(|s| format!("\"{}\"", s.name))
            .collect();
        pr.add(
            &child(&rp, "strategy"),
            format!("unknown strategy \"{kind}\""),
            format!(
                "use {} or {}",
                names[..names.len() - 1].join(", "),
                names[names.len() - 1]
            ),
        );
        return None;
    };
    for key in set_keys(pr) {
        let key = key.as_str();
        let ok = accepted_by(key);
        if !ok.contains(&kind) {
            let help = match (def.foreign_key_help)(key) {
                Some(help) => help.to_string(),
                None => format!(
                    "`{key}` belongs to strategy {}; remove it",
                    ok.iter()
                        .map(|k| format!("\"{k}\""))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            };
            let what = def
                .title
                .map_or_else(|| format!("strategy \"{kind}\""), str::to_string);
            pr.add(
                &child(&rp, key),
                format!("`{key}` does not apply to {what}"),
                help,
            );
        }
    }
    let mut input = RolloutInput {
        pr,
        r,
        replicas: ctx.replicas,
        versions: ctx.names.len(),
        warnings: Vec::new(),
    };
    let strategy = (def.resolve)(&mut input);
    Some(RolloutSpec {
        target: target?,
        at: at?,
        strategy: strategy?,
        undo_at,
        rollback_on_stall: r.rollback_on_stall.unwrap_or(false),
        strategy_warnings: input.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::SHARED_KEYS;
    use crate::scenario::Scenario;
    use crate::strategy::STRATEGIES;

    /// The keys `RawRollout` accepts are the shared ones plus every key some strategy declares,
    /// so no key is parsed that no strategy reads, and no declared key is refused. Read from
    /// the "accepted here" list an unknown key's diagnostic prints.
    #[test]
    fn the_registry_and_the_parsed_keys_agree() {
        let text = std::fs::read_to_string("scenarios/rolling.toml").unwrap();
        let text = text.replace("[rollout]", "[rollout]\nnot_a_key = 1");
        let e = Scenario::parse("x.toml", "x", &text).unwrap_err();
        let help = e.diagnostics[0].help.clone().unwrap();
        let list = help.split("accepted here: ").nth(1).unwrap();
        let mut parsed: Vec<&str> = list.split(", ").collect();
        let mut declared: Vec<&str> = STRATEGIES
            .iter()
            .flat_map(|s| s.keys.iter().copied())
            .chain(SHARED_KEYS)
            .collect();
        parsed.sort_unstable();
        declared.sort_unstable();
        declared.dedup();
        assert_eq!(parsed, declared);
    }

    /// A strategy's own warnings (found by its resolution) come after the ones every scenario
    /// gets, placed at their keys: here the node room (Flagger's peak is stable + canary),
    /// then Flagger's interval and threshold corrections.
    #[test]
    fn a_strategys_warnings_follow_the_shared_ones_at_their_keys() {
        let text = std::fs::read_to_string("scenarios/flagger-canary.toml").unwrap();
        let text = text
            .replace("interval = \"15s\"", "interval = \"5s\"")
            .replace("threshold = 2", "threshold = 0")
            .replace("pods_per_node = 4", "pods_per_node = 3");
        let s = Scenario::parse("x.toml", "x", &text).unwrap();
        let w: Vec<&str> = s.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].starts_with("the rollout needs up to 20 pods (10 stable + up to 10 canary"));
        assert!(w[1].starts_with("Flagger raises an analysis interval below 10 s"));
        assert!(w[2].starts_with("Flagger reads threshold = 0 as 1"));
        let line = |key: &str| text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
        assert_eq!(s.warnings[1].line, line("interval"));
        assert_eq!(s.warnings[2].line, line("threshold"));
    }
}
