package format

import (
	"errors"
	"fmt"
	"slices"
)

// Metadata is the key/value section of a file. Keys are always fully
// qualified ("general.architecture", "rwkv4.block_count").
type Metadata map[string]Value

// ErrMissingKey is wrapped by every getter error for an absent key, so a
// caller with an optional key can tell "absent" from "present but wrong".
var ErrMissingKey = errors.New("missing")

// The getters never fall back to a default and never add a prefix: a
// converter bug that stores the wrong type must surface, not be papered
// over (ollama's keyValue[T] returns the default instead).

func (m Metadata) get(key string) (Value, error) {
	v, ok := m[key]
	if !ok {
		return Value{}, fmt.Errorf("metadata key %q: %w", key, ErrMissingKey)
	}
	return v, nil
}

func typeError(key string, v Value, want string) error {
	return fmt.Errorf("metadata key %q: has type %s, want %s", key, v.typeName(), want)
}

// String returns a string value.
func (m Metadata) String(key string) (string, error) {
	v, err := m.get(key)
	if err != nil {
		return "", err
	}
	if s, ok := v.V.(string); ok && v.Type == TypeString {
		return s, nil
	}
	return "", typeError(key, v, "str")
}

// Uint returns an integer value as uint64. It accepts every unsigned type
// and signed values >= 0: the spec says readers should accept u32 and u64
// alike for counts, and files from other writers use i32 for some of them.
func (m Metadata) Uint(key string) (uint64, error) {
	v, err := m.get(key)
	if err != nil {
		return 0, err
	}
	var s int64
	switch x := v.V.(type) {
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	case int8:
		s = int64(x)
	case int16:
		s = int64(x)
	case int32:
		s = int64(x)
	case int64:
		s = x
	default:
		return 0, typeError(key, v, "an unsigned integer")
	}
	if s < 0 {
		return 0, fmt.Errorf("metadata key %q: %v value %d is negative", key, v.Type, s)
	}
	return uint64(s), nil
}

// Float returns an f32 or f64 value as float64.
func (m Metadata) Float(key string) (float64, error) {
	v, err := m.get(key)
	if err != nil {
		return 0, err
	}
	switch x := v.V.(type) {
	case float32:
		if v.Type == TypeFloat32 {
			return float64(x), nil
		}
	case float64:
		if v.Type == TypeFloat64 {
			return x, nil
		}
	}
	return 0, typeError(key, v, "f32 or f64")
}

// Bool returns a bool value.
func (m Metadata) Bool(key string) (bool, error) {
	v, err := m.get(key)
	if err != nil {
		return false, err
	}
	if b, ok := v.V.(bool); ok && v.Type == TypeBool {
		return b, nil
	}
	return false, typeError(key, v, "bool")
}

// Strings returns a string array. The slice is the stored one, not a copy.
func (m Metadata) Strings(key string) ([]string, error) {
	v, err := m.get(key)
	if err != nil {
		return nil, err
	}
	if s, ok := v.V.([]string); ok && v.Type == TypeArray && v.Elem == TypeString {
		return s, nil
	}
	return nil, typeError(key, v, "str array")
}

// Int32s returns an i32 array. The slice is the stored one, not a copy.
func (m Metadata) Int32s(key string) ([]int32, error) {
	v, err := m.get(key)
	if err != nil {
		return nil, err
	}
	if s, ok := v.V.([]int32); ok && v.Type == TypeArray && v.Elem == TypeInt32 {
		return s, nil
	}
	return nil, typeError(key, v, "i32 array")
}

// Float32s returns an f32 array. The slice is the stored one, not a copy.
func (m Metadata) Float32s(key string) ([]float32, error) {
	v, err := m.get(key)
	if err != nil {
		return nil, err
	}
	if s, ok := v.V.([]float32); ok && v.Type == TypeArray && v.Elem == TypeFloat32 {
		return s, nil
	}
	return nil, typeError(key, v, "f32 array")
}

// Keys returns the keys in sorted order, the order Write stores them in.
func (m Metadata) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
