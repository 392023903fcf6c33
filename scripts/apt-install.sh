#!/usr/bin/env bash
# Shared by the install-*.sh scripts: `apt_install PACKAGE...` runs apt-get update and install as
# root (or through sudo), non-interactive, waiting for another apt-get's lock instead of failing.
# Usage: source "$(dirname "$0")/apt-install.sh"; apt_install NAME PACKAGE...  (NAME prefixes messages)

apt_install() {
    local name=$1
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$name: apt-get not found; install $* with your package manager." >&2
        return 1
    fi
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "$name: must run as root (or have sudo) to apt-get install $*." >&2
            return 1
        fi
    fi
    local apt=(apt-get -o DPkg::Lock::Timeout=600 -q)
    echo "$name: running apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${apt[@]}" update
    echo "$name: installing $*"
    # RUNLEVEL=1: Debian's maintainer scripts do not start services they install (tests start their own).
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 "${apt[@]}" install -y --no-install-recommends "$@"
}
