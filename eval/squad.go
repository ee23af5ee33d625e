package eval

import (
	"strings"
	"unicode"
)

// SQuAD's answer scoring (transformers' squad_metrics, which the harness'
// ReCoRD uses): normalize = lower-case, drop ASCII punctuation, drop the
// articles a/an/the as whole words, collapse whitespace.

const asciiPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

func squadNormalize(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if r < 128 && strings.ContainsRune(asciiPunct, r) {
			return -1
		}
		return r
	}, s)
	// re.sub(r"\b(a|an|the)\b", " ", s)
	rs := []rune(s)
	var b strings.Builder
	for i := 0; i < len(rs); {
		if i == 0 || !isWordRune(rs[i-1]) {
			matched := 0
			for _, art := range []string{"a", "an", "the"} {
				n := len(art)
				if i+n <= len(rs) && string(rs[i:i+n]) == art && (i+n == len(rs) || !isWordRune(rs[i+n])) {
					matched = n
					break
				}
			}
			if matched > 0 {
				b.WriteByte(' ')
				i += matched
				continue
			}
		}
		b.WriteRune(rs[i])
		i++
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// SquadExact is compute_exact: 1 when the normalized strings are equal.
func SquadExact(gold, pred string) float64 {
	return b2f(squadNormalize(gold) == squadNormalize(pred))
}

// SquadF1 is compute_f1: the F1 of the normalized tokens' multiset overlap
// (1 or 0 when either side has no tokens: whether both are empty).
func SquadF1(gold, pred string) float64 {
	g, p := strings.Fields(squadNormalize(gold)), strings.Fields(squadNormalize(pred))
	if len(g) == 0 || len(p) == 0 {
		return b2f(len(g) == len(p))
	}
	count := map[string]int{}
	for _, t := range g {
		count[t]++
	}
	same := 0
	for _, t := range p {
		if count[t] > 0 {
			count[t]--
			same++
		}
	}
	if same == 0 {
		return 0
	}
	prec, rec := float64(same)/float64(len(p)), float64(same)/float64(len(g))
	return 2 * prec * rec / (prec + rec)
}

// Entities returns a ReCoRD document's em and f1: the predicted entity is
// the argmax of ll (lowest index on a tie); each metric is its maximum over
// the gold answers.
func Entities(lls []float64, entities, answers []string) (em, f1 float64) {
	pred := entities[Argmax(lls)]
	for _, a := range answers {
		em = max(em, SquadExact(a, pred))
		f1 = max(f1, SquadF1(a, pred))
	}
	return em, f1
}
