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

# shellcheck source=scripts/crashlib.sh
source scripts/crashlib.sh
run_crash_test TestClusterCrash COMPUTESCALE_CLUSTER_CRASH_CYCLES "$cycles" "cluster crash"
