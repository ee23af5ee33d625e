//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// Implemented in elementwise_amd64.s: whole 16-element groups; the Go
// wrappers below check lengths and run the tail with the pure-Go code.

//go:noescape
func expAVX512(dst, x *float32, n16 int, tab *float32)

//go:noescape
func sigmoidAVX512(dst, x *float32, n16 int, tab *float32)

//go:noescape
func tanhAVX512(dst, x *float32, n16 int, tab *float32)

//go:noescape
func wkv4AVX512(f *wkv4Frame)

//go:noescape
func sumLanesAVX512(acc *[16]float64, x *float32, n16 int)

//go:noescape
func sqLanesAVX512(acc *[16]float64, x *float32, mean float64, n16 int)

//go:noescape
func lnApplyAVX512(dst, x, w, b *float32, mean, inv float64, n16 int)

//go:noescape
func mixAVX512(dst, cur, prev, mu *float32, n16 int, tab *float32)

//go:noescape
func lerpAVX512(dst, cur, prev, mu *float32, n16 int)

//go:noescape
func addMulAVX512(x, a, b *float32, n16 int)

//go:noescape
func addAVX512(x, a *float32, n16 int)

//go:noescape
func mulAVX512(dst, a, b *float32, n16 int)

//go:noescape
func scaleAVX512(x *float32, s float32, n16 int)

//go:noescape
func mulAffineAVX512(x, a, mu *float32, n16 int, tab *float32)

//go:noescape
func reluSquareAVX512(x *float32, n16 int)

//go:noescape
func mulSiLUAVX512(y, gate *float32, n16 int, tab *float32)

//go:noescape
func wkv5HeadAVX512(S, r, k, v, w, u, y *float32, n16 int)

//go:noescape
func wkv7HeadAVX512(S, w, k, v, r, kk, kka, y *float32, n16 int)

//go:noescape
func wkv5Head64AVX512(S, r, k, v, w, u, y *float32)

//go:noescape
func wkv7Head64AVX512(S, w, k, v, r, kk, kka, y *float32)

// wkv4Frame is wkv4AVX512's argument block (offsets in the .s file).
type wkv4Frame struct {
	a, b, p, first, decay, k, v, r, y *float32
	T, stride, n16                    int
	tab                               *float32
}

