"""Writes the two small hand-made tokenizers in this directory.

tiny-bpe.json: a byte-level BPE tokenizer.json in the layout of the
GPT-NeoX-20B file (NFC, ByteLevel, BPE, added tokens), with the 256 byte
symbols as ids 0-255, a handful of merges, and three added tokens.

tiny-world.txt: an RWKV World vocabulary in the layout of
rwkv_vocab_v20230424.txt: the 256 single bytes as ids 1-256 (str literals
below 0x80, bytes literals above, as in the real file), then a few longer
tokens chosen to exercise every literal form repr() writes.

Both are seeds and fixtures for the loader tests and fuzz targets. The
vocabularies are made up; only the file formats follow the real ones.
Run: python3 make_tiny.py
"""
import json


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


b2u = bytes_to_unicode()
vocab = {b2u[b]: b for b in range(256)}
merges = []


def merge(a, b):
    merges.append(a + " " + b)
    if a + b not in vocab:
        vocab[a + b] = len(vocab)


for a, b in [("Ġ", "Ġ"), ("l", "l"), ("e", "ll"), ("h", "ell"), ("hell", "o"), ("h", "e"),
             ("Ġ", "t"), ("Ġt", "he"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("l", "d"),
             ("Ġwor", "ld"), ("Ã", "©"), ("a", "f"), ("c", "af"), ("caf", "Ã©"),
             # A repeated pair keeps its last rank (HF builds a hash map):
             # "xyz" must become x, yz, not xy, z.
             ("x", "y"), ("y", "z"), ("x", "y")]:
    if a not in vocab:
        vocab[a] = len(vocab)
    if b not in vocab:
        vocab[b] = len(vocab)
    merge(a, b)

n = len(vocab)
added = [
    {"id": n, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
    {"id": n + 1, "content": "   ", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
    {"id": n + 2, "content": "  ", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
]
tok = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": added,
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
    "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
    "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
              "end_of_word_suffix": None, "fuse_unk": False, "vocab": vocab, "merges": merges},
}
with open("tiny-bpe.json", "w", encoding="utf-8") as f:
    json.dump(tok, f, ensure_ascii=False, indent=1)
    f.write("\n")

lines = []
for b in range(256):
    lit = repr(bytes([b]).decode("latin-1")) if b < 0x80 else repr(bytes([b]))
    lines.append((lit, 1))
for t in ["\t\n", "\n\n", "it's", "say \"hi\"", "'\"", "\\n", "\u200b", "以下", "以", "é",
          "hello", "hell", "he", " world", "<|", "|>", "\r\n"]:
    lines.append((repr(t), len(t.encode("utf-8"))))
for t in [b"\xe4\xbd", b"\xe4\xbb\xa5\xe4", b"\x80\x81"]:
    lines.append((repr(t), len(t)))
with open("tiny-world.txt", "w", encoding="utf-8", newline="\n") as f:
    for i, (lit, n) in enumerate(lines, 1):
        f.write(f"{i} {lit} {n}\n")
