//! Sweep benchmark: the speed-up of `rollsim sweep` from one core to two, and the wall time
//! of a 1,000-point sweep of `scenarios/rolling.toml` at 10 simulated minutes a point.
//!
//! * **speedup** — 16 points (`rollout.max_surge` 1..4 × `rollout.max_unavailable` 0..3) of
//!   `rolling` at 5 simulated minutes, run with rayon pools of 1 and of 2 threads; prints both
//!   wall times and their ratio.
//! * **thousand** — 1,000 points (`max_surge` 1..10 × `max_unavailable` 0..9 ×
//!   `pod.pre_stop` 0s..9s) of `rolling` at `duration = "10m"` (≈ 300,000 requests a point),
//!   on every core; prints the wall time.
//!
//! * **overhead** — what a sweep point costs beyond its simulation: the same K points run by
//!   `rollsim sweep` on one thread and as K bare `Simulation::new(&s).run()` calls on their
//!   already-resolved scenarios, compared in CPU time (`getrusage`, user + system) as well as
//!   wall time, so the figure holds on a machine shared with other work. Printed per point,
//!   for short points (30 simulated s, where overhead shows most) and for 5-minute ones.
//!
//! Both go through `rollsim::cli::run`, exactly as the command line does (validation, rows
//! written as runs end, canonical rewrite). It measures; it never asserts a wall time. The load
//! average (`/proc/loadavg`) is printed beside every figure: on a loaded machine wall times,
//! and so the speed-up, mean little; CPU times still do. On Linux with autogroup scheduling
//! (`/proc/sys/kernel/sched_autogroup_enabled` = 1) a busy machine gives each session an equal
//! share of the CPUs whatever its thread count, so a second thread cannot speed anything up
//! until the other sessions are idle: "cores busy" (CPU ÷ wall) shows what the sweep was given.
//!
//! ```text
//! cargo bench --bench sweep                 # overhead, speedup, then thousand
//! cargo bench --bench sweep -- overhead
//! cargo bench --bench sweep -- speedup
//! cargo bench --bench sweep -- thousand
//! ```
//!
//! Without cargo bench's `--bench` flag (under `cargo test --benches`) it runs a 4-point
//! smoke sweep only.

use std::path::PathBuf;
use std::time::Instant;

fn sweep(out: &PathBuf, sets: &[&str], pool: Option<usize>) -> f64 {
    let _ = std::fs::remove_dir_all(out);
    let mut args: Vec<String> = vec!["rollsim".into(), "sweep".into()];
    args.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios/rolling.toml")
            .display()
            .to_string(),
    );
    for s in sets {
        args.push("--set".into());
        args.push((*s).into());
    }
    args.extend(["--quiet".into(), "--out".into(), out.display().to_string()]);
    let started = Instant::now();
    let code = match pool {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("a thread pool")
            .install(|| rollsim::cli::run(args.clone())),
        None => rollsim::cli::run(args.clone()),
    };
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(code, 0, "rollsim sweep failed");
    wall
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_s() -> f64 {
    #[cfg(unix)]
    {
        // SAFETY: getrusage fills the struct it is given; a zeroed rusage is a valid value.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } == 0 {
            let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
            return tv(u.ru_utime) + tv(u.ru_stime);
        }
    }
    0.0
}

/// The 1-minute load average, as `/proc/loadavg` gives it (empty elsewhere).
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Every point's scenario for `sets`, resolved as the sweep resolves it.
fn point_scenarios(sets: &[&str]) -> Vec<rollsim::scenario::Scenario> {
    use rollsim::sweep::{grid_len, indices, parse_set};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/rolling.toml");
    let text = std::fs::read_to_string(&path).expect("scenarios/rolling.toml");
    let params: Vec<_> = sets
        .iter()
        .map(|s| parse_set(s).expect("a valid --set"))
        .collect();
    (0..grid_len(&params))
        .map(|p| {
            let idx = indices(&params, p);
            let over: Vec<rollsim::scenario::Override> = params
                .iter()
                .zip(&idx)
                .map(|(q, &i)| rollsim::scenario::Override {
                    path: q.path.clone(),
                    value: q.toml[i].clone(),
                })
                .collect();
            rollsim::scenario::resolve_with_overrides("rolling.toml", "rolling", &text, &over)
                .unwrap_or_else(|_| panic!("point {p} is valid"))
        })
        .collect()
}

