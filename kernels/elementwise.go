package kernels

import (
	"fmt"
	"math"
)

// Elementwise holds the vector kernels of the engine's non-matrix work
// (exp, sigmoid, LayerNorm, token shift, the RWKV-4 WKV scan, ...). Every
// implementation gives the same bits as the pure-Go one (GenericElementwise):
// the assembly evaluates the same float32 operations in the same order,
// multiplies and adds separately (no FMA), and the Go code converts every
// product explicitly so that the compiler may not fuse it either. Results
// never depend on how a caller splits the elements across threads.
type Elementwise struct {
	Name string
	// Exp: dst[i] = exp(x[i]) (expF32). dst and x may be the same slice.
	Exp func(dst, x []float32)
	// Sigmoid: dst[i] = 1/(1+exp(−x[i])). dst and x may be the same slice.
	Sigmoid func(dst, x []float32)
	// Tanh: dst[i] = tanh(x[i]) (tanhF32). dst and x may be the same slice.
	Tanh func(dst, x []float32)
	// LayerNorm: dst = (x − mean)/√(var + eps)·w + b, the biased variance;
	// mean and variance are accumulated in float64 (see layerNormGeneric).
	LayerNorm func(dst, x, w, b []float32, eps float64)
	// Mix: dst = cur·μ + prev·(1−μ) (RWKV-4/5 token shift).
	Mix func(dst, cur, prev, mu []float32)
	// Lerp: dst = cur + (prev − cur)·μ (RWKV-6/7 token shift).
	Lerp func(dst, cur, prev, mu []float32)
	// AddMul: x += a·b.
	AddMul func(x, a, b []float32)
	// Add: x += a.
	Add func(x, a []float32)
	// Mul: dst = a·b.
	Mul func(dst, a, b []float32)
	// Scale: x *= s.
	Scale func(x []float32, s float32)
	// MulAffine: x = x·(1 + (a − 1)·μ) (RWKV-7's in-context learning rate
	// applied to the key).
	MulAffine func(x, a, mu []float32)
	// SumSq: Σ x², in float64 over 16 lanes (laneSum).
	SumSq func(x []float32) float64
	// ReluSquare: x = max(x, 0)² (NaN stays NaN).
	ReluSquare func(x []float32)
	// WKV4 runs the RWKV-4 WKV recurrence of channels [c0, c1) over T
	// tokens (see WKV4Args).
	WKV4 func(a *WKV4Args, c0, c1 int)
	// MulSiLU: y *= g·σ(g) (the RWKV-5/6 output gate).
	MulSiLU func(y, g []float32)
	// WKV5Head advances one RWKV-5/6 head by one token (wkv5HeadGeneric).
	WKV5Head func(S, r, k, v, w, u, y []float32)
	// WKV7Head advances one RWKV-7 head by one token (wkv7HeadGeneric).
	WKV7Head func(S, w, k, v, r, kk, kka, y []float32)
}

// WKV4Args are the operands of the RWKV-4 WKV scan: per channel c the state
// (A[c], B[c], P[c]) and the parameters First[c] (u) and Decay[c] (w, the
// negated exp of time_decay); per token t the rows K, V, R [T][C] and the
// output Y [T][C], Y = σ(R)·wkv.
type WKV4Args struct {
	A, B, P, First, Decay []float32 // [C]
	K, V, R, Y            []float32 // [T][C]
	T, C                  int
}

// GenericElementwise is the pure-Go implementation, the oracle of the others.
var GenericElementwise = &Elementwise{
	Name:       "generic",
	Exp:        func(dst, x []float32) { expGeneric(dst, x) },
	Sigmoid:    func(dst, x []float32) { sigmoidGeneric(dst, x) },
	Tanh:       func(dst, x []float32) { tanhGeneric(dst, x) },
	LayerNorm:  layerNormGeneric,
	Mix:        mixGeneric,
	Lerp:       lerpGeneric,
	AddMul:     addMulGeneric,
	Mul:        mulGeneric,
	Scale:      scaleGeneric,
	MulAffine:  mulAffineGeneric,
	SumSq:      func(x []float32) float64 { return sumSq(x, sqLanesGeneric) },
	Add:        addGeneric,
	ReluSquare: reluSquareGeneric,
	WKV4:       wkv4Generic,
	MulSiLU:    mulSiLUGeneric,
	WKV5Head:   wkv5HeadGeneric,
	WKV7Head:   wkv7HeadGeneric,
}

