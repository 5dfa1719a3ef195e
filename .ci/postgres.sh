#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 for the tests; sourced by .ci/run (and usable by hand:
# `source .ci/postgres.sh && pg_start` ... `pg_stop`). Exports SYNCER_TEST_PG_URL.
# As root the server runs as the `postgres` user; the data lives in a temp dir.

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

pg_start() {
    PG_DIR="$(mktemp -d /tmp/syncer-pg.XXXXXX)"
    PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    local as=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$PG_DIR"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1
    "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -o \
        "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null
    export PG_DIR PG_PORT
    export SYNCER_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
    echo "PostgreSQL 15 for the tests: $SYNCER_TEST_PG_URL"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    local as=()
    [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
}
