#!/usr/bin/env bash
# Install the PostgreSQL server the hunt store's tests start themselves (Debian/Ubuntu).
#
# Idempotent: does nothing when initdb and pg_ctl are already there. The tests run their own
# throw-away server (initdb + pg_ctl in a temporary directory on a loopback port); this script
# only installs the binaries and never starts or enables the system cluster's service.
set -euo pipefail

find_bin() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    return 1
}

if BIN=$(find_bin); then
    echo "install-postgres: $BIN/initdb already present ($("$BIN/postgres" --version 2>/dev/null || echo 'version unknown')); nothing to do."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-postgres: apt-get not found; install the PostgreSQL server with your package manager." >&2
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-postgres: must run as root (or have sudo) to apt-get install postgresql." >&2
        exit 1
    fi
fi

APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
echo "install-postgres: running apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "${APT[@]}" update
echo "install-postgres: installing postgresql"
# RUNLEVEL=1: Debian's maintainer scripts do not start the distribution's cluster (the tests start their own).
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 "${APT[@]}" install -y --no-install-recommends postgresql

if ! BIN=$(find_bin); then
    echo "install-postgres: apt-get finished but no initdb under /usr/lib/postgresql/*/bin." >&2
    exit 1
fi
echo "install-postgres: installed $("$BIN/postgres" --version 2>/dev/null || echo "$BIN")"
