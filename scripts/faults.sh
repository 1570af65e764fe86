#!/usr/bin/env bash
# faults.sh: cliprag's fault suite (a few minutes): the commands run as real
# processes against hostile files, FIFOs, signals, 100-megapixel images
# and a Qdrant killed mid-ingest (internal/faults), with the kill tests
# that live beside the code they test: ingest and re-index killed at every
# write for both stores (tools/ingest) and the embedded store's crash
# safety (retriever/local). It sets up ONNX Runtime and Qdrant as
# scripts/test.sh does (scripts/test.sh runs these packages too).
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/test.sh "$@" ./internal/faults/ ./tools/ingest/ ./retriever/local/
