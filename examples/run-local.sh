#!/usr/bin/env bash
# The README's run command: installs what is missing, builds build/ and runs
# the s6-position service in the foreground until Ctrl-C (SIGINT) or SIGTERM.
# It serves on $PORT, 8086 by default: curl localhost:8086/health
# Arguments are passed to s6-position.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=build
helpers=()   # pids of the processes start_helpers launched, stopped on exit

# Everything the service needs around it on one machine.  Later: a private
# redis-server, the paper order router and the price replay; each one is
# started here in the background with its pid appended to helpers.
start_helpers() {
  :
}

stop_helpers() {
  local pid
  for pid in "${helpers[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${helpers[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
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

./.ci/install-deps
cmake -S . -B "$build"
cmake --build "$build" -j"$(nproc)"
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
