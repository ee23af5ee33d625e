package format

import (
	"fmt"
	"strconv"
	"strings"
)

// ValueType is a GGUF metadata value type (gguf_metadata_value_type).
type ValueType uint32

const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7 // one byte, 0 or 1; anything else is rejected
	TypeString  ValueType = 8 // u64 length + bytes; not required to be valid UTF-8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

// typeNames are ggml's short names (gguf.cpp GGUF_TYPE_NAME), so our
// output reads like gguf_dump's.
var typeNames = [...]string{
	TypeUint8: "u8", TypeInt8: "i8", TypeUint16: "u16", TypeInt16: "i16",
	TypeUint32: "u32", TypeInt32: "i32", TypeFloat32: "f32", TypeBool: "bool",
	TypeString: "str", TypeArray: "arr", TypeUint64: "u64", TypeInt64: "i64",
	TypeFloat64: "f64",
}

// Valid reports whether t is one of the 13 GGUF value types.
func (t ValueType) Valid() bool { return t <= TypeFloat64 }

func (t ValueType) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint32(t))
}

// fixedSize is the encoded size of a scalar of type t, or 0 for the
// variable-size types (string, array).
func (t ValueType) fixedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// minSize is the smallest number of file bytes one value of type t can
// occupy. The reader bounds every count read from the file by
// remaining/minSize, so an allocation never exceeds what the file backs.
func (t ValueType) minSize() int {
	switch t {
	case TypeString:
		return 8 // the length
	case TypeArray:
		return 4 + 8 // element type + count
	}
	return t.fixedSize()
}

// Value is one typed metadata value. Scalars hold the matching Go type
// (uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64, float64) and ignore Elem. Arrays have Type == TypeArray, Elem = the
// element type and V = a slice of the element's Go type ([]uint8, []int32,
// []float32, []string, ...). A nested array has Elem == TypeArray and
// V = []Value, each element itself an array Value.
type Value struct {
	Type ValueType
	Elem ValueType
	V    any
}

// Constructors for the value types rwkv-tools stores. Other types are
// written as literals, e.g. Value{Type: TypeInt64, V: int64(-1)}.

func String(s string) Value      { return Value{Type: TypeString, V: s} }
func Uint32(v uint32) Value      { return Value{Type: TypeUint32, V: v} }
func Uint64(v uint64) Value      { return Value{Type: TypeUint64, V: v} }
func Int32(v int32) Value        { return Value{Type: TypeInt32, V: v} }
func Float32(v float32) Value    { return Value{Type: TypeFloat32, V: v} }
func Float64(v float64) Value    { return Value{Type: TypeFloat64, V: v} }
func Bool(v bool) Value          { return Value{Type: TypeBool, V: v} }
func Strings(v []string) Value   { return Value{Type: TypeArray, Elem: TypeString, V: v} }
func Int32s(v []int32) Value     { return Value{Type: TypeArray, Elem: TypeInt32, V: v} }
func Float32s(v []float32) Value { return Value{Type: TypeArray, Elem: TypeFloat32, V: v} }
func Uint8s(v []uint8) Value     { return Value{Type: TypeArray, Elem: TypeUint8, V: v} }

// Len returns the number of elements of an array value, and 1 for a scalar.
func (v Value) Len() int {
	if v.Type != TypeArray {
		return 1
	}
	switch s := v.V.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	case []Value:
		return len(s)
	}
	return 0
}

// typeName is "u32" for scalars and "u32 array" for arrays.
func (v Value) typeName() string {
	if v.Type == TypeArray {
		return v.Elem.String() + " array"
	}
	return v.Type.String()
}

