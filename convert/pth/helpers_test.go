package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// pk writes pickle opcodes, for crafting inputs torch would never produce.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }

func (p *pk) str(s string) *pk {
	p.WriteByte(opBINUNICODE)
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}

func (p *pk) global(module, name string) *pk {
	p.WriteByte(opGLOBAL)
	p.WriteString(module + "\n" + name + "\n")
	return p
}

// int writes v with the smallest opcode, as pickle does; big values and
// negative ones go through LONG1.
func (p *pk) int(v int64) *pk {
	switch {
	case v >= 0 && v < 256:
		p.op(opBININT1, byte(v))
	case v >= 0 && v < 65536:
		p.op(opBININT2, byte(v), byte(v>>8))
	case v >= -1<<31 && v < 1<<31:
		p.op(opBININT)
		binary.Write(&p.Buffer, binary.LittleEndian, int32(v))
	default:
		p.op(opLONG1, 8)
		binary.Write(&p.Buffer, binary.LittleEndian, v)
	}
	return p
}

// long1 writes a LONG1 of the given little-endian two's-complement bytes.
func (p *pk) long1(b ...byte) *pk {
	p.op(opLONG1, byte(len(b)))
	p.Write(b)
	return p
}

func (p *pk) ints(vs ...int64) *pk {
	p.op(opMARK)
	for _, v := range vs {
		p.int(v)
	}
	return p.op(opTUPLE)
}

// tensorSpec describes one entry of a crafted torch state-dict pickle. The
// write* hooks, when set, replace how that argument is written.
type tensorSpec struct {
	name        string
	cls         string // storage class, e.g. "BFloat16Storage"
	key         string
	numel       int64
	offset      int64
	shape       []int64
	stride      []int64
	writeNumel  func(*pk)
	writeOffset func(*pk)
	writeShape  func(*pk)
}

// torchPickle writes a data.pkl the way torch.save lays one out.
func torchPickle(specs ...tensorSpec) []byte {
	p := &pk{}
	p.op(opPROTO, 2, opEMPTYDICT, opMARK)
	for _, s := range specs {
		p.str(s.name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op(opMARK, opMARK)
		p.str("storage").global("torch", s.cls).str(s.key).str("cpu")
		if s.writeNumel != nil {
			s.writeNumel(p)
		} else {
			p.int(s.numel)
		}
		p.op(opTUPLE, opBINPERSID)
		if s.writeOffset != nil {
			s.writeOffset(p)
		} else {
			p.int(s.offset)
		}
		if s.writeShape != nil {
			s.writeShape(p)
		} else {
			p.ints(s.shape...)
		}
		p.ints(s.stride...)
		p.op(opNEWFALSE).global("collections", "OrderedDict").op(opEMPTYTUPLE, opREDUCE, opTUPLE, opREDUCE)
	}
	p.op(opSETITEMS, opSTOP)
	return p.Bytes()
}

type zipEntry struct {
	name   string
	data   []byte
	method uint16
}

func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: e.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipEntries lists a zip's entries (all stored in the fixtures).
func zipEntries(t testing.TB, b []byte) []zipEntry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zipEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var d bytes.Buffer
		if _, err := d.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		out = append(out, zipEntry{name: f.Name, data: d.Bytes(), method: f.Method})
	}
	return out
}

// expected is testdata/pth/values.json: PyTorch's bits for every tensor.
type expected struct {
	Dims    map[string]int64 `json:"dims"`
	Tensors []struct {
		Name       string  `json:"name"`
		Shape      []int64 `json:"shape"`
		BF16       string  `json:"bf16"`
		F16        string  `json:"f16"`
		FlatOffset int64   `json:"flat_offset"`
	} `json:"tensors"`
}

func loadExpected(t testing.TB) *expected {
	t.Helper()
	b, err := os.ReadFile(testutil.Testdata("pth", "values.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Testdata("pth", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bigInt(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 0)
	if !ok {
		panic(s)
	}
	return v
}
