#!/usr/bin/python3
"""Train cliprag's bundled tiny CLIP ("tiny-shapes") and export it.

Real CLIP weights cannot be downloaded on the build machines, so the project
ships a tiny CLIP of its own, trained here on a synthetic domain:

  5 colours (red, green, blue, yellow, purple) x 4 shapes (circle, square,
  triangle, cross) on plain or gradient grey backgrounds; images 96-640 px,
  aspect ratio up to 1.6; the shape is 30-70 % of the shorter side and lies
  inside the centred square; some rotated, blurred, noisy; saved as JPEG or PNG.

Every training image goes through a real PNG/JPEG encode/decode and through
OpenAI CLIP's preprocessing (PIL bicubic resize of the shorter side to 224,
centre crop 224x224 with offset round((size-224)/2), mean/std normalisation).
To save time, images whose shorter side is above RENDER_MAX are drawn at a
reduced scale before encoding; the model input is always CLIP's 224x224.

Outputs (in --out, default embed/tinyshapes/model), the Transformers.js /
Optimum layout:

  config.json                HF CLIPConfig shape, plus "logit_scale" (the
                             trained multiplier, exp of the learned parameter)
                             and "logit_scale_log" (the learned parameter)
  preprocessor_config.json   HF CLIPImageProcessor shape
  tokenizer.json             HF CLIPTokenizerFast shape, our own byte-level BPE
  tokenizer_config.json
  onnx/vision_model.onnx     pixel_values float32 [batch,3,224,224] -> image_embeds float32 [batch,D]
  onnx/text_model.onnx       input_ids int64 [batch,seq<=77] -> text_embeds float32 [batch,D]

The embeds are projection outputs, NOT L2-normalised (as in HF CLIPModel).
The text tower uses a causal mask and pools the final-layer-norm output at
the FIRST position whose id equals the end-of-text id; because end-of-text
is also the largest id in the vocabulary, this equals HF's argmax(input_ids)
rule. Thanks to the causal mask, whatever follows the first end-of-text
(pad id 0 as OpenAI pads, or end-of-text as HF pads) does not change the
result.

It also writes embed/tinyshapes/testdata/tokenizer_check.json (strings ->
ids from the Python tokenizer below, OpenAI simple_tokenizer semantics) so
the Go tokenizer can be checked against it.

Run:  /usr/bin/python3 scripts/train_tiny_clip.py [--steps N] [--quick]
Needs PyTorch (1.13 tested) and Pillow; no network.
"""

import argparse
import gzip
import html
import io
import json
import math
import os
import random
import sys
import time
import unicodedata
import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter

COLORS = ["red", "green", "blue", "yellow", "purple"]
SHAPES = ["circle", "square", "triangle", "cross"]
CLASSES = [f"{c} {s}" for c in COLORS for s in SHAPES]

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGE_SIZE = 224
CONTEXT = 77
RENDER_MAX = 256  # shorter side above this is drawn at reduced scale
SOT = "<|startoftext|>"
EOT = "<|endoftext|>"

# ----------------------------------------------------------------------------
# Captions
# ----------------------------------------------------------------------------

CLASS_TEMPLATES = [
    "a photo of a {}.", "a photo of a {}", "a {}", "a {}.", "{}", "{}.",
    "a picture of a {}.", "a picture of a {}", "a drawing of a {}",
    "a drawing of a {}.", "an image of a {}.", "an image of a {}",
    "a rendering of a {}.", "a photo of the {}.", "the {}", "the {}.",
    "a {} on a grey background", "a {} on a gray background.", "a {} shape",
    "a close-up photo of a {}.", "a blurry photo of a {}.", "a small {}.",
    "a large {}.", "a simple {}", "an illustration of a {}.", "a {} icon",
    "this is a {}.", "a photo of one {}.", "clipart of a {}",
    "a good photo of a {}.", "a bright photo of a {}.", "a dark photo of a {}.",
    "a cropped photo of a {}.", "a jpeg photo of a {}.", "art of a {}.",
    "a sketch of a {}", "a {} in the middle", "a plain {}", "one {}",
    "a photo of a {} shape.", "a rotated {}.", "a picture showing a {}",
]
COLOR_TEMPLATES = [
    "a photo of something {}", "a photo of something {}.", "something {}",
    "a {} shape", "a {} object", "a {} thing.", "{}", "the colour {}",
    "the color {}.", "a photo of a {} thing.",
]
SHAPE_TEMPLATES = [
    "a photo of a {}", "a photo of a {}.", "a {}", "a {} of some colour",
    "{}", "a coloured {}.", "a colored {}", "a picture of a {}.",
]


