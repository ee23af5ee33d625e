package quant

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

var blockTypes = []DType{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0}

func TestBlockSizes(t *testing.T) {
	want := map[DType]int{Q4_0: 18, Q4_1: 20, Q5_0: 22, Q5_1: 24, Q8_0: 34}
	for _, ty := range blockTypes {
		if ty.BlockLen() != 32 || ty.BlockBytes() != want[ty] {
			t.Errorf("%s: block %d elements / %d bytes, want 32 / %d", ty, ty.BlockLen(), ty.BlockBytes(), want[ty])
		}
		if n, err := ty.RowBytes(4096); err != nil || n != int64(128*want[ty]) {
			t.Errorf("%s: RowBytes(4096) = %d, %v", ty, n, err)
		}
	}
}

func f32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func quantize(t testing.TB, ty DType, src []float32) []byte {
	t.Helper()
	n, err := ty.RowBytes(int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, n)
	if err := QuantizeRow(ty, dst, src); err != nil {
		t.Fatal(err)
	}
	return dst
}

func dequantize(t testing.TB, ty DType, src []byte, n int) []float32 {
	t.Helper()
	dst := make([]float32, n)
	if err := DequantizeRow(ty, dst, src); err != nil {
		t.Fatal(err)
	}
	return dst
}

// errBound is the largest |x - dequant(quant(x))| the format allows in one
// block: half a step (a whole step for the clamped extreme of q4_0/q5_0),
// plus the f16 rounding of d (and m) times the largest |q|, plus float32
// slack. ok is false when the block is non-finite or d/m overflow f16.
func errBound(ty DType, x []float32) (bound float64, ok bool) {
	var amax, lo, hi float64 = 0, math.Inf(1), math.Inf(-1)
	for _, v := range x {
		f := float64(v)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		amax, lo, hi = math.Max(amax, math.Abs(f)), math.Min(lo, f), math.Max(hi, f)
	}
	finite := func(f float32) bool { return F32ToF16(f)&0x7c00 != 0x7c00 }
	r := hi - lo
	switch ty {
	case Q4_0:
		return amax/8*(1+1.0/128) + 1.0/(1<<21), finite(float32(amax) / 8)
	case Q5_0:
		return amax/16*(1+1.0/128) + 1.0/(1<<20), finite(float32(amax) / 16)
	case Q8_0:
		return amax*(1.0/254+1.0/1024) + 1.0/(1<<17), finite(float32(amax) / 127)
	case Q4_1:
		return r/30*(1+1.0/64) + (r+math.Abs(lo))/1024 + 1.0/(1<<19), finite(float32(hi-lo)/15) && finite(float32(lo)) && !math.IsInf(float64(float32(hi)-float32(lo)), 0)
	case Q5_1:
		return r/62*(1+1.0/64) + (r+math.Abs(lo))/1024 + 1.0/(1<<19), finite(float32(hi-lo)/31) && finite(float32(lo)) && !math.IsInf(float64(float32(hi)-float32(lo)), 0)
	}
	panic(ty)
}

// checkBound asserts every finite block of x round-trips within errBound.
func checkBound(t testing.TB, ty DType, x, y []float32) {
	t.Helper()
	for b := 0; b < len(x); b += 32 {
		bound, ok := errBound(ty, x[b:b+32])
		if !ok {
			continue
		}
		for j := b; j < b+32; j++ {
			if e := math.Abs(float64(x[j]) - float64(y[j])); !(e <= bound) {
				t.Fatalf("%s block %d: |%g - %g| = %g > bound %g (block %v)", ty, b/32, x[j], y[j], e, bound, x[b:b+32])
			}
		}
	}
}

type manifest map[string]struct {
	Input   string `json:"input"`
	N       int    `json:"n"`
	Outputs map[string]struct {
		File   string `json:"file"`
		Bytes  int    `json:"bytes"`
		SHA256 string `json:"sha256"`
	} `json:"outputs"`
}

