#!/usr/bin/env bash
# Runs the whole suite: lint (ruff and mypy), the Python tests, then the IDE's tests when
# web/web.mk has them.  Every part always runs; the result fails if any does (pytest's "no
# tests collected" included), and the last lines name the parts that failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

status=0
failed=()

# A CI log is long: a banner per part, so a failure can be traced to the part it came from.
part() {
    local name="$1"
    shift
    printf '\n===== %s =====\n' "$name"
    local code=0
    "$@" || code=$?
    if [ "$code" -ne 0 ]; then
        failed+=("$name")
        status=$((status ? status : code))
    fi
}

part "lint (ruff, mypy)" make --no-print-directory lint
# The container tests (tests/containers/) need a Docker engine and the images: started and
# built around pytest, the engine stopped after it (a failed image build fails this part).
part "python tests (pytest)" bash scripts/docker/with_engine.sh .venv/bin/python -m pytest tests -q -ra "$@"

if grep -qE '^web-test[[:space:]]*:' web/web.mk 2>/dev/null; then
    part "IDE tests (web-test)" make --no-print-directory web-test
fi

if [ "$status" -ne 0 ]; then
    printf '\n===== FAILED:'
    printf ' [%s]' "${failed[@]}"
    printf ' =====\n'
fi
exit "$status"
