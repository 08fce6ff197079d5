# Shared by scripts/crash.sh and scripts/crash-cluster.sh (sourced, not run).
#
# run_crash_test TEST CYCLES_VAR CYCLES WHAT runs the Go test TEST of
# ./cmd/computescale with CYCLES_VAR=CYCLES, prints the test's crash and
# summary lines, and on failure the end of its output and the test's status.
run_crash_test() {
  local test="$1" var="$2" cycles="$3" what="$4"
  local log start elapsed status=0
  log="$(mktemp)"
  # shellcheck disable=SC2064 # $log is expanded now, on purpose
  trap "rm -f '$log'" EXIT
  start=$(date +%s)
  env "$var=$cycles" go test -run "^$test\$" -count=1 -v -timeout 30m \
    ./cmd/computescale >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - start ))

  grep -E 'crash( summary)?:' "$log" | sed -E 's/^ *[a-z_]+_test\.go:[0-9]+: //' || true
  if [ "$status" -ne 0 ]; then
    echo "== FAIL after ${elapsed}s; the end of the test output:" >&2
    tail -n 60 "$log" >&2
    exit "$status"
  fi
  echo "== PASS: $cycles $what cycles in ${elapsed}s (including building the binary)"
}
