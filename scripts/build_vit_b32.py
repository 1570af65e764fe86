#!/usr/bin/python3
"""Build a randomly initialised CLIP ViT-B/32-sized model for benchmarks.

Real CLIP weights cannot be downloaded on the build machines. To measure what
inference really costs (latency, memory, file sizes) the benchmarks need a
model of the real size, and the weights do not matter for that. This script
writes one in the same Transformers.js / Optimum layout as the bundled tiny
model:

  onnx/vision_model.onnx  pixel_values float32 [batch,3,224,224] -> image_embeds float32 [batch,512]
                          (torchvision vit_b_32, head replaced by a 768->512 projection)
  onnx/text_model.onnx    input_ids int64 [batch,seq<=77] -> text_embeds float32 [batch,512]
                          (12 layers, width 512, 8 heads, vocab 49408, context 77,
                          causal mask, pooled at the first end-of-text id 49407)
  config.json, preprocessor_config.json
  bpe_simple_vocab_16e6.txt.gz  OpenAI's merges, copied from ../shared

The embeddings are meaningless (random weights); only their cost is real.

Run:  /usr/bin/python3 scripts/build_vit_b32.py [OUT_DIR]   (default .cache/vit-b-32-random/)
"""

import json
import math
import os
import shutil
import sys
import time

import torch
import torch.nn as nn
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTEXT, VOCAB, WIDTH, LAYERS, HEADS, EMBED = 77, 49408, 512, 12, 8, 512
SOT, EOT = 49406, 49407


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 4 * width)
        self.fc2 = nn.Linear(4 * width, width)

    def forward(self, x, mask):
        b, n, w = x.shape
        hd = WIDTH // self.heads
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        q = q.reshape(b, n, self.heads, hd).transpose(1, 2)
        k = k.reshape(b, n, self.heads, hd).transpose(1, 2)
        v = v.reshape(b, n, self.heads, hd).transpose(1, 2)
        att = ((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + mask).softmax(dim=-1)
        x = x + self.out((att @ v).transpose(1, 2).reshape(b, n, w))
        h = self.fc1(self.ln2(x))
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu, as OpenAI CLIP
        return x + self.fc2(h)


class TextTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, WIDTH)
        self.pos = nn.Parameter(torch.randn(CONTEXT, WIDTH) * 0.01)
        self.blocks = nn.ModuleList([Block(WIDTH, HEADS) for _ in range(LAYERS)])
        self.ln = nn.LayerNorm(WIDTH)
        self.proj = nn.Linear(WIDTH, EMBED, bias=False)
        self.register_buffer("mask", torch.full((CONTEXT, CONTEXT), -1e9).triu(1), persistent=False)

    def forward(self, input_ids):
        n = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos[:n]
        mask = self.mask[:n, :n]
        for blk in self.blocks:
            x = blk(x, mask)
        x = self.ln(x)
        pos = (input_ids == EOT).to(torch.float32).argmax(dim=-1)
        idx = pos.view(-1, 1, 1).expand(-1, 1, x.shape[-1])
        return self.proj(x.gather(1, idx).squeeze(1))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".cache", "vit-b-32-random")
    torch.manual_seed(0)
    torch.set_num_threads(2)
    t0 = time.time()
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)

    vision = torchvision.models.vit_b_32()
    vision.heads = nn.Linear(768, EMBED, bias=False)
    vision.eval()
    # Not under torch.no_grad(): with gradients enabled nn.MultiheadAttention
    # skips its fused fast path, which the ONNX exporter cannot export.
    torch.onnx.export(
        vision, (torch.zeros(1, 3, 224, 224),), os.path.join(out, "onnx", "vision_model.onnx"),
        input_names=["pixel_values"], output_names=["image_embeds"],
        dynamic_axes={"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}},
        opset_version=14, do_constant_folding=True)
    text = TextTower().eval()
    ids = torch.zeros(1, CONTEXT, dtype=torch.long)
    ids[0, :3] = torch.tensor([SOT, 320, EOT])
    torch.onnx.export(
        text, (ids,), os.path.join(out, "onnx", "text_model.onnx"),
        input_names=["input_ids"], output_names=["text_embeds"],
        dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                      "text_embeds": {0: "batch_size"}},
        opset_version=14, do_constant_folding=True)

    config = {
        "_name_or_path": "cliprag/vit-b-32-random",
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": EMBED,
        "logit_scale_init_value": 2.6592,
        "logit_scale": 100.0,
        "logit_scale_note": "random weights, for benchmarks only; logit_scale is the multiplier",
        "text_config": {
            "model_type": "clip_text_model", "vocab_size": VOCAB, "hidden_size": WIDTH,
            "intermediate_size": 4 * WIDTH, "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS, "max_position_embeddings": CONTEXT,
            "hidden_act": "quick_gelu", "projection_dim": EMBED,
            "bos_token_id": SOT, "eos_token_id": EOT, "pad_token_id": EOT,
        },
        "vision_config": {
            "model_type": "clip_vision_model", "image_size": 224, "patch_size": 32,
            "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
            "num_attention_heads": 12, "num_channels": 3, "projection_dim": EMBED,
        },
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    pre = {
        "crop_size": {"height": 224, "width": 224}, "do_center_crop": True,
        "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "image_processor_type": "CLIPImageProcessor", "resample": 3,
        "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 224},
    }
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
        f.write("\n")
    merges = os.path.join(os.path.dirname(ROOT), "shared", "clip-reference", "tokenizers",
                          "bpe_simple_vocab_16e6.txt.gz")
    if not os.path.exists(merges):
        sys.exit(f"build_vit_b32: {merges} not found (the ../shared reference folder)")
    shutil.copy(merges, os.path.join(out, "bpe_simple_vocab_16e6.txt.gz"))

    total = 0
    for dp, _, fs in os.walk(out):
        for fn in sorted(fs):
            p = os.path.join(dp, fn)
            total += os.path.getsize(p)
            print(f"{os.path.relpath(p, out)}\t{os.path.getsize(p)}")
    print(f"total {total} bytes in {out} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
