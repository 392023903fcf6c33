#!/usr/bin/env bash
# Install Postfix for the milter tests and bench/milter_load.py (Debian/Ubuntu).
#
# Idempotent: does nothing when postfix, postconf, postqueue, postcat and smtp-sink are present.
# The package is preseeded to "No configuration": the tests run their own instances (postfix -c DIR)
# on loopback ports and never touch /etc/postfix/main.cf or port 25.
set -euo pipefail

have_all() {
    for tool in postfix postconf postqueue postcat smtp-sink; do
        [[ -x /usr/sbin/$tool ]] || return 1
    done
}

if have_all; then
    echo "install-postfix: Postfix $(/usr/sbin/postconf -d -h mail_version 2>/dev/null || echo '?') already present; nothing to do."
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-postfix: apt-get not found; install Postfix (with smtp-sink) with your package manager." >&2
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-postfix: must run as root (or have sudo) to apt-get install postfix." >&2
        exit 1
    fi
fi

APT=(apt-get -o DPkg::Lock::Timeout=600)
echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections
echo "install-postfix: running apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "${APT[@]}" update -q
echo "install-postfix: installing postfix"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q --no-install-recommends postfix

if ! have_all; then
    echo "install-postfix: apt-get finished but a Postfix tool is missing from /usr/sbin." >&2
    exit 1
fi
echo "install-postfix: done ($(/usr/sbin/postconf -d -h mail_version))"
