package safetensors

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestHostileHeaders is hostile case C for safetensors: a header claiming
// more than the cap is refused before it is read, and a huge __metadata__
// object is refused without decoding it into a map (a 16 MiB one cost 3 s
// and 411 MB before).
func TestHostileHeaders(t *testing.T) {
	file := func(header string, claim uint64) []byte {
		b := binary.LittleEndian.AppendUint64(nil, claim)
		return append(b, header...)
	}
	big := file("{"+strings.Repeat(" ", 64)+"}", MaxHeaderLen+1)
	if _, err := OpenBytes(big, "big"); err == nil || !strings.Contains(err.Error(), "limit is 16 MiB") {
		t.Errorf("header over the cap: %v", err)
	}
	var meta strings.Builder
	meta.WriteString(`{"__metadata__":{`)
	for i := 0; meta.Len() < 4<<20; i++ {
		if i > 0 {
			meta.WriteByte(',')
		}
		fmt.Fprintf(&meta, `"k%d":"v"`, i)
	}
	meta.WriteString(`}}`)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := OpenBytes(file(meta.String(), uint64(meta.Len())), "meta")
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "__metadata__ is") {
		t.Fatalf("4 MiB __metadata__: %v", err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("refused a %d MiB __metadata__ after %d MiB of allocation", meta.Len()>>20, alloc>>20)
	if alloc > 48<<20 { // the decoder buffers the object a few times over; a map of it cost ~25×
		t.Errorf("refusing a 4 MiB __metadata__ allocated %d MiB", alloc>>20)
	}
}
