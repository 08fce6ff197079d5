#!/usr/bin/env bash
# Makes the README's dashboard screenshots in docs/screenshots/: the demo
# server, then headless Chromium on the dashboard (dashboard.png), again
# after an ingest of 50,000 eight-GPU servers to Xizang (after-ingest.png)
# and on Guangdong's page (province.png). Tests never write there; run this
# when the dashboard changes, look at the images, and commit them.
#
#   scripts/screenshots.sh [OUT_DIR]    default docs/screenshots
#
# Needs Chromium (apt-get install -y chromium fonts-wqy-microhei); the
# browser is driven by ./scripts/screenshots (chromedp), which waits for each
# page's charts before it shoots.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/screenshots}"

work="$(mktemp -d)"
demo_pid=""
cleanup() {
  [ -z "$demo_pid" ] || kill "$demo_pid" 2>/dev/null || true
  [ -z "$demo_pid" ] || wait "$demo_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/computescale" ./cmd/computescale
# Free ports (the demo prints the ones it got), so that a demo already
# running is left alone.
"$work/computescale" demo --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --db "$work/demo.db" --log-level warn >"$work/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 1 120); do
  grep -q '^dashboard: ' "$work/demo.out" && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.out" >&2; exit 1; }
  sleep 0.5
done
grep -q '^dashboard: ' "$work/demo.out" || { echo "screenshots: the demo did not start in 60 s" >&2; cat "$work/demo.out" >&2; exit 1; }
grpc_addr=$(awk '$1 == "serving" && $2 == "on" {print $3}' "$work/demo.out")
web_addr=$(sed -n 's|^dashboard: http://\([^/]*\)/.*|\1|p' "$work/demo.out")
reader=$(awk '$1 == "reader" {print $2}' "$work/demo.out")
vendor=$(awk '$1 == "vendor" {print $2}' "$work/demo.out")

shots() { go run ./scripts/screenshots -base "http://$web_addr" -token "$reader" -out "$out" "$@"; }

shots dashboard.png=/='#ranking g.bar'
printf 'record_id,province,year,quarter,class,units,components\nscreenshots-1,CN-XZ,2024,4,ai,50000,2*intel-xeon-platinum-8480p;8*nvidia-h20\n' >"$work/xizang.csv"
"$work/computescale" ingest "$work/xizang.csv" --addr "$grpc_addr" --token "$vendor" >/dev/null
shots after-ingest.png=/='#ranking g.bar' province.png=/province/440000='#province svg.ranking'
