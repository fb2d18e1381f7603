//! `rollsim compare`: several scenarios (or the `[[variant]]`s of one file) run on identical
//! traffic, side by side, with the difference from the first (the baseline).
//!
//! A capacity planner's question — "what does canary buy me over rolling for this release,
//! and what does it cost?" — is only answered when both runs see the same requests (common
//! random numbers, checked in `crn`), and, over several seeds, when each seed's runs are
//! compared as a pair (`stats`). Runs are independent simulations, run in parallel with
//! rayon; each keeps only its `Summary` and a compact per-bucket series once it ends (its
//! files are written to the output folder's staging area at once), so memory grows with the
//! number of runs by a summary each, not by a recorder. Results are put back in input order,
//! so every output is byte-identical whatever the thread count.

mod command;
mod crn;
pub(crate) mod metrics;
mod output;
mod report;
mod stats;

pub(crate) use command::Shared;
pub use command::{cmd_compare, validate_variants, CompareArgs, COMPARISON_FILES};
pub use crn::traffic_differences;
pub use metrics::{all as all_metrics, Kind, Metric};
pub(crate) use output::csv_num;
pub use output::{comparison_csv, comparison_json, comparison_text, CSV_HEADER};
pub use stats::{t_quantile, Estimate, CONFIDENCE};

use rayon::prelude::*;

use crate::metrics::Summary;
use crate::report::html::ScenarioText;
use crate::report::plots::RunSeries;
use crate::scenario::Scenario;
use crate::sim::{RunOutput, Simulation};

/// One run to compare: a scenario file, or one `[[variant]]` of a file.
#[derive(Clone, Debug)]
pub struct Input {
    /// The column and output-folder name (the variant's `name`, else the scenario's name).
    pub name: String,
    /// The file it came from, as given.
    pub file: String,
    /// The validated scenario (seed as it will run for the first of its seeds).
    pub scenario: Scenario,
    /// The scenario as its `report.html` shows it.
    pub source: ScenarioText,
}

/// Every run of one input: what a table, a file or a plot of the comparison needs.
#[derive(Clone, Debug)]
pub struct VariantRuns {
    /// The column name.
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// The strategy's output name.
    pub strategy: String,
    /// Whether the variant the run introduces (rollout target or flag variant) is a bad
    /// release (`bad = true` or faults).
    pub new_is_bad: bool,
    /// The seed of each run, in run order (paired across inputs: run `k` of every input).
    pub seeds: Vec<u64>,
    /// Each run's summary, in run order.
    pub summaries: Vec<Summary>,
    /// The first run's compact timeline (the plots' `RunSeries`: a few bytes per bucket and
    /// version, never the recorder).
    pub series: RunSeries,
}

/// A finished comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// In input order; the first is the baseline.
    pub variants: Vec<VariantRuns>,
    /// What the check of common random numbers found (empty: identical traffic).
    pub warnings: Vec<String>,
}

/// The seed of run `k` of a scenario whose seed is `seed`: `seed + k` (wrapping), the same
/// `k` for every input, so runs pair up across inputs.
pub fn run_seed(seed: u64, k: u32) -> u64 {
    seed.wrapping_add(u64::from(k))
}

/// A run that did not finish: which input, which seed, why.
#[derive(Debug)]
pub struct RunFailure {
    /// The input's name.
    pub name: String,
    /// The run's seed.
    pub seed: u64,
    /// What went wrong.
    pub message: String,
}

/// What each run is told as it ends (to write its files) and as it goes (progress).
pub trait Observer: Sync {
    /// Run `k` of input `i` ended with `run`; an error stops nothing but fails the compare.
    fn finished(&self, i: usize, k: u32, run: &RunOutput) -> Result<(), String>;
    /// `simulated_s` more seconds were simulated (by any run).
    fn advanced(&self, _simulated_s: u64) {}
    /// A simulation is about to run (a progress callback can be hooked on it).
    fn hook(&self, _sim: &mut Simulation) {}
}

