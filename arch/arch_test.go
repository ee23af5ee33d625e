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
		t.Fatal("rwkv7 accepted without head size and LoRA ranks")
	}
	if _, err := Tensors(RWKV5, d); err == nil {
		t.Fatal("rwkv5 accepted without head size")
	}
	if _, err := Tensors(RWKV6, d); err == nil {
		t.Fatal("rwkv6 accepted without head size and LoRA ranks")
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

func TestRWKV7Table(t *testing.T) {
	// RWKV-7 0.1B (C768, L12, N64; LoRA ranks 64/64/32/128): 191M
	// parameters with V=65536 minus layer 0's unused v0/v1/v2.
	d := Dims{Vocab: 65536, Embd: 768, Layers: 12, FFN: 3072, HeadSize: 64, DecayLora: 64, ICLRLora: 64, ValueLora: 32, GateLora: 128}
	ts, err := Tensors(RWKV7, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 12*33+6-3 {
		t.Fatalf("%d tensors", len(ts))
	}
	seen := map[string]bool{}
	var params int64
	for _, x := range ts {
		if seen[x.Name] || seen[x.Source] {
			t.Fatalf("duplicate %s / %s", x.Name, x.Source)
		}
		seen[x.Name], seen[x.Source] = true, true
		n := int64(1)
		for _, s := range x.Shape {
			n *= s
		}
		params += n
		if Unused(RWKV7, x.Source) {
			t.Fatalf("%s is both stored and unused", x.Source)
		}
	}
	if params < 190_000_000 || params > 192_000_000 {
		t.Fatalf("params %d", params)
	}
	w1, ok := Find(ts, "blk.1.time_mix_w1.weight")
	if !ok || w1.Role != Lora || w1.Shape[0] != 64 || w1.Shape[1] != 768 {
		t.Fatalf("%+v", w1)
	}
	rk, ok := Find(ts, "blk.0.time_mix_r_k.weight")
	if !ok || rk.Role != Vector || rk.Shape[0] != 12 || rk.Shape[1] != 64 {
		t.Fatalf("%+v", rk)
	}
	if _, ok := Find(ts, "blk.0.time_mix_v1.weight"); ok {
		t.Fatal("layer 0 has v1")
	}
	if !Unused(RWKV7, "blocks.0.att.v2") || Unused(RWKV7, "blocks.1.att.v2") || Unused(RWKV4, "blocks.0.att.v2") {
		t.Fatal("Unused")
	}
	bad := d
	bad.HeadSize = 100
	if _, err := Tensors(RWKV7, bad); err == nil {
		t.Fatal("head size not dividing n_embd accepted")
	}
	one := d
	one.Layers, one.ValueLora = 1, 0
	if _, err := Tensors(RWKV7, one); err != nil {
		t.Fatalf("one-layer model without v LoRA: %v", err)
	}
}

func TestRoleOf(t *testing.T) {
	for _, c := range []struct {
		arch, name string
		role       Role
		ok         bool
	}{
		{RWKV4, "token_embd.weight", Embedding, true},
		{RWKV4, "output.weight", Head, true},
		{RWKV4, "blk.11.time_mix_key.weight", Projection, true},
		{RWKV4, "blk.0.time_mix_decay.weight", Vector, true},
		{RWKV6, "blk.3." + RWKV6StateTensor, Vector, true},
		{RWKV6, "blk.3.time_mix_decay_w1.weight", Lora, true},
		{RWKV7, "blk.0.time_mix_w1.weight", Lora, true},
		{RWKV7, "blk.0.channel_mix_key.weight", Projection, true},
		{RWKV4, "blk.x.time_mix_key.weight", 0, false},
		{RWKV4, "blk.1.nonsense", 0, false},
		{"llama", "output.weight", 0, false},
	} {
		role, ok := RoleOf(c.arch, c.name)
		if ok != c.ok || role != c.role {
			t.Errorf("RoleOf(%s, %s) = %v, %v; want %v, %v", c.arch, c.name, role, ok, c.role, c.ok)
		}
	}
}
