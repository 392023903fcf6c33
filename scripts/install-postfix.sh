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

# Preseed before installing, so the package asks nothing and writes no main.cf.
SUDO=()
if [[ "$(id -u)" -ne 0 ]] && command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
fi
if command -v debconf-set-selections >/dev/null 2>&1; then
    echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections
fi
bash "$(dirname "$0")/apt-install.sh" install-postfix postfix

if ! have_all; then
    echo "install-postfix: apt-get finished but a Postfix tool is missing from /usr/sbin." >&2
    exit 1
fi
echo "install-postfix: done ($(/usr/sbin/postconf -d -h mail_version))"
