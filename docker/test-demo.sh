#!/usr/bin/env bash
# Runs the Docker Compose demo for real and checks it through nginx on localhost:8080:
#
#   docker/test-demo.sh        (as root on Debian 12; or any machine with Docker, Compose and Node)
#
# 1. installs what is missing from Debian (docker.io, docker-compose, debootstrap, nodejs, npm)
#    and starts dockerd if none runs (and stops it again at the end);
# 2. uses the official base images when they are here or can be pulled, else builds local ones
#    from Debian packages (docker/base-images.sh; cached between runs);
# 3. builds the Parley image and brings the stack up (project parley-test), waiting for health;
# 4. docker/demo-check.cjs: chat and presence between nodes, /ws/online across nodes,
#    `docker kill` of the node hosting a busy room with the time until the room works again, and
#    `docker stop` of a node, which drains it;
# 5. brings everything down with its volumes, on success and on failure.
# Every step has a time limit. Ends with one line, "N passed, M failed" (", K skipped" for checks
# that need a newer server), and exits 1 when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

COMPOSE_FILE=docker/docker-compose.yml
PROJECT=parley-test
URL=http://localhost:8080
WORK=$(mktemp -d /tmp/parley-test-demo.XXXXXX)
NODE_MODULES=${PARLEY_TEST_NODE_MODULES:-${XDG_CACHE_HOME:-$HOME/.cache}/parley-test-demo/node_modules}
started=$SECONDS
passed=0
failed=0
skipped=0
dockerd_pid=
stack_up=
COMPOSE=()
compose() { "${COMPOSE[@]}" "$@"; }

say() { echo "test-demo: [$((SECONDS - started)) s] $*"; }
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# Runs a step with a time limit; its output goes to $WORK/<name>.log, and the end of it to the
# terminal when the step fails.
step() {
  local name=$1 limit=$2 rc
  shift 2
  timeout --kill-after=10 "$limit" "$@" >"$WORK/$name.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    tail -n 30 "$WORK/$name.log" | sed "s/^/  $name| /"
    [ $rc -ne 124 ] || echo "  $name| (stopped after $limit s)"
  fi
  return $rc
}

install_missing() {
  local missing=()
  command -v docker >/dev/null || missing+=(docker.io)
  command -v dockerd >/dev/null || missing+=(docker.io)
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v curl >/dev/null || missing+=(curl)
  # Only needed to build local base images (no Docker Hub), but cheap.
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" || return 1
  fi
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose -p "$PROJECT" -f "$COMPOSE_FILE")
  else
    COMPOSE=(docker-compose -p "$PROJECT" -f "$COMPOSE_FILE")
  fi
}

start_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  say "starting dockerd (log: $WORK/dockerd.log)"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 1
  done
  tail -n 20 "$WORK/dockerd.log"
  return 1
}

