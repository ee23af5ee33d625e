package pth

import (
	"fmt"
	"math/big"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// This file gives meaning to the handful of globals torch.save writes for a
// state dict, and turns the unpickled dict into source tensors. Nothing here
// touches tensor bytes; the container code resolves storages.

// storageClass is a torch.<X>Storage symbol: it only names an element type.
type storageClass struct {
	name     string
	elemSize int64
	dtype    quant.DType
	ok       bool // a dtype the converter reads (f32/f16/bf16)
	what     string
}

func (c *storageClass) pyType() string { return "torch." + c.name }

// storageClasses lists every typed storage torch.save can name. The element
// sizes of the unsupported ones are needed too: a legacy file must be walked
// past their data to report the tensor that uses them by name.
var storageClasses = map[string]*storageClass{}

func init() {
	for _, c := range []*storageClass{
		{name: "FloatStorage", elemSize: 4, dtype: quant.F32, ok: true, what: "float32"},
		{name: "HalfStorage", elemSize: 2, dtype: quant.F16, ok: true, what: "float16"},
		{name: "BFloat16Storage", elemSize: 2, dtype: quant.BF16, ok: true, what: "bfloat16"},
		{name: "DoubleStorage", elemSize: 8, what: "float64"},
		{name: "LongStorage", elemSize: 8, what: "int64"},
		{name: "IntStorage", elemSize: 4, what: "int32"},
		{name: "ShortStorage", elemSize: 2, what: "int16"},
		{name: "CharStorage", elemSize: 1, what: "int8"},
		{name: "ByteStorage", elemSize: 1, what: "uint8"},
		{name: "BoolStorage", elemSize: 1, what: "bool"},
		{name: "ComplexFloatStorage", elemSize: 8, what: "complex64"},
		{name: "ComplexDoubleStorage", elemSize: 16, what: "complex128"},
	} {
		storageClasses[c.name] = c
	}
}

// storageRef is one storage a persistent id names. Tensors share it by key.
type storageRef struct {
	key      string
	cls      *storageClass
	location string
	numel    int64
	// Filled in by the container once the bytes are located.
	data     []byte
	fileOff  int64
	resolved bool
}

func (*storageRef) pyType() string { return "storage" }

// tensorRef is what _rebuild_tensor_v2 returns: a view of a storage.
type tensorRef struct {
	storage *storageRef
	offset  int64
	shape   []int64
	stride  []int64
}

func (*tensorRef) pyType() string { return "tensor" }

type (
	orderedDictType  struct{}
	rebuildTensorV2  struct{}
	rebuildParameter struct{ withState bool }
)

func (orderedDictType) pyType() string  { return "collections.OrderedDict" }
func (rebuildTensorV2) pyType() string  { return "torch._utils._rebuild_tensor_v2" }
func (rebuildParameter) pyType() string { return "torch._utils._rebuild_parameter" }

func (orderedDictType) call(args pyTuple) (any, error) {
	// pickle restores an OrderedDict as OrderedDict() then SETITEMS.
	if len(args) != 0 {
		return nil, fmt.Errorf("collections.OrderedDict called with %d arguments, want 0", len(args))
	}
	return newDict(true), nil
}

// call implements torch._utils._rebuild_tensor_v2(storage, storage_offset,
// size, stride, requires_grad, backward_hooks[, metadata]).
func (rebuildTensorV2) call(args pyTuple) (any, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 called with %d arguments, want 6 or 7", len(args))
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage is %s, not a persistent storage", aType(args[0]))
	}
	off, err := toInt("storage_offset", args[1])
	if err != nil {
		return nil, err
	}
	shape, err := toInts("size", args[2])
	if err != nil {
		return nil, err
	}
	stride, err := toInts("stride", args[3])
	if err != nil {
		return nil, err
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size has %d dims, stride %d", len(shape), len(stride))
	}
	if _, ok := args[4].(bool); !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: requires_grad is %s, not a bool", aType(args[4]))
	}
	return &tensorRef{storage: st, offset: off, shape: shape, stride: stride}, nil
}

// call implements torch._utils._rebuild_parameter(data, requires_grad,
// backward_hooks) and, for torch >= 2.0, _rebuild_parameter_with_state(...,
// state): an nn.Parameter is its tensor for our purposes.
func (r rebuildParameter) call(args pyTuple) (any, error) {
	want := 3
	if r.withState {
		want = 4
	}
	if len(args) != want {
		return nil, fmt.Errorf("%s called with %d arguments, want %d", r.pyType(), len(args), want)
	}
	t, ok := args[0].(*tensorRef)
	if !ok {
		return nil, fmt.Errorf("%s: data is %s, not a tensor", r.pyType(), aType(args[0]))
	}
	return t, nil
}

