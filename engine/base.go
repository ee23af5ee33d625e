package engine

import (
	"sync"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// base is what every architecture shares: the configuration, the kernels,
// the embedding with its layer norm (ln0), the output norm and head, and
// the pool of per-call scratch buffers.
type base struct {
	cfg  Config
	pool *kernels.Pool

	emb          kernels.Matrix // [V][C]
	ln0w, ln0b   []float32
	lnOutW       []float32
	lnOutB       []float32
	head         kernels.Matrix // [V][C]
	scratchCache sync.Pool
}

func (m *base) Config() Config  { return m.cfg }
func (m *base) Kernels() string { return m.pool.Kernels.Name }

// NewState returns an all-zero state of the model's shape (the rwkv5 and
// rwkv7 initial state; rwkv4 and rwkv6 start from it).
func (m *base) NewState() *State {
	return &State{Arch: m.cfg.Arch, Layers: m.cfg.Layers, Embd: m.cfg.Embd, Data: make([]float32, m.cfg.StateSize)}
}

// wkvLayer is block l's part of an rwkv5/6/7 state: att_x [C], ffn_x [C]
// and the WKV state S [H][N][N] (C = H·N).
func wkvLayer(st *State, l, C, N int) (attX, ffnX, S []float32) {
	stride := 2*C + C*N
	b := l * stride
	return st.Data[b : b+C], st.Data[b+C : b+2*C], st.Data[b+2*C : b+stride]
}

// runSequence runs a Sequence call in chunks through forward, with one
// scratch from the pool (fresh when the pool has none) for the whole call.
func runSequence[S any](m *base, st *State, tokens []int, logits []float32, fresh func() S,
	forward func(s S, st *State, tokens []int, out []float32, lastOnly bool)) error {
	s, ok := m.scratchCache.Get().(S)
	if !ok {
		s = fresh()
	}
	defer m.scratchCache.Put(s)
	return runChunks(m.cfg, st, tokens, logits, func(tokens []int, out []float32, lastOnly bool) {
		forward(s, st, tokens, out, lastOnly)
	})
}

// loadGlobals loads the tensors outside the blocks.
func (m *base) loadGlobals(ld *loader) {
	m.emb = ld.mat("token_embd.weight")
	m.ln0w, m.ln0b = ld.vec("token_embd_norm.weight"), ld.vec("token_embd_norm.bias")
	m.lnOutW, m.lnOutB = ld.vec("output_norm.weight"), ld.vec("output_norm.bias")
	m.head = ld.mat("output.weight")
}

// embed writes LN(emb[token]; ln0) into x's rows.
func (m *base) embed(x []float32, tokens []int) {
	C := m.cfg.Embd
	ln := m.ew().LayerNorm
	m.rows(len(tokens), int64(C)*8, func(t0, t1 int) {
		for t := t0; t < t1; t++ {
			row := x[t*C : (t+1)*C]
			m.emb.Row(tokens[t], row)
			ln(row, row, m.ln0w, m.ln0b, arch.LayerNormEps)
		}
	})
}

// logits applies the output norm and head to the T rows of x whose logits
// were asked for (all, or the last with lastOnly), using buf as the
// normed rows, into out.
func (m *base) logits(out, x, buf []float32, T int, lastOnly bool) {
	C := m.cfg.Embd
	t0 := 0
	if lastOnly {
		t0 = T - 1
	}
	n := T - t0
	xo := buf[:n*C]
	m.normRows(xo, x[t0*C:], m.lnOutW, m.lnOutB)
	m.pool.MatMul(out[:n*m.cfg.Vocab], m.head, xo, n)
}

// addProjection adds W·in to x's T rows, with buf holding W·in.
func (m *base) addProjection(x, buf []float32, W kernels.Matrix, in []float32, T int) {
	m.pool.MatMul(buf, W, in, T)
	add := m.ew().Add
	m.span(len(x), 1, func(i0, i1 int) { add(x[i0:i1], buf[i0:i1]) })
}

// channelMix finishes RWKV-4/5/6 channel mixing once xk and xr hold the
// token-shifted inputs: x += σ(R·xr) ⊙ V·relu²(K·xk), with fk, v and r as
// scratch (r ends up holding σ(R·xr)).
func (m *base) channelMix(x, xk, xr, fk, v, r []float32, key, value, receptance kernels.Matrix, T int) {
	ew := m.ew()
	m.pool.MatMul(fk, key, xk, T)
	m.span(len(fk), 2, func(i0, i1 int) { ew.ReluSquare(fk[i0:i1]) })
	m.pool.MatMul(v, value, fk, T)
	m.pool.MatMul(r, receptance, xr, T)
	m.span(len(x), 24, func(i0, i1 int) {
		ew.Sigmoid(r[i0:i1], r[i0:i1])
		ew.AddMul(x[i0:i1], r[i0:i1], v[i0:i1])
	})
}

// loader reads a model's tensors, keeping the first error.
type loader struct {
	w   *weights
	err error
}

// fail records err if it is the first.
func (ld *loader) fail(err error) {
	if err != nil && ld.err == nil {
		ld.err = err
	}
}

func (ld *loader) vec(name string) []float32 {
	v, err := ld.w.vector(name)
	ld.fail(err)
	return v
}

func (ld *loader) mat(name string) kernels.Matrix {
	v, err := ld.w.matrix(name)
	ld.fail(err)
	return v
}
