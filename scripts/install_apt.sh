#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/apt-packages.txt and
# scripts/sandbox-apt-packages.txt (or in the lists given as arguments) that are missing.
# Does nothing (and never touches the network) when all of them are installed already.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -gt 0 ]; then lists=("$@"); else lists=("$here/apt-packages.txt" "$here/sandbox-apt-packages.txt"); fi

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
while read -r package; do
    is_installed "$package" || missing+=("$package")
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${lists[@]}")

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_apt: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
fi

echo "install_apt: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Other apt runs on the machine hold the lock for a while; wait instead of failing.
apt_get=(apt-get -y -q -o DPkg::Lock::Timeout=600)
"${apt_get[@]}" update
"${apt_get[@]}" install --no-install-recommends "${missing[@]}" </dev/null
