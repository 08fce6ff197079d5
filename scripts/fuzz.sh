#!/usr/bin/env bash
# Runs every fuzz target of the module for a while each, one after another:
#
#   scripts/fuzz.sh [TIME]     TIME is a -fuzztime value (default 10s; 60s, 5000x)
#
# CI calls it with a short time. A failing input is saved by go test under the
# package's testdata/fuzz/<Target>/; once fixed, commit it as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-10s}"

failed=()
ran=0
# "dir/file_test.go:func FuzzName" for every fuzz target, in a stable order.
while IFS=: read -r file decl; do
  pkg="./$(dirname "${file#./}")"
  target="${decl#func }"
  echo "== $target in $pkg for $fuzztime"
  ran=$((ran + 1))
  if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
    failed+=("$target")
  fi
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sort)

if [ "$ran" -eq 0 ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "== $ran fuzz targets, FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "== $ran fuzz targets, $fuzztime each: no failures"
