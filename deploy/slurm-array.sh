#!/bin/bash
# A rollsim sweep as a Slurm job array: one array task per slice of the grid. Slurm gives each
# task SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT
# (https://slurm.schedmd.com/job_array.html); rollsim takes its slice as
# ID − MIN of COUNT, so `--array=0-7` and `--array=1-8` both give slices 0/8 … 7/8.
#
#   sbatch deploy/slurm-array.sh                      # the 8 slices
#   # then, when all have finished (or chained: sbatch --dependency=afterok:<jobid> …):
#   rollsim merge results/shard-* --out results/merged
#
# A task that fails or is preempted can be resubmitted alone (sbatch --array=3 …): it resumes
# its folder, skipping the rows already written.
#SBATCH --job-name=rollsim-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=01:00:00
#SBATCH --output=results/slurm-%A_%a.out

set -euo pipefail
mkdir -p results
# rollsim uses the CPUs Slurm gave the task.
export RAYON_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
rollsim sweep scenarios/rolling.toml \
  --set rollout.max_surge=1..10:1 \
  --set rollout.max_unavailable=0..9:1 \
  --runs 3 \
  --out "results/shard-${SLURM_ARRAY_TASK_ID}"
