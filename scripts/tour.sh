#!/usr/bin/env bash
# tour.sh: run every console session (```console blocks) of README.md and
# the examples' READMEs with freshly built commands, and rewrite the outputs
# shown in them with what the commands print now; files the sessions write
# into docs/ (contact sheets) are copied back. `go test ./internal/tour`
# (part of scripts/test.sh) fails when a document no longer matches, so run
# this after changing what a documented command prints, and review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "export $(scripts/onnxruntime.sh)"
eval "export $(scripts/ocrmodels.sh)" # the OCR sessions (<!-- tour: ocr -->)
go test -count=1 -run 'TestDocs$' ./internal/tour -args -update
git --no-pager diff --stat -- README.md examples docs || true