// avx512Elementwise goes with the avx512 set (same CPU requirements).
var avx512Elementwise = &Elementwise{
	Name: "avx512",
	Exp: func(dst, x []float32) {
		n := len(x)
		dst = dst[:n]
		if g := n / 16; g > 0 {
			expAVX512(&dst[0], &x[0], g, &expTable[0])
		}
		expGeneric(dst[n&^15:], x[n&^15:])
	},
	Sigmoid: func(dst, x []float32) {
		n := len(x)
		dst = dst[:n]
		if g := n / 16; g > 0 {
			sigmoidAVX512(&dst[0], &x[0], g, &expTable[0])
		}
		sigmoidGeneric(dst[n&^15:], x[n&^15:])
	},
	Tanh: func(dst, x []float32) {
		n := len(x)
		dst = dst[:n]
		if g := n / 16; g > 0 {
			tanhAVX512(&dst[0], &x[0], g, &expTable[0])
		}
		tanhGeneric(dst[n&^15:], x[n&^15:])
	},
	LayerNorm: func(dst, x, w, b []float32, eps float64) {
		checkLN(dst, x, w, b)
		mean, inv := lnMoments(x, eps, func(acc *[elemLanes]float64, x []float32) int {
			g := len(x) / 16
			if g > 0 {
				sumLanesAVX512(acc, &x[0], g)
			}
			return g * 16
		}, func(acc *[elemLanes]float64, x []float32, mean float64) int {
			g := len(x) / 16
			if g > 0 {
				sqLanesAVX512(acc, &x[0], mean, g)
			}
			return g * 16
		})
		g := len(x) / 16
		if g > 0 {
			lnApplyAVX512(&dst[0], &x[0], &w[0], &b[0], mean, inv, g)
		}
		lnApply(dst, x, w, b, mean, inv, g*16)
	},
	Mix: func(dst, cur, prev, mu []float32) {
		n := len(cur)
		dst, prev, mu = dst[:n], prev[:n], mu[:n]
		if g := n / 16; g > 0 {
			mixAVX512(&dst[0], &cur[0], &prev[0], &mu[0], g, &expTable[0])
		}
		t := n &^ 15
		mixGeneric(dst[t:], cur[t:], prev[t:], mu[t:])
	},
	Lerp: func(dst, cur, prev, mu []float32) {
		n := len(cur)
		dst, prev, mu = dst[:n], prev[:n], mu[:n]
		if g := n / 16; g > 0 {
			lerpAVX512(&dst[0], &cur[0], &prev[0], &mu[0], g)
		}
		t := n &^ 15
		lerpGeneric(dst[t:], cur[t:], prev[t:], mu[t:])
	},
	AddMul: func(x, a, b []float32) {
		n := len(x)
		a, b = a[:n], b[:n]
		if g := n / 16; g > 0 {
			addMulAVX512(&x[0], &a[0], &b[0], g)
		}
		t := n &^ 15
		addMulGeneric(x[t:], a[t:], b[t:])
	},
	Add: func(x, a []float32) {
		n := len(x)
		a = a[:n]
		if g := n / 16; g > 0 {
			addAVX512(&x[0], &a[0], g)
		}
		t := n &^ 15
		addGeneric(x[t:], a[t:])
	},
	Mul: func(dst, a, b []float32) {
		n := len(dst)
		a, b = a[:n], b[:n]
		if g := n / 16; g > 0 {
			mulAVX512(&dst[0], &a[0], &b[0], g)
		}
		t := n &^ 15
		mulGeneric(dst[t:], a[t:], b[t:])
	},
	Scale: func(x []float32, s float32) {
		n := len(x)
		if g := n / 16; g > 0 {
			scaleAVX512(&x[0], s, g)
		}
		scaleGeneric(x[n&^15:], s)
	},
	MulAffine: func(x, a, mu []float32) {
		n := len(x)
		a, mu = a[:n], mu[:n]
		if g := n / 16; g > 0 {
			mulAffineAVX512(&x[0], &a[0], &mu[0], g, &expTable[0])
		}
		t := n &^ 15
		mulAffineGeneric(x[t:], a[t:], mu[t:])
	},
	SumSq: func(x []float32) float64 {
		return sumSq(x, func(acc *[elemLanes]float64, x []float32, mean float64) int {
			g := len(x) / 16
			if g > 0 {
				sqLanesAVX512(acc, &x[0], mean, g)
			}
			return g * 16
		})
	},
	ReluSquare: func(x []float32) {
		n := len(x)
		if g := n / 16; g > 0 {
			reluSquareAVX512(&x[0], g)
		}
		reluSquareGeneric(x[n&^15:])
	},
	WKV4: func(a *WKV4Args, c0, c1 int) {
		a.check(c0, c1)
		g := (c1 - c0) / 16
		if g > 0 && a.T > 0 {
			f := wkv4Frame{
				a: &a.A[c0], b: &a.B[c0], p: &a.P[c0], first: &a.First[c0], decay: &a.Decay[c0],
				k: &a.K[c0], v: &a.V[c0], r: &a.R[c0], y: &a.Y[c0],
				T: a.T, stride: a.C * 4, n16: g, tab: &expTable[0],
			}
			wkv4AVX512(&f)
		}
		wkv4Channels(a, c0+g*16, c1)
	},
	MulSiLU: func(y, g []float32) {
		n := len(y)
		g = g[:n]
		if q := n / 16; q > 0 {
			mulSiLUAVX512(&y[0], &g[0], q, &expTable[0])
		}
		mulSiLUGeneric(y[n&^15:], g[n&^15:])
	},
	WKV5Head: func(S, r, k, v, w, u, y []float32) {
		N := len(v)
		checkHead(S, N, r, k, w, u, y)
		if N == 0 || N%16 != 0 { // the assembly's rows are whole vectors
			wkv5Rows(S, r, k, v, w, u, y, 0, N)
			return
		}
		if N == 64 {
			wkv5Head64AVX512(&S[0], &r[0], &k[0], &v[0], &w[0], &u[0], &y[0])
			return
		}
		wkv5HeadAVX512(&S[0], &r[0], &k[0], &v[0], &w[0], &u[0], &y[0], N/16)
	},
	WKV7Head: func(S, w, k, v, r, kk, kka, y []float32) {
		N := len(v)
		checkHead(S, N, w, k, r, kk, kka, y)
		if N == 0 || N%16 != 0 {
			wkv7Rows(S, w, k, v, r, kk, kka, y)
			return
		}
		if N == 64 {
			wkv7Head64AVX512(&S[0], &w[0], &k[0], &v[0], &r[0], &kk[0], &kka[0], &y[0])
			return
		}
		wkv7HeadAVX512(&S[0], &w[0], &k[0], &v[0], &r[0], &kk[0], &kka[0], &y[0], N/16)
	},
}

func elementwiseFor(name string) *Elementwise {
	x := cpu.X86
	if name == avx512Set.Name && x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL {
		return avx512Elementwise
	}
	if name == avx2Set.Name && hasAVX2Elementwise {
		return avx2Elementwise
	}
	return GenericElementwise
}
