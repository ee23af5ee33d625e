package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// parsePyLiteral decodes a Python str or bytes literal as written by repr():
// '…', "…", b'…' or b"…". A str yields its UTF-8 encoding; a bytes literal
// yields its raw bytes (this is how the World vocabulary stores tokens that
// are partial UTF-8 sequences).
//
// Escapes: \\ \' \" \a \b \f \n \r \t \v, octal \o \oo \ooo, \xHH, and in
// str literals also \uHHHH and \UHHHHHHHH. In a str, \xHH is the code point
// U+00HH (two UTF-8 bytes from 0x80 up); in bytes it is the byte itself.
// Escapes Python would keep verbatim (e.g. "\q") are rejected: repr never
// writes them, so one means a damaged file.
func parsePyLiteral(lit string) ([]byte, error) {
	isBytes := false
	body := lit
	if strings.HasPrefix(body, "b") || strings.HasPrefix(body, "B") {
		isBytes = true
		body = body[1:]
	}
	if len(body) < 2 || (body[0] != '\'' && body[0] != '"') || body[len(body)-1] != body[0] {
		return nil, fmt.Errorf("literal %s is not a quoted Python str or bytes literal", clip(lit))
	}
	quote := body[0]
	body = body[1 : len(body)-1]

	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		if c == quote {
			return nil, fmt.Errorf("literal %s: unescaped %c inside the literal", clip(lit), quote)
		}
		if c != '\\' {
			if isBytes && c >= utf8.RuneSelf {
				return nil, fmt.Errorf("literal %s: bytes literal contains a non-ASCII character", clip(lit))
			}
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(body) {
			return nil, fmt.Errorf("literal %s: ends with a lone backslash", clip(lit))
		}
		esc := body[i+1]
		i += 2
		switch esc {
		case '\\', '\'', '"':
			out = append(out, esc)
		case 'a':
			out = append(out, '\a')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := rune(esc - '0')
			for n := 1; n < 3 && i < len(body) && body[i] >= '0' && body[i] <= '7'; n++ {
				v = v*8 + rune(body[i]-'0')
				i++
			}
			if isBytes {
				if v > 0xFF {
					return nil, fmt.Errorf("literal %s: octal escape \\%o is out of byte range", clip(lit), v)
				}
				out = append(out, byte(v))
			} else {
				out = utf8.AppendRune(out, v)
			}
		case 'x', 'u', 'U':
			digits := 2
			switch esc {
			case 'u':
				digits = 4
			case 'U':
				digits = 8
			}
			if isBytes && esc != 'x' {
				return nil, fmt.Errorf("literal %s: \\%c is not an escape in a bytes literal", clip(lit), esc)
			}
			if i+digits > len(body) {
				return nil, fmt.Errorf("literal %s: truncated \\%c escape", clip(lit), esc)
			}
			v, ok := parseHex(body[i : i+digits])
			if !ok {
				return nil, fmt.Errorf("literal %s: bad hex digits in \\%c%s", clip(lit), esc, body[i:i+digits])
			}
			i += digits
			switch {
			case isBytes:
				out = append(out, byte(v))
			case v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF):
				// A lone surrogate is a valid Python str but has no UTF-8
				// form; the reference loader's encode('utf-8') would fail.
				return nil, fmt.Errorf("literal %s: \\%c%s is not encodable as UTF-8", clip(lit), esc, body[i-digits:i])
			default:
				out = utf8.AppendRune(out, rune(v))
			}
		default:
			return nil, fmt.Errorf("literal %s: unsupported escape \\%c", clip(lit), esc)
		}
	}
	if !isBytes && !utf8.Valid(out) {
		return nil, fmt.Errorf("literal %s: str literal is not valid UTF-8", clip(lit))
	}
	return out, nil
}

func parseHex(s string) (uint32, bool) {
	var v uint32
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint32(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint32(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint32(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// pyBytesReprBody returns repr(b)[2:-1] for a Python bytes object b: the
// text between the quotes of b'…'. llama.cpp's converter stores each RWKV
// World token this way in tokenizer.ggml.tokens, so that partial UTF-8
// tokens survive as ASCII text; llama_unescape_rwkv_token reads it back.
// Like CPython, it uses double quotes (and leaves ' unescaped) when b
// contains ' but no ", and otherwise single quotes with ' escaped.
func pyBytesReprBody(b []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(b), '\'') >= 0 && strings.IndexByte(string(b), '"') < 0 {
		quote = '"'
	}
	const hexDigits = "0123456789abcdef"
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			sb.WriteString(`\x`)
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&15])
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// unescapeRWKVGGUFToken inverts pyBytesReprBody the way llama.cpp's
// llama_unescape_rwkv_token does (\t \n \r \xHH, and a backslash before any
// other character yields that character), but rejects malformed escapes
// instead of reading garbage.
func unescapeRWKVGGUFToken(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("token %q ends with a lone backslash", s)
		}
		i++
		switch s[i] {
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 'x':
			if i+3 > len(s) {
				return nil, fmt.Errorf("token %q: truncated \\x escape", s)
			}
			v, ok := parseHex(s[i+1 : i+3])
			if !ok {
				return nil, fmt.Errorf("token %q: bad \\x escape", s)
			}
			out = append(out, byte(v))
			i += 2
		case '\\', '\'', '"':
			out = append(out, s[i])
		default:
			return nil, fmt.Errorf("token %q: unsupported escape \\%c", s, s[i])
		}
	}
	return out, nil
}
