package tokenizer

import "unicode/utf8"

// The GPT-2 byte-level alphabet (bytes_to_unicode in GPT-2's encoder.py, and
// HF tokenizers' byte_level.rs): every byte gets one printable code point so
// that BPE vocabularies can be stored as text. The printable Latin-1 bytes
// 0x21–0x7E, 0xA1–0xAC and 0xAE–0xFF stand for themselves; the other 68
// bytes (controls, space, DEL, NBSP, soft hyphen) are mapped, in increasing
// byte order, to U+0100, U+0101, … so space becomes 'Ġ' (U+0120) and '\n'
// becomes 'Ċ' (U+010A).
var (
	byteToRune [256]rune
	runeToByte = make(map[rune]byte, 256)
)

func init() {
	next := rune(0x100)
	for b := 0; b < 256; b++ {
		if (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = next
			next++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevelString maps raw bytes to their byte-level text form.
func byteLevelString(raw string) string {
	buf := make([]byte, 0, 2*len(raw))
	for i := 0; i < len(raw); i++ {
		buf = utf8.AppendRune(buf, byteToRune[raw[i]])
	}
	return string(buf)
}

// byteLevelDecode returns the bytes a vocabulary string stands for. As in the
// HF ByteLevel decoder, a token whose every rune belongs to the byte-level
// alphabet decodes to those bytes; any other token (an added token such as a
// run of real spaces) decodes to its own UTF-8 text.
func byteLevelDecode(token string) []byte {
	out := make([]byte, 0, len(token))
	for _, r := range token {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(token)
		}
		out = append(out, b)
	}
	return out
}
