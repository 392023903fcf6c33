#!/usr/bin/env bash
# Install Debian's rspamd package for its rspamc client, which the tests use to talk to lurelens's
# rspamd-compatible /checkv2 endpoint. Idempotent: does nothing when rspamc is already on PATH.
# Only the client is used; the package's rspamd daemon is not started by the tests.
set -euo pipefail

if command -v rspamc >/dev/null 2>&1; then
    echo "install-rspamc: $(command -v rspamc) already present; nothing to do."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-rspamc: apt-get not found; install rspamd (for rspamc) with your package manager." >&2
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-rspamc: must run as root (or have sudo) to apt-get install rspamd." >&2
        exit 1
    fi
fi

APT=(apt-get -o DPkg::Lock::Timeout=600)
echo "install-rspamc: running apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "${APT[@]}" update -q
echo "install-rspamc: installing rspamd (for rspamc)"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q --no-install-recommends rspamd

if ! command -v rspamc >/dev/null 2>&1; then
    echo "install-rspamc: apt-get finished but rspamc is missing." >&2
    exit 1
fi
echo "install-rspamc: installed $(command -v rspamc)"
