#!/usr/bin/env bash
# Kill-and-restart test of durability: TestCrashRecovery with many cycles of
# `computescale serve` killed with SIGKILL mid-ingest on the same database,
# each followed by a check of the file (acknowledged batches whole, no batch in
# part, Verify clean). Prints each cycle and a summary.
#
#   scripts/crash.sh [CYCLES]          default 25
#   COMPUTESCALE_CRASH_SEED=N scripts/crash.sh   replays a run's kill points
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-25}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$(date +%s)
status=0
COMPUTESCALE_CRASH_CYCLES="$cycles" go test -run '^TestCrashRecovery$' -count=1 -v -timeout 30m \
  ./cmd/computescale >"$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))

grep -E 'crash( summary)?:' "$log" | sed -E 's/^ *crash_test\.go:[0-9]+: //' || true
if [ "$status" -ne 0 ]; then
  echo "== FAIL after ${elapsed}s; the end of the test output:" >&2
  tail -n 60 "$log" >&2
  exit "$status"
fi
echo "== PASS: $cycles crash cycles in ${elapsed}s (including building the binary)"
