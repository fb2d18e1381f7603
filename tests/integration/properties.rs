//! Invariants that must hold for every scenario, checked on random small ones (proptest).
//!
//! The generator writes scenario files as a user would — TOML text with every knob that shapes a
//! rollout: 1–8 replicas, 5–200 req/s, 1–8 workers per pod, an accept queue of 0–16 or unbounded,
//! 0–5 s start-up and 0–2 s more until the application listens, readiness probe or none, 0–5 s
//! preStop, 1–20 s grace, each SIGTERM behaviour, a new version with its own service times and
//! sometimes errors, each load-balancer preset, maxSurge / maxUnavailable as counts or percents
//! (never both zero as written, which Kubernetes rejects), Recreate or RollingUpdate starting
//! 5–20 s into a 30–90 s run, a client timeout or none, and a cluster with plenty of room or
//! barely enough for the fleet. The invariants:
//!
//! 1. **Conservation.** Every arrival gets exactly one outcome: `total = ok + failed`,
//!    `failed = Σ failed_by_cause`, and `total` equals the arrivals in `timeseries.csv`; the
//!    series' `ok` and `failed` columns also add up to the summary's. A request lost or counted
//!    twice on some path (retry, SIGKILL, timeout in the queue, end of run) breaks this.
//! 2. **maxUnavailable = 0 keeps the fleet Ready.** A RollingUpdate whose maxUnavailable
//!    resolves to 0 removes an old pod only once a new one is available, so the Ready count
//!    never drops below `replicas`. This holds whatever the cluster's room: a cluster without
//!    room for the surge stalls the rollout (see `scenarios/rolling-surge-no-room.toml`) but
//!    must never take a Ready pod away, so the property is checked on tight clusters too.
//! 3. **maxSurge bounds the fleet.** A RollingUpdate never has more than `replicas + maxSurge`
//!    non-terminating pods, with maxSurge resolved exactly as Kubernetes does
//!    ([`resolve_fenceposts`]); Recreate never runs more than `replicas` pods, terminating ones
//!    included, since it waits for every old pod to be gone before it creates a new one.
//! 4. **Determinism.** The same scenario text gives byte-identical `summary.json` and
//!    `timeseries.csv` on a second run: results are a function of the file and its seed only.
//!
//! Each run is at most 18 000 requests, so the file takes well under a second in release mode.
//! Failing inputs are printed as the scenario file itself, ready to save and run with
//! `rollsim run`. Failure persistence is off so that a failure never writes files into the
//! source tree.

use std::fmt;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use rollsim::report::{summary_json, timeseries_csv};
use rollsim::scenario::Scenario;
use rollsim::sim::{RunOutput, Simulation};
use rollsim::strategy::{resolve_fenceposts, IntOrPercent, RecreateSpec, RollingSettings};

/// Cases per property. Runs are cheap (≤ 18 000 requests each), so this stays fast.
const CASES: u32 = 64;

/// `CASES` cases, or `PROPTEST_CASES` if set (for a longer hunt:
/// `PROPTEST_CASES=5000 cargo test --release --test integration properties`).
pub(crate) fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A scenario file. Its `Debug` is the file itself, so a failing case prints as TOML.
#[derive(Clone)]
pub(crate) struct ScenarioText(pub(crate) String);

impl fmt::Debug for ScenarioText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", self.0)
    }
}

impl ScenarioText {
    fn parse(&self) -> Scenario {
        Scenario::parse("prop.toml", "prop", &self.0)
            .unwrap_or_else(|e| panic!("generated scenario is invalid: {e:?}\n{}", self.0))
    }

    pub(crate) fn run(&self) -> RunOutput {
        Simulation::new(&self.parse())
            .run()
            .expect("the run finishes")
    }
}

/// maxSurge / maxUnavailable as written.
#[derive(Copy, Clone, Debug)]
enum Fence {
    Int(u32),
    Percent(u32),
}

impl Fence {
    fn is_zero(self) -> bool {
        matches!(self, Fence::Int(0) | Fence::Percent(0))
    }

