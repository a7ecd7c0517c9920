#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with warnings
# as errors, and runs every suite (cmocka and busted) through ctest.
#   S6_SANITIZE=1 ./tests/run-all.sh   the same in build-asan, ASan + UBSan
# The exit status is ctest's, and ctest's summary line comes last.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./.ci/install-deps --tests

build=build
options=(-DS6_WERROR=ON -DS6_SANITIZE=OFF -DS6_TESTS=ON)
select=()
if [[ "${S6_SANITIZE:-0}" == 1 ]]; then
  build="build-asan"
  options=(-DS6_WERROR=ON -DS6_SANITIZE=ON -DS6_TESTS=ON)
  # The fault campaign restarts the service dozens of times; under the
  # sanitizers it overruns its timeout (docs/testing.md "Fault campaign").
  select=(-LE faults)
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
fi

cmake -S . -B "$build" "${options[@]}"
cmake --build "$build" -j"$(nproc)"

# ctest prints its timing and the list of failures after the summary line
# "N% tests passed, F tests failed out of T"; move that line to the end so
# it closes the log either way.
summary=""
status=0
shopt -s lastpipe
(cd "$build" && ctest --output-on-failure --no-tests=error "${select[@]}" 2>&1) |
  while IFS= read -r line; do
    if [[ "$line" =~ ^[0-9]+%\ tests\ passed, ]]; then
      summary="$line"
    else
      printf '%s\n' "$line"
    fi
  done || status=$?
printf '%s\n' "${summary:-run-all: ctest printed no summary}"
exit "$status"
