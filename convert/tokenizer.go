package convert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/tokenizer"
)

// llama.cpp's tokenizer keys.
const (
	KeyTokModel  = "tokenizer.ggml.model"
	KeyTokPre    = "tokenizer.ggml.pre"
	KeyTokTokens = "tokenizer.ggml.tokens"
	KeyTokTypes  = "tokenizer.ggml.token_type"
	KeyTokMerges = "tokenizer.ggml.merges"
	// KeyTokEOT and KeyChatTemplate are what llama.cpp's converter adds
	// for the World vocabulary (_set_vocab_rwkv_world).
	KeyTokEOT = "tokenizer.ggml.eot_token_id"
	// KeyTokBOS and KeyTokEOS: llama.cpp's BPE vocabulary otherwise takes
	// id 11 for both (llama_vocab::impl::load, "gpt2" defaults).
	KeyTokBOS       = "tokenizer.ggml.bos_token_id"
	KeyTokEOS       = "tokenizer.ggml.eos_token_id"
	KeyChatTemplate = "tokenizer.chat_template"
)

// TokModelNone is tokenizer.ggml.model of a file without a vocabulary
// (llama.cpp's LLAMA_VOCAB_TYPE_NONE, src/llama-vocab.cpp: "no_vocab" or
// "none").
const TokModelNone = "none"

// knownTokenizer describes one of the two vocabularies released RWKV
// models use: the file to look for and where its official copy lives.
type knownTokenizer struct {
	family    string
	files     []string // names looked for beside the checkpoint
	published string
}

var knownTokenizers = []knownTokenizer{
	{"gpt-neox-20b", []string{"20B_tokenizer.json", "tokenizer.json"},
		"20B_tokenizer.json (GPT-NeoX-20B BPE), published in github.com/BlinkDL/ChatRWKV as v2/20B_tokenizer.json and in github.com/BlinkDL/RWKV-LM as RWKV-v4/20B_tokenizer.json"},
	{"rwkv-world", []string{"rwkv_vocab_v20230424.txt"},
		"rwkv_vocab_v20230424.txt (RWKV World), published in github.com/BlinkDL/ChatRWKV as rwkv_pip_package/src/rwkv/rwkv_vocab_v20230424.txt"},
}

// findTokenizer looks beside the checkpoint for the tokenizer file of the
// model's family. It returns the path, or "" and a note telling the user
// which file to supply.
func findTokenizer(ckptPath string, vocab int) (string, string) {
	family := TokenizerFamily(vocab)
	if family == FamilyBytes {
		return "", "" // needs no file: bytesTokenizerMetadata
	}
	for _, k := range knownTokenizers {
		if k.family != family {
			continue
		}
		for _, name := range k.files {
			p := filepath.Join(filepath.Dir(ckptPath), name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, ""
			}
		}
		return "", fmt.Sprintf("no tokenizer stored: vocab %d is the %s tokenizer; pass --tokenizer with %s, or put it beside the checkpoint", vocab, family, k.published)
	}
	return "", fmt.Sprintf("no tokenizer stored: vocab %d matches no known RWKV tokenizer; pass --tokenizer FILE to store one", vocab)
}

