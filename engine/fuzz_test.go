package engine_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil/craft"
)

// FuzzLoadMetadata feeds Load a real tiny model's tensors under fuzzed
// metadata: any claimed dims, head size or architecture must give a model
// that runs or an error, never a panic or a huge allocation (the 2^24-layer
// claim of issue 11).
func FuzzLoadMetadata(f *testing.F) {
	f.Add("rwkv4", uint64(300), uint64(16), uint64(2), uint64(64), uint64(0))
	f.Add("rwkv4", uint64(300), uint64(16), uint64(1<<24), uint64(64), uint64(0))
	f.Add("rwkv4", uint64(1<<24), uint64(1<<24), uint64(1<<20), uint64(1<<24), uint64(0))
	f.Add("rwkv5", uint64(300), uint64(16), uint64(2), uint64(64), uint64(8))
	f.Add("rwkv7", uint64(300), uint64(16), uint64(2), uint64(64), uint64(1<<40))
	f.Fuzz(func(t *testing.T, archName string, vocab, embd, layers, ffn, headSize uint64) {
		md := format.Metadata{
			"general.architecture":                     format.String(archName),
			arch.Key(archName, arch.KeyVocabSize):      format.Uint64(vocab),
			arch.Key(archName, arch.KeyEmbeddingLen):   format.Uint64(embd),
			arch.Key(archName, arch.KeyBlockCount):     format.Uint64(layers),
			arch.Key(archName, arch.KeyFeedForwardLen): format.Uint64(ffn),
		}
		if headSize != 0 {
			md[arch.Key(archName, arch.KeyHeadSize)] = format.Uint64(headSize)
		}
		path, err := craft.RWKV4(t.TempDir(), "m.gguf", craft.TinyDims, craft.Options{Metadata: md})
		if err != nil {
			return // e.g. an architecture name the writer refuses
		}
		loadAndRun(t, path)
	})
}

// FuzzLoadFile mutates a whole tiny model file: whatever the GGUF reader
// accepts, Load must accept and run or refuse.
func FuzzLoadFile(f *testing.F) {
	path, err := craft.RWKV4(f.TempDir(), "m.gguf", arch.Dims{Vocab: 8, Embd: 4, Layers: 1, FFN: 8}, craft.Options{})
	if err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := format.Parse(b); err != nil {
			return
		}
		p := filepath.Join(t.TempDir(), "m.gguf")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		loadAndRun(t, p)
	})
}

func loadAndRun(t *testing.T, path string) {
	f, err := format.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	m, err := engine.Load(f, engine.Options{Threads: 1})
	if err != nil {
		return
	}
	cfg := m.Config()
	if cfg.Layers > len(f.Tensors) || cfg.Vocab <= 0 {
		t.Fatalf("loaded a model claiming %+v over %d tensors", cfg, len(f.Tensors))
	}
	logits := make([]float32, cfg.Vocab)
	if err := m.Step(m.NewState(), 0, logits); err != nil {
		t.Fatalf("a loaded model fails to run: %v", err)
	}
}

// FuzzReadState: the state reader refuses or round-trips; it never panics
// and never allocates what a header claims beyond the bytes present.
func FuzzReadState(f *testing.F) {
	st := &engine.State{Arch: "rwkv4", Layers: 2, Embd: 4, Data: make([]float32, 2*5*4)}
	for i := range st.Data {
		st.Data[i] = float32(i) / 7
	}
	var buf bytes.Buffer
	st.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add(append(bytes.Clone(buf.Bytes()), 0))
	f.Add(buf.Bytes()[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := engine.ReadState(bytes.NewReader(b))
		if err == nil {
			var out bytes.Buffer
			got.WriteTo(&out)
			if !bytes.Equal(out.Bytes(), b) {
				t.Fatalf("read %d bytes, wrote back %d different ones", len(b), out.Len())
			}
		}
		into := &engine.State{Arch: "rwkv4", Layers: 2, Embd: 4, Data: make([]float32, 40)}
		if err := engine.ReadStateInto(bytes.NewReader(b), into); err == nil && len(b) != buf.Len() {
			t.Fatalf("accepted %d bytes for a %d-byte state", len(b), buf.Len())
		}
	})
}
