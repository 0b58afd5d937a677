#!/usr/bin/env bash
# One-time set-up, called by `make`: system packages (as root, Debian/Ubuntu), then a virtual
# environment with the project and its test tools. Safe to run again.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}

# OpenBLAS makes dlib's face encoder ~6x faster; it must be present *before* dlib is compiled
# (pip caches the compiled wheel with whatever BLAS it found). Chromium runs the browser tests.
SYSTEM_PACKAGES="build-essential cmake libopenblas-dev liblapack-dev chromium postgresql"
if command -v apt-get >/dev/null 2>&1; then
    missing=$(for p in $SYSTEM_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
    if [ -n "$missing" ]; then
        if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
        if [ "$SUDO" = none ]; then
            echo "setup: please install these system packages first: $missing" >&2
        else
            echo "setup: installing system packages:" $missing
            $SUDO apt-get update -qq
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
        fi
    fi
else
    echo "setup: not a Debian system; install cmake, a C++ compiler and OpenBLAS yourself (see README)" >&2
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip wheel
# dlib compiles from source the first time (about 6 minutes on 2 cores), then comes from pip's cache.
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}
echo "setup: installing the project into $VENV (the first run compiles dlib: several minutes)"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
echo "setup: done"
