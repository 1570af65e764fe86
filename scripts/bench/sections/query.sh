#!/usr/bin/env bash
# sections/query.sh OUT: the query section of BENCHMARKS.md (issue 16, goal
# 2): encoding one text query, a query against a 10k index (local and
# Qdrant), and a whole `rag-search search` process (wall, peak RSS), with the
# ViT-B/32-architecture model, before and after the lazy towers. Run it
# through scripts/bench.sh.
#
# "before" is cliprag at BASE_REV (default: the commit before the change),
# exported with git archive into the work folder and built there together
# with this checkout's measuring program (scripts/bench/query, which uses only
# API both have); "after" is this checkout. Both run in the same loop, REPEAT
# times (default 3), so their ratios share the load. The random-weight
# ViT-B/32 comes from scripts/build_vit_b32.py (set VIT_DIR to use another
# copy). Qdrant is started with scripts/qdrant.sh on QDRANT_HTTP_PORT /
# QDRANT_GRPC_PORT (default 26333/26334) and stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$(pwd)

out=${1:?usage: sections/query.sh OUT}
repeat=${REPEAT:-3}
base=${BASE_REV:-dfb9169}
base=$(git rev-parse --short "$base")

if [ -z "${ONNXRUNTIME_LIB:-}" ]; then
  if [ -e /opt/onnxruntime/libonnxruntime.so.1 ]; then
    export ONNXRUNTIME_LIB=/opt/onnxruntime/libonnxruntime.so.1
  else
    eval "export $(scripts/onnxruntime.sh)"
  fi
fi

vit=${VIT_DIR:-$root/.cache/vit-b-32-random}
if [ ! -s "$vit/onnx/text_model.onnx" ]; then
  echo "bench.sh: building the random-weight ViT-B/32 into $vit" >&2
  /usr/bin/python3 scripts/build_vit_b32.py "$vit" >&2
fi

tmpbase=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && tmpbase=/dev/shm
work=$(mktemp -d "$tmpbase/cliprag-query.XXXXXX")
qdir=$work/qdrant
export QDRANT_HTTP_PORT=${QDRANT_HTTP_PORT:-26333} QDRANT_GRPC_PORT=${QDRANT_GRPC_PORT:-26334}
mkdir -p "$root/.cache"
cache=$(mktemp -d "$root/.cache/query-bench-cache.XXXXXX") # on disk, as a user's cache is
cleanup() {
  [ -d "$qdir" ] && scripts/qdrant.sh stop "$qdir" >/dev/null 2>&1 || true
  rm -rf "$work" "$cache"
}
trap cleanup EXIT
res=$work/results.jsonl
: >"$res"
# A fresh cache, so that the run that writes the text tower's optimised copy
# is measured as such.
export CLIPRAG_CACHE=$cache

echo "+ building after ($(git rev-parse --short HEAD)) and before ($base)" >&2
go build -o "$work/query-after" ./scripts/bench/query
go build -o "$work/rag-search-after" ./cmd/rag-search
mkdir -p "$work/before"
git archive "$base" | tar -x -C "$work/before"
mkdir -p "$work/before/scripts/bench/query"
cp scripts/bench/query/main.go "$work/before/scripts/bench/query/"
(cd "$work/before" && go build -o "$work/query-before" ./scripts/bench/query && go build -o "$work/rag-search-before" ./cmd/rag-search)

run() { echo "+ $*" >&2; "$@"; }

# Each build searches an index it wrote itself (the embedded store's file
# format moved on since BASE_REV; the vectors are the same seeded ones).
for b in before after; do
  run "$work/query-$b" fill -model "$vit" -store "$work/index-$b" -n 10000
done
mkdir -p "$qdir"
if [ -z "${QDRANT_BIN:-}" ] && [ -x "$root/.cache/qdrant/bin/qdrant" ]; then
  export QDRANT_BIN=$root/.cache/qdrant/bin/qdrant
fi
addr=$(scripts/qdrant.sh start "$qdir" | sed -n 's/^CLIPRAG_QDRANT_ADDR=//p')
qspec="qdrant://$addr/bench_query"
run "$work/query-after" fill -model "$vit" -store "$qspec" -n 10000

q="a photo of a cat on a sofa"
run "$work/query-after" process -bin "$work/rag-search-after" -label "after, first run (writes the copy)" -model "$vit" -runs 1 -out "$res" -- \
  search --model "$vit" --store "$work/index-after" --top-k 5 "$q"
for rep in $(seq "$repeat"); do
  for b in before after; do
    run "$work/query-$b" encode -model "$vit" -label "$b" -n 100 -out "$res"
    run "$work/query-$b" search -model "$vit" -store "$work/index-$b" -label "$b" -n 100 -out "$res"
    run "$work/query-$b" search -model "$vit" -store "$qspec" -label "$b" -n 100 -out "$res"
    run "$work/query-after" process -bin "$work/rag-search-$b" -label "$b" -model "$vit" -runs 1 -out "$res" -- \
      search --model "$vit" --store "$work/index-$b" --top-k 5 "$q"
  done
done

"$work/query-after" report -results "$res" -base "$base" -invocation "scripts/bench.sh query" >"$out.tmp"
mv "$out.tmp" "$out"
