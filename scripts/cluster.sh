#!/usr/bin/env bash
# A 3-node Parley cluster as local processes on 127.0.0.2, .3 and .4 (HTTP 8080 and Artery 2552
# on each), with the environment docker/docker-compose.yml gives its containers, and the
# PostgreSQL its nodes share for history.
#
#   scripts/cluster.sh start          build the jar if needed, start PostgreSQL and the nodes, wait until all are ready
#   scripts/cluster.sh stop           SIGTERM every node (graceful: drain, hand-off, leave), then stop PostgreSQL
#   scripts/cluster.sh status         per node: pid, readiness, online count
#   scripts/cluster.sh kill N         kill -9 node N (failover drill)
#   scripts/cluster.sh start-node N   (re)start node N alone
#   scripts/cluster.sh stop-node N    SIGTERM node N alone (a rolling restart's step)
#   scripts/cluster.sh env N          print node N's environment
#
# PARLEY_CLUSTER_DIR (default .cluster/) holds pid files, logs and the local PostgreSQL's data
# (history survives a stop and start). With PARLEY_DB_URL (and PARLEY_DB_USER, PARLEY_DB_PASSWORD)
# set, the nodes use that PostgreSQL instead; otherwise the script runs one from Debian's
# `postgresql` package (apt-get install postgresql) on 127.0.0.1:${PARLEY_CLUSTER_DB_PORT:-55432}.
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=(1 2 3)
DIR=${PARLEY_CLUSTER_DIR:-.cluster}
JAR=target/parley.jar
JAVA_OPTS=${JAVA_OPTS:--Xmx512m}
READY_TIMEOUT=${PARLEY_READY_TIMEOUT:-90}

DB_PORT=${PARLEY_CLUSTER_DB_PORT:-55432}
DB_DIR="$DIR/pg"

ip() { echo "127.0.0.$(($1 + 1))"; }

seeds() {
  local list=() n
  for n in "${NODES[@]}"; do list+=("$(ip "$n"):2552"); done
  (IFS=,; echo "${list[*]}")
}

# The environment of node N: docker/cluster.env, then what differs per node.
node_env() {
  grep -Ev '^\s*(#|$)' docker/cluster.env
  echo "PARLEY_NODE_NAME=node$1"
  echo "PARLEY_HTTP_HOST=$(ip "$1")"
  echo "PARLEY_CLUSTER_HOST=$(ip "$1")"
  echo "PARLEY_SEED_NODES=$(seeds)"
  db_env
}

# ---- the nodes' PostgreSQL ---------------------------------------------------------------------

