package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/convert/ckpt"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil/craft"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

func fixture(name string) string { return testutil.Testdata("pth", name) }

// convertTo converts in into a fresh temp dir and returns the output path.
func convertTo(t *testing.T, in string, dt DTypeChoice) (string, *Report) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.gguf")
	rep, err := Convert(context.Background(), in, out, Options{DType: dt})
	if err != nil {
		t.Fatalf("convert %s: %v", filepath.Base(in), err)
	}
	return out, rep
}

// provenanceKeys differ between inputs by design (file name, hash, format).
var provenanceKeys = []string{"general.name", KeySourceFile, KeySourceSHA256, KeySourceFormat}

// modelContent returns the file with the provenance keys blanked, so files
// converted from different containers can be compared byte for byte:
// it re-parses and re-serialises metadata deterministically.
func modelContent(t *testing.T, path string) (format.Metadata, map[string][]byte) {
	t.Helper()
	f, err := format.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md := format.Metadata{}
	for k, v := range f.Metadata {
		if !slices.Contains(provenanceKeys, k) {
			md[k] = v
		}
	}
	data := map[string][]byte{}
	for _, ti := range f.Tensors {
		_, b, err := f.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		data[ti.Name] = append([]byte(nil), b...)
	}
	return md, data
}

// TestContainersConvertIdentically: every container and layout of the same
// bf16 weights (plain, one shared storage, strided views, nn.Parameter,
// state_dict wrapper, legacy format, safetensors) gives the same model.
func TestContainersConvertIdentically(t *testing.T) {
	same := []string{
		"rwkv4-bf16.pth", "rwkv4-bf16-flat.pth", "rwkv4-bf16-strided.pth", "rwkv4-bf16-module.pth",
		"rwkv4-bf16-wrapped.pth", "rwkv4-bf16-legacy.pth", "rwkv4-bf16.safetensors",
		"rwkv4-fp32.pth", // holds the bf16 values exactly
	}
	for _, dt := range []DTypeChoice{DTypeF32, DTypeBF16, DTypeF16} {
		refPath, _ := convertTo(t, fixture(same[0]), dt)
		refMD, refData := modelContent(t, refPath)
		for _, name := range same[1:] {
			out, rep := convertTo(t, fixture(name), dt)
			md, data := modelContent(t, out)
			if len(md) != len(refMD) {
				t.Errorf("%s --dtype %s: %d metadata keys, want %d", name, dt, len(md), len(refMD))
			}
			for k, v := range refMD {
				if md[k].Format() != v.Format() {
					t.Errorf("%s --dtype %s: metadata %s = %s, want %s", name, dt, k, md[k].Format(), v.Format())
				}
			}
			for k, v := range refData {
				if !bytes.Equal(data[k], v) {
					t.Errorf("%s --dtype %s: tensor %s differs", name, dt, k)
				}
			}
			if rep.Detection.Dims.Layers != 2 || rep.Detection.Dims.Embd != 16 {
				t.Errorf("%s: dims %+v", name, rep.Detection.Dims)
			}
		}
	}
}

// TestF16SourceMatchesTorch: an fp16 checkpoint converted with --dtype
// source keeps torch's f16 bits, equal to what our bf16 → f16 gives.
func TestF16SourceMatchesTorch(t *testing.T) {
	fromF16, _ := convertTo(t, fixture("rwkv4-fp16.pth"), DTypeSource)
	fromBF16, _ := convertTo(t, fixture("rwkv4-bf16.pth"), DTypeF16)
	_, a := modelContent(t, fromF16)
	_, b := modelContent(t, fromBF16)
	for name, want := range b {
		got := a[name]
		if len(got) != len(want) {
			t.Fatalf("%s: %d bytes vs %d", name, len(got), len(want))
		}
		if !bytes.Equal(got, want) && !strings.Contains(name, "decay") {
			// Vectors are F32 in both: from f16 they are exact f16 values,
			// from bf16 the exact bf16 values; they may differ only where f16
			// rounded (tiny values).
			for i := 0; i+4 <= len(got); i += 4 {
				x := math.Float32frombits(binary.LittleEndian.Uint32(got[i:]))
				y := math.Float32frombits(binary.LittleEndian.Uint32(want[i:]))
				if quant.F32ToF16(y) != quant.F32ToF16(x) {
					t.Fatalf("%s: element %d: %g vs %g", name, i/4, x, y)
				}
			}
		}
	}
}

