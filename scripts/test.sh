#!/usr/bin/env bash
# Runs the whole suite: the Python tests, then the IDE's tests when web/web.mk has them.
# Both always run; the result fails if either does (pytest's "no tests collected" included).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

status=0
.venv/bin/python -m pytest tests -q -ra "$@" || status=$?

if grep -qE '^web-test[[:space:]]*:' web/web.mk 2>/dev/null; then
    make --no-print-directory web-test || status=$((status ? status : 1))
fi

exit "$status"