// Elementwise returns the element-wise kernels that go with the set: the
// assembly ones for avx512 (when built), the pure-Go ones otherwise (avx2
// and generic).
func (s Set) Elementwise() *Elementwise { return elementwiseFor(s.Name) }

// expF32 constants (Cephes expf): the input clamp, log2(e), ln 2 split in a
// part whose products with n stay exact and the rest, and the polynomial
// of exp(r) − 1 − r over r·r on [−ln2/2, ln2/2]. Shared with the assembly
// through expTable.
const (
	expHi  = float32(89)   // exp(89) overflows: +Inf after scaling
	expLo  = float32(-104) // exp(−104) < 2^-150: rounds to 0
	log2e  = float32(1.44269504088896341)
	ln2Hi  = float32(0.693359375)
	ln2Lo  = float32(-2.12194440e-4)
	expP0  = float32(1.9875691500e-4)
	expP1  = float32(1.3981999507e-3)
	expP2  = float32(8.3334519073e-3)
	expP3  = float32(4.1665795894e-2)
	expP4  = float32(1.6666665459e-1)
	expP5  = float32(5.0000001201e-1)
	expOne = float32(1)
)

// expTable is what the assembly broadcasts, in this order (plus the sign
// mask for sigmoid's negation and tanh's 2).
var expTable = [14]float32{expHi, expLo, log2e, ln2Hi, ln2Lo, expP0, expP1, expP2, expP3, expP4, expP5, expOne,
	math.Float32frombits(0x80000000), 2}

// expF32 is exp in float32: n = round(x·log2e), r = x − n·ln2 (in two
// parts), exp(r) by a degree-7 polynomial, scaled by 2^n with one rounding
// (so subnormal results are rounded once, as VSCALEFPS does). Maximum error
// 2 ulp over the whole float32 range with a normal result (1 ulp of the
// smallest subnormal below), measured by TestExpF32Accuracy. exp(0) is
// exactly 1, exp(NaN) is that NaN, exp(+Inf) = +Inf, exp(−Inf) = 0.
func expF32(x float32) float32 {
	if x != x {
		return x
	}
	c := x
	if !(c < expHi) { // the assembly's VMINPS(c, hi): c < hi ? c : hi
		c = expHi
	}
	if !(c > expLo) {
		c = expLo
	}
	n := float32(math.RoundToEven(float64(float32(c * log2e))))
	r := c - float32(n*ln2Hi)
	r = r - float32(n*ln2Lo)
	y := float32(expP0*r) + expP1
	y = float32(y*r) + expP2
	y = float32(y*r) + expP3
	y = float32(y*r) + expP4
	y = float32(y*r) + expP5
	z := float32(r * r)
	y = float32(y*z) + r
	y = y + expOne
	// y·2^n rounded once: exact in float64 (y has 24 bits, n in [−150, 129]).
	return float32(float64(y) * math.Float64frombits(uint64(1023+int64(n))<<52))
}

// sigmoidF32 is 1/(1 + expF32(−x)).
func sigmoidF32(x float32) float32 {
	e := expF32(-x)
	return expOne / (e + expOne)
}

// tanhF32 is 1 − 2/(expF32(2x) + 1): tanh within 2.5e-7 absolute over
// the whole float32 range (measured 1.8e-7 by TestTanhF32Accuracy; the
// relative accuracy is lost for |x| < 0.1, tanh(±0) = +0), exactly ±1
// from |x| ≈ 9.2 on (as float32(tanh)), NaN for NaN. Its users (the LoRA
// activations of RWKV-6/7) feed it to a float32 matrix product, where that
// absolute error is below the rounding of the products.
func tanhF32(x float32) float32 {
	e := expF32(x + x)
	return expOne - float32(2)/(e+expOne)
}

