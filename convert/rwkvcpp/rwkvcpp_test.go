package rwkvcpp

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// The table of ../shared/fixtures/rwkvcpp/README.md: tensor counts by type
// and header fields, as an independent parser found them.
var fixtures = []struct {
	file                   string
	tensors                int
	byType                 map[string]int
	version                int
	nVocab, nEmbed, nLayer int
	headerType             string
}{
	{"tiny-rwkv-4v0-660K-FP16.bin", 78, map[string]int{"FP16": 30, "FP32": 48}, 100, 256, 128, 4, "FP16"},
	{"tiny-rwkv-4v0-660K-FP32.bin", 78, map[string]int{"FP32": 78}, 100, 256, 128, 4, "FP32"},
	{"tiny-rwkv-4v0-660K-Q5_0.bin", 78, map[string]int{"FP32": 50, "Q5_0": 28}, 101, 256, 128, 4, "Q5_0"},
	{"tiny-rwkv-4v0-660K-Q5_1.bin", 78, map[string]int{"FP32": 50, "Q5_1": 28}, 101, 256, 128, 4, "Q5_1"},
	{"tiny-rwkv-5v1-730K-FP16.bin", 246, map[string]int{"FP16": 86, "FP32": 160}, 101, 256, 64, 12, "FP16"},
	{"tiny-rwkv-5v1-730K-FP32.bin", 246, map[string]int{"FP32": 246}, 101, 256, 64, 12, "FP32"},
	{"tiny-rwkv-5v1-730K-Q5_0.bin", 246, map[string]int{"FP32": 162, "Q5_0": 84}, 101, 256, 64, 12, "Q5_0"},
	{"tiny-rwkv-5v1-730K-Q5_1.bin", 246, map[string]int{"FP32": 162, "Q5_1": 84}, 101, 256, 64, 12, "Q5_1"},
	{"tiny-rwkv-5v2-730K-FP16.bin", 270, map[string]int{"FP16": 98, "FP32": 172}, 101, 256, 64, 12, "FP16"},
	{"tiny-rwkv-5v2-730K-FP32.bin", 270, map[string]int{"FP32": 270}, 101, 256, 64, 12, "FP32"},
	{"tiny-rwkv-5v2-730K-Q5_0.bin", 270, map[string]int{"FP32": 174, "Q5_0": 96}, 101, 256, 64, 12, "Q5_0"},
	{"tiny-rwkv-5v2-730K-Q5_1.bin", 270, map[string]int{"FP32": 174, "Q5_1": 96}, 101, 256, 64, 12, "Q5_1"},
	{"tiny-rwkv-6v0-3m-Q5_0.bin", 342, map[string]int{"FP32": 210, "Q5_0": 132}, 101, 256, 128, 12, "Q5_0"},
	{"tiny-rwkv-6v0-3m-Q5_1.bin", 342, map[string]int{"FP32": 210, "Q5_1": 132}, 101, 256, 128, 12, "Q5_1"},
	{"tiny-rwkv-7v0-834K-FP16.bin", 339, map[string]int{"FP16": 168, "FP32": 171}, 101, 256, 64, 12, "FP16"},
	{"tiny-rwkv-7v0-834K-FP32.bin", 339, map[string]int{"FP32": 339}, 101, 256, 64, 12, "FP32"},
	{"tiny-rwkv-7v0-834K-Q5_0.bin", 339, map[string]int{"FP32": 267, "Q5_0": 72}, 101, 256, 64, 12, "Q5_0"},
	{"tiny-rwkv-7v0-834K-Q5_1.bin", 339, map[string]int{"FP32": 267, "Q5_1": 72}, 101, 256, 64, 12, "Q5_1"},
	{"history-edea0c2/tiny-rwkv-6v0-1m-FP16.bin", 342, map[string]int{"FP16": 98, "FP32": 244}, 101, 256, 64, 12, "FP16"},
	{"history-edea0c2/tiny-rwkv-6v0-1m-FP32.bin", 342, map[string]int{"FP32": 342}, 101, 256, 64, 12, "FP32"},
	{"history-edea0c2/tiny-rwkv-6v0-1m-Q5_0.bin", 342, map[string]int{"FP32": 210, "Q5_0": 132}, 101, 256, 64, 12, "Q5_0"},
	{"history-edea0c2/tiny-rwkv-6v0-1m-Q5_1.bin", 342, map[string]int{"FP32": 210, "Q5_1": 132}, 101, 256, 64, 12, "Q5_1"},
}

var typeNames = map[quant.DType]string{quant.F32: "FP32", quant.F16: "FP16", quant.Q4_0: "Q4_0", quant.Q4_1: "Q4_1", quant.Q5_0: "Q5_0", quant.Q5_1: "Q5_1", quant.Q8_0: "Q8_0"}

