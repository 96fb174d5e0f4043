#!/usr/bin/env bash
# A private Docker engine for pyplay's container tests and benchmarks, next to (never
# instead of) any engine the machine already has:
#
#   engine.sh start STATE_DIR   installs docker.io if missing, starts dockerd unless it runs
#   engine.sh stop STATE_DIR    stops the dockerd started by `start` (its pid file)
#   engine.sh env STATE_DIR     prints DOCKER_HOST=unix://... for the running engine
#
# The engine has its own data root, exec root and unix socket; no iptables, no default bridge
# and no IP forwarding (it changes nothing of the host's network); overlay2 storage when the
# kernel has it, else vfs.  gVisor is registered as the runtime "runsc", ptrace platform (kvm
# spins forever here).  Its network is "host": gVisor uses the network namespace Docker made
# for the container, which for the sandboxes is network "none", their own loopback only; this
# runsc cannot start its own network stack on these machines ("cannot run with network
# enabled in root network namespace"), and --network=none would leave no way in.
# STATE_DIR holds the data root; the socket and exec root live under /run (short paths).
set -euo pipefail

readonly START_SECONDS="${PYPLAY_DOCKER_START_SECONDS:-60}"

die() { echo "engine: $*" >&2; exit 1; }

paths() {
    local state="$1"
    mkdir -p "$state"
    STATE="$(cd "$state" && pwd)"
    # One exec root per state dir; its name must be short (containerd's sockets live in it).
    local id
    id="$(printf '%s' "$STATE" | sha256sum | cut -c1-8)"
    RUN="/run/pyplay-docker-$id"
    SOCKET="$RUN/docker.sock"
    PIDFILE="$RUN/dockerd.pid"
}

install_engine() {
    command -v dockerd >/dev/null && return 0
    [ "$(id -u)" -eq 0 ] || die "dockerd is missing and only root can install docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 \
        install --no-install-recommends docker.io </dev/null >/dev/null \
        || die "apt-get install docker.io failed"
}

write_config() {
    local runsc
    runsc="$(command -v runsc)" || die "runsc is missing (make apt)"
    # runsc must not pick kvm here (it spins forever); ptrace is its default platform.
    cat > "$STATE/daemon.json" <<JSON
{
  "runtimes": {"runsc": {"path": "$runsc", "runtimeArgs": ["--network=host", "--platform=ptrace"]}},
  "log-driver": "json-file",
  "log-opts": {"max-size": "5m", "max-file": "2"}
}
JSON
}

running() {
    [ -S "$SOCKET" ] && [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
        && DOCKER_HOST="unix://$SOCKET" docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

launch() {
    local driver="$1"
    # setsid: the engine outlives this script (make stops it with `engine.sh stop`).
    setsid dockerd --config-file "$STATE/daemon.json" --data-root "$STATE/data" --exec-root "$RUN/exec" \
        --host "unix://$SOCKET" --pidfile "$PIDFILE" --iptables=false --ip-masq=false --ip-forward=false \
        --bridge=none --storage-driver="$driver" </dev/null >"$STATE/dockerd.log" 2>&1 &
    local pid=$! waited=0
    until running; do
        if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        sleep 0.5
        waited=$((waited + 1))
        if [ "$waited" -ge $((START_SECONDS * 2)) ]; then kill -TERM "$pid" 2>/dev/null; return 1; fi
    done
}

start() {
    paths "$1"
    if running; then echo "DOCKER_HOST=unix://$SOCKET"; return 0; fi
    [ "$(id -u)" -eq 0 ] || die "dockerd needs root"
    install_engine
    write_config
    mkdir -p "$RUN" "$STATE/data"
    local driver
    for driver in ${PYPLAY_DOCKER_STORAGE_DRIVER:-overlay2 vfs}; do
        if launch "$driver"; then echo "DOCKER_HOST=unix://$SOCKET"; return 0; fi
        echo "engine: dockerd did not start with the $driver storage driver" >&2
    done
    tail -5 "$STATE/dockerd.log" >&2 || true
    die "dockerd did not start (log: $STATE/dockerd.log)"
}

# A runsc container whose start failed can outlive dockerd: its gVisor sandbox and the
# containerd shim holding it. Only this engine's (its exec root is in their command lines).
reap_leftovers() {
    local root="$RUN/exec/runtime-runc/moby" id pid
    if [ -d "$root" ]; then
        for id in $(timeout 20 runsc --root "$root" list -quiet 2>/dev/null); do
            timeout 20 runsc --root "$root" delete -force "$id" >/dev/null 2>&1 || true
        done
    fi
    for pid in $(grep -lsF "$RUN/exec/" /proc/[0-9]*/cmdline | cut -d/ -f3); do
        [ "$pid" != "$$" ] && kill -TERM "$pid" 2>/dev/null || true
    done
}

stop() {
    paths "$1"
    [ -f "$PIDFILE" ] || return 0
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        local waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 60 ]; do sleep 0.5; waited=$((waited + 1)); done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$PIDFILE"
    reap_leftovers
    # dockerd leaves its default network namespace mounted in the exec root.
    local mounted
    for mounted in $(awk -v run="$RUN/" 'index($2, run) == 1 {print $2}' /proc/mounts | sort -r); do
        umount "$mounted" 2>/dev/null || true
    done
    rm -rf "$RUN"
}

main() {
    [ $# -eq 2 ] || die "usage: $0 start|stop|env STATE_DIR"
    case "$1" in
        start) start "$2" ;;
        stop) stop "$2" ;;
        env) paths "$2"; running || die "no engine runs for $2"; echo "DOCKER_HOST=unix://$SOCKET" ;;
        *) die "unknown command '$1' (start, stop or env)" ;;
    esac
}

main "$@"
