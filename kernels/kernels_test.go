package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// randomMatrix returns a matrix of dt with its exact float64 values.
func randomMatrix(t *testing.T, rng *rand.Rand, dt quant.DType, rows, cols int) (Matrix, []float64) {
	t.Helper()
	n := rows * cols
	vals := make([]float64, n)
	if dt.BlockLen() > 1 {
		return randomBlockMatrix(t, rng, dt, rows, cols)
	}
	buf := make([]byte, n*dt.BlockBytes())
	for i := range vals {
		f := float32(rng.NormFloat64())
		switch dt {
		case quant.F32:
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
		case quant.F16:
			h := quant.F32ToF16(f)
			binary.LittleEndian.PutUint16(buf[2*i:], h)
			f = quant.F16ToF32(h)
		case quant.BF16:
			h := quant.F32ToBF16(f)
			binary.LittleEndian.PutUint16(buf[2*i:], h)
			f = quant.BF16ToF32(h)
		}
		vals[i] = float64(f)
	}
	m, err := NewMatrix(dt, rows, cols, buf)
	if err != nil {
		t.Fatal(err)
	}
	return m, vals
}

// randomBlockMatrix quantizes normal values to dt; the exact values are
// what quant.DequantizeRow gives back.
func randomBlockMatrix(t *testing.T, rng *rand.Rand, dt quant.DType, rows, cols int) (Matrix, []float64) {
	t.Helper()
	rb, err := dt.RowBytes(int64(cols))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, rows*int(rb))
	vals := make([]float64, rows*cols)
	row := make([]float32, cols)
	for r := 0; r < rows; r++ {
		for c := range row {
			row[c] = float32(rng.NormFloat64())
		}
		dst := buf[r*int(rb) : (r+1)*int(rb)]
		if err := quant.QuantizeRow(dt, dst, row); err != nil {
			t.Fatal(err)
		}
		if err := quant.DequantizeRow(dt, row, dst); err != nil {
			t.Fatal(err)
		}
		for c, v := range row {
			vals[r*cols+c] = float64(v)
		}
	}
	m, err := NewMatrix(dt, rows, cols, buf)
	if err != nil {
		t.Fatal(err)
	}
	return m, vals
}

// allTypes is every type NewMatrix accepts.
var allTypes = []quant.DType{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0}

func TestKernelsAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, set := range Available() {
		for _, dt := range allTypes {
			shapes := [][2]int{{1, 1}, {3, 7}, {5, 8}, {17, 67}, {64, 130}}
			if dt.BlockLen() > 1 {
				shapes = [][2]int{{1, 32}, {3, 64}, {5, 96}, {17, 160}, {64, 256}}
			}
			for _, shape := range shapes {
				rows, cols := shape[0], shape[1]
				m, w := randomMatrix(t, rng, dt, rows, cols)
				const T = 3
				x := make([]float32, T*cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				const guard = 4
				dst := make([]float32, T*rows+guard)
				for i := range dst {
					dst[i] = 1234.5
				}
				for _, threads := range []int{1, 2, 3} {
					p := NewPool(set, threads)
					p.SetPrecision(PrecisionExact) // MatVec == MatMul bit for bit
					p.MatMul(dst[:T*rows], m, x, T)
					vec := make([]float32, rows)
					for tt := 0; tt < T; tt++ {
						p.MatVec(vec, m, x[tt*cols:(tt+1)*cols])
						for r := 0; r < rows; r++ {
							var want, mag float64
							for c := 0; c < cols; c++ {
								want += w[r*cols+c] * float64(x[tt*cols+c])
								mag += math.Abs(w[r*cols+c] * float64(x[tt*cols+c]))
							}
							got := dst[tt*rows+r]
							if math.Abs(float64(got)-want) > 1e-5*mag+1e-6 {
								t.Fatalf("%s %v %dx%d: [%d][%d] = %g, want %g", set.Name, dt, rows, cols, tt, r, got, want)
							}
							// MatVec sums in its own order in chain
							// sets; it is held to the same bound.
							if v := float64(vec[r]); math.Abs(v-want) > 1e-5*mag+1e-6 {
								t.Fatalf("%s %v %dx%d: MatVec [%d][%d] = %g, want %g", set.Name, dt, rows, cols, tt, r, v, want)
							}
							if !set.chainMatMul && vec[r] != got {
								t.Fatalf("%s %v: MatVec %g != MatMul %g (must be bit-identical)", set.Name, dt, vec[r], got)
							}
						}
					}
					for i := T * rows; i < len(dst); i++ {
						if dst[i] != 1234.5 {
							t.Fatalf("%s: guard overwritten at %d", set.Name, i)
						}
					}
				}
			}
		}
	}
}

func TestMatrixRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dt := range allTypes {
		cols := 9
		if dt.BlockLen() > 1 {
			cols = 64
		}
		m, w := randomMatrix(t, rng, dt, 4, cols)
		row := make([]float32, cols)
		m.Row(2, row)
		for c := range row {
			if float64(row[c]) != w[2*cols+c] {
				t.Fatalf("%v: Row mismatch", dt)
			}
		}
		if dt.BlockLen() > 1 && m.Bytes() != 4*int64(cols/32*dt.BlockBytes()) {
			t.Fatalf("%v: Bytes() = %d", dt, m.Bytes())
		}
	}
}

// TestBlockDecoders: the kernels' block decoders equal quant.DequantizeRow
// bit for bit on arbitrary bytes (any f16 scale, NaN and Inf included).
func TestBlockDecoders(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var w [32]float32
	want := make([]float32, 32)
	for _, dt := range qtypes {
		blk := make([]byte, dt.BlockBytes())
		for i := 0; i < 1<<16; i++ { // every f16 pattern as d; m and quants random
			for j := range blk {
				blk[j] = byte(rng.Uint32())
			}
			blk[0], blk[1] = byte(i), byte(i>>8)
			if err := quant.DequantizeRow(dt, want, blk); err != nil {
				t.Fatal(err)
			}
			deqBlock(dt, &w, blk)
			for j := range w {
				if math.Float32bits(w[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%v block %x: element %d = %g, quant says %g", dt, blk, j, w[j], want[j])
				}
			}
		}
	}
}

func TestNewMatrixRejects(t *testing.T) {
	if _, err := NewMatrix(quant.F32, 2, 2, make([]byte, 15)); err == nil {
		t.Error("short data accepted")
	}
	if _, err := NewMatrix(quant.Q4_0, 1, 32, make([]byte, 17)); err == nil {
		t.Error("short Q4_0 data accepted")
	}
	if _, err := NewMatrix(quant.Q8_0, 2, 48, make([]byte, 2*34+34)); err == nil {
		t.Error("Q8_0 row of 48 elements (not whole blocks) accepted")
	}
	if _, err := NewMatrix(quant.Q5_1, 2, 32, make([]byte, 2*24)); err != nil {
		t.Errorf("Q5_1 2x32: %v", err)
	}
	if _, err := NewMatrix(quant.DType(12), 1, 256, make([]byte, 144)); err == nil {
		t.Error("unsupported type accepted")
	}
	if _, err := NewMatrix(quant.F32, 0, 2, nil); err == nil {
		t.Error("zero rows accepted")
	}
}

func TestBest(t *testing.T) {
	t.Setenv(KernelsEnv, "generic")
	if s, err := Best(); err != nil || s.Name != "generic" {
		t.Fatal(s.Name, err)
	}
	t.Setenv(KernelsEnv, "no-such-set")
	if _, err := Best(); err == nil {
		t.Fatal("unknown set accepted")
	}
}

// BenchmarkMatVec times one 768x3072 matvec per set and type (GB/s of
// weights). The -dram case rotates over 64 distinct copies (> 256 MiB, past
// the L3) so every call streams its weights from memory.
func BenchmarkMatVec(b *testing.B) {
	const rows, cols, copies = 768, 3072, 64
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	dst := make([]float32, rows)
	for _, dt := range allTypes {
		m, _ := randomMatrix(&testing.T{}, rng, dt, rows, cols)
		var cold []Matrix // built on first use, shared by the sets
		for _, set := range Available() {
			p := NewPool(set, 1)
			name := "kernel=" + set.Name + "/type=" + dt.String() + "/768x3072"
			b.Run(name, func(b *testing.B) {
				b.SetBytes(m.Bytes())
				for b.Loop() {
					p.MatVec(dst, m, x)
				}
			})
			b.Run(name+"-dram", func(b *testing.B) {
				if cold == nil {
					cold = copyMatrix(b, m, copies)
				}
				b.SetBytes(m.Bytes())
				i := 0
				for b.Loop() {
					p.MatVec(dst, cold[i%copies], x)
					i++
				}
			})
		}
	}
}

// copyMatrix returns n copies of m in separate allocations.
func copyMatrix(b *testing.B, m Matrix, n int) []Matrix {
	var src []byte
	switch {
	case m.q != nil:
		src = m.q
	case m.DType == quant.F32:
		src = unsafe.Slice((*byte)(unsafe.Pointer(&m.f32[0])), m.Bytes())
	default:
		src = unsafe.Slice((*byte)(unsafe.Pointer(&m.u16[0])), m.Bytes())
	}
	out := make([]Matrix, n)
	for i := range out {
		buf := append([]byte(nil), src...)
		c, err := NewMatrix(m.DType, m.Rows, m.Cols, buf)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = c
	}
	return out
}

// BenchmarkMatMul is sequence mode: one 768x3072 matrix against 16 vectors
// (compute-bound; B/s counts the weights once per call).
func BenchmarkMatMul(b *testing.B) {
	const rows, cols, T = 768, 3072, 16
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, T*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	dst := make([]float32, T*rows)
	for _, dt := range allTypes {
		m, _ := randomMatrix(&testing.T{}, rng, dt, rows, cols)
		for _, set := range Available() {
			p := NewPool(set, 1)
			b.Run("kernel="+set.Name+"/type="+dt.String()+"/768x3072/T=16", func(b *testing.B) {
				b.SetBytes(m.Bytes())
				for b.Loop() {
					p.MatMul(dst, m, x, T)
				}
				b.ReportMetric(2*rows*cols*T*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// deqBlock decodes one ggml block of type t into w with the kernel's decoders.
func deqBlock(t quant.DType, w *[32]float32, blk []byte) {
	switch t {
	case quant.Q4_0:
		deqQ4_0(w, (*[18]byte)(blk))
	case quant.Q4_1:
		deqQ4_1(w, (*[20]byte)(blk))
	case quant.Q5_0:
		deqQ5_0(w, (*[22]byte)(blk))
	case quant.Q5_1:
		deqQ5_1(w, (*[24]byte)(blk))
	case quant.Q8_0:
		deqQ8_0(w, (*[34]byte)(blk))
	}
}

// TestProbes: ReadAll's checksum is the sum of the 64-bit words on every
// length (vector chunks plus the tail), and every set's FMABurn runs.
func TestProbes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 7, 8, 255, 256, 264, 1000, 4096 + 24} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		var want uint64
		for i := 0; i+8 <= n; i += 8 {
			want += binary.LittleEndian.Uint64(b[i:])
		}
		if got := ReadAll(b); got != want {
			t.Fatalf("ReadAll(%d bytes) = %d, want %d", n, got, want)
		}
	}
	for _, s := range Available() {
		if f := s.FMABurn(1000); f < 16000 {
			t.Fatalf("%s: FMABurn(1000) = %d flops", s.Name, f)
		}
	}
}

// TestSplitTasks: the ranges of splitTasks cover [0, rows) exactly once
// with boundaries on align, and a worker's panic reaches the caller.
func TestSplitTasks(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(Generic, threads)
		for _, rows := range []int{1, 11, 12, 100, 768, 3073} {
			for _, perThread := range []int{1, matMulTasks} {
				var mu sync.Mutex
				seen := make([]int, rows)
				p.splitTasks(rows, 1<<30, 12, perThread, func(r0, r1 int) {
					if r0%12 != 0 {
						t.Errorf("rows=%d: range starts at %d, not a multiple of 12", rows, r0)
					}
					mu.Lock()
					defer mu.Unlock()
					for r := r0; r < r1; r++ {
						seen[r]++
					}
				})
				for r, n := range seen {
					if n != 1 {
						t.Fatalf("threads=%d rows=%d perThread=%d: row %d done %d times", threads, rows, perThread, r, n)
					}
				}
			}
		}
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("threads=%d: recovered %v, want the worker's panic", threads, r)
				}
			}()
			p.splitTasks(768, 1<<30, 12, matMulTasks, func(r0, r1 int) {
				if r0 == 0 {
					panic("boom")
				}
			})
		}()
	}
}