    fn toml(self) -> String {
        match self {
            Fence::Int(n) => n.to_string(),
            Fence::Percent(p) => format!("\"{p}%\""),
        }
    }
}

fn fence(max_percent: u32) -> impl Strategy<Value = Fence> {
    prop_oneof![
        (0u32..=3).prop_map(Fence::Int),
        prop_oneof![
            Just(0u32),
            Just(25),
            Just(50),
            Just(max_percent),
            0..=max_percent
        ]
        .prop_map(Fence::Percent),
    ]
}

/// The rollout strategy as written.
#[derive(Copy, Clone, Debug)]
enum Rollout {
    Recreate,
    Rolling {
        surge: Fence,
        unavailable: Fence,
    },
    /// Argo blue-green, with a smoke test and optionally post-promotion analysis.
    BlueGreen {
        analysis: bool,
    },
    /// Argo canary: basic or routed (optionally with dynamicStableScale), optional analysis.
    Canary {
        routed: bool,
        dynamic: bool,
        analysis: bool,
    },
    /// Flagger with an error-rate check.
    Flagger,
}

/// An optional feature flag inside v2: (percent, kill switch after the rollout).
type FlagKnob = Option<(u32, bool)>;

fn rolling() -> impl Strategy<Value = Rollout> {
    (fence(150), fence(100))
        .prop_filter(
            "Kubernetes rejects maxSurge = maxUnavailable = 0",
            |(s, u)| !(s.is_zero() && u.is_zero()),
        )
        .prop_map(|(surge, unavailable)| Rollout::Rolling { surge, unavailable })
}

/// A rolling update whose maxUnavailable is zero as written (so maxSurge is not).
fn rolling_without_unavailability() -> impl Strategy<Value = Rollout> {
    (
        fence(150).prop_filter("maxSurge must be non-zero", |s| !s.is_zero()),
        prop_oneof![Just(Fence::Int(0)), Just(Fence::Percent(0))],
    )
        .prop_map(|(surge, unavailable)| Rollout::Rolling { surge, unavailable })
}

fn any_rollout() -> impl Strategy<Value = Rollout> {
    prop_oneof![
        1 => Just(Rollout::Recreate),
        2 => rolling(),
        1 => any::<bool>().prop_map(|analysis| Rollout::BlueGreen { analysis }),
        2 => (any::<bool>(), any::<bool>(), any::<bool>())
            .prop_map(|(routed, dynamic, analysis)| Rollout::Canary { routed, dynamic: routed && dynamic, analysis }),
        1 => Just(Rollout::Flagger),
    ]
}

fn flag_knob() -> impl Strategy<Value = FlagKnob> {
    prop_oneof![2 => Just(None), 1 => (0u32..=100, any::<bool>()).prop_map(Some)]
}

/// The `[rollout]` keys of `rollout` (after `to` and `at`).
fn strategy_toml(rollout: Rollout) -> String {
    let analysis = |key: &str| {
        format!(
            "\n[rollout.{key}]\ninterval = \"5s\"\n[[rollout.{key}.metrics]]\nmetric = \"error_rate\"\nmax = 0.02\nmin_requests = 5\n"
        )
    };
    match rollout {
        Rollout::Recreate => "strategy = \"recreate\"".to_string(),
        Rollout::Rolling { surge, unavailable } => format!(
            "strategy = \"rolling\"\nmax_surge = {}\nmax_unavailable = {}",
            surge.toml(),
            unavailable.toml()
        ),
        Rollout::BlueGreen { analysis: a } => format!(
            "strategy = \"blue_green\"\nscale_down_delay = \"5s\"\nsmoke_test = {{ requests = 20, over = \"5s\" }}\n{}",
            if a { analysis("post_promotion_analysis") } else { String::new() }
        ),
        Rollout::Canary { routed, dynamic, analysis: a } => format!(
            "strategy = \"canary\"\ntraffic_routing = {routed}\n{}steps = [{{ set_weight = 25 }}, {{ pause = \"5s\" }}, {{ set_weight = 60 }}, {{ pause = \"5s\" }}]\n{}",
            if dynamic { "dynamic_stable_scale = true\n" } else { "" },
            if a { analysis("analysis") } else { String::new() }
        ),
        Rollout::Flagger => format!(
            "strategy = \"flagger\"\ninterval = \"10s\"\nstep_weight = 30\nmax_weight = 60\n{}",
            analysis("analysis")
        ),
    }
}

