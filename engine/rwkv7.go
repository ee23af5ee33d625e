package engine

import (
	"math"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// rwkv7 is RWKV-7 "Goose" (x070), docs/ARCHITECTURES.md §7.
//
// State layout per layer (floats): att_x [C], ffn_x [C], then the WKV
// state S [H][N][N] with S[h][i][j], i the value index and j the key index
// (value×key, as in ChatRWKV's v7 path), all fp32.
type rwkv7 struct {
	base
	heads, N int
	gnEps    float64
	maxLora  int

	layers []rwkv7Layer
}

type rwkv7Layer struct {
	ln1w, ln1b, ln2w, ln2b []float32
	// Token shift: μ' is the weight on the previous token.
	xr, xw, xk, xv, xa, xg []float32
	w0, a0, v0             []float32
	w1, w2, a1, a2         kernels.Matrix // LoRAs, [out][in]
	v1, v2, g1, g2         kernels.Matrix // v1/v2 absent (zero) on layer 0
	kk, ka, rk             []float32
	receptance, key, value kernels.Matrix
	output                 kernels.Matrix
	lnxw, lnxb             []float32
	fxk                    []float32
	fkey, fval             kernels.Matrix // [F][C], [C][F]
}

// decayScale is e^{-1/2}: w = exp(−e^{-1/2}·σ(z)), as the references write it.
const decayScale = 0.606531

func loadRWKV7(f *format.File, pool *kernels.Pool) (*rwkv7, error) {
	md := f.Metadata
	d, err := readDims(f, arch.RWKV7)
	if err != nil {
		return nil, err
	}
	for _, k := range []struct {
		key     string
		dst     *int
		zeroOK  bool
		divides bool
	}{
		{arch.KeyHeadSize, &d.HeadSize, false, true},
		{arch.KeyDecayLoraRank, &d.DecayLora, false, false},
		{arch.KeyICLRLoraRank, &d.ICLRLora, false, false},
		{arch.KeyValueLoraRank, &d.ValueLora, d.Layers == 1, false},
		{arch.KeyGateLoraRank, &d.GateLora, false, false},
	} {
		if *k.dst, err = readRank(md, arch.Key(arch.RWKV7, k.key), d.Embd, k.zeroOK, k.divides); err != nil {
			return nil, err
		}
	}
	gnEps, err := readGroupNormEps(md, arch.RWKV7)
	if err != nil {
		return nil, err
	}
	w, err := newWeights(f, arch.RWKV7, d)
	if err != nil {
		return nil, err
	}
	C, N := d.Embd, d.HeadSize
	m := &rwkv7{
		base: base{cfg: Config{Arch: arch.RWKV7, Vocab: d.Vocab, Embd: C, Layers: d.Layers, FFN: d.FFN,
			StateSize: d.Layers * (2*C + C*N)}, pool: pool},
		heads: C / N, N: N, gnEps: gnEps,
		maxLora: max(d.DecayLora, d.ICLRLora, d.ValueLora, d.GateLora),
		layers:  make([]rwkv7Layer, d.Layers),
	}
	ld := &loader{w: w}
	vec, mat := ld.vec, ld.mat
	m.loadGlobals(ld)
	for l := range m.layers {
		n := func(s string) string { return arch.LayerName(l, s) }
		L := rwkv7Layer{
			ln1w: vec(n("attn_norm.weight")), ln1b: vec(n("attn_norm.bias")),
			ln2w: vec(n("attn_norm_2.weight")), ln2b: vec(n("attn_norm_2.bias")),
			xr: vec(n("time_mix_lerp_r.weight")), xw: vec(n("time_mix_lerp_w.weight")),
			xk: vec(n("time_mix_lerp_k.weight")), xv: vec(n("time_mix_lerp_v.weight")),
			xa: vec(n("time_mix_lerp_a.weight")), xg: vec(n("time_mix_lerp_g.weight")),
			w0: vec(n("time_mix_w0.weight")), w1: mat(n("time_mix_w1.weight")), w2: mat(n("time_mix_w2.weight")),
			a0: vec(n("time_mix_a0.weight")), a1: mat(n("time_mix_a1.weight")), a2: mat(n("time_mix_a2.weight")),
			g1: mat(n("time_mix_g1.weight")), g2: mat(n("time_mix_g2.weight")),
			kk: vec(n("time_mix_k_k.weight")), ka: vec(n("time_mix_k_a.weight")), rk: vec(n("time_mix_r_k.weight")),
			receptance: mat(n("time_mix_receptance.weight")), key: mat(n("time_mix_key.weight")),
			value: mat(n("time_mix_value.weight")), output: mat(n("time_mix_output.weight")),
			lnxw: vec(n("time_mix_ln.weight")), lnxb: vec(n("time_mix_ln.bias")),
			fxk:  vec(n("channel_mix_lerp_k.weight")),
			fkey: mat(n("channel_mix_key.weight")), fval: mat(n("channel_mix_value.weight")),
		}
		if l > 0 {
			L.v0, L.v1, L.v2 = vec(n("time_mix_v0.weight")), mat(n("time_mix_v1.weight")), mat(n("time_mix_v2.weight"))
		}
		m.layers[l] = L
	}
	if ld.err != nil {
		return nil, ld.err
	}
	return m, nil
}

func (m *rwkv7) Step(st *State, token int, logits []float32) error {
	return m.Sequence(st, []int{token}, logits)
}

func (m *rwkv7) Sequence(st *State, tokens []int, logits []float32) error {
	return runSequence(&m.base, st, tokens, logits, m.newScratch, m.forward)
}

// scratch7 holds per-call buffers, sized for maxChunk tokens.
type scratch7 struct {
	x, xa, mr, mw, mk, mv, ma, mg []float32 // [T][C]
	r, w, k, v, a, g, vf, kk, y   []float32 // [T][C]
	lora                          []float32 // [T][max rank]
	fk                            []float32 // [T][F]
}

func (m *rwkv7) newScratch() *scratch7 {
	TC := maxChunk * m.cfg.Embd
	b := func() []float32 { return make([]float32, TC) }
	return &scratch7{
		x: b(), xa: b(), mr: b(), mw: b(), mk: b(), mv: b(), ma: b(), mg: b(),
		r: b(), w: b(), k: b(), v: b(), a: b(), g: b(), vf: b(), kk: b(), y: b(),
		lora: make([]float32, maxChunk*m.maxLora),
		fk:   make([]float32, maxChunk*m.cfg.FFN),
	}
}

// lora computes dst[t] = B·f(A·x[t]) for T rows, f applied to the
// [T][rank] middle in tmp (nil: identity).
func (m *rwkv7) lora(dst []float32, A, B kernels.Matrix, x []float32, T int, tmp []float32, f func(mid []float32)) {
	mid := tmp[:T*A.Rows]
	m.pool.MatMul(mid, A, x, T)
	if f != nil {
		f(mid)
	}
	m.pool.MatMul(dst, B, mid, T)
}

// sigmoidAll applies σ to every element of x, split across threads.
func (m *base) sigmoidAll(x []float32) {
	sig := m.ew().Sigmoid
	m.span(len(x), 24, func(i0, i1 int) { sig(x[i0:i1], x[i0:i1]) })
}

// forward runs T ≤ maxChunk tokens. out is nil, [T][V] (every position) or
// [V] with lastOnly.
func (m *rwkv7) forward(s *scratch7, st *State, tokens []int, out []float32, lastOnly bool) {
	T, C, F, N, H := len(tokens), m.cfg.Embd, m.cfg.FFN, m.N, m.heads
	TC := T * C
	x := s.x[:TC]
	m.embed(x, tokens)
	xa := s.xa[:TC]
	mr, mw, mk, mv, ma, mg := s.mr[:TC], s.mw[:TC], s.mk[:TC], s.mv[:TC], s.ma[:TC], s.mg[:TC]
	r, w, k, v, a, g, vf, kk, y := s.r[:TC], s.w[:TC], s.k[:TC], s.v[:TC], s.a[:TC], s.g[:TC], s.vf[:TC], s.kk[:TC], s.y[:TC]
	for l := range m.layers {
		L := &m.layers[l]
		attX, ffnX, S := wkvLayer(st, l, C, N)

		// Time mixing.
		m.normRows(xa, x, L.ln1w, L.ln1b)
		m.tokenShift(attX, xa, true, mixTarget{mr, L.xr}, mixTarget{mw, L.xw}, mixTarget{mk, L.xk},
			mixTarget{mv, L.xv}, mixTarget{ma, L.xa}, mixTarget{mg, L.xg})
		m.pool.MatMul(r, L.receptance, mr, T)
		m.pool.MatMul(k, L.key, mk, T)
		m.pool.MatMul(v, L.value, mv, T)
		m.lora(w, L.w1, L.w2, mw, T, s.lora, m.tanhAll)
		m.lora(a, L.a1, L.a2, ma, T, s.lora, nil)
		m.lora(g, L.g1, L.g2, mg, T, s.lora, m.sigmoidAll) // no activation after g2
		ew := m.ew()
		m.rows(T, int64(C)*80, func(t0, t1 int) {
			for t := t0; t < t1; t++ {
				o := t * C
				wr, ar, kr, kkr := w[o:o+C], a[o:o+C], k[o:o+C], kk[o:o+C]
				// w = exp(−e^{-1/2}·σ(w0 + w)), a = σ(a0 + a).
				ew.Add(wr, L.w0)
				ew.Sigmoid(wr, wr)
				ew.Scale(wr, -decayScale)
				ew.Exp(wr, wr)
				ew.Add(ar, L.a0)
				ew.Sigmoid(ar, ar)
				// kk = k·k_k normalised per head (L2, float64 sum), k ← k·(1 + (a − 1)·k_a).
				ew.Mul(kkr, kr, L.kk)
				ew.MulAffine(kr, ar, L.ka)
				for h := 0; h < H; h++ {
					seg := kkr[h*N : (h+1)*N]
					ew.Scale(seg, float32(1/math.Max(math.Sqrt(ew.SumSq(seg)), 1e-12)))
				}
				// a is needed from here on only as kk·a (the WKV's kka).
				ew.Mul(ar, kkr, ar)
			}
		})
		if l == 0 {
			copy(vf, v) // v_first: layer 0's value, per token
		} else {
			// v += (v_first − v)·σ(v0 + v2·(v1·xv)); y is free here.
			m.lora(y, L.v1, L.v2, mv, T, s.lora, nil)
			m.rows(T, int64(C)*30, func(t0, t1 int) {
				for t := t0; t < t1; t++ {
					o := t * C
					yr, vr := y[o:o+C], v[o:o+C]
					ew.Add(yr, L.v0)
					ew.Sigmoid(yr, yr)
					ew.Lerp(vr, vr, vf[o:o+C], yr)
				}
			})
		}
		// WKV scan, sequential in t; S[h][i(value)][j(key)]. Heads are
		// independent, so they are split across the pool's threads.
		m.pool.Parallel(H, int64(T*H*N*N)*4, func(h0, h1 int) {
			for h := h0; h < h1; h++ {
				for t := 0; t < T; t++ {
					m.wkv7Head(ew, L, S, w, k, v, r, kk, a, g, y, t*C, h, N)
				}
			}
		})
		m.addProjection(x, r, L.output, y, T) // reuse r as the output buffer

		// Channel mixing (no receptance in v7).
		m.normRows(xa, x, L.ln2w, L.ln2b)
		m.tokenShift(ffnX, xa, true, mixTarget{mk, L.fxk})
		fk := s.fk[:T*F]
		m.pool.MatMul(fk, L.fkey, mk, T)
		m.span(len(fk), 2, func(i0, i1 int) { ew.ReluSquare(fk[i0:i1]) }) // relu²
		m.addProjection(x, r, L.fval, fk, T)
	}
	if out != nil {
		m.logits(out, x, s.xa, T, lastOnly)
	}
}

// wkv7Head advances head h of the WKV state by the token whose rows start
// at o (kernels.Elementwise WKV7Head; kka = kk·a), writing its gated,
// normed output into y.
func (m *rwkv7) wkv7Head(ew *kernels.Elementwise, L *rwkv7Layer, S, w, k, v, r, kk, kka, g, y []float32, o, h, N int) {
	hb := o + h*N
	vh, rh, kh := v[hb:hb+N], r[hb:hb+N], k[hb:hb+N]
	yh := y[hb : hb+N]
	ew.WKV7Head(S[h*N*N:(h+1)*N*N], w[hb:hb+N], kh, vh, rh, kk[hb:hb+N], kka[hb:hb+N], yh)
	// GroupNorm over the head (a LayerNorm with its epsilon), then the
	// bonus term, then the gate.
	c0 := h * N
	ew.LayerNorm(yh, yh, L.lnxw[c0:c0+N], L.lnxb[c0:c0+N], m.gnEps)
	var bonus float32
	for j := 0; j < N; j++ {
		bonus += rh[j] * kh[j] * L.rk[c0+j]
	}
	for i, yn := range yh {
		yh[i] = (yn + bonus*vh[i]) * g[hb+i]
	}
}
