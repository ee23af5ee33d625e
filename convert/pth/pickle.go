package pth

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// This file is a strict pickle virtual machine for the subset of protocol 2
// (plus the few protocol 4 framing opcodes) that torch.save writes. It never
// imports or runs anything: GLOBAL yields whatever the hooks hand back for an
// allow-listed name, and REDUCE only calls values that implement callable —
// Go code of ours that builds a description of a tensor. Every length in the
// stream is checked against the bytes that remain, and the stack, the mark
// stack and the memo are bounded, so hostile input costs at most linear time
// and memory in its size.

// Limits. torch.save of a state dict nests marks 3 deep, containers 4
// deep, memoizes a few entries per tensor and builds about 15 values per
// tensor in a pickle of well under 1 MiB (a 14B model: ~1200 tensors);
// these leave orders of magnitude of headroom while bounding what a hostile
// pickle can cost: at most maxValues values of a few dozen bytes each, so
// memory stays within a few hundred MB whatever the input.
const (
	maxPickleBytes = 16 << 20 // bytes one pickle stream may span
	maxValues      = 1 << 20  // values pushed in total (each opcode pushes at most one)
	maxStack       = 1 << 20
	maxMarks       = 1 << 10
	maxMemo        = 1 << 20
	maxDepth       = 64      // container nesting (tuple in list in dict …)
	maxLineLen     = 1 << 10 // GLOBAL module and name lines
	maxLongBytes   = 1 << 12 // LONG4 payload; LONG1 is at most 255 bytes anyway
)

// Python values the VM builds. Integers are int64, or *big.Int when they do
// not fit; floats are float64; None is nil; str is string.
type (
	pyTuple []any
	pyBytes []byte
	pyList  struct{ items []any }
	pyDict  struct {
		ordered bool // collections.OrderedDict rather than dict
		keys    []any
		vals    []any
		index   map[any]int
		// state is what BUILD set (OrderedDict's __dict__, e.g. a module
		// state_dict's _metadata). Kept for completeness, never interpreted.
		state any
	}
)

// emptyTuple is boxed once: EMPTY_TUPLE is a one-byte opcode, and boxing
// a fresh slice header for each would cost 24 bytes per input byte.
var emptyTuple any = pyTuple{}

// callable is implemented by the allow-listed globals REDUCE may apply.
type callable interface {
	call(args pyTuple) (any, error)
}

// stateSetter is implemented by values BUILD may update.
type stateSetter interface {
	setState(state any) error
}

// pyTyper lets hook-defined values name themselves in error messages.
type pyTyper interface {
	pyType() string
}

// hooks resolve what the pickle refers to outside itself.
type hooks interface {
	// global returns the value for GLOBAL module.name or an error when the
	// name is not allowed.
	global(module, name string) (any, error)
	// persistentLoad returns the object a BINPERSID id stands for.
	persistentLoad(pid any) (any, error)
}

// noHooks refuses every global and persistent id: for the plain-data
// pickles of the legacy format (magic number, protocol, sys_info, key list).
type noHooks struct{}

func (noHooks) global(module, name string) (any, error) {
	return nil, fmt.Errorf("unknown global %s (this pickle holds plain data only)", globalName(module, name))
}

func (noHooks) persistentLoad(any) (any, error) {
	return nil, fmt.Errorf("unexpected persistent id (this pickle holds plain data only)")
}

// globalName shows a GLOBAL's module.name in a message: as is when short
// and plain, quoted and cut to 80 bytes otherwise (STACKGLOBAL names come
// from strings of any length).
func globalName(module, name string) string {
	g := module + "." + name
	for _, c := range []byte(g) {
		if c <= ' ' || c >= 0x7f || c == '"' {
			return source.Quote(g)
		}
	}
	if len(g) > 80 {
		return source.Quote(g)
	}
	return g
}