/// Pod settings shared by both versions.
#[derive(Clone, Debug)]
struct PodKnobs {
    concurrency: u32,
    queue: Option<u32>,
    startup_ms: (u32, u32),
    app_init_ms: u32,
    /// (initial delay ms, period ms, success threshold)
    readiness: Option<(u32, u32, u32)>,
    pre_stop_ms: u32,
    grace_s: u32,
    on_sigterm: &'static str,
}

fn pod_knobs() -> impl Strategy<Value = PodKnobs> {
    (
        1u32..=8,
        prop_oneof![3 => (0u32..=16).prop_map(Some), 1 => Just(None)],
        (0u32..=5_000, 0u32..=2_000),
        prop_oneof![Just(0u32), 0u32..=2_000],
        prop::option::of((0u32..=2_000, 1_000u32..=3_000, 1u32..=2)),
        prop_oneof![Just(0u32), 0u32..=5_000],
        1u32..=20,
        prop_oneof![Just("drain"), Just("exit"), Just("ignore")],
    )
        .prop_map(
            |(
                concurrency,
                queue,
                (startup_min, spread),
                app_init_ms,
                readiness,
                pre_stop_ms,
                grace_s,
                on_sigterm,
            )| {
                PodKnobs {
                    concurrency,
                    queue,
                    startup_ms: (startup_min, (startup_min + spread).min(5_000)),
                    app_init_ms,
                    readiness,
                    pre_stop_ms,
                    grace_s,
                    on_sigterm,
                }
            },
        )
}

/// Everything else: run, traffic, cluster, versions, balancer.
#[derive(Clone, Debug)]
struct RunKnobs {
    seed: u64,
    duration_s: u32,
    rollout_at_s: u32,
    rate: f64,
    timeout_ms: Option<u32>,
    replicas: u32,
    /// Node slots beyond `replicas` (`None`: plenty of room).
    spare_room: Option<u32>,
    pods_per_node: u32,
    v1_mean_ms: u32,
    v2_mean_ms: u32,
    v2_p99_factor: f64,
    v2_error_rate: f64,
    lb: &'static str,
}

fn run_knobs() -> impl Strategy<Value = RunKnobs> {
    (
        (0u64..1_000_000, 30u32..=90, 5u32..=20),
        (5.0f64..=200.0, prop::option::of(500u32..=10_000)),
        (1u32..=8, prop::option::of(0u32..=3), 1u32..=4),
        (
            5u32..=100,
            5u32..=100,
            1.5f64..=6.0,
            prop_oneof![Just(0.0), 0.0f64..=0.05],
        ),
        prop_oneof![
            Just("kube-proxy"),
            Just("nginx"),
            Just("envoy"),
            Just("aws-alb")
        ],
    )
        .prop_map(
            |(
                (seed, duration_s, rollout_at_s),
                (rate, timeout_ms),
                (replicas, spare_room, pods_per_node),
                (v1_mean_ms, v2_mean_ms, v2_p99_factor, v2_error_rate),
                lb,
            )| RunKnobs {
                seed,
                duration_s,
                rollout_at_s,
                rate,
                timeout_ms,
                replicas,
                spare_room,
                pods_per_node,
                v1_mean_ms,
                v2_mean_ms,
                v2_p99_factor,
                v2_error_rate,
                lb,
            },
        )
}

/// Writes the scenario file.
fn render(run: &RunKnobs, pod: &PodKnobs, rollout: Rollout) -> ScenarioText {
    render_with_flag(run, pod, rollout, None)
}

