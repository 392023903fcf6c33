#!/usr/bin/env bash
# Install the headless Chromium used by lurelens.render (Debian/Ubuntu).
#
# Idempotent: does nothing when /usr/bin/chromium already exists.
# Uses the distribution package because Playwright's own browser download
# (`playwright install`) is not reachable from our build machines.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
    echo "install-browser: $CHROMIUM already present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')); nothing to do."
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" install-browser chromium fonts-dejavu-core

if [[ ! -x "$CHROMIUM" ]]; then
    echo "install-browser: apt-get finished but $CHROMIUM is missing." >&2
    exit 1
fi
echo "install-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
