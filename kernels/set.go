package kernels

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Set is one implementation of the kernels. Row-range funcs let the caller
// split work across threads without the kernels knowing about threads.
type Set struct {
	Name string
	// MatVecRows: dst[r] = W[r]·x for r in [r0, r1).
	MatVecRows func(dst []float32, m Matrix, x []float32, r0, r1 int)
	// MatMulRows: dst[t][r] = W[r]·x[t] for r in [r0, r1), t < T.
	MatMulRows func(dst []float32, m Matrix, x []float32, T, r0, r1 int)
	// matVecQ8Rows: dst[r] = W[r]·v for a block-quantized W and
	// activations quantized for its type (PrecisionFast MatVec).
	matVecQ8Rows func(dst []float32, m Matrix, v *q8Vec, r0, r1 int)
	// quantizeQ8 is the vector block loop for rounding activations
	// (nil: Go), the same bits as quantizeQ8.
	quantizeQ8 q8Blocks

	// matMulPrep, if not nil, readies a MatMul once for all its row
	// ranges (packs the activations) and returns a function running the
	// same rows as MatMulRows would, bit for bit, and one freeing what
	// it used; run nil means "call MatMulRows".
	// par shares the preparation itself out over the pool's threads.
	matMulPrep func(dst []float32, m Matrix, x []float32, T int, par func(n int, fn func(i0, i1 int))) (run func(r0, r1 int), release func())

	fmaBurn func(iters int) int64 // FMABurn's loop (nil: pure Go)
	// chainMatMul: MatMulRows sums in MatMul's order (gemm.go), so it
	// equals Generic's MatMulRows bit for bit; else it equals its own
	// MatVecRows bit for bit.
	chainMatMul bool
}

// Generic is the pure-Go set: always available, the reference for others.
var Generic = Set{
	Name:       "generic",
	MatVecRows: genericMatVecRows,
	MatMulRows: genericMatMulRows,

	matVecQ8Rows: genericMatVecQ8Rows,
	chainMatMul:  true,
}

// Available lists the kernel sets this CPU can run, Generic first.
func Available() []Set { return append([]Set(nil), available...) }

// KernelsEnv selects a kernel set by name, for debugging and A/B runs.
const KernelsEnv = "RWKV_KERNELS"

// Best returns the fastest available set, or the one named by
// $RWKV_KERNELS; an unknown or unavailable name is an error.
func Best() (Set, error) {
	avail := Available()
	name := os.Getenv(KernelsEnv)
	if name == "" {
		return avail[len(avail)-1], nil
	}
	for _, s := range avail {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(avail))
	for i, s := range avail {
		names[i] = s.Name
	}
	return Set{}, fmt.Errorf("%s=%q: not available on this CPU (available: %v)", KernelsEnv, name, names)
}

// Pool runs row-parallel kernels on a fixed number of goroutines. Work is
// split into contiguous row ranges, so results do not depend on the thread
// count.
type Pool struct {
	Kernels   Set
	threads   int
	precision Precision
	decode    bool // ForDecode's view
}

// NewPool returns a pool with the given thread count (<= 0: GOMAXPROCS)
// and PrecisionFast.
func NewPool(k Set, threads int) *Pool {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Pool{Kernels: k, threads: threads}
}

// SetPrecision chooses how MatVec treats block-quantized products. Set it
// before use: a Pool's methods may run concurrently, this does not.
func (p *Pool) SetPrecision(pr Precision) { p.precision = pr }

// ForDecode returns a view of p for decoding one token at a time (engine
// Step), whose MatMul with T = 1 is MatVec, so in PrecisionFast it takes
// the int8 path. p's own MatMul never does: its bits do not depend on T.
func (p *Pool) ForDecode() *Pool {
	q := *p
	q.decode = true
	return &q
}

// Precision returns the pool's precision mode.
func (p *Pool) Precision() Precision { return p.precision }

// Threads returns the pool's thread count.
func (p *Pool) Threads() int { return p.threads }

// minRowsPerTask keeps tiny matrices on one goroutine, where the handoff
// would cost more than the work.
const minWorkPerTask = 1 << 16

// splits is the number of ranges split makes of rows (1: no goroutines).
func (p *Pool) splits(rows int, work int64) int {
	n := p.threads
	if max := int(work / minWorkPerTask); n > max {
		n = max
	}
	if rows < 2 {
		return 1
	}
	return min(n, rows)
}

// split runs fn over [0, rows) in up to Threads contiguous ranges whose
// boundaries are multiples of align.
func (p *Pool) split(rows int, work int64, align int, fn func(r0, r1 int)) {
	p.splitTasks(rows, work, align, 1, fn)
}