/// Runs every input `seeds` times (run `k` on seed `run_seed(seed, k)`), in parallel on
/// rayon's pool; results in input order.
pub fn run_all(
    inputs: &[Input],
    seeds: u32,
    observer: &dyn Observer,
) -> Result<Vec<VariantRuns>, RunFailure> {
    let jobs: Vec<(usize, u32)> = (0..inputs.len())
        .flat_map(|i| (0..seeds).map(move |k| (i, k)))
        .collect();
    let done: Vec<Result<(Summary, Option<RunSeries>), RunFailure>> = jobs
        .par_iter()
        .map(|&(i, k)| {
            let input = &inputs[i];
            let mut scenario = input.scenario.clone();
            scenario.seed = run_seed(input.scenario.seed, k);
            let fail = |message: String| RunFailure {
                name: input.name.clone(),
                seed: scenario.seed,
                message,
            };
            let mut sim = Simulation::new(&scenario);
            observer.hook(&mut sim);
            let run = sim.run().map_err(|e| fail(e.to_string()))?;
            observer.finished(i, k, &run).map_err(fail)?;
            // The recorder goes with `run` here: only the summary and the series stay.
            let series = (k == 0).then(|| RunSeries::from_run(&run));
            Ok((run.summary, series))
        })
        .collect();
    let mut out: Vec<VariantRuns> = inputs
        .iter()
        .map(|input| VariantRuns {
            name: input.name.clone(),
            file: input.file.clone(),
            strategy: input.scenario.strategy_name(),
            new_is_bad: input
                .scenario
                .new_variants()
                .iter()
                .any(|v| input.scenario.versions[v.index()].bad),
            seeds: (0..seeds)
                .map(|k| run_seed(input.scenario.seed, k))
                .collect(),
            summaries: Vec::with_capacity(seeds as usize),
            series: RunSeries::default(),
        })
        .collect();
    for (&(i, _), r) in jobs.iter().zip(done) {
        let (summary, series) = r?;
        out[i].summaries.push(summary);
        if let Some(series) = series {
            out[i].series = series;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Quiet;
    impl Observer for Quiet {
        fn finished(&self, _: usize, _: u32, _: &RunOutput) -> Result<(), String> {
            Ok(())
        }
    }

    fn input(name: &str, strategy: &str) -> Input {
        let text = format!(
            "seed = 3\nduration = \"40s\"\nbucket = \"10s\"\n[traffic]\nrate = 20\n[versions.v1]\nservice = \"10ms\"\n[versions.v2]\nservice = \"10ms\"\n[deployment]\nreplicas = 2\nversion = \"v1\"\n[rollout]\nto = \"v2\"\nat = \"5s\"\nstrategy = \"{strategy}\"\n"
        );
        Input {
            name: name.into(),
            file: "t.toml".into(),
            scenario: Scenario::parse("t.toml", name, &text).unwrap(),
            source: ScenarioText {
                file: "t.toml".into(),
                description: None,
                text: text.as_str().into(),
            },
        }
    }

    #[test]
    fn runs_come_back_in_input_order_with_paired_seeds_and_a_compact_series() {
        let inputs = [input("a", "rolling"), input("b", "recreate")];
        let runs = run_all(&inputs, 2, &Quiet).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[0].name.as_str(), runs[1].name.as_str()), ("a", "b"));
        assert_eq!(runs[0].seeds, [3, 4]);
        assert_eq!(runs[1].seeds, runs[0].seeds);
        assert_eq!(runs[1].summaries[1].seed, 4);
        assert_eq!(runs[1].strategy, "recreate");
        // The same run alone gives the same summary.
        let mut alone = inputs[1].scenario.clone();
        alone.seed = 4;
        let s = Simulation::new(&alone).run().unwrap().summary;
        assert_eq!(s.requests, runs[1].summaries[1].requests);
        // Four 10 s buckets × two versions; the last bucket has every pod on v2, all ready.
        let series = &runs[0].series;
        assert_eq!(series.bucket_s, 10.0);
        assert_eq!(series.versions, ["v1", "v2"]);
        assert_eq!(series.buckets(), 4);
        assert_eq!(
            (
                series.at(&series.pods, 3, 0),
                series.at(&series.pods, 3, 1),
                series.at(&series.ready, 3, 1)
            ),
            (0, 2, 2)
        );
        assert!((series.at(&series.traffic, 3, 1) - 1.0).abs() < 1e-6);
    }
}
