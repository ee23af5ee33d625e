package tokenizer

import "sort"

// byteTrie maps byte strings to token ids and answers "longest key that is
// a prefix of s[i:]". It serves both the World vocabulary (65k keys up to
// 128 bytes) and the added-token matcher of the BPE tokenizer.
//
// It is built with maps and then frozen into flat arrays: the root, which is
// visited once per emitted token, gets a dense 256-entry table; other nodes
// keep their edges sorted by byte in one shared slice. A dense table per
// node would cost 1 KiB × ~300k nodes for the World vocabulary.
type byteTrie struct {
	root  [256]int32 // child node of the root per byte; 0 = none
	nodes []trieNode // nodes[0] is the root
	edges []trieEdge
}

type trieNode struct {
	value int32 // token id ending here, or -1
	first int32 // edges[first : first+count] are the children, sorted by label
	count int32
}

type trieEdge struct {
	label byte
	child int32
}

// trieBuilder accumulates keys before freezing them into a byteTrie.
type trieBuilder struct {
	values   []int32
	children []map[byte]int32
}

func newTrieBuilder() *trieBuilder {
	return &trieBuilder{values: []int32{-1}, children: []map[byte]int32{nil}}
}

// insert adds key → value. The key must be non-empty. It returns the value
// previously stored under the key, or -1.
func (b *trieBuilder) insert(key string, value int32) int32 {
	node := int32(0)
	for i := 0; i < len(key); i++ {
		next, ok := b.children[node][key[i]]
		if !ok {
			next = int32(len(b.values))
			b.values = append(b.values, -1)
			b.children = append(b.children, nil)
			if b.children[node] == nil {
				b.children[node] = make(map[byte]int32, 1)
			}
			b.children[node][key[i]] = next
		}
		node = next
	}
	old := b.values[node]
	b.values[node] = value
	return old
}

func (b *trieBuilder) freeze() *byteTrie {
	t := &byteTrie{nodes: make([]trieNode, len(b.values))}
	for n, kids := range b.children {
		t.nodes[n] = trieNode{value: b.values[n], first: int32(len(t.edges)), count: int32(len(kids))}
		start := len(t.edges)
		for label, child := range kids {
			t.edges = append(t.edges, trieEdge{label, child})
		}
		added := t.edges[start:]
		sort.Slice(added, func(i, j int) bool { return added[i].label < added[j].label })
	}
	for label, child := range b.children[0] {
		t.root[label] = child
	}
	return t
}

// child returns the child of node n (n != 0) along byte c, or 0.
func (t *byteTrie) child(n int32, c byte) int32 {
	node := &t.nodes[n]
	edges := t.edges[node.first : node.first+node.count]
	if len(edges) <= 8 {
		for _, e := range edges {
			if e.label == c {
				return e.child
			}
		}
		return 0
	}
	lo, hi := 0, len(edges)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if edges[mid].label < c {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(edges) && edges[lo].label == c {
		return edges[lo].child
	}
	return 0
}

// longestMatch returns the id and byte length of the longest key that is a
// prefix of s[i:], or (-1, 0) when no key is.
func (t *byteTrie) longestMatch(s string, i int) (id int32, length int) {
	id = -1
	n := t.root[s[i]]
	for j := i + 1; n != 0; j++ {
		if v := t.nodes[n].value; v >= 0 {
			id, length = v, j-i
		}
		if j == len(s) {
			break
		}
		n = t.child(n, s[j])
	}
	return id, length
}

// mayStartAt reports whether some key starts with byte c.
func (t *byteTrie) mayStartAt(c byte) bool { return t.root[c] != 0 }
