package synth

import (
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch"
)

// TestPublishedShapes: the defaults reproduce the published models' FFN
// widths and LoRA ranks (BlinkDL's RWKV-5/6/7 configs).
func TestPublishedShapes(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		want arch.Dims
	}{
		{"rwkv4 169M", Options{Arch: arch.RWKV4, Layers: 12, Embd: 768, Vocab: 50277},
			arch.Dims{Vocab: 50277, Embd: 768, Layers: 12, FFN: 3072}},
		{"rwkv5 0.4B", Options{Arch: arch.RWKV5, Layers: 24, Embd: 1024, Vocab: 65536},
			arch.Dims{Vocab: 65536, Embd: 1024, Layers: 24, FFN: 3584, HeadSize: 64}},
		{"rwkv6 1.6B", Options{Arch: arch.RWKV6, Layers: 24, Embd: 2048, Vocab: 65536},
			arch.Dims{Vocab: 65536, Embd: 2048, Layers: 24, FFN: 7168, HeadSize: 64, MixLora: 32, DecayLora: 64}},
		{"rwkv6 7B", Options{Arch: arch.RWKV6, Layers: 32, Embd: 4096, Vocab: 65536},
			arch.Dims{Vocab: 65536, Embd: 4096, Layers: 32, FFN: 14336, HeadSize: 64, MixLora: 64, DecayLora: 128}},
		{"rwkv7 0.1B", Options{Arch: arch.RWKV7, Layers: 12, Embd: 768, Vocab: 65536},
			arch.Dims{Vocab: 65536, Embd: 768, Layers: 12, FFN: 3072, HeadSize: 64, DecayLora: 64, ICLRLora: 64, ValueLora: 32, GateLora: 128}},
		{"rwkv7 1.5B", Options{Arch: arch.RWKV7, Layers: 24, Embd: 2048, Vocab: 65536},
			arch.Dims{Vocab: 65536, Embd: 2048, Layers: 24, FFN: 8192, HeadSize: 64, DecayLora: 96, ICLRLora: 96, ValueLora: 64, GateLora: 256}},
	} {
		got, err := c.o.Dims()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Fatalf("%s: dims %+v, want %+v", c.name, got, c.want)
		}
		if _, err := arch.Tensors(c.o.Arch, got); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
}