def caption_for(rng, ci, si):
    """Returns (caption, color index or -1, shape index or -1)."""
    r = rng.random()
    if r < 0.85:
        return rng.choice(CLASS_TEMPLATES).format(CLASSES[ci * 4 + si]), ci, si
    if r < 0.93:
        return rng.choice(COLOR_TEMPLATES).format(COLORS[ci]), ci, -1
    return rng.choice(SHAPE_TEMPLATES).format(SHAPES[si]), -1, si


def caption_corpus():
    out = []
    for cls in CLASSES:
        out += [t.format(cls) for t in CLASS_TEMPLATES]
    for c in COLORS:
        out += [t.format(c) for t in COLOR_TEMPLATES]
    for s in SHAPES:
        out += [t.format(s) for t in SHAPE_TEMPLATES]
    return out


# ----------------------------------------------------------------------------
# Tokenizer: OpenAI simple_tokenizer semantics, our own merges
# ----------------------------------------------------------------------------


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENCODER = bytes_to_unicode()
_CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]


def _is_letter(ch):
    return unicodedata.category(ch).startswith("L")


def _is_number(ch):
    return unicodedata.category(ch).startswith("N")


def clip_split(text):
    """CLIP's pre-tokenizer regex, without the third-party regex module:
    <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+
    (alternatives tried in order at each match start)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        matched = None
        for sp in (SOT, EOT):
            if text.startswith(sp, i):
                matched = sp
                break
        if matched is None and ch == "'":
            for c in _CONTRACTIONS:
                if text.startswith(c, i):
                    matched = c
                    break
        if matched is not None:
            out.append(matched)
            i += len(matched)
            continue
        j = i + 1
        if _is_letter(ch):
            while j < n and _is_letter(text[j]):
                j += 1
        elif _is_number(ch):
            pass
        else:
            while j < n and not (text[j].isspace() or _is_letter(text[j]) or _is_number(text[j])):
                j += 1
        out.append(text[i:j])
        i = j
    return out


def clean_text(text):
    """NFC (ftfy's default normalisation), HTML unescape twice, strip,
    collapse whitespace, lower-case: what OpenAI's tokenizer does before
    splitting (ftfy's other fixes are not reproduced)."""
    text = unicodedata.normalize("NFC", text)
    text = html.unescape(html.unescape(text)).strip()
    text = re.sub(r"\s+", " ", text).strip()
    return text.lower()


def word_symbols(token):
    """The initial BPE symbols of a pre-token: byte-mapped characters with
    '</w>' attached to the last one."""
    chars = "".join(BYTE_ENCODER[b] for b in token.encode("utf-8"))
    return list(chars[:-1]) + [chars[-1] + "</w>"]


def train_bpe(corpus, num_merges):
    """Byte-level BPE on pre-tokenised words; most frequent pair first, ties
    broken by the pair's lexicographic order (deterministic)."""
    freq = {}
    for line in corpus:
        for tok in clip_split(clean_text(line)):
            freq[tok] = freq.get(tok, 0) + 1
    words = {tok: word_symbols(tok) for tok in freq}
    merges = []
    for _ in range(num_merges):
        pairs = {}
        for tok, syms in words.items():
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + freq[tok]
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] < 2:
            break
        a, b = best[0]
        merges.append((a, b))
        for tok, syms in words.items():
            i, out = 0, []
            while i < len(syms):
                if i < len(syms) - 1 and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[tok] = out
    return merges


class Tokenizer:
    """OpenAI simple_tokenizer.SimpleTokenizer over our own merges."""

    def __init__(self, merges):
        vocab = list(BYTE_ENCODER.values())
        vocab = vocab + [v + "</w>" for v in vocab]
        for a, b in merges:
            vocab.append(a + b)
        vocab += [SOT, EOT]
        self.vocab = vocab
        self.encoder = {v: i for i, v in enumerate(vocab)}
        assert len(self.encoder) == len(vocab), "duplicate vocab entries"
        self.merges = merges
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.sot = self.encoder[SOT]
        self.eot = self.encoder[EOT]
        self.cache = {SOT: SOT, EOT: EOT}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = set(zip(word, word[1:]))
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = set(zip(word, word[1:]))
        out = " ".join(word)
        self.cache[token] = out
        return out

    def encode(self, text):
        """Ids with start and end tokens, cut to CONTEXT as OpenAI's tokenize()
        cuts (last id set to end-of-text), before padding."""
        ids = []
        for tok in clip_split(clean_text(text)):
            t = "".join(BYTE_ENCODER[b] for b in tok.encode("utf-8"))
            ids.extend(self.encoder[p] for p in self.bpe(t).split(" "))
        ids = [self.sot] + ids + [self.eot]
        if len(ids) > CONTEXT:
            ids = ids[:CONTEXT]
            ids[-1] = self.eot
        return ids

    def batch(self, texts, pad_id=None):
        pad = self.eot if pad_id is None else pad_id
        out = torch.full((len(texts), CONTEXT), pad, dtype=torch.long)
        for i, t in enumerate(texts):
            ids = self.encode(t)
            out[i, : len(ids)] = torch.tensor(ids)
        return out

    def tokenizer_json(self):
        special = lambda i, c: {  # noqa: E731
            "id": i, "content": c, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": True, "special": True,
        }
        return {
            "version": "1.0",
            "truncation": {"direction": "Right", "max_length": CONTEXT,
                           "strategy": "LongestFirst", "stride": 0},
            "padding": {"strategy": {"Fixed": CONTEXT}, "direction": "Right",
                        "pad_to_multiple_of": None, "pad_id": self.eot,
                        "pad_type_id": 0, "pad_token": EOT},
            "added_tokens": [special(self.sot, SOT), special(self.eot, EOT)],
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFC"},
                {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
                {"type": "Lowercase"},
            ]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex":
                    "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
                 "behavior": "Removed", "invert": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                 "use_regex": False},
            ]},
            "post_processor": {"type": "RobertaProcessing", "sep": [EOT, self.eot],
                               "cls": [SOT, self.sot], "trim_offsets": False,
                               "add_prefix_space": False},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": EOT,
                      "continuing_subword_prefix": "", "end_of_word_suffix": "</w>",
                      "fuse_unk": False, "byte_fallback": False,
                      "vocab": self.encoder,
                      "merges": [f"{a} {b}" for a, b in self.merges]},
        }


