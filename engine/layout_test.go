package engine_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch/llamacpp"
	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
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
	g, err := format.Open(rwkvTools1Path(t, f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// rwkvTools1Path writes rwkvTools1's file and returns its path.
func rwkvTools1Path(t *testing.T, f *format.File) string {
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
	p := filepath.Join(t.TempDir(), "rwkv-tools-1.gguf")
	if err := format.WriteFile(context.Background(), p, md, ws); err != nil {
		t.Fatal(err)
	}
	return p
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

// TestQuantizeUpgradesRWKVTools1: quantize writes a file of the
// rwkv-tools-1 layout in llama.cpp's layout, byte for byte the tensors
// (and the same logits) that quantizing the llama.cpp-layout file gives.
func TestQuantizeUpgradesRWKVTools1(t *testing.T) {
	for _, ref := range []string{"tiny-v6-bf16.pth", "tiny-v7-bf16.pth"} {
		t.Run(ref, func(t *testing.T) {
			curPath := filepath.Join(t.TempDir(), "m.gguf")
			if _, err := convert.Convert(context.Background(), testutil.Shared(t, "reference", ref), curPath, convert.Options{}); err != nil {
				t.Fatal(err)
			}
			cur, err := format.Open(curPath)
			if err != nil {
				t.Fatal(err)
			}
			defer cur.Close()
			oldPath := rwkvTools1Path(t, cur)
			quantized := func(in string) *format.File {
				out := filepath.Join(t.TempDir(), "q.gguf")
				rep, err := convert.Quantize(context.Background(), in, out, convert.QuantizeOptions{Type: quant.Q8_0})
				if err != nil {
					t.Fatal(err)
				}
				if in == oldPath && !strings.Contains(strings.Join(rep.Notes, " "), "earlier layout") {
					t.Errorf("no note on the layout change: %q", rep.Notes)
				}
				q, err := format.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { q.Close() })
				return q
			}
			a, b := quantized(curPath), quantized(oldPath)
			if r := llamacpp.Check(b.Metadata, b.Tensors); !r.OK() {
				t.Fatalf("quantized rwkv-tools-1 file is not in llama.cpp's layout: %q", r.Problems)
			}
			if len(a.Tensors) != len(b.Tensors) {
				t.Fatalf("%d tensors, want %d", len(b.Tensors), len(a.Tensors))
			}
			for i, ta := range a.Tensors {
				tb := b.Tensors[i]
				_, da, _ := a.Tensor(ta.Name)
				_, db, _ := b.Tensor(tb.Name)
				if ta.Name != tb.Name || ta.DType != tb.DType || fmt.Sprint(ta.Dims) != fmt.Sprint(tb.Dims) || string(da) != string(db) {
					t.Errorf("tensor %d: %s %v %v, want %s %v %v (or other bytes)", i, tb.Name, tb.Dims, tb.DType, ta.Name, ta.Dims, ta.DType)
				}
			}
			if len(a.Metadata) != len(b.Metadata) {
				t.Errorf("%d keys, want %d", len(b.Metadata), len(a.Metadata))
			}
			for _, k := range a.Metadata.Keys() {
				if strings.HasPrefix(k, "rwkvtools.quantize.source.") {
					continue
				}
				if a.Metadata[k].Format() != b.Metadata[k].Format() {
					t.Errorf("key %s: %s, want %s", k, b.Metadata[k].Format(), a.Metadata[k].Format())
				}
			}
		})
	}
}
