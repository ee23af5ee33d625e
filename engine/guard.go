package engine

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrModelChanged is returned when reading the mapped model faults: the
// file was truncated (or replaced in place) while the model was in use.
var ErrModelChanged = errors.New("model file changed while in use (truncated or overwritten by another program); reopen it")

// faultAddr is implemented by the runtime's memory-fault panics.
type faultAddr interface{ Addr() uintptr }

// guardFaults runs f with memory faults turned into ErrModelChanged rather
// than a crash (SIGBUS on a truncated mapping). The kernels' worker
// goroutines hand their faults to the caller, so one guard covers a call.
func guardFaults(f func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			fa, ok := r.(faultAddr)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%w (fault at %#x)", ErrModelChanged, fa.Addr())
		}
	}()
	return f()
}

// guarded wraps a Model so that its calls report ErrModelChanged instead
// of crashing when the mapping goes away under them.
//
// step, when not nil, is the same weights loaded over the pool's decode
// view (kernels.Pool.ForDecode): Step runs on it, so that with
// kernels.PrecisionFast one-token products take the int8 MatVec while
// Sequence (any length, one token included) keeps MatMul's bits.
type guarded struct{ m, step Model }

func (g guarded) Config() Config   { return g.m.Config() }
func (g guarded) NewState() *State { return g.m.NewState() }
func (g guarded) Kernels() string  { return g.m.Kernels() }

func (g guarded) Step(st *State, token int, logits []float32) error {
	m := g.m
	if g.step != nil {
		m = g.step
	}
	return guardFaults(func() error { return m.Step(st, token, logits) })
}

func (g guarded) Sequence(st *State, tokens []int, logits []float32) error {
	return guardFaults(func() error { return g.m.Sequence(st, tokens, logits) })
}
