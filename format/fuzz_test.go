package format

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse follows debug/elf's FuzzReader: seed with every file in
// testdata/, then call every accessor on whatever parses. On top of "no
// panic", it checks that any file Parse accepts can be rewritten by Write
// (unless it uses what only the reader allows) and that the rewrite is a
// fixed point: Write(Parse(Write(Parse(x)))) == Write(Parse(x)).
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.gguf"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in testdata/: %v", err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is %T, not *FormatError: %v", err, err)
			}
			if fe.Off < 0 || fe.Off > int64(len(b)) {
				t.Fatalf("error offset %d outside the %d-byte input", fe.Off, len(b))
			}
			return
		}
		md := file.Metadata
		for _, k := range md.Keys() {
			md[k].Format()
			md.String(k)
			md.Uint(k)
			md.Float(k)
			md.Bool(k)
			md.Strings(k)
			md.Int32s(k)
			md.Float32s(k)
		}
		rewritable := true
		var ts []WriteTensor
		for _, ti := range file.Tensors {
			info, data, err := file.Tensor(ti.Name)
			if err != nil {
				t.Fatalf("Tensor(%q): %v", ti.Name, err)
			}
			size, err := info.Size()
			if err != nil || uint64(len(data)) != size {
				t.Fatalf("%q: %d bytes, Size %d, %v", ti.Name, len(data), size, err)
			}
			if (file.DataOffset+info.Offset)%file.Alignment != 0 {
				t.Fatalf("%q: data not aligned", ti.Name)
			}
			if _, ok := file.Lookup(ti.Name); !ok {
				t.Fatalf("Lookup(%q) failed", ti.Name)
			}
			if len(ti.Name) > MaxWriteNameLen || len(ti.Dims) == 0 {
				rewritable = false // accepted by Parse, refused by Write on purpose
			}
			ts = append(ts, WriteTensor{TensorInfo: info, Write: writeBytesFunc(data)})
		}
		var out bytes.Buffer
		if err := Write(&out, md, ts); err != nil {
			if rewritable {
				t.Fatalf("Write refused a parsed file: %v", err)
			}
			return
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("Parse refused Write's output: %v", err)
		}
		var out2 bytes.Buffer
		var ts2 []WriteTensor
		for _, ti := range again.Tensors {
			_, data, _ := again.Tensor(ti.Name)
			ts2 = append(ts2, WriteTensor{TensorInfo: ti, Write: writeBytesFunc(data)})
		}
		if err := Write(&out2, again.Metadata, ts2); err != nil {
			t.Fatalf("second Write: %v", err)
		}
		if !bytes.Equal(out.Bytes(), out2.Bytes()) {
			t.Fatal("Write(Parse(Write(Parse(x)))) differs from Write(Parse(x))")
		}
	})
}

func writeBytesFunc(data []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}
}
