package rusage

import (
	"runtime"
	"testing"
)

func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is checked on linux")
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	if got := PeakRSS(); got < 64<<20 {
		t.Fatalf("PeakRSS %d after touching 64 MiB", got)
	}
	runtime.KeepAlive(buf)
}
