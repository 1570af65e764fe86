#!/usr/bin/env bash
# sections/formats.sh OUT: the formats section of BENCHMARKS.md: decode +
# preprocess time of one 12-megapixel photo (4032×3024) stored as JPEG,
# HEIC and AVIF. Run it through scripts/bench.sh.
#
# It draws the photo with /usr/bin/python3 (Pillow; photo-like: gradients,
# discs, fine stripes, sensor-like noise), writes the JPEG with Pillow
# (quality 90, 4:2:0), the HEIC with heif-enc (libheif-examples, quality
# 80) and the AVIF with avifenc (libavif-bin, speed 8), builds
# scripts/benchformats (pure Go, and -tags libjpeg when the libjpeg-turbo
# headers are installed) and runs it. ROUNDS=N sets the timed rounds
# (default 5; FULL=1: 9).
set -euo pipefail
cd "$(dirname "$0")/../../.."

out=${1:?usage: sections/formats.sh OUT}
rounds=${ROUNDS:-5}
[ "${FULL:-0}" = 1 ] && rounds=${ROUNDS:-9}
for tool in heif-enc avifenc; do
  command -v "$tool" >/dev/null || { echo "formats.sh: $tool missing (apt-get install libheif-examples libavif-bin)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 - "$work" <<'PY'
import sys
import numpy as np
from PIL import Image
out = sys.argv[1]
w, h = 4032, 3024
r = np.random.RandomState(12)
y, x = np.mgrid[0:h, 0:w].astype(np.float32)
img = np.zeros((h, w, 3), np.float32)
img[..., 0] = 255 * x / w
img[..., 1] = 255 * y / h
img[..., 2] = 128 + 100 * np.sin(x / 37) * np.cos(y / 53)
for _ in range(40):
    cx, cy, rad = r.uniform(0, w), r.uniform(0, h), r.uniform(50, 700)
    img[(x - cx) ** 2 + (y - cy) ** 2 < rad ** 2] = r.uniform(0, 255, 3)
img[(x.astype(int) // 3) % 7 == 0] *= 0.85
img += r.normal(0, 2, img.shape)
im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
im.save(f"{out}/photo.png")
im.save(f"{out}/photo.jpg", quality=90)
PY
heif-enc -q 80 -o "$work/photo.heic" "$work/photo.png" >/dev/null
avifenc -s 8 -j "$(nproc)" "$work/photo.png" "$work/photo.avif" >/dev/null

go build -o "$work/bench-default" ./scripts/benchformats
builds=(default)
if [ -f /usr/include/jpeglib.h ] || [ -f /usr/include/x86_64-linux-gnu/jpeglib.h ]; then
  go build -tags libjpeg -o "$work/bench-libjpeg" ./scripts/benchformats
  builds+=(libjpeg)
fi

{
  echo "## Formats: a 12 MP photo as JPEG, HEIC and AVIF"
  echo
  echo "Decode, and decode + preprocess (CLIP's 224-pixel centre crop, what ingest does per file), of one"
  echo "4032×3024 photo-like picture stored three ways. HEIC and AVIF are decoded in WebAssembly"
  echo "(github.com/gen2brain/heic and .../avif run by wazero: no cgo, no system library); the first"
  echo "call includes compiling the decoder, once per process. The median of $rounds rounds, one core per"
  echo "decode (ingest runs one decode per core)."
  echo
  for b in "${builds[@]}"; do
    case "$b" in
      default) echo "Pure-Go build (JPEG by image/jpeg, at full size):" ;;
      libjpeg) echo "\`-tags libjpeg\` build (JPEG by libjpeg-turbo, DCT-scaled to the model's need):" ;;
    esac
    echo
    "$work/bench-$b" -rounds "$rounds" "$work/photo.jpg" "$work/photo.heic" "$work/photo.avif"
    echo
  done
  echo "For comparison, native libheif (Debian's, with libde265, every core) decoding the same HEIC with"
  echo "\`heif-convert photo.heic photo.y4m\` (which also writes the 18 MB .y4m): median of 3 runs"
  for i in 1 2 3; do
    /usr/bin/time -f %e heif-convert "$work/photo.heic" "$work/photo.y4m" 2>&1 >/dev/null | tail -1
  done | sort -n | sed -n 2p | sed 's/$/ s./'
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), libheif $(heif-enc --help 2>&1 | sed -n 's/.*libheif version: *//p' | head -1) and"
  echo "libavif $(avifenc --version 2>&1 | sed -n 's/^Version: *\([^ ]*\).*/\1/p' | head -1) for encoding. Command: \`scripts/bench.sh formats\`."
} >"$out.tmp"
mv "$out.tmp" "$out"
