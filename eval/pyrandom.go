package eval

// pyRandom is CPython's random.Random: the MT19937 Mersenne Twister seeded
// the way random.seed(int) seeds it (init_by_array over the integer's
// 32-bit words), with random() built from two draws (53 bits). The
// harness' bootstrap stderr depends on its exact stream.
type pyRandom struct {
	mt  [624]uint32
	idx int
}

// newPyRandom is random.Random(seed) for a non-negative integer seed below
// 2^64 (the bootstrap seeds are chunk numbers).
func newPyRandom(seed uint64) *pyRandom {
	key := []uint32{uint32(seed)}
	if hi := uint32(seed >> 32); hi != 0 {
		key = append(key, hi)
	}
	r := &pyRandom{}
	r.initByArray(key)
	return r
}

func (r *pyRandom) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < 624; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.idx = 624
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

func (r *pyRandom) genrand() uint32 {
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

// random is random.random(): a 53-bit float in [0, 1).
func (r *pyRandom) random() float64 {
	a, b := r.genrand()>>5, r.genrand()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

// choiceIndex is the index random.choices(population) draws for a
// population of n without weights: floor(random() * n).
func (r *pyRandom) choiceIndex(n int) int {
	return int(r.random() * float64(n))
}
