package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// State is the recurrent state of one sequence: a flat float32 buffer owned
// by the caller, so cloning is a copy. Its layout is architecture-specific
// (RWKV-4: per layer att_x, aa, bb, pp, ffn_x, each Embd floats, the
// ChatRWKV order; RWKV-5: per layer att_x, ffn_x, then S[h][key][value];
// RWKV-7: per layer att_x, ffn_x, then S[h][value][key]; both Embd + Embd +
// Embd·head_size floats).
type State struct {
	Arch   string
	Layers int
	Embd   int
	Data   []float32
}

// Clone returns an independent copy.
func (s *State) Clone() *State {
	c := *s
	c.Data = append([]float32(nil), s.Data...)
	return &c
}

// CopyFrom overwrites s with o; both must belong to the same model shape.
func (s *State) CopyFrom(o *State) error {
	if err := s.compatible(o); err != nil {
		return err
	}
	copy(s.Data, o.Data)
	return nil
}

func (s *State) compatible(o *State) error {
	if s.Arch != o.Arch || s.Layers != o.Layers || s.Embd != o.Embd || len(s.Data) != len(o.Data) {
		return fmt.Errorf("state of %s L%d C%d (%d floats) does not fit a model of %s L%d C%d (%d floats)",
			o.Arch, o.Layers, o.Embd, len(o.Data), s.Arch, s.Layers, s.Embd, len(s.Data))
	}
	return nil
}

// stateMagic starts a saved state file.
const stateMagic = "RWKVSTAT"

// WriteTo saves the state: magic, u32 format version 1, u32 len(arch),
// arch, u32 layers, u32 embd, u64 count, count little-endian float32.
func (s *State) WriteTo(w io.Writer) (int64, error) {
	hdr := []byte(stateMagic)
	hdr = binary.LittleEndian.AppendUint32(hdr, 1)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(s.Arch)))
	hdr = append(hdr, s.Arch...)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(s.Layers))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(s.Embd))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(s.Data)))
	buf := make([]byte, 0, len(hdr)+4*len(s.Data))
	buf = append(buf, hdr...)
	for _, v := range s.Data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	n, err := w.Write(buf)
	return int64(n), err
}

// ReadStateInto loads a saved state into s, which fixes the expected shape
// (get it from Model.NewState). A state of another model is an error.
func ReadStateInto(r io.Reader, s *State) error {
	var fixed [8 + 4 + 4]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return fmt.Errorf("state file: header: %w", err)
	}
	if string(fixed[:8]) != stateMagic {
		return fmt.Errorf("state file: bad magic %q (want %q)", fixed[:8], stateMagic)
	}
	if v := binary.LittleEndian.Uint32(fixed[8:]); v != 1 {
		return fmt.Errorf("state file: version %d is not supported", v)
	}
	alen := binary.LittleEndian.Uint32(fixed[12:])
	if alen > 64 {
		return fmt.Errorf("state file: architecture name of %d bytes", alen)
	}
	rest := make([]byte, int(alen)+4+4+8)
	if _, err := io.ReadFull(r, rest); err != nil {
		return fmt.Errorf("state file: header: %w", err)
	}
	got := State{
		Arch:   string(rest[:alen]),
		Layers: int(binary.LittleEndian.Uint32(rest[alen:])),
		Embd:   int(binary.LittleEndian.Uint32(rest[alen+4:])),
	}
	count := binary.LittleEndian.Uint64(rest[alen+8:])
	if got.Arch != s.Arch || got.Layers != s.Layers || got.Embd != s.Embd || count != uint64(len(s.Data)) {
		return fmt.Errorf("state file holds a state of %s L%d C%d (%d floats); the model needs %s L%d C%d (%d floats)",
			got.Arch, got.Layers, got.Embd, count, s.Arch, s.Layers, s.Embd, len(s.Data))
	}
	data := make([]byte, 4*len(s.Data))
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("state file: data: %w", err)
	}
	for i := range s.Data {
		s.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return nil
}
