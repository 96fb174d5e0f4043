#!/usr/bin/env bash
# Starts the control service on :8000 and, when web/ has the IDE, the IDE on :3000.
# Runs until either stops or this script gets SIGINT/SIGTERM; then stops both.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

children=()

# Each child leads its own process group (setsid), so stopping it also stops what it
# started (make -> npm -> node) without touching anything else on the machine.
start() {
    setsid "$@" &
    children+=("$!")
}

stop_children() {
    trap - EXIT INT TERM
    local pid
    for pid in "${children[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${children[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" -eq 0 ] && return 0
        sleep 0.1
    done
    for pid in "${children[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
}

trap stop_children EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start .venv/bin/python -m app

if [ -f web/package.json ]; then
    if grep -qE '^web-serve[[:space:]]*:' web/web.mk 2>/dev/null; then
        start make --no-print-directory web-serve
    else
        echo "run: web/package.json exists but web/web.mk defines no web-serve target; IDE not started" >&2
    fi
fi

# Whichever child ends first ends the run; its status becomes ours.
status=0
wait -n || status=$?
exit "$status"
