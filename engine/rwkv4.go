package engine

import (
	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// rwkv4 is the architecture of the RWKV paper (docs/ARCHITECTURES.md §4).
type rwkv4 struct {
	base

	layers []rwkv4Layer
}

type rwkv4Layer struct {
	ln1w, ln1b, ln2w, ln2b []float32
	// Time mixing: μ is the weight on the current token.
	muK, muV, muR []float32
	decay         []float32 // w = −exp(time_decay), precomputed at conversion
	first         []float32 // u = time_first
	key, value    kernels.Matrix
	receptance    kernels.Matrix
	output        kernels.Matrix
	// Channel mixing.
	fmuK, fmuR  []float32
	fkey, fval  kernels.Matrix // [F][C], [C][F]
	freceptance kernels.Matrix
}

// State layout per layer (ChatRWKV order).
const (
	v4AttX = iota
	v4AA
	v4BB
	v4PP
	v4FfnX
	v4Slots
)

// v4InitialPP is the "minus infinity" of the running max exponent; finite,
// as in every reference, so pp − q never gives NaN.
const v4InitialPP = -1e30

func loadRWKV4(f *format.File, pool *kernels.Pool) (*rwkv4, error) {
	d, err := readDims(f, arch.RWKV4)
	if err != nil {
		return nil, err
	}
	w, err := newWeights(f, arch.RWKV4, d)
	if err != nil {
		return nil, err
	}
	m := &rwkv4{
		base: base{cfg: Config{Arch: arch.RWKV4, Vocab: d.Vocab, Embd: d.Embd, Layers: d.Layers, FFN: d.FFN,
			StateSize: d.Layers * v4Slots * d.Embd}, pool: pool},
		layers: make([]rwkv4Layer, d.Layers),
	}
	ld := &loader{w: w}
	vec, mat := ld.vec, ld.mat
	m.loadGlobals(ld)
	for l := range m.layers {
		n := func(s string) string { return arch.LayerName(l, s) }
		m.layers[l] = rwkv4Layer{
			ln1w: vec(n("attn_norm.weight")), ln1b: vec(n("attn_norm.bias")),
			ln2w: vec(n("attn_norm_2.weight")), ln2b: vec(n("attn_norm_2.bias")),
			muK: vec(n("time_mix_mu_k.weight")), muV: vec(n("time_mix_mu_v.weight")), muR: vec(n("time_mix_mu_r.weight")),
			decay: vec(n("time_mix_decay.weight")), first: vec(n("time_mix_first.weight")),
			key: mat(n("time_mix_key.weight")), value: mat(n("time_mix_value.weight")),
			receptance: mat(n("time_mix_receptance.weight")), output: mat(n("time_mix_output.weight")),
			fmuK: vec(n("channel_mix_mu_k.weight")), fmuR: vec(n("channel_mix_mu_r.weight")),
			fkey: mat(n("channel_mix_key.weight")), fval: mat(n("channel_mix_value.weight")),
			freceptance: mat(n("channel_mix_receptance.weight")),
		}
	}
	if ld.err != nil {
		return nil, ld.err
	}
	return m, nil
}

func (m *rwkv4) NewState() *State {
	C := m.cfg.Embd
	s := m.base.NewState()
	for l := 0; l < m.cfg.Layers; l++ {
		pp := s.Data[(l*v4Slots+v4PP)*C : (l*v4Slots+v4PP+1)*C]
		for i := range pp {
			pp[i] = v4InitialPP
		}
	}
	return s
}

func (m *rwkv4) Step(st *State, token int, logits []float32) error {
	return m.Sequence(st, []int{token}, logits)
}

func (m *rwkv4) Sequence(st *State, tokens []int, logits []float32) error {
	return runSequence(&m.base, st, tokens, logits, m.newScratch, m.forward)
}

// scratch4 holds per-call buffers, sized for maxChunk tokens.
type scratch4 struct {
	x, xa, xk, xv, xr, k, v, r, y []float32 // [T][C]
	fk                            []float32 // [T][F]
}

func (m *rwkv4) newScratch() *scratch4 {
	TC, TF := maxChunk*m.cfg.Embd, maxChunk*m.cfg.FFN
	return &scratch4{
		x: make([]float32, TC), xa: make([]float32, TC), xk: make([]float32, TC),
		xv: make([]float32, TC), xr: make([]float32, TC), k: make([]float32, TC),
		v: make([]float32, TC), r: make([]float32, TC), y: make([]float32, TC),
		fk: make([]float32, TF),
	}
}

// forward runs T ≤ maxChunk tokens. out is nil, [T][V] (every position) or
// [V] with lastOnly.
func (m *rwkv4) forward(s *scratch4, st *State, tokens []int, out []float32, lastOnly bool) {
	T, C, F := len(tokens), m.cfg.Embd, m.cfg.FFN
	x := s.x[:T*C]
	m.embed(x, tokens)
	for l := range m.layers {
		L := &m.layers[l]
		base := l * v4Slots * C
		slot := func(i int) []float32 { return st.Data[base+i*C : base+(i+1)*C] }
		attX, aa, bb, pp, ffnX := slot(v4AttX), slot(v4AA), slot(v4BB), slot(v4PP), slot(v4FfnX)

		// Time mixing. Token shift uses the previous token's LN output.
		xa, xk, xv, xr := s.xa[:T*C], s.xk[:T*C], s.xv[:T*C], s.xr[:T*C]
		m.normRows(xa, x, L.ln1w, L.ln1b)
		m.tokenShift(attX, xa, false, mixTarget{xk, L.muK}, mixTarget{xv, L.muV}, mixTarget{xr, L.muR})
		k, v, r, y := s.k[:T*C], s.v[:T*C], s.r[:T*C], s.y[:T*C]
		m.pool.MatMul(k, L.key, xk, T)
		m.pool.MatMul(v, L.value, xv, T)
		m.pool.MatMul(r, L.receptance, xr, T)
		// WKV: the numerically stable recurrence of §4.2, sequential in t,
		// independent per channel (so channels are split across threads).
		wkv := &kernels.WKV4Args{A: aa, B: bb, P: pp, First: L.first, Decay: L.decay, K: k, V: v, R: r, Y: y, T: T, C: C}
		scan := m.ew().WKV4
		m.span(C, int64(T)*64, func(c0, c1 int) { scan(wkv, c0, c1) })
		m.addProjection(x, k, L.output, y, T) // reuse k as the output buffer

		// Channel mixing.
		xf := xa // LN(x; ln2), reusing the buffer
		m.normRows(xf, x, L.ln2w, L.ln2b)
		m.tokenShift(ffnX, xf, false, mixTarget{xk, L.fmuK}, mixTarget{xr, L.fmuR})
		m.channelMix(x, xk, xr, s.fk[:T*F], v, r, L.fkey, L.fval, L.freceptance, T)
	}
	if out != nil {
		m.logits(out, x, s.xa, T, lastOnly)
	}
}
