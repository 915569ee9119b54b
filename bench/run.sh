#!/usr/bin/env bash
# Reproduces every number in BENCHMARKS.md: builds the server, the benchmark, go-hub (the Go hub
# Parley replaces) and the previous main, starts every server itself on loopback, runs each scenario
# several times, stops everything.
#
#   bench/run.sh                all scenarios, 3 repetitions, then the peak sweep (~60 min on 2 cores)
#   bench/run.sh quick          one short repetition of each (smoke test, ~8 min)
#   bench/run.sh density        3 nodes × 19,000 idle sockets, hold, reconnect storm (~10 min)
#   bench/run.sh density-quick  the same with 3 × 2,000 sockets (smoke test, ~5 min)
#   bench/run.sh soak           the soak run: 30 min of steady chat and churn on one node (Soak.java)
#   bench/run.sh publish        server API publish calls, one node and a 3-node cluster (PublishBench.java, ~5 min)
#   bench/run.sh store          the room log: stored messages/s and ack latency on the embedded store and
#                               PostgreSQL, fan-out CPU against the last main before the log (~35 min)
#   bench/run.sh store-quick    the same, one short repetition (smoke test, ~10 min)
#   bench/run.sh all --scenarios fanout --reps 5     any runner option after the mode
#
# BENCH_REF (default main): git ref built as the "previous main" baseline ("none" to skip; skipped
# too when it has the same server sources as HEAD). GO_HUB_SRC: the go-hub baseline's folder
# (default ../shared/baselines/go-hub beside this repository; it is not part of it), built with
# Debian's golang-go and golang-github-gorilla-websocket-dev (installed here when missing);
# GO_HUB_SRC=none measures without it. BENCH_OUT: results folder (default bench/results/<date>);
# bench/results/latest points at the last one. Results: summary.md (tables), results.jsonl (every
# measurement), density.md / density.jsonl, profile-*.md / *.jfr (JFR), logs/ (server and worker logs).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-all}
[ $# -gt 0 ] && shift
OUT=${BENCH_OUT:-bench/results/$(date -u +%Y%m%d-%H%M%S)}
REF=${BENCH_REF:-main}
GO_HUB_SRC=${GO_HUB_SRC:-../shared/baselines/go-hub}
case "$MODE" in
  all|quick|density|density-quick|soak|publish) ;;
  # issue 11's numbers: the room log (a PostgreSQL of its own on 127.0.0.28:15432, from Debian's
  # postgresql package), and the fan-out against BENCH_REF, by default the last main before the log
  store|store-quick)
    REF=${BENCH_REF:-723efea}
    GO_HUB_SRC=none
    if [ "$MODE" = store ]; then
      MODE_ARGS=(--scenarios store --reps 3 --rates 10000,40000,100000)
    else
      MODE_ARGS=(--scenarios store --reps 1 --rates 20000 --store-rates 1000,5000 --duration 3
        --min-window-deliveries 5000 --server-warmup 3)
    fi ;;
  *) echo "usage: bench/run.sh [all|quick|density|density-quick|soak|publish|store|store-quick] [options]" >&2; exit 2 ;;
esac
mkdir -p "$OUT"

