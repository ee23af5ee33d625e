package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestMatMulShapes holds every set's MatMul to Generic's over the shapes
// that reach each path of the tiled kernels: partial row panels (rows not
// a multiple of 12, row ranges starting anywhere), token counts around the
// 16- and 32-token tiles (T = 1 included), K blocks (cols > 768) and
// chunks of panels, and the small-T rows-in-lanes path (T ≤ 8 on avx512: 16-row
// blocks, partial ones, K tails).
// Chain sets must match bit for bit, others within dotTolerance.
func TestMatMulShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	norm := func(int) float32 { return float32(rng.NormFloat64()) }
	const guard = 3
	const sentinel = float32(-5555.5)
	type shape struct{ rows, cols, T, r0, r1 int }
	shapes := []shape{
		{1, 1, 1, 0, 1}, {5, 7, 17, 0, 5}, {13, 33, 32, 1, 13}, {25, 64, 33, 0, 25},
		{24, 96, 80, 12, 24}, {37, 800, 3, 2, 37}, {12, 1600, 40, 0, 12}, {14, 4097, 19, 1, 14},
		{800, 800, 3, 5, 797}, // more than one chunk of panels (gemmChunk) with K blocks
		// Small T (rows-in-lanes path on avx512): rows not a multiple of
		// 16, K tails (not a multiple of 16), K blocks (> 256 columns).
		{17, 19, 1, 0, 17}, {33, 47, 2, 3, 33}, {16, 16, 4, 0, 16}, {50, 300, 5, 1, 49},
		{31, 513, 7, 0, 31}, {16, 257, 8, 0, 16}, {40, 100, 9, 0, 40}, {20, 64, 16, 2, 20},
		{3, 5, 6, 1, 3}, {47, 33, 12, 0, 47}, {18, 90, 17, 0, 18},
	}
	for _, set := range Available()[1:] {
		for _, dt := range append(dtypes, qtypes...) {
			for _, sh := range shapes {
				cols := sh.cols
				if dt.BlockLen() > 1 {
					cols = (cols + 31) / 32 * 32
				}
				name := fmt.Sprintf("%s/%v/%dx%d/T=%d/rows[%d,%d)", set.Name, dt, sh.rows, cols, sh.T, sh.r0, sh.r1)
				m := offsetMatrix(dt, sh.rows, cols, sh.T%3, norm)
				x := offsetVec(sh.T*cols, 1+sh.T%3, norm)
				want := make([]float32, sh.T*sh.rows)
				Generic.MatMulRows(want, m, x, sh.T, 0, sh.rows)
				got := make([]float32, sh.T*sh.rows+guard)
				for i := range got {
					got[i] = sentinel
				}
				set.MatMulRows(got, m, x, sh.T, sh.r0, sh.r1)
				for i, v := range got {
					r, tt := i%sh.rows, i/sh.rows
					in := i < sh.T*sh.rows && r >= sh.r0 && r < sh.r1
					switch {
					case !in && v != sentinel:
						t.Fatalf("%s: wrote outside the rows at %d", name, i)
					case !in:
					case set.chainMatMul && !sameBits(v, want[i]):
						t.Fatalf("%s: [%d][%d] = %g, Generic %g (must be bit-identical)", name, tt, r, v, want[i])
					case !set.chainMatMul:
						checkClose(t, name, v, want[i], dotTolerance(m, r, x[tt*cols:(tt+1)*cols]))
					}
				}
			}
		}
	}
}

