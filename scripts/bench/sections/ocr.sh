#!/usr/bin/env bash
# sections/ocr.sh OUT: the ocr section of BENCHMARKS.md: embed/ocr's
# character error rate (Chinese and English apart), its time per image
# (detection and recognition apart) and per megapixel, against Tesseract 5
# (-l chi_sim+eng) on the same images, and its parity with the reference
# JavaScript pipeline (@gutenye/ocr-node). Run it through scripts/bench.sh.
#
# The images are rendered by scripts/ocr/gen_images.py (/usr/bin/python3
# with Pillow, the Debian fonts it names); scripts/ocr/bench (Go) runs
# embed/ocr and Tesseract and writes the Markdown; scripts/ocr/reference.sh
# runs the reference (Node and npm; installed into .cache/ocr-node on first
# use). The models come from scripts/ocrmodels.sh.
#
#   SCALE=N    images per kind × N (default 1: 120 images)
#   SUBSET=F   keep the first F (0–1] of the images of each kind (default
#              0.6: 74 images, 5–8 minutes on the shared 2-core machine at
#              load averages of 4–10; FULL=1: 1, all 120, about 17 minutes
#              at load 10)
#   ROUNDS=N   timed passes of embed/ocr (both settings) and of Tesseract, median per image
#              (default 3)
#   NOREF=1    leave the reference pipeline (and parity) out
set -euo pipefail
cd "$(dirname "$0")/../../.."

out=${1:?usage: sections/ocr.sh OUT}
scale=${SCALE:-1}
subset=${SUBSET:-0.6}
[ "${FULL:-0}" = 1 ] && subset=${SUBSET:-1}
rounds=${ROUNDS:-3}
command -v tesseract >/dev/null || { echo "ocr.sh: tesseract missing (apt-get install tesseract-ocr tesseract-ocr-chi-sim)" >&2; exit 1; }
tesseract --list-langs 2>/dev/null | grep -qx chi_sim || { echo "ocr.sh: Tesseract's chi_sim missing (apt-get install tesseract-ocr-chi-sim)" >&2; exit 1; }
/usr/bin/python3 -c 'import PIL' 2>/dev/null || { echo "ocr.sh: /usr/bin/python3 needs Pillow (apt-get install python3-pil)" >&2; exit 1; }
eval "export $(scripts/ocrmodels.sh)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

/usr/bin/python3 scripts/ocr/gen_images.py "$work/all" --scale "$scale" >&2
mkdir -p "$work/set"
/usr/bin/python3 - "$work/all" "$work/set" "$subset" <<'PY'
import json, math, os, sys
src, dst, frac = sys.argv[1], sys.argv[2], float(sys.argv[3])
rows = [json.loads(l) for l in open(os.path.join(src, "manifest.jsonl"), encoding="utf-8")]
kinds = {}
for r in rows:
    kinds.setdefault(r["kind"], []).append(r)
with open(os.path.join(dst, "manifest.jsonl"), "w", encoding="utf-8") as mf:
    for r in rows:
        keep = kinds[r["kind"]][:max(1, math.ceil(frac * len(kinds[r["kind"]])))]
        if r in keep:
            os.link(os.path.join(src, r["file"]), os.path.join(dst, r["file"]))
            mf.write(json.dumps(r, ensure_ascii=False) + "\n")
PY
n=$(wc -l <"$work/set/manifest.jsonl")
go build -o "$work/bench" ./scripts/ocr/bench

l0=$(load)
"$work/bench" ours -set "$work/set" -models "$CLIPRAG_OCR_MODELS" -out "$work/ours.jsonl" -threads 2 -repeat "$rounds"
l1=$(load)
# The same engine detecting at a larger scale (the reference detects at
# full size), for its CER, parity and cost.
"$work/bench" ours -set "$work/set" -models "$CLIPRAG_OCR_MODELS" -out "$work/ours1280.jsonl" -threads 2 -repeat "$rounds" -limit-side 1280
l1b=$(load)
"$work/bench" tesseract -set "$work/set" -out "$work/tess.jsonl" -threads 1 -repeat "$rounds"
l2=$(load)
ref=()
refnote="the reference pipeline was left out (NOREF=1)."
if [ "${NOREF:-0}" != 1 ]; then
  scripts/ocr/reference.sh "$work/set" "$work/ref.jsonl" >&2
  l3=$(load)
  ref=(-ref "$work/ref.jsonl")
  refnote="reference, one pass: $l2 → $l3."
fi

cat >"$work/commands" <<EOF
/usr/bin/python3 scripts/ocr/gen_images.py \$W/all --scale $scale   # then the first $subset of each kind: $n images in \$W/set
eval "export \$(scripts/ocrmodels.sh)"
go build -o \$W/bench ./scripts/ocr/bench
\$W/bench ours -set \$W/set -models \$CLIPRAG_OCR_MODELS -out \$W/ours.jsonl -threads 2 -repeat $rounds
\$W/bench ours -set \$W/set -models \$CLIPRAG_OCR_MODELS -out \$W/ours1280.jsonl -threads 2 -repeat $rounds -limit-side 1280
\$W/bench tesseract -set \$W/set -out \$W/tess.jsonl -threads 1 -repeat $rounds   # tesseract LIST OUT -l chi_sim+eng tsv
scripts/ocr/reference.sh \$W/set \$W/ref.jsonl
\$W/bench report -set \$W/set -ours \$W/ours.jsonl -tess \$W/tess.jsonl -ours2 \$W/ours1280.jsonl -ref \$W/ref.jsonl -threads 2
EOF

env="Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); a machine shared with other work), \
$(go version | cut -d' ' -f3), ONNX Runtime 1.24.3, $(tesseract --version 2>&1 | head -1). \
embed/ocr: 2 threads, $rounds passes, the median per image; Tesseract: one process per pass over a list of the images (models loaded once, \
before a warm-up page), OMP_THREAD_LIMIT=1 (with 2 OpenMP threads it ran several times slower on this loaded machine), $rounds passes, \
the median per image; the reference: onnxruntime-node's default threads, one pass. \
Load average (1, 5, 15 min) before and after each engine: embed/ocr $l0 → $l1; embed/ocr with LimitSide 1280 $l1 → $l1b; Tesseract $l1b → $l2; $refnote"

"$work/bench" report -set "$work/set" -ours "$work/ours.jsonl" -tess "$work/tess.jsonl" "${ref[@]}" -threads 2 \
  -ours2 "$work/ours1280.jsonl" -ours2-name "embed/ocr, LimitSide 1280" \
  -env "$env" -commands "$work/commands" >"$out.tmp"
mv "$out.tmp" "$out"
