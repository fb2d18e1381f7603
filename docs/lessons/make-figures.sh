#!/bin/sh
# Regenerates docs/lessons/figures/: for every figure a lesson page shows
# (figures/<scenario>-<plot>.svg), runs scenarios/<scenario>.toml at its own seed and copies
# the <plot>.svg that `rollsim run` wrote. Runs are deterministic, so the files change only
# when the simulator or the plots do; tests/integration/lessons.rs fails until they are
# regenerated and committed.
#
#   docs/lessons/make-figures.sh            # builds the release binary if needed
#   ROLLSIM=path/to/rollsim docs/lessons/make-figures.sh
set -eu
cd "$(dirname "$0")/../.."
if [ -z "${ROLLSIM:-}" ]; then
    cargo build --release --quiet
    ROLLSIM=target/release/rollsim
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p docs/lessons/figures
for figure in $(grep -ho '](figures/[a-z0-9-]*\.svg)' docs/lessons/*.md | sed 's/^](figures\///; s/)$//' | sort -u); do
    plot=${figure##*-}                # timeline.svg
    scenario=${figure%-*}             # rolling-no-prestop
    if [ ! -d "$tmp/$scenario" ]; then
        "$ROLLSIM" run "scenarios/$scenario.toml" --quiet --out "$tmp/$scenario"
    fi
    cp "$tmp/$scenario/$plot" "docs/lessons/figures/$figure"
    echo "docs/lessons/figures/$figure"
done
