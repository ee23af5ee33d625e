package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ulpDiff is |got − want| in units of float32's spacing at want (want in
// float64; the spacing of the smallest subnormal below 2^-126).
func ulpDiff(got float32, want float64) float64 {
	if math.IsInf(want, 0) || math.IsInf(float64(got), 0) {
		if float64(got) == want {
			return 0
		}
		return math.Inf(1)
	}
	a := math.Abs(want)
	e := math.Max(math.Floor(math.Log2(a)), -126)
	if a == 0 {
		e = -126
	}
	ulp := math.Ldexp(1, int(e)-23)
	return math.Abs(float64(got)-want) / ulp
}

// TestExpF32Accuracy measures expF32 against math.Exp over the whole
// float32 range (every 509th bit pattern, ~8.4 M inputs, both signs) and the
// special values: at most 2 ulp where the result is normal, 1 ulp of the
// smallest subnormal below, +Inf exactly where float32(e^x) overflows.
func TestExpF32Accuracy(t *testing.T) {
	stride := uint32(509)
	if testing.Short() {
		stride = 4099
	}
	var worst, worstSub float64
	var worstX float32
	for u := uint64(0); u < 1<<32; u += uint64(stride) {
		x := math.Float32frombits(uint32(u))
		if x != x {
			continue
		}
		got := expF32(x)
		want := math.Exp(float64(x))
		if float32(want) > math.MaxFloat32 || math.IsInf(float64(float32(want)), 1) {
			if !math.IsInf(float64(got), 1) && float64(got) < math.MaxFloat32*(1-1e-7) {
				t.Fatalf("exp(%g) = %g; want overflow (+Inf, or MaxFloat32 at the boundary)", x, got)
			}
			continue
		}
		d := ulpDiff(got, want)
		if want < 0x1p-126 {
			worstSub = math.Max(worstSub, d)
		} else if d > worst {
			worst, worstX = d, x
		}
	}
	t.Logf("expF32: max error %.3f ulp (at x = %g) for normal results, %.3f ulp for subnormal ones", worst, worstX, worstSub)
	if worst > 2 || worstSub > 1 {
		t.Errorf("expF32 error %.3f ulp (normal), %.3f (subnormal); bounds 2 and 1", worst, worstSub)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Copysign(0, -1)), 1},
		{float32(math.Inf(1)), float32(math.Inf(1))}, {float32(math.Inf(-1)), 0},
		{89, float32(math.Inf(1))}, {1e30, float32(math.Inf(1))}, {-104, 0}, {-1e30, 0},
	} {
		if got := expF32(c.x); got != c.want {
			t.Errorf("exp(%g) = %g; want %g", c.x, got, c.want)
		}
	}
	nan := math.Float32frombits(0x7fc01234)
	if got := expF32(nan); math.Float32bits(got) != math.Float32bits(nan) {
		t.Errorf("exp(NaN 0x7fc01234) = %#x", math.Float32bits(got))
	}
}

// TestSigmoidF32Accuracy: 1/(1+expF32(−x)) against float64 over the
// range: within 3 ulp (the exp's error plus the add and divide) where the
// result is normal; below 2^-126 (x < −87.3) it is 0 or a subnormal, off
// by less than 2^-126 (expF32(−x) overflows to +Inf for x < −88.7: 0).
func TestSigmoidF32Accuracy(t *testing.T) {
	stride := uint32(1021)
	if testing.Short() {
		stride = 8191
	}
	var worst, worstAbs float64
	for u := uint64(0); u < 1<<32; u += uint64(stride) {
		x := math.Float32frombits(uint32(u))
		if x != x {
			continue
		}
		want := 1 / (1 + math.Exp(-float64(x)))
		got := sigmoidF32(x)
		if want < 0x1p-126 {
			worstAbs = math.Max(worstAbs, math.Abs(float64(got)-want))
		} else if d := ulpDiff(got, want); d > worst {
			worst = d
		}
	}
	t.Logf("sigmoidF32: max error %.3f ulp for normal results, %g absolute below", worst, worstAbs)
	if worst > 3 || worstAbs >= 0x1p-126 {
		t.Errorf("sigmoid error %.3f ulp, %g absolute; bounds 3 ulp, 2^-126", worst, worstAbs)
	}
}

