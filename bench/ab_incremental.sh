#!/usr/bin/env bash
# A/B of two commits with bench/bench_incremental.py, alternated pair by pair, so that both
# versions see the same drift of a noisy machine (docs/benchmarks.md records the results).
#
#   bench/ab_incremental.sh BEFORE AFTER [PAIRS] [SCENARIOS] [OUTDIR]
#   bench/ab_incremental.sh d2cdab2 e5dbca2 4 heavy,typical /tmp/ab
#
# Each commit is exported with `git archive` to OUTDIR/tree-REV and run from there with
# the checkout's virtualenv (PYTHONPATH puts the exported syncer/ ahead of the installed
# one). Writes OUTDIR/REV.N.json and .txt per run and prints each run's table rows.
set -euo pipefail

before=${1:?usage: bench/ab_incremental.sh BEFORE AFTER [PAIRS] [SCENARIOS] [OUTDIR]}
after=${2:?usage: bench/ab_incremental.sh BEFORE AFTER [PAIRS] [SCENARIOS] [OUTDIR]}
pairs=${3:-2}
scenarios=${4:-heavy,typical}
out=${5:-$(mktemp -d -t syncer-ab-XXXXXX)}
root=$(cd "$(dirname "$0")/.." && pwd)
python="$root/.venv/bin/python"

mkdir -p "$out"
for rev in "$before" "$after"; do
    rm -rf "$out/tree-$rev"
    mkdir -p "$out/tree-$rev"
    git -C "$root" archive "$rev" | tar -x -C "$out/tree-$rev"
done
for k in $(seq 1 "$pairs"); do
    for rev in "$before" "$after"; do
        (cd "$out/tree-$rev" && PYTHONPATH="$out/tree-$rev" "$python" bench/bench_incremental.py \
            --rows 100000 --rounds 3 --scenarios "$scenarios" --json "$out/$rev.$k.json" \
            > "$out/$rev.$k.txt" 2>&1)
        echo "== $rev, pair $k"
        grep -E '^rows|^\| [a-z]' "$out/$rev.$k.txt" | grep -v '^| scenario'
    done
done
echo "runs in $out"
