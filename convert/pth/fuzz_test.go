package pth

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// seedPickles returns the data.pkl of every zip fixture, the legacy file
// (whose first pickle is the magic number) and a few crafted pickles.
func seedPickles(f *testing.F) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob(testutil.Testdata("pth", "*.pt*"))
	for _, p := range files {
		b := readFixture(f, filepath.Base(p))
		if IsLegacy(b) {
			out = append(out, b)
			continue
		}
		for _, e := range zipEntries(f, b) {
			if strings.HasSuffix(e.name, "data.pkl") {
				out = append(out, e.data)
			}
		}
	}
	b, _ := hex.DecodeString(cpythonProto4)
	out = append(out, b,
		torchPickle(tensorSpec{name: "w", cls: "HalfStorage", key: "0", numel: 6, offset: 1, shape: []int64{2, 2}, stride: []int64{1, 2}}),
		[]byte("\x80\x02]q\x00h\x00K\x07a\x86."))
	return out
}

// FuzzPickle runs the VM with the torch hooks on arbitrary bytes, then
// interprets whatever it built as a state dict over fake storages. Nothing
// may panic, and memory must stay bounded by the input.
func FuzzPickle(f *testing.F) {
	for _, s := range seedPickles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newTorchHooks(false)
		v, n, err := unpickle(data, h)
		if err != nil {
			return
		}
		if n < 1 || n > len(data) {
			t.Fatalf("consumed %d of %d bytes", n, len(data))
		}
		named, err := stateDict(v)
		if err != nil {
			return
		}
		for _, nt := range named {
			tn, err := makeTensor("fuzz", nt, func(st *storageRef) error {
				size := st.numel * st.cls.elemSize
				if size > 1<<20 {
					return &FormatError{Path: "fuzz", Off: -1, Msg: "storage too big for the fuzzer"}
				}
				st.data, st.fileOff = make([]byte, size), 0
				return nil
			})
			if err != nil {
				continue
			}
			if _, err := tn.Bytes(); err != nil {
				t.Fatalf("validated tensor %q fails Bytes: %v", tn.Name, err)
			}
		}
	})
}

// FuzzOpenPth feeds whole files (zip or legacy) to OpenBytes.
func FuzzOpenPth(f *testing.F) {
	files, _ := filepath.Glob(testutil.Testdata("pth", "*.pt*"))
	for _, p := range files {
		f.Add(readFixture(f, filepath.Base(p)))
	}
	f.Add(craft(f, torchPickle(tensorSpec{name: "w", cls: "BFloat16Storage", key: "0", numel: 8, offset: 2, shape: []int64{3, 2}, stride: []int64{1, 3}}), make([]byte, 16)))
	skipAll := Options{SkipNonFloat: func(string) bool { return true }}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{{}, skipAll} {
			ck, err := OpenBytesWith(data, "fuzz", opts)
			if err != nil {
				continue
			}
			for _, tn := range ck.Tensors {
				if _, err := tn.Bytes(); err != nil {
					t.Fatalf("validated tensor %q fails Bytes: %v", tn.Name, err)
				}
			}
		}
	})
}
