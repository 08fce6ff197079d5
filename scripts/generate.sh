#!/usr/bin/env bash
# Regenerates the committed Go code from proto/ with the pinned local plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tools.sh
export PATH="$(go env GOPATH)/bin:$PATH"
# buf.gen.yaml cannot use clean: its out folder also holds the .proto sources.
find proto -name '*.pb.go' -delete
buf format -w
buf lint
buf generate
