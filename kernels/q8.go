package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Precision says how Pool.MatVec treats the activations of block-quantized
// (Q4_0 … Q8_0) weights.
type Precision uint8

const (
	// PrecisionFast (the default) rounds the activation vector once per
	// product to 8-bit blocks of 32 as ggml does (Q8_0 style for Q8_0,
	// Q4_0, Q5_0; Q8_1 style, with the block sums, for Q4_1, Q5_1) and
	// takes integer dot products (VPDPBUSD / VPMADDUBSW). Decode only:
	// MatMul keeps float32 activations, so Step and Sequence agree within
	// the int8 rounding instead of bit for bit.
	PrecisionFast Precision = iota
	// PrecisionExact keeps float32 activations everywhere: the result is
	// the float32 dot over the dequantized weights, and MatVec equals
	// MatMul bit for bit.
	PrecisionExact
)

func (p Precision) String() string {
	switch p {
	case PrecisionFast:
		return "fast"
	case PrecisionExact:
		return "exact"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// ParsePrecision reads "fast" or "exact".
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "fast":
		return PrecisionFast, nil
	case "exact":
		return PrecisionExact, nil
	}
	return 0, fmt.Errorf("precision %q: want fast (int8 activations for block-quantized weights, as ggml) or exact (float32 activations)", s)
}

// q8Vec is an activation vector rounded to 8-bit blocks of 32 for one
// weight type, the form every int8 dot reads.
type q8Vec struct {
	qs []int8    // the rounded values, 32 per block
	d  []float32 // block scale: the float16 ggml stores, widened
	// s is Q8_1's block term, the float16 of Σqs·d widened (weights with
	// a min: Q4_1, Q5_1); nil otherwise.
	s []float32
	// nsum is -Σqs per block. The dots take unsigned weight codes c =
	// w + off (off: the zero point, 8 for Q4_0, 16 for Q5_0; 128 for Q8_0
	// in the VNNI kernels, which flip w's sign bit) and start each block's
	// integer sum from off·nsum, so that it equals Σ w·x.
	nsum []int32
}

// q8Sums reports whether weights of type t dot with Q8_1-style activations.
func q8Sums(t quant.DType) bool { return t == quant.Q4_1 || t == quant.Q5_1 }

// q8ZeroPoint is the offset of type t's unsigned codes (0: signed or min).
func q8ZeroPoint(t quant.DType) int32 {
	switch t {
	case quant.Q4_0:
		return 8
	case quant.Q5_0:
		return 16
	}
	return 0
}

// quantizeQ8 rounds x (len a multiple of 32) for weights of type t into v,
// reusing v's storage. The values are those of ggml's
// quantize_row_q8_0_ref / quantize_row_q8_1_ref: d = amax/127 (float32),
// each element roundf(x·(1/d)) (half away from zero), d stored as float16;
// Q8_1's s = float16(Σqs · d) with the float32 d.
func quantizeQ8(v *q8Vec, x []float32, t quant.DType) {
	quantizeQ8With(v, x, t, nil)
}

// q8Blocks is a vector quantizeQ8 loop: it fills blocks [0, nb) of the
// outputs from x (s nil: no Q8_1 sums) with quantizeQ8Block's bits and
// returns how many blocks it did, stopping early at a block it leaves to
// Go (non-finite values).
type q8Blocks func(x *float32, nb int, qs *int8, d *float32, nsum *int32, s *float32) int

// quantizeQ8With is quantizeQ8 with a set's block loop (nil: Go only).
func quantizeQ8With(v *q8Vec, x []float32, t quant.DType, blocks q8Blocks) {
	nb := len(x) / 32
	v.qs = grow(v.qs, 32*nb)
	v.d = grow(v.d, nb)
	v.nsum = grow(v.nsum, nb)
	sums := q8Sums(t)
	if sums {
		v.s = grow(v.s, nb)
	} else {
		v.s = v.s[:0]
	}
	for b := 0; b < nb; b++ {
		if blocks != nil {
			var s *float32
			if sums {
				s = &v.s[b]
			}
			b += blocks(&x[32*b], nb-b, &v.qs[32*b], &v.d[b], &v.nsum[b], s)
			if b == nb {
				break
			}
		}
		quantizeQ8Block(v, x, b, sums)
	}
}

