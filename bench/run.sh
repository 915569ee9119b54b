#!/usr/bin/env bash
# Reproduces every number in BENCHMARKS.md: builds the server, the benchmark and the previous
# main, starts every server itself on loopback, runs each scenario several times, stops everything.
#
#   bench/run.sh            all scenarios, 3 repetitions, then the peak sweep (~55 min on 2 shared cores)
#   bench/run.sh quick      one short repetition of each (smoke test, ~5 min)
#   bench/run.sh soak       the soak run: 30 min of steady chat and churn on one node (Soak.java)
#   bench/run.sh all --scenarios fanout --reps 5     any runner option after the mode
#
# BENCH_REF (default main): git ref built as the "previous main" baseline ("none" to skip; skipped
# too when it has the same server sources as HEAD). BENCH_OUT: results folder (default
# bench/results/<date>); bench/results/latest points at the last one. Results: summary.md (tables),
# results.jsonl (every measurement), profile-*.md / *.jfr (JFR), logs/ (server and worker logs).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-all}
[ $# -gt 0 ] && shift
OUT=${BENCH_OUT:-bench/results/$(date -u +%Y%m%d-%H%M%S)}
REF=${BENCH_REF:-main}
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

echo "building target/parley.jar and bench/target/parley-bench.jar"
mvn -B -q -DskipTests package
mvn -B -q -f bench/pom.xml -DskipTests package

if [ "$MODE" = soak ]; then
  # 30 minutes by default (--minutes N), plus start and the closing checks; bounded all the same
  timeout --signal=TERM 240m java -Xmx1g -jar bench/target/parley-bench.jar soak --out "$OUT" "$@"
  exit $?
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
  quick) MODE_ARGS=(--reps 1 --rates 25000,50000 --cluster-rates 25000 --density 2000,6000 --duration 4 --profile-rate 25000) ;;
  *) echo "usage: bench/run.sh [all|quick|soak] [options]" >&2; exit 2 ;;
esac

# the whole run is bounded: every scenario bounds itself, and this bounds them all
timeout --signal=TERM 75m java -Xmx2g -jar bench/target/parley-bench.jar run --out "$OUT" \
  "${REF_ARGS[@]}" "${MODE_ARGS[@]}" "$@"
if [ "$MODE" = all ]; then
  # where the single node saturates: higher rates on Parley and the bare server only (the main run's
  # sweep stops at 150k); its own summary in peak/
  timeout --signal=TERM 30m java -Xmx2g -jar bench/target/parley-bench.jar run --out "$OUT/peak" \
    --reps 3 --scenarios fanout --rates 150000,200000,250000,300000 "$@"
fi
ln -sfn "$(basename "$OUT")" bench/results/latest
echo "results: $OUT/summary.md"