db_env() {
  if [ -n "${PARLEY_DB_URL:-}" ]; then
    echo "PARLEY_DB_URL=$PARLEY_DB_URL"
    [ -z "${PARLEY_DB_USER:-}" ] || echo "PARLEY_DB_USER=$PARLEY_DB_USER"
    [ -z "${PARLEY_DB_PASSWORD:-}" ] || echo "PARLEY_DB_PASSWORD=$PARLEY_DB_PASSWORD"
  else
    echo "PARLEY_DB_URL=jdbc:postgresql://127.0.0.1:$DB_PORT/parley"
    echo "PARLEY_DB_USER=postgres"
  fi
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
# PostgreSQL refuses to run as root: as root, its files and process belong to `postgres`.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_db() {
  [ -z "${PARLEY_DB_URL:-}" ] || return 0
  local bin
  bin=$(pg_bin)
  if [ -z "$bin" ]; then
    echo "the cluster's nodes share a PostgreSQL: apt-get install postgresql, or set PARLEY_DB_URL" >&2
    exit 1
  fi
  if as_pg "$bin/pg_ctl" -D "$DB_DIR/data" status >/dev/null 2>&1; then return 0; fi
  mkdir -p "$DB_DIR"
  [ "$(id -u)" != 0 ] || chown postgres: "$DB_DIR"
  if [ ! -f "$DB_DIR/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$DB_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$DB_DIR/data" -l "$DB_DIR/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $DB_PORT -k $(cd "$DB_DIR" && pwd)" start >/dev/null
  as_pg "$bin/psql" -h 127.0.0.1 -p "$DB_PORT" -U postgres -qAt \
    -c "select 1 from pg_database where datname = 'parley'" | grep -q 1 \
    || as_pg "$bin/psql" -h 127.0.0.1 -p "$DB_PORT" -U postgres -q -c "create database parley"
  echo "PostgreSQL ready on 127.0.0.1:$DB_PORT (data in $DB_DIR)"
}

stop_db() {
  [ -z "${PARLEY_DB_URL:-}" ] || return 0
  local bin
  bin=$(pg_bin)
  [ -n "$bin" ] && [ -f "$DB_DIR/data/postmaster.pid" ] || return 0
  as_pg "$bin/pg_ctl" -D "$DB_DIR/data" -m fast -w stop >/dev/null && echo "PostgreSQL stopped"
}

pid_of() { cat "$DIR/node$1.pid" 2>/dev/null || true; }
# Running, and not a zombie: a killed node whose parent is gone may linger as one.
alive() {
  local pid state
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
  [ "$state" != "Z" ]
}
# Quiet: while a node starts, its port refuses connections, and wait_ready asks again.
ready() { curl -fs -o /dev/null --max-time 2 "http://$(ip "$1"):8080/ready"; }

start_node() {
  local n=$1
  if alive "$n"; then echo "node$n already running (pid $(pid_of "$n"))"; return; fi
  # another process on the port would answer for the node (and the node would exit): a single
  # node started with `java -jar target/parley.jar` listens on 0.0.0.0:8080, every address
  if curl -s -o /dev/null --max-time 2 "http://$(ip "$n"):8080/"; then
    echo "$(ip "$n"):8080 is taken by another process (a node started with java -jar target/parley.jar" \
      "listens on every address): stop it first" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  # shellcheck disable=SC2046
  env $(node_env "$n" | xargs) nohup java $JAVA_OPTS -jar "$JAR" >"$DIR/node$n.log" 2>&1 &
  echo $! >"$DIR/node$n.pid"
  echo "node$n starting on $(ip "$n") (pid $!, log $DIR/node$n.log)"
}

wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT)) n
  for n in "$@"; do
    until ready "$n"; do
      if ! alive "$n"; then echo "node$n died; see $DIR/node$n.log" >&2; exit 1; fi
      if ((SECONDS > deadline)); then echo "node$n not ready after ${READY_TIMEOUT}s" >&2; exit 1; fi
      sleep 0.5
    done
    echo "node$n ready: http://$(ip "$n"):8080"
  done
}

stop_nodes() {
  local n pid
  for n in "$@"; do
    pid=$(pid_of "$n")
    if alive "$n"; then kill -TERM "$pid"; fi
  done
  for n in "$@"; do
    pid=$(pid_of "$n")
    [ -n "$pid" ] || continue
    for _ in $(seq 1 60); do alive "$n" || break; sleep 0.5; done
    if alive "$n"; then kill -KILL "$pid"; echo "node$n did not stop in 30 s: killed"; fi
    rm -f "$DIR/node$n.pid"
    echo "node$n stopped"
  done
}

case "${1:-}" in
  start)
    [ -f "$JAR" ] || mvn -B -q -DskipTests package
    start_db
    # one at a time: three JVMs warming up at once on a small host can starve one of them long
    # enough for its peers to down it before the cluster has even formed
    for n in "${NODES[@]}"; do start_node "$n"; wait_ready "$n"; done
    ;;
  start-node)
    start_db
    start_node "$2"
    wait_ready "$2"
    ;;
  stop-node)
    stop_nodes "$2"
    ;;
  stop)
    stop_nodes "${NODES[@]}"
    stop_db
    ;;
  kill)
    if alive "$2"; then
      kill -KILL "$(pid_of "$2")"
      for _ in $(seq 1 100); do alive "$2" || break; sleep 0.1; done
      echo "node$2 killed (kill -9)"
    else
      echo "node$2 is not running"
    fi
    ;;
  status)
    for n in "${NODES[@]}"; do
      if alive "$n"; then
        state=$(ready "$n" && echo ready || echo "not ready")
        online=$(curl -fsS --max-time 2 "http://$(ip "$n"):8080/ws/online" 2>/dev/null || echo "-")
        echo "node$n $(ip "$n") pid $(pid_of "$n") $state online $online"
      else
        echo "node$n $(ip "$n") down"
      fi
    done
    ;;
  env)
    node_env "$2"
    ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
    ;;
esac
