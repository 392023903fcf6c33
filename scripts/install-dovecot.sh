#!/usr/bin/env bash
# Install Dovecot's IMAP server (Debian's dovecot-imapd) and openssl, which the IMAP reader tests
# configure and start themselves on a loopback port (tests/dovecot_server.py).
#
# Idempotent: does nothing when /usr/sbin/dovecot and openssl are already there. The Debian package
# enables a system-wide Dovecot service; the tests never use it (they run their own instance with its
# own config, base_dir and port), so this script leaves the system service as the package set it.
set -euo pipefail

if [[ -x /usr/sbin/dovecot ]] && [[ -x /usr/lib/dovecot/imap ]] && command -v openssl >/dev/null 2>&1; then
    echo "install-dovecot: $(/usr/sbin/dovecot --version 2>/dev/null | cut -d' ' -f1) already present; nothing to do."
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" install-dovecot dovecot-imapd openssl

if [[ ! -x /usr/sbin/dovecot ]]; then
    echo "install-dovecot: apt-get finished but /usr/sbin/dovecot is missing." >&2
    exit 1
fi
echo "install-dovecot: $(/usr/sbin/dovecot --version | cut -d' ' -f1) installed."
