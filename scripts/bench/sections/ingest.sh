#!/usr/bin/env bash
# sections/ingest.sh OUT: the ingest section of BENCHMARKS.md (decode, model,
# end-to-end, memory for 1k and 10k files; with FULL=1 also the memory of a
# 100k-file run). Run it through scripts/bench.sh.
#
# It builds scripts/bench twice (the plain build, which loads libturbojpeg at
# run time when it is installed, and -tags libjpeg when the libjpeg-turbo
# headers are installed), generates the images in a temporary
# folder (on /dev/shm when it exists; nothing is committed), builds the
# random-weight ViT-B/32 with scripts/build_vit_b32.py when
# .cache/vit-b-32-random is missing (set VIT_DIR to use another copy), runs
# every measurement, and renders the section. SECONDS_PER=N sets the minimum
# time of each rate measurement (default 3); REPEAT=N how many times each
# end-to-end case runs (default 3; the report shows the median run).
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$(pwd)

out=${1:?usage: sections/ingest.sh OUT}
full=${FULL:-0}
args=""
[ "$full" = 1 ] && args="--full"
secs=${SECONDS_PER:-3}

if [ -z "${ONNXRUNTIME_LIB:-}" ]; then
  if [ -e /opt/onnxruntime/libonnxruntime.so.1 ]; then
    export ONNXRUNTIME_LIB=/opt/onnxruntime/libonnxruntime.so.1
  else
    eval "export $(scripts/onnxruntime.sh)"
  fi
fi

vit=${VIT_DIR:-$root/.cache/vit-b-32-random}
if [ ! -s "$vit/onnx/vision_model.onnx" ]; then
  echo "bench.sh: building the random-weight ViT-B/32 into $vit" >&2
  /usr/bin/python3 scripts/build_vit_b32.py "$vit" >&2
fi

base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/cliprag-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
res=$work/results.jsonl
cmds=$work/commands.txt
: >"$res"

go build -o "$work/bench-default" ./scripts/bench
builds=(default)
if [ -f /usr/include/jpeglib.h ] || [ -f /usr/include/x86_64-linux-gnu/jpeglib.h ]; then
  go build -tags libjpeg -o "$work/bench-libjpeg" ./scripts/bench
  builds+=(libjpeg)
else
  echo "bench.sh: no libjpeg-turbo headers (apt-get install libjpeg62-turbo-dev): pure-Go build only" >&2
fi
last=${builds[-1]}
{
  echo "go build -o \$W/bench-default ./scripts/bench"
  [ "$last" = libjpeg ] && echo "go build -tags libjpeg -o \$W/bench-libjpeg ./scripts/bench"
} >>"$cmds"

# run logs a command (with the work folder written as $W and the ViT folder
# as $VIT) and runs it.
run() {
  local line="$*"
  line=${line//$work/\$W}
  line=${line//$vit/\$VIT}
  echo "$line" >>"$cmds"
  echo "+ $line" >&2
  "$@"
}

B=$work/bench-default
run "$B" gen-small -dir "$work/small" -n 512
run "$B" gen-big -dir "$work/12mp" -n 64

# 1. Decode + preprocess alone; ms per 12 MP JPEG against image/jpeg.
for b in "${builds[@]}"; do
  run "$work/bench-$b" jpeg12mp -file "$work/12mp/photo-0000.jpg" -rounds 5 -out "$res"
  for d in small 12mp; do
    run "$work/bench-$b" decode -dir "$work/$d" -label "$d" -seconds "$secs" -out "$res"
  done
done

# 2. The model alone (the same in both builds).
for m in tiny-shapes "$vit"; do
  run "$work/bench-$last" model -model "$m" -batches 1,16 -seconds "$secs" -out "$res"
done

# 3. End to end, with decode alone and the model alone measured in the same
# process, REPEAT times (the report shows the median run). ViT-B/32 indexes
# the first 96 small images (512 would take minutes).
for rep in $(seq "${REPEAT:-3}"); do
for m in tiny-shapes "$vit"; do
  for d in small 12mp; do
    n=0
    [ "$m" = "$vit" ] && [ "$d" = small ] && n=96
    for b in "${builds[@]}"; do
      run "$work/bench-$b" ingest -model "$m" -dir "$work/$d" -files "$n" -label "$d" -compare -seconds "$secs" -out "$res"
    done
  done
done
# ViT-B/32 on 12 MP JPEGs with the cores split between decoding and the model.
if [ "$(nproc)" -ge 2 ]; then
  half=$(($(nproc) / 2))
  run "$work/bench-$last" ingest -model "$vit" -dir "$work/12mp" -label 12mp -workers "$half" -threads "$(($(nproc) - half))" -compare -seconds "$secs" -out "$res"
fi
done

# 4. Peak memory over 1k, 10k (and 100k) small files, one fresh process each.
sizes=(1000 10000)
[ "$full" = 1 ] && sizes+=(100000)
for n in "${sizes[@]}"; do
  run "$B" gen-tiny -dir "$work/tiny-$n" -n "$n"
  run "$work/bench-$last" ingest -model tiny-shapes -dir "$work/tiny-$n" -label "tiny96" -out "$res"
  rm -rf "${work:?}/tiny-$n"
done

invocation="scripts/bench.sh${args:+ $args} ingest"
"$work/bench-$last" report -results "$res" -commands "$cmds" -invocation "$invocation" >"$out.tmp"
mv "$out.tmp" "$out"
