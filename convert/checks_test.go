package convert

// Test helpers shared by the per-architecture tests: reading checkpoints
// and converted tensors, and the malformed-checkpoint harness.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/convert/ckpt"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// ckptTensors reads any checkpoint as safetensors-ready tensors.
func ckptTensors(t *testing.T, path string) []stTensor {
	t.Helper()
	ck, err := ckpt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	names := map[quant.DType]string{quant.BF16: "BF16", quant.F16: "F16", quant.F32: "F32"}
	var ts []stTensor
	for _, x := range ck.Tensors {
		b, err := x.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, stTensor{x.Name, names[x.DType], slices.Clone(x.Shape), slices.Clone(b)})
	}
	return ts
}

// f32Values reads a stored tensor's values (any float type).
func f32Values(t *testing.T, f *format.File, name string) ([]float32, []uint64) {
	t.Helper()
	ti, b, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, ti.NumElements())
	if err := quant.DequantizeRow(ti.DType, v, b); err != nil {
		t.Fatal(err)
	}
	return v, ti.Dims
}

func srcValues(t *testing.T, path, name string) ([]float32, []int64) {
	t.Helper()
	ck, err := ckpt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	x := ck.Tensor(name)
	if x == nil {
		t.Fatalf("%s: no %s", path, name)
	}
	v, err := readF32(x)
	if err != nil {
		t.Fatal(err)
	}
	return v, x.Shape
}

// convertOpen converts in with dt and opens the result (closed at the end
// of the test).
func convertOpen(t *testing.T, in string, dt DTypeChoice) (*format.File, *Report) {
	t.Helper()
	out, rep := convertTo(t, in, dt)
	f, err := format.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, rep
}

// ckptMaker writes a test checkpoint to path.
type ckptMaker func(t *testing.T, path string)

// ckptEdit is the checkpoint at in, edited by f, as safetensors.
func ckptEdit(in string, f func(ts []stTensor) []stTensor) ckptMaker {
	return func(t *testing.T, p string) { writeSafetensors(t, p, f(ckptTensors(t, in))) }
}

// ckptWithout is the checkpoint at in without the tensor name.
func ckptWithout(in, name string) ckptMaker {
	return ckptEdit(in, func(ts []stTensor) []stTensor {
		return slices.DeleteFunc(ts, func(x stTensor) bool { return x.name == name })
	})
}

// ckptReshape is the checkpoint at in with the tensor name given another
// shape (same bytes).
func ckptReshape(in, name string, shape ...int64) ckptMaker {
	return ckptEdit(in, func(ts []stTensor) []stTensor {
		for i := range ts {
			if ts[i].name == name {
				ts[i].shape = shape // same bytes, other shape
			}
		}
		return ts
	})
}

// rejectCase is one malformed checkpoint and what the error must mention.
type rejectCase struct {
	reason string
	make   ckptMaker
	want   string
}

// checkRejects converts every case's checkpoint, which must fail with an
// error mentioning want and write nothing.
func checkRejects(t *testing.T, cases []rejectCase) {
	for _, c := range cases {
		t.Run(c.reason, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "in.safetensors")
			c.make(t, p)
			outDir := t.TempDir()
			_, err := Convert(context.Background(), p, filepath.Join(outDir, "out.gguf"), Options{})
			if err == nil {
				t.Fatal("converted without error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("output written: %v", ents)
			}
		})
	}
}