// TestTanhF32Accuracy: tanhF32 against math.Tanh over the whole range,
// within 2.5e-7 absolute.
func TestTanhF32Accuracy(t *testing.T) {
	stride := uint32(1021)
	if testing.Short() {
		stride = 8191
	}
	var worst float64
	var worstX float32
	for u := uint64(0); u < 1<<32; u += uint64(stride) {
		x := math.Float32frombits(uint32(u))
		if x != x {
			continue
		}
		if d := math.Abs(float64(tanhF32(x)) - math.Tanh(float64(x))); d > worst {
			worst, worstX = d, x
		}
	}
	t.Logf("tanhF32: max absolute error %.3g (at x = %g)", worst, worstX)
	if worst > 2.5e-7 {
		t.Errorf("tanh absolute error %.3g; bound 2.5e-7", worst)
	}
	for _, x := range []float32{10, 100, float32(math.Inf(1))} {
		if tanhF32(x) != 1 || tanhF32(-x) != -1 {
			t.Errorf("tanh(±%g) = %g, %g; want ±1", x, tanhF32(x), tanhF32(-x))
		}
	}
	if v := tanhF32(float32(math.NaN())); v == v {
		t.Errorf("tanh(NaN) = %g", v)
	}
}

// sameF32 is bit equality, any NaN equal to any NaN (x86 propagates the
// payload of one operand or the other depending on operand order).
func sameF32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// elemValue draws test inputs: mostly moderate values, some huge, tiny,
// zero, infinite or NaN.
func elemValue(rng *rand.Rand) float32 {
	switch rng.IntN(40) {
	case 0:
		return float32(math.NaN())
	case 1:
		return float32(math.Inf(1 - 2*rng.IntN(2)))
	case 2:
		return 0
	case 3:
		return float32(rng.NormFloat64() * 1e30)
	case 4:
		return float32(rng.NormFloat64() * 1e-40)
	case 5:
		return float32(rng.NormFloat64() * 100)
	}
	return float32(rng.NormFloat64() * 4)
}

// guarded returns n values off elements into a buffer whose other
// elements are a sentinel, and a check that the sentinel is intact.
func guarded(n, off int, gen func(i int) float32) ([]float32, func(t *testing.T, what string)) {
	const guard = 7
	sentinel := float32(-12345.678)
	buf := make([]float32, off+n+guard)
	for i := range buf {
		buf[i] = sentinel
	}
	for i := 0; i < n; i++ {
		buf[off+i] = gen(i)
	}
	return buf[off : off+n], func(t *testing.T, what string) {
		t.Helper()
		for i, v := range buf {
			if (i < off || i >= off+n) && v != sentinel {
				t.Fatalf("%s: wrote outside its %d elements (index %d of the buffer)", what, n, i-off)
			}
		}
	}
}

// elementwiseSets is every element-wise implementation this build has.
func elementwiseSets() []*Elementwise {
	var out []*Elementwise
	for _, s := range Available() {
		if e := s.Elementwise(); e != GenericElementwise {
			out = append(out, e)
		}
	}
	return out
}