func TestDeterministicOutput(t *testing.T) {
	for _, name := range []string{"rwkv4-bf16-flat.pth", "rwkv4-bf16-legacy.pth"} {
		a, _ := convertTo(t, fixture(name), DTypeF16)
		b, _ := convertTo(t, fixture(name), DTypeF16)
		ab, _ := os.ReadFile(a)
		bb, _ := os.ReadFile(b)
		if !bytes.Equal(ab, bb) {
			t.Errorf("%s: two conversions differ", name)
		}
	}
}

func TestMetadataAndTransforms(t *testing.T) {
	out, rep := convertTo(t, fixture("rwkv4-bf16.pth"), DTypeSource)
	f, err := format.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for key, want := range map[string]string{
		"general.architecture": `"rwkv4"`, "rwkv4.vocab_size": "64", "rwkv4.embedding_length": "16",
		"rwkv4.block_count": "2", "rwkv4.feed_forward_length": "64", KeySourceFormat: `"pth"`,
		"general.file_type": "32",
	} {
		if got := f.Metadata[key].Format(); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if rep.SHA256 == "" || f.Metadata[KeySourceSHA256].Format() != `"`+rep.SHA256+`"` {
		t.Errorf("sha256 not recorded")
	}
	// time_decay is stored as −exp(time_decay), computed from the bf16 value.
	ck, err := ckpt.Open(fixture("rwkv4-bf16.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	src, _ := ck.Tensor("blocks.1.att.time_decay").Bytes()
	ti, got, err := f.Tensor("blk.1.time_mix_decay.weight")
	if err != nil || ti.DType != quant.F32 {
		t.Fatal(err, ti.DType)
	}
	for i := 0; i < len(src)/2; i++ {
		x := quant.BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		want := float32(-math.Exp(float64(x)))
		if g := math.Float32frombits(binary.LittleEndian.Uint32(got[4*i:])); g != want {
			t.Fatalf("decay[%d] = %g, want %g", i, g, want)
		}
	}
	// Every vector is F32, every matrix keeps bf16 with --dtype source.
	for _, ti := range f.Tensors {
		want := quant.F32
		if len(ti.Dims) == 2 {
			want = quant.BF16
		}
		if ti.DType != want {
			t.Errorf("%s: %v, want %v", ti.Name, ti.DType, want)
		}
	}
}

// --- malformed inputs -------------------------------------------------------

// stTensor is one tensor for writeSafetensors.
type stTensor struct {
	name  string
	dtype string
	shape []int64
	data  []byte
}

// writeSafetensors writes a safetensors file (to craft inputs the PyTorch
// fixtures do not cover).
func writeSafetensors(t *testing.T, path string, ts []stTensor) {
	t.Helper()
	hdr := map[string]any{}
	var blob []byte
	for _, x := range ts {
		hdr[x.name] = map[string]any{"dtype": x.dtype, "shape": x.shape, "data_offsets": []int{len(blob), len(blob) + len(x.data)}}
		blob = append(blob, x.data...)
	}
	j, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	for len(j)%8 != 0 {
		j = append(j, ' ')
	}
	var out []byte
	out = binary.LittleEndian.AppendUint64(out, uint64(len(j)))
	out = append(out, j...)
	out = append(out, blob...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureTensors reads the bf16 fixture as safetensors-ready tensors.
func fixtureTensors(t *testing.T) []stTensor {
	t.Helper()
	ck, err := ckpt.Open(fixture("rwkv4-bf16.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var ts []stTensor
	for _, x := range ck.Tensors {
		b, err := x.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, stTensor{x.Name, "BF16", slices.Clone(x.Shape), slices.Clone(b)})
	}
	return ts
}

func TestRejectsBadInput(t *testing.T) {
	bf16 := func(vals ...float32) []byte {
		var b []byte
		for _, v := range vals {
			b = binary.LittleEndian.AppendUint16(b, quant.F32ToBF16(v))
		}
		return b
	}
	good, err := os.ReadFile(fixture("rwkv4-bf16.pth"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		reason string
		make   func(t *testing.T, path string) // writes the input file
		want   string                          // substring of the error
	}{
		{"truncated zip (half)", func(t *testing.T, p string) { os.WriteFile(p, good[:len(good)/2], 0o644) }, ""},
		{"truncated zip (central directory)", func(t *testing.T, p string) { os.WriteFile(p, good[:len(good)-30], 0o644) }, ""},
		{"wrong magic", func(t *testing.T, p string) { os.WriteFile(p, append([]byte("NOPE"), good[4:]...), 0o644) }, ""},
		{"empty file", func(t *testing.T, p string) { os.WriteFile(p, nil, 0o644) }, ""},
		{"unknown global", func(t *testing.T, p string) { copyFile(t, fixture("unknown-global.pth"), p) }, "collections.Counter"},
		{"offset past storage", func(t *testing.T, p string) { copyFile(t, fixture("offset-past-storage.pth"), p) }, "past its storage"},
		{"ChatRWKV-converted", func(t *testing.T, p string) { copyFile(t, fixture("chatrwkv-converted.pth"), p) }, "ChatRWKV"},
		{"TorchScript", func(t *testing.T, p string) { copyFile(t, fixture("torchscript.pt"), p) }, "TorchScript"},
		{"missing tensor", func(t *testing.T, p string) {
			ts := fixtureTensors(t)
			ts = slices.DeleteFunc(ts, func(x stTensor) bool { return x.name == "blocks.1.att.output.weight" })
			writeSafetensors(t, p, ts)
		}, "blocks.1.att.output.weight is missing"},
		{"contradicting shape", func(t *testing.T, p string) {
			ts := fixtureTensors(t)
			for i := range ts {
				if ts[i].name == "blocks.0.att.key.weight" {
					ts[i].shape = []int64{8, 32} // same bytes, wrong shape
				}
			}
			writeSafetensors(t, p, ts)
		}, "blocks.0.att.key.weight has shape [8 32]"},
		{"unexpected tensor", func(t *testing.T, p string) {
			ts := append(fixtureTensors(t), stTensor{"blocks.0.att.extra", "BF16", []int64{2}, bf16(1, 2)})
			writeSafetensors(t, p, ts)
		}, "unexpected tensor"},
		{"NaN weight", func(t *testing.T, p string) {
			ts := fixtureTensors(t)
			for i := range ts {
				if ts[i].name == "blocks.1.ffn.value.weight" {
					copy(ts[i].data[6:], bf16(float32(math.NaN())))
				}
			}
			writeSafetensors(t, p, ts)
		}, "element 3 is NaN"},
		{"Inf weight", func(t *testing.T, p string) {
			ts := fixtureTensors(t)
			for i := range ts {
				if ts[i].name == "ln_out.bias" {
					copy(ts[i].data, bf16(float32(math.Inf(-1))))
				}
			}
			writeSafetensors(t, p, ts)
		}, "-Inf"},
		{"GPT-NeoX", func(t *testing.T, p string) {
			writeSafetensors(t, p, []stTensor{{"gpt_neox.embed_in.weight", "BF16", []int64{2}, bf16(1, 2)}})
		}, "GPT-NeoX (Pythia)"},
		{"HF RWKV naming", func(t *testing.T, p string) {
			writeSafetensors(t, p, []stTensor{{"rwkv.embeddings.weight", "BF16", []int64{2}, bf16(1, 2)}})
		}, "Hugging Face transformers naming"},
		{"not RWKV", func(t *testing.T, p string) {
			writeSafetensors(t, p, []stTensor{{"model.embed.weight", "BF16", []int64{2}, bf16(1, 2)}})
		}, "not an RWKV checkpoint"},
		{"research variant", func(t *testing.T, p string) {
			ts := append(fixtureTensors(t), stTensor{"blocks.0.ffnPre.key.weight", "BF16", []int64{2}, bf16(1, 2)})
			writeSafetensors(t, p, ts)
		}, "research variant"},
	}
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.pth")
			c.make(t, in)
			outDir := t.TempDir()
			out := filepath.Join(outDir, "out.gguf")
			_, err := Convert(context.Background(), in, out, Options{DType: DTypeF16})
			if err == nil {
				t.Fatal("converted without error")
			}
			if c.want != "" && !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("output directory not empty after a failed conversion: %v", ents)
			}
		})
	}
}

// TestOverflowToF16 refuses a bf16 value that f16 cannot hold.
func TestOverflowToF16(t *testing.T) {
	ts := fixtureTensors(t)
	for i := range ts {
		if ts[i].name == "head.weight" {
			binary.LittleEndian.PutUint16(ts[i].data[10:], quant.F32ToBF16(1e6))
		}
	}
	in := filepath.Join(t.TempDir(), "big.safetensors")
	writeSafetensors(t, in, ts)
	out := filepath.Join(t.TempDir(), "o.gguf")
	if _, err := Convert(context.Background(), in, out, Options{DType: DTypeF16}); err == nil || !strings.Contains(err.Error(), "f16 range") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Convert(context.Background(), in, out, Options{DType: DTypeBF16}); err != nil {
		t.Fatalf("bf16 output refused: %v", err)
	}
}

// TestCancelLeavesNoOutput: a cancelled conversion writes nothing.
func TestCancelLeavesNoOutput(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	out := filepath.Join(dir, "o.gguf")
	_, err := Convert(ctx, fixture("rwkv4-bf16.pth"), out, Options{DType: DTypeF32, Progress: func(done, total int, name string) {
		if done == 5 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("cancelled conversion succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
}

// TestEveryVersionConverts: every released version (v4 to v7) in every
// source format is detected as what it is and converts; nothing among them
// is refused any more (research variants are: TestResearchVariantsRefused).
func TestEveryVersionConverts(t *testing.T) {
	cases := map[string]string{
		"reference/tiny-v4-bf16.pth":                                 "RWKV-4",
		"reference/tiny-v5-bf16.pth":                                 "RWKV-5.2",
		"reference/tiny-v6-bf16.pth":                                 "RWKV-6",
		"reference/tiny-v7-bf16.pth":                                 "RWKV-7",
		"fixtures/rwkvcpp/tiny-rwkv-4v0-660K-FP32.bin":               "RWKV-4",
		"fixtures/rwkvcpp/tiny-rwkv-5v1-730K-FP32.bin":               "RWKV-5.0",
		"fixtures/rwkvcpp/tiny-rwkv-5v2-730K-FP32.bin":               "RWKV-5.2",
		"fixtures/rwkvcpp/tiny-rwkv-6v0-3m-Q5_1.bin":                 "RWKV-6",
		"fixtures/rwkvcpp/history-edea0c2/tiny-rwkv-6v0-1m-FP16.bin": "RWKV-6",
		"fixtures/rwkvcpp/tiny-rwkv-7v0-834K-FP16.bin":               "RWKV-7",
	}
	names := make([]string, 0, len(cases))
	for k := range cases {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, rel := range names {
		in := testutil.Shared(t, strings.Split(rel, "/")...)
		out := filepath.Join(t.TempDir(), "o.gguf")
		rep, err := Convert(context.Background(), in, out, Options{})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if !strings.HasPrefix(rep.Detection.Variant, cases[rel]) {
			t.Errorf("%s: detected %q, want %s", rel, rep.Detection.Variant, cases[rel])
		}
	}
}

// TestResearchVariantsRefused: research variants that no released model
// uses (RWKV-6 x060a/b/c with gate_w1 or time_maa_rkvw_w1, RWKV-7a
// DeepEmbed with ffn.s_emb/s0/s1/s2) are refused by name, writing nothing.
func TestResearchVariantsRefused(t *testing.T) {
	for _, c := range []struct {
		base, extra, want string
	}{
		{"tiny-v6-bf16.pth", "blocks.0.att.gate_w1", "RWKV-6 research variant"},
		{"tiny-v6-bf16.pth", "blocks.1.att.time_maa_rkvw_w1", "RWKV-6 research variant"},
		{"tiny-v7-bf16.pth", "blocks.0.ffn.s_emb.weight", "DeepEmbed"},
		{"tiny-v7-bf16.pth", "blocks.1.ffn.s1", "DeepEmbed"},
	} {
		t.Run(c.extra, func(t *testing.T) {
			ts := ckptTensors(t, testutil.Shared(t, "reference", c.base))
			ts = append(ts, stTensor{c.extra, "BF16", []int64{2, 2}, make([]byte, 8)})
			p := filepath.Join(t.TempDir(), "in.safetensors")
			writeSafetensors(t, p, ts)
			outDir := t.TempDir()
			_, err := Convert(context.Background(), p, filepath.Join(outDir, "o.gguf"), Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.extra) {
				t.Errorf("err = %v", err)
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("output written: %v", ents)
			}
		})
	}
}

func TestSameFileRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.pth")
	copyFile(t, fixture("rwkv4-bf16.pth"), p)
	if _, err := Convert(context.Background(), p, p, Options{}); err == nil {
		t.Fatal("converting onto the input accepted")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRWKVCppQuantized: a quantized rwkv.cpp file keeps its ggml blocks
// byte for byte with --dtype source (file_type and quantization_version
// recorded), and --dtype f32 stores exactly quant.DequantizeRow's values.
func TestRWKVCppQuantized(t *testing.T) {
	for _, c := range []struct {
		file     string
		dt       quant.DType
		fileType uint32
	}{
		{"tiny-rwkv-4v0-660K-Q5_0.bin", quant.Q5_0, 8},
		{"tiny-rwkv-4v0-660K-Q5_1.bin", quant.Q5_1, 9},
		{"quantized/tiny-rwkv-4v0-660K-FP32-to-Q4_0.bin", quant.Q4_0, 2},
		{"quantized/tiny-rwkv-4v0-660K-FP32-to-Q4_1.bin", quant.Q4_1, 3},
		{"quantized/tiny-rwkv-4v0-660K-FP32-to-Q8_0.bin", quant.Q8_0, 7},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			in := testutil.Shared(t, append([]string{"fixtures", "rwkvcpp"}, strings.Split(c.file, "/")...)...)
			ck, err := ckpt.Open(in)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			const name, srcName = "blk.1.time_mix_key.weight", "blocks.1.att.key.weight"
			src := ck.Tensor(srcName)
			if src == nil || src.DType != c.dt {
				t.Fatalf("%s: %+v", srcName, src)
			}
			srcBytes, err := src.Bytes()
			if err != nil {
				t.Fatal(err)
			}

			out, rep := convertTo(t, in, DTypeSource)
			quantized := 0
			for _, tr := range rep.Tensors {
				if tr.From != tr.To && tr.From != quant.F32 {
					t.Errorf("--dtype source: %s %v → %v", tr.Name, tr.From, tr.To)
				}
				if tr.To == c.dt {
					quantized++
				}
			}
			if quantized != 28 { // 7 matrices × 4 layers; emb and head stay F32
				t.Errorf("%d %v tensors, want 28", quantized, c.dt)
			}
			f, err := format.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if ft, err := f.Metadata.Uint("general.file_type"); err != nil || ft != uint64(c.fileType) {
				t.Errorf("general.file_type = %d (%v), want %d", ft, err, c.fileType)
			}
			if qv, err := f.Metadata.Uint("general.quantization_version"); err != nil || qv != 2 {
				t.Errorf("general.quantization_version = %d (%v), want 2", qv, err)
			}
			ti, got, err := f.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			if ti.DType != c.dt || !bytes.Equal(got, srcBytes) {
				t.Errorf("--dtype source: %s is %v, bytes equal: %v", name, ti.DType, bytes.Equal(got, srcBytes))
			}

			out32, _ := convertTo(t, in, DTypeF32)
			f32, err := format.Open(out32)
			if err != nil {
				t.Fatal(err)
			}
			defer f32.Close()
			if _, err := f32.Metadata.Uint("general.quantization_version"); err == nil {
				t.Error("--dtype f32 output has general.quantization_version")
			}
			ti, got, err = f32.Tensor(name)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, src.NumElements())
			if err := quant.DequantizeRow(c.dt, want, srcBytes); err != nil {
				t.Fatal(err)
			}
			if ti.DType != quant.F32 || len(got) != 4*len(want) {
				t.Fatalf("--dtype f32: %s is %v, %d bytes", name, ti.DType, len(got))
			}
			for i, w := range want {
				if g := binary.LittleEndian.Uint32(got[4*i:]); g != math.Float32bits(w) {
					t.Fatalf("--dtype f32: %s[%d] = %g, dequantized %g", name, i, math.Float32frombits(g), w)
				}
			}
		})
	}
}

// TestEncodeBlocks: block data is length-checked, and a non-finite value
// (an f16 scale of Inf) is refused whether the blocks are kept or decoded.
func TestEncodeBlocks(t *testing.T) {
	blk := make([]byte, 34) // one Q8_0 block
	blk[2] = 1
	var buf bytes.Buffer
	if _, err := encodeTensor(&buf, "w", blk, 32, quant.Q8_0, quant.Q8_0, nil); err != nil || !bytes.Equal(buf.Bytes(), blk) {
		t.Fatalf("kept block: %v, %x", err, buf.Bytes())
	}
	if _, err := encodeTensor(&buf, "w", blk[:33], 32, quant.Q8_0, quant.Q8_0, nil); err == nil {
		t.Error("short block accepted")
	}
	if _, err := encodeTensor(&buf, "w", blk, 64, quant.Q8_0, quant.F32, nil); err == nil {
		t.Error("64 elements from one block accepted")
	}
	// Re-quantizing (quantize --allow-requantize) decodes, then encodes.
	vals := make([]float32, 32)
	quant.DequantizeRow(quant.Q8_0, vals, blk)
	want := make([]byte, 18)
	quant.QuantizeRow(quant.Q4_0, want, vals)
	buf.Reset()
	if _, err := encodeTensor(&buf, "w", blk, 32, quant.Q8_0, quant.Q4_0, nil); err != nil || !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("Q8_0 to Q4_0: %v, %x, want %x", err, buf.Bytes(), want)
	}
	if _, err := encodeTensor(&buf, "w", make([]byte, 64), 16, quant.F32, quant.Q4_0, nil); err == nil {
		t.Error("16 elements encoded as Q4_0 blocks")
	}
	big := make([]byte, 128)
	binary.LittleEndian.PutUint32(big, math.Float32bits(1e9))
	if _, err := encodeTensor(&buf, "w", big, 32, quant.F32, quant.Q8_0, nil); err == nil || !strings.Contains(err.Error(), "f16 range") {
		t.Errorf("1e9 in a Q8_0 block: %v", err)
	}
	binary.LittleEndian.PutUint16(blk, 0x7c00) // d = +Inf
	for _, to := range []quant.DType{quant.Q8_0, quant.F32} {
		if _, err := encodeTensor(&buf, "w", blk, 32, quant.Q8_0, to, nil); err == nil || !strings.Contains(err.Error(), "non-finite") {
			t.Errorf("Inf scale, to %v: %v", to, err)
		}
	}
}

// TestAliasingRefused is hostile case D: a small .pth whose tensors all
// view one storage would expand to a GGUF far larger than itself; convert
// refuses before writing, unless AllowLargeOutput.
func TestAliasingRefused(t *testing.T) {
	dir := t.TempDir()
	in, err := craft.AliasingPth(dir, "alias.pth", 256, 256, 1024, 64)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(in)
	out := filepath.Join(dir, "out.gguf")
	_, err = Convert(context.Background(), in, out, Options{NoTokenizer: true})
	if err == nil || !strings.Contains(err.Error(), "--allow-large-output") {
		t.Fatalf("%d-byte input: err = %v", st.Size(), err)
	}
	t.Logf("%d KiB input: %v", st.Size()>>10, err)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("output written")
	}
	// A smaller aliasing file within the cap converts (the cap is about
	// size, not about sharing itself, which real files do a little).
	small, _ := craft.AliasingPth(dir, "small.pth", 64, 16, 64, 2)
	if _, err := Convert(context.Background(), small, out, Options{NoTokenizer: true}); err != nil {
		t.Fatal(err)
	}
}

// TestRWKVCppHeaderContradicts is part of hostile case G: an rwkv.cpp
// header whose n_vocab, n_embed or n_layer contradict the tensors (here
// 2^31-1) is refused instead of ignored.
func TestRWKVCppHeaderContradicts(t *testing.T) {
	src := testutil.Shared(t, "fixtures", "rwkvcpp", "tiny-rwkv-4v0-660K-FP32.bin")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, key := range []string{"n_vocab", "n_embed", "n_layer"} {
		bad := slices.Clone(b)
		binary.LittleEndian.PutUint32(bad[8+4*i:], 1<<31-1)
		in := filepath.Join(dir, key+".bin")
		os.WriteFile(in, bad, 0o644)
		_, err := Convert(context.Background(), in, filepath.Join(dir, "out.gguf"), Options{NoTokenizer: true})
		if err == nil || !strings.Contains(err.Error(), "header says "+key+" = 2147483647") {
			t.Errorf("%s: err = %v", key, err)
		}
	}
}

// TestInputTruncatedWhileConverting is hostile case E for convert: the
// mapped checkpoint shrinks mid-conversion; the fault becomes an error
// naming the tensor, and no output is left.
func TestInputTruncatedWhileConverting(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pth")
	copyFile(t, fixture("rwkv4-bf16.pth"), in)
	out := filepath.Join(dir, "out.gguf")
	truncated := false
	_, err := Convert(context.Background(), in, out, Options{DType: DTypeF32, NoTokenizer: true, Threads: 1,
		Progress: func(done, total int, name string) {
			if !truncated {
				truncated = true
				os.Truncate(in, 0)
			}
		}})
	if !errors.Is(err, ErrInputChanged) {
		t.Fatalf("err = %v, want ErrInputChanged", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("output left behind")
	}
}
