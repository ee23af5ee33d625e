package arch

import "testing"

func TestRWKV4Table(t *testing.T) {
	d := Dims{Vocab: 50277, Embd: 768, Layers: 12, FFN: 3072}
	ts, err := Tensors(RWKV4, d)
	if err != nil {
		t.Fatal(err)
	}
	// 18 keys per layer + 6 global (docs/ARCHITECTURES.md §3).
	if len(ts) != 12*18+6 {
		t.Fatalf("%d tensors", len(ts))
	}
	seen := map[string]bool{}
	src := map[string]bool{}
	var params int64
	for _, x := range ts {
		if seen[x.Name] || src[x.Source] {
			t.Fatalf("duplicate %s / %s", x.Name, x.Source)
		}
		seen[x.Name], src[x.Source] = true, true
		n := int64(1)
		for _, s := range x.Shape {
			n *= s
		}
		params += n
	}
	// RWKV-4 169M: 169.3M parameters.
	if params < 169_000_000 || params > 170_000_000 {
		t.Fatalf("params %d", params)
	}
	k, ok := Find(ts, "blk.3.channel_mix_key.weight")
	if !ok || k.Source != "blocks.3.ffn.key.weight" || k.GGUFDims()[0] != 768 || k.GGUFDims()[1] != 3072 {
		t.Fatalf("%+v", k)
	}
	if _, err := Tensors(RWKV7, d); err == nil {
		t.Fatal("rwkv7 accepted before it is implemented")
	}
	if _, err := Tensors(RWKV4, Dims{}); err == nil {
		t.Fatal("zero dims accepted")
	}
}

func TestIsLayerKey(t *testing.T) {
	for key, want := range map[string]int{"blocks.0.ln0.weight": 0, "blocks.12.att.key.weight": 12} {
		if n, ok := IsLayerKey(key); !ok || n != want {
			t.Errorf("%s: %d %v", key, n, ok)
		}
	}
	for _, key := range []string{"emb.weight", "blocks.x.a", "blocks..a", "blocks.1234567.a", "blocks.3"} {
		if _, ok := IsLayerKey(key); ok {
			t.Errorf("%s accepted", key)
		}
	}
}
