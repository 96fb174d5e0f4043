#!/usr/bin/env bash
# Runs the benchmarks: `python -m bench` when bench/ is a runnable package, otherwise
# each bench/bench_*.py in turn. Fails when there is no benchmark at all.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# bench_containers needs the Docker engine and the images (scripts/docker/with_engine.sh).
if [ -f bench/__main__.py ]; then
    exec bash scripts/docker/with_engine.sh .venv/bin/python -m bench "$@"
fi

shopt -s nullglob
scripts=(bench/bench_*.py)
if [ "${#scripts[@]}" -eq 0 ]; then
    echo "bench: no bench/__main__.py and no bench/bench_*.py to run" >&2
    exit 1
fi

status=0
for script in "${scripts[@]}"; do
    echo "== $script"
    .venv/bin/python "$script" "$@" || status=1
done
exit "$status"
