package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/quality"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

func rwkvcpp(t *testing.T, name string) string {
	t.Helper()
	return testutil.Shared(t, append([]string{"fixtures", "rwkvcpp"}, strings.Split(name, "/")...)...)
}

func quantizeTo(t *testing.T, in string, opts QuantizeOptions) (string, *QuantizeReport) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "q.gguf")
	rep, err := Quantize(context.Background(), in, out, opts)
	if err != nil {
		t.Fatalf("quantize %s to %v: %v", filepath.Base(in), opts.Type, err)
	}
	return out, rep
}

// lastLogits runs rwkv.cpp's test prompt `"in` and returns the logits
// after its last token.
func lastLogits(t *testing.T, path string) []float32 {
	t.Helper()
	f, err := format.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := engine.Load(f, engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	tokens := []int{34, 105, 110}
	V := m.Config().Vocab
	out := make([]float32, len(tokens)*V)
	if err := m.Sequence(m.NewState(), tokens, out); err != nil {
		t.Fatal(err)
	}
	return out[(len(tokens)-1)*V:]
}

// TestQuantizeMatchesRWKVCpp: rwkv.cpp's FP32 tiny models, converted to
// GGUF f32 and quantized, give byte for byte the matrices of rwkv.cpp's own
// quantizer output converted with --dtype source (and so equal logits).
func TestQuantizeMatchesRWKVCpp(t *testing.T) {
	all := []quant.DType{quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0}
	cases := []struct {
		fp32   string
		types  []quant.DType
		theirs func(quant.DType) string
	}{
		{"tiny-rwkv-4v0-660K", all, func(q quant.DType) string { return "quantized/tiny-rwkv-4v0-660K-FP32-to-" + q.String() + ".bin" }},
		{"tiny-rwkv-7v0-834K", all, func(q quant.DType) string { return "quantized/tiny-rwkv-7v0-834K-FP32-to-" + q.String() + ".bin" }},
		{"tiny-rwkv-5v1-730K", []quant.DType{quant.Q5_0, quant.Q5_1}, func(q quant.DType) string { return "tiny-rwkv-5v1-730K-" + q.String() + ".bin" }},
		{"tiny-rwkv-5v2-730K", []quant.DType{quant.Q5_0, quant.Q5_1}, func(q quant.DType) string { return "tiny-rwkv-5v2-730K-" + q.String() + ".bin" }},
	}
	for _, c := range cases {
		f32, _ := convertTo(t, rwkvcpp(t, c.fp32+"-FP32.bin"), DTypeF32)
		for _, q := range c.types {
			t.Run(c.fp32+"/"+q.String(), func(t *testing.T) {
				// rwkv.cpp keeps the embedding and head as they are.
				ours, rep := quantizeTo(t, f32, QuantizeOptions{Type: q, Embedding: SwitchKeep, Head: SwitchKeep, Threads: 2})
				theirs, _ := convertTo(t, rwkvcpp(t, c.theirs(q)), DTypeSource)
				_, got := modelContent(t, ours)
				_, want := modelContent(t, theirs)
				blocks := 0
				for _, tr := range rep.Tensors {
					if !bytes.Equal(got[tr.Name], want[tr.Name]) {
						t.Errorf("%s (%v): bytes differ from rwkv.cpp's", tr.Name, tr.To)
					}
					if tr.To == q {
						blocks++
					}
				}
				if blocks == 0 || len(got) != len(want) {
					t.Fatalf("%d %v tensors; %d tensors, rwkv.cpp's file %d", blocks, q, len(got), len(want))
				}
				if a, b := lastLogits(t, ours), lastLogits(t, theirs); !slices.Equal(a, b) {
					t.Errorf("logits differ from those of rwkv.cpp's file: %v", testutil.CompareLogits(b, a, len(a)))
				}
			})
		}
	}
}

// TestQuantizeDeterministic: the same bytes for any thread count, and the
// policy keeps 1-D tensors and LoRAs in f32.
func TestQuantizeDeterministic(t *testing.T) {
	f32, _ := convertTo(t, rwkvcpp(t, "tiny-rwkv-7v0-834K-FP32.bin"), DTypeF32)
	var first []byte
	for _, threads := range []int{1, 2, 5} {
		out, rep := quantizeTo(t, f32, QuantizeOptions{Type: quant.Q4_1, Threads: threads})
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
			for _, tr := range rep.Tensors {
				want := quant.Q4_1
				switch {
				case len(tr.Shape) == 1 || strings.HasSuffix(tr.Name, "lerp_fused.weight") || strings.Contains(tr.Name, "_w1") || strings.Contains(tr.Name, "_w2") || strings.HasSuffix(tr.Name, "r_k.weight"):
					want = quant.F32
				case strings.Contains(tr.Name, "mix_a1") || strings.Contains(tr.Name, "mix_a2") || strings.Contains(tr.Name, "mix_v1") ||
					strings.Contains(tr.Name, "mix_v2") || strings.Contains(tr.Name, "mix_g1") || strings.Contains(tr.Name, "mix_g2"):
					want = quant.F32
				case tr.Name == "token_embd.weight" || tr.Name == "output.weight":
					want = quant.F16 // auto under a block type
				}
				if tr.To != want {
					t.Errorf("%s %v stored as %v, want %v", tr.Name, tr.Shape, tr.To, want)
				}
			}
			continue
		}
		if !bytes.Equal(b, first) {
			t.Fatalf("--threads %d gives other bytes than --threads 1", threads)
		}
	}
}