func TestSharedFixtures(t *testing.T) {
	dir := testutil.Shared(t, "fixtures", "rwkvcpp")
	// Every .bin there must be listed above (or be an expected-logits file
	// or a quantizer output, checked below).
	all, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
	hist, _ := filepath.Glob(filepath.Join(dir, "history-edea0c2", "*.bin"))
	listed := 0
	for _, p := range append(all, hist...) {
		if !strings.Contains(filepath.Base(p), "expected-logits") {
			listed++
		}
	}
	if listed != len(fixtures) {
		t.Errorf("%d model files in %s, table has %d", listed, dir, len(fixtures))
	}
	for _, f := range fixtures {
		ck, err := Open(filepath.Join(dir, f.file))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		counts := map[string]int{}
		for _, tn := range ck.Tensors {
			counts[typeNames[tn.DType]]++
			if _, err := tn.Bytes(); err != nil {
				t.Errorf("%s: %v", f.file, err)
			}
		}
		if len(ck.Tensors) != f.tensors || !mapsEqual(counts, f.byType) {
			t.Errorf("%s: %d tensors %v, want %d %v", f.file, len(ck.Tensors), counts, f.tensors, f.byType)
		}
		m := ck.Meta
		if m["version"] != strconv.Itoa(f.version) || m["n_vocab"] != strconv.Itoa(f.nVocab) ||
			m["n_embed"] != strconv.Itoa(f.nEmbed) || m["n_layer"] != strconv.Itoa(f.nLayer) || m["data_type_name"] != f.headerType {
			t.Errorf("%s: meta %v", f.file, m)
		}
		// Shapes come back in PyTorch order.
		want := []int64{int64(f.nVocab), int64(f.nEmbed)}
		for _, n := range []string{"emb.weight", "head.weight"} {
			if e := ck.Tensor(n); e == nil || !slices.Equal(e.Shape, want) {
				t.Errorf("%s: %s = %+v, want shape %v", f.file, n, e, want)
			}
		}
		ck.Close()
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSharedQuantized(t *testing.T) {
	dir := testutil.Shared(t, "fixtures", "rwkvcpp", "quantized")
	for _, q := range []string{"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"} {
		for _, m := range []struct {
			name           string
			fp32, quantize int
		}{{"4v0-660K", 50, 28}, {"7v0-834K", 267, 72}} {
			file := "tiny-rwkv-" + m.name + "-FP32-to-" + q + ".bin"
			ck, err := Open(filepath.Join(dir, file))
			if err != nil {
				t.Error(err)
				continue
			}
			counts := map[string]int{}
			for _, tn := range ck.Tensors {
				counts[typeNames[tn.DType]]++
			}
			if want := map[string]int{"FP32": m.fp32, q: m.quantize}; !mapsEqual(counts, want) {
				t.Errorf("%s: %v, want %v", file, counts, want)
			}
			ck.Close()
		}
	}
}

// TestFP16MatchesFP32 checks the data slicing on real files: rwkv.cpp's
// converter wrote each FP16 matrix as the round-to-nearest-even of the
// FP32 file's values.
func TestFP16MatchesFP32(t *testing.T) {
	dir := testutil.Shared(t, "fixtures", "rwkvcpp")
	for _, m := range []string{"4v0-660K", "5v2-730K", "7v0-834K"} {
		f32, err := Open(filepath.Join(dir, "tiny-rwkv-"+m+"-FP32.bin"))
		if err != nil {
			t.Fatal(err)
		}
		f16, err := Open(filepath.Join(dir, "tiny-rwkv-"+m+"-FP16.bin"))
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, h := range f16.Tensors {
			if h.DType != quant.F16 {
				continue
			}
			s := f32.Tensor(h.Name)
			if s == nil || !slices.Equal(s.Shape, h.Shape) {
				t.Fatalf("%s: %s has no FP32 twin of shape %v", m, h.Name, h.Shape)
			}
			hb, _ := h.Bytes()
			sb, _ := s.Bytes()
			for i := range len(hb) / 2 {
				want := quant.F32ToF16(math.Float32frombits(binary.LittleEndian.Uint32(sb[4*i:])))
				if got := binary.LittleEndian.Uint16(hb[2*i:]); got != want {
					t.Fatalf("%s %s[%d]: fp16 %#04x, RNE(fp32) %#04x", m, h.Name, i, got, want)
				}
			}
			checked++
		}
		if checked == 0 {
			t.Errorf("%s: no FP16 tensors", m)
		}
		f32.Close()
		f16.Close()
	}
}

// bin assembles an rwkv.cpp file.
type bin struct{ b []byte }

func newBin(version, dataType int32) *bin {
	w := &bin{}
	w.i32(Magic, version, 256, 8, 1, dataType)
	return w
}

func (w *bin) i32(vs ...int32) *bin {
	for _, v := range vs {
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(v))
	}
	return w
}

// tensor appends a tensor; ne in ggml order, data zeroed.
func (w *bin) tensor(name string, typ int32, dataLen int, ne ...int32) *bin {
	w.i32(int32(len(ne)), int32(len(name)), typ)
	w.i32(ne...)
	w.b = append(w.b, name...)
	w.b = append(w.b, make([]byte, dataLen)...)
	return w
}

func TestMalformed(t *testing.T) {
	good := newBin(101, 0).tensor("emb.weight", 0, 4*8*4, 8, 4).tensor("q", 7, 22*2, 32, 2).b
	ck, err := OpenBytes(good, "good")
	if err != nil {
		t.Fatal(err)
	}
	if e := ck.Tensor("emb.weight"); !slices.Equal(e.Shape, []int64{4, 8}) || e.FileOffset != 24+12+8+10 {
		t.Fatalf("emb.weight %+v", e)
	}
	if q := ck.Tensor("q"); q.DType != quant.Q5_0 || !slices.Equal(q.Shape, []int64{2, 32}) {
		t.Fatalf("q %+v", q)
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "shorter than the 24-byte header"},
		{"bad magic", append([]byte("lmgg"), good[4:]...), "not an rwkv.cpp file"},
		{"version 99", newBin(99, 0).tensor("a", 0, 4, 1).b, "file version 99"},
		{"v100 quantized tensor", newBin(100, 0).tensor("a", 8, 24, 32).b, "pre-2023-05 ggml block layout"},
		{"v100 quantized header", newBin(100, 9).tensor("a", 0, 4, 1).b, "header: Q8_0 data in a version 100 file"},
		{"zero vocab", (&bin{}).i32(Magic, 101, 0, 8, 1, 0).tensor("a", 0, 4, 1).b, "n_vocab is 0"},
		{"obsolete type", newBin(101, 5).tensor("a", 0, 4, 1).b, "Q4_2) is an obsolete format"},
		{"unknown type", newBin(101, 0).tensor("a", 42, 4, 1).b, "unknown data type 42"},
		{"n_dims 0", newBin(101, 0).tensor("a", 0, 4).b, "n_dims is 0"},
		{"n_dims 4", newBin(101, 0).tensor("a", 0, 4, 1, 1, 1, 1).b, "n_dims is 4"},
		{"n_dims negative", newBin(101, 0).i32(-1, 1, 0).b, "n_dims is -1"},
		{"name_len 0", newBin(101, 0).i32(1, 0, 0, 1).b, "name_len is 0"},
		{"name_len huge", newBin(101, 0).i32(1, 1<<30, 0, 1).b, "name_len is 1073741824"},
		{"name_len negative", newBin(101, 0).i32(1, -5, 0, 1).b, "name_len is -5"},
		{"name past end", newBin(101, 0).i32(1, 100, 0, 1).b, "run past the end"},
		{"ne zero", newBin(101, 0).tensor("a", 0, 0, 0).b, "ne[0] is 0"},
		{"ne negative", newBin(101, 0).tensor("a", 0, 4, 1, -3).b, "ne[1] is -3"},
		{"partial block", newBin(101, 0).tensor("a", 7, 22, 33).b, "not a multiple of the block length"},
		{"truncated data", good[:len(good)-1], `tensor "q": 44 bytes of Q5_0 data run past the end`},
		{"huge data", newBin(101, 0).tensor("a", 0, 4, 1<<30, 1<<30, 1<<30).b, "too large"},
		{"truncated tensor header", append(slices.Clone(good), 1, 0, 0, 0), "tensor header truncated"},
		{"duplicate name", newBin(101, 0).tensor("a", 0, 4, 1).tensor("a", 0, 4, 1).b, `"a" appears twice`},
		{"bad utf8", newBin(101, 0).tensor("\xff", 0, 4, 1).b, "not valid UTF-8"},
		{"no tensors", newBin(101, 0).b, "no tensors"},
	}
	for _, c := range cases {
		_, err := OpenBytes(c.in, c.name)
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want *FormatError", c.name, err)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %q, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestTruncations(t *testing.T) {
	good, err := os.ReadFile(testutil.Shared(t, "fixtures", "rwkvcpp", "tiny-rwkv-4v0-660K-Q5_1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for k := range 256 {
		n := len(good) * k / 256
		if _, err := OpenBytes(good[:n], "cut"); err == nil {
			accepted++ // a cut exactly between two tensors is a valid, shorter file
		}
	}
	if accepted > 2 {
		t.Errorf("%d of 256 cuts accepted", accepted)
	}
}
