#!/usr/bin/env bash
# Builds pyplay's images on the engine in DOCKER_HOST with the classic builder (no registry
# and no BuildKit front end are needed), each only when its inputs changed:
#
#   images.sh all       the four below, in order, with the default tags
#   images.sh debian    pyplay/debian:bookworm           scripts/docker/debian_base.sh
#   images.sh base      pyplay/python:3.10.13-bookworm   docker/python-base.Dockerfile + build/sandbox/python
#   images.sh sandbox   $PYPLAY_SANDBOX_IMAGE            sandbox/Dockerfile on that base
#   images.sh service   $PYPLAY_SERVICE_IMAGE            docker/service.Dockerfile on pyplay/debian
#
# Each image carries the hash of its inputs (Dockerfile, staged context, base image id) in
# the label org.pyplay.inputs; an image whose label matches is kept, so a second run costs
# a few seconds.  The classic builder reads only the context's own .dockerignore, so the
# context is staged from <Dockerfile>.dockerignore (the file BuildKit reads): the image sees
# the same files either way.  RUN steps use the host's network (the engine has no bridge) to
# reach Debian's mirror and PyPI.  The replaced image is removed: rebuilding leaves no layers.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
readonly OUT="${PYPLAY_CONTAINERS_DIR:-$repo/build/containers}"
readonly STAGE="$OUT/context"
readonly DEBIAN_IMAGE=pyplay/debian:bookworm
readonly BASE_IMAGE=pyplay/python:3.10.13-bookworm
readonly SANDBOX_IMAGE="${PYPLAY_SANDBOX_IMAGE:-pyplay/sandbox:0.1.0}"
readonly SERVICE_IMAGE="${PYPLAY_SERVICE_IMAGE:-pyplay/service:0.1.0}"
readonly LABEL=org.pyplay.inputs
# A stuck mirror must not hang make test: one image's build is given this long.
readonly BUILD_SECONDS="${PYPLAY_DOCKER_BUILD_SECONDS:-900}"

die() { echo "images: $*" >&2; exit 1; }

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

inputs_of() { docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

# A hash of a directory's file names, modes and contents (symlinks by their target).
tree_hash() {
    (cd "$1" && find . \( -type f -o -type l \) -printf '%p %m %l\n' | LC_ALL=C sort \
        && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -c1-16
}

# Copies into $2 what the ignore file $1 lets through: it starts with "*", re-includes
# paths with "!path", then excludes patterns again (bash globs, ** included).
stage_from_ignore() {
    local ignore="$1" ctx="$2" line
    rm -rf "$ctx"
    mkdir -p "$ctx"
    shopt -s globstar nullglob
    while IFS= read -r line; do
        case "$line" in
            ''|'#'*|'*') ;;
            '!'*) line="${line#!}"; line="${line%/}"
                  mkdir -p "$ctx/$(dirname "$line")"
                  cp -a "$repo/$line" "$ctx/$line" ;;
            *) (cd "$ctx" && rm -rf -- $line) ;;
        esac
    done < "$ignore"
    shopt -u globstar nullglob
}

# build DOCKERFILE CONTEXT TAG [docker build args...]: only when the inputs changed.
build() {
    local dockerfile="$1" ctx="$2" tag="$3"
    shift 3
    local inputs
    inputs="$( { sha256sum < "$dockerfile"; tree_hash "$ctx"; printf '%s\n' "$@" | grep -v '^BUILD_CA_CERTS='; } \
               | sha256sum | cut -c1-16)"
    if [ "$(inputs_of "$tag")" = "$inputs" ]; then echo "images: $tag is up to date"; return 0; fi
    local old log="$STAGE/${tag//[\/:]/_}.log" started=$SECONDS
    old="$(image_id "$tag")"
    if ! DOCKER_BUILDKIT=0 timeout "$BUILD_SECONDS" docker build --network=host --rm --force-rm --label "$LABEL=$inputs" \
            -f "$dockerfile" -t "$tag" "$@" "$ctx" >"$log" 2>&1; then
        tail -20 "$log" >&2
        die "building $tag failed (log: $log)"
    fi
    if [ -n "$old" ] && [ "$old" != "$(image_id "$tag")" ]; then docker image rm "$old" >/dev/null 2>&1 || true; fi
    docker image prune --force >/dev/null
    echo "images: $tag built in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$tag") bytes)"
}

debian() {
    local started=$SECONDS
    bash "$here/debian_base.sh" "$OUT/base" "$DEBIAN_IMAGE"
    echo "images: $DEBIAN_IMAGE ready in $((SECONDS - started)) s"
}

base() {
    local python="$repo/build/sandbox/python"
    [ -x "$python/bin/python3.10" ] || die "build/sandbox/python is missing (make sandbox-env)"
    local ctx="$STAGE/base"
    rm -rf "$ctx"
    mkdir -p "$ctx"
    cp -a "$python" "$ctx/python"
    find "$ctx/python" -name __pycache__ -prune -exec rm -rf {} +
    build "$repo/docker/python-base.Dockerfile" "$ctx" "$BASE_IMAGE" --build-arg "DEBIAN_IMAGE=$(image_id "$DEBIAN_IMAGE")"
}

# Certificates this machine's administrator added (Debian's update-ca-certificates place):
# a TLS-inspecting proxy's, which pip inside the build must trust too.
ca_args() {
    local cas
    cas="$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)"
    if [ -n "$cas" ]; then printf '%s\0%s\0' --build-arg "BUILD_CA_CERTS=$cas"; fi
}

from_repo() {
    local dockerfile="$1" name="$2" tag="$3" base="$4"
    local ctx="$STAGE/$name" extra=()
    stage_from_ignore "$dockerfile.dockerignore" "$ctx"
    while IFS= read -r -d '' arg; do extra+=("$arg"); done < <(ca_args)
    build "$dockerfile" "$ctx" "$tag" --build-arg "BASE=$(image_id "$base")" "${extra[@]}"
}

sandbox() { from_repo "$repo/sandbox/Dockerfile" sandbox "$SANDBOX_IMAGE" "$BASE_IMAGE"; }

# The service runs on Python 3.11 like its tests (.venv), so its base is Debian itself.
service() { from_repo "$repo/docker/service.Dockerfile" service "$SERVICE_IMAGE" "$DEBIAN_IMAGE"; }

main() {
    [ $# -eq 1 ] || die "usage: $0 all|debian|base|sandbox|service"
    [ -n "${DOCKER_HOST:-}" ] || die "DOCKER_HOST is not set (scripts/docker/engine.sh start)"
    mkdir -p "$STAGE"
    case "$1" in
        all) debian; base; sandbox; service ;;
        debian) debian ;;
        base) base ;;
        sandbox) sandbox ;;
        service) service ;;
        *) die "unknown image '$1' (all, debian, base, sandbox or service)" ;;
    esac
}

main "$@"