// splitTasks is split with ranges handed out as the goroutines ask for
// them: threads that run slower (a virtual CPU shared with other work, or
// a core busy with interrupts) then do less of the work instead of holding
// the others up. perThread = 1 makes one fixed range per goroutine; above
// that, ranges shrink as the work runs out (guided self-scheduling): each
// takes 1/(perThread·n/2) of the rows left, at least align, so the first
// ones are long and the last ones a single aligned step, and the threads
// finish together. Only for fn whose results do not depend on the ranges.
func (p *Pool) splitTasks(rows int, work int64, align, perThread int, fn func(r0, r1 int)) {
	n := p.splits(rows, work)
	if n <= 1 {
		fn(0, rows)
		return
	}
	// take returns the next range, or r0 >= rows when none is left.
	var take func() (r0, r1 int)
	if perThread <= 1 {
		var next atomic.Int64      // the next of n fixed ranges
		bound := func(i int) int { // range i's first row; n: rows
			if i == n {
				return rows
			}
			return rows * i / n / align * align
		}
		take = func() (int, int) {
			i := int(next.Add(1) - 1)
			if i >= n {
				return rows, rows
			}
			return bound(i), bound(i + 1)
		}
	} else {
		var next atomic.Int64 // the first row not yet taken
		div := max(1, perThread*n/2)
		take = func() (int, int) {
			for {
				r0 := int(next.Load())
				if r0 >= rows {
					return rows, rows
				}
				size := (rows - r0) / div / align * align
				r1 := min(rows, r0+max(size, align))
				if next.CompareAndSwap(int64(r0), int64(r1)) {
					return r0, r1
				}
			}
		}
	}
	job := &crewJob{want: n - 1, take: take, rows: rows, fn: fn}
	if theCrew.run(job) {
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var fault any // the first panic of a worker
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A memory fault reading a mapped weight (the file was truncated
			// while in use) panics instead of killing the process; the
			// panic is handed to the caller, which may recover it.
			debug.SetPanicOnFault(true)
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					if fault == nil {
						fault = r
					}
					mu.Unlock()
				}
			}()
			job.drain()
		}()
	}
	wg.Wait()
	if fault != nil {
		panic(fault)
	}
}

// Parallel runs fn over [0, n) split into contiguous ranges across the
// pool's threads (one range when work, a rough count of inner-loop steps,
// is too small to share). For independent items (heads, channels), so the
// results do not depend on the thread count.
func (p *Pool) Parallel(n int, work int64, fn func(i0, i1 int)) {
	if n <= 0 {
		return
	}
	p.split(n, work, 1, fn)
}

// MatVec computes dst = W·x (dst len Rows, x len Cols). With
// PrecisionFast, block-quantized W is dotted with x rounded to 8-bit
// blocks (see PrecisionFast), quantized once before the rows are split,
// so the result still does not depend on the thread count.
func (p *Pool) MatVec(dst []float32, m Matrix, x []float32) {
	_ = dst[m.Rows-1]
	_ = x[m.Cols-1]
	if p.precision == PrecisionFast && m.q != nil && p.Kernels.matVecQ8Rows != nil {
		v := q8VecPool.Get().(*q8Vec)
		defer q8VecPool.Put(v)
		quantizeQ8With(v, x[:m.Cols], m.DType, p.Kernels.quantizeQ8)
		p.split(m.Rows, int64(m.Rows)*int64(m.Cols), 4, func(r0, r1 int) {
			p.Kernels.matVecQ8Rows(dst, m, v, r0, r1)
		})
		return
	}
	p.matVecExact(dst, m, x)
}

var q8VecPool = sync.Pool{New: func() any { return new(q8Vec) }}

// matVecExact is MatVec with float32 activations.
func (p *Pool) matVecExact(dst []float32, m Matrix, x []float32) {
	_ = dst[m.Rows-1]
	_ = x[m.Cols-1]
	p.split(m.Rows, int64(m.Rows)*int64(m.Cols), 4, func(r0, r1 int) {
		p.Kernels.MatVecRows(dst, m, x, r0, r1)
	})
}

// matMulTasks sets MatMul's guided ranges (see splitTasks): with n
// threads the first takes 1/(4n) of the rows, the last ones one 12-row
// tile, so a fast thread takes over a slow one's share and the threads
// finish within a tile of each other.
const matMulTasks = 8

// MatMul computes dst[t] = W·x[t] for t < T (dst [T][Rows], x [T][Cols]).
// Row ranges are multiples of 12 (the avx512 tile height) apart.
func (p *Pool) MatMul(dst []float32, m Matrix, x []float32, T int) {
	// The decode view (engine Step) takes MatVec for one token; MatMul
	// itself never does: its bits must not depend on T.
	if T == 1 && p.decode {
		p.MatVec(dst, m, x)
		return
	}
	if T <= 0 {
		return
	}
	_ = dst[T*m.Rows-1]
	_ = x[T*m.Cols-1]
	work := int64(m.Rows) * int64(m.Cols) * int64(T)
	if p.Kernels.matMulPrep != nil && p.splits(m.Rows, work) > 1 {
		// Packing is a copy: its split cannot change a bit. Its work
		// is given as the product's, so it splits whenever that does.
		par := func(n int, fn func(i0, i1 int)) { p.split(n, work, 1, fn) }
		if run, release := p.Kernels.matMulPrep(dst, m, x, T, par); run != nil {
			defer release()
			p.splitTasks(m.Rows, work, 12, matMulTasks, run)
			return
		}
	}
	p.splitTasks(m.Rows, work, 12, matMulTasks, func(r0, r1 int) {
		p.Kernels.MatMulRows(dst, m, x, T, r0, r1)
	})
}
