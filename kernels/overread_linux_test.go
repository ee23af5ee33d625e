//go:build linux

package kernels

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// TestNoOverread puts each row, and x, flush against an inaccessible page:
// a kernel that loads past the last element (a full vector on a tail,
// say) faults. Prefetches past the end are fine, they never fault.
func TestNoOverread(t *testing.T) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 4*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skip("mmap:", err)
	}
	defer syscall.Munmap(mem)
	// Layout: [weights page][guard][x page][guard].
	if err := syscall.Mprotect(mem[page:2*page], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	if err := syscall.Mprotect(mem[3*page:], syscall.PROT_NONE); err != nil {
		t.Skip("mprotect:", err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, set := range Available() {
		for _, dt := range append(dtypes, qtypes...) {
			for cols := 1; cols <= 67; cols++ {
				rb, err := dt.RowBytes(int64(cols))
				if err != nil {
					continue // not whole blocks
				}
				const rows = 2
				wb := mem[page-rows*int(rb) : page]
				for i := range wb {
					wb[i] = byte(rng.Uint32() & 0x3f) // small finite values (f16 scales too)
				}
				m, err := NewMatrix(dt, rows, cols, wb)
				if err != nil {
					t.Fatal(err)
				}
				x := unsafe.Slice((*float32)(unsafe.Pointer(&mem[3*page-4*cols])), cols)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				got, want := make([]float32, rows), make([]float32, rows)
				set.MatVecRows(got, m, x, 0, rows)
				Generic.MatVecRows(want, m, x, 0, rows)
				for r := range got {
					checkClose(t, set.Name+" "+dt.String(), got[r], want[r], dotTolerance(m, r, x))
				}
			}
		}
	}
}
