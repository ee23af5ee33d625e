package tokenizer

import (
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// BPE is a byte-level BPE tokenizer with the semantics of Hugging Face
// tokenizers for the configurations it accepts (see ParseHFJSON): added
// tokens, normalizer, GPT-2 pre-tokenizer, merges by rank, no post-processing.
type BPE struct {
	tokens     []string // by id: byte-level vocab string or added-token content; "" = unused id
	tokenBytes [][]byte // by id: what the token decodes to
	tokenType  []int32  // by id: GGUF token type

	vocab        map[string]int32  // model vocabulary, byte-level strings
	merges       map[uint64]uint64 // pairKey(left, right) → rank<<32 | merged id
	mergeList    [][2]string       // merges in file order, for export
	byteID       [256]int32        // id of the one-symbol token of each byte; -1 if none
	hasByteGaps  bool              // some byte (one that never occurs in UTF-8) has no token
	ignoreMerges bool              // HF BPE.ignore_merges: a word found whole in vocab is one token
	useRegex     bool              // ByteLevel.use_regex: split with the GPT-2 pattern
	normName     string            // "", "NFC", "NFD", "NFKC" or "NFKD"
	normForm     *norm.Form        // nil when normName == ""

	added     []AddedToken
	rawAdded  *byteTrie // added tokens matched on the raw text (normalized=false)
	normAdded *byteTrie // added tokens matched after normalization (normalized=true)
	// idle holds per-goroutine working memory, each with its own word
	// cache: an Encode call takes one (or makes one) and returns it, so the
	// per-word cache lookups need no locking, and caches outlive garbage
	// collections (a sync.Pool would drop them).
	idle chan *bpeScratch
}

// AddedToken is an entry of tokenizer.json's added_tokens that BPE honours.
// Special tokens are control tokens such as <|endoftext|>; Normalized tokens
// are looked for after the normalizer has run, the others in the raw text.
type AddedToken struct {
	ID         int
	Content    string
	Special    bool
	Normalized bool
}

// bpeConfig is what both constructors (tokenizer.json and GGUF) reduce their
// input to before newBPE validates it and builds the tables.
type bpeConfig struct {
	source       string // file or origin, for error messages
	vocab        map[string]int
	merges       [][2]string
	added        []AddedToken
	normalizer   string
	useRegex     bool
	ignoreMerges bool
	// unusedText holds the text of ids that are no token (GGUF "[PAD…]"
	// entries), so that an exported vocabulary re-exports unchanged.
	unusedText map[int]string
}

// maxVocabID bounds ids so that a corrupt file cannot make us allocate
// gigabytes; real vocabularies stay below a million.
const maxVocabID = 1 << 22

func newBPE(cfg bpeConfig) (*BPE, error) {
	src := cfg.source
	size := 0
	for tok, id := range cfg.vocab {
		if id < 0 || id >= maxVocabID {
			return nil, fmt.Errorf("%s: model.vocab: id %d of %q is out of range [0, %d)", src, id, tok, maxVocabID)
		}
		size = max(size, id+1)
	}
	for i, a := range cfg.added {
		if a.ID < 0 || a.ID >= maxVocabID {
			return nil, fmt.Errorf("%s: added_tokens[%d]: id %d is out of range [0, %d)", src, i, a.ID, maxVocabID)
		}
		size = max(size, a.ID+1)
	}
	for id := range cfg.unusedText {
		size = max(size, id+1)
	}
	// Ids need not be dense, but a file whose largest id is far beyond its
	// entry count is more likely corrupt than sparse, and would make us
	// allocate for nothing.
	if entries := len(cfg.vocab) + len(cfg.added) + len(cfg.unusedText); size > 2*entries+1024 {
		return nil, fmt.Errorf("%s: largest id %d is far beyond the number of vocabulary entries and added tokens (%d)", src, size-1, entries)
	}

	t := &BPE{
		tokens:       make([]string, size),
		tokenBytes:   make([][]byte, size),
		tokenType:    make([]int32, size),
		vocab:        make(map[string]int32, len(cfg.vocab)),
		ignoreMerges: cfg.ignoreMerges,
		useRegex:     cfg.useRegex,
	}
	for i := range t.tokenType {
		t.tokenType[i] = TokenTypeUnused
	}
	owner := make([]string, size) // which vocab string claimed an id, for the duplicate message
	for tok, id := range cfg.vocab {
		if t.tokenType[id] == TokenTypeNormal {
			a, b := owner[id], tok
			if b < a {
				a, b = b, a // deterministic message despite map order
			}
			return nil, fmt.Errorf("%s: model.vocab: id %d is used by both %q and %q", src, id, a, b)
		}
		owner[id] = tok
		t.vocab[tok] = int32(id)
		t.tokens[id] = tok
		t.tokenBytes[id] = byteLevelDecode(tok)
		t.tokenType[id] = TokenTypeNormal
	}
	for b := 0; b < 256; b++ {
		sym := string(byteToRune[b])
		id, ok := t.vocab[sym]
		if !ok && !neverInUTF8(byte(b)) {
			// HF would silently drop such bytes (no unk) or emit unk; neither
			// round-trips, and no byte-level vocabulary in use lacks one.
			return nil, fmt.Errorf("%s: model.vocab has no token for byte 0x%02X (%q); a byte-level BPE vocabulary must cover every byte that occurs in UTF-8 text", src, b, sym)
		}
		if !ok {
			id = -1
			t.hasByteGaps = true
		}
		t.byteID[b] = id
	}

	if err := t.setNormalizer(cfg.normalizer, src); err != nil {
		return nil, err
	}
	if err := t.setMerges(cfg.merges, src); err != nil {
		return nil, err
	}
	if err := t.setAdded(cfg.added, src); err != nil {
		return nil, err
	}
	for id, text := range cfg.unusedText {
		if t.tokenType[id] == TokenTypeUnused {
			t.tokens[id] = text
		}
	}
	t.idle = make(chan *bpeScratch, idleScratches)
	return t, nil
}

func (t *BPE) setNormalizer(name, src string) error {
	switch name {
	case "":
	case "NFC":
		t.normForm = ptr(norm.NFC)
	case "NFD":
		t.normForm = ptr(norm.NFD)
	case "NFKC":
		t.normForm = ptr(norm.NFKC)
	case "NFKD":
		t.normForm = ptr(norm.NFKD)
	default:
		return fmt.Errorf("%s: normalizer %q is not supported (supported: none, NFC, NFD, NFKC, NFKD)", src, name)
	}
	t.normName = name
	return nil
}

func ptr[T any](v T) *T { return &v }

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

func (t *BPE) setMerges(merges [][2]string, src string) error {
	t.merges = make(map[uint64]uint64, len(merges))
	t.mergeList = append([][2]string(nil), merges...)
	for rank, m := range merges {
		left, ok := t.vocab[m[0]]
		if !ok {
			return fmt.Errorf("%s: model.merges[%d] %q: left token %q is not in the vocabulary", src, rank, m[0]+" "+m[1], m[0])
		}
		right, ok := t.vocab[m[1]]
		if !ok {
			return fmt.Errorf("%s: model.merges[%d] %q: right token %q is not in the vocabulary", src, rank, m[0]+" "+m[1], m[1])
		}
		merged, ok := t.vocab[m[0]+m[1]]
		if !ok {
			return fmt.Errorf("%s: model.merges[%d] %q: merged token %q is not in the vocabulary", src, rank, m[0]+" "+m[1], m[0]+m[1])
		}
		// A repeated pair keeps its last rank: HF collects the merges into a
		// hash map, where a later insert overwrites an earlier one.
		t.merges[pairKey(left, right)] = uint64(rank)<<32 | uint64(uint32(merged))
	}
	return nil
}

func (t *BPE) setAdded(added []AddedToken, src string) error {
	raw, normd := newTrieBuilder(), newTrieBuilder()
	nRaw, nNorm := 0, 0
	byID := make(map[int]int, len(added))
	for i, a := range added {
		if a.Content == "" {
			return fmt.Errorf("%s: added_tokens[%d] (id %d) has empty content", src, i, a.ID)
		}
		if j, dup := byID[a.ID]; dup {
			return fmt.Errorf("%s: added_tokens[%d] and added_tokens[%d] both have id %d", src, j, i, a.ID)
		}
		byID[a.ID] = i
		pattern := a.Content
		builder := raw
		if a.Normalized {
			// HF normalizes the pattern too, so it can match normalized text.
			pattern = t.normalize(pattern)
			builder = normd
			nNorm++
		} else {
			nRaw++
		}
		if old := builder.insert(pattern, int32(a.ID)); old >= 0 {
			return fmt.Errorf("%s: added_tokens[%d] (id %d) has the same content %q as id %d", src, i, a.ID, a.Content, old)
		}
		t.tokens[a.ID] = a.Content
		t.tokenBytes[a.ID] = byteLevelDecode(a.Content)
		if a.Special {
			t.tokenType[a.ID] = TokenTypeControl
		} else {
			t.tokenType[a.ID] = TokenTypeUserDefined
		}
	}
	t.added = append([]AddedToken(nil), added...)
	if nRaw > 0 {
		t.rawAdded = raw.freeze()
	}
	if nNorm > 0 {
		t.normAdded = normd.freeze()
	}
	return nil
}

func (t *BPE) normalize(s string) string {
	if t.normForm == nil || t.normForm.IsNormalString(s) {
		return s
	}
	return t.normForm.String(s)
}

// Kind implements Tokenizer.
func (t *BPE) Kind() string { return KindGPT2BPE }

// VocabSize implements Tokenizer.
func (t *BPE) VocabSize() int { return len(t.tokens) }

// Token implements Tokenizer.
func (t *BPE) Token(id int) string {
	if id < 0 || id >= len(t.tokens) || t.tokenType[id] == TokenTypeUnused {
		return ""
	}
	return t.tokens[id]
}

// AddedTokens returns the added tokens in file order.
func (t *BPE) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// Normalizer returns the normalizer's name: "", "NFC", "NFD", "NFKC" or "NFKD".
func (t *BPE) Normalizer() string { return t.normName }

// DecodeBytes implements Tokenizer.
func (t *BPE) DecodeBytes(ids []int) []byte {
	out := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		if id >= 0 && id < len(t.tokenBytes) {
			out = append(out, t.tokenBytes[id]...)
		}
	}
	return out
}

