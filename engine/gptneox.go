package engine

import (
	"fmt"
	"math"
	"sync"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// gptneox is the Transformer baseline (GPT-NeoX / Pythia,
// docs/ARCHITECTURES.md §12): pre-LN blocks with a parallel (or, if the
// file says so, sequential) residual, fused QKV with partial rotary
// embeddings, exact-erf GELU MLP, untied head. Attention is fp32.
//
// The State is the KV cache, position-major: for each position p, for
// each layer l, k[C] then v[C] (k after rotary). It grows by
// Layers·2·Embd floats per token; Clone copies it.
type gptneox struct {
	base

	layers   []neoxLayer
	heads    int // H; head size N = C/H
	ropeDims int // R, rotated dims at the start of each head
	invFreq  []float64
	eps      float64 // LayerNorm epsilon
	parallel bool    // x + attn(ln1 x) + mlp(ln2 x), else sequential
}

type neoxLayer struct {
	ln1w, ln1b, ln2w, ln2b []float32
	qkv                    kernels.Matrix // [3C][C]: q of all heads, then k, then v
	qkvB                   []float32
	out                    kernels.Matrix // [C][C]
	outB                   []float32
	up                     kernels.Matrix // [F][C]
	upB                    []float32
	down                   kernels.Matrix // [C][F]
	downB                  []float32
}

func loadGPTNeoX(f *format.File, pool *kernels.Pool) (*gptneox, error) {
	a := arch.GPTNeoX
	d, err := readDims(f, a)
	if err != nil {
		return nil, err
	}
	md := f.Metadata
	heads, err := md.Uint(arch.Key(a, arch.KeyHeadCount))
	if err != nil {
		return nil, err
	}
	if heads == 0 || int(heads) > d.Embd || d.Embd%int(heads) != 0 {
		return nil, fmt.Errorf("engine: %s = %d does not divide n_embd %d", arch.Key(a, arch.KeyHeadCount), heads, d.Embd)
	}
	d.Heads = int(heads)
	N := d.Embd / d.Heads
	rot, err := md.Uint(arch.Key(a, arch.KeyRopeDims))
	if err != nil {
		return nil, err
	}
	if rot == 0 || int(rot) > N || rot%2 != 0 {
		return nil, fmt.Errorf("engine: %s = %d; want an even count in (0, head size %d]", arch.Key(a, arch.KeyRopeDims), rot, N)
	}
	ropeBase, err := md.Float(arch.Key(a, arch.KeyRopeFreqBase))
	if err != nil {
		return nil, err
	}
	if !(ropeBase > 1) || math.IsInf(ropeBase, 0) {
		return nil, fmt.Errorf("engine: %s = %g is out of range", arch.Key(a, arch.KeyRopeFreqBase), ropeBase)
	}
	eps, err := md.Float(arch.Key(a, arch.KeyAttnLayerNormEps))
	if err != nil {
		return nil, err
	}
	if !(eps > 0 && eps < 0.1) {
		return nil, fmt.Errorf("engine: %s = %g is out of range", arch.Key(a, arch.KeyAttnLayerNormEps), eps)
	}
	par, err := md.Bool(arch.Key(a, arch.KeyParallelResidual))
	if err != nil {
		return nil, err
	}
	w, err := newWeights(f, a, d)
	if err != nil {
		return nil, err
	}
	m := &gptneox{
		base:     base{cfg: Config{Arch: a, Vocab: d.Vocab, Embd: d.Embd, Layers: d.Layers, FFN: d.FFN, StatePerToken: d.Layers * 2 * d.Embd}, pool: pool},
		layers:   make([]neoxLayer, d.Layers),
		heads:    d.Heads,
		ropeDims: int(rot),
		eps:      eps,
		parallel: par,
	}
	// inv_freq[i] = base^(−2i/R), as transformers computes it.
	for i := 0; i < m.ropeDims/2; i++ {
		m.invFreq = append(m.invFreq, 1/math.Pow(ropeBase, float64(2*i)/float64(m.ropeDims)))
	}
	ld := &loader{w: w}
	vec, mat := ld.vec, ld.mat
	m.emb = mat("token_embd.weight")
	m.lnOutW, m.lnOutB = vec("output_norm.weight"), vec("output_norm.bias")
	m.head = mat("output.weight")
	for l := range m.layers {
		n := func(s string) string { return arch.LayerName(l, s) }
		m.layers[l] = neoxLayer{
			ln1w: vec(n("attn_norm.weight")), ln1b: vec(n("attn_norm.bias")),
			qkv: mat(n("attn_qkv.weight")), qkvB: vec(n("attn_qkv.bias")),
			out: mat(n("attn_output.weight")), outB: vec(n("attn_output.bias")),
			ln2w: vec(n("ffn_norm.weight")), ln2b: vec(n("ffn_norm.bias")),
			up: mat(n("ffn_up.weight")), upB: vec(n("ffn_up.bias")),
			down: mat(n("ffn_down.weight")), downB: vec(n("ffn_down.bias")),
		}
	}
	if ld.err != nil {
		return nil, ld.err
	}
	return m, nil
}

// NewState returns the empty KV cache (no tokens seen).
func (m *gptneox) NewState() *State {
	return &State{Arch: m.cfg.Arch, Layers: m.cfg.Layers, Embd: m.cfg.Embd, Data: []float32{}}
}

func (m *gptneox) Step(st *State, token int, logits []float32) error {
	return m.Sequence(st, []int{token}, logits)
}

func (m *gptneox) Sequence(st *State, tokens []int, logits []float32) error {
	return runSequence(&m.base, st, tokens, logits, m.newScratch, m.forward)
}

// scratchNeoX holds per-call buffers, sized for maxChunk tokens.
type scratchNeoX struct {
	x, h, att, a, o []float32 // [T][C]
	qkv             []float32 // [T][3C]
	f               []float32 // [T][F]
	cos, sin        []float32 // [T][R/2]
	// Attention, grown with the context: one head's k [ctx][N] and v
	// transposed [N][ctx], its queries [T][N], scores [T][ctx], output [T][N].
	kh, vt, qh, scores, yh []float32
}

func (m *gptneox) newScratch() *scratchNeoX {
	TC, TF := maxChunk*m.cfg.Embd, maxChunk*m.cfg.FFN
	return &scratchNeoX{
		x: make([]float32, TC), h: make([]float32, TC), att: make([]float32, TC), a: make([]float32, TC), o: make([]float32, TC),
		qkv: make([]float32, 3*TC), f: make([]float32, TF),
		cos: make([]float32, maxChunk*m.ropeDims/2), sin: make([]float32, maxChunk*m.ropeDims/2),
	}
}

// normRowsEps is normRows with the model's epsilon.
func normRowsEps(dst, src, w, b []float32, C int, eps float64) {
	for t := 0; t < len(dst)/C; t++ {
		layerNorm(dst[t*C:(t+1)*C], src[t*C:(t+1)*C], w, b, eps)
	}
}

// addBias adds b to every len(b)-wide row of x.
func addBias(x, b []float32) {
	n := len(b)
	for t := 0; t+n <= len(x); t += n {
		row := x[t : t+n]
		for i, v := range b {
			row[i] += v
		}
	}
}

// gelu is the exact erf form transformers' "gelu" uses.
func gelu(z float32) float32 {
	return float32(0.5 * float64(z) * (1 + math.Erf(float64(z)/math.Sqrt2)))
}

// rotate applies GPT-NeoX's rotary embedding ("rotate_half",
// non-interleaved) to the first 2·len(cos) dims of one head vector.
func rotate(v, cos, sin []float32) {
	h := len(cos)
	for i := 0; i < h; i++ {
		a, b := v[i], v[i+h]
		v[i] = a*cos[i] - b*sin[i]
		v[i+h] = b*cos[i] + a*sin[i]
	}
}

// forward runs T ≤ maxChunk tokens at positions P.. (P = tokens cached).
func (m *gptneox) forward(s *scratchNeoX, st *State, tokens []int, out []float32, lastOnly bool) {
	T, C, F := len(tokens), m.cfg.Embd, m.cfg.FFN
	H, N, half := m.heads, m.cfg.Embd/m.heads, m.ropeDims/2
	per := m.cfg.StatePerToken
	P := len(st.Data) / per
	st.Data = append(st.Data, make([]float32, T*per)...)
	kv := st.Data
	for t := 0; t < T; t++ {
		for i := 0; i < half; i++ {
			th := float64(P+t) * m.invFreq[i]
			s.cos[t*half+i], s.sin[t*half+i] = float32(math.Cos(th)), float32(math.Sin(th))
		}
	}
	x := s.x[:T*C]
	for t, tok := range tokens {
		m.emb.Row(tok, x[t*C:(t+1)*C])
	}
	h, qkv, att, a, o, f := s.h[:T*C], s.qkv[:3*T*C], s.att[:T*C], s.a[:T*C], s.o[:T*C], s.f[:T*F]
	scale := float32(1 / math.Sqrt(float64(N)))
	for l := range m.layers {
		Ly := &m.layers[l]
		normRowsEps(h, x, Ly.ln1w, Ly.ln1b, C, m.eps)
		m.pool.MatMul(qkv, Ly.qkv, h, T)
		addBias(qkv, Ly.qkvB)
		// Rotary on q and k, then k and v into the cache.
		for t := 0; t < T; t++ {
			row := qkv[t*3*C : (t+1)*3*C]
			cs, sn := s.cos[t*half:(t+1)*half], s.sin[t*half:(t+1)*half]
			for hd := 0; hd < H; hd++ {
				rotate(row[hd*N:hd*N+N], cs, sn)
				rotate(row[C+hd*N:C+hd*N+N], cs, sn)
			}
			cache := kv[(P+t)*per+l*2*C:]
			copy(cache[:C], row[C:2*C])
			copy(cache[C:2*C], row[2*C:3*C])
		}
		m.attention(s, att, qkv, kv, l, P, T, scale)
		m.pool.MatMul(a, Ly.out, att, T)
		addBias(a, Ly.outB)
		if !m.parallel {
			for i := range x {
				x[i] += a[i]
			}
		}
		normRowsEps(h, x, Ly.ln2w, Ly.ln2b, C, m.eps)
		m.pool.MatMul(f, Ly.up, h, T)
		addBias(f, Ly.upB)
		// GELU (float64 erf) costs about as much as a projection at short
		// context: split it over the threads (elementwise, so exact).
		m.split(len(f), int64(len(f))*16, func(i0, i1 int) {
			for i, z := range f[i0:i1] {
				f[i0+i] = gelu(z)
			}
		})
		m.pool.MatMul(o, Ly.down, f, T)
		addBias(o, Ly.downB)
		if m.parallel {
			for i := range x {
				x[i] += a[i] + o[i]
			}
		} else {
			for i := range x {
				x[i] += o[i]
			}
		}
	}

	if out != nil {
		t0 := 0
		if lastOnly {
			t0 = T - 1
		}
		n := T - t0
		xo := h[:n*C]
		normRowsEps(xo, x[t0*C:], m.lnOutW, m.lnOutB, C, m.eps)
		m.pool.MatMul(out[:n*m.cfg.Vocab], m.head, xo, n)
	}
}

// attention computes, for each of the T new tokens and each head, the
// causal softmax attention over the cached positions 0..P+t into att
// [T][C]: scores q·k/√N, max-subtracted softmax in fp32, then Σ p·v. Per
// head, the cached k (and v, transposed) are gathered into contiguous
// matrices so both products run on the matrix kernels through the pool
// (row-split, so the result does not depend on the thread count).
func (m *gptneox) attention(s *scratchNeoX, att, qkv, kv []float32, l, P, T int, scale float32) {
	if T < gatherMinTokens {
		m.attentionDirect(s, att, qkv, kv, l, P, T, scale)
		return
	}
	C, H := m.cfg.Embd, m.heads
	N := C / H
	per := m.cfg.StatePerToken
	ctx := P + T
	kh := grow(&s.kh, ctx*N)
	vt := grow(&s.vt, N*ctx)
	qh := grow(&s.qh, T*N)
	sc := grow(&s.scores, T*ctx)
	yh := grow(&s.yh, T*N)
	for hd := 0; hd < H; hd++ {
		off := l*2*C + hd*N
		for p := 0; p < ctx; p++ {
			copy(kh[p*N:(p+1)*N], kv[p*per+off:p*per+off+N])
			v := kv[p*per+off+C : p*per+off+C+N]
			for j, x := range v {
				vt[j*ctx+p] = x
			}
		}
		for t := 0; t < T; t++ {
			copy(qh[t*N:(t+1)*N], qkv[t*3*C+hd*N:t*3*C+hd*N+N])
		}
		m.pool.MatMul(sc, kernels.MatrixF32(ctx, N, kh), qh, T)
		for t := 0; t < T; t++ {
			row := sc[t*ctx : (t+1)*ctx]
			n := P + t + 1 // causal: positions 0..P+t
			mx := float32(math.Inf(-1))
			for p := 0; p < n; p++ {
				row[p] *= scale
				mx = max(mx, row[p])
			}
			var sum float64
			for p := 0; p < n; p++ {
				e := exp32(row[p] - mx)
				row[p] = e
				sum += float64(e)
			}
			inv := float32(1 / sum)
			for p := 0; p < n; p++ {
				row[p] *= inv
			}
			clear(row[n:])
		}
		m.pool.MatMul(yh, kernels.MatrixF32(N, ctx, vt), sc, T)
		for t := 0; t < T; t++ {
			copy(att[t*C+hd*N:t*C+hd*N+N], yh[t*N:(t+1)*N])
		}
	}
}

// gatherMinTokens is the chunk size from which gathering a head's k and v
// into matrices pays: the gather reads the whole cache once per head, which
// T queries then share. Decoding (T = 1) reads the cache in place instead:
// gathering (with v's transposition) would cost more than the one pass of
// dot products it feeds.
const gatherMinTokens = 8

// attentionDirect is attention for a few new tokens, reading the cache in
// place in position order: one position's k (then v) of every head of
// layer l is contiguous, so each pass streams the cache once. Scores are
// split over positions and the weighted sum over output channels; every
// value is computed in a fixed order whatever the split, so the result
// does not depend on the thread count.
func (m *gptneox) attentionDirect(s *scratchNeoX, att, qkv, kv []float32, l, P, T int, scale float32) {
	C, H := m.cfg.Embd, m.heads
	N := C / H
	per := m.cfg.StatePerToken
	off := l * 2 * C
	for t := 0; t < T; t++ {
		n := P + t + 1 // positions 0..P+t
		q := qkv[t*3*C : t*3*C+C]
		sc := grow(&s.scores, H*n) // [H][n]
		m.split(n, int64(n)*int64(C), func(p0, p1 int) {
			for p := p0; p < p1; p++ {
				k := kv[p*per+off : p*per+off+C]
				for hd := 0; hd < H; hd++ {
					sc[hd*n+p] = dot32(q[hd*N:hd*N+N], k[hd*N:hd*N+N]) * scale
				}
			}
		})
		for hd := 0; hd < H; hd++ {
			row := sc[hd*n : (hd+1)*n]
			mx := float32(math.Inf(-1))
			for _, v := range row {
				mx = max(mx, v)
			}
			var sum float64
			for p, v := range row {
				e := exp32(v - mx)
				row[p] = e
				sum += float64(e)
			}
			inv := float32(1 / sum)
			for p := range row {
				row[p] *= inv
			}
		}
		y := att[t*C : (t+1)*C]
		m.split(C, int64(n)*int64(C), func(c0, c1 int) {
			clear(y[c0:c1])
			for p := 0; p < n; p++ {
				v := kv[p*per+off+C : p*per+off+2*C]
				for c := c0; c < c1; c++ {
					y[c] += sc[(c/N)*n+p] * v[c]
				}
			}
		})
	}
}

// split splits [0, n) into contiguous ranges over the pool's threads
// (one range when work is small) and waits for them.
func (m *gptneox) split(n int, work int64, fn func(i0, i1 int)) {
	workers := min(m.pool.Threads(), int(work/(1<<15)), n)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		i0, i1 := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i0, i1)
		}()
	}
	wg.Wait()
}

// dot32 is a float32 dot product with four accumulators.
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// grow returns (*buf)[:n], reallocating when it is too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n, n+n/4)
	}
	return (*buf)[:n]
}
