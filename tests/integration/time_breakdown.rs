//! Where a rollout's time goes (`rollout.time_breakdown_s`): the parts add up to the span,
//! and each shipped lesson spends its time where its header says, on several seeds.

use rollsim::metrics::TimeBreakdown;
use rollsim::scenario::Scenario;
use rollsim::sim::{RunOutput, Simulation};

use crate::common::root;

const SEEDS: [u64; 3] = [1, 7, 42];

fn run(name: &str, seed: u64) -> RunOutput {
    let mut s = Scenario::load(&root().join(format!("scenarios/{name}.toml"))).unwrap();
    s.seed = seed;
    Simulation::new(&s).run().unwrap()
}

fn breakdown(o: &RunOutput) -> &TimeBreakdown {
    o.summary
        .rollout
        .time_breakdown_s
        .as_ref()
        .expect("a rollout started")
}

fn parts(t: &TimeBreakdown) -> f64 {
    t.scheduling
        + t.starting
        + t.readiness
        + t.terminating
        + t.pause
        + t.analysis
        + t.scale_down_delay
        + t.controller
        + t.other
}

#[test]
fn the_parts_add_up_to_the_span_and_a_completed_span_is_the_rollout_duration() {
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let Ok(scenario) = Scenario::load(&path) else {
            continue; // files that are not plain scenarios (variants) are tested elsewhere
        };
        if scenario.rollout.is_none() {
            continue;
        }
        for seed in [1, 42] {
            let o = run(&name, seed);
            let t = breakdown(&o);
            assert!(
                (parts(t) - t.total).abs() < 1e-6,
                "{name} seed {seed}: {t:?}"
            );
            let pods = t.scheduling + t.starting + t.readiness + t.terminating;
            assert!((pods - t.waiting_for_pods).abs() < 1e-9, "{name}");
            let r = &o.summary.rollout;
            if t.until == "completed" {
                let d = r.duration_s.expect("a completed rollout has a duration");
                assert!(
                    (d - t.total).abs() < 1e-6,
                    "{name} seed {seed}: {d} vs {t:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} runs checked");
}

#[test]
fn no_rollout_has_no_breakdown() {
    assert!(run("steady", 1).summary.rollout.time_breakdown_s.is_none());
}

#[test]
fn a_canary_spends_its_pause_steps_pausing_and_its_scale_down_delay_waiting() {
    // canary.toml: three 30 s pauses; the previous stable kept for Argo's default 30 s
    // scaleDownDelaySeconds with traffic routing; the rest is the canary's pods coming up.
    for seed in SEEDS {
        let o = run("canary", seed);
        let t = breakdown(&o);
        assert_eq!(t.until, "completed");
        assert!((t.pause - 90.0).abs() < 0.001, "seed {seed}: {t:?}");
        assert!(
            (t.scale_down_delay - 30.0).abs() < 0.001,
            "seed {seed}: {t:?}"
        );
        assert!(t.starting > 0.0 && t.readiness > 0.0, "seed {seed}: {t:?}");
        assert_eq!(t.analysis, 0.0);
    }
}

#[test]
fn pods_that_find_no_room_spend_the_rollout_being_scheduled() {
    // rolling-surge-no-room: the surge pod stays Pending until the progress deadline.
    for seed in SEEDS {
        let o = run("rolling-surge-no-room", seed);
        let t = breakdown(&o);
        assert_eq!(t.until, "stalled", "seed {seed}");
        assert!(t.scheduling >= 0.9 * t.total, "seed {seed}: {t:?}");
    }
}

#[test]
fn recreate_waits_for_the_old_pods_to_terminate_then_for_the_new_to_start() {
    for seed in SEEDS {
        let o = run("recreate", seed);
        let t = breakdown(&o);
        assert!(t.terminating > 0.0, "seed {seed}: {t:?}");
        assert!(t.starting > 0.0 && t.readiness > 0.0, "seed {seed}: {t:?}");
        assert_eq!(t.pause + t.analysis, 0.0);
    }
}

#[test]
fn a_blue_green_post_promotion_analysis_is_analysis_time_until_the_abort() {
    for seed in SEEDS {
        let o = run("blue-green-bad-release", seed);
        let t = breakdown(&o);
        assert_eq!(t.until, "aborted", "seed {seed}");
        // The analysis measures every 10 s; it fails at its first measurement.
        assert!((t.analysis - 10.0).abs() < 0.5, "seed {seed}: {t:?}");
    }
}

#[test]
fn flagger_spends_ticks_detecting_and_promoting_and_analyses_in_between() {
    // flagger-canary: interval 15 s. Detection waits 0–1 interval for the next tick, then
    // Promoting and Finalising take one tick each: 30–45 s of the controller's own clock.
    for seed in SEEDS {
        let o = run("flagger-canary", seed);
        let t = breakdown(&o);
        assert_eq!(t.until, "completed", "seed {seed}");
        assert!((30.0..=45.0).contains(&t.controller), "seed {seed}: {t:?}");
        assert!(t.analysis >= 15.0, "seed {seed}: {t:?}");
    }
}
