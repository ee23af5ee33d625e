package tokenizer

import "strings"

// byteTrie maps byte strings to token ids and answers "longest key that is
// a prefix of s[i:]". It serves both the World vocabulary (65k keys up to
// 128 bytes) and the added-token matcher of the BPE tokenizer.
//
// It is built with maps and then frozen into flat arrays. Nodes with many
// children (the root, and ~1,200 of the World vocabulary's 116k nodes) get a
// dense 256-entry child table: the walk is memory-bound, and a binary
// search over their edges cost more than all the rest of Encode. The other
// nodes, with at most denseFanout children, keep their edges in one shared
// slice and are scanned linearly.
type byteTrie struct {
	root  [256]int32   // child node of the root per byte; 0 = none
	dense [][256]int32 // child tables of the nodes with more than denseFanout children
	nodes []trieNode   // nodes[0] is the root
	edges []trieEdge
	// onlyFirst is the first byte of every key when they all share one
	// (the 20B added tokens: '<' for the specials, ' ' for the space
	// runs), else -1; it lets leftmostLongest skip ahead with IndexByte.
	onlyFirst int
}

type trieNode struct {
	value int32 // token id ending here, or -1
	dense int32 // index into byteTrie.dense, or -1 when the edges are used
	first int32 // edges[first : first+count] are the children
	count int32
}

type trieEdge struct {
	label byte
	child int32
}

const denseFanout = 8

// trieBuilder accumulates keys before freezing them into a byteTrie. Edges
// are kept in small per-node slices: most nodes have one or two children,
// and maps made loading the World vocabulary twice as slow.
type trieBuilder struct {
	values   []int32
	children [][]trieEdge
}

func newTrieBuilder() *trieBuilder {
	return &trieBuilder{values: []int32{-1}, children: [][]trieEdge{nil}}
}

// insert adds key → value. The key must be non-empty. It returns the value
// previously stored under the key, or -1.
func (b *trieBuilder) insert(key string, value int32) int32 {
	node := int32(0)
	for i := 0; i < len(key); i++ {
		next := int32(0)
		for _, e := range b.children[node] {
			if e.label == key[i] {
				next = e.child
				break
			}
		}
		if next == 0 {
			next = int32(len(b.values))
			b.values = append(b.values, -1)
			b.children = append(b.children, nil)
			b.children[node] = append(b.children[node], trieEdge{key[i], next})
		}
		node = next
	}
	old := b.values[node]
	b.values[node] = value
	return old
}

func (b *trieBuilder) freeze() *byteTrie {
	t := &byteTrie{nodes: make([]trieNode, len(b.values)), onlyFirst: -1}
	t.edges = make([]trieEdge, 0, len(b.values))
	for n, kids := range b.children {
		node := trieNode{value: b.values[n], dense: -1}
		if len(kids) > denseFanout {
			node.dense = int32(len(t.dense))
			var table [256]int32
			for _, e := range kids {
				table[e.label] = e.child
			}
			t.dense = append(t.dense, table)
		} else {
			node.first, node.count = int32(len(t.edges)), int32(len(kids))
			t.edges = append(t.edges, kids...)
		}
		t.nodes[n] = node
	}
	for _, e := range b.children[0] {
		t.root[e.label] = e.child
	}
	if len(b.children[0]) == 1 {
		t.onlyFirst = int(b.children[0][0].label)
	}
	return t
}

// child returns the child of node n along byte c, or 0.
func (t *byteTrie) child(n int32, c byte) int32 {
	node := &t.nodes[n]
	if node.dense >= 0 {
		return t.dense[node.dense][c]
	}
	for _, e := range t.edges[node.first : node.first+node.count] {
		if e.label == c {
			return e.child
		}
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

// leftmostLongest returns the position, length and id of the leftmost key
// occurring in s, the longest one at that position (Aho-Corasick
// LeftmostLongest semantics, which HF uses for added tokens), or pos = -1.
func (t *byteTrie) leftmostLongest(s string) (pos, length int, id int32) {
	for i := 0; i < len(s); i++ {
		if t.onlyFirst >= 0 {
			j := strings.IndexByte(s[i:], byte(t.onlyFirst))
			if j < 0 {
				break
			}
			i += j
		} else if t.root[s[i]] == 0 {
			continue
		}
		if id, length := t.longestMatch(s, i); id >= 0 {
			return i, length, id
		}
	}
	return -1, 0, -1
}
