package engine

import (
	"errors"
	"fmt"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// rwkv5 is RWKV-5 "Eagle" (5.0/5.1/5.2), docs/ARCHITECTURES.md §5.
//
// State layout per layer (floats): att_x [C], ffn_x [C], then the WKV
// state S [H][N][N] with S[h][i][j], i the key index and j the value index
// (key×value, as in ChatRWKV's v5 path), all fp32.
type rwkv5 struct {
	base
	heads, N int
	gnEps    float64
	gate     bool

	layers []rwkv5Layer
}

type rwkv5Layer struct {
	ln1w, ln1b, ln2w, ln2b []float32
	muK, muV, muR, muG     []float32 // μ: weight on the current token; muG nil without gate
	decay, first           []float32 // w = exp(−exp(time_decay)) and u, per channel
	receptance, key, value kernels.Matrix
	gate, output           kernels.Matrix // gate zero without gate (5.0)
	lnxw, lnxb             []float32
	fmuK, fmuR             []float32
	fkey, freceptance      kernels.Matrix // [F][C], [C][C]
	fval                   kernels.Matrix // [C][F]
}

// readHeadShape reads <arch>.wkv.head_size and <arch>.attention.group_norm_epsilon.
func readHeadShape(md format.Metadata, archName string, d *arch.Dims) (gnEps float64, err error) {
	if d.HeadSize, err = readRank(md, arch.Key(archName, arch.KeyHeadSize), d.Embd, false, true); err != nil {
		return 0, err
	}
	return readGroupNormEps(md, archName)
}

// readRank reads the size key (a head size or LoRA rank): in [1, embd]
// (0 too with zeroOK), dividing embd with divides.
func readRank(md format.Metadata, key string, embd int, zeroOK, divides bool) (int, error) {
	v, err := md.Uint(key)
	if err != nil {
		return 0, err
	}
	if (v == 0 && !zeroOK) || v > uint64(embd) || (divides && embd%int(v) != 0) {
		return 0, fmt.Errorf("%s = %d is out of range for n_embd %d", key, v, embd)
	}
	return int(v), nil
}

// readGroupNormEps reads <arch>.attention.group_norm_epsilon, in (0, 1).
// llama.cpp's RWKV-6/7 files carry no such key: llama.cpp hard-codes the
// GroupNorm epsilon 64e-5 (ggml_norm(..., 64e-5f) in build_rwkv6_time_mix
// and build_rwkv7_time_mix, src/models/rwkv6-base.cpp and rwkv7-base.cpp), so for
// rwkv6/rwkv7 a missing key means that value; rwkv5 (ours) requires it.
func readGroupNormEps(md format.Metadata, archName string) (float64, error) {
	key := arch.Key(archName, arch.KeyGroupNormEps)
	gnEps, err := md.Float(key)
	if errors.Is(err, format.ErrMissingKey) && (archName == arch.RWKV6 || archName == arch.RWKV7) {
		return arch.GroupNormEps, nil
	}
	if err != nil {
		return 0, err
	}
	if !(gnEps > 0 && gnEps < 1) {
		return 0, fmt.Errorf("%s = %g is out of range", key, gnEps)
	}
	return gnEps, nil
}

func loadRWKV5(f *format.File, pool *kernels.Pool) (*rwkv5, error) {
	md := f.Metadata
	d, err := readDims(f, arch.RWKV5)
	if err != nil {
		return nil, err
	}
	gnEps, err := readHeadShape(md, arch.RWKV5, &d)
	if err != nil {
		return nil, err
	}
	gate, err := md.Bool(arch.Key(arch.RWKV5, arch.KeyOutputGate))
	if err != nil {
		return nil, err
	}
	d.NoGate = !gate
	w, err := newWeights(f, arch.RWKV5, d)
	if err != nil {
		return nil, err
	}
	C, N := d.Embd, d.HeadSize
	m := &rwkv5{
		base: base{cfg: Config{Arch: arch.RWKV5, Vocab: d.Vocab, Embd: C, Layers: d.Layers, FFN: d.FFN,
			StateSize: d.Layers * (2*C + C*N)}, pool: pool},
		heads: C / N, N: N, gnEps: gnEps, gate: gate,
		layers: make([]rwkv5Layer, d.Layers),
	}
	ld := &loader{w: w}
	vec, mat := ld.vec, ld.mat
	m.loadGlobals(ld)
	for l := range m.layers {
		n := func(s string) string { return arch.LayerName(l, s) }
		L := rwkv5Layer{
			ln1w: vec(n("attn_norm.weight")), ln1b: vec(n("attn_norm.bias")),
			ln2w: vec(n("attn_norm_2.weight")), ln2b: vec(n("attn_norm_2.bias")),
			muK: vec(n("time_mix_mu_k.weight")), muV: vec(n("time_mix_mu_v.weight")), muR: vec(n("time_mix_mu_r.weight")),
			decay: vec(n("time_mix_decay.weight")), first: vec(n("time_mix_first.weight")),
			receptance: mat(n("time_mix_receptance.weight")), key: mat(n("time_mix_key.weight")),
			value: mat(n("time_mix_value.weight")), output: mat(n("time_mix_output.weight")),
			lnxw: vec(n("time_mix_ln.weight")), lnxb: vec(n("time_mix_ln.bias")),
			fmuK: vec(n("channel_mix_mu_k.weight")), fmuR: vec(n("channel_mix_mu_r.weight")),
			fkey: mat(n("channel_mix_key.weight")), freceptance: mat(n("channel_mix_receptance.weight")),
			fval: mat(n("channel_mix_value.weight")),
		}
		if gate {
			L.muG, L.gate = vec(n("time_mix_mu_g.weight")), mat(n("time_mix_gate.weight"))
		}
		m.layers[l] = L
	}
	if ld.err != nil {
		return nil, ld.err
	}
	return m, nil
}

func (m *rwkv5) Step(st *State, token int, logits []float32) error {
	return m.Sequence(st, []int{token}, logits)
}

func (m *rwkv5) Sequence(st *State, tokens []int, logits []float32) error {
	return runSequence(&m.base, st, tokens, logits, m.newScratch, m.forward)
}

// scratch5 holds per-call buffers, sized for maxChunk tokens.
type scratch5 struct {
	x, xa, xk, xv, xr, xg, r, k, v, g, y []float32 // [T][C]
	fk                                   []float32 // [T][F]
}

func (m *rwkv5) newScratch() *scratch5 {
	TC := maxChunk * m.cfg.Embd
	b := func() []float32 { return make([]float32, TC) }
	return &scratch5{
		x: b(), xa: b(), xk: b(), xv: b(), xr: b(), xg: b(), r: b(), k: b(), v: b(), g: b(), y: b(),
		fk: make([]float32, maxChunk*m.cfg.FFN),
	}
}

// wkv5 runs the RWKV-5/6 WKV (kernels.Elementwise WKV5Head: y =
// rᵀ(S + diag(u) k vᵀ), S ← diag(w) S + k vᵀ, docs/ARCHITECTURES.md §5.2)
// and the GroupNorm of every head over T tokens of H heads of N channels.
// The decay of token t is w[t·wStride:] (wStride 0: the same per-channel
// decay for every token). Heads are independent, so they are split across
// the pool's threads.
func wkv5(pool *kernels.Pool, S, r, k, v, w []float32, wStride int, u, lnxw, lnxb, y []float32, T, H, N int, gnEps float64) {
	C := H * N
	ew := pool.Kernels.Elementwise()
	pool.Parallel(H, int64(T*H*N*N)*4, func(h0, h1 int) {
		for h := h0; h < h1; h++ {
			for t := 0; t < T; t++ {
				hb := t*C + h*N
				c0 := h * N
				wb := t*wStride + c0
				yh := y[hb : hb+N]
				ew.WKV5Head(S[h*N*N:(h+1)*N*N], r[hb:hb+N], k[hb:hb+N], v[hb:hb+N],
					w[wb:wb+N], u[c0:c0+N], yh)
				// GroupNorm: a LayerNorm of the head with its own epsilon.
				ew.LayerNorm(yh, yh, lnxw[c0:c0+N], lnxb[c0:c0+N], gnEps)
			}
		}
	})
}

// forward runs T ≤ maxChunk tokens. out is nil, [T][V] (every position) or
// [V] with lastOnly.
func (m *rwkv5) forward(s *scratch5, st *State, tokens []int, out []float32, lastOnly bool) {
	T, C, F, N, H := len(tokens), m.cfg.Embd, m.cfg.FFN, m.N, m.heads
	TC := T * C
	x := s.x[:TC]
	m.embed(x, tokens)
	xa, xk, xv, xr, xg := s.xa[:TC], s.xk[:TC], s.xv[:TC], s.xr[:TC], s.xg[:TC]
	r, k, v, g, y := s.r[:TC], s.k[:TC], s.v[:TC], s.g[:TC], s.y[:TC]
	for l := range m.layers {
		L := &m.layers[l]
		attX, ffnX, S := wkvLayer(st, l, C, N)

		// Time mixing.
		m.normRows(xa, x, L.ln1w, L.ln1b)
		targets := []mixTarget{{xk, L.muK}, {xv, L.muV}, {xr, L.muR}}
		if m.gate {
			targets = append(targets, mixTarget{xg, L.muG})
		}
		m.tokenShift(attX, xa, false, targets...)
		m.pool.MatMul(r, L.receptance, xr, T)
		m.pool.MatMul(k, L.key, xk, T)
		m.pool.MatMul(v, L.value, xv, T)
		if m.gate {
			m.pool.MatMul(g, L.gate, xg, T)
		}
		wkv5(m.pool, S, r, k, v, L.decay, 0, L.first, L.lnxw, L.lnxb, y, T, H, N, m.gnEps)
		if m.gate {
			m.span(TC, 24, func(i0, i1 int) { m.ew().MulSiLU(y[i0:i1], g[i0:i1]) })
		}
		m.addProjection(x, k, L.output, y, T) // reuse k as the output buffer

		// Channel mixing (as RWKV-4).
		m.normRows(xa, x, L.ln2w, L.ln2b)
		m.tokenShift(ffnX, xa, false, mixTarget{xk, L.fmuK}, mixTarget{xr, L.fmuR})
		m.channelMix(x, xk, xr, s.fk[:T*F], v, r, L.fkey, L.fval, L.freceptance, T)
	}
	if out != nil {
		m.logits(out, x, s.xa, T, lastOnly)
	}
}