fn render_with_flag(
    run: &RunKnobs,
    pod: &PodKnobs,
    rollout: Rollout,
    flag: FlagKnob,
) -> ScenarioText {
    let slots = run.spare_room.map_or(200, |spare| run.replicas + spare);
    let nodes = slots.div_ceil(run.pods_per_node);
    let timeout = run
        .timeout_ms
        .map_or("\"none\"".to_string(), |ms| format!("\"{ms}ms\""));
    let queue = pod
        .queue
        .map_or("\"unbounded\"".to_string(), |q| q.to_string());
    let (smin, smax) = pod.startup_ms;
    let startup = if smin == smax {
        format!("\"{smin}ms\"")
    } else {
        format!("{{ dist = \"uniform\", min = \"{smin}ms\", max = \"{smax}ms\" }}")
    };
    let readiness = match pod.readiness {
        None => "false".to_string(),
        Some((delay, period, successes)) => format!(
            "{{ initial_delay = \"{delay}ms\", period = \"{period}ms\", \
             success_threshold = {successes}, failure_threshold = 3 }}"
        ),
    };
    let strategy = strategy_toml(rollout);
    let flag = flag.map_or(String::new(), |(percent, kill)| {
        let at = run.rollout_at_s + 5;
        format!(
            "\n[versions.v2-path]\nservice = \"20ms\"\nerror_rate = 0.05\n\n[flag]\nkey = \"path\"\nin_versions = [\"v2\"]\nvariant = \"v2-path\"\npoll_interval = \"3s\"\ninternal_users = 50\nschedule = [{{ at = \"{at}s\", target = [\"internal\"] }}, {{ at = \"{}s\", percent = {percent} }}]\n{}",
            at + 5,
            if kill { format!("kill_at = \"{}s\"\n", at + 10) } else { String::new() }
        )
    });
    let v2_p99 = (f64::from(run.v2_mean_ms) * run.v2_p99_factor).round();
    ScenarioText(format!(
        r#"seed = {seed}
duration = "{duration}s"

[traffic]
rate = {rate:.3}
timeout = {timeout}

[cluster]
nodes = {nodes}
pods_per_node = {ppn}

[pod]
concurrency = {concurrency}
queue = {queue}
startup = {startup}
app_init = "{app_init}ms"
readiness = {readiness}
pre_stop = "{pre_stop}ms"
termination_grace = "{grace}s"
on_sigterm = "{on_sigterm}"

[versions.v1]
service = {{ dist = "exponential", mean = "{v1}ms" }}

[versions.v2]
service = {{ dist = "lognormal", mean = "{v2}ms", p99 = "{v2_p99}ms" }}
error_rate = {err:.4}

[load_balancer]
preset = "{lb}"

[deployment]
replicas = {replicas}
version = "v1"

[rollout]
to = "v2"
at = "{at}s"
{strategy}
{flag}"#,
        seed = run.seed,
        duration = run.duration_s,
        rate = run.rate,
        ppn = run.pods_per_node,
        concurrency = pod.concurrency,
        app_init = pod.app_init_ms,
        pre_stop = pod.pre_stop_ms,
        grace = pod.grace_s,
        on_sigterm = pod.on_sigterm,
        v1 = run.v1_mean_ms,
        v2 = run.v2_mean_ms,
        err = run.v2_error_rate,
        lb = run.lb,
        replicas = run.replicas,
        at = run.rollout_at_s,
    ))
}

fn scenario_with(rollouts: impl Strategy<Value = Rollout>) -> impl Strategy<Value = ScenarioText> {
    (run_knobs(), pod_knobs(), rollouts).prop_map(|(run, pod, rollout)| render(&run, &pod, rollout))
}

/// Any strategy, sometimes with a feature flag inside v2.
pub(crate) fn any_scenario() -> impl Strategy<Value = ScenarioText> {
    (run_knobs(), pod_knobs(), any_rollout(), flag_knob())
        .prop_map(|(run, pod, rollout, flag)| render_with_flag(&run, &pod, rollout, flag))
}

