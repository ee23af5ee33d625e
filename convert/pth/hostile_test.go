package pth

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// legacyWith returns a legacy-format file whose second pickle (the
// protocol version) is body: the shape of hostile case B.
func legacyWith(body []byte) []byte {
	b := append([]byte(nil), legacyHead...)
	b = append(b, opSTOP)
	return append(b, body...)
}

func allocDuring(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileNesting is hostile case B: a legacy .pth whose protocol
// version is a million nested tuples crashed the process (fatal stack
// overflow formatting it with %v). Now the VM stops at depth 64.
func TestHostileNesting(t *testing.T) {
	body := []byte{opPROTO, 2, opNONE}
	body = append(body, bytes.Repeat([]byte{opTUPLE1}, 1<<20)...)
	body = append(body, opSTOP)
	p := filepath.Join(t.TempDir(), "nested.pth")
	if err := os.WriteFile(p, legacyWith(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p)
	if err == nil || !strings.Contains(err.Error(), "nested more than 64 deep") || len(err.Error()) > 400 {
		t.Fatalf("err = %.500v", err)
	}
	// The same value one level deep is still described by type only.
	flat := legacyWith([]byte{opPROTO, 2, opNONE, opTUPLE1, opSTOP})
	os.WriteFile(p, flat, 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "protocol version is a tuple") {
		t.Fatalf("err = %v", err)
	}
}

// TestHostileLongNames is the other half of B: an 8 MB global name or
// storage key must not make an 8 MB message.
func TestHostileLongNames(t *testing.T) {
	long := strings.Repeat("x", 7<<20)
	var p pk
	p.op(opPROTO, 2).str(long).str(long).op(opSTACKGLOBAL, opSTOP)
	_, _, err := unpickle(p.Bytes(), newTorchHooks(false))
	if err == nil || len(err.Error()) > 400 || !strings.Contains(err.Error(), "…") {
		t.Fatalf("%d-byte error: %.300v", len(err.Error()), err)
	}
}

// TestHostilePickleCost is hostile case C: the VM's memory stays
// proportional to a capped stream. A 16 MiB pickle of 8M tiny values stops
// at the value cap; a stream without STOP stops at the size cap.
func TestHostilePickleCost(t *testing.T) {
	if raceEnabled {
		t.Skip("16 MiB of opcodes: slow under -race; CI runs it without")
	}
	var p pk
	p.op(opPROTO, 2, opEMPTYLIST)
	p.Write(bytes.Repeat([]byte{opEMPTYTUPLE, opAPPEND}, 8<<20-4))
	p.op(opSTOP)
	var err error
	alloc := allocDuring(func() { _, _, err = unpickle(p.Bytes(), noHooks{}) })
	if err == nil || !strings.Contains(err.Error(), "values") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("%d MiB stream: %d MiB allocated: %v", p.Len()>>20, alloc>>20, err)
	if alloc > 128<<20 {
		t.Errorf("%d MiB allocated for a %d MiB pickle", alloc>>20, p.Len()>>20)
	}
	noStop := bytes.Repeat([]byte{opPROTO, 2}, 9<<20)
	alloc = allocDuring(func() { _, _, err = unpickle(noStop, noHooks{}) })
	if err == nil || !strings.Contains(err.Error(), "no STOP within 16 MiB") || alloc > 64<<20 {
		t.Fatalf("err = %v, %d MiB", err, alloc>>20)
	}
}
