#!/usr/bin/env bash
# Generates src/generated from proto/ with buf (shipped as an npm package, so no protoc install).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
buf generate
