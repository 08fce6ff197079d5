#!/usr/bin/env bash
# Installs the pinned code-generation and proto tools into $(go env GOPATH)/bin.
# Versions are pinned because the module proxy here is a filtered mirror where
# @latest can resolve to an old release (see ../shared/TOOLCHAIN.md).
set -euo pipefail
BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

bin="$(go env GOPATH)/bin"
have() { [ -x "$bin/$1" ] && "$bin/$1" --version 2>&1 | grep -q "${2#v}"; }

have buf "$BUF_VERSION" || go install "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
have protoc-gen-go "$PROTOC_GEN_GO_VERSION" || go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
have protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" || go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
