package llamacpp_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/arch/llamacpp"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// tinyFile encodes a small rwkv6 or rwkv7 file in llama.cpp's layout
// (zero weights) from the arch table: a fuzz seed that passes Check.
func tinyFile(t testing.TB, a string) []byte {
	d := arch.Dims{Vocab: 8, Embd: 4, Layers: 2, FFN: 8, HeadSize: 2, MixLora: 1, DecayLora: 1, ICLRLora: 1, ValueLora: 1, GateLora: 1}
	ts, err := arch.Tensors(a, d)
	if err != nil {
		t.Fatal(err)
	}
	md := format.Metadata{
		"general.architecture": format.String(a), a + ".context_length": format.Uint32(1 << 20), a + ".embedding_length": format.Uint32(4),
		a + ".block_count": format.Uint32(2), a + ".feed_forward_length": format.Uint32(8), a + ".attention.head_count": format.Uint32(0),
		a + ".attention.layer_norm_epsilon": format.Float32(1e-5), a + ".wkv.head_size": format.Uint32(2),
		a + ".vocab_size": format.Uint32(8), "tokenizer.ggml.model": format.String("none"),
	}
	for _, k := range []string{"time_mix_extra_dim", "time_decay_extra_dim", "attention.decay_lora_rank", "attention.iclr_lora_rank",
		"attention.value_residual_mix_lora_rank", "attention.gate_lora_rank"} {
		md[a+"."+k] = format.Uint32(1)
	}
	var ws []format.WriteTensor
	for _, x := range ts {
		info := format.TensorInfo{Name: x.Name, DType: quant.F32, Dims: x.GGUFDims()}
		n := 4 * info.NumElements()
		ws = append(ws, format.WriteTensor{TensorInfo: info, Write: func(w io.Writer) error { _, err := w.Write(make([]byte, n)); return err }})
	}
	var b bytes.Buffer
	if err := format.Write(&b, md, ws); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestTinyFilesPass(t *testing.T) {
	for _, a := range []string{arch.RWKV6, arch.RWKV7} {
		f, err := format.Parse(tinyFile(t, a))
		if err != nil {
			t.Fatal(err)
		}
		if r := llamacpp.Check(f.Metadata, f.Tensors); !r.OK() {
			t.Errorf("%s: %q", a, r.Problems)
		}
	}
}

// FuzzCheck: Check never panics on any file the GGUF reader accepts.
func FuzzCheck(f *testing.F) {
	f.Add(tinyFile(f, arch.RWKV6))
	f.Add(tinyFile(f, arch.RWKV7))
	m, _ := filepath.Glob(filepath.Join(testutil.RepoRoot(), "format", "testdata", "*.gguf"))
	for _, p := range m {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := format.Parse(b)
		if err != nil {
			return
		}
		llamacpp.Check(g.Metadata, g.Tensors)
	})
}