CHECK_STRINGS = [
    "a photo of a red circle.", "a photo of a red circle", "red circle",
    "A Photo Of A Purple CROSS.", "a picture of a purple cross.",
    "a drawing of a green square", "an image of a yellow triangle",
    "a photo of something blue", "", "   lots   of\twhite\nspace   ",
    "a blue square, a green circle; and a yellow triangle!",
    "it's a red circle, isn't it? we'll see; they've, i'm, you'd, we're",
    "unknown words: zebra giraffe xylophone", "numbers 2024 and 3.14159",
    "CAPS and MiXeD case", "café naïve résumé", "日本語のテキスト",
    "emoji 🙂🐱 and symbols ©®™", "<|startoftext|>inline specials<|endoftext|>",
    "punctuation!!! ... ??? --- ((brackets))", "tabs\tand\nnewlines\r\nmixed",
    "a red-circle/blue_square", "the colour purple", "a coloured cross.",
    "redcircle bluesquare", "x", "'s'", "über straße", "a photo of a " * 20,
    "one two three four five six seven eight nine ten " * 10,
]


# ----------------------------------------------------------------------------
# Renderer
# ----------------------------------------------------------------------------

CANONICAL = {
    "red": [(255, 0, 0), (220, 20, 60), (200, 0, 0), (230, 40, 40)],
    "green": [(0, 255, 0), (0, 128, 0), (34, 139, 34), (50, 205, 50), (0, 200, 0)],
    "blue": [(0, 0, 255), (30, 60, 220), (0, 0, 200), (65, 105, 225), (0, 90, 255)],
    "yellow": [(255, 255, 0), (255, 215, 0), (240, 230, 40), (250, 220, 20)],
    "purple": [(128, 0, 128), (160, 32, 240), (128, 0, 255), (148, 0, 211), (150, 50, 200)],
}
# hue ranges in degrees (red wraps around 0)
HUES = {"red": (-12, 10), "green": (95, 145), "blue": (205, 245), "yellow": (48, 62),
        "purple": (268, 305)}


