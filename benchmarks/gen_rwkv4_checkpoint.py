#!/usr/bin/python3
"""Write a random-weight RWKV-4 checkpoint of a released size, for benchmarks.

Saved the way BlinkDL publishes checkpoints (torch.save of a plain dict, zip
container, bf16). With --flat every tensor is a view into ONE shared bf16
storage (the DeepSpeed flat-buffer layout of the RWKV-4 Pile 430M file).
Not used by tests; the output is large and never committed.

    /usr/bin/python3 benchmarks/gen_rwkv4_checkpoint.py --layers 12 --embd 768 \
        --vocab 50277 -o /tmp/rwkv4-169m-bf16.pth
"""
import argparse

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--layers", type=int, default=12)
ap.add_argument("--embd", type=int, default=768)
ap.add_argument("--vocab", type=int, default=50277)
ap.add_argument("--flat", action="store_true", help="all tensors as views of one storage")
ap.add_argument("-o", "--output", required=True)
args = ap.parse_args()

torch.manual_seed(169)
V, C, L = args.vocab, args.embd, args.layers
F = 4 * C
shapes = {"emb.weight": (V, C), "blocks.0.ln0.weight": (C,), "blocks.0.ln0.bias": (C,)}
for l in range(L):
    p = f"blocks.{l}."
    for n in ("ln1", "ln2"):
        shapes[p + n + ".weight"] = (C,)
        shapes[p + n + ".bias"] = (C,)
    for n in ("att.time_mix_k", "att.time_mix_v", "att.time_mix_r", "ffn.time_mix_k", "ffn.time_mix_r"):
        shapes[p + n] = (1, 1, C)
    shapes[p + "att.time_decay"] = (C,)
    shapes[p + "att.time_first"] = (C,)
    for n in ("key", "value", "receptance", "output"):
        shapes[p + "att." + n + ".weight"] = (C, C)
    shapes[p + "ffn.key.weight"] = (F, C)
    shapes[p + "ffn.receptance.weight"] = (C, C)
    shapes[p + "ffn.value.weight"] = (C, F)
shapes["ln_out.weight"] = (C,)
shapes["ln_out.bias"] = (C,)
shapes["head.weight"] = (V, C)


def init(name, shape):
    if name.endswith("time_decay"):
        return torch.rand(shape) * 4 - 3
    if "time_mix" in name:
        return torch.rand(shape)
    if name.endswith("time_first"):
        return torch.rand(shape) * 2 - 1
    if len(shape) == 1:
        return (1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(shape)
    return torch.randn(shape) * shape[-1] ** -0.5


sd = {}
if args.flat:
    total = sum(torch.Size(s).numel() for s in shapes.values())
    flat = torch.empty(total, dtype=torch.bfloat16)
    off = 0
    for name, shape in shapes.items():
        n = torch.Size(shape).numel()
        flat[off:off + n] = init(name, shape).flatten().to(torch.bfloat16)
        sd[name] = flat[off:off + n].view(shape)
        off += n
else:
    for name, shape in shapes.items():
        sd[name] = init(name, shape).to(torch.bfloat16)
torch.save(sd, args.output)
print(f"wrote {args.output}: {sum(t.numel() for t in sd.values())} parameters, {len(sd)} tensors")
