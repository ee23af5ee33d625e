// Package tokenizer implements the two tokenizers RWKV models use, in pure
// Go, with ids identical to the reference implementations:
//
//   - BPE (Kind "gpt2-bpe"): byte-level BPE loaded from a Hugging Face
//     tokenizer.json, e.g. the GPT-NeoX-20B tokenizer (20B_tokenizer.json)
//     of RWKV-4 Pile models and Pythia. Same ids as HF tokenizers
//     (checked on LAMBADA: every text, context and target).
//   - World (Kind "rwkv-world"): the RWKV World greedy trie tokenizer from
//     rwkv_vocab_v20230424.txt (RWKV-4 World, RWKV-5/6/7). Same ids as
//     ChatRWKV's TRIE_TOKENIZER.
//
// Both implement Tokenizer. Load detects the kind from the file content
// (a JSON object is a tokenizer.json); LoadHFJSON and LoadWorld read one
// kind; Parse, ParseHFJSON and ParseWorld take the content in memory;
// FromGGUFVocab rebuilds a tokenizer from GGUF metadata.
//
// # BPE pipeline
//
// Encode follows HF tokenizers (added_vocabulary.rs, byte_level.rs,
// models/bpe) for the configurations ParseHFJSON accepts; it rejects other
// configurations with an error naming the field instead of tokenizing
// differently:
//
//  1. Added tokens with normalized=false (20B: <|endoftext|> = 0,
//     <|padding|> = 1) are split out of the raw text, leftmost-longest.
//     Special tokens written in the text are recognised, as HF does by
//     default.
//  2. Each remaining piece is normalized (20B: NFC, golang.org/x/text).
//  3. Added tokens with normalized=true (20B: runs of 24…2 spaces,
//     ids 50254…50276) are split out, leftmost-longest. So "a", two
//     spaces, "b" encodes as a, 50276, b: the b gets no 'Ġ' prefix.
//  4. Pieces are pre-tokenized with the GPT-2 pattern
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     by a hand-written scanner (Go's regexp has no look-ahead);
//     \s is unicode.IsSpace, \p{L} unicode.IsLetter, \p{N} unicode.IsNumber.
//  5. Each pre-token's bytes become byte-level symbols (GPT-2
//     bytes_to_unicode) and are merged by merge rank, leftmost first among
//     equal ranks. A bounded word cache (one per concurrent caller, so
//     lookups take no lock) makes repeated words cheap.
//
// No BOS/EOS is added. Decode maps each token through the inverse byte map,
// or emits its UTF-8 text when it is not made of byte-level symbols (added
// tokens such as the space runs).
//
// # World
//
// The vocabulary file has one `<id> <Python literal> <byte length>` line per
// token; the literal is a str (UTF-8 encoded) or a bytes literal (partial
// UTF-8 sequences). Encode walks a byte trie for the longest match at each
// position; id 0 is end of text, never produced by Encode, decoded as
// nothing. The text "<|endoftext|>" is tokenized literally.
//
// # Text that is not valid UTF-8, and round trips
//
// Decode returns the bytes as they are (no U+FFFD substitution), so that
// Decode(Encode(s)) == s byte for byte:
//   - World: for every input; the trie works on bytes.
//   - BPE: for valid UTF-8 that the normalizer leaves unchanged (NFC text;
//     "e\u0301" comes back as "é"). Invalid UTF-8 is accepted: each invalid
//     byte is a symbol of its own, classified like U+FFFD by the
//     pre-tokenizer, and round-trips through the byte map — except bytes
//     that never occur in UTF-8 (0xC0, 0xC1, 0xF5–0xFF) when the vocabulary
//     lacks them, as the 20B one does; those become U+FFFD. HF itself never
//     sees invalid UTF-8 (its input is a Rust String).
//
// # GGUF
//
// GGUFVocab (a method of every Tokenizer) returns the data llama.cpp stores
// under tokenizer.ggml.* keys — model ("gpt2"/"rwkv"), pre, tokens by id,
// token types, merges — plus the normalizer name, which llama.cpp lacks and
// which rwkv-tools stores under GGUFNormalizerKey. FromGGUFVocab rebuilds an
// equivalent tokenizer from exactly that data. See GGUFVocab for the token
// conventions (World tokens are stored as the body of Python's bytes repr,
// as llama.cpp's converter does).
//
// All tokenizers are safe for concurrent use.
package tokenizer