def hsv_to_rgb(h, s, v):
    h = (h % 360) / 60.0
    i = int(h) % 6
    f = h - int(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return tuple(int(round(255 * x)) for x in (r, g, b))


def pick_color(rng, name):
    if rng.random() < 0.35:
        return rng.choice(CANONICAL[name])
    lo, hi = HUES[name]
    s = rng.uniform(0.65, 1.0)
    v = rng.uniform(0.5, 1.0)
    if name == "yellow":
        v = rng.uniform(0.8, 1.0)
    return hsv_to_rgb(rng.uniform(lo, hi), s, v)


def shape_polygon(rng, shape):
    """Unit polygon centred at 0 with extent about [-0.5, 0.5]."""
    if shape == "circle":
        ry = 0.5 * rng.uniform(0.94, 1.06)
        return [(0.5 * math.cos(t), ry * math.sin(t))
                for t in (2 * math.pi * k / 72 for k in range(72))]
    if shape == "square":
        a = 0.5 * rng.uniform(0.92, 1.08)
        return [(-0.5, -a), (0.5, -a), (0.5, a), (-0.5, a)]
    if shape == "triangle":
        kind = rng.random()
        if kind < 0.5:  # equilateral, apex up
            h = math.sqrt(3) / 2
            return [(0, -h / 2 - 0.07), (0.5, h / 2 - 0.07), (-0.5, h / 2 - 0.07)]
        if kind < 0.8:  # isosceles in the bounding square
            ax = rng.uniform(-0.1, 0.1)
            return [(ax, -0.5), (0.5, 0.5), (-0.5, 0.5)]
        return [(-0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]  # right triangle
    # cross (plus sign); rotation makes it an X
    t = rng.uniform(0.08, 0.2)
    return [(-t, -0.5), (t, -0.5), (t, -t), (0.5, -t), (0.5, t), (t, t), (t, 0.5),
            (-t, 0.5), (-t, t), (-0.5, t), (-0.5, -t), (-t, -t)]


def background(rng, w, h):
    if rng.random() < 0.5:
        g = rng.randint(15, 240)
        return Image.new("RGB", (w, h), (g, g, g))
    g1, g2 = rng.randint(0, 255), rng.randint(0, 255)
    ang = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    proj = (xs - w / 2) * math.cos(ang) + (ys - h / 2) * math.sin(ang)
    span = max(1.0, float(proj.max() - proj.min()))
    t = (proj - proj.min()) / span
    grey = (g1 + (g2 - g1) * t).clip(0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([grey] * 3, axis=-1))


def render(rng, ci, si):
    """Returns a decoded PIL RGB image of class (ci, si) after PNG/JPEG
    round trip, at (possibly reduced) original scale."""
    short = rng.randint(96, 640)
    aspect = 1.0 if rng.random() < 0.25 else rng.uniform(1.0, 1.6)
    long_ = int(round(short * aspect))
    w, h = (long_, short) if rng.random() < 0.5 else (short, long_)
    scale = min(1.0, RENDER_MAX / short)
    rw, rh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    rs = min(rw, rh)
    img = background(rng, rw, rh)
    color = pick_color(rng, COLORS[ci])

    d = rng.uniform(0.3, 0.7) * rs
    poly = shape_polygon(rng, SHAPES[si])
    rot = rng.uniform(0, 2 * math.pi) if rng.random() < 0.45 else \
        (math.pi if rng.random() < 0.1 else 0.0)
    c, s_ = math.cos(rot), math.sin(rot)
    pts = [(d * (x * c - y * s_), d * (x * s_ + y * c)) for x, y in poly]
    minx, maxx = min(p[0] for p in pts), max(p[0] for p in pts)
    miny, maxy = min(p[1] for p in pts), max(p[1] for p in pts)
    # centred square of side rs; place the rotated bounding box inside it
    sx0, sy0 = (rw - rs) / 2, (rh - rs) / 2
    cx_lo, cx_hi = sx0 - minx, sx0 + rs - maxx
    cy_lo, cy_hi = sy0 - miny, sy0 + rs - maxy
    cx = rng.uniform(cx_lo, cx_hi) if cx_hi > cx_lo else rw / 2
    cy = rng.uniform(cy_lo, cy_hi) if cy_hi > cy_lo else rh / 2

    ss = 4 if rng.random() < 0.6 else 1  # supersampled anti-aliasing
    mask = Image.new("L", (rw * ss, rh * ss), 0)
    ImageDraw.Draw(mask).polygon([((cx + x) * ss, (cy + y) * ss) for x, y in pts], fill=255)
    if ss > 1:
        mask = mask.resize((rw, rh), Image.BOX)
    img.paste(Image.new("RGB", (rw, rh), color), (0, 0), mask)

    if rng.random() < 0.35:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 3.0) * scale))
    if rng.random() < 0.2:
        arr = np.asarray(img).astype(np.float32)
        arr += np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 10), arr.shape)
        img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))

    if rng.random() < 0.55:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=rng.randint(40, 95))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    # PNG is lossless: encoding it would return the same pixels.
    return img


