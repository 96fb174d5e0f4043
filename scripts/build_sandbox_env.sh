#!/usr/bin/env bash
# Builds one part of build/sandbox/, the read-only environment mounted into every sandbox:
#
#   python  build/sandbox/python  a relocatable copy of a Python 3.10 prefix (/opt/pyplay/python)
#   env     build/sandbox/env     a venv layout with pygame-ce, ptyprocess and the classroom
#                                 packages (sandbox-requirements.txt)       (/opt/pyplay/env)
#   rootfs  build/sandbox/rootfs  the sandbox's root directory: mount points and a minimal /etc
#
# usage: build_sandbox_env.sh python|env|rootfs OUT_DIR [PYTHON310_PREFIX]
# Each part is built next to its final place and then swapped in, so an interrupted build
# never leaves a half-made directory where the scheduler mounts it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly MOUNT_PYTHON=/opt/pyplay/python
readonly SANDBOX_UID=1000

die() { echo "build_sandbox_env: $*" >&2; exit 1; }

# Replaces directory $2 with the freshly built directory $1.
swap_in() {
    local new="$1" final="$2"
    rm -rf "$final.old"
    if [ -e "$final" ]; then mv "$final" "$final.old"; fi
    mv "$new" "$final"
    rm -rf "$final.old"
}

# ---------------------------------------------------------------- python

copy_prefix() {
    local src="$1" dst="$2"
    mkdir -p "$dst"
    # The test suite, third-party packages, the static libpython and the host-specific
    # scripts (their shebangs name the source prefix) are of no use inside a sandbox.
    tar -C "$src" -cf - \
        --exclude='./lib/python3.10/test' \
        --exclude='./lib/python3.10/site-packages/*' \
        --exclude='./lib/python3.10/config-3.10-*/libpython3.10*.a' \
        --exclude='./bin/pip*' --exclude='./bin/idle*' --exclude='./bin/2to3*' \
        --exclude='./bin/pydoc*' --exclude='./bin/*-config' --exclude='./bin/*-gdb.py' \
        . | tar -C "$dst" -xf -
}

# pyenv links with RUNPATH=<its prefix>/lib; point every such ELF file at the copy's lib/.
make_relocatable() {
    local src="$1" dst="$2" file rpath rel
    while IFS= read -r -d '' file; do
        rpath="$(patchelf --print-rpath "$file" 2>/dev/null)" || continue
        case "$rpath" in *"$src"*) ;; *) continue ;; esac
        rel="$(realpath --relative-to="$(dirname "$file")" "$dst/lib")"
        if [ "$rel" = . ]; then rel='$ORIGIN'; else rel="\$ORIGIN/$rel"; fi
        patchelf --set-rpath "$rel" "$file"
    done < <(find "$dst/bin" "$dst/lib" -maxdepth 3 -type f \
                 \( -name 'python3.10' -o -name '*.so' -o -name '*.so.*' \) -print0)
}

# The copy must run on its own: its prefix and its libpython, not the source's.
check_python() {
    local dst="$1" out
    out="$(env -i PATH=/usr/bin:/bin "$dst/bin/python3.10" -I -c '
import sys, tkinter, ssl, sqlite3, ctypes, turtle, turtledemo
maps = open("/proc/self/maps").read()
libs = {line.split()[-1] for line in maps.splitlines() if "libpython3.10" in line}
print(sys.prefix, *sorted(libs))
')" || die "the copied Python 3.10 cannot import its standard library"
    case "$out" in
        "$dst $dst/lib/libpython3.10.so.1.0") ;;
        *) die "the copied Python 3.10 is not self-contained: $out" ;;
    esac
}

build_python() {
    local out="$1" src="$2" final="$1/python"
    [ -x "$src/bin/python3.10" ] || die "$src/bin/python3.10 not found"
    command -v patchelf >/dev/null || die "patchelf is missing (make apt)"
    local new="$final.new"
    rm -rf "$new"
    copy_prefix "$src" "$new"
    make_relocatable "$src" "$new"
    swap_in "$new" "$final"
    check_python "$final"
}

