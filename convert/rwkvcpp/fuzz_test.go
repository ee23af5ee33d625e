package rwkvcpp

import "testing"

func FuzzRWKVCpp(f *testing.F) {
	// Small synthetic files; the shared fixtures (0.6–4 MB) would slow the
	// fuzzer down without covering more of the parser.
	f.Add(newBin(101, 1).
		tensor("emb.weight", 1, 2*8*4, 8, 4).
		tensor("blocks.0.att.time_decay", 0, 4*8, 8).
		tensor("blocks.0.att.key.weight", 7, 22*2, 32, 2).
		tensor("blocks.0.ffn.key.weight", 9, 34*3, 32, 3, 1).b)
	f.Add(newBin(100, 0).tensor("a", 0, 4, 1).b)
	f.Add(newBin(101, 8).tensor("q", 8, 24, 32).tensor("r", 2, 18, 32).tensor("s", 3, 20, 32).b)
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, err := OpenBytes(data, "fuzz")
		if err != nil {
			return
		}
		for _, tn := range ck.Tensors {
			if _, err := tn.Bytes(); err != nil {
				t.Fatalf("validated tensor %q fails Bytes: %v", tn.Name, err)
			}
		}
	})
}
