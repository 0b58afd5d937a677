#!/usr/bin/env bash
# One-time set-up, called by `make`: system packages (as root, Debian/Ubuntu), then a virtual
# environment with the project. Safe to run again; what is already there is not done twice.
#
#   bash scripts/setup.sh PYTHON VENV dashboard   # what `make dashboard` needs
#   bash scripts/setup.sh PYTHON VENV hub         # that, plus the hub's proxy (Node's configurable-http-proxy)
#   bash scripts/setup.sh PYTHON VENV test        # that, plus the test tools (Chromium, PostgreSQL, slapd)
#
# The long step is compiling dlib (about 6 minutes on 2 cores, the first time only: pip caches the
# wheel). It starts as soon as its compiler, CMake and OpenBLAS are there and runs beside everything
# else: the other Python packages, the test system packages and the hub's proxy are installed meanwhile.
# Each step prints how long it took; the compile prints a line every 30 seconds; its log is kept in
# VENV/setup-dlib.log.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}
PURPOSE=${3:-test}
case "$PURPOSE" in dashboard|hub|test) ;; *) echo "setup: the purpose is dashboard, hub or test, not '$PURPOSE'" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
T0=$SECONDS
say() { printf 'setup [%d:%02d] %s\n' $(((SECONDS - T0) / 60)) $(((SECONDS - T0) % 60)) "$*"; }

# OpenBLAS makes dlib's face encoder ~6x faster; it must be present *before* dlib is compiled (pip caches
# the compiled wheel with whatever BLAS it found).
BUILD_PACKAGES="build-essential cmake libopenblas-dev liblapack-dev"
# The hub: Node's npm installs its proxy (configurable-http-proxy). The tests: that, and Chromium (browser
# tests), PostgreSQL (records), slapd and ldap-utils (the hub's LDAP sign-in). The dashboard needs none of them.
HUB_PACKAGES=""
command -v node >/dev/null 2>&1 || HUB_PACKAGES="$HUB_PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || HUB_PACKAGES="$HUB_PACKAGES npm"
TEST_PACKAGES="chromium postgresql slapd ldap-utils"

APT_UPDATED=""
apt_install() {  # apt_install PACKAGE...: the missing ones, as root or with sudo
    command -v apt-get >/dev/null 2>&1 || {
        echo "setup: not a Debian system; install these yourself (see README): $*" >&2; return 0; }
    local missing
    missing=$(for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | xargs)
    [ -n "$missing" ] || return 0
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "setup: please install these system packages first: $missing" >&2; return 1; }
        sudo=sudo
    fi
    say "installing system packages: $missing"
    [ -n "$APT_UPDATED" ] || { $sudo apt-get update -qq; APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

# wait_for PID STARTED WHAT LOG: wait for a background step started at $SECONDS = STARTED, a line every
# 30 s, its log's end if it fails.
wait_for() {
    local pid=$1 started=$2 what=$3 log=$4 n=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        n=$((n + 1))
        local took=$((SECONDS - started))
        [ $((n % 30)) = 0 ] && say "still $what ($((took / 60)) min $((took % 60)) s so far)"
    done
    if ! wait "$pid"; then
        echo "setup: $what failed; the end of $log:" >&2
        tail -n 25 "$log" >&2
        return 1
    fi
}

apt_install $BUILD_PACKAGES
say "system packages for dlib: ready"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet --upgrade pip
WHEELS="$VENV/wheels"
mkdir -p "$WHEELS"

# dlib, compiled in the background (or taken from pip's cache when it was compiled before).
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}
DLIB_PID=""
if ! "$VENV/bin/python" -c "import dlib" 2>/dev/null; then
    say "building dlib with OpenBLAS in the background (about 6 min on 2 cores the first time; log: $VENV/setup-dlib.log)"
    "${PIP[@]}" wheel --no-deps --wheel-dir "$WHEELS" "$("$VENV/bin/python" scripts/requirements.py dlib)" \
        >"$VENV/setup-dlib.log" 2>&1 &
    DLIB_PID=$! DLIB_STARTED=$SECONDS
fi

# Meanwhile: every other Python package the project needs.
EXTRAS=$([ "$PURPOSE" = test ] && echo test || echo "")
"$VENV/bin/python" scripts/requirements.py --without dlib face_recognition ${EXTRAS:+--extra $EXTRAS} \
    >"$VENV/requirements-setup.txt"
say "installing the other Python packages"
"${PIP[@]}" install --quiet -r "$VENV/requirements-setup.txt"
say "other Python packages: ready"

if [ "$PURPOSE" = test ]; then
    apt_install $TEST_PACKAGES
    say "system packages for the tests: ready"
fi
if [ "$PURPOSE" != dashboard ]; then
    [ -z "$HUB_PACKAGES" ] || apt_install $HUB_PACKAGES
    # JupyterHub's proxy comes from npm, installed into the virtual environment (its bin/ is where
    # `attendance hub` looks first), not globally.
    if [ ! -x "$VENV/bin/configurable-http-proxy" ]; then
        if command -v npm >/dev/null 2>&1; then
            say "installing configurable-http-proxy (npm) into $VENV"
            npm install --global --prefix "$VENV" --no-audit --no-fund --loglevel=error configurable-http-proxy@^5 >/dev/null
        else
            echo "setup: npm is missing: \`attendance hub\` needs it (apt-get install nodejs npm)" >&2
        fi
    fi
fi

if [ -n "$DLIB_PID" ]; then
    wait_for "$DLIB_PID" "$DLIB_STARTED" "compiling dlib" "$VENV/setup-dlib.log"
    say "dlib: built"
fi
"${PIP[@]}" install --quiet --find-links "$WHEELS" -e ".${EXTRAS:+[$EXTRAS]}"
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
"$VENV/bin/python" -c "import dlib; print('setup: dlib', dlib.__version__, '(BLAS:', 'yes)' if dlib.DLIB_USE_BLAS else 'NO: slow, see docs/performance.md)')"
say "done ($PURPOSE)"
