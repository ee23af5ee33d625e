package engine

import (
	"fmt"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/kernels"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// rwkv6 is RWKV-6 "Finch" (x060), docs/ARCHITECTURES.md §6: RWKV-5.2's WKV
// (wkv5Head) with data-dependent token shift and a per-token decay.
//
// State layout per layer (floats): att_x [C], ffn_x [C], then the WKV
// state S [H][N][N] with S[h][i][j], i the key index and j the value index
// (key×value, as for rwkv5), all fp32.
type rwkv6 struct {
	base
	heads, N int
	gnEps    float64
	dm, dd   int // LoRA ranks: token shift (per slice), decay
	// rescale > 0 halves the residual after every rescale-th block
	// (<arch>.rescale_every_n_layers of llama.cpp files converted from
	// Hugging Face RWKV-6 with rescale_every; their time_mix_output and
	// channel_mix_value are divided to match).
	rescale int

	layers []rwkv6Layer
}

type rwkv6Layer struct {
	ln1w, ln1b, ln2w, ln2b []float32
	// Token shift: μ' is the weight on the previous token.
	lx, lw, lk, lv, lr, lg []float32
	w1                     kernels.Matrix    // [5·Dm][C]
	w2                     [5]kernels.Matrix // [C][Dm] each, order w, k, v, r, g
	decay                  []float32         // raw time_decay [C]
	dw1, dw2               kernels.Matrix    // [Dd][C], [C][Dd]
	first                  []float32         // u [H·N]
	state                  []float32         // initial S [H][N][N] (state-tuned files), or nil
	receptance, key, value kernels.Matrix
	gate, output           kernels.Matrix
	lnxw, lnxb             []float32
	fk, fr                 []float32 // channel-mix lerps
	fkey, freceptance      kernels.Matrix
	fval                   kernels.Matrix
}

func loadRWKV6(f *format.File, pool *kernels.Pool) (*rwkv6, error) {
	md := f.Metadata
	d, err := readDims(f, arch.RWKV6)
	if err != nil {
		return nil, err
	}
	gnEps, err := readHeadShape(md, arch.RWKV6, &d)
	if err != nil {
		return nil, err
	}
	for _, k := range []struct {
		key string
		dst *int
	}{{arch.KeyTimeMixExtraDim, &d.MixLora}, {arch.KeyTimeDecayExtraDim, &d.DecayLora}} {
		if *k.dst, err = readRank(md, arch.Key(arch.RWKV6, k.key), d.Embd, false, false); err != nil {
			return nil, err
		}
	}
	rescale := 0
	if _, ok := md[arch.Key(arch.RWKV6, arch.KeyRescaleEvery)]; ok {
		// llama.cpp reads it as optional (load_arch_hparams, "rescale_every_n_layers, false");
		// n beyond the block count never applies (Hugging Face configs say 6 for any depth).
		if rescale, err = readRank(md, arch.Key(arch.RWKV6, arch.KeyRescaleEvery), 1<<30, true, false); err != nil {
			return nil, err
		}
	}
	// A state-tuned file carries the initial WKV state of every block.
	_, d.StateTuned = f.Lookup(arch.LayerName(0, arch.RWKV6StateTensor))
	w, err := newWeights(f, arch.RWKV6, d)
	if err != nil {
		return nil, err
	}
	C, N := d.Embd, d.HeadSize
	m := &rwkv6{
		base: base{cfg: Config{Arch: arch.RWKV6, Vocab: d.Vocab, Embd: C, Layers: d.Layers, FFN: d.FFN,
			StateSize: d.Layers * (2*C + C*N)}, pool: pool},
		heads: C / N, N: N, gnEps: gnEps, dm: d.MixLora, dd: d.DecayLora, rescale: rescale,
		layers: make([]rwkv6Layer, d.Layers),
	}
	ld := &loader{w: w}
	vec, mat := ld.vec, ld.mat
	// slices5 views the (5, C, Dm) F32 tensor as five [C][Dm] matrices.
	slices5 := func(name string) (out [5]kernels.Matrix) {
		ti, data, err := f.Tensor(name)
		if err == nil && ti.DType != quant.F32 {
			err = fmt.Errorf("engine: %s has type %v; want F32", name, ti.DType)
		}
		if err != nil {
			ld.fail(err)
			return out
		}
		n := 4 * C * d.MixLora
		for s := range out {
			if out[s], err = kernels.NewMatrix(quant.F32, C, d.MixLora, data[s*n:(s+1)*n]); err != nil {
				ld.fail(fmt.Errorf("engine: %s: %w", name, err))
			}
		}
		return out
	}
	m.loadGlobals(ld)
	for l := range m.layers {
		n := func(s string) string { return arch.LayerName(l, s) }
		m.layers[l] = rwkv6Layer{
			ln1w: vec(n("attn_norm.weight")), ln1b: vec(n("attn_norm.bias")),
			ln2w: vec(n("attn_norm_2.weight")), ln2b: vec(n("attn_norm_2.bias")),
			lx: vec(n("time_mix_lerp_x.weight")), lw: vec(n("time_mix_lerp_w.weight")),
			lk: vec(n("time_mix_lerp_k.weight")), lv: vec(n("time_mix_lerp_v.weight")),
			lr: vec(n("time_mix_lerp_r.weight")), lg: vec(n("time_mix_lerp_g.weight")),
			w1: mat(n("time_mix_w1.weight")), w2: slices5(n("time_mix_w2.weight")),
			decay: vec(n("time_mix_decay.weight")),
			dw1:   mat(n("time_mix_decay_w1.weight")), dw2: mat(n("time_mix_decay_w2.weight")),
			first:      vec(n("time_mix_first.weight")),
			receptance: mat(n("time_mix_receptance.weight")), key: mat(n("time_mix_key.weight")),
			value: mat(n("time_mix_value.weight")), gate: mat(n("time_mix_gate.weight")),
			output: mat(n("time_mix_output.weight")),
			lnxw:   vec(n("time_mix_ln.weight")), lnxb: vec(n("time_mix_ln.bias")),
			fk: vec(n("channel_mix_lerp_k.weight")), fr: vec(n("channel_mix_lerp_r.weight")),
			fkey: mat(n("channel_mix_key.weight")), freceptance: mat(n("channel_mix_receptance.weight")),
			fval: mat(n("channel_mix_value.weight")),
		}
		if d.StateTuned {
			m.layers[l].state = vec(n(arch.RWKV6StateTensor))
		}
	}
	if ld.err != nil {
		return nil, ld.err
	}
	return m, nil
}

// NewState returns the zero state, or for a state-tuned file the tuned
// initial WKV state (att_x and ffn_x still zero).
func (m *rwkv6) NewState() *State {
	st := m.base.NewState()
	for l, L := range m.layers {
		if L.state != nil {
			_, _, S := wkvLayer(st, l, m.cfg.Embd, m.N)
			copy(S, L.state)
		}
	}
	return st
}

func (m *rwkv6) Step(st *State, token int, logits []float32) error {
	return m.Sequence(st, []int{token}, logits)
}

func (m *rwkv6) Sequence(st *State, tokens []int, logits []float32) error {
	return runSequence(&m.base, st, tokens, logits, m.newScratch, m.forward)
}

// scratch6 holds per-call buffers, sized for maxChunk tokens.
type scratch6 struct {
	x, xa, dx, xx, xw, xk, xv, xr, xg, mm []float32 // [T][C]
	r, k, v, g, w, y                      []float32 // [T][C]
	hid, mid, dmid                        []float32 // [T][5·Dm], [T][Dm], [T][Dd]
	fk                                    []float32 // [T][F]
}

func (m *rwkv6) newScratch() *scratch6 {
	TC := maxChunk * m.cfg.Embd
	b := func() []float32 { return make([]float32, TC) }
	return &scratch6{
		x: b(), xa: b(), dx: b(), xx: b(), xw: b(), xk: b(), xv: b(), xr: b(), xg: b(), mm: b(),
		r: b(), k: b(), v: b(), g: b(), w: b(), y: b(),
		hid: make([]float32, maxChunk*5*m.dm), mid: make([]float32, maxChunk*m.dm),
		dmid: make([]float32, maxChunk*m.dd),
		fk:   make([]float32, maxChunk*m.cfg.FFN),
	}
}

// forward runs T ≤ maxChunk tokens. out is nil, [T][V] (every position) or
// [V] with lastOnly.
func (m *rwkv6) forward(s *scratch6, st *State, tokens []int, out []float32, lastOnly bool) {
	T, C, F, N, H, Dm := len(tokens), m.cfg.Embd, m.cfg.FFN, m.N, m.heads, m.dm
	TC := T * C
	x := s.x[:TC]
	m.embed(x, tokens)
	xa, dx, xx, mm := s.xa[:TC], s.dx[:TC], s.xx[:TC], s.mm[:TC]
	xw, xk, xv, xr, xg := s.xw[:TC], s.xk[:TC], s.xv[:TC], s.xr[:TC], s.xg[:TC]
	r, k, v, g, w, y := s.r[:TC], s.k[:TC], s.v[:TC], s.g[:TC], s.w[:TC], s.y[:TC]
	hid, mid := s.hid[:T*5*Dm], s.mid[:T*Dm]
	for l := range m.layers {
		L := &m.layers[l]
		attX, ffnX, S := wkvLayer(st, l, C, N)

		// Data-dependent token shift: dx = x_prev − x, xxx = x + dx·μ'_x,
		// then five LoRA offsets m_s = W2[s]·tanh(W1·xxx)[s].
		m.normRows(xa, x, L.ln1w, L.ln1b)
		ew := m.ew()
		m.rows(T, int64(C)*2, func(t0, t1 int) {
			for t := t0; t < t1; t++ {
				cur := xa[t*C : (t+1)*C]
				p := attX
				if t > 0 {
					p = xa[(t-1)*C : t*C]
				}
				for c, x := range cur {
					dx[t*C+c] = p[c] - x
				}
				ew.Lerp(xx[t*C:(t+1)*C], cur, p, L.lx) // x + (x_prev − x)·μ'_x
			}
		})
		copy(attX, xa[(T-1)*C:TC])
		m.pool.MatMul(hid, L.w1, xx, T)
		m.tanhAll(hid)
		for si, tgt := range []struct{ dst, mu []float32 }{{xw, L.lw}, {xk, L.lk}, {xv, L.lv}, {xr, L.lr}, {xg, L.lg}} {
			for t := 0; t < T; t++ {
				copy(mid[t*Dm:(t+1)*Dm], hid[t*5*Dm+si*Dm:t*5*Dm+(si+1)*Dm])
			}
			m.pool.MatMul(mm, L.w2[si], mid, T)
			// dst = x + dx·(μ + m_s)
			m.rows(T, int64(C)*2, func(t0, t1 int) {
				for t := t0; t < t1; t++ {
					o := t * C
					ew.Add(mm[o:o+C], tgt.mu)
				}
				o0, o1 := t0*C, t1*C
				copy(tgt.dst[o0:o1], xa[o0:o1])
				ew.AddMul(tgt.dst[o0:o1], dx[o0:o1], mm[o0:o1])
			})
		}
		m.pool.MatMul(r, L.receptance, xr, T)
		m.pool.MatMul(k, L.key, xk, T)
		m.pool.MatMul(v, L.value, xv, T)
		m.pool.MatMul(g, L.gate, xg, T)
		// w = exp(−exp(time_decay + W2d·tanh(W1d·xw))).
		dmid := s.dmid[:T*m.dd]
		m.pool.MatMul(dmid, L.dw1, xw, T)
		m.tanhAll(dmid)
		m.pool.MatMul(w, L.dw2, dmid, T)
		m.rows(T, int64(C)*50, func(t0, t1 int) {
			row := w[t0*C : t1*C]
			for t := t0; t < t1; t++ {
				ew.Add(w[t*C:(t+1)*C], L.decay)
			}
			ew.Exp(row, row)
			for i, z := range row {
				row[i] = -z
			}
			ew.Exp(row, row)
		})
		wkv5(m.pool, S, r, k, v, w, C, L.first, L.lnxw, L.lnxb, y, T, H, N, m.gnEps)
		m.span(TC, 24, func(i0, i1 int) { ew.MulSiLU(y[i0:i1], g[i0:i1]) })
		m.addProjection(x, k, L.output, y, T) // reuse k as the output buffer

		// Channel mixing: lerps on the previous token, σ(receptance) gate.
		m.normRows(xa, x, L.ln2w, L.ln2b)
		m.tokenShift(ffnX, xa, true, mixTarget{xk, L.fk}, mixTarget{xr, L.fr})
		m.channelMix(x, xk, xr, s.fk[:T*F], v, r, L.fkey, L.fval, L.freceptance, T)
		if m.rescale > 0 && (l+1)%m.rescale == 0 {
			// llama.cpp's rwkv6 graph: ggml_scale(cur, 0.5) after the block.
			for i := range x {
				x[i] *= 0.5
			}
		}
	}
	if out != nil {
		m.logits(out, x, s.xa, T, lastOnly)
	}
}