// TestPolicyFallback: rows that do not fill whole blocks get a 16-bit
// float with a note; switches and types parse case-insensitively.
func TestPolicyFallback(t *testing.T) {
	p := Policy{Target: quant.Q8_0}
	for _, c := range []struct {
		role   arch.Role
		rowLen int64
		src    quant.DType
		want   quant.DType
		note   bool
	}{
		{arch.Projection, 768, quant.F32, quant.Q8_0, false}, // Projection
		{arch.Projection, 48, quant.F32, quant.F16, true},    // Projection, 48 % 32 != 0
		{arch.Projection, 48, quant.BF16, quant.BF16, true},  // bf16 keeps its range
		{arch.Vector, 768, quant.F16, quant.F32, false},      // Vector
		{arch.Head, 768, quant.F32, quant.F16, false},        // Head, auto
		{arch.Embedding, 768, quant.BF16, quant.BF16, false}, // Embedding, auto
	} {
		got, note, err := p.Decide(c.role, c.rowLen, c.src)
		if err != nil || got != c.want || (note != "") != c.note {
			t.Errorf("role %v row %d from %v: %v %q %v; want %v (note %v)", c.role, c.rowLen, c.src, got, note, err, c.want, c.note)
		}
	}
	for s, want := range map[string]quant.DType{"int8": quant.Q8_0, "Q4_1": quant.Q4_1, "BF16": quant.BF16, "f32": quant.F32, "q5_0": quant.Q5_0} {
		if got, err := ParseType(s); err != nil || got != want {
			t.Errorf("ParseType(%q) = %v, %v", s, got, err)
		}
	}
	for _, bad := range []string{"q6_k", "int4", "", "source"} {
		if _, err := ParseType(bad); err == nil || !strings.Contains(err.Error(), "q4_0") {
			t.Errorf("ParseType(%q): %v (want an error listing the types)", bad, err)
		}
	}
	if c, err := ParseDType("INT8"); err != nil || c != DTypeQ8_0 {
		t.Errorf("ParseDType(INT8) = %v, %v", c, err)
	}
}

