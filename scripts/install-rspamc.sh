#!/usr/bin/env bash
# Install Debian's rspamd package for its rspamc client, which the tests use to talk to lurelens's
# rspamd-compatible /checkv2 endpoint. Idempotent: does nothing when rspamc is already on PATH.
# Only the client is used; the tests never start the package's rspamd daemon.
set -euo pipefail

if command -v rspamc >/dev/null 2>&1; then
    echo "install-rspamc: $(command -v rspamc) already present; nothing to do."
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" install-rspamc rspamd

if ! command -v rspamc >/dev/null 2>&1; then
    echo "install-rspamc: apt-get finished but rspamc is missing." >&2
    exit 1
fi
echo "install-rspamc: installed $(command -v rspamc)"
