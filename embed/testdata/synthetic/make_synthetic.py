#!/usr/bin/python3
"""make_synthetic.py writes small ONNX graphs with known, closed-form outputs
for embed's tests of input feeding and output pooling (no trained weights).

Run with Debian's PyTorch:  /usr/bin/python3 embed/testdata/synthetic/make_synthetic.py

With D = 8, E[k][j] = sin(0.01 * (k + 1) * (j + 1)) and
W[c][j] = (c + 1) * (j + 1) / 10 (recomputed in Go):

  combined.onnx   input_ids, attention_mask, token_type_ids int64 [b, seq],
                  pixel_values float32 [n, 3, h, w] ->
                  text_embeds  [b, D] = sum_t mask[b,t] * E[ids[b,t]] + 100 * sum_t type[b,t]
                  image_embeds [n, D] = mean_hw(pixels[n]) @ W
                  logits_per_image [n, b] = image_embeds @ text_embeds^T
  text_hidden.onnx input_ids int64 [b, seq] ->
                  last_hidden_state [b, seq, D] = cumsum_t E[ids[b,t]]
  vision.onnx     pixel_values -> image_embeds, as in combined.onnx
"""
import os
import torch

D = 8
HERE = os.path.dirname(os.path.abspath(__file__))
V = 1000
k = torch.arange(V, dtype=torch.float32).unsqueeze(1)
j = torch.arange(D, dtype=torch.float32).unsqueeze(0)
E = torch.sin(0.01 * (k + 1) * (j + 1))
W = (torch.arange(3, dtype=torch.float32).unsqueeze(1) + 1) * (j + 1) / 10


class Vision(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("w", W.clone())

    def forward(self, pixel_values):
        return pixel_values.mean(dim=(2, 3)) @ self.w


class Combined(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("e", E.clone())
        self.vision = Vision()

    def forward(self, input_ids, attention_mask, token_type_ids, pixel_values):
        t = (self.e[input_ids] * attention_mask.unsqueeze(-1).float()).sum(1)
        t = t + 100.0 * token_type_ids.float().sum(1, keepdim=True)
        i = self.vision(pixel_values)
        return i @ t.T, t, i


class TextHidden(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("e", E.clone())

    def forward(self, input_ids):
        return torch.cumsum(self.e[input_ids], dim=1)


def export(model, args, name, inputs, outputs, axes):
    path = os.path.join(HERE, name)
    torch.onnx.export(model, args, path, input_names=inputs, output_names=outputs,
                      dynamic_axes=axes, opset_version=14, do_constant_folding=True)
    print("wrote", path, os.path.getsize(path), "bytes")


ids = torch.zeros(2, 5, dtype=torch.int64)
px = torch.zeros(1, 3, 224, 224)
export(Combined(), (ids, ids, ids, px), "combined.onnx",
       ["input_ids", "attention_mask", "token_type_ids", "pixel_values"],
       ["logits_per_image", "text_embeds", "image_embeds"],
       {"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"},
        "token_type_ids": {0: "b", 1: "s"}, "pixel_values": {0: "n"},
        "logits_per_image": {0: "n", 1: "b"}, "text_embeds": {0: "b"}, "image_embeds": {0: "n"}})
export(TextHidden(), (ids,), "text_hidden.onnx", ["input_ids"], ["last_hidden_state"],
       {"input_ids": {0: "b", 1: "s"}, "last_hidden_state": {0: "b", 1: "s"}})
export(Vision(), (px,), "vision.onnx", ["pixel_values"], ["image_embeds"],
       {"pixel_values": {0: "n"}, "image_embeds": {0: "n"}})