/// A `[database]` table: 10–60 connections, pools of 1–12, 1–4 cores, 0–6 queries of
/// 1–10 ms, a short pool timeout, a statement timeout or none, either exhaustion behaviour;
/// sometimes a long transaction, a DDL step of any kind (its duration given or from the
/// table's rows) and a batched backfill.
pub(crate) fn database_toml() -> impl Strategy<Value = String> {
    (
        (10u32..=60, 1u32..=12, 1u32..=4),
        (0u32..=4, 0u32..=2, 1u32..=10),
        (250u32..=3_000, prop::option::of(5u32..=100), any::<bool>()),
        (
            prop::option::of((0u32..=20, 1u32..=30, 0usize..8)),
            prop::option::of((0u32..=30, 0usize..12, prop::option::of(1u32..=5_000), 0u32..=1_000, 0u32..=3)),
            prop::option::of((0u32..=30, prop::option::of(0u32..=50_000), 1u32..=5_000, 0u32..=500)),
            (0u32..=400_000, 1u32..=1_000),
        ),
    )
        .prop_filter("a pool fits the usable slots", |((max, pool, _), _, _, _)| *pool <= max - 3)
        .prop_map(|((max, pool, cpu), (queries, spread, read_ms), (wait_ms, st, fail), (long, ddl, backfill, (rows, row_bytes)))| {
            let st = st.map_or(String::new(), |ms| format!("statement_timeout = \"{ms}ms\"\n"));
            const MODES: [&str; 8] = ["access_share", "row_share", "row_exclusive", "share_update_exclusive", "share", "share_row_exclusive", "exclusive", "access_exclusive"];
            const KINDS: [&str; 12] = ["alter_table", "create_index", "create_index_concurrently", "add_column", "add_column_volatile_default", "alter_column_type", "set_not_null", "add_constraint", "add_constraint_not_valid", "validate_constraint", "rename_column", "drop_column"];
            // A long transaction, a DDL step (with lock_timeout and retries when drawn; its
            // duration from table a's rows when none is drawn, alter_table excepted) and a
            // backfill of table a.
            let locks = long.map_or(String::new(), |(start, dur, m)| format!(
                "[[database.transactions]]\ntable = \"a\"\nmode = \"{}\"\nstart = \"{start}s\"\nduration = \"{dur}s\"\n", MODES[m]
            )) + &ddl.map_or(String::new(), |(at, k, ms, lt, retries)| format!(
                "[[database.ddl]]\nat = \"{at}s\"\ntable = \"a\"\nkind = \"{}\"\n{}lock_timeout = \"{lt}ms\"\nretries = {}\nretry_after = \"1s\"\n",
                KINDS[k],
                match (ms, k) {
                    (Some(ms), _) => format!("duration = \"{ms}ms\"\n"),
                    (None, 0) => "duration = \"8ms\"\n".into(),
                    (None, _) => String::new(),
                },
                if lt == 0 { 0 } else { retries }
            )) + &backfill.map_or(String::new(), |(at, n, batch, pause)| format!(
                "[[database.backfills]]\nat = \"{at}s\"\ntable = \"a\"\n{}batch_size = {batch}\npause = \"{pause}ms\"\n",
                n.map_or(String::new(), |n| format!("rows = {n}\n"))
            ));
            format!(
                "\n[database]\nmax_connections = {max}\npool_size = {pool}\ncpu = {cpu}\nqueries = {queries}\nqueries_max = {}\nread_time = {{ dist = \"exponential\", mean = \"{read_ms}ms\" }}\nconnection_timeout = \"{wait_ms}ms\"\n{st}on_exhausted = \"{}\"\n[database.tables]\na = {{ share = 2, writes = 0.3, rows = {rows}, row_bytes = {row_bytes} }}\nb = {{ share = 1 }}\n",
                queries + spread,
                if fail { "fail_requests" } else { "fail_readiness" }
            ) + &locks
        })
}

/// Column `name` of a CSV text, summed over its rows.
pub(crate) fn column_sum(csv: &str, name: &str) -> u64 {
    let mut lines = csv.lines();
    let header = lines.next().expect("the CSV has a header");
    let col = header
        .split(',')
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no `{name}` column in {header}"));
    lines
        .map(|line| {
            let cell = line.split(',').nth(col).expect("row as wide as the header");
            cell.parse::<u64>()
                .unwrap_or_else(|e| panic!("`{name}` = {cell:?}: {e}"))
        })
        .sum()
}

