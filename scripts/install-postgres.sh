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

bash "$(dirname "$0")/apt-install.sh" install-postgres postgresql

if ! BIN=$(find_bin); then
    echo "install-postgres: apt-get finished but no initdb under /usr/lib/postgresql/*/bin." >&2
    exit 1
fi
echo "install-postgres: installed $("$BIN/postgres" --version 2>/dev/null || echo "$BIN")"
