#!/usr/bin/env bash
# One-time set-up, called by `make`: system packages (as root, Debian/Ubuntu), then a virtual
# environment with the project and its test tools. Safe to run again.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}

# OpenBLAS makes dlib's face encoder ~6x faster; it must be present *before* dlib is compiled
# (pip caches the compiled wheel with whatever BLAS it found). Chromium runs the browser tests.
# `attendance hub`: Node and npm run its proxy (configurable-http-proxy); slapd and ldap-utils are the LDAP
# server its tests sign teachers in against (installed without questions; no server is started by apt here).
SYSTEM_PACKAGES="build-essential cmake libopenblas-dev liblapack-dev chromium postgresql slapd ldap-utils"
# Node may come from elsewhere (NodeSource's nodejs carries npm, and conflicts with Debian's npm package).
command -v node >/dev/null 2>&1 || SYSTEM_PACKAGES="$SYSTEM_PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || SYSTEM_PACKAGES="$SYSTEM_PACKAGES npm"
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
# JupyterHub's proxy comes from npm, installed into the virtual environment (its bin/ is where
# `attendance hub` looks first), not globally.
if [ ! -x "$VENV/bin/configurable-http-proxy" ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "setup: installing configurable-http-proxy (npm) into $VENV"
        npm install --global --prefix "$VENV" --no-audit --no-fund --loglevel=error configurable-http-proxy@^5 >/dev/null
    else
        echo "setup: npm is missing: \`attendance hub\` needs it (apt-get install nodejs npm)" >&2
    fi
fi
echo "setup: done"
