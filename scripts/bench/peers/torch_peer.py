#!/usr/bin/python3
"""PyTorch peer of scripts/bench/sections/peers.sh.

Embeds the images of a folder with the ViT-B/32 architecture of
scripts/build_vit_b32.py (torchvision vit_b_32, head replaced by a 768->512
projection; random weights, as in the ONNX file the other peers run) and
CLIP's preprocessing (Pillow decode, bicubic resize of the shorter side to
224 with antialiasing, centre crop, normalise). Two ways:

  --mode dataloader   torch.utils.data.DataLoader, 2 worker processes,
                      batch 16 (the way clip-retrieval ingests)
  --mode single       one image at a time, decode then forward (the way
                      the CLIP example scripts do it)

Prints one JSON line. The clock starts after the model is built and warmed
up and stops when the last embedding is out.

  /usr/bin/python3 torch_peer.py --mode M --dir IMAGES [--files N] [--label L]
"""

import argparse
import json
import os
import time

import PIL
import torch
import torch.nn as nn
import torchvision
from PIL import Image
from torchvision import transforms

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
PREPROCESS = transforms.Compose([
    transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC, antialias=True),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(MEAN, STD),
])


def load(path):
    with Image.open(path) as im:
        return PREPROCESS(im.convert("RGB"))


class Files(torch.utils.data.Dataset):
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return load(self.paths[i])


def blas():
    """The BLAS the Debian alternatives system gives torch."""
    try:
        return os.path.basename(os.path.dirname(os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")))
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["dataloader", "single"], required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--files", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    paths = sorted(os.path.join(a.dir, f) for f in os.listdir(a.dir) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    if a.files:
        paths = paths[:a.files]

    # Debian's torch starts with one thread here; give it every core, as
    # ONNX Runtime has (with DataLoader its workers share them).
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    model = torchvision.models.vit_b_32()
    model.heads = nn.Linear(768, 512, bias=False)
    model.eval()
    with torch.inference_mode():
        model(load(paths[0]).unsqueeze(0))  # warm-up, not timed

        load_begin = os.getloadavg()[0]
        t0 = time.perf_counter()
        n = 0
        if a.mode == "dataloader":
            dl = torch.utils.data.DataLoader(Files(paths), batch_size=a.batch, num_workers=a.workers)
            for x in dl:
                n += model(x).shape[0]
        else:
            for p in paths:
                n += model(load(p).unsqueeze(0)).shape[0]
        secs = time.perf_counter() - t0
    peer = "pytorch-dataloader" if a.mode == "dataloader" else "pytorch-single"
    print(json.dumps({
        "kind": "peer", "peer": peer, "data": a.label or os.path.basename(a.dir),
        "batch": a.batch if a.mode == "dataloader" else 1, "workers": a.workers if a.mode == "dataloader" else 0,
        "images": n, "seconds": secs, "images_per_sec": n / secs,
        "load_begin": load_begin, "load_end": os.getloadavg()[0], "cores": os.cpu_count(),
        "version": f"torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {PIL.__version__} "
                   f"(Debian; BLAS: {blas()}), {torch.get_num_threads()} threads",
    }))


if __name__ == "__main__":
    main()
