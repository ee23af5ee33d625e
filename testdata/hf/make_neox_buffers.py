#!/usr/bin/python3
"""Writes GPT-NeoX checkpoints in the layout older transformers saved
(non-float buffers among the weights), with real PyTorch (Debian
python3-torch), for convert's tests:

    /usr/bin/python3 testdata/hf/make_neox_buffers.py

neox-buffers/: config.json (published Pythia form: rotary_pct,
rotary_emb_base) and pytorch_model.bin holding, per layer, the buffers
attention.bias (bool causal mask, 1x1x8x8), attention.masked_bias (float
scalar -1e9) and attention.rotary_emb.inv_freq (float, R/2) beside the
weights (f16, random). neox-unknown-bool/: the same plus one bool tensor the
architecture table does not know (must be refused). Deterministic (fixed
seed); each file is a few tens of KB.
"""
import json
import os

import torch

V, C, L, H, F, MAXPOS = 64, 16, 2, 2, 64, 8
N = C // H
R = int(N * 0.25)
HERE = os.path.dirname(os.path.abspath(__file__))


def state_dict(extra=None):
    g = torch.Generator().manual_seed(160)

    def rnd(*shape, scale=0.3):
        return (torch.randn(*shape, generator=g) * scale).half()

    sd = {"gpt_neox.embed_in.weight": rnd(V, C)}
    for l in range(L):
        p = f"gpt_neox.layers.{l}."
        sd[p + "input_layernorm.weight"] = (1 + rnd(C, scale=0.1).float()).half()
        sd[p + "input_layernorm.bias"] = rnd(C, scale=0.05)
        sd[p + "post_attention_layernorm.weight"] = (1 + rnd(C, scale=0.1).float()).half()
        sd[p + "post_attention_layernorm.bias"] = rnd(C, scale=0.05)
        sd[p + "attention.bias"] = torch.tril(torch.ones(MAXPOS, MAXPOS, dtype=torch.bool)).view(1, 1, MAXPOS, MAXPOS)
        sd[p + "attention.masked_bias"] = torch.tensor(-1e9)
        sd[p + "attention.rotary_emb.inv_freq"] = 1.0 / (10000 ** (torch.arange(0, R, 2).float() / R))
        sd[p + "attention.query_key_value.weight"] = rnd(3 * C, C)
        sd[p + "attention.query_key_value.bias"] = rnd(3 * C, scale=0.05)
        sd[p + "attention.dense.weight"] = rnd(C, C)
        sd[p + "attention.dense.bias"] = rnd(C, scale=0.05)
        sd[p + "mlp.dense_h_to_4h.weight"] = rnd(F, C)
        sd[p + "mlp.dense_h_to_4h.bias"] = rnd(F, scale=0.05)
        sd[p + "mlp.dense_4h_to_h.weight"] = rnd(C, F)
        sd[p + "mlp.dense_4h_to_h.bias"] = rnd(C, scale=0.05)
    sd["gpt_neox.final_layer_norm.weight"] = (1 + rnd(C, scale=0.1).float()).half()
    sd["gpt_neox.final_layer_norm.bias"] = rnd(C, scale=0.05)
    sd["embed_out.weight"] = rnd(V, C)
    if extra:
        sd.update(extra)
    return sd


CONFIG = {
    "architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox",
    "vocab_size": V, "hidden_size": C, "num_hidden_layers": L, "num_attention_heads": H,
    "intermediate_size": F, "rotary_pct": 0.25, "rotary_emb_base": 10000,
    "layer_norm_eps": 1e-5, "hidden_act": "gelu", "use_parallel_residual": True,
    "max_position_embeddings": MAXPOS, "tie_word_embeddings": False, "torch_dtype": "float16",
}


def write(name, sd):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2, sort_keys=True)
        f.write("\n")
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))


write("neox-buffers", state_dict())
write("neox-unknown-bool", state_dict({"gpt_neox.layers.0.attention.sliding_mask": torch.ones(4, dtype=torch.bool)}))
