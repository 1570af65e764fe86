#!/usr/bin/python3
"""make_onnx_fixtures.py writes the tiny ONNX models used by embed/onnx tests.

Run with Debian's PyTorch:  /usr/bin/python3 scripts/make_onnx_fixtures.py

Outputs (a few KB each) in embed/onnx/testdata/:
  matmul.onnx  input "x" float32 [batch, 4]  -> output "y" float32 [batch, 3],
               y = x @ W with W[i][j] = (i*3 + j + 1) / 10  (W is recomputed in Go)
               and a second output "s" float32 [batch] = row sum of x.
  matmul_legacy.onnx  the same as matmul.onnx, exported with the weight listed
               as a graph input too (keep_initializers_as_inputs), as old exports do.
  embed.onnx   input "ids" int64 [batch, seq] -> output "out" float32 [batch, seq, 2],
               out[b][t] = E[ids[b][t]] with E[k] = (k, -2k) for k in 0..9 (ids clamped).
"""
import os
import torch

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "embed", "onnx", "testdata"))
os.makedirs(OUT, exist_ok=True)


class MatMul(torch.nn.Module):
    def __init__(self):
        super().__init__()
        w = torch.arange(1, 13, dtype=torch.float32).reshape(4, 3) / 10.0
        self.register_buffer("w", w)

    def forward(self, x):
        return x @ self.w, x.sum(dim=1)


class Embed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        k = torch.arange(10, dtype=torch.float32)
        self.register_buffer("e", torch.stack([k, -2.0 * k], dim=1))

    def forward(self, ids):
        ids = ids.clamp(0, 9)
        return self.e[ids]


def export(model, args, path, inputs, outputs, axes, legacy=False):
    torch.onnx.export(model, args, path, input_names=inputs, output_names=outputs,
                      dynamic_axes=axes, opset_version=14, do_constant_folding=True,
                      keep_initializers_as_inputs=legacy)
    print("wrote", path, os.path.getsize(path), "bytes")


export(MatMul(), (torch.zeros(2, 4),), os.path.join(OUT, "matmul.onnx"),
       ["x"], ["y", "s"], {"x": {0: "batch"}, "y": {0: "batch"}, "s": {0: "batch"}})
export(MatMul(), (torch.zeros(2, 4),), os.path.join(OUT, "matmul_legacy.onnx"),
       ["x"], ["y", "s"], {"x": {0: "batch"}, "y": {0: "batch"}, "s": {0: "batch"}}, legacy=True)
export(Embed(), (torch.zeros(2, 5, dtype=torch.int64),), os.path.join(OUT, "embed.onnx"),
       ["ids"], ["out"], {"ids": {0: "batch", 1: "seq"}, "out": {0: "batch", 1: "seq"}})