# ---------------------------------------------------------------- env

write_pyvenv_cfg() {
    local env="$1" version="$2"
    cat > "$env/pyvenv.cfg" <<EOF
home = $MOUNT_PYTHON/bin
include-system-site-packages = false
version = $version
EOF
}

# pip runs on the source Python (the copy has no pip); both are the same 3.10 build.
install_packages() {
    local src="$1" site="$2"
    env -u PYTHONPATH PIP_ROOT_USER_ACTION=ignore "$src/bin/python3.10" -m pip install \
        --quiet --disable-pip-version-check --no-input --progress-bar off \
        --only-binary=:all: --no-warn-script-location \
        --target "$site" -r "$here/sandbox-requirements.txt"
}

# Imports the packages with the copied Python, as the sandbox will (the env's own
# symlinks only resolve inside a sandbox).
check_env() {
    local out="$1" site="$2"
    env -i PATH=/usr/bin:/bin PYGAME_HIDE_SUPPORT_PROMPT=1 SDL_VIDEODRIVER=dummy MPLBACKEND=Agg \
        "$out/python/bin/python3.10" -I -c "
import sys; sys.path.insert(0, '$site')
import pygame, ptyprocess
pygame.display.init(); pygame.font.init(); pygame.font.SysFont('dejavusans', 12)
import numpy, PIL.Image, colorama, termcolor, rich, freegames, matplotlib.backends.backend_tkagg
" || die "a package of sandbox-requirements.txt does not import with the copied Python 3.10"
}

# What the launcher names when a program imports a package we do not ship: the import
# names marked '# for students:' in sandbox-requirements.txt.
write_package_list() {
    local share="$1"
    mkdir -p "$share"
    sed -n '/^[^#]/s/.*# for students: *//p' "$here/sandbox-requirements.txt" | paste -sd, - | sed 's/,/, /g' \
        > "$share/packages.txt"
    [ -s "$share/packages.txt" ] || die "no '# for students:' line in sandbox-requirements.txt"
}

# matplotlib's font list, built now so a first plot does not scan the fonts (launcher.py links it).
build_font_cache() {
    local out="$1" site="$2" cache="$3" scratch
    scratch="$(mktemp -d)"
    env -i PATH=/usr/bin:/bin HOME="$scratch" MPLCONFIGDIR="$scratch/mpl" \
        "$out/python/bin/python3.10" -I "$here/mpl_font_cache.py" "$site" "$cache/matplotlib" \
        || { rm -rf "$scratch"; die "matplotlib's font list could not be built"; }
    rm -rf "$scratch"
}

build_env() {
    local out="$1" src="$2" final="$1/env"
    [ -x "$out/python/bin/python3.10" ] || die "build the python part first"
    local version
    version="$("$out/python/bin/python3.10" -I -c 'import platform; print(platform.python_version())')"
    local new="$final.new"
    rm -rf "$new"
    mkdir -p "$new/bin" "$new/lib/python3.10/site-packages"
    write_pyvenv_cfg "$new" "$version"
    local name
    for name in python python3 python3.10; do
        ln -s "$MOUNT_PYTHON/bin/python3.10" "$new/bin/$name"
    done
    local site="$new/lib/python3.10/site-packages"
    install_packages "$src" "$site"
    # pip --target puts console scripts (shebangs naming the build's Python) and man pages here.
    rm -rf "$site/bin" "$site/share"
    check_env "$out" "$site"
    write_package_list "$new/share/pyplay"
    build_font_cache "$out" "$site" "$new/share/pyplay/cache"
    swap_in "$new" "$final"
}

# ---------------------------------------------------------------- rootfs