// Decode implements Tokenizer.
func (t *BPE) Decode(ids []int) string { return string(t.DecodeBytes(ids)) }

// Encode implements Tokenizer. The steps are HF tokenizers':
//  1. split out non-normalized added tokens from the raw text
//     (leftmost-longest match);
//  2. normalize each remaining piece;
//  3. split out normalized added tokens (leftmost-longest);
//  4. pre-tokenize each remaining piece with the GPT-2 pattern;
//  5. BPE each pre-token's bytes (byte-level symbols, merges by rank).
//
// HF only ever sees valid UTF-8. Encode also accepts invalid UTF-8: each
// invalid byte is one symbol of its own (classified like U+FFFD by the
// pre-tokenizer) and maps through the byte-level alphabet, so such text
// round-trips too — except for bytes that never occur in UTF-8 (0xC0, 0xC1,
// 0xF5–0xFF) when the vocabulary has no token for them, as the 20B one has
// not: those are replaced by U+FFFD first.
func (t *BPE) Encode(text string) []int {
	if t.hasByteGaps {
		text = replaceBytesWithoutToken(text, &t.byteID)
	}
	sc := t.takeScratch()
	defer t.putScratch(sc)
	ids := make([]int, 0, len(text)/4+1)
	return appendSplitByAdded(ids, text, t.rawAdded, func(ids []int, piece string) []int {
		return t.appendNormalized(ids, piece, sc)
	})
}