func toInt(what string, v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case *big.Int:
		if d := v.String(); len(d) <= 40 {
			return 0, fmt.Errorf("%s %s does not fit in 64 bits", what, d)
		}
		return 0, fmt.Errorf("%s (a %d-bit integer) does not fit in 64 bits", what, v.BitLen())
	}
	return 0, fmt.Errorf("%s is %s, not an int", what, aType(v))
}

// maxDims bounds tensor rank; PyTorch's own limit is 64.
const maxDims = 64

func toInts(what string, v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not a tuple", what, aType(v))
	}
	if len(t) > maxDims {
		return nil, fmt.Errorf("%s has %d dims, more than %d", what, len(t), maxDims)
	}
	out := make([]int64, len(t))
	for i, e := range t {
		n, err := toInt(what, e)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// torchHooks resolves globals against the allow-list and persistent ids to
// storageRefs, deduplicated by key. legacy selects the pre-1.6 persistent id
// layout, which has a sixth element (view_metadata).
type torchHooks struct {
	legacy   bool
	storages map[string]*storageRef
	order    []*storageRef // first-seen order
}

func newTorchHooks(legacy bool) *torchHooks {
	return &torchHooks{legacy: legacy, storages: map[string]*storageRef{}}
}

func (h *torchHooks) global(module, name string) (any, error) {
	switch module + "." + name {
	case "collections.OrderedDict":
		return orderedDictType{}, nil
	case "torch._utils._rebuild_tensor_v2":
		return rebuildTensorV2{}, nil
	case "torch._utils._rebuild_parameter":
		return rebuildParameter{}, nil
	case "torch._utils._rebuild_parameter_with_state":
		return rebuildParameter{withState: true}, nil
	}
	if module == "torch" {
		if c, ok := storageClasses[name]; ok {
			return c, nil
		}
	}
	return nil, fmt.Errorf("unknown global %s: only the torch.save objects of a state dict are accepted (nothing is ever executed)", globalName(module, name))
}

func (h *torchHooks) persistentLoad(pid any) (any, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) == 0 {
		return nil, fmt.Errorf("persistent id is %s, not a tuple", aType(pid))
	}
	if kind, _ := t[0].(string); kind != "storage" {
		if kind == "module" {
			return nil, fmt.Errorf("the file pickles a whole nn.Module (persistent id 'module'), not a state dict; save model.state_dict() instead")
		}
		return nil, fmt.Errorf("persistent id of kind %s, want 'storage'", typeName(t[0]))
	}
	want := 5
	if h.legacy {
		want = 6
	}
	if len(t) != want {
		return nil, fmt.Errorf("storage persistent id has %d elements, want %d", len(t), want)
	}
	cls, ok := t[1].(*storageClass)
	if !ok {
		return nil, fmt.Errorf("storage type is %s, not a torch.*Storage", aType(t[1]))
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("storage key is %s, not a str", aType(t[2]))
	}
	loc, ok := t[3].(string)
	if !ok {
		return nil, fmt.Errorf("storage %s: location is %s, not a str", source.Quote(key), aType(t[3]))
	}
	numel, err := toInt("storage numel", t[4])
	if err != nil {
		return nil, fmt.Errorf("storage %s: %v", source.Quote(key), err)
	}
	if numel < 0 || numel > (1<<62)/cls.elemSize {
		return nil, fmt.Errorf("storage %s: numel %d is out of range", source.Quote(key), numel)
	}
	if h.legacy && t[5] != nil {
		return nil, fmt.Errorf("storage %s is a view of another storage (legacy view_metadata); such pre-1.0 files are not supported, re-save with a current torch", source.Quote(key))
	}
	if s, ok := h.storages[key]; ok {
		if s.cls != cls || s.numel != numel {
			return nil, fmt.Errorf("storage %s is named twice with different types or sizes (%s[%d] vs %s[%d])",
				source.Quote(key), s.cls.name, s.numel, cls.name, numel)
		}
		return s, nil
	}
	s := &storageRef{key: key, cls: cls, location: loc, numel: numel, fileOff: -1}
	h.storages[key] = s
	h.order = append(h.order, s)
	return s, nil
}