def clip_preprocess_u8(img):
    """OpenAI CLIP / HF CLIPImageProcessor resize + centre crop -> uint8 CHW."""
    w, h = img.size
    if w <= h:
        nw, nh = IMAGE_SIZE, int(IMAGE_SIZE * h / w)
    else:
        nw, nh = int(IMAGE_SIZE * w / h), IMAGE_SIZE
    img = img.resize((nw, nh), Image.BICUBIC)
    left = int(round((nw - IMAGE_SIZE) / 2.0))
    top = int(round((nh - IMAGE_SIZE) / 2.0))
    img = img.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


MEAN_T = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
STD_T = torch.tensor(CLIP_STD).view(1, 3, 1, 1)


def normalize(u8):
    return (u8.float() / 255.0 - MEAN_T) / STD_T


def make_pool(seed, n):
    rng = random.Random(seed)
    imgs = torch.empty((n, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=torch.uint8)
    labels = torch.empty((n,), dtype=torch.long)
    for i in range(n):
        k = i % 20 if n >= 20 else rng.randrange(20)
        ci, si = divmod(k, 4)
        imgs[i] = clip_preprocess_u8(render(rng, ci, si))
        labels[i] = k
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return imgs[perm], labels[perm]


def load_dir(path):
    """Images named <color>_<shape>_*.{png,jpg} -> (uint8 tensor, labels)."""
    names = sorted(f for f in os.listdir(path) if f.lower().endswith((".png", ".jpg", ".jpeg")))
    imgs, labels = [], []
    for f in names:
        parts = f.split("_")
        k = CLASSES.index(parts[0] + " " + parts[1])
        imgs.append(clip_preprocess_u8(Image.open(os.path.join(path, f)).convert("RGB")))
        labels.append(k)
    return torch.stack(imgs), torch.tensor(labels)


# ----------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------


class ImageTower(nn.Module):
    def __init__(self, dim):
        super().__init__()

        def block(cin, cout, k, s):
            return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2 if k > s else 0, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.features = nn.Sequential(
            block(3, 32, 4, 4),     # 56x56, 4x4 patches
            block(32, 64, 2, 2),    # 28
            block(64, 96, 2, 2),    # 14
            block(96, 128, 3, 2),   # 7
            block(128, 128, 3, 1),
        )
        self.proj = nn.Sequential(nn.Linear(256, 256), nn.ReLU(inplace=True), nn.Linear(256, dim))

    def forward(self, pixel_values):
        x = self.features(pixel_values)
        x = torch.cat([F.adaptive_avg_pool2d(x, 1).flatten(1),
                       F.adaptive_max_pool2d(x, 1).flatten(1)], dim=1)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x, mask):
        b, n, w = x.shape
        hd = w // self.heads
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(b, n, self.heads, hd).transpose(1, 2)
        k = k.reshape(b, n, self.heads, hd).transpose(1, 2)
        v = v.reshape(b, n, self.heads, hd).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + mask
        att = att.softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, n, w)
        x = x + self.out(y)
        return x + self.mlp(self.ln2(x))


class TextTower(nn.Module):
    def __init__(self, vocab, eot_id, width, layers, heads, dim):
        super().__init__()
        self.eot_id = eot_id
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(CONTEXT, width) * 0.01)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim, bias=False)
        mask = torch.full((CONTEXT, CONTEXT), -1e9).triu(1)
        self.register_buffer("mask", mask, persistent=False)
        nn.init.normal_(self.tok.weight, std=0.02)

    def forward(self, input_ids):
        n = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos[:n]
        mask = self.mask[:n, :n]
        for blk in self.blocks:
            x = blk(x, mask)
        x = self.ln(x)
        # pool at the first end-of-text token (ArgMax returns the first maximum)
        pos = (input_ids == self.eot_id).to(torch.float32).argmax(dim=-1)
        idx = pos.view(-1, 1, 1).expand(-1, 1, x.shape[-1])
        return self.proj(x.gather(1, idx).squeeze(1))


