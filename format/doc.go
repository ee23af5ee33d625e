// Package format reads and writes rwkv-tools' native model container, which
// is GGUF version 3 (ggml's docs/gguf.md), little-endian only. Using true
// GGUF means ggml's own tools can read our files and serve as an
// independent check of them.
//
// # Layout
//
//	"GGUF"  u32 version (3)  u64 tensor_count  u64 kv_count
//	kv_count × (string key, u32 value type, value)
//	tensor_count × (string name, u32 n_dims, n_dims × u64 dim, u32 ggml type, u64 offset)
//	zero padding to general.alignment
//	data section: each tensor's bytes at its offset, zero-padded to the alignment
//
// A string is a u64 length and that many bytes (no NUL, not checked for
// UTF-8: tokenizer vocabularies hold raw byte tokens). An array value is a
// u32 element type, a u64 count and the elements; arrays may nest.
//
// # Alignment
//
// Write stores general.alignment = 64 (u32) and pads the header and every
// tensor to 64 bytes, so each tensor starts 64-byte aligned in the file and,
// since a mapping starts on a page, in memory: AVX-512 width, and
// PyTorch's own zip padding. Parse honours any power-of-2 alignment a file
// declares, and GGUF's default of 32 when the key is absent.
//
// # Dims order
//
// TensorInfo.Dims is in GGUF order: Dims[0] varies fastest and is the
// length of one row, the reverse of a PyTorch shape. A torch weight of
// shape [out, in] is stored with Dims = [in, out]. Quantized types need
// Dims[0] to be a multiple of their block length, because blocks never
// straddle rows.
//
// # Tensor offsets
//
// Offsets are relative to the data section. Like ggml's gguf.cpp, Parse
// requires them to be packed: the first tensor at 0, each next one at the
// previous offset plus its size rounded up to the alignment. Write plans
// them that way before writing anything, then streams each tensor's bytes,
// so memory use does not grow with the file.
//
// # Validation
//
// Parse makes all of gguf.cpp's checks: magic; version (big-endian files
// are recognised and refused, versions 1 and 2 must be re-converted);
// tensor and KV counts bounded by the bytes left; empty or duplicate keys;
// general.alignment a u32 power of 2; tensor name length; duplicate tensor
// names; at most 4 dims, none negative; no element-count overflow; a known
// type; rows that are whole blocks; each offset equal to the expected
// packed offset; no overflow of the total size. It adds: every tensor's
// data lies inside the file, bools are 0 or 1, string and array lengths
// fit the remaining bytes and the limits below, and arrays nest at most
// MaxArrayDepth deep. Every failure is a *FormatError with the offset of
// the offending field.
//
// Write is stricter than Parse where ggml is: tensor names must be shorter
// than ggml's 64-byte GGML_MAX_NAME (MaxWriteNameLen), and every tensor has
// at least one dim.
//
// Tensor data is never copied: File.Tensor returns a slice of the mapped
// (or in-memory) file. Metadata is copied, so it survives Close.
package format
