#!/usr/bin/python3
"""Generate embed/preprocess/testdata/matrix: one small file per format x
Pillow mode x size, each with the tensor Pillow + torchvision make of it.

Run with Debian's Python (Pillow 9 + torchvision) after
`apt-get install libheif-examples libavif-bin`:

    /usr/bin/python3 scripts/make_format_fixtures.py

For every case NAME the script writes NAME (the input) and NAME.ref.png, a
2S x S RGB picture: on the left the centre-crop reference, on the right the
squash reference, each the 8-bit RGB image torchvision's pipeline has just
before ToTensor:

  centre crop  Resize(S, BICUBIC), CenterCrop(S), convert('RGB')   (OpenAI CLIP)
  squash       Resize((S, S), BICUBIC), convert('RGB')             (Chinese-CLIP)

ToTensor and Normalize are exact float32 arithmetic on those bytes, so the
Go test normalises them itself: the 8-bit picture is the whole reference,
and a PNG of it is far smaller than the float tensor.

Sizes are chosen around the model input S (a side equal to S, one above,
one below) and far from it (larger and smaller). S is 32 for the format x
mode matrix (the code paths do not depend on S) and 224, the real model
input, for a few modes.

Where the reference is not plain Pillow:
  * orientation cases apply ImageOps.exif_transpose first (cliprag applies
    EXIF orientation on purpose; the reference pipeline ignores it), except
    TIFF, which Pillow 9 already turns by its Orientation tag on load;
  * HEIC and AVIF: Pillow 9 cannot open them, so the reference is libheif's
    decode (heif-convert, which applies irot/imir) opened by Pillow;
  * "I;16" TIFF: Pillow 9 cannot resize mode I;16 ("image has wrong mode"),
    so the reference converts it to "I" first, which is what a user of the
    reference pipeline has to do (and what a 16-bit PNG opens as);
  * camera RAW: the reference is the embedded JPEG preview, transposed by
    the RAW file's orientation.
The images are synthetic and deterministic.
"""

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_preprocess_fixtures import write_png16  # noqa: E402  (16-bit PNGs, which Pillow cannot save)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "embed", "preprocess", "testdata", "matrix")


