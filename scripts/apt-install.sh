#!/usr/bin/env bash
# apt-install.sh TAG PACKAGE...: install Debian packages for a scripts/install-*.sh script, as root or
# through sudo, waiting for the dpkg lock (other installs may hold it) and without recommends.
set -euo pipefail
TAG=$1
shift

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$TAG: apt-get not found; install $* with your package manager." >&2
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "$TAG: must run as root (or have sudo) to apt-get install $*." >&2
        exit 1
    fi
fi

APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
echo "$TAG: running apt-get update"
"${SUDO[@]}" "${APT[@]}" update
echo "$TAG: installing $*"
"${SUDO[@]}" "${APT[@]}" install -y --no-install-recommends "$@"