type namedTensor struct {
	name string
	ref  *tensorRef
}

// skip reports whether nt is a non-float tensor the options allow to leave
// out (float tensors are never skipped here).
func (o Options) skip(nt namedTensor) bool {
	return !nt.ref.storage.cls.ok && o.SkipNonFloat != nil && o.SkipNonFloat(nt.name)
}

// stateDict finds the tensors in the unpickled top-level object: a dict or
// OrderedDict of name → tensor, possibly wrapped as {"state_dict": ...}.
func stateDict(top any) ([]namedTensor, error) {
	d, ok := top.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("the pickled object is %s, not a dict of tensors", aType(top))
	}
	if err := rejectConverted(d); err != nil {
		return nil, err
	}
	// Training frameworks (Lightning, DeepSpeed conversions) wrap the state
	// dict together with epoch counters and such.
	if inner, ok := d.get("state_dict"); ok {
		if id, ok := inner.(*pyDict); ok {
			d = id
			if err := rejectConverted(d); err != nil {
				return nil, err
			}
		}
	}
	var out []namedTensor
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key #%d is %s, not a str", i, aType(k))
		}
		t, ok := d.vals[i].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("state dict entry %s is %s, not a tensor", source.Quote(name), aType(d.vals[i]))
		}
		out = append(out, namedTensor{name, t})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the state dict holds no tensors")
	}
	return out, nil
}

// rejectConverted recognises ChatRWKV's v2/convert_model.py output: its
// weights are transposed, int8-quantized and pre-transformed, so reading it
// as a raw checkpoint would give a silently wrong model.
func rejectConverted(d *pyDict) error {
	v, ok := d.get("_strategy")
	if !ok {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		s = typeName(v)
	}
	return fmt.Errorf("this is a ChatRWKV-converted file (strategy %s), not a raw checkpoint; convert the original .pth", source.Quote(s))
}

// makeTensor builds the source view of one tensor over its resolved storage,
// validates it against the storage, then narrows Storage to the bytes the
// tensor addresses. Narrowing keeps Release(t) from dropping the pages of
// every other tensor that shares a flat storage, and makes FileOffset point
// at the tensor itself.
// resolve locates a storage's bytes in the container (once per storage).
func makeTensor(path string, nt namedTensor, resolve func(*storageRef) error) (*source.Tensor, error) {
	r := nt.ref
	st := r.storage
	if !st.cls.ok {
		return nil, &FormatError{Path: path, Off: -1, Msg: fmt.Sprintf(
			"tensor %s is %s (torch.%s); only float32, float16 and bfloat16 weights are supported",
			source.Quote(nt.name), st.cls.what, st.cls.name)}
	}
	if !st.resolved {
		if err := resolve(st); err != nil {
			if fe, ok := err.(*FormatError); ok {
				fe.Msg = fmt.Sprintf("tensor %s: %s", source.Quote(nt.name), fe.Msg)
			}
			return nil, err
		}
		st.resolved = true
	}
	t := &source.Tensor{
		Name:       nt.name,
		DType:      st.cls.dtype,
		Shape:      r.shape,
		Strides:    r.stride,
		Storage:    st.data,
		Offset:     r.offset,
		FileOffset: st.fileOff,
	}
	if err := t.Validate(); err != nil {
		return nil, &FormatError{Path: path, Off: st.fileOff, Msg: fmt.Sprintf("%v (storage %s of %d %s elements)", err, source.Quote(st.key), st.numel, st.cls.what)}
	}
	if t.Contiguous() {
		t.Strides = nil
	}
	es := st.cls.elemSize
	lo, hi := t.Offset, t.Offset // element range [lo, hi) the tensor addresses
	if n := t.NumElements(); n > 0 {
		hi = lo + 1
		for d := range t.Shape {
			s := int64(1)
			if t.Strides != nil {
				s = t.Strides[d]
			} else {
				for _, e := range t.Shape[d+1:] {
					s *= e
				}
			}
			hi += (t.Shape[d] - 1) * s
		}
	} else {
		lo, hi = 0, 0
	}
	t.Storage = st.data[lo*es : hi*es : hi*es]
	t.FileOffset = st.fileOff + lo*es
	t.Offset = 0
	if err := t.Validate(); err != nil { // cannot fail after the first; cheap insurance
		return nil, &FormatError{Path: path, Off: t.FileOffset, Msg: err.Error()}
	}
	return t, nil
}
