#!/usr/bin/python3
"""Generate embed/preprocess/testdata: small images in many formats and the
reference tensors Pillow + torchvision produce from them.

Run with Debian's Python (Pillow 9 + torchvision):

    /usr/bin/python3 scripts/make_preprocess_fixtures.py

Each image gets two float32 little-endian channel-major 3xSxS tensors
(S = SIZE below, kept small so the testdata stays small):

  NAME.center.f32  Resize(S, BICUBIC) + CenterCrop(S) + convert('RGB') + ToTensor + Normalize
  NAME.squash.f32  Resize((S, S), BICUBIC) + convert('RGB') + ToTensor + Normalize

exactly as OpenAI CLIP and Chinese-CLIP build their transforms. For JPEGs
carrying an EXIF orientation, the reference applies ImageOps.exif_transpose
first (cliprag applies the orientation on purpose; plain PIL would not).
The images are synthetic and deterministic (fixed seed).
"""

import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps
import torch
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode

SIZE = 32
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "embed", "preprocess", "testdata")

rng = np.random.RandomState(20240527)


def photo(w, h, seed=0):
    """A photo-like RGB array: gradients, discs, stripes and noise."""
    r = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    img[..., 0] = 255 * x / max(w - 1, 1)
    img[..., 1] = 255 * y / max(h - 1, 1)
    img[..., 2] = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    for _ in range(6):
        cx, cy, rad = r.uniform(0, w), r.uniform(0, h), r.uniform(0.1, 0.4) * min(w, h) + 1
        col = r.uniform(0, 255, 3)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < rad ** 2
        img[mask] = col
    img[(x.astype(int) // 3) % 5 == 0] *= 0.8  # fine stripes (high frequency)
    img += r.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8)


def png_chunk(tag, data):
    c = struct.pack(">I", len(data)) + tag + data
    return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_png16(path, arr, color_type):
    """Write a 16-bit PNG (Pillow cannot save 16-bit RGB/RGBA)."""
    h, w = arr.shape[:2]
    raw = b"".join(b"\x00" + arr[i].astype(">u2").tobytes() for i in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def tensor(im, mode):
    conv = lambda i: i.convert("RGB")
    if mode == "center":
        t = T.Compose([T.Resize(SIZE, interpolation=InterpolationMode.BICUBIC), T.CenterCrop(SIZE), conv,
                       T.ToTensor(), T.Normalize(MEAN, STD)])
    else:
        t = T.Compose([T.Resize((SIZE, SIZE), interpolation=InterpolationMode.BICUBIC), conv,
                       T.ToTensor(), T.Normalize(MEAN, STD)])
    out = t(im)
    assert out.shape == (3, SIZE, SIZE), out.shape
    return out.numpy().astype("<f4")


def main():
    os.makedirs(OUT, exist_ok=True)
    items = []

    def add(name, build, lossy=False, exif_transpose=False):
        path = os.path.join(OUT, name)
        build(path)
        im = Image.open(path)
        mode, size = im.mode, im.size
        if exif_transpose:
            im = ImageOps.exif_transpose(im)
        tensors = {}
        for m in ("center", "squash"):
            fn = f"{name}.{m}.f32"
            tensor(im, m).tofile(os.path.join(OUT, fn))
            tensors[m] = fn
        items.append({"file": name, "mode": mode, "size": list(size), "lossy": lossy,
                      "exif_transpose": exif_transpose, "oriented_size": list(im.size), "tensors": tensors})
        print(f"{name}: {mode} {size} -> {im.size}", file=sys.stderr)

    base = photo(120, 90, 1)
    base_im = Image.fromarray(base)

    # PNG variants.
    add("rgb16.png", lambda p: write_png16(p, base.astype(np.uint16) * 257 + rng.randint(0, 256, base.shape), 2))
    g16 = (photo(70, 50, 2)[..., 0].astype(np.uint16) * 2)  # 0..510: Pillow mode "I", clipped at 255
    add("gray16.png", lambda p: write_png16(p, g16, 0))
    alpha = np.tile(np.linspace(0, 255, 120), (90, 1)).round().astype(np.uint16)
    rgba16 = np.dstack([base.astype(np.uint16) * 257, alpha * 257])
    add("rgba16.png", lambda p: write_png16(p, rgba16, 6))
    la = np.dstack([base[..., 1], alpha.astype(np.uint8)])
    add("la.png", lambda p: Image.fromarray(la, "LA").save(p))
    rgba = np.dstack([base, alpha.astype(np.uint8)])
    rgba[:10, :10, 3] = 0  # fully transparent corner
    add("rgba.png", lambda p: Image.fromarray(rgba, "RGBA").save(p))
    pal = base_im.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    add("palette_trns.png", lambda p: pal.save(p, transparency=5))
    add("rgb_trns.png", lambda p: base_im.save(p, transparency=tuple(int(v) for v in base[0, 0])))
    add("gray_trns.png", lambda p: base_im.convert("L").save(p, transparency=int(base[0, 0].mean())))
    add("gray1.png", lambda p: base_im.convert("L").convert("1").save(p))
    add("gray4.png", lambda p: base_im.convert("L").save(p, bits=4))
    add("tiny_1x1.png", lambda p: Image.new("RGB", (1, 1), (200, 30, 90)).save(p))
    add("wide_2000x20.png", lambda p: Image.fromarray(photo(2000, 20, 3)).save(p, optimize=True))

    # JPEG variants.
    add("cmyk.jpg", lambda p: base_im.convert("CMYK").save(p, quality=92), lossy=True)
    add("progressive.jpg", lambda p: Image.fromarray(photo(160, 100, 4)).save(p, quality=90, progressive=True), lossy=True)
    add("gray.jpg", lambda p: base_im.convert("L").save(p, quality=90), lossy=True)
    for o in (3, 6, 8):
        def build(p, o=o):
            ex = Image.Exif()
            ex[0x0112] = o
            Image.fromarray(photo(100, 64, 5)).save(p, quality=92, exif=ex.tobytes())
        add(f"exif{o}.jpg", build, lossy=True, exif_transpose=True)

    # Other formats.
    add("lossless.webp", lambda p: base_im.save(p, lossless=True))
    add("lossy.webp", lambda p: base_im.save(p, quality=90), lossy=True)
    add("rgb24.bmp", lambda p: base_im.save(p))
    add("palette8.bmp", lambda p: pal.save(p))
    add("rgb.tiff", lambda p: base_im.save(p, compression="tiff_lzw"))
    gif = base_im.quantize(colors=32)
    add("trns.gif", lambda p: gif.save(p, transparency=3))
    add("grey_identity.gif", lambda p: base_im.convert("L").save(p))

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"size": SIZE, "mean": MEAN, "std": STD, "pillow": Image.__version__ if hasattr(Image, "__version__") else "",
                   "images": items}, f, indent=1)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"testdata: {len(items)} images, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