// TestFMA32 checks the pure-Go fused multiply-add against float64 FMA
// where a single rounding is unambiguous, and on the double-rounding
// cases it exists for.
func TestFMA32(t *testing.T) {
	cases := []struct{ a, b, c, want float32 }{
		{1, 1, 1, 2},
		{0, 5, -0, 0},
		// (1+2^-12)² + 2^-60 lies just above the float32 halfway point
		// 1+2^-11+2^-24; the float64 sum rounds onto it and a second
		// rounding (ties to even) would go down.
		{1 + 0x1p-12, 1 + 0x1p-12, 0x1p-60, 1 + 0x1p-11 + 0x1p-23},
		{1 + 0x1p-12, 1 + 0x1p-12, -0x1p-60, 1 + 0x1p-11},
		// Subnormal results: 2^-150 is halfway between 0 and 2^-149.
		{0x1p-75, 0x1p-75, 0, 0},
		{0x1p-75, 0x1p-75 * (1 + 0x1p-23), 0, 0x1p-149},
	}
	for _, c := range cases {
		if got := fma32(c.a, c.b, c.c); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("fma32(%g, %g, %g) = %g, want %g", c.a, c.b, c.c, got, c.want)
		}
	}
	// Random operands: where the float64 sum is exact (its low 29 bits
	// show no halfway pattern), rounding it once is the answer.
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100000; i++ {
		a := math.Float32frombits(rng.Uint32())
		b := math.Float32frombits(rng.Uint32())
		c := math.Float32frombits(rng.Uint32())
		got := fma32(a, b, c)
		exact := math.FMA(float64(a), float64(b), float64(c))
		if bits := math.Float64bits(exact); bits&(1<<29-1) == 1<<28 || math.Abs(exact) < 0x1p-126 {
			continue
		}
		if want := float32(exact); !sameBits(got, want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
}

// FuzzMatMul is the differential fuzz target of the tiled MatMul family:
// shape, token count, row range and type from the input, weights and
// activations from its bytes; every set against Generic (bit for bit for
// chain sets).
func FuzzMatMul(f *testing.F) {
	f.Add(uint8(0), uint8(13), uint8(40), uint8(33), []byte("seed"))
	f.Add(uint8(5), uint8(25), uint8(64), uint8(17), make([]byte, 64))
	f.Add(uint8(2), uint8(1), uint8(1), uint8(1), []byte{0x7f, 0x80, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, kind, rowsB, colsB, tB uint8, data []byte) {
		all := append(append([]quant.DType(nil), dtypes...), qtypes...)
		dt := all[int(kind)%len(all)]
		rows, cols, T := 1+int(rowsB)%40, int(colsB), 1+int(tB)%70
		if dt.BlockLen() > 1 {
			cols = 32 * (1 + cols%4)
		}
		if cols == 0 {
			cols = 1
		}
		at := func(i int) byte {
			if len(data) == 0 {
				return 0
			}
			return data[i%len(data)]
		}
		m := offsetMatrix(dt, rows, cols, int(kind>>4)%4, func(i int) float32 { return float32(int8(at(i)^byte(i))) / 8 })
		x := offsetVec(T*cols, int(kind>>6), func(i int) float32 { return float32(int8(at(i+7)+byte(i>>3))) / 16 })
		r0 := int(rowsB>>4) % rows
		want := make([]float32, T*rows)
		Generic.MatMulRows(want, m, x, T, 0, rows)
		for _, set := range Available()[1:] {
			got := make([]float32, T*rows)
			set.MatMulRows(got, m, x, T, r0, rows)
			for i, v := range got {
				r, tt := i%rows, i/rows
				switch {
				case r < r0:
					if v != 0 {
						t.Fatalf("%s: wrote row %d outside [%d,%d)", set.Name, r, r0, rows)
					}
				case set.chainMatMul && !sameBits(v, want[i]):
					t.Fatalf("%s %v %dx%d T=%d: [%d][%d] = %g, Generic %g", set.Name, dt, rows, cols, T, tt, r, v, want[i])
				case !set.chainMatMul:
					checkClose(t, set.Name, v, want[i], dotTolerance(m, r, x[tt*cols:(tt+1)*cols]))
				}
			}
		}
	})
}

// BenchmarkGEMM is sequence mode at the 169M shapes (768x768, 3072x768 and
// 768x3072 = rows x cols) for T = 128 and 80 (LAMBADA's typical
// document), one thread and two, every type: GFLOP/s of 2·rows·cols·T and
// that as a fraction of the set's one-core FMA peak (FMABurn, measured
// once here). Under load take the best of -count runs; with one thread,
// GFLOP/CPU-s (the thread's CPU time) is less sensitive to the load.
func BenchmarkGEMM(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, set := range Available()[1:] {
		peak := fmaPeak(set)
		for _, dt := range allTypes {
			for _, sh := range [][2]int{{768, 768}, {3072, 768}, {768, 3072}} {
				rows, cols := sh[0], sh[1]
				m, _ := randomMatrix(&testing.T{}, rng, dt, rows, cols)
				for _, T := range []int{128, 80} {
					x := make([]float32, T*cols)
					for i := range x {
						x[i] = float32(rng.NormFloat64())
					}
					dst := make([]float32, T*rows)
					for _, threads := range []int{1, 2} {
						p := NewPool(set, threads)
						name := fmt.Sprintf("kernel=%s/type=%v/%dx%d/T=%d/threads=%d", set.Name, dt, rows, cols, T, threads)
						b.Run(name, func(b *testing.B) {
							// One thread runs on the caller's goroutine:
							// its thread CPU time excludes waiting for a
							// core on a loaded machine.
							runtime.LockOSThread()
							defer runtime.UnlockOSThread()
							cpu0 := threadCPU()
							for b.Loop() {
								p.MatMul(dst, m, x, T)
							}
							flop := 2 * float64(rows*cols*T) * float64(b.N)
							gf := flop / b.Elapsed().Seconds() / 1e9
							b.ReportMetric(gf, "GFLOP/s")
							b.ReportMetric(gf/peak/float64(threads), "peak-frac")
							if cpu := threadCPU() - cpu0; threads == 1 && cpu > 0 {
								b.ReportMetric(flop/cpu.Seconds()/1e9, "GFLOP/CPU-s")
							}
						})
					}
				}
			}
		}
	}
}

var fmaPeaks = map[string]float64{}

// fmaPeak is the set's one-core FMA peak in GFLOP/s: the best of five
// 0.1 s FMABurn runs.
func fmaPeak(s Set) float64 {
	if p, ok := fmaPeaks[s.Name]; ok {
		return p
	}
	best := 0.0
	for range 5 {
		start := time.Now()
		flops := s.FMABurn(2_000_000)
		if g := float64(flops) / time.Since(start).Seconds() / 1e9; g > best {
			best = g
		}
	}
	fmaPeaks[s.Name] = best
	return best
}
