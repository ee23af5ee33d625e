// Package pyrandom is CPython's random.Random, bit for bit: the MT19937
// Mersenne Twister seeded as random.seed(int) seeds it (init_by_array over
// the integer's 32-bit words), random() from two draws (53 bits),
// choices() and shuffle()'s _randbelow. lm-evaluation-harness depends on
// its exact stream twice: v0.3 shuffles every task's documents with
// Random(42), and the bootstrap stderr resamples with Random(chunk).
package pyrandom

// Random is one generator; the zero value is not usable (use New).
type Random struct {
	mt  [624]uint32
	idx int
}

// New is random.Random(seed) for a non-negative integer seed below 2^64.
func New(seed uint64) *Random {
	key := []uint32{uint32(seed)}
	if hi := uint32(seed >> 32); hi != 0 {
		key = append(key, hi)
	}
	r := &Random{}
	r.initByArray(key)
	return r
}

func (r *Random) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.idx = 624
}

func (r *Random) initByArray(key []uint32) {
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

// Uint32 is genrand_uint32: the next 32 tempered bits.
func (r *Random) Uint32() uint32 {
	if r.idx >= 624 {
		const upper, lower = 0x80000000, 0x7fffffff
		for kk := 0; kk < 624; kk++ {
			y := (r.mt[kk] & upper) | (r.mt[(kk+1)%624] & lower)
			v := r.mt[(kk+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			r.mt[kk] = v
		}
		r.idx = 0
	}
	y := r.mt[r.idx]
	r.idx++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Float64 is random.random(): a 53-bit float in [0, 1).
func (r *Random) Float64() float64 {
	a, b := r.Uint32()>>5, r.Uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

// ChoiceIndex is the index random.choices(population) draws for a
// population of n without weights: floor(random() * n).
func (r *Random) ChoiceIndex(n int) int {
	return int(r.Float64() * float64(n))
}

// RandBelow is Random._randbelow_with_getrandbits for 1 <= n < 2^32:
// draw bit_length(n) bits until the value is below n.
func (r *Random) RandBelow(n uint32) int {
	k := 0
	for v := n; v > 0; v >>= 1 {
		k++
	}
	for {
		if v := r.Uint32() >> (32 - k); v < n {
			return int(v)
		}
	}
}
