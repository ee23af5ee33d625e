package pth

import (
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
)

// A pickle made by CPython 3.11: pickle.dumps({'a': [1, 2, (3, 4.5, None,
// True)], 'b': b'xy', 'c': 2**70, 'd': -2**63, 'e': 'é'}, protocol=4).
// It exercises FRAME, MEMOIZE, SHORT_BINUNICODE, SHORT_BINBYTES, LONG1,
// BINFLOAT, APPENDS and SETITEMS.
const cpythonProto4 = "80049550000000000000007d94288c0161945d94284b014b02284b034740120000000000004e887494658c01629443027879948c0163948a090000000000000000408c0164948a0800000000000000808c0165948c02c3a994752e"

func TestUnpickleCPython(t *testing.T) {
	b, _ := hex.DecodeString(cpythonProto4)
	v, n, err := unpickle(b, noHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(b) {
		t.Errorf("consumed %d of %d bytes", n, len(b))
	}
	d, ok := v.(*pyDict)
	if !ok || d.ordered {
		t.Fatalf("got %s, want dict", typeName(v))
	}
	if got := len(d.keys); got != 5 {
		t.Fatalf("%d keys", got)
	}
	a, _ := d.get("a")
	l, ok := a.(*pyList)
	if !ok || len(l.items) != 3 || l.items[0] != int64(1) || l.items[1] != int64(2) {
		t.Fatalf("a = %#v", a)
	}
	tup, ok := l.items[2].(pyTuple)
	if !ok || len(tup) != 4 || tup[0] != int64(3) || tup[1] != 4.5 || tup[2] != nil || tup[3] != true {
		t.Fatalf("a[2] = %#v", l.items[2])
	}
	if bv, _ := d.get("b"); string(bv.(pyBytes)) != "xy" {
		t.Errorf("b = %#v", bv)
	}
	if cv, _ := d.get("c"); cv.(interface{ String() string }).String() != bigInt("0x400000000000000000").String() {
		t.Errorf("c = %v", cv)
	}
	if dv, _ := d.get("d"); dv != int64(math.MinInt64) {
		t.Errorf("d = %v", dv)
	}
	if ev, _ := d.get("e"); ev != "é" {
		t.Errorf("e = %v", ev)
	}
}

func TestDecodeLong(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{nil, "0"},
		{[]byte{0xff}, "-1"},
		{[]byte{0x80}, "-128"},
		{[]byte{0x7f}, "127"},
		{[]byte{0xff, 0x00}, "255"},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0x80}, "-9223372036854775808"},
		{[]byte{0, 0, 0, 0, 0, 0, 0, 0x80, 0}, "9223372036854775808"},
		{[]byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}, "119547037146038801333356"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "-1"}, // normalised back to int64
	}
	for _, c := range cases {
		v := decodeLong(c.in)
		var got string
		switch v := v.(type) {
		case int64:
			got = bigInt("0").SetInt64(v).String()
		case interface{ String() string }:
			got = v.String()
		}
		if got != c.want {
			t.Errorf("decodeLong(%x) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestUnpickleRejects: malformed streams give a *pickleError, never a panic.
func TestUnpickleRejects(t *testing.T) {
	deepMarks := strings.Repeat("(", maxMarks+1) + "."
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "without STOP"},
		{"no stop", "\x80\x02N", "without STOP"},
		{"stop on empty stack", "\x80\x02.", "underflow"},
		{"protocol 6", "\x80\x06N.", "protocol 6"},
		{"unknown opcode", "\x80\x02\xffN.", "opcode 0xff"},
		{"bogus memo index", "\x80\x02h\x05.", "memo index 5"},
		{"bogus long memo index", "\x80\x02j\xff\xff\xff\xff.", "memo index 4294967295"},
		{"BINPUT on empty stack", "\x80\x02q\x00N.", "underflow"},
		{"deep nesting", deepMarks, "nested deeper"},
		{"tuple1 across mark", "\x80\x02N(\x85.", "underflow"},
		{"tuple2 underflow", "\x80\x02N\x86.", "underflow"},
		{"tuple without mark", "\x80\x02Nt.", "MARK"},
		{"setitems odd", "\x80\x02}(Nu.", "odd number"},
		{"setitem on list", "\x80\x02]NNs.", "not a dict"},
		{"append to dict", "\x80\x02}Na.", "not a list"},
		{"unhashable key", "\x80\x02})Ns.", "key of type tuple"},
		{"truncated BINUNICODE", "\x80\x02X\x10\x00\x00\x00abc", "truncated"},
		{"huge BINUNICODE8", "\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xffabc", "truncated"},
		{"huge BINBYTES", "\x80\x02B\xff\xff\xff\x7fabc", "truncated"},
		{"truncated BININT", "\x80\x02J\x01", "truncated"},
		{"truncated LONG1", "\x80\x02\x8a\x09\x01\x02", "truncated"},
		{"negative LONG4", "\x80\x02\x8b\xff\xff\xff\xff.", "LONG4"},
		{"huge LONG4", "\x80\x02\x8b\x00\x00\x00\x10.", "LONG4"},
		{"invalid utf8", "\x80\x02\x8c\x02\xc3\x28.", "UTF-8"},
		{"frame past end", "\x80\x04\x95\x00\x01\x00\x00\x00\x00\x00\x00N.", "FRAME"},
		{"global without newline", "\x80\x02ctorch", "GLOBAL operand"},
		{"global not allowed", "\x80\x02cos\nsystem\n.", "unknown global os.system"},
		{"stack global non-str", "\x80\x02K\x01K\x02\x93.", "not strings"},
		{"reduce non-callable", "\x80\x02N)R.", "not an allowed callable"},
		{"reduce non-tuple", "\x80\x02NNR.", "not a tuple"},
		{"build on list", "\x80\x02]Nb.", "BUILD"},
		{"persid", "\x80\x02NQ.", "persistent id"},
	}
	for _, c := range cases {
		_, _, err := unpickle([]byte(c.in), noHooks{})
		var pe *pickleError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want *pickleError", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %q, want it to mention %q", c.name, err, c.want)
		}
	}
}

// TestUnpickleTruncations cuts a real torch data.pkl at every byte: each
// prefix must fail cleanly.
func TestUnpickleTruncations(t *testing.T) {
	b := torchPickle(tensorSpec{name: "w", cls: "BFloat16Storage", key: "0", numel: 4, shape: []int64{2, 2}, stride: []int64{2, 1}})
	if _, n, err := unpickle(b, newTorchHooks(false)); err != nil || n != len(b) {
		t.Fatalf("full pickle: n=%d err=%v", n, err)
	}
	for i := range len(b) {
		if _, _, err := unpickle(b[:i], newTorchHooks(false)); err == nil {
			t.Fatalf("prefix of %d bytes accepted", i)
		}
	}
}

func TestUnpickleMemoAliases(t *testing.T) {
	// A list memoized, fetched back and appended to: both references see it,
	// as in Python (the VM must not copy containers on BINGET).
	in := "\x80\x02]q\x00h\x00K\x07a\x86."
	v, _, err := unpickle([]byte(in), noHooks{})
	if err != nil {
		t.Fatal(err)
	}
	tup := v.(pyTuple)
	if tup[0].(*pyList) != tup[1].(*pyList) || len(tup[0].(*pyList).items) != 1 {
		t.Fatalf("memo did not alias: %#v", tup)
	}
}
