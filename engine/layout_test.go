package engine_test

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// rwkvTools1 rewrites a file convert writes (llama.cpp's layout) the way
// rwkv-tools wrote it before it followed llama.cpp's converter (the
// rwkv-tools-1 layout, docs/FORMAT.md): the fused token-shift rows as
// separate time_mix_lerp_* vectors, rwkv7's time_mix_r_k as (H, N), no
// rwkv7 layer-0 time_mix_v0/v1/v2, the LayerNorm epsilon under
// <arch>.layer_norm_epsilon, and none of context_length,
// attention.head_count, rescale_every_n_layers or tokenizer.ggml.model.
func rwkvTools1(t *testing.T, f *format.File) *format.File {
	t.Helper()
	a, err := f.Metadata.String("general.architecture")
	if err != nil {
		t.Fatal(err)
	}
	md := format.Metadata{}
	for k, v := range f.Metadata {
		switch k {
		case a + ".context_length", a + ".attention.head_count", a + ".rescale_every_n_layers", "tokenizer.ggml.model":
		case a + ".attention.layer_norm_epsilon":
			md[a+".layer_norm_epsilon"] = v
		default:
			md[k] = v
		}
	}
	rows := map[string][]string{"rwkv6": {"w", "k", "v", "r", "g"}, "rwkv7": {"r", "w", "k", "v", "a", "g"}}[a]
	head, _ := f.Metadata.Uint(a + ".wkv.head_size")
	var ws []format.WriteTensor
	add := func(name string, dims []uint64, ti format.TensorInfo, data []byte) {
		ti.Name, ti.Dims = name, dims
		ws = append(ws, format.WriteTensor{TensorInfo: ti, Write: func(w io.Writer) error { _, err := w.Write(data); return err }})
	}
	for _, ti := range f.Tensors {
		_, data, err := f.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		block, suffix, _ := strings.Cut(strings.TrimPrefix(ti.Name, "blk."), ".")
		switch {
		case suffix == "time_mix_lerp_fused.weight":
			C := ti.Dims[0]
			for i, x := range rows {
				add(fmt.Sprintf("blk.%s.time_mix_lerp_%s.weight", block, x), []uint64{C}, ti, data[4*C*uint64(i):4*C*uint64(i+1)])
			}
		case a == "rwkv7" && suffix == "time_mix_r_k.weight":
			add(ti.Name, []uint64{head, ti.Dims[0] / head}, ti, data)
		case a == "rwkv7" && block == "0" && (suffix == "time_mix_v0.weight" || suffix == "time_mix_v1.weight" || suffix == "time_mix_v2.weight"):
		default:
			add(ti.Name, ti.Dims, ti, data)
		}
	}
	return writeGGUF(t, md, ws)
}

// TestRWKVTools1Layout: files in the layout rwkv-tools wrote before it
// followed llama.cpp's converter still load, and give the same logits bit
// for bit as the same model in llama.cpp's layout (references, rwkv.cpp
// files, a quantized one).
func TestRWKVTools1Layout(t *testing.T) {
	for _, src := range []string{
		filepath.Join("reference", "tiny-v6-bf16.pth"),
		filepath.Join("reference", "tiny-v7-bf16.pth"),
		filepath.Join("fixtures", "rwkvcpp", "tiny-rwkv-6v0-3m-Q5_1.bin"),
		filepath.Join("fixtures", "rwkvcpp", "tiny-rwkv-7v0-834K-Q5_1.bin"),
	} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			cur := convertGGUF(t, testutil.Shared(t, src))
			old := rwkvTools1(t, cur)
			if _, ok := old.Lookup("blk.0.time_mix_lerp_fused.weight"); ok || len(old.Tensors) <= len(cur.Tensors) {
				t.Fatalf("rewrite kept the fused tensor, or did not split it (%d tensors, %d before)", len(old.Tensors), len(cur.Tensors))
			}
			logits := func(f *format.File) []float32 {
				m, err := engine.Load(f, engine.Options{})
				if err != nil {
					t.Fatal(err)
				}
				tokens := tokenRun(12)
				out := make([]float32, len(tokens)*m.Config().Vocab)
				if err := m.Sequence(m.NewState(), tokens, out); err != nil {
					t.Fatal(err)
				}
				return out
			}
			if d := maxAbs(logits(cur), logits(old)); d != 0 {
				t.Fatalf("the rwkv-tools-1 layout gives other logits: max |Δ| %g", d)
			}
		})
	}
}
