#!/bin/sh
# make_font_subset.sh builds the CJK fallback font embedded in tools/sheet:
# Noto Sans CJK SC Regular (SIL OFL 1.1) cut down to ASCII, Latin-1,
# general punctuation, CJK symbols and punctuation, kana, full-width forms
# and the 3755 level-1 hanzi of GB2312, so contact sheets render Chinese
# labels and file names on machines without a CJK font.
#
# Needs fontTools' subsetter (pyftsubset) (Debian: python3-fonttools) and the Noto CJK
# collection (Debian: fonts-noto-cjk). Usage:
#
#	scripts/make_font_subset.sh [NotoSansCJK-Regular.ttc]
set -eu

src=${1:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/tools/sheet/fonts/NotoSansSC-subset.otf
# The Python that has fontTools: $PYTHON, else the system one (Debian's
# python3-fonttools installs into /usr/bin/python3, which a pyenv or venv
# python3 on PATH may hide).
py=${PYTHON:-}
if [ -z "$py" ]; then
	for p in python3 /usr/bin/python3; do
		if "$p" -c 'import fontTools.subset' >/dev/null 2>&1; then py=$p; break; fi
	done
fi

[ -f "$src" ] || { echo "make_font_subset: $src not found (apt-get install fonts-noto-cjk)" >&2; exit 1; }
[ -n "$py" ] || { echo "make_font_subset: no Python with fontTools found (apt-get install python3-fonttools, or set PYTHON)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Find the Simplified Chinese face in the collection.
index=$("$py" - "$src" <<'PY'
import sys
from fontTools.ttLib import TTCollection
for i, f in enumerate(TTCollection(sys.argv[1]).fonts):
    if f["name"].getDebugName(1) == "Noto Sans CJK SC":
        print(i)
        break
else:
    sys.exit("no 'Noto Sans CJK SC' face in " + sys.argv[1])
PY
)

# Code points: fixed ranges plus GB2312 level 1 (rows 0xB0-0xD7).
"$py" - > "$tmp/unicodes.txt" <<'PY'
ranges = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement
    (0x2000, 0x206F),  # general punctuation (… — ‘ ’ “ ”)
    (0x2190, 0x2193),  # arrows
    (0x2460, 0x2473),  # circled numbers
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # hiragana, katakana
    (0xFF01, 0xFF5E),  # full-width ASCII
    (0xFFE0, 0xFFE6),  # full-width signs
]
cps = set()
for lo, hi in ranges:
    cps.update(range(lo, hi + 1))
for b1 in range(0xB0, 0xD8):
    for b2 in range(0xA1, 0xFF):
        try:
            cps.add(ord(bytes([b1, b2]).decode("gb2312")))
        except UnicodeDecodeError:
            pass  # row 0xD7 ends at 0xF9
for cp in sorted(cps):
    print("U+%04X" % cp)
PY

"$py" -m fontTools.subset "$src" --font-number="$index" \
	--unicodes-file="$tmp/unicodes.txt" \
	--layout-features='kern,liga,locl,vert,halt,palt' \
	--name-IDs='*' --name-languages='*' \
	--no-hinting \
	--output-file="$out"
echo "wrote $out ($(wc -c < "$out") bytes, $(wc -l < "$tmp/unicodes.txt") code points)"