// vmax is VMAXPS(a, b): a > b ? a : b (b when either is NaN), the max the
// assembly computes.
func vmax(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

func expGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = expF32(v)
	}
}

func tanhGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = tanhF32(v)
	}
}

func sigmoidGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = sigmoidF32(v)
	}
}

// elemLanes is the lane count of the LayerNorm accumulators: element i is
// summed into lane i mod 16, the lanes in a fixed tree (laneSum), as the
// assembly's two 8×float64 accumulators do.
const elemLanes = 16

// laneSum adds 16 float64 lanes in the assembly's order: lanes l and l+8
// first, then the 8 results pairwise by halves (4, 2, 1).
func laneSum(acc *[elemLanes]float64) float64 {
	var h [8]float64
	for l := range h {
		h[l] = acc[l] + acc[l+8]
	}
	for w := 4; w >= 1; w /= 2 {
		for l := 0; l < w; l++ {
			h[l] += h[l+w]
		}
	}
	return h[0]
}

// lnMoments returns the mean of x and 1/√(var + eps) with the lanes' order:
// float64 sums of the float32 values and of (x − mean)² (mean in float64).
func lnMoments(x []float32, eps float64, sumLanes func(acc *[elemLanes]float64, x []float32) int,
	sqLanes func(acc *[elemLanes]float64, x []float32, mean float64) int) (mean, inv float64) {
	n := len(x)
	var acc [elemLanes]float64
	done := sumLanes(&acc, x)
	for i := done; i < n; i++ {
		acc[i%elemLanes] += float64(x[i])
	}
	mean = laneSum(&acc) / float64(n)
	acc = [elemLanes]float64{}
	done = sqLanes(&acc, x, mean)
	for i := done; i < n; i++ {
		d := float64(x[i]) - mean
		acc[i%elemLanes] += float64(d * d)
	}
	return mean, 1 / math.Sqrt(laneSum(&acc)/float64(n)+eps)
}

func sumLanesGeneric(acc *[elemLanes]float64, x []float32) int {
	for i, v := range x {
		acc[i%elemLanes] += float64(v)
	}
	return len(x)
}

func sqLanesGeneric(acc *[elemLanes]float64, x []float32, mean float64) int {
	for i, v := range x {
		d := float64(v) - mean
		acc[i%elemLanes] += float64(d * d)
	}
	return len(x)
}

// lnApply writes dst[i] = float32((x[i] − mean)·inv)·w[i] + b[i] from i0 on.
func lnApply(dst, x, w, b []float32, mean, inv float64, i0 int) {
	n := len(x)
	dst, w, b = dst[:n], w[:n], b[:n]
	for i := i0; i < n; i++ {
		dst[i] = float32(float32((float64(x[i])-mean)*inv)*w[i]) + b[i]
	}
}

func checkLN(dst, x, w, b []float32) {
	if len(dst) < len(x) || len(w) < len(x) || len(b) < len(x) || len(x) == 0 {
		panic(fmt.Sprintf("kernels: LayerNorm of %d values with dst %d, w %d, b %d", len(x), len(dst), len(w), len(b)))
	}
}

// layerNormGeneric: mean and variance in float64 over 16 lanes (the
// rounding of a float64 sum of float32 values: far below float32's), the
// normalised value rounded to float32 before the affine, as before.
func layerNormGeneric(dst, x, w, b []float32, eps float64) {
	checkLN(dst, x, w, b)
	mean, inv := lnMoments(x, eps, sumLanesGeneric, sqLanesGeneric)
	lnApply(dst, x, w, b, mean, inv, 0)
}

func mixGeneric(dst, cur, prev, mu []float32) {
	n := len(cur)
	dst, prev, mu = dst[:n], prev[:n], mu[:n]
	for i, c := range cur {
		m := mu[i]
		dst[i] = float32(c*m) + float32(prev[i]*float32(expOne-m))
	}
}

