#!/usr/bin/env bash
# Kill test of cluster mode: TestClusterCrash with many cycles. Three etcd
# members (in the test process) and three `computescale serve --etcd-endpoints`
# processes; each cycle ingests through every node while a random node is
# SIGKILLed or a random etcd member stopped, then restarts it, and checks that
# etcd holds every acknowledged batch whole and none in part, and that every
# node serves the same totals counting exactly etcd's records.
#
#   scripts/crash-cluster.sh [CYCLES]          default 20
#   COMPUTESCALE_CRASH_SEED=N scripts/crash-cluster.sh   replays a run's choices
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-20}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$(date +%s)
status=0
COMPUTESCALE_CLUSTER_CRASH_CYCLES="$cycles" go test -run '^TestClusterCrash$' -count=1 -v -timeout 30m \
  ./cmd/computescale >"$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))

grep -E 'crash( summary)?:' "$log" | sed -E 's/^ *cluster_crash_test\.go:[0-9]+: //' || true
if [ "$status" -ne 0 ]; then
  echo "== FAIL after ${elapsed}s; the end of the test output:" >&2
  tail -n 60 "$log" >&2
  exit "$status"
fi
echo "== PASS: $cycles cluster crash cycles in ${elapsed}s (including building the binary)"
