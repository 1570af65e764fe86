#!/usr/bin/env bash
# web-screenshots.sh: the README's screenshots of the web page
# (docs/web-search.png, docs/web-viewer.png), from a real run: builds
# rag-ingest and rag-search, indexes examples/ with the tiny model, serves
# the page and drives headless Chromium through a search and the viewer
# (scripts/webshot). Needs Debian's chromium and a CJK font for the Chinese
# file names (apt-get install chromium fonts-noto-cjk).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "export $(scripts/onnxruntime.sh)"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" ./cmd/rag-ingest ./cmd/rag-search
go run ./scripts/webshot -rag-ingest "$bin/rag-ingest" -rag-search "$bin/rag-search" -out docs
