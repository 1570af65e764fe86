#!/usr/bin/env bash
# sections/ingest-ocr.sh OUT: the ingest-ocr section of BENCHMARKS.md:
# rag-ingest with and without -ocr on the same folder (tools/testdata/twins:
# 40 rendered figures, 640×480, each with a Chinese title, an English
# caption and a legend), the tiny CLIP model, a fresh index each run; and
# -ocr turned on for an index made without it (text read, no embedding).
# RUNS=N runs of each (default 3; the median is reported). Run it through
# scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/../../.."

out=${1:?usage: sections/ingest-ocr.sh OUT}
runs=${RUNS:-3}
if [ -z "${ONNXRUNTIME_LIB:-}" ]; then
  eval "export $(scripts/onnxruntime.sh)"
fi
eval "export $(scripts/ocrmodels.sh)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/" ./cmd/rag-ingest
images=tools/testdata/twins
n=$(ls "$images"/*.png | wc -l)

# seconds RUN-ARGS...: one run into a fresh index; prints its duration.
seconds() {
  local store=$work/index-$RANDOM$RANDOM
  "$work/rag-ingest" -model tiny-shapes -store "$store" -quiet -json "$@" "$images" |
    python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["duration_seconds"])'
}
# later RUN-ARGS...: index without -ocr, then time a run with RUN-ARGS on it.
later() {
  local store=$work/index-$RANDOM$RANDOM
  "$work/rag-ingest" -model tiny-shapes -store "$store" -quiet "$images" >/dev/null
  "$work/rag-ingest" -model tiny-shapes -store "$store" -quiet -json "$@" "$images" |
    python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["duration_seconds"])'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

plain=() ocr=() added=()
for _ in $(seq "$runs"); do
  plain+=("$(seconds)")
  ocr+=("$(seconds -ocr -ocr-model "$CLIPRAG_OCR_MODELS")")
  added+=("$(later -ocr -ocr-model "$CLIPRAG_OCR_MODELS")")
done
mp=$(printf '%s\n' "${plain[@]}" | median)
mo=$(printf '%s\n' "${ocr[@]}" | median)
ma=$(printf '%s\n' "${added[@]}" | median)
load=$(cut -d' ' -f1-3 /proc/loadavg)
rate() { python3 -c "print(f'{$n/$1:.1f}')"; }
{
  echo "## Ingest with and without -ocr"
  echo
  echo "\`scripts/bench.sh ingest-ocr\`: rag-ingest on $n rendered figures (640×480, Chinese title, English caption, legend; tools/testdata/twins), tiny CLIP model (\`-model tiny-shapes\`), a fresh index each run, median of $runs runs; $(nproc) CPUs, load average $load while measuring (the machine is shared). OCR is PP-OCRv4 with its default settings (embed/ocr)."
  echo
  echo "| run | seconds | images/s | runs (s) |"
  echo "|---|---:|---:|---|"
  echo "| without -ocr | $mp | $(rate "$mp") | ${plain[*]} |"
  echo "| with -ocr | $mo | $(rate "$mo") | ${ocr[*]} |"
  echo "| -ocr on an index made without it (text read, nothing embedded) | $ma | $(rate "$ma") | ${added[*]} |"
  echo
  echo "With the tiny model the CLIP side costs next to nothing, so the -ocr rows are OCR's cost: about $(python3 -c "print(f'{$mo/$n:.2f}')") s per figure. The -ocr runs include loading the OCR models (once per run). A run without -ocr loads no OCR model and does no OCR work."
} >"$out"
