#!/usr/bin/env bash
# Reproduces every number in bench/storage/README.md with one command: builds the benchmark,
# starts a throwaway PostgreSQL (Debian's package, as the postgres user, pg.sh), runs the dialect
# checks, the kill -9 check and the measurements, stops PostgreSQL again.
#
#   bench/storage/run.sh                 3 repetitions of every candidate, the ablations, the checks,
#                                        the kill -9 check (~1.5 h on the shared machine)
#   bench/storage/run.sh --reps 1 --seconds 3 --warmup 1      any option of `run` (StorageBench.java)
#   bench/storage/run.sh --candidates h2-jdbc,pg-jdbc
#
# Without PostgreSQL installed (apt-get install -y postgresql) the pg-* candidates are skipped.
# Results: bench/storage/results/<date>/{checks,crash,results}.md and the full log.
set -euo pipefail
cd "$(dirname "$0")"
OUT=results/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

mvn -B -q -DskipTests package
JAR=target/parley-bench-storage.jar
DATA=target/storage-data
rm -rf "$DATA"

PG=()
if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  trap './pg.sh stop' EXIT INT TERM
  URL=$(./pg.sh start)
  PGPID=$(head -1 "${PG_DIR:-/tmp/parley-bench-pg}/data/postmaster.pid")
  PG=(--pg "$URL" --pg-pid "$PGPID")
else
  echo "PostgreSQL not installed: only the embedded candidates run" >&2
fi

# every step is bounded, and a failing step does not stop the others
status=0
timeout 120m java -Xmx2g -jar "$JAR" run "${PG[@]}" --data "$DATA" --out "$OUT/results.md" "$@" 2>"$OUT/run.log" \
  | tee "$OUT/run.txt" || status=1
# the ablations, in a run of their own: batching, rooms.last_seq per batch or not, writers
timeout 60m java -Xmx2g -jar "$JAR" run "${PG[@]}" --data "$DATA" --out "$OUT/ablations.md" --ablation true \
  --candidates h2-jdbc,h2-jdbc-lazyrooms,sqlite-jdbc,sqlite-jdbc-lazyrooms,pg-jdbc,pg-jdbc-lazyrooms,pg-jdbc-4writers,h2-jdbc-nobatch,pg-jdbc-nobatch,pg-jdbc-norewrite \
  "$@" 2>"$OUT/ablations.log" | tee "$OUT/ablations.txt" || status=1
timeout 10m java -jar "$JAR" check "${PG[@]}" --data "$DATA" 2>"$OUT/check.log" | tee "$OUT/checks.md" || status=1
timeout 30m java -jar "$JAR" crash "${PG[@]}" --data "$DATA" 2>"$OUT/crash.log" | tee "$OUT/crash.md" || status=1
echo "results in bench/storage/$OUT"
exit $status