cleanup() {
  # only processes this run started: their pid files
  for f in "$OUT"/pids/*.pid "$OUT"/peak/pids/*.pid; do
    [ -f "$f" ] || continue
    kill -9 "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}
trap cleanup EXIT INT TERM

# One process holds about 19,900 sockets under a 20,000 open-files limit: take the whole hard limit
# (servers and workers inherit it; the JVM and Go would raise their soft limit to it anyway).
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 20000 ]; then
  echo "warning: open files limit $(ulimit -n) < 20000: the 19,000-socket counts will fail" >&2
fi

echo "building target/parley.jar and bench/target/parley-bench.jar"
mvn -B -q -DskipTests package
mvn -B -q -f bench/pom.xml -DskipTests package

case "$MODE" in
  publish)
    # each step bounds itself (--duration, default 20 s); this bounds them all
    timeout --signal=TERM 20m java -Xmx1g -jar bench/target/parley-bench.jar publish --out "$OUT" "$@"
    exit $? ;;
  soak)
    # 30 minutes by default (--minutes N), plus start and the closing checks; bounded all the same
    timeout --signal=TERM 240m java -Xmx1g -jar bench/target/parley-bench.jar soak --out "$OUT" "$@"
    exit $? ;;
  density|density-quick)
    # every phase bounds itself (connect 10 min, hold, storm 2 min); this bounds them all
    QUICK=()
    [ "$MODE" = density-quick ] && QUICK=(--per-node 2000 --hold 60 --idle-window 15 --connect-deadline 300 --storm-deadline 60)
    status=0
    timeout --signal=TERM 40m java -Xmx1g -jar bench/target/parley-bench.jar density --out "$OUT" "${QUICK[@]}" "$@" \
      || status=$?
    ln -sfn "$(basename "$OUT")" bench/results/latest
    echo "results: $OUT/density.md"
    exit $status ;;
esac

GO_ARGS=()
if [ "$GO_HUB_SRC" != none ]; then
  if [ ! -x "$GO_HUB_SRC/build.sh" ]; then
    echo "go-hub not found at $GO_HUB_SRC (set GO_HUB_SRC to its folder, or GO_HUB_SRC=none)" >&2
    exit 2
  fi
  if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/gorilla/websocket ]; then
    echo "installing golang-go and golang-github-gorilla-websocket-dev (Debian) for go-hub"
    APT=(apt-get); [ "$(id -u)" = 0 ] || APT=(sudo apt-get)
    export DEBIAN_FRONTEND=noninteractive
    "${APT[@]}" install -y -q golang-go golang-github-gorilla-websocket-dev >/dev/null \
      || { "${APT[@]}" update -q >/dev/null && "${APT[@]}" install -y -q golang-go golang-github-gorilla-websocket-dev >/dev/null; }
  fi
  # built here, never committed (bench/target is ignored); its source stays where it is
  GOCACHE="$PWD/bench/target/go-cache" "$GO_HUB_SRC/build.sh" "$PWD/bench/target/go-hub"
  GO_ARGS=(--go-hub bench/target/go-hub)
fi

REF_ARGS=()
if [ "$REF" != none ]; then
  if git diff --quiet "$REF" HEAD -- src/main conf pom.xml; then
    echo "$REF has the same server sources as HEAD: no separate baseline"
  else
    SHA=$(git rev-parse --short "$REF")
    REF_DIR=bench/target/ref-$SHA
    if [ ! -f "$REF_DIR/target/parley.jar" ]; then
      echo "building $REF ($SHA) into $REF_DIR"
      rm -rf "$REF_DIR" && mkdir -p "$REF_DIR"
      git archive "$SHA" | tar -x -C "$REF_DIR"
      (cd "$REF_DIR" && mvn -B -q -DskipTests package)
    fi
    REF_ARGS=(--ref-jar "$REF_DIR/target/parley.jar" --ref-name "main@$SHA")
  fi
fi

case "$MODE" in
  # bare-tuned: the bare server with the two pekko settings Parley's conf sets (dispatcher threads,
  # no TCP write coalescing), so that the floor is measured with the same tuning too
  all) MODE_ARGS=(--reps 3 --variants "bare-tuned=-Dpekko.actor.default-dispatcher.fork-join-executor.parallelism-min=2 -Dpekko.actor.default-dispatcher.fork-join-executor.parallelism-factor=1.0 -Dpekko.stream.materializer.io.tcp.coalesce-writes=0") ;;
  quick) MODE_ARGS=(--reps 1 --rates 1000,20000 --cluster-rates 1000 --duration 3 --min-window-deliveries 5000
    --server-warmup 3 --idle-counts 1000,2000 --idle-warmup 500 --idle-settle 2 --idle-window 3 --profile-rate 20000) ;;
esac

# the whole run is bounded: every scenario bounds itself, and this bounds them all
timeout --signal=TERM 120m java -Xmx2g -jar bench/target/parley-bench.jar run --out "$OUT" \
  "${GO_ARGS[@]}" "${REF_ARGS[@]}" "${MODE_ARGS[@]}" "$@"
if [ "$MODE" = all ]; then
  # where a single node saturates: higher rates on Parley, the bare server and go-hub (the main run's
  # sweep stops at 150k); its own summary in peak/
  timeout --signal=TERM 40m java -Xmx2g -jar bench/target/parley-bench.jar run --out "$OUT/peak" \
    "${GO_ARGS[@]}" --reps 3 --scenarios fanout --rates 150000,200000,250000,300000 "$@"
fi
ln -sfn "$(basename "$OUT")" bench/results/latest
echo "results: $OUT/summary.md"
