#!/usr/bin/env bash
# A throwaway PostgreSQL from Debian's postgresql package, for the storage benchmark.
# PostgreSQL refuses to run as root, so the cluster belongs to the `postgres` user (created by
# the package) and lives in a temporary directory; durability settings are the defaults
# (fsync on, synchronous_commit on), as a production server would have them.
#
#   bench/storage/pg.sh start   initdb + start on $PG_HOST:$PG_PORT; prints the JDBC URL
#   bench/storage/pg.sh stop    stop it and delete the directory
#
# PG_HOST (default 127.0.0.71), PG_PORT (default 15432), PG_DIR (default /tmp/parley-bench-pg).
set -euo pipefail
PG_HOST=${PG_HOST:-127.0.0.71}
PG_PORT=${PG_PORT:-15432}
PG_DIR=${PG_DIR:-/tmp/parley-bench-pg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    if [ -z "$BIN" ]; then
      echo "PostgreSQL is not installed: apt-get install -y postgresql" >&2; exit 1
    fi
    mkdir -p "$PG_DIR"; [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
      as_pg "$BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
      -o "-c listen_addresses=$PG_HOST -p $PG_PORT -k $PG_DIR -c max_connections=50 -c shared_buffers=256MB" start >/dev/null
    as_pg "$BIN/psql" -h "$PG_HOST" -p "$PG_PORT" -U postgres -qAt -c "select 1" >/dev/null
    echo "jdbc:postgresql://$PG_HOST:$PG_PORT/postgres?user=postgres"
    ;;
  stop)
    [ -f "$PG_DIR/data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
    rm -rf "$PG_DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