// TestGGMLFixtures: byte-exact against ggml's quantize_row_q*_ref outputs,
// then the round trip within test-quantize-fns.cpp's budget and the
// per-block format bound.
func TestGGMLFixtures(t *testing.T) {
	dir := filepath.Dir(testutil.Shared(t, "fixtures", "ggml-quant", "manifest.json"))
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatal("empty manifest")
	}
	read := func(name, sum string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if sum != "" {
			if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
				t.Fatalf("%s: sha256 mismatch", name)
			}
		}
		return b
	}
	blocks := 0
	for input, e := range m {
		x := f32s(read(e.Input, ""))
		if len(x) != e.N {
			t.Fatalf("%s: %d values, manifest says %d", e.Input, len(x), e.N)
		}
		for _, ty := range blockTypes {
			o, ok := e.Outputs[strings.ToLower(ty.String())]
			if !ok {
				t.Fatalf("%s: no %s output in manifest", input, ty)
			}
			want := read(o.File, o.SHA256)
			got := quantize(t, ty, x)
			if len(want) != o.Bytes || !bytes.Equal(got, want) {
				bs := ty.BlockBytes()
				for i := 0; i < len(got) && i < len(want); i += bs {
					if !bytes.Equal(got[i:i+bs], want[i:i+bs]) {
						t.Errorf("%s %s: block %d differs\n got %x\nwant %x\ninput %v", input, ty, i/bs, got[i:i+bs], want[i:i+bs], x[i/bs*32:i/bs*32+32])
						break
					}
				}
				continue
			}
			blocks += len(x) / 32
			y := dequantize(t, ty, got, len(x))
			checkBound(t, ty, x, y)
			if input == "cos" {
				// test-quantize-fns.cpp: array_rmse = sqrt(Σd²)/n ≤ MAX_QUANTIZATION_TOTAL_ERROR.
				var sum float64
				for i := range x {
					d := float64(x[i]) - float64(y[i])
					sum += d * d
				}
				ggml := float32(math.Sqrt(sum)) / float32(len(x))
				rmse := math.Sqrt(sum / float64(len(x)))
				t.Logf("%s on 0.1+2cos(i): ggml total error %.3g (budget 0.002), true RMSE %.3g", ty, ggml, rmse)
				if ggml > 0.002 || rmse > trueRMSE[ty] {
					t.Errorf("%s: total error %.3g / RMSE %.3g over budget 0.002 / %.3g", ty, ggml, rmse, trueRMSE[ty])
				}
			}
		}
	}
	t.Logf("%d blocks byte-identical to ggml over %d inputs × %d types", blocks, len(m), len(blockTypes))
}

// trueRMSE budgets the real RMSE on 0.1+2cos(i) (|x| ≤ 2.1): step/√12 of a
// uniform rounding error with the step of each format, times 1.25.
var trueRMSE = map[DType]float64{
	Q4_0: 1.25 * 2.1 / 8 / math.Sqrt(12),
	Q5_0: 1.25 * 2.1 / 16 / math.Sqrt(12),
	Q4_1: 1.25 * 4.2 / 15 / math.Sqrt(12),
	Q5_1: 1.25 * 4.2 / 31 / math.Sqrt(12),
	Q8_0: 1.25 * 2.1 / 127 / math.Sqrt(12),
}

// rwkvTensor is one tensor of an rwkv.cpp model file.
type rwkvTensor struct {
	name  string
	typ   int32
	ne    []int64
	data  []byte
	elems int64
}

var rwkvTypes = map[int32]DType{0: F32, 1: F16, 2: Q4_0, 3: Q4_1, 7: Q5_0, 8: Q5_1, 9: Q8_0}

// readRWKVCpp parses an rwkv.cpp .bin (24-byte header, then tensors to EOF).
// A test-only parser: quant must not import convert/rwkvcpp.
func readRWKVCpp(t *testing.T, path string) []rwkvTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i32 := func(off int) int32 { return int32(binary.LittleEndian.Uint32(b[off:])) }
	if len(b) < 24 || i32(0) != 0x67676d66 {
		t.Fatalf("%s: not an rwkv.cpp file", path)
	}
	var out []rwkvTensor
	for off := 24; off < len(b); {
		if len(b)-off < 12 {
			t.Fatalf("%s: truncated tensor header at %d", path, off)
		}
		nd, nl, typ := int(i32(off)), int(i32(off+4)), i32(off+8)
		off += 12
		dt, ok := rwkvTypes[typ]
		if nd < 1 || nd > 3 || nl < 0 || !ok || len(b)-off < 4*nd+nl {
			t.Fatalf("%s: bad tensor header at %d", path, off-12)
		}
		tn := rwkvTensor{typ: typ, elems: 1}
		for k := 0; k < nd; k++ {
			tn.ne = append(tn.ne, int64(i32(off)))
			tn.elems *= int64(i32(off))
			off += 4
		}
		tn.name = string(b[off : off+nl])
		off += nl
		size, err := dt.RowBytes(tn.elems)
		if err != nil || int64(len(b)-off) < size {
			t.Fatalf("%s: tensor %s: size %d, %v", path, tn.name, size, err)
		}
		tn.data = b[off : off+int(size)]
		off += int(size)
		out = append(out, tn)
	}
	return out
}

