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
//! Both go through `rollsim::cli::run`, exactly as the command line does (validation, rows
//! written as runs end, canonical rewrite). It measures; it never asserts a wall time.
//!
//! ```text
//! cargo bench --bench sweep                 # speedup, then thousand
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
    if want("speedup") {
        let sets = [
            "rollout.max_surge=1..4:1",
            "rollout.max_unavailable=0..3:1",
            "duration=5m",
        ];
        let one = sweep(&dir.join("one"), &sets, Some(1));
        let two = sweep(&dir.join("two"), &sets, Some(2));
        let same = std::fs::read(dir.join("one/sweep.csv")).ok()
            == std::fs::read(dir.join("two/sweep.csv")).ok();
        println!(
            "speedup    16 points × 5 simulated min: 1 thread {one:.2} s, 2 threads {two:.2} s, speed-up {:.2}× (outputs identical: {same})",
            one / two
        );
    }
    if want("thousand") {
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
            "thousand   1,000 points × 10 simulated min of rolling: {t:.1} s wall on {} threads",
            rayon::current_num_threads()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
