package format

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// benchTensors is a 64 MiB tensor set: 16 F32 tensors of 4 MiB. Each Write
// func streams its bytes in 64 KiB pieces, as a converter encoding one
// chunk at a time does, so the buffered path is what is measured.
func benchTensors() ([]WriteTensor, int64) {
	src := pattern(4<<20, 1)
	const piece = 64 << 10
	var ts []WriteTensor
	var total int64
	for i := range 16 {
		ts = append(ts, WriteTensor{
			TensorInfo: TensorInfo{Name: fmt.Sprintf("blk.%d.weight", i), DType: quant.F32, Dims: []uint64{1024, 1024}},
			Write: func(w io.Writer) error {
				for off := 0; off < len(src); off += piece {
					if _, err := w.Write(src[off : off+piece]); err != nil {
						return err
					}
				}
				return nil
			},
		})
		total += int64(len(src))
	}
	return ts, total
}

func BenchmarkWrite(b *testing.B) {
	ts, total := benchTensors()
	md := allTypesMetadata()
	b.Run("dst=discard", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			if err := Write(io.Discard, md, ts); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Through the page cache, fsync included: what `rwkv convert` pays.
	b.Run("dst=file", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "bench.gguf")
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			if err := WriteFile(context.Background(), path, md, ts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	md := allTypesMetadata()
	vocab := make([]string, 65536)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("tok%d", i)
	}
	md["tokenizer.ggml.tokens"] = Strings(vocab)
	ts, _ := smallTensors()
	data := writeBytes(b, md, ts)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
