package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/rwkv-tools/rwkv-tools/arch"
)

// State is the recurrent state of one sequence: a flat float32 buffer owned
// by the caller, so cloning is a copy. Its layout is architecture-specific
// (RWKV-4: per layer att_x, aa, bb, pp, ffn_x, each Embd floats, the
// ChatRWKV order; RWKV-5: per layer att_x, ffn_x, then S[h][key][value];
// RWKV-7: per layer att_x, ffn_x, then S[h][value][key]; both Embd + Embd +
// Embd·head_size floats; GPT-NeoX: the KV cache, per position per layer
// k[C] then v[C], growing by 2·Layers·Embd floats per token).
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
// A growing state (GPT-NeoX's KV cache) takes o's length.
func (s *State) CopyFrom(o *State) error {
	if err := s.compatible(o); err != nil {
		return err
	}
	if s.perToken() > 0 {
		s.Data = append(s.Data[:0], o.Data...)
		return nil
	}
	copy(s.Data, o.Data)
	return nil
}

// perToken is how many floats a growing state holds per token fed
// (GPT-NeoX: k and v of every layer), 0 for a fixed-size state.
func (s *State) perToken() int {
	if s.Arch == arch.GPTNeoX {
		return 2 * s.Layers * s.Embd
	}
	return 0
}

// Tokens is the number of tokens a growing state holds (its KV cache
// length); 0 for a fixed-size state.
func (s *State) Tokens() int {
	if n := s.perToken(); n > 0 {
		return len(s.Data) / n
	}
	return 0
}

func (s *State) compatible(o *State) error {
	sameLen := len(s.Data) == len(o.Data)
	if n := s.perToken(); n > 0 {
		sameLen = len(o.Data)%n == 0
	}
	if s.Arch != o.Arch || s.Layers != o.Layers || s.Embd != o.Embd || !sameLen {
		return fmt.Errorf("state of %s L%d C%d (%d floats) does not fit a model of %s L%d C%d (%d floats)",
			o.Arch, o.Layers, o.Embd, len(o.Data), s.Arch, s.Layers, s.Embd, len(s.Data))
	}
	return nil
}

// StateMagic starts a saved state file.
const StateMagic = "RWKVSTAT"

// maxStateFloats bounds the float count a state file may claim (16 GiB of
// floats, far above any real model's state); the data is read in chunks, so
// a short file claiming more fails without allocating the claim.
const maxStateFloats = 1 << 32

// WriteTo saves the state: magic, u32 format version 1, u32 len(arch),
// arch, u32 layers, u32 embd, u64 count, count little-endian float32.
func (s *State) WriteTo(w io.Writer) (int64, error) {
	hdr := []byte(StateMagic)
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

// readStateHeader reads everything before the floats.
func readStateHeader(r io.Reader) (State, uint64, error) {
	var got State
	var fixed [8 + 4 + 4]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return got, 0, fmt.Errorf("state file: header: %w", err)
	}
	if string(fixed[:8]) != StateMagic {
		return got, 0, fmt.Errorf("state file: bad magic %q (want %q): not a state saved by logits --state-out", fixed[:8], StateMagic)
	}
	if v := binary.LittleEndian.Uint32(fixed[8:]); v != 1 {
		return got, 0, fmt.Errorf("state file: version %d is not supported (this build reads version 1)", v)
	}
	alen := binary.LittleEndian.Uint32(fixed[12:])
	if alen == 0 || alen > 64 {
		return got, 0, fmt.Errorf("state file: architecture name of %d bytes (1 to 64 expected)", alen)
	}
	rest := make([]byte, int(alen)+4+4+8)
	if _, err := io.ReadFull(r, rest); err != nil {
		return got, 0, fmt.Errorf("state file: header: %w", err)
	}
	got = State{
		Arch:   string(rest[:alen]),
		Layers: int(binary.LittleEndian.Uint32(rest[alen:])),
		Embd:   int(binary.LittleEndian.Uint32(rest[alen+4:])),
	}
	for _, c := range []byte(got.Arch) {
		if c < 0x20 || c >= 0x7f {
			return got, 0, fmt.Errorf("state file: architecture name %q is not printable ASCII", got.Arch)
		}
	}
	count := binary.LittleEndian.Uint64(rest[alen+8:])
	if count > maxStateFloats {
		return got, 0, fmt.Errorf("state file: claims %d floats, more than the %d this reader accepts", count, uint64(maxStateFloats))
	}
	return got, count, nil
}

func checkStateEnd(r io.Reader, total uint64) error {
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n != 0 {
		return fmt.Errorf("state file: unexpected bytes after the %d floats (the file is longer than its header says; not a state file, or corrupted)", total)
	}
	return nil
}

// ReadState reads a whole state file without a model, e.g. to describe it.
// The floats are read in chunks: a file claiming more than it holds fails
// before the claim is allocated in full.
func ReadState(r io.Reader) (*State, error) {
	got, count, err := readStateHeader(r)
	if err != nil {
		return nil, err
	}
	data := make([]float32, 0, min(count, 1<<20))
	chunk := make([]float32, 1<<16)
	for remaining := count; remaining > 0; {
		n := min(remaining, uint64(len(chunk)))
		if err := readStateDataPart(r, chunk[:n], count-remaining, count); err != nil {
			return nil, err
		}
		data = append(data, chunk[:n]...)
		remaining -= n
	}
	if err := checkStateEnd(r, count); err != nil {
		return nil, err
	}
	got.Data = data
	return &got, nil
}

// readStateDataPart reads floats [from, from+len(dst)) of total, checking
// values like readStateData.
func readStateDataPart(r io.Reader, dst []float32, from, total uint64) error {
	buf := make([]byte, 4*len(dst))
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("state file: data ends within floats %d..%d of %d: %w", from, from+uint64(len(dst)), total, err)
	}
	for j := range dst {
		v := math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("state file: float %d of %d is %v; a state with NaN or infinite values is unusable (save it again)", from+uint64(j), total, v)
		}
		dst[j] = v
	}
	return nil
}

// ReadStateInto loads a saved state into s, which fixes the expected shape
// (get it from Model.NewState). A state of another model, a state with
// NaN or infinite values and a file with bytes after the state are errors;
// s is unchanged then.
func ReadStateInto(r io.Reader, s *State) error {
	got, count, err := readStateHeader(r)
	if err != nil {
		return err
	}
	want := uint64(len(s.Data))
	if n := uint64(s.perToken()); n > 0 && count%n == 0 {
		want = count // a KV cache of any whole number of tokens
	}
	if got.Arch != s.Arch || got.Layers != s.Layers || got.Embd != s.Embd || count != want {
		return fmt.Errorf("state file holds a state of %s L%d C%d (%d floats); the model needs %s L%d C%d (%d floats)",
			got.Arch, got.Layers, got.Embd, count, s.Arch, s.Layers, s.Embd, want)
	}
	data := make([]float32, 0, min(count, 1<<20))
	chunk := make([]float32, 1<<16)
	for remaining := count; remaining > 0; {
		n := min(remaining, uint64(len(chunk)))
		if err := readStateDataPart(r, chunk[:n], count-remaining, count); err != nil {
			return err
		}
		data = append(data, chunk[:n]...)
		remaining -= n
	}
	if err := checkStateEnd(r, count); err != nil {
		return err
	}
	s.Data = append(s.Data[:0], data...)
	return nil
}