/// `(replicas, maxSurge, maxUnavailable)` as the controller resolves them, for a rolling update.
fn resolved_fenceposts(s: &Scenario) -> Option<(u32, u32, u32)> {
    let replicas = s.deployment.replicas;
    if let Some(RollingSettings {
        max_surge,
        max_unavailable,
        ..
    }) = s.rollout.as_ref()?.strategy.get::<RollingSettings>()
    {
        let (surge, unavailable) = resolve_fenceposts(*max_surge, *max_unavailable, replicas);
        Some((replicas, surge, unavailable))
    } else {
        None
    }
}

fn is_recreate(s: &Scenario) -> bool {
    s.rollout
        .as_ref()
        .is_some_and(|r| r.strategy.get::<RecreateSpec>().is_some())
}

proptest! {
    #![proptest_config(config())]

    /// Property 1: every arrival has exactly one outcome, in the summary and the time series.
    #[test]
    fn every_arrival_has_exactly_one_outcome(text in any_scenario()) {
        let run = text.run();
        let r = &run.summary.requests;
        prop_assert_eq!(r.total, r.ok + r.failed);
        prop_assert_eq!(r.failed, r.failed_by_cause.values().sum::<u64>());
        let csv = timeseries_csv(&run);
        prop_assert_eq!(column_sum(&csv, "arrivals"), r.total, "arrivals in timeseries.csv");
        prop_assert_eq!(column_sum(&csv, "ok"), r.ok, "ok in timeseries.csv");
        prop_assert_eq!(column_sum(&csv, "failed"), r.failed, "failed in timeseries.csv");
        for (cause, n) in &r.failed_by_cause {
            prop_assert_eq!(column_sum(&csv, cause), *n, "{} in timeseries.csv", cause);
        }
    }

    /// Property 2: a RollingUpdate with maxUnavailable 0 never has fewer Ready pods than
    /// replicas, on any cluster the initial fleet fits in.
    #[test]
    fn max_unavailable_zero_never_loses_a_ready_pod(
        text in scenario_with(rolling_without_unavailability())
    ) {
        let scenario = text.parse();
        let (replicas, _, unavailable) = resolved_fenceposts(&scenario).expect("rolling");
        prop_assert_eq!(unavailable, 0);
        let run = Simulation::new(&scenario).run().expect("the run finishes");
        let c = &run.summary.capacity;
        prop_assert!(
            c.min_ready_pods >= replicas,
            "min_ready_pods {} < replicas {} (rollout {})",
            c.min_ready_pods, replicas, run.summary.rollout.outcome
        );
    }

    /// Property 3: maxSurge bounds a RollingUpdate's pods; Recreate never exceeds replicas;
    /// the Argo and Flagger strategies never exceed two fleets.
    #[test]
    fn strategies_respect_their_pod_ceilings(text in any_scenario()) {
        let scenario = text.parse();
        let run = Simulation::new(&scenario).run().expect("the run finishes");
        let c = &run.summary.capacity;
        if let Some((replicas, surge, _)) = resolved_fenceposts(&scenario) {
            prop_assert!(
                c.peak_pods <= replicas + surge,
                "peak_pods {} > replicas {} + maxSurge {}", c.peak_pods, replicas, surge
            );
        } else if is_recreate(&scenario) {
            let replicas = scenario.deployment.replicas;
            prop_assert!(
                c.peak_pods_incl_terminating <= replicas,
                "Recreate: peak_pods_incl_terminating {} > replicas {}",
                c.peak_pods_incl_terminating, replicas
            );
        } else {
            // Blue-green, canary and Flagger run at most a second full fleet beside the stable.
            let replicas = scenario.deployment.replicas;
            prop_assert!(
                c.peak_pods <= 2 * replicas,
                "peak_pods {} > 2 × replicas {}", c.peak_pods, replicas
            );
        }
    }

    /// Properties 1 and 4 with a database switched on (small `max_connections`, so pools run
    /// short, requests wait and time out): every arrival has one outcome, no more connections
    /// open than the ordinary slots, database failures no more than the database's own
    /// counts, and byte-identical outputs on a second run.
    #[test]
    fn with_a_database_outcomes_are_conserved_and_runs_deterministic(
        text in (any_scenario(), database_toml()).prop_map(|(t, db)| ScenarioText(t.0 + &db))
    ) {
        let (run, again) = (text.run(), text.run());
        let r = &run.summary.requests;
        prop_assert_eq!(r.total, r.ok + r.failed);
        prop_assert_eq!(r.failed, r.failed_by_cause.values().sum::<u64>());
        let csv = timeseries_csv(&run);
        prop_assert_eq!(column_sum(&csv, "arrivals"), r.total, "arrivals in timeseries.csv");
        for (cause, n) in &r.failed_by_cause {
            prop_assert_eq!(column_sum(&csv, cause), *n, "{} in timeseries.csv", cause);
        }
        let db = run.summary.database.as_ref().expect("a database section");
        prop_assert!(db.peak_connections <= db.usable_connections);
        prop_assert!(r.failed_by_cause["db_timeout"] <= db.pool_timeouts + db.statement_timeouts);
        prop_assert!(db.max_lock_wait_s <= db.lock_wait_s);
        for d in &db.ddl {
            let (q, a, f) = (d.requested_s, d.lock_acquired_s, d.finished_s);
            prop_assert!(a.is_none() || (q <= a && (f.is_none() || a <= f)), "{:?}", d);
            prop_assert!(d.lock_timeouts <= d.attempts);
        }
        for b in &db.backfills {
            let (q, s, f) = (b.requested_s, b.started_s, b.finished_s);
            prop_assert!(s.is_none() || (q <= s && (f.is_none() || s <= f)), "{:?}", b);
            prop_assert!(b.rows_done <= b.rows, "{:?}", b);
            prop_assert!(b.batches <= b.rows.div_ceil(b.batch_size), "{:?}", b);
            prop_assert!(f.is_none() || b.rows_done == b.rows, "{:?}", b);
        }
        prop_assert_eq!(summary_json(&run), summary_json(&again), "summary.json differs");
        prop_assert_eq!(csv, timeseries_csv(&again), "timeseries.csv differs");
    }

    /// Property 4: the same scenario gives byte-identical outputs.
    #[test]
    fn runs_are_deterministic(text in any_scenario()) {
        let (a, b) = (text.run(), text.run());
        prop_assert_eq!(summary_json(&a), summary_json(&b), "summary.json differs");
        prop_assert_eq!(timeseries_csv(&a), timeseries_csv(&b), "timeseries.csv differs");
    }
}

