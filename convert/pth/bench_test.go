package pth

import (
	"os"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// BenchmarkOpenTinyV4 opens the 6.5 MB reference checkpoint (42 tensors,
// 50277×32 embedding and head): mmap, zip directory, pickle, validation.
// Tensor bytes are never touched, so the cost is independent of model size.
func BenchmarkOpenTinyV4(b *testing.B) {
	path := testutil.Shared(b, "reference", "tiny-v4-bf16.pth")
	b.ReportAllocs()
	for b.Loop() {
		ck, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		ck.Close()
	}
}

// BenchmarkOpenBytesTinyV4 is the same without the mmap/munmap syscalls.
func BenchmarkOpenBytesTinyV4(b *testing.B) {
	data, err := os.ReadFile(testutil.Shared(b, "reference", "tiny-v4-bf16.pth"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := OpenBytes(data, "tiny-v4-bf16.pth"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnpickleTinyV4 isolates the pickle VM on the file's data.pkl.
func BenchmarkUnpickleTinyV4(b *testing.B) {
	data, err := os.ReadFile(testutil.Shared(b, "reference", "tiny-v4-bf16.pth"))
	if err != nil {
		b.Fatal(err)
	}
	var pkl []byte
	for _, e := range zipEntries(b, data) {
		if e.name == "tiny-v4-bf16/data.pkl" {
			pkl = e.data
		}
	}
	b.SetBytes(int64(len(pkl)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := unpickle(pkl, newTorchHooks(false)); err != nil {
			b.Fatal(err)
		}
	}
}
