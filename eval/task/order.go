package task

// HarnessV03Order returns the order in which lm-evaluation-harness v0.3's
// evaluator visits n documents: it shuffles every task's document list
// with random.Random(42).shuffle before taking the first --limit of them
// (v0.4 keeps the dataset order). order[k] is the index (Doc.ID) of the
// k-th document visited. Full runs score the same set either way; a
// v0.3 --limit run must take its documents in this order to score the
// same ones, and the request lists the harness recorded in its
// regression tests are in this order.
func HarnessV03Order(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := newPyRandom(42)
	// CPython's Random.shuffle: for i in reversed(range(1, n)):
	// j = _randbelow(i + 1); swap.
	for i := n - 1; i >= 1; i-- {
		j := rng.randBelow(uint32(i + 1))
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// pyRandom is CPython's random.Random: MT19937 seeded the way
// random.seed(int) seeds it (init_by_array over the integer's 32-bit
// words).
type pyRandom struct {
	mt  [624]uint32
	mti int
}

func newPyRandom(seed uint32) *pyRandom {
	r := &pyRandom{}
	r.initByArray([]uint32{seed})
	return r
}

func (r *pyRandom) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.mti = 624
}

func (r *pyRandom) initByArray(key []uint32) {
	r.initGenrand(19650218)
	i, j := 1, 0
	k := max(624, len(key))
	for ; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= 624 {
			r.mt[0] = r.mt[623]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k = 623; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= 624 {
			r.mt[0] = r.mt[623]
			i = 1
		}
	}
	r.mt[0] = 0x80000000
}

func (r *pyRandom) uint32() uint32 {
	if r.mti >= 624 {
		for kk := 0; kk < 624; kk++ {
			y := (r.mt[kk] & 0x80000000) | (r.mt[(kk+1)%624] & 0x7fffffff)
			v := r.mt[(kk+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[kk] = v
		}
		r.mti = 0
	}
	y := r.mt[r.mti]
	r.mti++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// randBelow is Random._randbelow_with_getrandbits for 2 <= n < 2^32:
// draw bit_length(n) bits until the value is below n.
func (r *pyRandom) randBelow(n uint32) int {
	k := 0
	for v := n; v > 0; v >>= 1 {
		k++
	}
	for {
		if v := r.uint32() >> (32 - k); v < n {
			return int(v)
		}
	}
}