#[test]
fn fences_resolve_as_written() {
    // The generator's percent strings reach the controller as percents, not counts.
    let text = render(
        &RunKnobs {
            seed: 1,
            duration_s: 30,
            rollout_at_s: 5,
            rate: 10.0,
            timeout_ms: None,
            replicas: 4,
            spare_room: None,
            pods_per_node: 2,
            v1_mean_ms: 10,
            v2_mean_ms: 10,
            v2_p99_factor: 2.0,
            v2_error_rate: 0.0,
            lb: "envoy",
        },
        &PodKnobs {
            concurrency: 2,
            queue: None,
            startup_ms: (0, 1_000),
            app_init_ms: 0,
            readiness: Some((0, 1_000, 1)),
            pre_stop_ms: 0,
            grace_s: 1,
            on_sigterm: "drain",
        },
        Rollout::Rolling {
            surge: Fence::Percent(30),
            unavailable: Fence::Int(0),
        },
    );
    let s = text.parse();
    let strategy = &s.rollout.as_ref().unwrap().strategy;
    match strategy.get::<RollingSettings>() {
        Some(r) => {
            assert_eq!(r.max_surge, IntOrPercent::Percent(30));
            assert_eq!(r.max_unavailable, IntOrPercent::Int(0));
        }
        None => panic!("{strategy:?}"),
    }
    assert_eq!(resolved_fenceposts(&s), Some((4, 2, 0)));
}
