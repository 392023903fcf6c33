#!/usr/bin/env bash
# apt-install.sh NAME PACKAGE...: install Debian packages for the scripts/install-*.sh scripts, as root
# or through sudo, waiting for the dpkg lock (other installs may hold it). NAME prefixes the messages.
set -euo pipefail

NAME=$1
shift

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$NAME: apt-get not found; install $* with your package manager." >&2
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "$NAME: must run as root (or have sudo) to apt-get install $*." >&2
        exit 1
    fi
fi

APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
echo "$NAME: running apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "${APT[@]}" update
echo "$NAME: installing $*"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "$@"
