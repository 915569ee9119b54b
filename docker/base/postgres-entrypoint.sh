#!/bin/sh
# Entrypoint of the local PostgreSQL base image (docker/base-images.sh), for machines that cannot
# pull the official postgres image. It honours the official image's variables that the demo uses:
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and PGDATA. On first start it creates the cluster
# with password (scram-sha-256) access from the network, then runs the server in the foreground.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

if [ "${1:-}" != postgres ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown -R postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD must be set" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # A private server on the Unix socket only, just to create the database.
    pg_ctl --wait --silent -o "-c listen_addresses=''" start
    createdb --username="$user" "$db"
    pg_ctl --wait --silent -m fast stop
  fi
  echo "PostgreSQL cluster created in $PGDATA (user $user, database $db)"
fi
shift
exec postgres -c listen_addresses='*' "$@"