// TestQuantizeRefusals: each refusal names the problem, and neither a
// refusal nor a cancellation leaves a file (or a temporary) behind.
func TestQuantizeRefusals(t *testing.T) {
	f32, _ := convertTo(t, rwkvcpp(t, "tiny-rwkv-4v0-660K-FP32.bin"), DTypeF32)
	q5, _ := convertTo(t, rwkvcpp(t, "tiny-rwkv-4v0-660K-Q5_1.bin"), DTypeSource)
	dir := t.TempDir()
	link := filepath.Join(dir, "link.gguf")
	hard := filepath.Join(dir, "hard.gguf")
	if err := os.Symlink(f32, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(f32, hard); err != nil {
		t.Fatal(err)
	}
	notGGUF := filepath.Join(dir, "model.pth")
	os.WriteFile(notGGUF, []byte("PK\x03\x04 not a gguf"), 0o644)
	out := filepath.Join(dir, "out.gguf")
	for _, c := range []struct {
		name, in, out string
		opts          QuantizeOptions
		want          string
	}{
		{"same path", f32, f32, QuantizeOptions{Type: quant.Q8_0}, "is the input file"},
		{"symlink", f32, link, QuantizeOptions{Type: quant.Q8_0}, "is the input file"},
		{"hard link", f32, hard, QuantizeOptions{Type: quant.Q8_0}, "is the input file"},
		{"stdout", f32, "-", QuantizeOptions{Type: quant.Q8_0}, "cannot go to stdout"},
		{"requantize", q5, out, QuantizeOptions{Type: quant.Q4_0}, "--allow-requantize"},
		{"not gguf", notGGUF, out, QuantizeOptions{Type: quant.Q8_0}, "q8_0, q5_1"},
		{"unknown type", f32, out, QuantizeOptions{Type: quant.DType(12)}, "q8_0, q5_1"},
		{"missing", filepath.Join(dir, "nope.gguf"), out, QuantizeOptions{Type: quant.Q8_0}, "no such file"},
	} {
		_, err := Quantize(context.Background(), c.in, c.out, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error containing %q", c.name, err, c.want)
		}
	}
	// --allow-requantize: accepted, and the report and the file say so.
	rq, rep := quantizeTo(t, q5, QuantizeOptions{Type: quant.Q4_0, AllowRequantize: true})
	if !rep.Requantized || len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "re-quantized") {
		t.Errorf("requantized report: %+v", rep.Notes)
	}
	if md, _ := modelContent(t, rq); md[KeyQuantizedRequantized].V != true {
		t.Errorf("%s = %v", KeyQuantizedRequantized, md[KeyQuantizedRequantized])
	}
	// Cancellation: before the start, and in the middle (parallel writer).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Quantize(ctx, f32, out, QuantizeOptions{Type: quant.Q8_0}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before the start: %v", err)
	}
	for _, threads := range []int{1, 3} {
		ctx, cancel = context.WithCancel(context.Background())
		_, err := Quantize(ctx, f32, out, QuantizeOptions{Type: quant.Q8_0, Threads: threads, Progress: func(done, total int, name string) {
			if done == 10 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled at tensor 10, %d threads: %v", threads, err)
		}
		cancel()
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"hard.gguf", "link.gguf", "model.pth"}; !slices.Equal(names, want) {
		t.Errorf("files left in the output directory: %v, want %v", names, want)
	}
}

// allLogits runs tokens through the model at path and returns [T][V].
func allLogits(t *testing.T, path string, tokens []int) ([]float32, int) {
	t.Helper()
	f, err := format.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := engine.Load(f, engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config().Vocab
	out := make([]float32, len(tokens)*V)
	if err := m.Sequence(m.NewState(), tokens, out); err != nil {
		t.Fatal(err)
	}
	return out, V
}

// typeTolerance is the largest |Δlogit| against the f32 file accepted per
// type, as a fraction of the f32 logits' spread (max − min). The worst
// measured over these nine models (384 positions on the rwkv.cpp ones):
// f16 0.00065, bf16 0.0049, q8_0 0.012, q5_1 0.075, q5_0 0.072, q4_1 0.15,
// q4_0 0.15 (the block types' worst case depends on the weights, hence
// the smaller margins there).
var typeTolerance = map[quant.DType]float64{
	quant.F32: 0, quant.F16: 0.01, quant.BF16: 0.04,
	quant.Q8_0: 0.05, quant.Q5_1: 0.15, quant.Q5_0: 0.2, quant.Q4_1: 0.3, quant.Q4_0: 0.4,
}

// TestQuantizeEveryModel: every type on every reference model runs, with
// logits within the type's tolerance of the f32 file's; on the trained
// rwkv.cpp models q8_0 and f16 keep ≥ 97 % of the top-1 predictions.
func TestQuantizeEveryModel(t *testing.T) {
	if raceEnabled {
		t.Skip("runs 81 model sweeps: too slow under -race; CI runs it without")
	}
	sample := []byte(quality.SampleText)[:128]
	bytesOf := func(b []byte) []int {
		ids := make([]int, len(b))
		for i, c := range b {
			ids[i] = int(c)
		}
		return ids
	}
	models := []struct {
		in      string
		tokens  []int
		trained bool
	}{
		{testutil.Shared(t, "reference", "tiny-v4-bf16.pth"), []int{510, 4062, 8516, 187, 50276, 0, 1533, 12092}, false},
		{testutil.Shared(t, "reference", "tiny-v5-bf16.pth"), []int{1, 500, 1023, 7, 77, 0, 300, 2}, false},
		{testutil.Shared(t, "reference", "tiny-v6-bf16.pth"), []int{1, 500, 1023, 7, 77, 0, 300, 2}, false},
		{testutil.Shared(t, "reference", "tiny-v7-bf16.pth"), []int{1, 500, 1023, 7, 77, 0, 300, 2}, false},
		{rwkvcpp(t, "tiny-rwkv-4v0-660K-FP32.bin"), bytesOf(sample), true},
		{rwkvcpp(t, "tiny-rwkv-5v1-730K-FP32.bin"), bytesOf(sample), true},
		{rwkvcpp(t, "tiny-rwkv-5v2-730K-FP32.bin"), bytesOf(sample), true},
		{rwkvcpp(t, "history-edea0c2/tiny-rwkv-6v0-1m-FP32.bin"), bytesOf(sample), true},
		{rwkvcpp(t, "tiny-rwkv-7v0-834K-FP32.bin"), bytesOf(sample), true},
	}
	for _, m := range models {
		t.Run(filepath.Base(m.in), func(t *testing.T) {
			f32, _ := convertTo(t, m.in, DTypeF32)
			want, V := allLogits(t, f32, m.tokens)
			lo, hi := want[0], want[0]
			for _, v := range want {
				lo, hi = min(lo, v), max(hi, v)
			}
			spread := float64(hi - lo)
			for _, q := range Types {
				out, _ := quantizeTo(t, f32, QuantizeOptions{Type: q, Threads: 2})
				got, _ := allLogits(t, out, m.tokens)
				st := testutil.CompareLogits(want, got, V)
				top1 := float64(st.Top1Agree) / float64(st.Positions)
				t.Logf("%-5v %v (%.3g of the spread %.3g)", q, st, st.MaxAbs/spread, spread)
				if st.MaxAbs > typeTolerance[q]*spread {
					t.Errorf("%v: max |Δlogit| %.3g exceeds %.3g (%.0f%% of the f32 spread %.3g)", q, st.MaxAbs, typeTolerance[q]*spread, 100*typeTolerance[q], spread)
				}
				if m.trained && (q == quant.Q8_0 || q == quant.F16) && top1 < 0.97 {
					t.Errorf("%v: top-1 agreement %.4f < 0.97", q, top1)
				}
			}
		})
	}
}

// TestConvertDTypeIsQuantize: convert --dtype q5_0 of a checkpoint stores
// the same tensors as quantize of its f32 conversion (one policy, one
// encoder, one writer), for any thread count, and the file type says so.
func TestConvertDTypeIsQuantize(t *testing.T) {
	in := rwkvcpp(t, "tiny-rwkv-5v2-730K-FP32.bin")
	f32, _ := convertTo(t, in, DTypeF32)
	viaQuantize, _ := quantizeTo(t, f32, QuantizeOptions{Type: quant.Q5_0})
	_, want := modelContent(t, viaQuantize)
	var first []byte
	for _, threads := range []int{1, 3} {
		out := filepath.Join(t.TempDir(), "c.gguf")
		if _, err := Convert(context.Background(), in, out, Options{DType: DTypeQ5_0, Threads: threads}); err != nil {
			t.Fatal(err)
		}
		md, got := modelContent(t, out)
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Errorf("--threads %d: %s differs between convert --dtype q5_0 and quantize --type q5_0", threads, name)
			}
		}
		if ft, _ := md.Uint("general.file_type"); ft != 8 { // MOSTLY_Q5_0
			t.Errorf("general.file_type = %d, want 8", ft)
		}
		b, _ := os.ReadFile(out)
		if first == nil {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Errorf("convert --threads %d gives other bytes than --threads 1", threads)
		}
	}
}

// TestQuantizeBadWeights: a non-finite weight fails the run naming the
// tensor and element, and leaves no file.
func TestQuantizeBadWeights(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "nan.gguf")
	row := make([]byte, 4*64*64)
	binary.LittleEndian.PutUint32(row[4*70:], 0x7fc00000) // NaN at element 70
	md := format.Metadata{"general.architecture": format.String("rwkv4")}
	ws := []format.WriteTensor{{TensorInfo: format.TensorInfo{Name: "blk.0.time_mix_key.weight", DType: quant.F32, Dims: []uint64{64, 64}},
		Write: func(w io.Writer) error { _, err := w.Write(row); return err }}}
	if err := format.WriteFile(context.Background(), in, md, ws); err != nil {
		t.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		_, err := Quantize(context.Background(), in, filepath.Join(dir, "out.gguf"), QuantizeOptions{Type: quant.Q8_0, Threads: threads})
		if err == nil || !strings.Contains(err.Error(), "blk.0.time_mix_key.weight: element 70") {
			t.Errorf("NaN weight, %d threads: %v", threads, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}
