#!/usr/bin/env bash
# Makes the Debian 12 base image the pyplay images build FROM when no registry is reachable
# (with a registry, use the official slim images instead: see docs/operators.md).
#
#   debian_base.sh OUT_DIR IMAGE_TAG
#
# 1. debootstrap --variant=minbase bookworm into OUT_DIR/rootfs (cached: OUT_DIR/rootfs.tar);
# 2. `docker import` of that tarball as IMAGE_TAG (e.g. pyplay/debian:bookworm-20261130).
# Needs root (installs debootstrap when missing) and a running engine (DOCKER_HOST).
set -euo pipefail

readonly SUITE=bookworm
readonly MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

die() { echo "debian_base: $*" >&2; exit 1; }

make_tarball() {
    local out="$1" tarball="$1/rootfs.tar"
    [ -s "$tarball" ] && return 0
    if ! command -v debootstrap >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 \
            install --no-install-recommends debootstrap </dev/null >/dev/null \
            || die "debootstrap is missing and apt-get install debootstrap failed"
    fi
    local root="$out/rootfs.new"
    rm -rf "$root"
    mkdir -p "$root"
    timeout "${PYPLAY_DEBOOTSTRAP_SECONDS:-600}" \
        debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$out/debootstrap.log" 2>&1 \
        || die "debootstrap failed; see $out/debootstrap.log"
    # What the official slim images drop too: package lists, caches, logs, docs.
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
           "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
    tar -C "$root" --numeric-owner -cf "$tarball.new" .
    mv "$tarball.new" "$tarball"
    rm -rf "$root"
}

import_image() {
    local tarball="$1" tag="$2"
    if docker image inspect "$tag" >/dev/null 2>&1; then return 0; fi
    docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$tag" >/dev/null
}

main() {
    [ $# -eq 2 ] || die "usage: $0 OUT_DIR IMAGE_TAG"
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    mkdir -p "$1"
    make_tarball "$1"
    import_image "$1/rootfs.tar" "$2"
    echo "debian_base: $2 ready"
}

main "$@"
