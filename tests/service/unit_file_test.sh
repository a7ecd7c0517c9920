#!/usr/bin/env bash
# examples/s6-position.service against the binary it runs:
#   - systemd-analyze verify finds nothing to say (the ExecStart pointed at
#     the built binary; skipped where systemd-analyze is missing);
#   - the exit status the unit does not restart (RestartPreventExitStatus)
#     is the one a bad configuration exits with, and --version answers.
# usage: unit_file_test.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
unit="$src/examples/s6-position.service"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" --version | grep -Eqx 's6-position [0-9]+\.[0-9]+\.[0-9]+'

# A configuration the service refuses: exit 2, and the unit must not
# restart on it.
echo '{"http": {"port": "eighty"}}' > "$tmp/bad.json"
rc=0
S6_CONFIG="$tmp/bad.json" "$bin" serve > /dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || { echo "a bad configuration exited $rc, want 2" >&2; exit 1; }
grep -qx "RestartPreventExitStatus=$rc" "$unit"
grep -qx "Restart=on-failure" "$unit"
grep -qx "KillSignal=SIGTERM" "$unit"
grep -q "^EnvironmentFile=" "$unit"

if ! command -v systemd-analyze > /dev/null; then
  echo "systemd-analyze is not installed: the unit is not verified"
  exit 77
fi
sed -e "s|^ExecStart=/usr/local/bin/s6-position|ExecStart=$bin|" "$unit" \
  > "$tmp/s6-position.service"
systemd-analyze verify "$tmp/s6-position.service" > "$tmp/out" 2>&1 || {
  cat "$tmp/out" >&2; exit 1; }
if grep -q "s6-position.service" "$tmp/out"; then
  cat "$tmp/out" >&2
  exit 1
fi
echo "unit verified"
