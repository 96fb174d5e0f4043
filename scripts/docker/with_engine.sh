#!/usr/bin/env bash
# Runs a command with pyplay's private Docker engine up and the images built:
#
#   with_engine.sh COMMAND [ARGS...]
#
# Starts the engine (scripts/docker/engine.sh: installs docker.io when missing), builds the
# images when their inputs changed (scripts/docker/images.sh all), runs COMMAND with
# PYPLAY_DOCKER_HOST set, and stops the engine afterwards if it was not running before.
# When the engine cannot start, COMMAND still runs, with PYPLAY_DOCKER_UNAVAILABLE saying why
# (the container tests skip with that reason).  A failed image build fails the result, after
# COMMAND has run.  Exits with COMMAND's status, else the build's.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${PYPLAY_DOCKER_STATE:-$here/../../build/containers/engine}"

was_running=false
if bash "$here/engine.sh" env "$state" >/dev/null 2>&1; then was_running=true; fi

build_status=0
if started="$(bash "$here/engine.sh" start "$state" 2>&1 | tail -n 20)" && [[ "$started" == *DOCKER_HOST=* ]]; then
    export PYPLAY_DOCKER_HOST="${started##*DOCKER_HOST=}"
    printf '\n===== container engine and images =====\n'
    begun=$SECONDS
    DOCKER_HOST="$PYPLAY_DOCKER_HOST" bash "$here/images.sh" all || build_status=$?
    echo "with_engine: engine and images ready in $((SECONDS - begun)) s"
else
    export PYPLAY_DOCKER_UNAVAILABLE="the Docker engine could not start: ${started//$'\n'/ }"
    echo "with_engine: $PYPLAY_DOCKER_UNAVAILABLE" >&2
fi

status=0
"$@" || status=$?

if [ -n "${PYPLAY_DOCKER_HOST:-}" ] && ! $was_running; then bash "$here/engine.sh" stop "$state"; fi
exit $((status ? status : build_status))
