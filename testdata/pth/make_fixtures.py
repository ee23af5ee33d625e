#!/usr/bin/python3
"""Write the checkpoint-reader fixtures in this directory with real PyTorch.

Run with Debian's python3-torch (1.13): /usr/bin/python3 testdata/pth/make_fixtures.py
Every file is small (< 100 KB). The values come from a fixed seed, so rerunning
reproduces them; see README.md for what each file is for.

All RWKV-4-shaped files hold the same bf16 values (fp16/fp32 twins hold those
values converted by torch), and values.json records them bit by bit, so a Go
reader can be checked bit-exactly against PyTorch's own view of each tensor.
"""

import collections
import json
import os
import struct
import sys
import zipfile

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
V, C, L, F = 64, 16, 2, 64


class Att(nn.Module):
    def __init__(self):
        super().__init__()
        # Declaration order = state_dict order, as in RWKV-LM's RWKV_TimeMix.
        self.time_decay = nn.Parameter(torch.empty(C))
        self.time_first = nn.Parameter(torch.empty(C))
        self.time_mix_k = nn.Parameter(torch.empty(1, 1, C))
        self.time_mix_v = nn.Parameter(torch.empty(1, 1, C))
        self.time_mix_r = nn.Parameter(torch.empty(1, 1, C))
        self.key = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(C, C, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.output = nn.Linear(C, C, bias=False)


class FFN(nn.Module):
    def __init__(self):
        super().__init__()
        self.time_mix_k = nn.Parameter(torch.empty(1, 1, C))
        self.time_mix_r = nn.Parameter(torch.empty(1, 1, C))
        self.key = nn.Linear(C, F, bias=False)
        self.receptance = nn.Linear(C, C, bias=False)
        self.value = nn.Linear(F, C, bias=False)


class Block(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.ln1 = nn.LayerNorm(C)
        self.ln2 = nn.LayerNorm(C)
        if layer == 0:
            self.ln0 = nn.LayerNorm(C)
        self.att = Att()
        self.ffn = FFN()


class RWKV(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, C)
        self.blocks = nn.ModuleList([Block(i) for i in range(L)])
        self.ln_out = nn.LayerNorm(C)
        self.head = nn.Linear(C, V, bias=False)


def fill(model, gen):
    """Realistic ranges so f16 conversion behaves as on real checkpoints."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = p.shape
            if name.endswith("time_decay"):
                v = torch.rand(shape, generator=gen) * 4 - 3  # U(-3, 1)
            elif name.endswith("time_first"):
                v = torch.rand(shape, generator=gen) * 2 - 1  # U(-1, 1)
            elif ".time_mix_" in name:
                v = torch.rand(shape, generator=gen)  # U(0, 1)
            elif name.endswith("ln0.weight") or ".ln" in name and name.endswith(".weight") or name == "ln_out.weight":
                v = 1 + 0.1 * torch.randn(shape, generator=gen)
            elif name.endswith(".bias"):
                v = 0.05 * torch.randn(shape, generator=gen)
            else:
                v = 0.3 * torch.randn(shape, generator=gen)
            p.copy_(v.to(torch.bfloat16).float())


def bits_hex(t, dtype):
    # Raw little-endian element bits of a contiguous copy.
    t = t.detach().contiguous().to(dtype)
    return t.view(torch.int16).numpy().astype("<i2").tobytes().hex()


def out(name):
    return os.path.join(HERE, name)


def save(obj, name, **kw):
    torch.save(obj, out(name), **kw)


class FakeTensor:
    """Pickles as _rebuild_tensor_v2 with arguments of our choosing, so a
    malformed-but-well-pickled tensor can be written by torch.save itself."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce_ex__(self, proto):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, self.offset, tuple(self.size), tuple(self.stride), False, collections.OrderedDict()))


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    # Same signature as torch >= 2.0's; torch 1.13 has no such function, so it
    # is registered under torch._utils only for pickling (by name).
    param = nn.Parameter(data, requires_grad)
    for k, v in state.items():
        setattr(param, k, v)
    return param


_rebuild_parameter_with_state.__module__ = "torch._utils"
torch._utils._rebuild_parameter_with_state = _rebuild_parameter_with_state


class ParamWithState:
    def __init__(self, data, state):
        self.data, self.state = data, state

    def __reduce_ex__(self, proto):
        return (torch._utils._rebuild_parameter_with_state,
                (self.data, True, collections.OrderedDict(), self.state))


def normalize_legacy(name):
    """Rename the storage keys of a legacy file to "0", "1", ... (in order of
    first use) and rewrite the key list and data records accordingly.

    _legacy_save names storages str(storage._cdata), a memory address, which
    makes the file differ on every run. The result is byte-for-byte what
    _legacy_save writes when the keys are those strings: the same pickles,
    the sorted key list, then int64 numel + raw bytes per key in that order.
    """
    import io
    import pickle

    raw = open(out(name), "rb").read()
    f = io.BytesIO(raw)
    for _ in range(3):  # magic, protocol version, sys_info
        pickle.load(f)
    start = f.tell()
    pids = []

    class Global(str):
        def __call__(self, *args):
            return None

    class U(pickle.Unpickler):
        def persistent_load(self, pid):
            pids.append(pid)
            return None

        def find_class(self, mod, n):
            # Symbols only: nothing from the file is imported or run.
            return Global(n)

    U(f).load()
    main_pkl = raw[start:f.tell()]
    keys = pickle.load(f)
    elsize = {p[2]: {"BFloat16Storage": 2, "HalfStorage": 2, "FloatStorage": 4}[p[1]] for p in pids}
    records = {}
    for k in keys:
        numel = struct.unpack("<q", f.read(8))[0]
        records[k] = struct.pack("<q", numel) + f.read(numel * elsize[k])
    assert f.read() == b""
    rename = {}
    for p in pids:
        rename.setdefault(p[2], str(len(rename)))
    for old, new in rename.items():
        a = b"X" + struct.pack("<I", len(old)) + old.encode()
        b = b"X" + struct.pack("<I", len(new)) + new.encode()
        assert main_pkl.count(a) == 1
        main_pkl = main_pkl.replace(a, b)
    new_keys = sorted(rename.values())
    back = {v: k for k, v in rename.items()}
    with open(out(name), "wb") as w:
        w.write(raw[:start])
        w.write(main_pkl)
        w.write(pickle.dumps(new_keys, protocol=2))
        for k in new_keys:
            w.write(records[back[k]])


def write_safetensors(sd, name):
    # The format: u64le header length, JSON header, then the byte buffer.
    # Like the safetensors library, data is laid out in header order and the
    # header is padded with spaces to a multiple of 8 bytes.
    header = {"__metadata__": {"format": "pt", "source": "make_fixtures.py"}}
    blobs, off = [], 0
    for k, v in sd.items():
        b = v.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
        header[k] = {"dtype": "BF16", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(out(name), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript emits class attributes in set order: pin str hashing.
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    assert torch.__version__.startswith("1.13"), "fixtures are documented as made by torch 1.13"
    gen = torch.Generator().manual_seed(20240601)
    model = RWKV()
    fill(model, gen)
    model = model.to(torch.bfloat16)

    # (i) plain dict of bf16 tensors, as published checkpoints are.
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    save(sd, "rwkv4-bf16.pth")
    # (ii), (iii) the same values as fp16 / fp32 (bf16 -> f32 is exact).
    save({k: v.half() for k, v in sd.items()}, "rwkv4-fp16.pth")
    save({k: v.float() for k, v in sd.items()}, "rwkv4-fp32.pth")

    # (iv) one flat storage (DeepSpeed-style): every tensor is a view with a
    # storage offset. Laid out in reverse dict order so that a reader that
    # assumes storage order == dict order, or offset 0, gets wrong values.
    names = list(sd)
    flat = torch.cat([sd[k].reshape(-1) for k in reversed(names)])
    flat_sd, off = {}, 0
    offsets = {}
    for k in reversed(names):
        n = sd[k].numel()
        offsets[k] = off
        off += n
    for k in names:
        n = sd[k].numel()
        flat_sd[k] = flat[offsets[k]:offsets[k] + n].view(sd[k].shape)
        assert flat_sd[k].storage_offset() == offsets[k]
    assert len({v.storage().data_ptr() for v in flat_sd.values()}) == 1
    save(flat_sd, "rwkv4-bf16-flat.pth")

    # (v) two matrices stored transposed: same values, strides (1, rows).
    strided = dict(sd)
    for k in ("blocks.0.att.key.weight", "blocks.1.ffn.key.weight"):
        strided[k] = sd[k].t().contiguous().t()
        assert not strided[k].is_contiguous() and torch.equal(strided[k], sd[k])
    save(strided, "rwkv4-bf16-strided.pth")

    # (vi) nn.Parameter values: an OrderedDict with _metadata (BUILD), values
    # pickled through _rebuild_parameter.
    save(model.state_dict(keep_vars=True), "rwkv4-bf16-module.pth")

    # (vii) a trainer checkpoint wrapping the state dict.
    save({"state_dict": sd, "epoch": 3, "global_step": 1000, "pytorch-lightning_version": "1.9.0"},
         "rwkv4-bf16-wrapped.pth")

    # (viii) the pre-1.6 non-zip format.
    save(sd, "rwkv4-bf16-legacy.pth", _use_new_zipfile_serialization=False)
    normalize_legacy("rwkv4-bf16-legacy.pth")
    back = torch.load(out("rwkv4-bf16-legacy.pth"))
    assert list(back) == list(sd) and all(torch.equal(back[k], sd[k]) for k in sd)

    # (ix) safetensors twin.
    write_safetensors(sd, "rwkv4-bf16.safetensors")

    # torch >= 2.0 pickles a Parameter carrying Python attributes through
    # _rebuild_parameter_with_state.
    save({"emb.weight": ParamWithState(sd["emb.weight"], {"_note": "tied"}),
          "ln_out.weight": ParamWithState(sd["ln_out.weight"], {})},
         "param-with-state.pth")

    # --- files a reader must refuse, each for one reason ---
    # ChatRWKV v2/convert_model.py output: _strategy/_version/_rescale_layer
    # keys, uint8 transposed weights with their _mx/_rx/_my/_ry companions.
    w = sd["blocks.0.att.key.weight"].float().t().contiguous()
    conv = {
        "emb.weight": sd["emb.weight"].half(),
        "blocks.0.att.key.weight": (w * 10 + 128).clamp(0, 255).to(torch.uint8),
        "blocks.0.att.key.weight_mx": w.min(dim=0).values.half(),
        "blocks.0.att.key.weight_rx": w.max(dim=0).values.half(),
        "blocks.0.att.key.weight_my": w.min(dim=1).values.half().unsqueeze(1),
        "blocks.0.att.key.weight_ry": w.max(dim=1).values.half().unsqueeze(1),
        "_strategy": "cuda fp16i8 *10 -> cpu fp32",
        "_version": "0.7",
        "_rescale_layer": 6,
    }
    save(conv, "chatrwkv-converted.pth")

    # A non-torch global (collections.Counter) beside a valid tensor.
    save({"emb.weight": sd["emb.weight"], "counts": collections.Counter({"a": 1})}, "unknown-global.pth")

    # A tensor whose storage_offset + size runs past its storage
    # (storage holds 16 elements, the view wants elements 10..25).
    st = sd["ln_out.weight"].storage()
    save({"ln_out.weight": FakeTensor(st, 10, (16,), (1,))}, "offset-past-storage.pth")

    # An int64 tensor: a weight reader must name it and refuse it.
    save({"ln_out.weight": sd["ln_out.weight"], "step": torch.tensor([1000])}, "int64-tensor.pth")

    # A TorchScript archive (torch.jit.save), not a state dict.
    torch.manual_seed(0)
    ts = torch.jit.script(nn.Linear(2, 2))
    torch.jit.save(ts, out("torchscript.pt"))

    # Expected bits, per tensor in dict order.
    vals = {"dims": {"V": V, "C": C, "L": L, "F": F}, "tensors": []}
    for k, v in sd.items():
        vals["tensors"].append({
            "name": k,
            "shape": list(v.shape),
            "bf16": bits_hex(v, torch.bfloat16),
            "f16": bits_hex(v.half(), torch.float16),
            "flat_offset": offsets[k],
        })
    with open(out("values.json"), "w") as f:
        json.dump(vals, f, indent=0)
        f.write("\n")

    for n in sorted(os.listdir(HERE)):
        p = out(n)
        if n.endswith((".py", ".md")) or os.path.isdir(p):
            continue
        size = os.path.getsize(p)
        assert size < 100_000, (n, size)
        print(f"{n:32s} {size:7d}")


if __name__ == "__main__":
    sys.exit(main())
