package kernels

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestCrewCoversEveryRange: each row is run exactly once, for every thread
// count and range step, with callers racing for the crew (the losers start
// their own goroutines).
func TestCrewCoversEveryRange(t *testing.T) {
	var wg sync.WaitGroup
	for caller := 0; caller < 4; caller++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, threads := range []int{2, 3, 5} {
				p := NewPool(Generic, threads)
				for _, rows := range []int{1, 2, 7, 64, 1000} {
					for _, per := range []int{1, 8} {
						hits := make([]atomic.Int32, rows)
						p.splitTasks(rows, 1<<30, 4, per, func(r0, r1 int) {
							for r := r0; r < r1; r++ {
								hits[r].Add(1)
							}
						})
						for r := range hits {
							if n := hits[r].Load(); n != 1 {
								t.Errorf("threads %d, rows %d, perThread %d: row %d run %d times", threads, rows, per, r, n)
								return
							}
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestCrewThreadBound: a pool never runs on more goroutines than its
// thread count, even after a larger pool grew the crew.
func TestCrewThreadBound(t *testing.T) {
	NewPool(Generic, 6).splitTasks(600, 1<<30, 1, 8, func(int, int) { time.Sleep(time.Millisecond) })
	var inside, most atomic.Int32
	NewPool(Generic, 2).splitTasks(400, 1<<30, 1, 8, func(int, int) {
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(50 * time.Microsecond)
		inside.Add(-1)
	})
	if m := most.Load(); m > 2 {
		t.Fatalf("a 2-thread pool ran on %d goroutines at once", m)
	}
}

// TestCrewPanic: a panic in any range reaches the caller, after every
// range that started has finished, and the crew keeps working.
func TestCrewPanic(t *testing.T) {
	p := NewPool(Generic, 2)
	for _, bad := range []int{0, 37, 99} {
		var running atomic.Int32
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Fatalf("recovered %v, want boom", r)
				}
				if n := running.Load(); n != 0 {
					t.Fatalf("returned with %d ranges still running", n)
				}
			}()
			p.splitTasks(100, 1<<30, 1, 8, func(r0, r1 int) {
				running.Add(1)
				defer running.Add(-1)
				time.Sleep(100 * time.Microsecond)
				if r0 <= bad && bad < r1 {
					panic("boom")
				}
			})
			t.Fatal("no panic")
		}()
	}
	var n atomic.Int32
	p.splitTasks(100, 1<<30, 1, 8, func(r0, r1 int) { n.Add(int32(r1 - r0)) })
	if n.Load() != 100 {
		t.Fatalf("after panics the crew ran %d of 100 rows", n.Load())
	}
}

// TestCrewWakesAfterSleep: helpers that went to sleep (idle past
// crewSpin) wake for the next job, and the results are those of one thread.
func TestCrewWakesAfterSleep(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, _ := randomMatrix(t, rng, quant.F16, 300, 96)
	x := make([]float32, 96)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	set, _ := Best()
	want := make([]float32, 300)
	NewPool(set, 1).MatVec(want, m, x)
	p := NewPool(set, 2)
	for i := 0; i < 3; i++ {
		time.Sleep(2 * crewSpin)
		runtime.Gosched()
		got := make([]float32, 300)
		p.MatVec(got, m, x)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: 2-thread MatVec differs from 1 thread", i)
		}
	}
}
