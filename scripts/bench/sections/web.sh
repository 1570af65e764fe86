#!/usr/bin/env bash
# sections/web.sh OUT: the web section of BENCHMARKS.md: rag-search serve
# over a 10,000-image index made with the tiny model (100,000 with FULL=1):
# first byte of the page and search round trips. Run it through
# scripts/bench.sh. RUNS=N server processes (default 3), REQUESTS=N
# requests per measurement (default 200).
set -euo pipefail
cd "$(dirname "$0")/../../.."

out=${1:?usage: sections/web.sh OUT}
n=10000
[ "${FULL:-0}" = 1 ] && n=100000

if [ -z "${ONNXRUNTIME_LIB:-}" ]; then
  eval "export $(scripts/onnxruntime.sh)"
fi
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/cliprag-webbench.XXXXXX")
trap 'rm -rf "$work"' EXIT

go build -o "$work/" ./cmd/rag-ingest ./cmd/rag-search
go build -o "$work/bench" ./scripts/bench
go build -o "$work/webbench" ./scripts/bench/web
echo "bench.sh: drawing $n images" >&2
"$work/bench" gen-small -dir "$work/images" -n "$n"
printf '%s\n' circle square triangle cross >"$work/tags.txt"
"$work/rag-ingest" -model tiny-shapes -store "$work/index" -tags "$work/tags.txt" -quiet "$work/images"
invocation="scripts/bench.sh web"
[ "${FULL:-0}" = 1 ] && invocation="scripts/bench.sh --full web"
"$work/webbench" -rag-search "$work/rag-search" -store "$work/index" -runs "${RUNS:-3}" -n "${REQUESTS:-200}" \
  -invocation "$invocation" -out "$out"