// neverInUTF8 reports whether byte b cannot occur in valid UTF-8.
func neverInUTF8(b byte) bool { return b == 0xC0 || b == 0xC1 || b >= 0xF5 }

// replaceBytesWithoutToken replaces the bytes whose byteID is -1 by U+FFFD.
// Only bytes that never occur in UTF-8 can lack a token, so valid text is
// returned unchanged without allocating.
func replaceBytesWithoutToken(text string, byteID *[256]int32) string {
	i := 0
	for i < len(text) && byteID[text[i]] >= 0 {
		i++
	}
	if i == len(text) {
		return text
	}
	var sb strings.Builder
	sb.Grow(len(text) + 8)
	sb.WriteString(text[:i])
	for ; i < len(text); i++ {
		if byteID[text[i]] >= 0 {
			sb.WriteByte(text[i])
		} else {
			sb.WriteString("\uFFFD")
		}
	}
	return sb.String()
}

func (t *BPE) appendNormalized(ids []int, piece string, sc *bpeScratch) []int {
	if piece == "" {
		return ids
	}
	return appendSplitByAdded(ids, t.normalize(piece), t.normAdded, func(ids []int, piece string) []int {
		return t.appendPreTokenized(ids, piece, sc)
	})
}

// appendSplitByAdded splits text at the added tokens of m (leftmost-longest),
// appending each token's id and passing the text between them to between.
func appendSplitByAdded(ids []int, text string, m *byteTrie, between func(ids []int, piece string) []int) []int {
	for rest := text; rest != ""; {
		pos, length, id := findAdded(m, rest)
		if pos < 0 {
			return between(ids, rest)
		}
		ids = between(ids, rest[:pos])
		ids = append(ids, int(id))
		rest = rest[pos+length:]
	}
	return ids
}

