#!/usr/bin/python3
"""Generate the demo checkpoint embedded in rwkv-tools (`rwkv-tools demo`).

A random-weight RWKV-4 state dict with BlinkDL key names, saved by real
PyTorch exactly as published checkpoints are (torch.save of a plain dict,
zip container, bf16 tensors). Byte-level vocabulary (V=256), so the demo can
feed the bytes of a prompt. Deterministic: fixed seed.

Made with Debian's python3-torch 1.13:  /usr/bin/python3 make_demo.py
"""
import torch

torch.manual_seed(20260526)
V, C, L = 256, 64, 2
F = 4 * C


def mat(rows, cols, scale):
    return torch.randn(rows, cols) * scale


sd = {"emb.weight": torch.randn(V, C) * 0.5}
for l in range(L):
    p = f"blocks.{l}."
    if l == 0:
        sd[p + "ln0.weight"] = 1 + 0.1 * torch.randn(C)
        sd[p + "ln0.bias"] = 0.1 * torch.randn(C)
    for n in ("ln1", "ln2"):
        sd[p + n + ".weight"] = 1 + 0.1 * torch.randn(C)
        sd[p + n + ".bias"] = 0.1 * torch.randn(C)
    for n in ("att.time_mix_k", "att.time_mix_v", "att.time_mix_r", "ffn.time_mix_k", "ffn.time_mix_r"):
        sd[p + n] = torch.rand(1, 1, C)
    sd[p + "att.time_decay"] = torch.rand(C) * 4 - 3
    sd[p + "att.time_first"] = torch.rand(C) * 2 - 1
    for n in ("key", "value", "receptance", "output"):
        sd[p + "att." + n + ".weight"] = mat(C, C, C ** -0.5)
    sd[p + "ffn.key.weight"] = mat(F, C, C ** -0.5)
    sd[p + "ffn.receptance.weight"] = mat(C, C, C ** -0.5)
    sd[p + "ffn.value.weight"] = mat(C, F, F ** -0.5)
sd["ln_out.weight"] = 1 + 0.1 * torch.randn(C)
sd["ln_out.bias"] = 0.1 * torch.randn(C)
sd["head.weight"] = mat(V, C, C ** -0.5) * 4

sd = {k: v.to(torch.bfloat16) for k, v in sd.items()}
torch.save(sd, "tiny-rwkv4-demo-bf16.pth")