/// (wall, CPU) seconds of running every scenario bare, on this thread.
fn direct(scenarios: &[rollsim::scenario::Scenario]) -> (f64, f64) {
    let (w, c) = (Instant::now(), cpu_s());
    for s in scenarios {
        let out = rollsim::sim::Simulation::new(s).run().expect("a run");
        std::hint::black_box(&out.summary);
    }
    (w.elapsed().as_secs_f64(), cpu_s() - c)
}

/// The sweep's and the bare runs' cost per point, on one thread, best of `reps`.
fn overhead(dir: &std::path::Path, name: &str, sets: &[&str], reps: usize) {
    let c = cpu_s();
    let scenarios = point_scenarios(sets);
    let resolve = cpu_s() - c;
    let k = scenarios.len() as f64;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    let (mut sweep_best, mut direct_best) = ((f64::MAX, f64::MAX), (f64::MAX, f64::MAX));
    for _ in 0..reps {
        let c = cpu_s();
        let w = sweep(&dir.join(name), sets, Some(1));
        let cpu = cpu_s() - c;
        sweep_best = (sweep_best.0.min(w), sweep_best.1.min(cpu));
        let (w, cpu) = pool.install(|| direct(&scenarios));
        direct_best = (direct_best.0.min(w), direct_best.1.min(cpu));
    }
    let ms = |x: f64| x / k * 1e3;
    println!(
        "overhead   {name}: {k} points, per point: sweep {:.2} ms CPU ({:.2} ms wall), bare runs {:.2} ms CPU ({:.2} ms wall), overhead {:.2} ms CPU ({:.1} %), of which resolving the point's scenario {:.2} ms [load {}]",
        ms(sweep_best.1),
        ms(sweep_best.0),
        ms(direct_best.1),
        ms(direct_best.0),
        ms(sweep_best.1 - direct_best.1),
        (sweep_best.1 / direct_best.1 - 1.0) * 100.0,
        ms(resolve),
        load()
    );
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let bench = argv.iter().any(|a| a == "--bench");
    let want = |m: &str| {
        let named: Vec<&String> = argv.iter().filter(|a| !a.starts_with('-')).collect();
        named.is_empty() || named.iter().any(|a| *a == m)
    };
    let dir = std::env::temp_dir().join(format!("rollsim-bench-sweep-{}", std::process::id()));
    if !bench {
        let t = sweep(
            &dir.join("smoke"),
            &[
                "rollout.max_surge=1,2",
                "rollout.max_unavailable=0,1",
                "duration=90s",
            ],
            None,
        );
        println!("smoke      4 points in {t:.2} s");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    if want("overhead") {
        overhead(
            &dir,
            "30s-points",
            &[
                "rollout.max_surge=1..8:1",
                "rollout.max_unavailable=0..7:1",
                "duration=30s",
                "rollout.at=5s",
            ],
            3,
        );
        overhead(
            &dir,
            "5m-points",
            &[
                "rollout.max_surge=1..4:1",
                "rollout.max_unavailable=0..3:1",
                "duration=5m",
            ],
            2,
        );
    }
    if want("speedup") {
        let sets = [
            "rollout.max_surge=1..4:1",
            "rollout.max_unavailable=0..3:1",
            "duration=5m",
        ];
        let c = cpu_s();
        let one = sweep(&dir.join("one"), &sets, Some(1));
        let c1 = cpu_s() - c;
        let c = cpu_s();
        let two = sweep(&dir.join("two"), &sets, Some(2));
        let c2 = cpu_s() - c;
        let same = std::fs::read(dir.join("one/sweep.csv")).ok()
            == std::fs::read(dir.join("two/sweep.csv")).ok();
        println!(
            "speedup    16 points × 5 simulated min: 1 thread {one:.2} s ({c1:.2} s CPU), 2 threads {two:.2} s ({c2:.2} s CPU, {:.2} cores busy), speed-up {:.2}× (outputs identical: {same}) [load {}]",
            c2 / two,
            one / two,
            load()
        );
    }
    if want("thousand") {
        let c = cpu_s();
        let t = sweep(
            &dir.join("thousand"),
            &[
                "rollout.max_surge=1..10:1",
                "rollout.max_unavailable=0..9:1",
                "pod.pre_stop=0s..9s:1s",
                "duration=10m",
            ],
            None,
        );
        println!(
            "thousand   1,000 points × 10 simulated min of rolling: {t:.1} s wall ({:.1} s CPU) on {} threads [load {}]",
            cpu_s() - c,
            rayon::current_num_threads(),
            load()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