// tokenizerMetadata loads the tokenizer at path and returns the GGUF keys
// that store it, padded to the model's vocabulary.
func tokenizerMetadata(path string, vocab int) (format.Metadata, tokenizer.Tokenizer, error) {
	tok, err := tokenizer.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if tok.VocabSize() > vocab {
		return nil, nil, fmt.Errorf("tokenizer %s has %d tokens but the model's vocabulary has %d rows; it belongs to another model", path, tok.VocabSize(), vocab)
	}
	v, err := tok.GGUFVocab()
	if err != nil {
		return nil, nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	v.PadTo(vocab)
	md := format.Metadata{
		KeyTokModel:  format.String(v.Model),
		KeyTokTokens: format.Strings(v.Tokens),
		KeyTokTypes:  format.Int32s(v.TokenTypes),
	}
	if v.Pre != "" {
		md[KeyTokPre] = format.String(v.Pre)
	}
	if len(v.Merges) > 0 {
		md[KeyTokMerges] = format.Strings(v.Merges)
	}
	if v.Normalizer != "" {
		md[tokenizer.GGUFNormalizerKey] = format.String(v.Normalizer)
	}
	if i := slices.Index(v.Tokens, "<|endoftext|>"); v.Model == tokenizer.GGUFModelBPE && i >= 0 {
		// GPT-NeoX 20B: <|endoftext|> (id 0) is its bos and eos token
		// (tokenizer_config.json of EleutherAI/gpt-neox-20b), which
		// llama.cpp's converter writes through gguf.SpecialVocab.
		md[KeyTokBOS] = format.Uint32(uint32(i))
		md[KeyTokEOS] = format.Uint32(uint32(i))
	}
	if v.Model == tokenizer.GGUFModelWorld && vocab > 261 {
		// convert_hf_to_gguf.py _set_vocab_rwkv_world: "Add '\n\n' as
		// the EOT token to make it chat normally" (World id 261) and the
		// named chat template "rwkv-world".
		md[KeyTokEOT] = format.Uint32(261)
		md[KeyChatTemplate] = format.String("rwkv-world")
	}
	return md, tok, nil
}

// ErrNoTokenizer means a model file carries no tokenizer.
var ErrNoTokenizer = errors.New("the model file carries no tokenizer")

// TokenizerFromMetadata rebuilds the tokenizer a model file stores.
func TokenizerFromMetadata(md format.Metadata) (tokenizer.Tokenizer, error) {
	model, err := md.String(KeyTokModel)
	if errors.Is(err, format.ErrMissingKey) || (err == nil && (model == TokModelNone || model == "no_vocab")) {
		if kind, err := md.String(KeyTokBytes); err == nil && kind == tokenizer.KindBytes {
			return tokenizer.NewBytes(), nil
		}
		return nil, ErrNoTokenizer
	}
	if err != nil {
		return nil, err
	}
	v := tokenizer.GGUFVocab{Model: model}
	if v.Tokens, err = md.Strings(KeyTokTokens); err != nil {
		return nil, err
	}
	if _, ok := md[KeyTokTypes]; ok {
		if v.TokenTypes, err = md.Int32s(KeyTokTypes); err != nil {
			return nil, err
		}
	}
	if _, ok := md[KeyTokPre]; ok {
		if v.Pre, err = md.String(KeyTokPre); err != nil {
			return nil, err
		}
	}
	if _, ok := md[KeyTokMerges]; ok {
		if v.Merges, err = md.Strings(KeyTokMerges); err != nil {
			return nil, err
		}
	}
	if _, ok := md[tokenizer.GGUFNormalizerKey]; ok {
		if v.Normalizer, err = md.String(tokenizer.GGUFNormalizerKey); err != nil {
			return nil, err
		}
	}
	return tokenizer.FromGGUFVocab(v)
}

// TokenizerMetadata returns the GGUF keys that store the tokenizer file at
// path (tokenizer.json or rwkv_vocab_*.txt) in a model of vocab rows, as
// convert stores it (used by synth).
func TokenizerMetadata(path string, vocab int) (format.Metadata, error) {
	md, _, err := tokenizerMetadata(path, vocab)
	return md, err
}

// FamilyBytes is the tokenizer family of vocab-256 models (the tiny
// rwkv.cpp models): byte-level, token id = byte value.
const FamilyBytes = "bytes"

// KeyTokBytes records the byte-level tokenizer (value tokenizer.KindBytes).
// It is rwkv-tools' own key, and the only one written for it: llama.cpp has
// no byte-only vocabulary, and a tokenizer.ggml.model it does not know
// would stop it from loading the file, which it runs without a vocabulary.
const KeyTokBytes = "rwkvtools.tokenizer.bytes"

// bytesTokenizerMetadata records the byte-level tokenizer, which needs no
// file.
func bytesTokenizerMetadata() format.Metadata {
	return format.Metadata{KeyTokBytes: format.String(tokenizer.KindBytes)}
}