write_etc() {
    local etc="$1"
    mkdir -p "$etc"
    cat > "$etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
student:x:$SANDBOX_UID:$SANDBOX_UID:student:/workspace:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    cat > "$etc/group" <<EOF
root:x:0:
tty:x:5:
student:x:$SANDBOX_UID:
nogroup:x:65534:
EOF
    printf '127.0.0.1\tlocalhost pyplay\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$etc/hosts"
    echo pyplay > "$etc/hostname"
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' > "$etc/nsswitch.conf"
    # The host's library cache matches the host /usr/lib that is bind-mounted in.
    cp /etc/ld.so.cache "$etc/ld.so.cache"
    cp -a /etc/fonts "$etc/fonts"
    ln -s /usr/share/zoneinfo/UTC "$etc/localtime"
    copy_alternatives "$etc/alternatives"
    # SDL_mixer's timidity reads /etc/timidity/freepats.cfg (freepats' instruments, mounted
    # from /usr/share/midi) to play .mid files.
    if [ -d /etc/timidity ]; then cp -a /etc/timidity "$etc/timidity"; fi
    chmod 0644 "$etc"/{passwd,group,hosts,hostname,nsswitch.conf,ld.so.cache}
}

# Debian reaches some /usr/bin programs (Xvnc among them) through /etc/alternatives; keep
# those links (only ones that point back into /usr) so the bind-mounted /usr/bin works.
copy_alternatives() {
    local dst="$1" link target
    mkdir -p "$dst"
    for link in /etc/alternatives/*; do
        [ -L "$link" ] || continue
        target="$(readlink "$link")"
        case "$target" in /usr/*) ln -s "$target" "$dst/${link##*/}" ;; esac
    done
}

# pygame.font.SysFont gives fc-list one second; without a cache fontconfig rescans every
# font under gVisor and misses it. The host cache stays valid: same paths, same mtimes.
copy_font_cache() {
    local dst="$1"
    fc-cache >/dev/null 2>&1 || true
    mkdir -p "$dst"
    if [ -d /var/cache/fontconfig ]; then cp -a /var/cache/fontconfig/. "$dst/"; fi
}

build_rootfs() {
    local out="$1" final="$1/rootfs"
    local new="$final.new"
    rm -rf "$new"
    mkdir -p "$new"
    # Mount points: the scheduler's OCI spec (scheduler/bundle.py) mounts host /usr paths,
    # the Python, the env, the agent and tmpfs directories over these. runsc would create
    # missing ones in this host directory at every start; made here, the root stays as built.
    mkdir -p "$new"/{usr,opt/pyplay,workspace,tmp,proc,dev,run,home}
    mkdir -p "$new"/usr/{bin,lib,lib64,libexec,sbin,share} \
             "$new"/usr/share/{fonts,X11,tcltk,terminfo,zoneinfo,fontconfig,tigervnc,midi} \
             "$new"/opt/pyplay/{python,env,agent/sandbox} "$new"/run/pyplay "$new"/dev/{pts,shm}
    chmod 1777 "$new/tmp"
    ln -s usr/bin "$new/bin"
    ln -s usr/lib "$new/lib"
    ln -s usr/lib64 "$new/lib64"
    ln -s usr/sbin "$new/sbin"
    write_etc "$new/etc"
    copy_font_cache "$new/var/cache/fontconfig"
    swap_in "$new" "$final"
}

# ---------------------------------------------------------------- main

main() {
    [ $# -ge 2 ] || die "usage: $0 python|env|rootfs OUT_DIR [PYTHON310_PREFIX]"
    local part="$1" out
    mkdir -p "$2"
    out="$(cd "$2" && pwd)"
    local src="${3:-}"
    case "$part" in
        python|env) [ -n "$src" ] || src="$("$here/find_python310.sh")" ;;
    esac
    case "$part" in
        python) build_python "$out" "$src" ;;
        env) build_env "$out" "$src" ;;
        rootfs) build_rootfs "$out" ;;
        *) die "unknown part '$part' (python, env or rootfs)" ;;
    esac
    echo "build_sandbox_env: $part ready in $out/$part"
}

main "$@"
