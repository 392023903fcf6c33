#!/usr/bin/env bash
# Install what the authentication tests need: Knot DNS (a real authoritative server, started by the
# tests on a loopback port) and the Perl Mail::DKIM / Mail::SPF used as an independent cross-check.
# Idempotent: does nothing when everything is there.
set -euo pipefail
need=()
command -v knotd >/dev/null || need+=(knot)
command -v knotc >/dev/null || need+=(knot)
command -v kdig >/dev/null || need+=(knot-dnsutils)
perl -MMail::DKIM -e1 2>/dev/null || need+=(libmail-dkim-perl)
perl -MMail::SPF -e1 2>/dev/null || need+=(libmail-spf-perl)
perl -MNet::DNS -e1 2>/dev/null || need+=(libnet-dns-perl)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-knot.sh: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"
# The package enables a system knot service on port 53; the tests start their own on a free port.
if command -v systemctl >/dev/null && systemctl is-enabled knot >/dev/null 2>&1; then
  systemctl disable --now knot >/dev/null 2>&1 || true
fi