// Opcodes (names as in CPython's pickle.py).
const (
	opMARK            = '('
	opSTOP            = '.'
	opPOP             = '0'
	opPOPMARK         = '1'
	opDUP             = '2'
	opBINFLOAT        = 'G'
	opBININT          = 'J'
	opBININT1         = 'K'
	opBININT2         = 'M'
	opNONE            = 'N'
	opBINPERSID       = 'Q'
	opREDUCE          = 'R'
	opBINUNICODE      = 'X'
	opEMPTYLIST       = ']'
	opAPPEND          = 'a'
	opBUILD           = 'b'
	opGLOBAL          = 'c'
	opDICT            = 'd'
	opEMPTYDICT       = '}'
	opAPPENDS         = 'e'
	opBINGET          = 'h'
	opLONGBINGET      = 'j'
	opLIST            = 'l'
	opBINPUT          = 'q'
	opLONGBINPUT      = 'r'
	opSETITEM         = 's'
	opTUPLE           = 't'
	opEMPTYTUPLE      = ')'
	opSETITEMS        = 'u'
	opBINBYTES        = 'B'
	opSHORTBINBYTES   = 'C'
	opPROTO           = 0x80
	opTUPLE1          = 0x85
	opTUPLE2          = 0x86
	opTUPLE3          = 0x87
	opNEWTRUE         = 0x88
	opNEWFALSE        = 0x89
	opLONG1           = 0x8a
	opLONG4           = 0x8b
	opSHORTBINUNICODE = 0x8c
	opBINUNICODE8     = 0x8d
	opBINBYTES8       = 0x8e
	opSTACKGLOBAL     = 0x93
	opMEMOIZE         = 0x94
	opFRAME           = 0x95
)

type unpickler struct {
	data  []byte
	pos   int   // next byte to read
	op    int   // offset of the opcode being executed, for errors
	stack []any // one stack; marks index into it (CPython keeps a metastack)
	marks []int
	memo  map[uint32]any
	h     hooks
	// pushes counts values pushed, against maxValues.
	pushes int
	// depth records the nesting depth of containers that hold containers
	// (keys: *pyList, *pyDict, and &t[0] for a tuple t); any other
	// container has depth 1 and a scalar 0. Nothing recurses over
	// unpickled values, but the cap keeps it that way safe for any later
	// code that does.
	depth map[any]int
}

// unpickle runs the pickle that starts at data[0] until STOP and returns the
// value and the number of bytes consumed. Errors are *pickleError with
// offsets relative to data[0].
func unpickle(data []byte, h hooks) (any, int, error) {
	if len(data) > maxPickleBytes {
		// The stream ends at STOP; it may not run further than this.
		data = data[:maxPickleBytes]
	}
	u := &unpickler{data: data, memo: map[uint32]any{}, h: h, depth: map[any]int{}}
	v, err := u.run()
	return v, u.pos, err
}

func (u *unpickler) errf(format string, args ...any) error {
	return &pickleError{off: int64(u.op), msg: fmt.Sprintf(format, args...)}
}