class TinyCLIP(nn.Module):
    def __init__(self, vocab, eot_id, dim, width, layers, heads):
        super().__init__()
        self.visual = ImageTower(dim)
        self.text = TextTower(vocab, eot_id, width, layers, heads, dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


# ----------------------------------------------------------------------------
# Training / evaluation
# ----------------------------------------------------------------------------


def compat(labels, cap_c, cap_s):
    """M[i, j] = 1 when caption j describes image i."""
    ic, is_ = labels // 4, labels % 4
    okc = (cap_c.view(1, -1) < 0) | (cap_c.view(1, -1) == ic.view(-1, 1))
    oks = (cap_s.view(1, -1) < 0) | (cap_s.view(1, -1) == is_.view(-1, 1))
    return (okc & oks).float()


def augment(u8, g):
    if torch.rand((), generator=g) < 0.5:
        u8 = u8.flip(-1)
    k = int(torch.randint(0, 4, (), generator=g))
    if k:
        u8 = torch.rot90(u8, k, dims=(-2, -1))
    return u8


@torch.no_grad()
def embed_images(model, u8, bs=200):
    out = []
    for i in range(0, len(u8), bs):
        out.append(F.normalize(model.visual(normalize(u8[i:i + bs])), dim=-1))
    return torch.cat(out)


@torch.no_grad()
def evaluate(model, tok, u8, labels, name):
    model.eval()
    img = embed_images(model, u8)
    txt = F.normalize(model.text(tok.batch([f"a photo of a {c}." for c in CLASSES])), dim=-1)
    sims = img @ txt.T
    acc = (sims.argmax(1) == labels).float().mean().item()
    p5 = []
    for k in range(20):
        top = sims[:, k].topk(min(5, len(labels))).indices
        p5.append((labels[top] == k).float().mean().item())
    p5 = sum(p5) / len(p5)
    conf = torch.zeros(20, 20, dtype=torch.long)
    for t, p in zip(labels.tolist(), sims.argmax(1).tolist()):
        conf[t, p] += 1
    errs = [(CLASSES[t], CLASSES[p], int(conf[t, p])) for t in range(20) for p in range(20)
            if t != p and conf[t, p] > 0]
    print(f"[{name}] n={len(labels)} zero-shot acc={acc * 100:.2f}% text->image P@5={p5:.3f}"
          f" errors={sorted(errs, key=lambda e: -e[2])[:8]}", flush=True)
    model.train()
    return acc, p5


def export(model, tok, out_dir, dim, width, layers, heads, opset=14):
    model.eval()
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    torch.onnx.export(
        model.visual, (torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE),),
        os.path.join(out_dir, "onnx", "vision_model.onnx"),
        input_names=["pixel_values"], output_names=["image_embeds"],
        dynamic_axes={"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}},
        opset_version=opset, do_constant_folding=True)
    torch.onnx.export(
        model.text, (tok.batch(["a photo of a red circle."]),),
        os.path.join(out_dir, "onnx", "text_model.onnx"),
        input_names=["input_ids"], output_names=["text_embeds"],
        dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                      "text_embeds": {0: "batch_size"}},
        opset_version=opset, do_constant_folding=True)

    ls_log = float(model.logit_scale.detach())
    config = {
        "_name_or_path": "cliprag/tiny-shapes",
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": dim,
        "logit_scale_init_value": 2.6592,
        "logit_scale": math.exp(ls_log),
        "logit_scale_log": ls_log,
        "logit_scale_note": "logit_scale is the trained multiplier exp(logit_scale_log); "
                            "logit_scale_init_value is HF's (log) init value",
        "initializer_factor": 1.0,
        "torch_dtype": "float32",
        "text_config": {
            "model_type": "clip_text_model",
            "vocab_size": len(tok.vocab),
            "hidden_size": width,
            "intermediate_size": 4 * width,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "max_position_embeddings": CONTEXT,
            "hidden_act": "gelu",
            "projection_dim": dim,
            "bos_token_id": tok.sot,
            "eos_token_id": tok.eot,
            "pad_token_id": tok.eot,
            "pooling": "first position where input_ids == eos_token_id (== argmax(input_ids))",
        },
        "vision_config": {
            "model_type": "clip_vision_model",
            "architecture": "cnn (6 conv+bn+relu, avg+max pool, mlp projection)",
            "image_size": IMAGE_SIZE,
            "num_channels": 3,
            "projection_dim": dim,
        },
        "cliprag": {
            "classes": CLASSES, "colors": COLORS, "shapes": SHAPES,
            "template": "a photo of a {}.",
            "trained_by": "scripts/train_tiny_clip.py",
        },
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    pre = {
        "crop_size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": CLIP_MEAN,
        "image_processor_type": "CLIPImageProcessor",
        "image_std": CLIP_STD,
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"shortest_edge": IMAGE_SIZE},
    }
    with open(os.path.join(out_dir, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok.tokenizer_json(), f, ensure_ascii=False, indent=2)
        f.write("\n")
    tcfg = {
        "add_prefix_space": False,
        "bos_token": SOT, "eos_token": EOT, "pad_token": EOT, "unk_token": EOT,
        "do_lower_case": True, "errors": "replace",
        "model_max_length": CONTEXT,
        "tokenizer_class": "CLIPTokenizer",
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, indent=2)
        f.write("\n")


def write_reference(model, tok, testdata):
    """Writes two Python-rendered images and the PyTorch model's outputs for
    them and for a few captions, so the Go side can check its preprocessing
    plus ONNX Runtime against PyTorch end to end."""
    model.eval()
    rng = random.Random(20240601)
    images = []
    for i, (ci, si, ext) in enumerate([(0, 0, "png"), (4, 3, "png"), (2, 2, "jpg")]):
        img = render(rng, ci, si)
        name = f"reference_{COLORS[ci]}_{SHAPES[si]}.{ext}"
        path = os.path.join(testdata, name)
        if ext == "jpg":
            img.save(path, format="JPEG", quality=92)
        else:
            img.save(path, format="PNG")
        img = Image.open(path).convert("RGB")  # what the Go side will decode
        with torch.no_grad():
            emb = model.visual(normalize(clip_preprocess_u8(img).unsqueeze(0)))[0]
        images.append({"file": name, "size": list(img.size),
                       "image_embeds": [round(float(v), 6) for v in emb]})
    texts = []
    for t in ["a photo of a red circle.", "a purple cross", "something blue", ""]:
        ids = tok.encode(t)
        with torch.no_grad():
            emb = model.text(torch.tensor([ids]))[0]
        texts.append({"text": t, "input_ids": ids, "text_embeds": [round(float(v), 6) for v in emb]})
    ref = {"note": "PyTorch outputs of the exported towers (projection outputs, not normalised); "
                   "images preprocessed with PIL as OpenAI CLIP does. JPEG decoders differ, so "
                   "compare the .jpg entry loosely.",
           "logit_scale": float(model.logit_scale.exp()), "images": images, "texts": texts}
    with open(os.path.join(testdata, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(root, "embed", "tinyshapes", "model"))
    ap.add_argument("--check-out", default=os.path.join(root, "embed", "tinyshapes", "testdata",
                                                        "tokenizer_check.json"))
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--pool", type=int, default=4000)
    ap.add_argument("--refresh", type=int, default=2,
                    help="number of fresh training pools drawn during training")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--eval", type=int, default=600)
    ap.add_argument("--eval-dir", default="", help="extra held-out images <color>_<shape>_*.png|jpg")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-every", type=int, default=0)
    ap.add_argument("--ckpt", default="", help="save the weights here at every evaluation")
    ap.add_argument("--export-from", default="", help="skip training: export these saved weights")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    t0 = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)

    merges = train_bpe(caption_corpus(), 400)
    tok = Tokenizer(merges)
    print(f"tokenizer: {len(merges)} merges, vocab {len(tok.vocab)}, sot={tok.sot} eot={tok.eot}",
          flush=True)
    os.makedirs(os.path.dirname(args.check_out), exist_ok=True)
    with open(args.check_out, "w", encoding="utf-8") as f:
        json.dump({"context_length": CONTEXT,
                   "note": "ids before padding, from scripts/train_tiny_clip.py "
                           "(OpenAI simple_tokenizer semantics: NFC, html unescape x2, whitespace "
                           "collapse+strip, lower-case, CLIP split, byte-level BPE with </w>)",
                   "cases": [{"text": s, "ids": tok.encode(s)} for s in CHECK_STRINGS]},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")

    dim, width, layers, heads = 64, 64, 2, 4
    model = TinyCLIP(len(tok.vocab), tok.eot, dim, width, layers, heads)
    model = model.to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 and n != "logit_scale"]
    opt = torch.optim.AdamW([
        {"params": decay, "weight_decay": 0.05},
        {"params": no_decay, "weight_decay": 0.0},
        {"params": [model.logit_scale], "weight_decay": 0.0, "lr": args.lr * 10},
    ], lr=args.lr)
    warm = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))

    ev_u8, ev_lab = make_pool(args.seed + 999, args.eval)
    print(f"eval pool {len(ev_lab)} in {time.time() - t0:.1f}s", flush=True)

    crng = random.Random(args.seed + 1)
    g = torch.Generator().manual_seed(args.seed + 2)
    refresh_every = math.ceil(args.steps / max(1, args.refresh))
    pool_u8 = pool_lab = None
    model.train()
    if args.export_from:
        model.load_state_dict(torch.load(args.export_from))
    for step in range(0 if args.export_from else args.steps):
        if step % refresh_every == 0:
            t1 = time.time()
            pool_u8, pool_lab = make_pool(args.seed + step + 1, args.pool)
            print(f"step {step}: drew {args.pool} training images in {time.time() - t1:.1f}s",
                  flush=True)
        idx = torch.randint(0, len(pool_lab), (args.batch,), generator=g)
        u8 = augment(pool_u8[idx], g)
        labels = pool_lab[idx]
        caps, cc, cs = [], [], []
        for k in labels.tolist():
            c, a, b = caption_for(crng, k // 4, k % 4)
            caps.append(c)
            cc.append(a)
            cs.append(b)
        # Every step also contrasts the images with one caption of every
        # class and attribute, so that all 20 classes are negatives each time.
        for k in range(20):
            caps.append(crng.choice(CLASS_TEMPLATES).format(CLASSES[k]))
            cc.append(k // 4)
            cs.append(k % 4)
        for ci in range(5):
            caps.append(crng.choice(COLOR_TEMPLATES).format(COLORS[ci]))
            cc.append(ci)
            cs.append(-1)
        for si in range(4):
            caps.append(crng.choice(SHAPE_TEMPLATES).format(SHAPES[si]))
            cc.append(-1)
            cs.append(si)
        ids = tok.batch(caps, pad_id=0 if crng.random() < 0.5 else None)
        # With the causal mask and first-eos pooling, the padding after the
        # first end-of-text cannot change the result: drop it to save time.
        ids = ids[:, : int((ids == tok.eot).float().argmax(1).max()) + 1]
        img = F.normalize(model.visual(normalize(u8).contiguous(memory_format=torch.channels_last)),
                          dim=-1)
        txt = F.normalize(model.text(ids), dim=-1)
        scale = model.logit_scale.exp().clamp(max=100)
        logits = scale * img @ txt.T
        m = compat(labels, torch.tensor(cc), torch.tensor(cs))
        # multi-positive CLIP loss: a caption matches every image it describes
        li = torch.sum(-F.log_softmax(logits, 1) * m / m.sum(1, keepdim=True), 1).mean()
        has = m.sum(0) > 0  # captions with at least one matching image in the batch
        mt = m.T[has]
        lt = torch.sum(-F.log_softmax(logits.T[has], 1) * mt / mt.sum(1, keepdim=True), 1).mean()
        loss = (li + lt) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.4f} scale {scale.item():.1f} "
                  f"t={time.time() - t0:.0f}s", flush=True)
        if args.eval_every and step and step % args.eval_every == 0:
            evaluate(model, tok, ev_u8, ev_lab, f"step {step}")
            if args.ckpt:
                torch.save(model.state_dict(), args.ckpt)

    train_s = time.time() - t0
    acc, p5 = evaluate(model, tok, ev_u8, ev_lab, "held-out python renders")
    if args.eval_dir:
        u8, lab = load_dir(args.eval_dir)
        evaluate(model, tok, u8, lab, f"held-out {args.eval_dir}")
    export(model, tok, args.out, dim, width, layers, heads)
    write_reference(model, tok, os.path.dirname(args.check_out))
    sizes = {os.path.relpath(os.path.join(dp, f), args.out): os.path.getsize(os.path.join(dp, f))
             for dp, _, fs in os.walk(args.out) for f in fs}
    print(f"files: {json.dumps(sizes)} total {sum(sizes.values())} bytes", flush=True)
    print(f"train+eval time {train_s:.0f}s, total {time.time() - t0:.0f}s; "
          f"final zero-shot acc {acc * 100:.2f}% P@5 {p5:.3f}; logit_scale {model.logit_scale.exp().item():.2f}",
          flush=True)
    if args.ckpt:
        torch.save(model.state_dict(), args.ckpt)


if __name__ == "__main__":
    sys.exit(main())
