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

# shellcheck source=scripts/crashlib.sh
source scripts/crashlib.sh
run_crash_test TestCrashRecovery COMPUTESCALE_CRASH_CYCLES "$cycles" "crash"
