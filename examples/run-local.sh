#!/usr/bin/env bash
# The README's run command: installs what is missing, builds build/ and runs
# the s6-position service in the foreground until Ctrl-C (SIGINT) or SIGTERM.
# It serves on $PORT, 8086 by default: curl localhost:8086/health
# Arguments are passed to s6-position.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${S6_BUILD_DIR:-build}   # tests point it at their own build
helpers=()   # pids of the processes start_helpers launched, stopped on exit
scratch=""   # the private redis-server's data folder, removed on exit

# A loopback port nobody listens on: connecting to it must fail.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "run-local: no free loopback port found" >&2
  return 1
}

# Everything the service needs around it on one machine: a private
# redis-server (own port, own data folder) unless S6_REDIS_URL points at a
# real one.  The paper order router and the price replay run inside the
# service (config s4.mode = paper, paper.replay.*).
start_helpers() {
  if [[ -n "${S6_REDIS_URL:-}" ]]; then
    echo "run-local: using Redis at $S6_REDIS_URL" >&2
    return 0
  fi
  local port
  port=$(free_port)
  scratch=$(mktemp -d -t s6-run-local.XXXXXX)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$scratch" \
    --save "" --appendonly no --daemonize no \
    >"$scratch/redis.log" 2>&1 &
  helpers+=($!)
  for _ in $(seq 1 100); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
      export S6_REDIS_URL="redis://127.0.0.1:$port/0"
      echo "run-local: private redis-server on port $port" \
           "(data in $scratch)" >&2
      return 0
    fi
    if ! kill -0 "${helpers[-1]}" 2>/dev/null; then
      echo "run-local: redis-server did not start:" >&2
      cat "$scratch/redis.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "run-local: redis-server did not answer PING on port $port" >&2
  return 1
}

stop_helpers() {
  local pid
  for pid in "${helpers[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${helpers[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "$scratch" ]]; then
    rm -rf "$scratch"
  fi
}

# The service runs as a child, not exec'd, so the EXIT trap can still stop
# the helpers; INT and TERM are passed on to it as SIGTERM, its clean stop.
run_service() {
  local status=0
  "$build/s6-position" "$@" &
  service=$!
  trap 'kill -TERM "$service" 2>/dev/null || true' INT TERM
  # A trapped signal cuts `wait` short; wait again for the real exit.
  while kill -0 "$service" 2>/dev/null; do
    status=0
    wait "$service" || status=$?
  done
  return "$status"
}

./.ci/install-deps   # the service's packages only; the tests' are run-all.sh's
# A fresh folder is configured without the test suites (their packages are
# not installed here); a configured one keeps its choice (tests/run-all.sh
# and the tests' own build turn them on).
configure=()
[[ -f "$build/CMakeCache.txt" ]] || configure=(-DS6_TESTS=OFF)
cmake -S . -B "$build" "${configure[@]}"
cmake --build "$build" -j"$(nproc)" --target s6-position
if [[ ! -x "$build/s6-position" ]]; then
  echo "run-local: $build/s6-position was not built; the target s6-position" \
       "(src/app) is missing or failed" >&2
  exit 1
fi

trap stop_helpers EXIT
start_helpers
echo "run-local: s6-position on http://localhost:${PORT:-8086}/health" \
     "(Ctrl-C stops it)" >&2
run_service "$@"
