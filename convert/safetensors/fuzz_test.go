package safetensors

import (
	"os"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

func FuzzSafetensors(f *testing.F) {
	if b, err := os.ReadFile(testutil.Testdata("pth", "rwkv4-bf16.safetensors")); err == nil {
		f.Add(b)
	}
	f.Add(file(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[],"data_offsets":[8,10]}}`, make([]byte, 10)))
	f.Add(file(`{"e":{"dtype":"F16","shape":[0,3],"data_offsets":[0,0]}}    `, nil))
	f.Add(file(`{"m":{"dtype":"BOOL","shape":[2,2],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
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
