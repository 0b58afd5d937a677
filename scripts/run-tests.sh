#!/usr/bin/env bash
# `make test`: every test, the PostgreSQL ones included, the same run on a newcomer's machine and in CI.
#
#   bash scripts/run-tests.sh PYTHON [PYTEST ARGUMENTS...]
#
# Unless ATTENDANCE_TEST_POSTGRES_URL already names a server (or ATTENDANCE_POSTGRES=0), starts the
# throw-away PostgreSQL server of scripts/start-postgres.sh, requires the PostgreSQL tests to run
# (ATTENDANCE_REQUIRE_POSTGRES=1: a connection problem fails them instead of skipping them), and stops
# the server afterwards if this run started it. The exit code is pytest's: any failure, and also 5
# (no tests collected, e.g. a mistyped path in PYTEST_ARGS), fails the run.
set -uo pipefail
PYTHON=${1:?usage: run-tests.sh PYTHON [PYTEST ARGUMENTS...]}
shift
cd "$(dirname "$0")/.."

STARTED=$(mktemp)
stop_postgres() {
    if [ -s "$STARTED" ]; then
        bash scripts/start-postgres.sh --stop || echo "run-tests: could not stop the PostgreSQL server" >&2
    fi
    rm -f "$STARTED"
}
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${ATTENDANCE_TEST_POSTGRES_URL:-}" ] && [ "${ATTENDANCE_POSTGRES:-1}" != 0 ]; then
    if ! url=$(bash scripts/start-postgres.sh --started-file "$STARTED"); then
        echo "run-tests: the PostgreSQL server could not be started (see above)." >&2
        echo "run-tests: \`make test ATTENDANCE_POSTGRES=0\` runs the other tests, and skips the PostgreSQL ones." >&2
        exit 1
    fi
    export ATTENDANCE_TEST_POSTGRES_URL=$url
    export ATTENDANCE_REQUIRE_POSTGRES=1
fi

"$PYTHON" -m pytest "$@"
code=$?
if [ "$code" = 5 ]; then
    echo "run-tests: no tests were collected (exit code 5): check PYTEST_ARGS" >&2
fi
exit "$code"