func (t *BPE) appendPreTokenized(ids []int, piece string, sc *bpeScratch) []int {
	if !t.useRegex {
		if piece != "" {
			ids = t.appendWord(ids, piece, sc)
		}
		return ids
	}
	for i := 0; i < len(piece); {
		j := gpt2PieceEnd(piece, i)
		ids = t.appendWord(ids, piece[i:j], sc)
		i = j
	}
	return ids
}

// findAdded is trie.leftmostLongest, or pos = -1 when there are no added
// tokens of that kind.
func findAdded(trie *byteTrie, s string) (pos, length int, id int32) {
	if trie == nil {
		return -1, 0, -1
	}
	return trie.leftmostLongest(s)
}

// appendWord appends the BPE ids of one pre-token (raw bytes, not yet
// byte-level mapped: each byte is one initial symbol either way).
func (t *BPE) appendWord(ids []int, word string, sc *bpeScratch) []int {
	if cached, ok := sc.cache[word]; ok {
		return append(ids, cached...)
	}
	start := len(ids)
	ids = t.appendMerged(ids, word, sc)
	if len(word) <= wordCacheMaxBytes {
		if len(sc.cache) >= wordCacheEntries {
			clear(sc.cache) // start over rather than track recency: one refill
		}
		sc.cache[word] = append([]int(nil), ids[start:]...)
	}
	return ids
}

// bpeScratch is the working memory of one Encode call at a time.
type bpeScratch struct {
	symbols []bpeSymbol
	queue   mergeQueue
	cache   map[string][]int // pre-token → ids; natural text repeats words a lot
}

const (
	idleScratches     = 8       // caches kept for concurrent callers
	wordCacheEntries  = 1 << 16 // per cache
	wordCacheMaxBytes = 64      // longer words are rare and would bloat the cache
	maxKeptWordBytes  = 1 << 16 // larger per-word buffers are dropped after use
)

func (t *BPE) takeScratch() *bpeScratch {
	select {
	case sc := <-t.idle:
		return sc
	default:
		return &bpeScratch{cache: make(map[string][]int, 1024)}
	}
}