// check reports whether v's Go value matches its declared type, and that
// it stays within the limits the reader enforces, so that the writer never
// produces a file Parse would refuse.
func (v Value) check(depth int) error {
	if v.Type == TypeArray {
		if depth >= MaxArrayDepth {
			return fmt.Errorf("arrays nested deeper than %d", MaxArrayDepth)
		}
		if !v.Elem.Valid() {
			return fmt.Errorf("array of invalid element type %v", v.Elem)
		}
		ok := false
		switch v.Elem {
		case TypeUint8:
			_, ok = v.V.([]uint8)
		case TypeInt8:
			_, ok = v.V.([]int8)
		case TypeUint16:
			_, ok = v.V.([]uint16)
		case TypeInt16:
			_, ok = v.V.([]int16)
		case TypeUint32:
			_, ok = v.V.([]uint32)
		case TypeInt32:
			_, ok = v.V.([]int32)
		case TypeFloat32:
			_, ok = v.V.([]float32)
		case TypeBool:
			_, ok = v.V.([]bool)
		case TypeString:
			var ss []string
			if ss, ok = v.V.([]string); ok {
				for _, s := range ss {
					if len(s) > MaxStringLen {
						return fmt.Errorf("string element of %d bytes exceeds the limit of %d", len(s), MaxStringLen)
					}
				}
			}
		case TypeUint64:
			_, ok = v.V.([]uint64)
		case TypeInt64:
			_, ok = v.V.([]int64)
		case TypeFloat64:
			_, ok = v.V.([]float64)
		case TypeArray:
			var vs []Value
			if vs, ok = v.V.([]Value); ok {
				for i, e := range vs {
					if e.Type != TypeArray {
						return fmt.Errorf("element %d of a nested array has type %v, want arr", i, e.Type)
					}
					if err := e.check(depth + 1); err != nil {
						return fmt.Errorf("element %d: %w", i, err)
					}
				}
			}
		}
		if !ok {
			return fmt.Errorf("%v array holds Go type %T", v.Elem, v.V)
		}
		if n := v.Len(); n > MaxArrayLen {
			return fmt.Errorf("array of %d elements exceeds the limit of %d", n, MaxArrayLen)
		}
		return nil
	}
	ok := false
	switch v.Type {
	case TypeUint8:
		_, ok = v.V.(uint8)
	case TypeInt8:
		_, ok = v.V.(int8)
	case TypeUint16:
		_, ok = v.V.(uint16)
	case TypeInt16:
		_, ok = v.V.(int16)
	case TypeUint32:
		_, ok = v.V.(uint32)
	case TypeInt32:
		_, ok = v.V.(int32)
	case TypeFloat32:
		_, ok = v.V.(float32)
	case TypeBool:
		_, ok = v.V.(bool)
	case TypeString:
		var s string
		if s, ok = v.V.(string); ok && len(s) > MaxStringLen {
			return fmt.Errorf("string of %d bytes exceeds the limit of %d", len(s), MaxStringLen)
		}
	case TypeUint64:
		_, ok = v.V.(uint64)
	case TypeInt64:
		_, ok = v.V.(int64)
	case TypeFloat64:
		_, ok = v.V.(float64)
	default:
		return fmt.Errorf("invalid value type %v", v.Type)
	}
	if !ok {
		return fmt.Errorf("%v value holds Go type %T", v.Type, v.V)
	}
	return nil
}

// Formatting limits: `info` output must stay one short line per key even
// for a 65536-token vocabulary or a long chat template.
const (
	formatMaxString = 64
	formatMaxElems  = 4
)

// Format renders a value for humans: scalars as text (strings quoted and
// shortened), arrays as "[N × type] first few…".
func (v Value) Format() string {
	if v.Type != TypeArray {
		return formatScalar(v.Type, v.V)
	}
	n := v.Len()
	var b strings.Builder
	fmt.Fprintf(&b, "[%d × %v]", n, v.Elem)
	shown := min(n, formatMaxElems)
	for i := 0; i < shown; i++ {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		b.WriteString(v.elemFormat(i))
	}
	if shown < n {
		b.WriteString(", …")
	}
	return b.String()
}

func (v Value) elemFormat(i int) string {
	switch s := v.V.(type) {
	case []uint8:
		return formatScalar(TypeUint8, s[i])
	case []int8:
		return formatScalar(TypeInt8, s[i])
	case []uint16:
		return formatScalar(TypeUint16, s[i])
	case []int16:
		return formatScalar(TypeInt16, s[i])
	case []uint32:
		return formatScalar(TypeUint32, s[i])
	case []int32:
		return formatScalar(TypeInt32, s[i])
	case []float32:
		return formatScalar(TypeFloat32, s[i])
	case []bool:
		return formatScalar(TypeBool, s[i])
	case []string:
		return formatScalar(TypeString, s[i])
	case []uint64:
		return formatScalar(TypeUint64, s[i])
	case []int64:
		return formatScalar(TypeInt64, s[i])
	case []float64:
		return formatScalar(TypeFloat64, s[i])
	case []Value:
		return s[i].Format()
	}
	return "?"
}

func formatScalar(t ValueType, x any) string {
	switch x := x.(type) {
	case string:
		if len(x) > formatMaxString {
			return strconv.Quote(x[:formatMaxString]) + fmt.Sprintf("…(%d bytes)", len(x))
		}
		return strconv.Quote(x)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case uint8, int8, uint16, int16, uint32, int32, uint64, int64, bool:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("%v(%T?)", t, x)
}
