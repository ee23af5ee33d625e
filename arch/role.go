package arch

import (
	"strconv"
	"strings"
)

// RoleOf returns the role of the GGUF tensor name in archName's table, so
// a tool that only has a model file (quantize) applies the same per-role
// policy as the converter. Block tensors are matched on their suffix
// ("blk.7.time_mix_key.weight" → "time_mix_key.weight").
func RoleOf(archName, name string) (Role, bool) {
	// Any valid dims list every name: two layers (RWKV-7's layer 0 lacks
	// the value-residual LoRA) and a state-tuned RWKV-6 (time_state).
	// Every layout: a file of an older one (separate lerps) is quantized too.
	var ts []Tensor
	for _, layout := range []Layout{LayoutLlamaCpp, LayoutRWKVTools1} {
		d := Dims{Vocab: 1, Embd: 64, Layers: 2, FFN: 1, HeadSize: 64, Heads: 1,
			DecayLora: 1, MixLora: 1, ICLRLora: 1, ValueLora: 1, GateLora: 1, StateTuned: true, Layout: layout}
		t, err := Tensors(archName, d)
		if err != nil {
			return 0, false
		}
		ts = append(ts, t...)
	}
	if rest, ok := strings.CutPrefix(name, "blk."); ok {
		num, suffix, ok := strings.Cut(rest, ".")
		if _, err := strconv.ParseUint(num, 10, 31); !ok || err != nil {
			return 0, false
		}
		name = LayerName(1, suffix)
	}
	t, ok := Find(ts, name)
	return t.Role, ok
}