// take returns the next n bytes of the stream, failing when fewer remain.
func (u *unpickler) take(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, u.errf("opcode 0x%02x needs %d bytes, only %d left: truncated pickle", u.data[u.op], n, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

func (u *unpickler) u8() (uint64, error) {
	b, err := u.take(1)
	if err != nil {
		return 0, err
	}
	return uint64(b[0]), nil
}

func (u *unpickler) u16() (uint64, error) {
	b, err := u.take(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (u *unpickler) u32() (uint64, error) {
	b, err := u.take(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (u *unpickler) u64() (uint64, error) {
	b, err := u.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// line reads a newline-terminated line (GLOBAL's operands).
func (u *unpickler) line() (string, error) {
	rest := u.data[u.pos:]
	for i, c := range rest {
		if i > maxLineLen {
			break
		}
		if c == '\n' {
			u.pos += i + 1
			return string(rest[:i]), nil
		}
	}
	return "", u.errf("GLOBAL operand is not a line of at most %d bytes: truncated or corrupt pickle", maxLineLen)
}

func (u *unpickler) push(v any) error {
	if len(u.stack) >= maxStack {
		return u.errf("stack exceeds %d entries", maxStack)
	}
	if u.pushes++; u.pushes > maxValues {
		return u.errf("more than %d values: a torch.save pickle has far fewer; not a checkpoint, or corrupt", maxValues)
	}
	u.stack = append(u.stack, v)
	return nil
}

// floor is the lowest stack index the current opcode may pop: items below
// the innermost mark belong to an enclosing frame.
func (u *unpickler) floor() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, u.errf("opcode 0x%02x: stack underflow", u.data[u.op])
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, u.errf("opcode 0x%02x: stack underflow", u.data[u.op])
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark removes and returns the items above the innermost mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errf("opcode 0x%02x needs a MARK and there is none", u.data[u.op])
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	// A copy: the caller may push onto the stack before it is done with
	// the items, which would overwrite a slice of the same array.
	items := append([]any(nil), u.stack[m:]...)
	clear(u.stack[m:]) // let the GC have what the frame referenced
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) run() (any, error) {
	for {
		if u.pos >= len(u.data) {
			u.op = u.pos
			if len(u.data) == maxPickleBytes {
				return nil, u.errf("no STOP within %d MiB: a torch.save pickle is far smaller; not a checkpoint, or corrupt", maxPickleBytes>>20)
			}
			return nil, u.errf("pickle ends without STOP: truncated")
		}
		u.op = u.pos
		op := u.data[u.pos]
		u.pos++
		if op == opSTOP {
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		}
		if err := u.step(op); err != nil {
			return nil, err
		}
	}
}

func (u *unpickler) step(op byte) error {
	switch op {
	case opPROTO:
		p, err := u.u8()
		if err != nil {
			return err
		}
		if p > 5 {
			return u.errf("unsupported pickle protocol %d", p)
		}
		return nil
	case opFRAME:
		// Framing is a read-ahead hint; the frame must still fit the input.
		n, err := u.u64()
		if err != nil {
			return err
		}
		if n > uint64(len(u.data)-u.pos) {
			return u.errf("FRAME of %d bytes, only %d left: truncated pickle", n, len(u.data)-u.pos)
		}
		return nil
	case opMARK:
		if len(u.marks) >= maxMarks {
			return u.errf("MARKs nested deeper than %d", maxMarks)
		}
		u.marks = append(u.marks, len(u.stack))
		return nil
	case opPOP:
		if len(u.stack) > u.floor() {
			_, err := u.pop()
			return err
		}
		_, err := u.popMark() // CPython: POP on an empty frame discards the mark
		return err
	case opPOPMARK:
		_, err := u.popMark()
		return err
	case opDUP:
		v, err := u.top()
		if err != nil {
			return err
		}
		return u.push(v)
	case opNONE:
		return u.push(nil)
	case opNEWTRUE:
		return u.push(true)
	case opNEWFALSE:
		return u.push(false)
	case opBININT:
		v, err := u.u32()
		if err != nil {
			return err
		}
		return u.push(int64(int32(uint32(v))))
	case opBININT1:
		v, err := u.u8()
		if err != nil {
			return err
		}
		return u.push(int64(v))
	case opBININT2:
		v, err := u.u16()
		if err != nil {
			return err
		}
		return u.push(int64(v))
	case opLONG1:
		n, err := u.u8()
		if err != nil {
			return err
		}
		b, err := u.take(n)
		if err != nil {
			return err
		}
		return u.push(decodeLong(b))
	case opLONG4:
		n, err := u.u32()
		if err != nil {
			return err
		}
		if int32(uint32(n)) < 0 || n > maxLongBytes {
			return u.errf("LONG4 of %d bytes is not supported (limit %d)", int32(uint32(n)), maxLongBytes)
		}
		b, err := u.take(n)
		if err != nil {
			return err
		}
		return u.push(decodeLong(b))
	case opBINFLOAT:
		b, err := u.take(8)
		if err != nil {
			return err
		}
		return u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opSHORTBINUNICODE, opBINUNICODE, opBINUNICODE8:
		b, err := u.takeSized(op == opSHORTBINUNICODE, op == opBINUNICODE)
		if err != nil {
			return err
		}
		if !utf8.Valid(b) {
			return u.errf("string is not valid UTF-8")
		}
		return u.push(string(b))
	case opSHORTBINBYTES, opBINBYTES, opBINBYTES8:
		b, err := u.takeSized(op == opSHORTBINBYTES, op == opBINBYTES)
		if err != nil {
			return err
		}
		return u.push(pyBytes(b))
	case opEMPTYTUPLE:
		return u.push(emptyTuple)
	case opEMPTYLIST:
		return u.push(&pyList{})
	case opEMPTYDICT:
		return u.push(newDict(false))
	case opTUPLE1, opTUPLE2, opTUPLE3:
		n := int(op-opTUPLE1) + 1
		if len(u.stack)-u.floor() < n {
			return u.errf("TUPLE%d: stack underflow", n)
		}
		t := make(pyTuple, n)
		copy(t, u.stack[len(u.stack)-n:])
		u.stack = u.stack[:len(u.stack)-n]
		if err := u.nest(t, t); err != nil {
			return err
		}
		return u.push(t)
	case opTUPLE:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		if err := u.nest(pyTuple(items), items); err != nil {
			return err
		}
		return u.push(pyTuple(items))
	case opLIST:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		l := &pyList{items: items}
		if err := u.nest(l, items); err != nil {
			return err
		}
		return u.push(l)
	case opDICT:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		d := newDict(false)
		if err := u.setItems(d, items); err != nil {
			return err
		}
		return u.push(d)
	case opAPPEND:
		v, err := u.pop()
		if err != nil {
			return err
		}
		return u.appendTo([]any{v})
	case opAPPENDS:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.appendTo(items)
	case opSETITEM:
		v, err := u.pop()
		if err != nil {
			return err
		}
		k, err := u.pop()
		if err != nil {
			return err
		}
		return u.setItemsOnTop([]any{k, v})
	case opSETITEMS:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.setItemsOnTop(items)
	case opBINPUT, opLONGBINPUT, opMEMOIZE:
		var idx uint64
		var err error
		switch op {
		case opBINPUT:
			idx, err = u.u8()
		case opLONGBINPUT:
			idx, err = u.u32()
		default:
			idx = uint64(len(u.memo))
			if idx > math.MaxUint32 {
				return u.errf("memo is full")
			}
		}
		if err != nil {
			return err
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		if _, ok := u.memo[uint32(idx)]; !ok && len(u.memo) >= maxMemo {
			return u.errf("memo exceeds %d entries", maxMemo)
		}
		u.memo[uint32(idx)] = v
		return nil
	case opBINGET, opLONGBINGET:
		var idx uint64
		var err error
		if op == opBINGET {
			idx, err = u.u8()
		} else {
			idx, err = u.u32()
		}
		if err != nil {
			return err
		}
		v, ok := u.memo[uint32(idx)]
		if !ok {
			return u.errf("memo index %d was never stored", idx)
		}
		return u.push(v)
	case opGLOBAL:
		module, err := u.line()
		if err != nil {
			return err
		}
		name, err := u.line()
		if err != nil {
			return err
		}
		return u.global(module, name)
	case opSTACKGLOBAL:
		name, err := u.pop()
		if err != nil {
			return err
		}
		module, err := u.pop()
		if err != nil {
			return err
		}
		ms, ok1 := module.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return u.errf("STACK_GLOBAL operands are %s and %s, not strings", typeName(module), typeName(name))
		}
		return u.global(ms, ns)
	case opREDUCE:
		args, err := u.pop()
		if err != nil {
			return err
		}
		fn, err := u.pop()
		if err != nil {
			return err
		}
		t, ok := args.(pyTuple)
		if !ok {
			return u.errf("REDUCE arguments are %s, not a tuple", aType(args))
		}
		c, ok := fn.(callable)
		if !ok {
			return u.errf("REDUCE applies %s, which is not an allowed callable", aType(fn))
		}
		v, err := c.call(t)
		if err != nil {
			return u.errf("%v", err)
		}
		return u.push(v)
	case opBUILD:
		state, err := u.pop()
		if err != nil {
			return err
		}
		obj, err := u.top()
		if err != nil {
			return err
		}
		s, ok := obj.(stateSetter)
		if !ok {
			return u.errf("BUILD on %s is not supported", aType(obj))
		}
		if err := s.setState(state); err != nil {
			return u.errf("%v", err)
		}
		return nil
	case opBINPERSID:
		pid, err := u.pop()
		if err != nil {
			return err
		}
		v, err := u.h.persistentLoad(pid)
		if err != nil {
			return u.errf("%v", err)
		}
		return u.push(v)
	}
	return u.errf("unsupported pickle opcode 0x%02x", op)
}

func (u *unpickler) global(module, name string) error {
	v, err := u.h.global(module, name)
	if err != nil {
		return u.errf("%v", err)
	}
	return u.push(v)
}

func (u *unpickler) appendTo(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	l, ok := t.(*pyList)
	if !ok {
		return u.errf("APPEND to %s, not a list", aType(t))
	}
	if err := u.nest(l, items); err != nil {
		return err
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItemsOnTop(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	d, ok := t.(*pyDict)
	if !ok {
		return u.errf("SETITEM on %s, not a dict", aType(t))
	}
	return u.setItems(d, items)
}

func (u *unpickler) setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return u.errf("odd number of items (%d) for a dict", len(items))
	}
	if err := u.nest(d, items); err != nil {
		return err
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return u.errf("%v", err)
		}
	}
	return nil
}

// depthOf returns a value's recorded nesting depth.
func (u *unpickler) depthOf(v any) int {
	switch v := v.(type) {
	case pyTuple:
		if len(v) == 0 {
			return 1
		}
		if d, ok := u.depth[&v[0]]; ok {
			return d
		}
		return 1
	case *pyList, *pyDict:
		if d, ok := u.depth[v]; ok {
			return d
		}
		return 1
	}
	return 0
}

// nest records that container c (a new tuple, or a list or dict being
// extended) holds items, refusing nesting deeper than maxDepth.
func (u *unpickler) nest(c any, items []any) error {
	d := u.depthOf(c)
	for _, it := range items {
		d = max(d, 1+u.depthOf(it))
	}
	if d > maxDepth {
		return u.errf("containers nested more than %d deep: a torch.save pickle nests a few levels; not a checkpoint, or corrupt", maxDepth)
	}
	if d > 1 {
		switch c := c.(type) {
		case pyTuple:
			u.depth[&c[0]] = d
		default:
			u.depth[c] = d
		}
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer (LONG1/LONG4).
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(v<<shift) >> shift // sign-extend
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

func newDict(ordered bool) *pyDict {
	return &pyDict{ordered: ordered, index: map[any]int{}}
}

// hashKey maps a Python key to a comparable Go value with Python's equality
// for the types a state dict uses (True == 1 == 1.0).
func hashKey(k any) (any, error) {
	switch k := k.(type) {
	case string, int64, nil:
		return k, nil
	case bool:
		if k {
			return int64(1), nil
		}
		return int64(0), nil
	case float64:
		if k == math.Trunc(k) && math.Abs(k) < 1<<62 {
			return int64(k), nil
		}
		return k, nil
	case *big.Int:
		// Only ints beyond int64 are *big.Int, so no int64 key equals one.
		return bigKey(k.String()), nil
	}
	return nil, fmt.Errorf("dict key of type %s is not supported", typeName(k))
}

type bigKey string

func (d *pyDict) set(k, v any) error {
	hk, err := hashKey(k)
	if err != nil {
		return err
	}
	if i, ok := d.index[hk]; ok {
		d.vals[i] = v // Python keeps the first key and its position
		return nil
	}
	d.index[hk] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

// get looks up a str key.
func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

func (d *pyDict) setState(state any) error {
	// OrderedDict.__reduce__ carries the instance __dict__ (a module
	// state_dict's _metadata); a plain dict never gets BUILD from pickle.
	if !d.ordered {
		return fmt.Errorf("BUILD on a plain dict")
	}
	if _, ok := state.(*pyDict); !ok && state != nil {
		return fmt.Errorf("OrderedDict state is %s, not a dict", aType(state))
	}
	d.state = state
	return nil
}

// typeName names a value's Python type without printing the value itself:
// values can be cyclic or nested arbitrarily deep.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pyBytes:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		if v.ordered {
			return "OrderedDict"
		}
		return "dict"
	case pyTyper:
		return v.pyType()
	}
	return fmt.Sprintf("%T", v)
}

// aType is typeName with an indefinite article, for messages.
func aType(v any) string {
	if v == nil {
		return "None"
	}
	n := typeName(v)
	switch n[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + n
	}
	return "a " + n
}

// takeSized reads a length prefix (1 byte when short, 4 when long, else 8)
// and then that many bytes: the SHORT_/BIN/…8 string and bytes opcodes.
func (u *unpickler) takeSized(short, long bool) ([]byte, error) {
	var n uint64
	var err error
	switch {
	case short:
		n, err = u.u8()
	case long:
		n, err = u.u32()
	default:
		n, err = u.u64()
	}
	if err != nil {
		return nil, err
	}
	return u.take(n)
}
