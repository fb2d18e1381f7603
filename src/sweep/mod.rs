//! `rollsim sweep` and `rollsim merge`: a scenario run over the cartesian grid of `--set`
//! parameters, for the capacity planner who wants the whole surface (maxSurge ×
//! maxUnavailable × load), not one point.
//!
//! Every point's scenario is the file with the point's values merged over it the way a
//! `[[variant]]` is (`scenario::resolve_with_overrides`), and every one is validated before
//! the first run. Runs go in parallel on rayon; each row of `sweep.csv` (`table`) is keyed by
//! a stable hash of (scenario bytes, assignments, seed, rollsim version) (`key`), appended
//! whole as its run ends, so a killed sweep restarted with the same arguments skips what is
//! written. `--shard I/N` runs one of N disjoint slices (points `p mod N = I`), and `merge`
//! joins slices into the file an unsharded run writes, refusing slices of another sweep
//! (`sweep.json` holds the sweep's id). `heat` draws a metric over two swept parameters
//! (`--heatmap`, `rollsim heatmap`).

mod command;
mod heat;
mod key;
mod merge;
mod set;
mod table;

pub use command::{cmd_sweep, Meta, SweepArgs, META_FILE, SWEEP_FILE};
pub use heat::{
    check_names, cmd_heatmap, file_stem, grid, heat_grid, metric_label, parse_heatmap_arg, Agg,
    HeatError, HeatGrid, HeatSpec, HeatmapArgs,
};
pub use key::{parse_shard, resolve_shard, row_key, sweep_id, Fnv, Shard};
pub use merge::{cmd_merge, MergeArgs};
pub use set::{grid_len, indices, parse_set, Param, SetError};
pub use table::parse_rows;