# The official images (the Compose file's defaults) when they are here or can be pulled; where
# Docker Hub cannot be reached, local ones from Debian packages. Variables already set win.
choose_base_images() {
  if [ -n "${PARLEY_BUILD_IMAGE:-}" ] && [ -n "${PARLEY_RUNTIME_IMAGE:-}" ] \
      && [ -n "${PARLEY_NGINX_IMAGE:-}" ] && [ -n "${PARLEY_POSTGRES_IMAGE:-}" ]; then
    say "base images from the environment"
    return 0
  fi
  local image hub=yes defaults
  # The Compose file's defaults: the images it names when the variables are unset.
  defaults=$(env -u PARLEY_BUILD_IMAGE -u PARLEY_RUNTIME_IMAGE -u PARLEY_NGINX_IMAGE -u PARLEY_POSTGRES_IMAGE \
      "${COMPOSE[@]}" config | awk '$1 ~ /^(PARLEY_BUILD_IMAGE|PARLEY_RUNTIME_IMAGE|image):$/ && $2 != "parley:dev" { print $2 }' | sort -u)
  for image in $defaults; do
    docker image inspect "$image" >/dev/null 2>&1 && continue
    timeout 120 docker pull -q "$image" >/dev/null 2>&1 || { hub=no; break; }
  done
  if [ $hub = yes ]; then
    say "base images: the official ones"
    return 0
  fi
  say "Docker Hub cannot be reached: local base images from Debian packages"
  # Progress (stderr) to the terminal, the four variables (stdout) to a file.
  timeout --kill-after=10 1800 docker/base-images.sh 2> >(sed 's/^/  /') >"$WORK/base-images.env" \
    || return 1
  local line name
  while read -r line; do
    name=${line#export }
    name=${name%%=*}
    # Only the variables the caller has not set.
    [ -n "${!name:-}" ] || export "${line#export }"
  done <"$WORK/base-images.env"
}

wait_healthy() {
  local deadline=$((SECONDS + 300)) service id state
  while ((SECONDS < deadline)); do
    local all=yes
    for service in node1 node2 node3; do
      id=$(compose ps -q "$service" 2>/dev/null)
      state=$(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null || echo missing)
      [ "$state" = healthy ] || all=no
    done
    if [ $all = yes ] && curl -fsS -o /dev/null --max-time 2 "$URL/ready"; then return 0; fi
    sleep 2
  done
  compose ps
  return 1
}

install_ws() {
  [ -d "$NODE_MODULES/ws" ] && return 0
  mkdir -p "$NODE_MODULES"
  step npm 180 npm install --prefix "$(dirname "$NODE_MODULES")" --no-save --no-audit --no-fund ws@8
}

teardown() {
  [ -n "$stack_up" ] || return 0
  local begin=$SECONDS
  if ! step down 180 "${COMPOSE[@]}" down --volumes --remove-orphans --timeout 30; then
    # Compose itself hung or failed: remove what is left by label.
    docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r docker rm -f >/dev/null
    docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r docker volume rm >/dev/null
    docker network ls -q --filter "label=com.docker.compose.project=$PROJECT" | xargs -r docker network rm >/dev/null
  fi
  local left
  left=$( (docker ps -aq --filter "label=com.docker.compose.project=$PROJECT";
           docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT") | wc -l)
  if [ "$left" -eq 0 ]; then
    pass "the stack is down, volumes removed, in $((SECONDS - begin)) s"
  else
    fail "the stack is down: $left containers or volumes are left"
  fi
}

finish() {
  trap - EXIT INT TERM
  if [ -n "$stack_up" ] && [ "$failed" -gt 0 ]; then
    compose logs --no-color >"$WORK/stack.log" 2>&1
    say "the containers' logs: $WORK/stack.log; the first errors in them:"
    grep -E 'Exception in thread|SBR took decision|ERROR' "$WORK/stack.log" | head -n 5 | cut -c1-200
    say "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
  fi
  teardown
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    timeout 30 tail --pid="$dockerd_pid" -f /dev/null || kill -KILL "$dockerd_pid" 2>/dev/null
  fi
  if [ "$failed" -eq 0 ]; then
    rm -rf "$WORK"
    say "done in $((SECONDS - started)) s"
  else
    say "done in $((SECONDS - started)) s (logs in $WORK)"
  fi
  echo "$passed passed, $failed failed$([ "$skipped" -eq 0 ] || echo ", $skipped skipped")"
  exit $((failed > 0))
}
trap finish EXIT
trap 'fail "interrupted"; exit 1' INT TERM

main() {
  install_missing || { fail "install Docker, Compose, Node from Debian"; return; }
  start_dockerd || { fail "start dockerd"; return; }
  compose config -q || { fail "the Compose file is valid ($(compose version --short 2>/dev/null))"; return; }
  pass "the Compose file is valid for $(compose version --short 2>/dev/null || compose version | head -n 1)"
  choose_base_images || { fail "base images"; return; }
  say "building the Parley image"
  local begin=$SECONDS
  step build 1500 "${COMPOSE[@]}" build || { fail "docker build (Maven in the build stage)"; return; }
  pass "the Parley image builds in $((SECONDS - begin)) s ($(docker image inspect -f '{{.Size}}' parley:dev | awk '{printf "%d MB", $1 / 1e6}'))"
  local user
  user=$(docker image inspect -f '{{.Config.User}}' parley:dev)
  if [ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ]; then pass "the image runs as $user, not root"; else fail "the image runs as non-root (User: '$user')"; fi

  stack_up=yes
  say "starting the stack"
  begin=$SECONDS
  step up 600 "${COMPOSE[@]}" up -d || { fail "docker compose up"; return; }
  if wait_healthy; then
    pass "3 nodes healthy, nginx and PostgreSQL up in $((SECONDS - begin)) s"
  else
    fail "3 nodes healthy behind nginx within 300 s"
    return
  fi
  install_ws || { fail "npm install ws"; return; }
  local containers=() service
  for service in node1 node2 node3; do containers+=("$service=$(compose ps -q "$service")"); done
  say "checking through nginx"
  DEMO_URL=$URL DEMO_CONTAINERS=$(IFS=,; echo "${containers[*]}") NODE_PATH=$NODE_MODULES \
      timeout --kill-after=10 300 node docker/demo-check.cjs 2>&1 | tee "$WORK/checks.log"
  local rc=${PIPESTATUS[0]} checks_failed
  checks_failed=$(grep -c '^FAIL' "$WORK/checks.log")
  passed=$((passed + $(grep -c '^PASS' "$WORK/checks.log")))
  skipped=$((skipped + $(grep -c '^SKIP' "$WORK/checks.log")))
  failed=$((failed + checks_failed))
  [ "$rc" -eq 0 ] || [ "$checks_failed" -gt 0 ] || fail "docker/demo-check.cjs ended with exit code $rc"
}

main
