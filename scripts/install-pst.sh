#!/usr/bin/env bash
# install-pst.sh build-deps PYTHON | sample DIR: what the Outlook .pst reader (lurelens[pst]) needs.
#
#   build-deps PYTHON  a C compiler and PYTHON's headers, so that pip can build libpff-python from its
#                      source distribution where PyPI has no wheel for this platform (it has
#                      manylinux x86_64 wheels; other machines build libpff, a few minutes).
#   sample DIR         real Outlook stores for the tests: enron.pst and an .ost that ship in the npm
#                      package pst-extractor (MIT) as its test data, with output.txt (that reader's
#                      listing of the folders and messages, which the tests compare with ours),
#                      unpacked into DIR and checked against their sha256. No library writes .pst
#                      files, so the tests read these.
#
# Idempotent: does nothing when what it installs is already there.
set -euo pipefail
HERE=$(dirname "$0")

case "${1:-}" in
build-deps)
    PY=${2:?usage: install-pst.sh build-deps PYTHON}
    need=()
    command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
    command -v make >/dev/null 2>&1 || need+=(make)
    inc=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    if [[ ! -f "$inc/Python.h" ]]; then
        # Debian's own Python keeps its headers in python3-dev; another Python ships its own.
        if [[ "$inc" == /usr/include/* ]]; then need+=(python3-dev); else
            echo "install-pst: no Python.h in $inc; libpff-python can only be installed from a wheel." >&2
        fi
    fi
    if ((${#need[@]})); then
        bash "$HERE/apt-install.sh" install-pst "${need[@]}"
    else
        echo "install-pst: C compiler and Python headers present; nothing to do."
    fi
    ;;
sample)
    DIR=${2:?usage: install-pst.sh sample DIR}
    PKG=pst-extractor@1.12.0
    declare -A SHA=(
        [enron.pst]=6152489de3472be6f1f840935d34b6dbf5f62b025dd015929ea9cf66eb5a5b46
        [pstextractortest@outlook.com.ost]=daacd8d441428634e103b7c1e37fe1e5909256cc917551667049b5e84dfcf5f0
        [output.txt]=40f2c1a5641b794f3f289c971107a1dbeb98e83b5e042725ad8d2507a426514d
    )
    ok=1
    for f in "${!SHA[@]}"; do
        [[ -f "$DIR/$f" ]] && echo "${SHA[$f]}  $DIR/$f" | sha256sum -c --status || ok=0
    done
    if ((ok)); then
        echo "install-pst: sample stores present in $DIR; nothing to do."
        exit 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        bash "$HERE/apt-install.sh" install-pst npm
    fi
    mkdir -p "$DIR"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    echo "install-pst: fetching $PKG from the npm registry"
    (cd "$tmp" && npm pack --silent "$PKG" >/dev/null)
    for f in "${!SHA[@]}"; do
        tar -xzf "$tmp"/pst-extractor-*.tgz -C "$tmp" "package/example/testdata/$f"
        echo "${SHA[$f]}  $tmp/package/example/testdata/$f" | sha256sum -c --status || {
            echo "install-pst: $f from $PKG does not have the expected sha256" >&2
            exit 1
        }
        mv "$tmp/package/example/testdata/$f" "$DIR/$f"
    done
    echo "install-pst: sample stores unpacked into $DIR"
    ;;
*)
    echo "usage: install-pst.sh build-deps PYTHON | sample DIR" >&2
    exit 2
    ;;
esac