// quantizeQ8Block quantizes block b of x into v, as ggml's reference.
func quantizeQ8Block(v *q8Vec, x []float32, b int, sums bool) {
	xb := (*[32]float32)(x[32*b:])
	var amax float32
	for _, f := range xb {
		// ggml's amax = MAX(amax, fabsf(v)), MAX(a, b) = a > b ? a : b.
		if a := float32(math.Abs(float64(f))); !(amax > a) {
			amax = a
		}
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	qs := (*[32]int8)(v.qs[32*b:])
	var sum int32
	for j, f := range xb {
		q := roundHalfAway(f * id)
		qs[j] = q
		sum += int32(q)
	}
	v.d[b] = quant.F16ToF32(quant.F32ToF16(d))
	if sums {
		v.s[b] = quant.F16ToF32(quant.F32ToF16(float32(sum) * d))
	}
	v.nsum[b] = -sum
}

// roundHalfAway is C's roundf(f) stored to an int8 as ggml's compiled
// code does on x86-64: truncating conversion to int32 (NaN or out of range
// gives 0x80000000), then the low 8 bits. |f| ≤ 127 for finite scales; the
// rest only matters for NaN, Inf or a scale whose inverse overflows.
func roundHalfAway(f float32) int8 {
	r := math.Round(float64(f))
	if !(r >= math.MinInt32 && r <= math.MaxInt32) {
		return 0 // low byte of 0x80000000
	}
	return int8(int32(r))
}

func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// dotQ8 is the reference int8 dot of one row of ggml blocks with
// activations quantized for its type: per block the exact integer sum of
// code products, then sum += float32(sumi)·(dw·dx) (+ mw·s for types with
// a min), in block order. Assembly dots accumulate per lane and so differ
// from it in the last bits only.
func dotQ8(t quant.DType, row []byte, v *q8Vec) float32 {
	nb := len(v.d)
	if nb == 0 {
		return 0
	}
	bb := len(row) / nb
	var sum float32
	for b := 0; b < nb; b++ {
		blk := row[b*bb : (b+1)*bb]
		xq := (*[32]int8)(v.qs[32*b:])
		dw := f16At(blk)
		sumi := q8ZeroPoint(t) * v.nsum[b]
		switch t {
		case quant.Q8_0:
			for j := 0; j < 32; j++ {
				sumi += int32(int8(blk[2+j])) * int32(xq[j])
			}
		case quant.Q4_0, quant.Q4_1:
			qs := blk[2:18]
			if t == quant.Q4_1 {
				qs = blk[4:20]
			}
			for j := 0; j < 16; j++ {
				sumi += int32(qs[j]&0x0f)*int32(xq[j]) + int32(qs[j]>>4)*int32(xq[j+16])
			}
		case quant.Q5_0, quant.Q5_1:
			hq := blk[2:6]
			if t == quant.Q5_1 {
				hq = blk[4:8]
			}
			qh := binary.LittleEndian.Uint32(hq)
			qs := hq[4:20]
			for j := 0; j < 16; j++ {
				lo := int32(qs[j]&0x0f) | int32(qh>>j&1)<<4
				hi := int32(qs[j]>>4) | int32(qh>>(j+16)&1)<<4
				sumi += lo*int32(xq[j]) + hi*int32(xq[j+16])
			}
		default:
			panic("kernels: unsupported matrix type " + t.String())
		}
		sum += float32(sumi) * (dw * v.d[b])
		if len(v.s) > 0 {
			sum += f16At(blk[2:]) * v.s[b]
		}
	}
	return sum
}

// genericMatVecQ8Rows computes dst[r] = W[r]·v for r in [r0, r1).
func genericMatVecQ8Rows(dst []float32, m Matrix, v *q8Vec, r0, r1 int) {
	for r := r0; r < r1; r++ {
		dst[r] = dotQ8(m.DType, m.qRow(r), v)
	}
}
