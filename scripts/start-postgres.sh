#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the records tests and print its database URL (last line
# of stdout; progress goes to stderr). Idempotent: a server already running is reused.
#
#   export ATTENDANCE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh)
#   bash scripts/start-postgres.sh --started-file FILE   # also write "started" to FILE if this call started it
#   bash scripts/start-postgres.sh --stop                # stop it (what `make test` does when it started it)
#
# Uses Debian's postgresql package (installed with apt-get when missing and run as root) and its own
# cluster in $ATTENDANCE_PG_DIR (default /tmp/attendance-pg), on 127.0.0.1:$ATTENDANCE_PG_PORT
# (default 55432), so the machine's own clusters are left alone. Authentication is "trust" on the
# loopback address only: a test server, not one to keep data in.
set -euo pipefail
DIR=${ATTENDANCE_PG_DIR:-/tmp/attendance-pg}
PORT=${ATTENDANCE_PG_PORT:-55432}
ROLE=attendance
DB=attendance_test
log() { echo "start-postgres: $*" >&2; }
STOP=""
STARTED_FILE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --stop) STOP=1 ;;
        --started-file) STARTED_FILE=${2:?--started-file needs a file name}; shift ;;
        *) log "unknown argument: $1 (use --stop or --started-file FILE)"; exit 2 ;;
    esac
    shift
done

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

BIN=$(pg_bin)
if [ -n "$STOP" ] && { [ -z "$BIN" ] || [ ! -x "$BIN/pg_ctl" ]; }; then
    exit 0  # not installed: nothing to stop
fi
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    if [ "$(id -u)" != 0 ]; then
        log "PostgreSQL is not installed; run as root, or: apt-get install postgresql"
        exit 1
    fi
    log "installing postgresql from the Debian packages"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    BIN=$(pg_bin)
fi

# The server refuses to run as root: as root, run it as the 'postgres' user the package created.
if [ "$(id -u)" = 0 ]; then
    OWNER=postgres
    as_owner() { runuser -u "$OWNER" -- "$@"; }
else
    OWNER=$(id -un)
    as_owner() { "$@"; }
fi

if [ -n "$STOP" ]; then
    if [ -f "$DIR/data/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
        log "stopping the server on 127.0.0.1:$PORT"
        as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null
    fi
    exit 0
fi

mkdir -p "$DIR"
chown "$OWNER" "$DIR"
chmod 700 "$DIR"
if [ ! -f "$DIR/data/PG_VERSION" ]; then
    log "creating a cluster in $DIR/data"
    as_owner "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
fi
if ! as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
    log "starting the server on 127.0.0.1:$PORT"
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
    if [ -n "$STARTED_FILE" ]; then echo started > "$STARTED_FILE"; fi
fi

psql_admin() { as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]; then
    psql_admin -c "CREATE ROLE $ROLE LOGIN" >/dev/null
fi
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    psql_admin -c "CREATE DATABASE $DB OWNER $ROLE" >/dev/null
fi
log "ready"
echo "postgresql+psycopg://$ROLE@127.0.0.1:$PORT/$DB"
