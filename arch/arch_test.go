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
	// parameters with V=65536 (plus, in llama.cpp's layout, layer 0's
	// placeholder v0/v1/v2, 0.1M).
	d := Dims{Vocab: 65536, Embd: 768, Layers: 12, FFN: 3072, HeadSize: 64, DecayLora: 64, ICLRLora: 64, ValueLora: 32, GateLora: 128}
	for _, c := range []struct {
		layout  Layout
		tensors int
	}{
		// llama.cpp: 28 per block (six lerps fused into one), layer 0 too.
		{LayoutLlamaCpp, 12*28 + 6},
		// rwkv-tools-1: 33 per block, layer 0 without v0/v1/v2.
		{LayoutRWKVTools1, 12*33 + 6 - 3},
	} {
		d.Layout = c.layout
		ts, err := Tensors(RWKV7, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != c.tensors {
			t.Fatalf("%v: %d tensors, want %d", c.layout, len(ts), c.tensors)
		}
		seen := map[string]bool{}
		var params int64
		for _, x := range ts {
			if seen[x.Name] {
				t.Fatalf("duplicate %s", x.Name)
			}
			seen[x.Name] = true
			n := int64(1)
			for _, s := range x.Shape {
				n *= s
			}
			params += n
			if Unused(RWKV7, x.Source) {
				t.Fatalf("%s is both stored and unused", x.Source)
			}
			for _, p := range x.Parts {
				if seen[p.Name] {
					t.Fatalf("part %s is also a tensor", p.Name)
				}
				seen[p.Name] = true
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
		v1, hasV1 := Find(ts, "blk.0.time_mix_v1.weight")
		fusedT, row, fusedOK := FindPart(ts, "blk.3.time_mix_lerp_a.weight")
		switch c.layout {
		case LayoutLlamaCpp:
			// {C} (llama.cpp's create_tensor of time_mix_r_k) from (H, N).
			if !ok || len(rk.Shape) != 1 || rk.Shape[0] != 768 || len(rk.SourceShape) != 2 {
				t.Fatalf("%+v", rk)
			}
			// layer 0's v1 has a1's shape and comes from a1.
			if !hasV1 || v1.Source != "blocks.0.att.a1" || v1.Shape[0] != 64 || v1.Shape[1] != 768 {
				t.Fatalf("%+v", v1)
			}
			if !fusedOK || fusedT.Name != "blk.3.time_mix_lerp_fused.weight" || row != 4 || fusedT.Parts[4].Source != "blocks.3.att.x_a" ||
				!equal(fusedT.GGUFDims(), []uint64{768, 1, 1, 6}) {
				t.Fatalf("%+v row %d", fusedT, row)
			}
		case LayoutRWKVTools1:
			if !ok || rk.Role != Vector || rk.Shape[0] != 12 || rk.Shape[1] != 64 {
				t.Fatalf("%+v", rk)
			}
			if hasV1 || fusedOK {
				t.Fatal("layer 0 has v1, or a fused tensor")
			}
		}
	}
	d.Layout = LayoutLlamaCpp
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

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRWKV6Layouts(t *testing.T) {
	d := Dims{Vocab: 65536, Embd: 2048, Layers: 24, FFN: 7168, HeadSize: 64, MixLora: 32, DecayLora: 64}
	ts, err := Tensors(RWKV6, d)
	if err != nil {
		t.Fatal(err)
	}
	// llama.cpp: lerp_x plus the fused w,k,v,r,g: 24 per block.
	if len(ts) != 24*24+6 {
		t.Fatalf("%d tensors", len(ts))
	}
	f, row, ok := FindPart(ts, "blk.2.time_mix_lerp_r.weight")
	if !ok || row != 3 || !equal(f.GGUFDims(), []uint64{2048, 1, 1, 5}) || f.Parts[0].Source != "blocks.2.att.time_maa_w" {
		t.Fatalf("%+v row %d", f, row)
	}
	d.Layout = LayoutRWKVTools1
	if ts, _ = Tensors(RWKV6, d); len(ts) != 24*28+6 {
		t.Fatalf("rwkv-tools-1: %d tensors", len(ts))
	}
	has := func(ts []Tensor) func(string) bool {
		return func(name string) bool { _, ok := Find(ts, name); return ok }
	}
	if DetectLayout(RWKV6, has(ts)) != LayoutRWKVTools1 {
		t.Fatal("rwkv-tools-1 layout not detected")
	}
	d.Layout = LayoutLlamaCpp
	ts, _ = Tensors(RWKV6, d)
	if DetectLayout(RWKV6, has(ts)) != LayoutLlamaCpp || DetectLayout(RWKV4, has(nil)) != LayoutLlamaCpp {
		t.Fatal("llama.cpp layout not detected")
	}
}
