#!/usr/bin/env bash
# sections/peers.sh OUT: the peers section of BENCHMARKS.md: end-to-end
# ingest speed of cliprag's default build against Transformers.js and
# PyTorch on the same photos with the same ViT-B/32 architecture (random
# weights), and ONNX Runtime's forward pass alone as the ceiling. Run it
# through scripts/bench.sh.
#
# Needs node + npm (Transformers.js is installed from
# scripts/bench/peers/package-lock.json into .cache/peers/tjs with npm ci)
# and Debian's python3-torch, python3-torchvision, python3-pil (plus
# libopenblas0-pthread: without it torch runs on the reference BLAS).
# Images are generated into a temporary folder (/dev/shm when it exists).
#
# ROUNDS=N rounds (default 3; each round runs every contender on both sets
# back to back, so load changes hit them alike; the report shows medians).
# SMALL=N / BIG=N: the sizes of the two sets (default 200 photos of 1–3 MP
# and 60 of 12 MP). PyTorch and the image/jpeg fallback, being slow here,
# run on the first TORCH_SMALL / TORCH_BIG files (defaults 32 / 16) and
# the one-at-a-time loop on the first ONE_SMALL / ONE_BIG (8 / 4): images/s is a per-image rate,
# and the report says how many files each figure took.
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$(pwd)

out=${1:?usage: sections/peers.sh OUT}
rounds=${ROUNDS:-3}
small=${SMALL:-200}
big=${BIG:-60}
tsmall=${TORCH_SMALL:-32}
tbig=${TORCH_BIG:-16}
osmall=${ONE_SMALL:-8}
obig=${ONE_BIG:-4}

if [ -z "${ONNXRUNTIME_LIB:-}" ]; then
  eval "export $(scripts/onnxruntime.sh)"
fi
vit=${VIT_DIR:-$root/.cache/vit-b-32-random}
if [ ! -s "$vit/onnx/vision_model.onnx" ]; then
  echo "peers.sh: building the random-weight ViT-B/32 into $vit" >&2
  /usr/bin/python3 scripts/build_vit_b32.py "$vit" >&2
fi
/usr/bin/python3 -c 'import torch, torchvision, PIL' || {
  echo "peers.sh: apt-get install python3-torch python3-torchvision python3-pil libopenblas0-pthread" >&2; exit 1; }

tjs=$root/.cache/peers/tjs
if ! cmp -s scripts/bench/peers/package-lock.json "$tjs/package-lock.json" || [ ! -d "$tjs/node_modules" ]; then
  echo "peers.sh: installing Transformers.js into $tjs" >&2
  rm -rf "$tjs" && mkdir -p "$tjs"
  cp scripts/bench/peers/package.json scripts/bench/peers/package-lock.json "$tjs/"
  # --ignore-scripts: onnxruntime-node's install script only fetches GPU
  # binaries; the CPU library ships in the package, as do sharp's.
  (cd "$tjs" && npm ci --ignore-scripts --no-audit --no-fund --silent) >&2
fi
cp scripts/bench/peers/tjs.mjs "$tjs/tjs.mjs" # resolves its imports next to node_modules

base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/cliprag-peers.XXXXXX")
trap 'rm -rf "$work"' EXIT
res=$work/results.jsonl
cmds=$work/commands.txt
: >"$res"

B=$work/bench
go build -o "$B" ./scripts/bench
echo "go build -o \$W/bench ./scripts/bench" >>"$cmds"

run() {
  local line="$*"
  line=${line//$work/\$W}
  line=${line//$vit/\$VIT}
  line=${line//$root\//}
  echo "$line" >>"$cmds"
  echo "+ $line" >&2
  "$@"
}
# peer runs a peer script and appends its JSON line, with the round, to the results.
peer() {
  local r=$1
  shift
  local line
  line=$(run "$@")
  echo "${line%\}},\"round\":$r}" >>"$res"
  echo "peers.sh: $line" >&2
}

run "$B" gen-photos -dir "$work/photos" -n "$small"
run "$B" gen-big -dir "$work/12mp" -n "$big"

for r in $(seq "$rounds"); do
  for d in photos 12mp; do
    n=$tsmall one=$osmall
    [ "$d" = 12mp ] && n=$tbig one=$obig
    # The ceiling and decode alone, right before the set's contenders.
    run "$B" model -model "$vit" -batches 16 -seconds 8 -label "$d" -round "$r" -out "$res"
    run "$B" decode -dir "$work/$d" -label "$d" -seconds 5 -round "$r" -out "$res"
    run "$B" ingest -model "$vit" -dir "$work/$d" -label "$d" -warmup -round "$r" -out "$res"
    BENCH_JPEG=go run "$B" ingest -model "$vit" -dir "$work/$d" -files "$n" -label "$d" -warmup -round "$r" -out "$res"
    peer "$r" node "$tjs/tjs.mjs" --model "$vit" --dir "$work/$d" --label "$d"
    peer "$r" /usr/bin/python3 scripts/bench/peers/torch_peer.py --mode dataloader --dir "$work/$d" --files "$n" --label "$d"
    peer "$r" /usr/bin/python3 scripts/bench/peers/torch_peer.py --mode single --dir "$work/$d" --files "$one" --label "$d"
  done
done

"$B" peers-report -results "$res" -commands "$cmds" -invocation "scripts/bench.sh peers" >"$out.tmp"
mv "$out.tmp" "$out"