def photo(w, h, seed, noise=4):
    """Photo-like RGB: gradients, discs, stripes, mild noise."""
    r = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    img[..., 0] = 255 * x / max(w - 1, 1)
    img[..., 1] = 255 * y / max(h - 1, 1)
    img[..., 2] = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    for _ in range(5):
        cx, cy, rad = r.uniform(0, w), r.uniform(0, h), r.uniform(0.1, 0.4) * min(w, h) + 1
        img[(x - cx) ** 2 + (y - cy) ** 2 < rad ** 2] = r.uniform(0, 255, 3)
    img[(x.astype(int) // 2) % 5 == 0] *= 0.7  # fine stripes
    img += r.normal(0, noise, img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def reference(im, s, centre):
    if centre:
        t = T.Compose([T.Resize(s, interpolation=InterpolationMode.BICUBIC), T.CenterCrop(s)])
    else:
        t = T.Resize((s, s), interpolation=InterpolationMode.BICUBIC)
    out = t(im).convert("RGB")
    assert out.size == (s, s), out.size
    return np.asarray(out)


# ---- writers for what Pillow cannot save -------------------------------

def exif_bytes(orientation):
    ex = Image.Exif()
    ex[0x0112] = orientation
    return ex.tobytes()


def grey_bmp(path, arr, colours):
    """An 8-bit BMP whose palette is the grey ramp 0..colours-1 (Pillow opens it as "L")."""
    h, w = arr.shape
    row = (w + 3) & ~3
    pal = b"".join(bytes([i, i, i, 0]) for i in range(colours))
    pix = b"".join(arr[y].tobytes() + b"\x00" * (row - w) for y in range(h - 1, -1, -1))
    off = 14 + 40 + len(pal)
    hdr = b"BM" + struct.pack("<IHHI", off + len(pix), 0, 0, off)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 8, 0, len(pix), 2835, 2835, colours, 0)
    with open(path, "wb") as f:
        f.write(hdr + info + pal + pix)


# ---- HEIF: add irot/imir to the primary item ----------------------------

def _boxes(b, start, end):
    out, p = [], start
    while p + 8 <= end:
        size, typ = struct.unpack(">I4s", b[p:p + 8])
        hdr = 8
        if size == 1:
            size, hdr = struct.unpack(">Q", b[p + 8:p + 16])[0], 16
        elif size == 0:
            size = end - p
        out.append((typ.decode("latin1"), p, hdr, size))
        p += size
    return out


def heif_add_transforms(data, irot=None, imir=None):
    """Associate irot (0-3, anticlockwise quarter turns) and/or imir (0 top-to-bottom,
    1 left-to-right) with the primary item, irot first; iloc offsets are fixed."""
    b = bytearray(data)
    meta = next(x for x in _boxes(b, 0, len(b)) if x[0] == "meta")
    mstart, mend = meta[1] + meta[2] + 4, meta[1] + meta[3]
    inner = _boxes(b, mstart, mend)
    pitm = next(x for x in inner if x[0] == "pitm")
    pp = pitm[1] + pitm[2]
    primary = struct.unpack(">H", b[pp + 4:pp + 6])[0] if b[pp] == 0 else struct.unpack(">I", b[pp + 4:pp + 8])[0]
    iprp = next(x for x in inner if x[0] == "iprp")
    kids = _boxes(b, iprp[1] + iprp[2], iprp[1] + iprp[3])
    ipco = next(x for x in kids if x[0] == "ipco")
    ipma = next(x for x in kids if x[0] == "ipma")
    assert ipma[1] > ipco[1]
    nprops = len(_boxes(b, ipco[1] + ipco[2], ipco[1] + ipco[3]))
    props, idx = b"", []
    for typ, val in ((b"irot", irot), (b"imir", imir)):
        if val is not None:
            props += struct.pack(">I4sB", 9, typ, val)
            nprops += 1
            idx.append(nprops)
    d = bytes(b[ipma[1] + ipma[2]:ipma[1] + ipma[3]])
    version, flags = d[0], d[3]
    n = struct.unpack(">I", d[4:8])[0]
    pos, out = 8, bytearray(d[:8])
    w = 2 if flags & 1 else 1
    for _ in range(n):
        isz = 2 if version < 1 else 4
        ib = d[pos:pos + isz]
        item = int.from_bytes(ib, "big")
        pos += isz
        count = d[pos]
        pos += 1
        assoc = d[pos:pos + count * w]
        pos += count * w
        if item == primary:
            for i in idx:
                assoc += struct.pack(">H", 0x8000 | i) if w == 2 else bytes([0x80 | i])
            count += len(idx)
        out += ib + bytes([count]) + assoc
    new_ipma = struct.pack(">I4s", 8 + len(out), b"ipma") + bytes(out)
    delta = len(props) + len(new_ipma) - ipma[3]
    b[ipma[1]:ipma[1] + ipma[3]] = new_ipma
    b[ipco[1] + ipco[3]:ipco[1] + ipco[3]] = props
    for bx, by in ((ipco, len(props)), (iprp, delta), (meta, delta)):
        assert bx[2] == 8
        b[bx[1]:bx[1] + 4] = struct.pack(">I", struct.unpack(">I", b[bx[1]:bx[1] + 4])[0] + by)
    iloc = next(x for x in _boxes(b, mstart, mend + delta) if x[0] == "iloc")
    p = iloc[1] + iloc[2]
    v = b[p]
    p += 4
    osz, lsz = b[p] >> 4, b[p] & 15
    bsz, isz = b[p + 1] >> 4, (b[p + 1] & 15 if v in (1, 2) else 0)
    p += 2
    count = struct.unpack(">H", b[p:p + 2])[0] if v < 2 else struct.unpack(">I", b[p:p + 4])[0]
    p += 2 if v < 2 else 4
    rd = lambda p, n: int.from_bytes(b[p:p + n], "big") if n else 0
    for _ in range(count):
        p += 2 if v < 2 else 4
        method = 0
        if v in (1, 2):
            method = b[p + 1] & 15
            p += 2
        p += 2
        base, bpos = rd(p, bsz), p
        p += bsz
        if method == 0 and bsz and base > meta[1]:
            b[bpos:bpos + bsz] = (base + delta).to_bytes(bsz, "big")
        ext = struct.unpack(">H", b[p:p + 2])[0]
        p += 2
        for _ in range(ext):
            p += isz
            o = rd(p, osz)
            if method == 0 and osz and not bsz and o > meta[1]:
                b[p:p + osz] = (o + delta).to_bytes(osz, "big")
            p += osz + lsz
    return bytes(b)


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def heif_reference(path):
    """libheif's decode (irot/imir applied) as a Pillow image."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.png")
        run("heif-convert", path, out)
        im = Image.open(out)
        im.load()
        return im


# ---- camera RAW: TIFF structures around a JPEG preview -------------------

def tiff_file(ifds, sig=b"", order="<"):
    """Build a TIFF. ifds is a list of dicts tag -> (type, value); value is an int, a
    list of ints, bytes (type 1/7 or ASCII 2) or ("blob", bytes) for an offset to data
    (with the tag+1 byte-count convention handled by the caller), or ("ifds", [dict]) for
    SubIFDs. Returns the file bytes."""
    out = bytearray(b"II*\x00" if order == "<" else b"MM\x00*")
    out += struct.pack(order + "I", 0)
    out += sig
    patches = []  # (position, kind, payload)

    def put_ifd(ifd):
        start = len(out)
        tags = sorted(ifd)
        out.extend(struct.pack(order + "H", len(tags)))
        for tag in tags:
            typ, val = ifd[tag]
            size = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1}[typ]
            if isinstance(val, tuple):
                kind, payload = val
                count = len(payload) if kind == "ifds" else len(payload) if typ in (1, 2, 7) else 1
                if kind == "blob":
                    count = 1
                    typ = 4
                out.extend(struct.pack(order + "HHI", tag, typ, count))
                patches.append((len(out), kind, payload))
                out.extend(b"\x00\x00\x00\x00")
                continue
            if isinstance(val, bytes):
                data = val
                count = len(val)
            else:
                vals = val if isinstance(val, list) else [val]
                data = b"".join(struct.pack(order + {2: "H", 4: "I", 1: "B"}[size], v) for v in vals)
                count = len(vals)
            out.extend(struct.pack(order + "HHI", tag, typ, count))
            if len(data) <= 4:
                out.extend(data.ljust(4, b"\x00"))
            else:
                patches.append((len(out), "bytes", data))
                out.extend(b"\x00\x00\x00\x00")
        next_pos = len(out)
        out.extend(b"\x00\x00\x00\x00")
        return start, next_pos

    prev_next = 4
    for ifd in ifds:
        start, nxt = put_ifd(ifd)
        out[prev_next:prev_next + 4] = struct.pack(order + "I", start)
        prev_next = nxt
    while patches:
        pos, kind, payload = patches.pop(0)
        if kind == "ifds":
            offs = []
            for sub in payload:
                s, _ = put_ifd(sub)
                offs.append(s)
            blob = b"".join(struct.pack(order + "I", o) for o in offs)
            if len(offs) == 1:
                out[pos:pos + 4] = blob
                continue
            at = len(out)
            out.extend(blob)
            out[pos:pos + 4] = struct.pack(order + "I", at)
            continue
        if len(out) % 2:
            out.append(0)
        at = len(out)
        out.extend(payload)
        out[pos:pos + 4] = struct.pack(order + "I", at)
    return bytes(out)


def jpeg_bytes(im, quality=90):
    b = io.BytesIO()
    im.save(b, "JPEG", quality=quality)
    return b.getvalue()


def raw_file(kind, preview, thumb, orientation):
    """A RAW-like file of kind cr2/nef/arw/dng with preview (JPEG bytes) embedded
    the way that camera family stores it; the sensor data is a stub."""
    pw, ph = Image.open(io.BytesIO(preview)).size
    sensor = ("blob", b"\x00" * 64)
    if kind == "cr2":
        ifd0 = {0x100: (3, pw), 0x101: (3, ph), 0x103: (3, 6), 0x10F: (2, b"Canon\x00"),
                0x110: (2, b"Canon EOS\x00"), 0x111: ("blob", preview), 0x112: (3, orientation),
                0x117: (4, len(preview))}
        ifd0[0x111] = (4, ("blob", preview))
        ifd1 = {0x201: (4, ("blob", thumb)), 0x202: (4, len(thumb))}
        ifd3 = {0x103: (3, 6), 0x111: (4, sensor), 0x117: (4, 64)}
        return tiff_file([ifd0, ifd1, ifd3], sig=b"CR\x02\x00\x00\x00\x00\x00")
    if kind == "nef":
        sub_preview = {0xFE: (4, 1), 0x103: (3, 6), 0x201: (4, ("blob", preview)), 0x202: (4, len(preview))}
        sub_raw = {0xFE: (4, 0), 0x100: (4, 6000), 0x101: (4, 4000), 0x103: (3, 34713), 0x111: (4, sensor), 0x117: (4, 64)}
        ifd0 = {0xFE: (4, 1), 0x100: (4, 160), 0x101: (4, 120), 0x10F: (2, b"NIKON CORPORATION\x00"),
                0x112: (3, orientation), 0x14A: (4, ("ifds", [sub_preview, sub_raw]))}
        return tiff_file([ifd0], order=">")
    if kind == "arw":
        sub_raw = {0xFE: (4, 0), 0x100: (4, 6000), 0x101: (4, 4000), 0x103: (3, 32767), 0x111: (4, sensor), 0x117: (4, 64)}
        ifd0 = {0xFE: (4, 1), 0x103: (3, 6), 0x10F: (2, b"SONY\x00"), 0x112: (3, orientation),
                0x14A: (4, ("ifds", [sub_raw])), 0x201: (4, ("blob", preview)), 0x202: (4, len(preview))}
        ifd1 = {0x201: (4, ("blob", thumb)), 0x202: (4, len(thumb))}
        return tiff_file([ifd0, ifd1])
    if kind == "dng":
        tw, th = Image.open(io.BytesIO(thumb)).size
        rgb = Image.open(io.BytesIO(thumb)).convert("RGB").tobytes()
        sub_raw = {0xFE: (4, 0), 0x100: (4, 6000), 0x101: (4, 4000), 0x102: (3, 16), 0x103: (3, 7),
                   0x106: (3, 32803), 0x111: (4, sensor), 0x117: (4, 64)}
        sub_preview = {0xFE: (4, 1), 0x100: (4, pw), 0x101: (4, ph), 0x103: (3, 7), 0x106: (3, 6),
                       0x111: (4, ("blob", preview)), 0x117: (4, len(preview))}
        ifd0 = {0xFE: (4, 1), 0x100: (4, tw), 0x101: (4, th), 0x102: (3, [8, 8, 8]), 0x103: (3, 1),
                0x106: (3, 2), 0x10F: (2, b"Adobe\x00"), 0x111: (4, ("blob", rgb)), 0x112: (3, orientation),
                0x115: (3, 3), 0x117: (4, len(rgb)), 0x14A: (4, ("ifds", [sub_raw, sub_preview])),
                0xC612: (1, bytes([1, 4, 0, 0]))}
        return tiff_file([ifd0])
    raise ValueError(kind)


# ImageOps.exif_transpose's method for each EXIF orientation.
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}


# ---- the matrix ----------------------------------------------------------

def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for tool in ("heif-enc", "heif-convert", "avifenc"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} missing: apt-get install libheif-examples libavif-bin")
    cases = []

    def add(name, size, build, s=32, lossy=False, transpose=False, ref=None, note=""):
        """build(path, rgb) writes the input; ref(path) returns the reference image."""
        path = os.path.join(OUT, name)
        seed = sum(map(ord, name))
        build(path, photo(size[0], size[1], seed, noise=4 if s < 100 else 0))
        if ref is not None:
            im = ref(path)
        else:
            im = Image.open(path)
            im.load()
        mode = im.mode
        if transpose:
            im = ImageOps.exif_transpose(im)
        pair = np.concatenate([reference(im, s, True), reference(im, s, False)], axis=1)
        Image.fromarray(pair).save(path + ".ref.png", optimize=True)
        cases.append({"file": name, "mode": mode, "size": list(size), "oriented_size": list(im.size),
                      "model_size": s, "lossy": lossy, "note": note})
        print(f"{name}: {mode} {size} -> {im.size}", file=sys.stderr)

    def pil(mode_fn, fmt=None, **kw):
        return lambda p, a: mode_fn(Image.fromarray(a)).save(p, fmt, **kw)

    grey = lambda i: i.convert("L")
    quant = lambda n: (lambda i: i.quantize(colors=n, method=Image.Quantize.MEDIANCUT))

    def with_alpha(mode):
        def f(i):
            a = np.asarray(i)
            h, w = a.shape[:2]
            alpha = np.tile(np.linspace(30, 255, w), (h, 1)).round().astype(np.uint8)
            alpha[: h // 4, : w // 4] = 0
            if mode == "LA":
                return Image.fromarray(np.dstack([np.asarray(i.convert("L")), alpha]), "LA")
            return Image.fromarray(np.dstack([a, alpha]), "RGBA")
        return f

    def i16(p, a, fmt):
        v = (a[..., 0].astype(np.uint16) * 256 + a[..., 1]).astype(np.uint16)  # full 16-bit range
        if fmt == "png":
            write_png16(p, v, 0)
        else:
            Image.fromarray(v, "I;16").save(p, "TIFF")

    def i16_ref(p):
        im = Image.open(p)
        im.load()
        return im.convert("I") if im.mode == "I;16" else im

    kinds = [
        # name, builder, lossy, ref
        ("png-rgb.png", pil(lambda i: i), False, None),
        ("png-rgba.png", pil(with_alpha("RGBA")), False, None),
        ("png-la.png", pil(with_alpha("LA")), False, None),
        ("png-l.png", pil(grey), False, None),
        ("png-l2bit.png", lambda p, a: Image.fromarray(a).convert("L").save(p, bits=2), False, None),
        ("png-1.png", pil(lambda i: i.convert("L").convert("1")), False, None),
        ("png-p.png", pil(quant(64)), False, None),
        ("png-p-trns.png", lambda p, a: quant(64)(Image.fromarray(a)).save(p, transparency=3), False, None),
        ("png-rgb-trns.png", lambda p, a: Image.fromarray(a).save(p, transparency=tuple(int(v) for v in a[0, 0])), False, None),
        ("png-l-trns.png", lambda p, a: Image.fromarray(a).convert("L").save(p, transparency=int(a[0, 0].mean())), False, None),
        ("png-i16.png", lambda p, a: i16(p, a, "png"), False, None),
        ("png-rgb16.png", lambda p, a: write_png16(p, a.astype(np.uint16) * 257, 2), False, None),
        ("gif-p.gif", pil(quant(32)), False, None),
        ("gif-p-trns.gif", lambda p, a: quant(32)(Image.fromarray(a)).save(p, transparency=3), False, None),
        ("gif-l.gif", pil(grey), False, None),
        ("bmp-rgb.bmp", pil(lambda i: i), False, None),
        ("bmp-p.bmp", pil(quant(64)), False, None),
        ("bmp-p4.bmp", pil(quant(16)), False, None),
        ("bmp-l.bmp", lambda p, a: grey_bmp(p, np.asarray(Image.fromarray(a).convert("L")), 256), False, None),
        ("bmp-1.bmp", pil(lambda i: i.convert("L").convert("1")), False, None),
        ("bmp-rgba.bmp", pil(with_alpha("RGBA")), False, None),
        ("tiff-rgb.tiff", pil(lambda i: i, "TIFF", compression="tiff_lzw"), False, None),
        ("tiff-rgba.tiff", pil(with_alpha("RGBA"), "TIFF"), False, None),
        ("tiff-l.tiff", pil(grey, "TIFF"), False, None),
        ("tiff-la.tiff", pil(with_alpha("LA"), "TIFF"), False, None),
        ("tiff-1.tiff", pil(lambda i: i.convert("L").convert("1"), "TIFF"), False, None),
        ("tiff-p.tiff", pil(quant(64), "TIFF"), False, None),
        ("tiff-cmyk.tiff", pil(lambda i: i.convert("CMYK"), "TIFF", compression="tiff_lzw"), False, None),
        ("tiff-i16.tiff", lambda p, a: i16(p, a, "tiff"), False, i16_ref),
        ("webp-lossless.webp", pil(lambda i: i, "WEBP", lossless=True), False, None),
        ("webp-lossless-rgba.webp", pil(with_alpha("RGBA"), "WEBP", lossless=True), False, None),
        ("webp-lossy.webp", pil(lambda i: i, "WEBP", quality=90), True, None),
        ("webp-lossy-rgba.webp", pil(with_alpha("RGBA"), "WEBP", quality=90), True, None),
        ("jpeg-rgb.jpg", pil(lambda i: i, "JPEG", quality=92), True, None),
        ("jpeg-l.jpg", pil(grey, "JPEG", quality=92), True, None),
        ("jpeg-cmyk.jpg", pil(lambda i: i.convert("CMYK"), "JPEG", quality=92), True, None),
    ]

    def heif_case(ext, alpha=False, extra=()):
        def build(p, a):
            src = p + ".src.png"
            (with_alpha("RGBA")(Image.fromarray(a)) if alpha else Image.fromarray(a)).save(src)
            if ext == "heic":
                run("heif-enc", "-q", "90", "-o", p, src)
            else:
                run("avifenc", "-s", "8", "--min", "0", "--max", "10", *extra, src, p)
            os.remove(src)
        return build

    kinds += [
        ("heic-rgb.heic", heif_case("heic"), True, heif_reference),
        ("avif-rgb.avif", heif_case("avif"), True, heif_reference),
        ("avif-rgba.avif", heif_case("avif", alpha=True), True, heif_reference),
        ("avif-420.avif", heif_case("avif", extra=("-y", "420")), True, heif_reference),
    ]

    sizes = [("eq", (32, 40)), ("above", (33, 41)), ("below", (31, 39)), ("far", (72, 54)), ("tiny", (13, 9))]
    for name, build, lossy, ref in kinds:
        base, ext = os.path.splitext(name)
        for tag, size in sizes:
            if tag == "tiny" and ext in (".heic", ".avif"):
                continue
            add(f"{base}-{tag}{ext}", size, build, lossy=lossy, ref=ref)

    # The real model input: a side equal to 224, one above, one below.
    for name in ("png-rgb.png", "png-l.png", "png-rgba.png", "png-p.png", "png-i16.png", "bmp-l.bmp",
                 "jpeg-rgb.jpg"):
        build, lossy, ref = next((b, l, r) for n, b, l, r in kinds if n == name)
        base, ext = os.path.splitext(name)
        for tag, size in (("224", (224, 250)), ("225", (260, 225)), ("223", (223, 240))):
            add(f"{base}-s{tag}{ext}", size, build, s=224, lossy=lossy, ref=ref)

    # Orientation beyond JPEG: PNG eXIf, WebP EXIF, TIFF tag 274.
    for o in (3, 6, 8):
        add(f"orient{o}.png", (120, 90), lambda p, a, o=o: Image.fromarray(a).save(p, exif=exif_bytes(o)), transpose=True)
        add(f"orient{o}.webp", (120, 90), lambda p, a, o=o: Image.fromarray(a).save(p, "WEBP", lossless=True, exif=exif_bytes(o)), transpose=True)
        # Pillow 9 itself turns a TIFF by its Orientation tag when it loads it.
        add(f"orient{o}.tiff", (120, 90), lambda p, a, o=o: Image.fromarray(a).save(p, "TIFF", tiffinfo={0x0112: o}))
    add("orient5.tiff", (120, 90), lambda p, a: Image.fromarray(a).save(p, "TIFF", tiffinfo={0x0112: 5}))

    # HEIC and AVIF rotation and mirroring (irot/imir), in libheif's reading.
    for irot, imir in ((1, None), (3, None), (None, 0), (None, 1), (1, 1), (2, 0)):
        tag = "".join(f"-{k}{v}" for k, v in (("irot", irot), ("imir", imir)) if v is not None)

        def build(p, a, irot=irot, imir=imir, fmt="heic"):
            heif_case(fmt)(p, a)
            with open(p, "rb") as f:
                data = f.read()
            with open(p, "wb") as f:
                f.write(heif_add_transforms(data, irot, imir))

        add(f"heic{tag}.heic", (120, 90), build, lossy=True, ref=heif_reference)
        add(f"avif{tag}.avif", (120, 90), lambda p, a, b=build: b(p, a, fmt="avif"), lossy=True, ref=heif_reference)

    # Camera RAW: the embedded JPEG preview, oriented by the RAW's Orientation.
    for kind, o in (("cr2", 1), ("nef", 6), ("arw", 8), ("dng", 3)):
        def build(p, a, kind=kind, o=o):
            im = Image.fromarray(a)
            with open(p, "wb") as f:
                f.write(raw_file(kind, jpeg_bytes(im, 92), jpeg_bytes(im.resize((40, 30)), 80), o))

        def ref(p, o=o):
            a = photo(120, 90, sum(map(ord, os.path.basename(p))))
            im = Image.open(io.BytesIO(jpeg_bytes(Image.fromarray(a), 92)))
            im.load()
            return im.transpose(TRANSPOSE[o]) if o in TRANSPOSE else im

        add(f"camera.{kind}", (120, 90), build, lossy=True, ref=ref)

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"mean": (0.48145466, 0.4578275, 0.40821073), "std": (0.26862954, 0.26130258, 0.27577711),
                   "pillow": Image.__version__, "cases": cases}, f, indent=0)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"matrix: {len(cases)} cases, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
