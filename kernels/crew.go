package kernels

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// crew is a set of long-lived helper goroutines that splitTasks hands its
// ranges to, shared by every Pool. Starting goroutines for each product
// costs a wake-up of an idle CPU per call (tens of microseconds on a
// virtual machine), and decoding one token makes about 90 products; the
// helpers instead spin for a short while after a job, so the next one
// starts at once, and then sleep.
//
// One caller uses the crew at a time (busy); a concurrent caller (another
// eval worker, say) starts goroutines as before. Helpers with an index
// below the job's want take part, so a Pool never runs on more goroutines
// than its thread count.
type crew struct {
	busy sync.Mutex // held by the caller whose job the crew runs

	job atomic.Pointer[crewJob] // the newest job; a new pointer wakes helpers

	mu      sync.Mutex // guards parked, helpers, gen; cond waits on it
	cond    sync.Cond
	parked  int
	helpers int
	gen     uint64 // the newest job's generation
}

// crewJob is one splitTasks call.
type crewJob struct {
	gen  uint64 // set by run: 1, 2, ... (helpers remember the last they saw)
	want int    // helpers taking part: index < want
	take func() (r0, r1 int)
	rows int
	fn   func(r0, r1 int)

	// active counts helpers inside the job; the caller returns once it has
	// taken the last range itself and active is 0. A helper that arrives
	// late finds no range left and touches nothing.
	active atomic.Int32
	mu     sync.Mutex
	fault  any // the first panic of a helper
}

var theCrew = func() *crew {
	c := &crew{}
	c.cond.L = &c.mu
	return c
}()

// crewSpin is how long an idle helper keeps checking for a new job,
// yielding between checks, before it sleeps: longer than the serial work
// between two products of a decode step, short enough not to matter when
// the model stops.
const crewSpin = 200 * time.Microsecond

// run runs j's ranges on the calling goroutine and want helpers; it
// reports false (nothing run) when another caller holds the crew.
func (c *crew) run(j *crewJob) bool {
	if !c.busy.TryLock() {
		return false
	}
	defer c.busy.Unlock()
	c.mu.Lock()
	for c.helpers < j.want {
		go c.helper(c.helpers)
		c.helpers++
	}
	c.gen++
	j.gen = c.gen
	c.job.Store(j)
	// Done: let go of the job (its closures hold the caller's buffers).
	defer c.job.Store(nil)
	if c.parked > 0 {
		c.cond.Broadcast()
	}
	c.mu.Unlock()

	// The caller's own share; a panic here still waits for the helpers
	// (they may be writing the caller's buffers) before it unwinds.
	defer func() {
		for j.active.Load() != 0 {
			runtime.Gosched()
		}
	}()
	j.drain()
	for j.active.Load() != 0 {
		runtime.Gosched()
	}
	if j.fault != nil {
		panic(j.fault)
	}
	return true
}

// helper is helper goroutine i: it waits for a job of a generation it
// has not seen (spinning, then asleep) and takes ranges from it while any
// are left. Between jobs the pointer is nil, and a helper keeps only the
// generation, not the job, so nothing of a finished call stays reachable.
func (c *crew) helper(i int) {
	// A memory fault reading a mapped weight (the file was truncated
	// while in use) panics instead of killing the process; the panic is
	// handed to the caller, which may recover it.
	debug.SetPanicOnFault(true)
	var seen uint64
	idle := func(j *crewJob) bool { return j == nil || j.gen == seen }
	for {
		j := c.job.Load()
		if idle(j) {
			start := time.Now()
			for spins := 1; idle(j); spins++ {
				if spins%32 == 0 && time.Since(start) > crewSpin {
					c.mu.Lock()
					c.parked++
					for j = c.job.Load(); idle(j); j = c.job.Load() {
						c.cond.Wait()
					}
					c.parked--
					c.mu.Unlock()
					break
				}
				runtime.Gosched()
				j = c.job.Load()
			}
		}
		seen = j.gen
		if i < j.want {
			j.active.Add(1)
			c.work(j)
			j.active.Add(-1)
		}
	}
}

// work takes j's ranges until none is left, keeping the first panic.
func (c *crew) work(j *crewJob) {
	defer func() {
		if r := recover(); r != nil {
			j.mu.Lock()
			if j.fault == nil {
				j.fault = r
			}
			j.mu.Unlock()
		}
	}()
	j.drain()
}

// drain runs j's ranges until none is left.
func (j *crewJob) drain() {
	for {
		r0, r1 := j.take()
		if r0 >= j.rows {
			return
		}
		if r0 < r1 {
			j.fn(r0, r1)
		}
	}
}
