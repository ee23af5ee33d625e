package craft

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// pickler writes the few pickle opcodes a torch.save state dict uses.
type pickler struct{ bytes.Buffer }

func (p *pickler) str(s string) {
	p.WriteByte('X') // BINUNICODE
	binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
}

func (p *pickler) global(module, name string) { p.WriteString("c" + module + "\n" + name + "\n") }

func (p *pickler) int(v int64) {
	p.WriteByte('J') // BININT
	binary.Write(&p.Buffer, binary.LittleEndian, int32(v))
}

// ints writes a tuple of ints.
func (p *pickler) ints(vs ...int64) {
	p.WriteByte('(') // MARK
	for _, v := range vs {
		p.int(v)
	}
	p.WriteByte('t') // TUPLE
}

// pthTensor is one state-dict entry: a view of storage "0" at offset 0.
type pthTensor struct {
	name  string
	shape []int64
}

// rwkv4Source lists an RWKV-4 BlinkDL state dict's names and shapes.
func rwkv4Source(vocab, embd, ffn, layers int64) []pthTensor {
	C, F, V := embd, ffn, vocab
	ts := []pthTensor{{"emb.weight", []int64{V, C}}, {"blocks.0.ln0.weight", []int64{C}}, {"blocks.0.ln0.bias", []int64{C}}}
	for l := int64(0); l < layers; l++ {
		b := fmt.Sprintf("blocks.%d.", l)
		for _, s := range []pthTensor{
			{"ln1.weight", []int64{C}}, {"ln1.bias", []int64{C}}, {"ln2.weight", []int64{C}}, {"ln2.bias", []int64{C}},
			{"att.time_decay", []int64{C}}, {"att.time_first", []int64{C}},
			{"att.time_mix_k", []int64{1, 1, C}}, {"att.time_mix_v", []int64{1, 1, C}}, {"att.time_mix_r", []int64{1, 1, C}},
			{"att.key.weight", []int64{C, C}}, {"att.value.weight", []int64{C, C}}, {"att.receptance.weight", []int64{C, C}}, {"att.output.weight", []int64{C, C}},
			{"ffn.time_mix_k", []int64{1, 1, C}}, {"ffn.time_mix_r", []int64{1, 1, C}},
			{"ffn.key.weight", []int64{F, C}}, {"ffn.receptance.weight", []int64{C, C}}, {"ffn.value.weight", []int64{C, F}},
		} {
			ts = append(ts, pthTensor{b + s.name, s.shape})
		}
	}
	return append(ts, pthTensor{"ln_out.weight", []int64{C}}, pthTensor{"ln_out.bias", []int64{C}}, pthTensor{"head.weight", []int64{V, C}})
}

// AliasingPth writes hostile case D: a zip .pth of an RWKV-4 model whose
// tensors all view one bf16 storage (as big as the largest tensor), so a
// file of a few hundred KiB describes a model many times its size.
func AliasingPth(dir, name string, vocab, embd, ffn, layers int64) (string, error) {
	ts := rwkv4Source(vocab, embd, ffn, layers)
	var numel int64
	for _, t := range ts {
		n := int64(1)
		for _, s := range t.shape {
			n *= s
		}
		numel = max(numel, n)
	}
	p := &pickler{}
	p.WriteString("\x80\x02}(") // PROTO 2, EMPTY_DICT, MARK
	for _, t := range ts {
		p.str(t.name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.WriteString("((") // MARK MARK
		p.str("storage")
		p.global("torch", "BFloat16Storage")
		p.str("0")
		p.str("cpu")
		p.int(numel)
		p.WriteString("tQ") // TUPLE (the persistent id), BINPERSID
		p.int(0)            // storage offset
		p.ints(t.shape...)
		stride := make([]int64, len(t.shape))
		acc := int64(1)
		for i := len(t.shape) - 1; i >= 0; i-- {
			stride[i] = acc
			acc *= t.shape[i]
		}
		p.ints(stride...)
		p.WriteByte(0x89) // NEWFALSE
		p.global("collections", "OrderedDict")
		p.WriteString(")RtR") // EMPTY_TUPLE, REDUCE, TUPLE, REDUCE
	}
	p.WriteString("u.") // SETITEMS, STOP
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{{"archive/data.pkl", p.Bytes()}, {"archive/data/0", make([]byte, 2*numel)}, {"archive/version", []byte("3\n")}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			return "", err
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}

// legacyMagic is the first pickle of a pre-1.6 torch.save file: PROTO 2,
// LONG1 of the magic number 0x1950a86a20f9469cfc6c, then STOP.
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'}

// NestedLegacyPth writes hostile case B: a legacy-format .pth whose second
// pickle (the protocol version) is depth tuples nested in one another.
func NestedLegacyPth(dir, name string, depth int) (string, error) {
	b := append([]byte(nil), legacyMagic...)
	b = append(b, 0x80, 0x02, 'N')                      // PROTO 2, NONE
	b = append(b, bytes.Repeat([]byte{0x85}, depth)...) // TUPLE1 …
	b = append(b, '.')
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, b, 0o644)
}