// TestRWKVCppQuantizer: every tensor rwkv.cpp quantized must equal our
// row-by-row quantization of the FP32 tensor, byte for byte.
func TestRWKVCppQuantizer(t *testing.T) {
	dir := testutil.Shared(t, "fixtures", "rwkvcpp", "quantized")
	var tensors, blocks, kept int
	for _, model := range []string{"4v0-660K", "7v0-834K"} {
		src := readRWKVCpp(t, filepath.Join(dir, "..", "tiny-rwkv-"+model+"-FP32.bin"))
		byName := map[string]rwkvTensor{}
		for _, tn := range src {
			byName[tn.name] = tn
		}
		for _, q := range []string{"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"} {
			name := fmt.Sprintf("tiny-rwkv-%s-FP32-to-%s.bin", model, q)
			qt := readRWKVCpp(t, filepath.Join(dir, name))
			if len(qt) != len(src) {
				t.Fatalf("%s: %d tensors, FP32 file has %d", name, len(qt), len(src))
			}
			nq := 0
			for _, tn := range qt {
				f, ok := byName[tn.name]
				if !ok || f.typ != 0 || f.elems != tn.elems {
					t.Fatalf("%s: tensor %s has no FP32 twin", name, tn.name)
				}
				ty := rwkvTypes[tn.typ]
				if ty == F32 {
					if !bytes.Equal(tn.data, f.data) {
						t.Errorf("%s: unquantized %s differs from FP32", name, tn.name)
					}
					kept++
					continue
				}
				if ty.String() != q {
					t.Fatalf("%s: tensor %s is %s", name, tn.name, ty)
				}
				x := f32s(f.data)
				row := int(tn.ne[0])
				rb := row / 32 * ty.BlockBytes()
				got := make([]byte, rb)
				for r := 0; r < len(x)/row; r++ {
					if err := QuantizeRow(ty, got, x[r*row:(r+1)*row]); err != nil {
						t.Fatal(err)
					}
					if want := tn.data[r*rb : (r+1)*rb]; !bytes.Equal(got, want) {
						t.Fatalf("%s: %s row %d differs\n got %x\nwant %x", name, tn.name, r, got, want)
					}
				}
				nq++
				blocks += len(x) / 32
			}
			if nq == 0 {
				t.Errorf("%s: no quantized tensors", name)
			}
			tensors += nq
		}
	}
	t.Logf("%d quantized tensors (%d blocks) byte-identical to rwkv.cpp; %d FP32 tensors unchanged", tensors, blocks, kept)
}

func TestRowErrors(t *testing.T) {
	for _, ty := range append(blockTypes, F32, F16, BF16) {
		for _, n := range []int{0, 32, 64} {
			b := make([]byte, n/ty.BlockLen()*ty.BlockBytes())
			if err := QuantizeRow(ty, b, make([]float32, n)); err != nil {
				t.Errorf("%s n=%d: %v", ty, n, err)
			}
			if err := DequantizeRow(ty, make([]float32, n), b); err != nil {
				t.Errorf("%s n=%d: %v", ty, n, err)
			}
		}
		if ty.BlockLen() == 1 {
			continue
		}
		for _, n := range []int{1, 31, 33, 48} {
			if err := QuantizeRow(ty, make([]byte, 64*ty.BlockBytes()), make([]float32, n)); err == nil {
				t.Errorf("%s: %d elements accepted", ty, n)
			}
			if err := DequantizeRow(ty, make([]float32, n), make([]byte, ty.BlockBytes())); err == nil {
				t.Errorf("%s: dequantize into %d elements accepted", ty, n)
			}
		}
		if err := QuantizeRow(ty, make([]byte, ty.BlockBytes()-1), make([]float32, 32)); err == nil {
			t.Errorf("%s: short dst accepted", ty)
		}
		if err := QuantizeRow(ty, make([]byte, 2*ty.BlockBytes()), make([]float32, 32)); err == nil {
			t.Errorf("%s: long dst accepted", ty)
		}
		if err := DequantizeRow(ty, make([]float32, 32), make([]byte, ty.BlockBytes()+1)); err == nil {
			t.Errorf("%s: long src accepted", ty)
		}
	}
	if err := QuantizeRow(DType(99), nil, nil); err == nil {
		t.Error("unknown type accepted")
	}
	if err := DequantizeRow(DType(99), nil, nil); err == nil {
		t.Error("unknown type accepted")
	}
}

func TestPlainTypesRoundTrip(t *testing.T) {
	x := []float32{0, 1, -2.5, 65504, 1e-3, float32(math.Inf(-1))}
	for _, ty := range []DType{F32, F16, BF16} {
		y := dequantize(t, ty, quantize(t, ty, x), len(x))
		for i := range x {
			var want float32
			switch ty {
			case F32:
				want = x[i]
			case F16:
				want = F16ToF32(F32ToF16(x[i]))
			case BF16:
				want = BF16ToF32(F32ToBF16(x[i]))
			}
			if y[i] != want {
				t.Errorf("%s: %g -> %g, want %g", ty, x[i], y[i], want)
			}
		}
	}
}
