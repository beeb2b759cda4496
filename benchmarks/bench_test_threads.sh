#!/usr/bin/env bash
# Two pytest lanes side by side, as `make test` runs them, with TensorFlow's default thread pools
# (one thread per core in each process) against one thread per process. Prints each pair's wall time.
# Run from the repository root on an otherwise idle machine:  bash benchmarks/bench_test_threads.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
LANE_A=(tests/test_lipschitz_networks.py -k "mnist and not generator")
LANE_B=(tests/test_detectors.py -k "dcae or deepsvdd")

pair() {  # $1: label; the rest: environment assignments for both lanes
    local label=$1; shift
    local load start
    load=$(cut -d' ' -f1 /proc/loadavg); start=$(date +%s.%N)
    env "$@" "$PY" -m pytest -q -p no:cacheprovider "${LANE_A[@]}" >/dev/null 2>&1 & local a=$!
    env "$@" "$PY" -m pytest -q -p no:cacheprovider "${LANE_B[@]}" >/dev/null 2>&1 & local b=$!
    wait "$a"; wait "$b"
    printf '%-28s %7.1f s   (load average before: %s)\n' "$label" "$(echo "$(date +%s.%N) - $start" | bc)" "$load"
}

pair "default thread pools"
pair "one thread per process" TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1
