#!/usr/bin/env bash
# Generates src/generated from proto/ with buf (shipped as an npm package, so no protoc install).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
buf generate
# A descriptor set of the contract with its imports, for gRPC server reflection (grpcurl).
buf build -o src/generated/ledger.binpb