func lerpGeneric(dst, cur, prev, mu []float32) {
	n := len(cur)
	dst, prev, mu = dst[:n], prev[:n], mu[:n]
	for i, c := range cur {
		dst[i] = c + float32((prev[i]-c)*mu[i])
	}
}

func addMulGeneric(x, a, b []float32) {
	n := len(x)
	a, b = a[:n], b[:n]
	for i := range x {
		x[i] += float32(a[i] * b[i])
	}
}

func mulGeneric(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func scaleGeneric(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

func mulAffineGeneric(x, a, mu []float32) {
	n := len(x)
	a, mu = a[:n], mu[:n]
	for i := range x {
		x[i] *= 1 + float32((a[i]-1)*mu[i])
	}
}

// sumSq is Σ x² in float64 lanes: sqLanes with mean 0 ((x − 0)² = x²
// exactly), the tail in Go, laneSum.
func sumSq(x []float32, sqLanes func(acc *[elemLanes]float64, x []float32, mean float64) int) float64 {
	var acc [elemLanes]float64
	for i := sqLanes(&acc, x, 0); i < len(x); i++ {
		d := float64(x[i])
		acc[i%elemLanes] += float64(d * d)
	}
	return laneSum(&acc)
}

func addGeneric(x, a []float32) {
	a = a[:len(x)]
	for i := range x {
		x[i] += a[i]
	}
}

func reluSquareGeneric(x []float32) {
	for i, z := range x {
		z = vmax(0, z)
		x[i] = z * z
	}
}

func (a *WKV4Args) check(c0, c1 int) {
	T, C := a.T, a.C
	ok := 0 <= c0 && c0 <= c1 && c1 <= C && T >= 0 &&
		len(a.A) >= C && len(a.B) >= C && len(a.P) >= C && len(a.First) >= C && len(a.Decay) >= C &&
		len(a.K) >= T*C && len(a.V) >= T*C && len(a.R) >= T*C && len(a.Y) >= T*C
	if !ok {
		panic(fmt.Sprintf("kernels: WKV4 of channels [%d, %d) over %d×%d with operands too short", c0, c1, T, C))
	}
}

func wkv4Generic(a *WKV4Args, c0, c1 int) {
	a.check(c0, c1)
	wkv4Channels(a, c0, c1)
}

// wkv4Channels is the RWKV-4 WKV of docs/ARCHITECTURES.md §4.2 (the
// numerically stable form with the running maximum exponent p), in the
// operation order of the 16-lane assembly. Of the two exponentials of a
// max-shifted pair one is exp(0) = 1 exactly, so only the other is
// computed (expPairF32).
func wkv4Channels(w *WKV4Args, c0, c1 int) {
	C := w.C
	for c := c0; c < c1; c++ {
		a, b, p := w.A[c], w.B[c], w.P[c]
		first, decay := w.First[c], w.Decay[c]
		for t := 0; t < w.T; t++ {
			i := t*C + c
			kk, vv := w.K[i], w.V[i]
			ww := first + kk
			e1, e2 := expPairF32(p, ww)
			num := float32(e1*a) + float32(e2*vv)
			den := float32(e1*b) + e2
			wkv := num / den
			ww = p + decay
			q := vmax(ww, kk)
			e1, e2 = expPairF32(ww, kk)
			a = float32(e1*a) + float32(e2*vv)
			b = float32(e1*b) + e2
			p = q
			w.Y[i] = sigmoidF32(w.R[i]) * wkv
		}
		w.A[c], w.B[c], w.P[c] = a, b, p
	}
}

// expPairF32 returns exp(x − q) and exp(z − q) for q = vmax(x, z): one of
// them is exp(0) = 1 and the other exp(−|x − z|) (the same bits as
// expF32(x − q): rounding is symmetric), so one exponential is computed.
// With a NaN operand the one that is not 1 is NaN (so are the WKV outputs);
// with x = z = ±Inf this gives 1 where the literal formula gives NaN.
func expPairF32(x, z float32) (ex, ez float32) {
	d := math.Float32bits(x-z) | 0x80000000 // −|x − z|
	m := float32(1)
	if d != 0x80000000 {
		m = expF32(math.Float32frombits(d))
	}
	if x > z {
		return 1, m
	}
	return m, 1
}

func mulSiLUGeneric(y, g []float32) {
	g = g[:len(y)]
	for i, z := range g {
		y[i] *= z * sigmoidF32(z)
	}
}

// wkv5HeadGeneric runs one token of the RWKV-5/6 WKV for one head (docs/
// ARCHITECTURES.md §5.2): y = rᵀ(S + diag(u) k vᵀ), S ← diag(w) S + k vᵀ,
// with S [N][N] key×value; r, k, w, u indexed by key, v and y by value.
// The bonus term is factored out, y_j = Σ_i r_i·S_ij + (Σ_i r_i·u_i·k_i)·v_j,
// both sums over the keys i in ascending order (the assembly's order).
func wkv5HeadGeneric(S, r, k, v, w, u, y []float32) {
	N := len(v)
	checkHead(S, N, r, k, w, u, y)
	wkv5Rows(S, r, k, v, w, u, y, 0, N)
}

func checkHead(S []float32, N int, vecs ...[]float32) {
	ok := len(S) >= N*N
	for _, x := range vecs {
		ok = ok && len(x) >= N
	}
	if !ok {
		panic(fmt.Sprintf("kernels: WKV head of size %d with operands too short", N))
	}
}

// wkv5Rows is wkv5HeadGeneric for the values j in [j0, j1).
func wkv5Rows(S, r, k, v, w, u, y []float32, j0, j1 int) {
	N := len(v)
	clear(y[j0:j1])
	var bonus float32 // Σ_i r_i·u_i·k_i
	for i := 0; i < N; i++ {
		row := S[i*N : (i+1)*N]
		ri, ki, wi := r[i], k[i], w[i]
		bonus += float32(float32(ri*u[i]) * ki)
		for j := j0; j < j1; j++ {
			s := row[j]
			y[j] += float32(ri * s)
			row[j] = float32(s*wi) + float32(ki*v[j])
		}
	}
	for j := j0; j < j1; j++ {
		y[j] += float32(bonus * v[j])
	}
}

// reduce16 adds 16 float32 lanes in the assembly's order (RSUM: the upper
// eight onto the lower, then halves 4, 2, 1).
func reduce16(acc *[16]float32) float32 {
	var h [8]float32
	for l := range h {
		h[l] = acc[l] + acc[l+8]
	}
	for w := 4; w >= 1; w /= 2 {
		for l := 0; l < w; l++ {
			h[l] += h[l+w]
		}
	}
	return h[0]
}

// wkv7HeadGeneric runs one token of the RWKV-7 WKV for one head (docs/
// ARCHITECTURES.md §7, S [N][N] value×key): for every value row i,
// sa = −Σ_j S_ij·kk_j, then S_ij ← S_ij·w_j + sa·kka_j + v_i·k_j and
// y_i = Σ_j S_ij·r_j, where kka = kk·a. The sums over the keys j run in 16
// lanes (j mod 16) added by reduce16, as the assembly does.
func wkv7HeadGeneric(S, w, k, v, r, kk, kka, y []float32) {
	N := len(v)
	checkHead(S, N, w, k, r, kk, kka, y)
	wkv7Rows(S, w, k, v, r, kk, kka, y)
}

func wkv7Rows(S, w, k, v, r, kk, kka, y []float32) {
	N := len(v)
	w, k, r, kk, kka = w[:N], k[:N], r[:N], kk[:N], kka[:N]
	for i := 0; i < N; i++ {
		row := S[i*N : (i+1)*N]
		var acc [16]float32
		for j, s := range row {
			acc[j%16] += float32(s * kk[j])
		}
		sa := -reduce16(&acc)
		vi := v[i]
		acc = [16]float32{}
		for j, s := range row {
			s = float32(float32(s*w[j])+float32(sa*kka[j])) + float32(vi*k[j])
			row[j] = s
			acc[j%16] += float32(s * r[j])
		}
		y[i] = reduce16(&acc)
	}
}