// checkElementwise runs every kernel of e and of the generic oracle on the
// same inputs (n elements off into guard-padded buffers) and wants the same
// bits.
func checkElementwise(t *testing.T, e *Elementwise, n, off int, gen func(i int) float32) {
	t.Helper()
	in := make([][]float32, 4)
	for k := range in {
		in[k], _ = guarded(n, off+k, func(i int) float32 { return gen(i*4 + k) })
	}
	type op struct {
		name string
		run  func(k *Elementwise, dst []float32)
	}
	ops := []op{
		{"Exp", func(k *Elementwise, dst []float32) { k.Exp(dst, in[0]) }},
		{"Sigmoid", func(k *Elementwise, dst []float32) { k.Sigmoid(dst, in[0]) }},
		{"Tanh", func(k *Elementwise, dst []float32) { k.Tanh(dst, in[0]) }},
		{"Mix", func(k *Elementwise, dst []float32) { k.Mix(dst, in[0], in[1], in[2]) }},
		{"Lerp", func(k *Elementwise, dst []float32) { k.Lerp(dst, in[0], in[1], in[2]) }},
		{"AddMul", func(k *Elementwise, dst []float32) { copy(dst, in[3]); k.AddMul(dst, in[0], in[1]) }},
		{"Add", func(k *Elementwise, dst []float32) { copy(dst, in[3]); k.Add(dst, in[0]) }},
		{"ReluSquare", func(k *Elementwise, dst []float32) { copy(dst, in[0]); k.ReluSquare(dst) }},
		{"MulSiLU", func(k *Elementwise, dst []float32) { copy(dst, in[3]); k.MulSiLU(dst, in[0]) }},
		{"Mul", func(k *Elementwise, dst []float32) { k.Mul(dst, in[0], in[1]) }},
		{"Scale", func(k *Elementwise, dst []float32) {
			copy(dst, in[0])
			s := float32(-0.606531)
			if n > 0 {
				s = in[1][0]
			}
			k.Scale(dst, s)
		}},
		{"MulAffine", func(k *Elementwise, dst []float32) { copy(dst, in[3]); k.MulAffine(dst, in[0], in[1]) }},
		{"SumSq", func(k *Elementwise, dst []float32) { // the float64's bits in dst[0:2]
			if n > 1 {
				b := math.Float64bits(k.SumSq(in[0]))
				dst[0], dst[1] = math.Float32frombits(uint32(b)), math.Float32frombits(uint32(b>>32))
			}
		}},
	}
	if n > 0 {
		ops = append(ops, op{"LayerNorm", func(k *Elementwise, dst []float32) { k.LayerNorm(dst, in[0], in[1], in[2], 1e-5) }})
	}
	for _, o := range ops {
		want, _ := guarded(n, off, func(int) float32 { return 0 })
		o.run(GenericElementwise, want)
		got, intact := guarded(n, off+1, func(int) float32 { return 0 })
		o.run(e, got)
		intact(t, fmt.Sprintf("%s %s n=%d", e.Name, o.name, n))
		for i := range want {
			if !sameF32(got[i], want[i]) {
				t.Fatalf("%s %s n=%d off=%d: [%d] = %g (%#x); generic %g (%#x)", e.Name, o.name, n, off, i,
					got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

// TestElementwiseConformance: every implementation gives the generic bits
// for lengths 0–67 and large, unaligned starts, special values.
func TestElementwiseConformance(t *testing.T) {
	sets := elementwiseSets()
	if len(sets) == 0 {
		t.Skip("only the generic element-wise kernels in this build")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, e := range sets {
		t.Logf("%s against generic", e.Name)
		for n := 0; n <= 67; n++ {
			vals := make([]float32, 4*n+8)
			for i := range vals {
				vals[i] = elemValue(rng)
			}
			checkElementwise(t, e, n, n%5, func(i int) float32 { return vals[i] })
		}
		for _, n := range []int{768, 2053, 4096} {
			vals := make([]float32, 4*n)
			for i := range vals {
				vals[i] = float32(rng.NormFloat64() * 3)
			}
			checkElementwise(t, e, n, 3, func(i int) float32 { return vals[i] })
		}
	}
}

// TestLayerNormAccuracy: LayerNorm against a float64 two-pass one, on rows
// with a large mean (where float32 sums would lose digits).
func TestLayerNormAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, e := range append(elementwiseSets(), GenericElementwise) {
		for _, n := range []int{1, 7, 64, 768, 2051} {
			x, w, b := make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				x[i] = float32(1000 + rng.NormFloat64())
				w[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			got := make([]float32, n)
			e.LayerNorm(got, x, w, b, 1e-5)
			var s, sq float64
			for _, v := range x {
				s += float64(v)
			}
			mean := s / float64(n)
			for _, v := range x {
				sq += (float64(v) - mean) * (float64(v) - mean)
			}
			inv := 1 / math.Sqrt(sq/float64(n)+1e-5)
			for i, v := range x {
				want := (float64(v)-mean)*inv*float64(w[i]) + float64(b[i])
				if d := math.Abs(float64(got[i]) - want); d > 1e-6*(1+math.Abs(want)) {
					t.Fatalf("%s n=%d [%d] = %g; float64 %g", e.Name, n, i, got[i], want)
				}
			}
		}
	}
}

// wkv4Case builds a WKV4 problem of T tokens and C channels.
func wkv4Case(rng *rand.Rand, T, C int, val func() float32) *WKV4Args {
	v := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = val()
		}
		return s
	}
	a := &WKV4Args{A: v(C), B: v(C), P: v(C), First: v(C), Decay: v(C),
		K: v(T * C), V: v(T * C), R: v(T * C), Y: make([]float32, T*C), T: T, C: C}
	for c := range a.B {
		a.B[c] = float32(math.Abs(float64(a.B[c]))) + 0.5
		a.Decay[c] = -float32(math.Exp(float64(a.Decay[c]) / 4))
		if rng.IntN(3) == 0 {
			a.P[c] = -1e30 // the initial state
		}
	}
	return a
}

func cloneWKV4(a *WKV4Args) *WKV4Args {
	c := func(s []float32) []float32 { return append([]float32(nil), s...) }
	return &WKV4Args{A: c(a.A), B: c(a.B), P: c(a.P), First: c(a.First), Decay: c(a.Decay),
		K: c(a.K), V: c(a.V), R: c(a.R), Y: c(a.Y), T: a.T, C: a.C}
}

func compareWKV4(t *testing.T, name string, got, want *WKV4Args) {
	t.Helper()
	for _, p := range []struct {
		what string
		g, w []float32
	}{{"a", got.A, want.A}, {"b", got.B, want.B}, {"p", got.P, want.P}, {"y", got.Y, want.Y}} {
		for i := range p.w {
			if !sameF32(p.g[i], p.w[i]) {
				t.Fatalf("%s: %s[%d] = %g; generic %g", name, p.what, i, p.g[i], p.w[i])
			}
		}
	}
}

// TestWKV4Conformance: the scan over any channel range gives the generic
// bits (state and outputs), so splitting channels across threads is exact;
// and it matches a float64 evaluation of the recurrence within 1e-5.
func TestWKV4Conformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	moderate := func() float32 { return float32(rng.NormFloat64()) }
	for _, e := range elementwiseSets() {
		for _, C := range []int{1, 15, 16, 17, 33, 67, 768} {
			for _, T := range []int{0, 1, 2, 5} {
				c0 := rng.IntN(C + 1)
				c1 := c0 + rng.IntN(C-c0+1)
				base := wkv4Case(rng, T, C, moderate)
				want, got := cloneWKV4(base), cloneWKV4(base)
				GenericElementwise.WKV4(want, c0, c1)
				e.WKV4(got, c0, c1)
				compareWKV4(t, fmt.Sprintf("%s C=%d T=%d [%d,%d)", e.Name, C, T, c0, c1), got, want)
			}
		}
	}
	// Against float64 (generic; the others are bitwise equal to it).
	base := wkv4Case(rng, 9, 40, moderate)
	got := cloneWKV4(base)
	GenericElementwise.WKV4(got, 0, 40)
	for c := 0; c < 40; c++ {
		a, b, p := float64(base.A[c]), float64(base.B[c]), float64(base.P[c])
		for tk := 0; tk < 9; tk++ {
			i := tk*40 + c
			k, v := float64(base.K[i]), float64(base.V[i])
			ww := float64(base.First[c]) + k
			q := math.Max(p, ww)
			e1, e2 := math.Exp(p-q), math.Exp(ww-q)
			wkv := (e1*a + e2*v) / (e1*b + e2)
			y := wkv / (1 + math.Exp(-float64(base.R[i])))
			if d := math.Abs(float64(got.Y[i]) - y); d > 1e-5*(1+math.Abs(y)) {
				t.Fatalf("wkv4 y[%d][%d] = %g; float64 %g", tk, c, got.Y[i], y)
			}
			ww = p + float64(base.Decay[c])
			q = math.Max(ww, k)
			e1, e2 = math.Exp(ww-q), math.Exp(k-q)
			a, b, p = e1*a+e2*v, e1*b+e2, q
		}
	}
}

// headCase is one WKV head problem of size N: S [N][N] and six vectors.
func headCase(N int, val func() float32) (S []float32, vecs [6][]float32) {
	S = make([]float32, N*N)
	for i := range S {
		S[i] = val()
	}
	for v := range vecs {
		vecs[v] = make([]float32, N)
		for i := range vecs[v] {
			vecs[v][i] = val()
		}
	}
	return S, vecs
}

// checkHeads runs several tokens of one head through e and the generic
// kernel and wants the same state and outputs.
func checkHeads(t *testing.T, e *Elementwise, N int, val func() float32) {
	t.Helper()
	S, vecs := headCase(N, val)
	Sg := append([]float32(nil), S...)
	for tok := 0; tok < 3; tok++ {
		r, k, v, w, u := vecs[0], vecs[1], vecs[2], vecs[3], vecs[4]
		y, yg := make([]float32, N), make([]float32, N)
		e.WKV5Head(S, r, k, v, w, u, y)
		GenericElementwise.WKV5Head(Sg, r, k, v, w, u, yg)
		for i := range yg {
			if !sameF32(y[i], yg[i]) {
				t.Fatalf("%s WKV5Head N=%d token %d: y[%d] = %g; generic %g", e.Name, N, tok, i, y[i], yg[i])
			}
		}
		for i := range Sg {
			if !sameF32(S[i], Sg[i]) {
				t.Fatalf("%s WKV5Head N=%d token %d: S[%d] = %g; generic %g", e.Name, N, tok, i, S[i], Sg[i])
			}
		}
		vecs[0], vecs[1], vecs[2] = vecs[1], vecs[2], vecs[0] // another token
	}
	// RWKV-7 on the same values: w, k, v, r, kk, kka.
	S7, S7g := append([]float32(nil), S...), append([]float32(nil), S...)
	for tok := 0; tok < 3; tok++ {
		w, k, v, r, kk, kka := vecs[0], vecs[1], vecs[2], vecs[3], vecs[4], vecs[5]
		y, yg := make([]float32, N), make([]float32, N)
		e.WKV7Head(S7, w, k, v, r, kk, kka, y)
		GenericElementwise.WKV7Head(S7g, w, k, v, r, kk, kka, yg)
		for i := range yg {
			if !sameF32(y[i], yg[i]) {
				t.Fatalf("%s WKV7Head N=%d token %d: y[%d] = %g; generic %g", e.Name, N, tok, i, y[i], yg[i])
			}
		}
		for i := range S7g {
			if !sameF32(S7[i], S7g[i]) {
				t.Fatalf("%s WKV7Head N=%d token %d: S[%d] = %g; generic %g", e.Name, N, tok, i, S7[i], S7g[i])
			}
		}
		vecs[1], vecs[2], vecs[3] = vecs[2], vecs[3], vecs[1]
	}
}

// TestWKVHeadConformance: the head kernels give the generic bits for head
// sizes with and without whole vectors.
func TestWKVHeadConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, e := range elementwiseSets() {
		for _, N := range []int{1, 8, 16, 17, 32, 48, 64, 67} {
			checkHeads(t, e, N, func() float32 { return float32(rng.NormFloat64()) })
			checkHeads(t, e, N, func() float32 { return elemValue(rng) })
		}
	}
}

// FuzzElementwise: every implementation against the generic one on any
// input bits (lengths and values from the fuzzer), including the WKV4 scan.
func FuzzElementwise(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 192, 127, 0, 0, 128, 255}, uint8(3))
	f.Add(make([]byte, 4*70), uint8(0))
	seed := make([]byte, 4*40)
	for i := 0; i < 40; i++ {
		binary.LittleEndian.PutUint32(seed[4*i:], math.Float32bits(float32(i)-20.5))
	}
	f.Add(seed, uint8(7))
	sets := elementwiseSets()
	f.Fuzz(func(t *testing.T, data []byte, off uint8) {
		vals := make([]float32, len(data)/4)
		for i := range vals {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		n := len(vals) / 4
		for _, e := range sets {
			checkElementwise(t, e, n, int(off%8), func(i int) float32 { return vals[i] })
			if n == 0 {
				continue
			}
			C := n
			T := min(3, len(vals)/C)
			j := 0
			next := func() float32 { v := vals[j%len(vals)]; j++; return v }
			base := &WKV4Args{T: T, C: C}
			for _, s := range []*[]float32{&base.A, &base.B, &base.P, &base.First, &base.Decay} {
				*s = make([]float32, C)
				for i := range *s {
					(*s)[i] = next()
				}
			}
			for _, s := range []*[]float32{&base.K, &base.V, &base.R, &base.Y} {
				*s = make([]float32, T*C)
				for i := range *s {
					(*s)[i] = next()
				}
			}
			want, got := cloneWKV4(base), cloneWKV4(base)
			c0 := int(off) % (C + 1)
			GenericElementwise.WKV4(want, c0, C)
			e.WKV4(got, c0, C)
			compareWKV4(t, e.Name+" WKV4", got, want)
			N := []int{16, 32, 64}[int(off)%3]
			checkHeads(t, e, N, next)
		}
	})
}

// BenchmarkElementwise: the hot element-wise kernels at the 169M shape
// (one head of 64 for the WKV steps, 768 channels × 128 tokens otherwise).
func BenchmarkElementwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	val := func() float32 { return float32(rng.NormFloat64()) }
	sets := append([]*Elementwise{GenericElementwise}, elementwiseSets()...)
	for _, e := range sets {
		S, vecs := headCase(64, val)
		y := make([]float32, 64)
		b.Run("kernels="+e.Name+"/op=wkv5head64", func(b *testing.B) {
			for b.Loop() {
				e.WKV5Head(S, vecs[0], vecs[1], vecs[2], vecs[3], vecs[4], y)
			}
		})
		b.Run("kernels="+e.Name+"/op=wkv7head64", func(b *testing.B) {
			for b.Loop() {
				e.WKV7Head(S, vecs[0], vecs[1], vecs[2], vecs[3], vecs[4], vecs[5], y)
			}
		})
		w := wkv4Case(rng, 128, 768, val)
		b.Run("kernels="+e.Name+"/op=wkv4-128x768", func(b *testing.B) {
			for b.Loop() {
				e.WKV4(w, 0, 768)
			}
		})
		x := make([]float32, 128*768)
		for i := range x {
			x[i] = val()
		}
		dst := make([]float32, len(x))
		b.Run("kernels="+e.Name+"/op=sigmoid-128x768", func(b *testing.B) {
			for b.Loop() {
				e.Sigmoid(dst, x)
			}
		})
		wt, bs := x[:768], x[768:1536]
		b.Run("kernels="+e.Name+"/op=layernorm-128x768", func(b *testing.B) {
			for b.Loop() {
				for t := 0; t < 128; t++ {
					e.LayerNorm(dst[t*768:(t+1)*768], x[t*768:(t+1)*768], wt, bs, 1e-5)
				}
			}
		})
	}
}
