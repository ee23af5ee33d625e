package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The GPT-2 pre-tokenizer regex, as HF tokenizers' ByteLevel pre-tokenizer
// runs it with Oniguruma:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Go's regexp (RE2) has no look-ahead, so gpt2PieceEnd is a hand-written
// scanner that tries the alternatives in the regex's order at each position
// (Oniguruma alternation is ordered, not longest-match).

// runeClass is the only property of a rune the regex looks at.
type runeClass uint8

const (
	classOther  runeClass = iota // [^\s\p{L}\p{N}]
	classLetter                  // \p{L}: Lu Ll Lt Lm Lo
	classNumber                  // \p{N}: Nd Nl No
	classSpace                   // \s
)

var asciiClass [utf8.RuneSelf]runeClass

func init() {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		asciiClass[r] = classifySlow(r)
	}
}

// classifySlow mirrors Oniguruma's Unicode classes. Its \s is the White_Space
// property (U+0009–000D, U+0020, U+0085, U+00A0, U+1680, U+2000–200A, U+2028,
// U+2029, U+202F, U+205F, U+3000), which is exactly unicode.IsSpace; Go
// regexp's own \s would be ASCII-only and miss \v.
func classifySlow(r rune) runeClass {
	switch {
	case unicode.IsSpace(r):
		return classSpace
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	}
	return classOther
}

// runeAt decodes the rune at s[i:] and classifies it. An invalid UTF-8 byte
// decodes as (RuneError, 1), so it is classified like U+FFFD (a symbol,
// classOther) and stays a one-byte unit; its raw byte still goes through
// the byte-level map, which keeps Decode(Encode(s)) == s for any bytes.
func runeAt(s string, i int) (runeClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	return classifySlow(r), size
}

// splitGPT2 calls emit for each pre-token of s, in order. The pre-tokens
// are non-empty and concatenate to s.
func splitGPT2(s string, emit func(piece string)) {
	for i := 0; i < len(s); {
		j := gpt2PieceEnd(s, i)
		emit(s[i:j])
		i = j
	}
}

// gpt2PieceEnd returns the end of the regex match that starts at s[i]
// (i < len(s)). The regex always matches at least one rune.
func gpt2PieceEnd(s string, i int) int {
	// 's 't 're 've 'm 'll 'd — ASCII apostrophe, case-sensitive.
	if s[i] == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}

	// " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": the optional prefix is
	// U+0020 only; a space followed by another space falls through to the
	// whitespace rules.
	start := i
	if s[i] == ' ' && i+1 < len(s) {
		if class, _ := runeAt(s, i+1); class != classSpace {
			start = i + 1
		}
	}
	class, size := runeAt(s, start)
	if class != classSpace {
		j := start + size
		for j < len(s) {
			c, n := runeAt(s, j)
			if c != class {
				break
			}
			j += n
		}
		return j
	}

	// "\s+(?!\S)" then "\s+". The greedy run is backtracked by one rune when
	// a non-space follows it, so that the last space can become the prefix
	// of the next word; a single space before a non-space has nothing to give
	// back and is matched whole by "\s+".
	runes := 0
	lastSize := 0
	j := i
	for j < len(s) {
		c, n := runeAt(s, j)
		if c != classSpace {
			break
		}
		runes++
		lastSize = n
		j += n
	}
	if j == len(s) || runes == 1 {
		return j
	}
	return j - lastSize
}
