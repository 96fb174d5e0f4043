#!/usr/bin/env bash
# Prints the prefix of the Python 3.10 installation the sandbox runtime is copied from.
# Order: $PYTHON310_PREFIX, pyenv's 3.10.13, then whatever `python3.10` is on the PATH.
set -euo pipefail

version="${PYTHON310_VERSION:-3.10.13}"

is_prefix() {
    [ -n "$1" ] && [ -x "$1/bin/python3.10" ]
}

if [ -n "${PYTHON310_PREFIX:-}" ]; then
    is_prefix "$PYTHON310_PREFIX" || {
        echo "find_python310: PYTHON310_PREFIX=$PYTHON310_PREFIX has no bin/python3.10" >&2
        exit 1
    }
    echo "$PYTHON310_PREFIX"
    exit 0
fi

candidates=()
if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv prefix "$version" 2>/dev/null || true)")
fi
# make may run without pyenv's shims on the PATH; look where pyenv installs.
candidates+=("${PYENV_ROOT:-$HOME/.pyenv}/versions/$version")
if command -v python3.10 >/dev/null 2>&1; then
    candidates+=("$(python3.10 -c 'import sys; print(sys.base_prefix)' 2>/dev/null || true)")
fi

for prefix in "${candidates[@]}"; do
    if is_prefix "$prefix"; then
        echo "$prefix"
        exit 0
    fi
done

echo "find_python310: no Python 3.10 found; install $version with pyenv or set PYTHON310_PREFIX" >&2
exit 1