func (t *BPE) putScratch(sc *bpeScratch) {
	if cap(sc.symbols) > maxKeptWordBytes {
		// Do not pin the memory of one giant word for the tokenizer's life.
		sc.symbols, sc.queue.items = nil, nil
	}
	select {
	case t.idle <- sc:
	default: // enough idle ones already
	}
}

// dropCaches forgets every word cache (for cold-start benchmarks).
func (t *BPE) dropCaches() {
	for {
		select {
		case <-t.idle:
		default:
			return
		}
	}
}

type bpeSymbol struct {
	id         int32
	prev, next int32 // neighbouring live symbols, -1 at the ends
	dead       bool  // merged into its left neighbour
}

func (t *BPE) appendMerged(ids []int, word string, sc *bpeScratch) []int {
	if t.ignoreMerges {
		if id, ok := t.vocab[byteLevelString(word)]; ok {
			return append(ids, int(id))
		}
	}
	n := len(word)
	syms := sc.symbols[:0]
	for i := 0; i < n; i++ {
		syms = append(syms, bpeSymbol{id: t.byteID[word[i]], prev: int32(i - 1), next: int32(i + 1)})
	}
	syms[n-1].next = -1
	sc.symbols = syms

	// HF Word::merge_all: a min-heap of candidate merges keyed by (rank,
	// position of the left symbol). Entries go stale when a neighbour
	// changes; they are skipped when popped. This is equivalent to
	// "repeatedly merge the adjacent pair of lowest rank, leftmost first"
	// in O(n log n), so a megabyte-long word cannot stall Encode.
	q := &sc.queue
	q.items = q.items[:0]
	for i := 0; i+1 < n; i++ {
		if m, ok := t.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			q.push(mergeCandidate{rank: uint32(m >> 32), pos: int32(i), merged: int32(uint32(m))})
		}
	}
	for len(q.items) > 0 {
		c := q.pop()
		left := &syms[c.pos]
		if left.dead || left.next < 0 {
			continue
		}
		right := &syms[left.next]
		m, ok := t.merges[pairKey(left.id, right.id)]
		if !ok || int32(uint32(m)) != c.merged {
			continue
		}
		left.id = c.merged
		right.dead = true
		left.next = right.next
		if left.next >= 0 {
			syms[left.next].prev = c.pos
		}
		if left.prev >= 0 {
			prev := left.prev
			if m, ok := t.merges[pairKey(syms[prev].id, left.id)]; ok {
				q.push(mergeCandidate{rank: uint32(m >> 32), pos: prev, merged: int32(uint32(m))})
			}
		}
		if left.next >= 0 {
			if m, ok := t.merges[pairKey(left.id, syms[left.next].id)]; ok {
				q.push(mergeCandidate{rank: uint32(m >> 32), pos: c.pos, merged: int32(uint32(m))})
			}
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		ids = append(ids, int(syms[i].id))
	}
	return ids
}

type mergeCandidate struct {
	rank   uint32
	pos    int32
	merged int32
}

func (a mergeCandidate) less(b mergeCandidate) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// mergeQueue is a binary min-heap (container/heap's interface calls cost
// more than the merges themselves).
type mergeQueue struct{ items []mergeCandidate }

func (q *mergeQueue) push(c mergeCandidate) {
	q.items = append(q.items, c)
	i := len(q.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !q.items[i].less(q.items[parent]) {
			break
		}
		q.items[i], q.items[parent] = q.items[parent], q.items[i]
		i = parent
	}
}

func (q *mergeQueue) pop() mergeCandidate {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items = q.items[:last]
	for i := 0; ; {
		l, r, smallest := 2*i+1, 2*i+2, i
		if l < last && q.items[l].less(q.items[smallest]) {
			smallest = l
		}
		if r < last && q.items[r].less(q.items[smallest]) {
			smallest = r
		}
		if smallest == i {
			break
		}
		q.items[i], q.items[smallest] = q.items[smallest], q.items[i]
		i = smallest
	}
	return top
}
