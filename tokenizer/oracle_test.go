package tokenizer

import (
	"math"
	"strings"
)

// Test oracles: deliberately simple re-implementations of each step, written
// from the spec rather than from the optimised code, to derive expected ids
// where no external reference exists.

// naiveBPE merges a byte-level word the slow, obvious way: repeatedly merge
// the adjacent pair with the lowest rank, the leftmost one among equal
// ranks, one merge at a time (HF's semantics; GPT-2's "merge every
// occurrence of the best pair at once" agrees on trained merge lists).
func naiveBPE(word string, rank map[string]int) []string {
	var syms []string
	for _, r := range word {
		syms = append(syms, string(r))
	}
	for len(syms) > 1 {
		best, bestRank := -1, math.MaxInt
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := rank[syms[i]+" "+syms[i+1]]; ok && r < bestRank {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		syms[best] += syms[best+1]
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	return syms
}

// mergeRanks maps "left right" to its rank; a repeated merge keeps the last
// rank, as in HF.
func mergeRanks(merges []string) map[string]int {
	rank := make(map[string]int, len(merges))
	for i, m := range merges {
		rank[m] = i
	}
	return rank
}

// bpeOracle encodes like BPE.Encode but with naive parts: added tokens by
// trying every pattern at every position, normalization with x/text, and
// naiveBPE. Only the GPT-2 pre-tokenizer scanner is shared (it has its own
// table test).
type bpeOracle struct {
	tok  *BPE
	rank map[string]int
}

func newBPEOracle(tok *BPE) *bpeOracle {
	return &bpeOracle{tok: tok, rank: mergeRanks(mergeStrings(tok))}
}

func mergeStrings(tok *BPE) []string {
	out := make([]string, len(tok.mergeList))
	for i, m := range tok.mergeList {
		out[i] = m[0] + " " + m[1]
	}
	return out
}

// leftmostLongest finds the leftmost, then longest, occurrence of any
// pattern in s.
func leftmostLongest(s string, patterns map[string]int) (pos, length, id int) {
	pos = -1
	for p, pid := range patterns {
		i := strings.Index(s, p)
		if i < 0 {
			continue
		}
		if pos < 0 || i < pos || (i == pos && len(p) > length) {
			pos, length, id = i, len(p), pid
		}
	}
	return pos, length, id
}

func (o *bpeOracle) encode(text string) []int {
	t := o.tok
	raw, normd := map[string]int{}, map[string]int{}
	for _, a := range t.added {
		if a.Normalized {
			normd[t.normalize(a.Content)] = a.ID
		} else {
			raw[a.Content] = a.ID
		}
	}
	text = replaceBytesWithoutToken(text, &t.byteID)
	var ids []int
	var words func(piece string)
	words = func(piece string) {
		splitGPT2(piece, func(word string) {
			for _, sym := range naiveBPE(byteLevelString(word), o.rank) {
				ids = append(ids, int(t.vocab[sym]))
			}
		})
	}
	normalized := func(piece string) {
		piece = t.normalize(piece)
		for piece != "" {
			pos, n, id := leftmostLongest(piece, normd)
			if pos < 0 {
				words(piece)
				return
			}
			words(piece[:pos])
			ids = append(ids, id)
			piece = piece[pos+n:]
		}
	}
	for text != "" {
		pos, n, id := leftmostLongest(text, raw)
		if pos < 0 {
			normalized(text)
			break
		}
		normalized(text[:pos])
		ids = append(ids, id)
		text = text[pos+n:]
	}
	return ids
}

// worldOracle is ChatRWKV's table tokenizer in its simplest form: at each
// position try every length from the longest token down.
type worldOracle struct {
	byBytes map[string]int
	maxLen  int
}

func newWorldOracle(w *World) *worldOracle {
	o := &worldOracle{byBytes: make(map[string]int, len(w.tokens))}
	for id, tok := range w.tokens {
		if w.types[id] == TokenTypeNormal {
			o.byBytes[string(tok)] = id
			o.maxLen = max(o.maxLen, len(tok))
		}
	}
	return o
}

func (o *worldOracle) encode(text string) []int {
	var ids []int
	for i := 0; i < len(text); {
		for n := min(o.maxLen, len(text)-i); n >= 1; n-- {
			if id, ok := o.byBytes[text[i:i+n]]; ok {
				ids = append(ids, id)
				i += n
				break
			}
		}
	}
	return ids
}
