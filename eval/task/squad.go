package task

import (
	"strings"
	"unicode"
)

// ReCoRD's em and f1 are SQuAD v2's compute_exact and compute_f1
// (transformers' squad_metrics, which the harness imports), each taken as
// the maximum over the gold answers (metric_max_over_ground_truths).

// NormalizeAnswer is SQuAD's normalize_answer: lower-case, drop ASCII
// punctuation (string.punctuation), replace the words "a", "an", "the"
// by a space, and join the whitespace-separated words with single spaces.
func NormalizeAnswer(s string) string {
	s = pyLower(s)
	s = strings.Map(func(r rune) rune {
		if r < 0x80 && strings.ContainsRune(asciiPunctuation, r) {
			return -1
		}
		return r
	}, s)
	return strings.Join(removeArticles(strings.FieldsFunc(s, pyIsSpace)), " ")
}

// asciiPunctuation is Python's string.punctuation.
const asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// removeArticles drops the words re.sub(r"\b(a|an|the)\b", " ", text)
// removes: a maximal run of word characters (Unicode letters, digits and
// "_", Python's \w) that is exactly a, an or the. It works on the
// whitespace-split fields; a field may hold several runs ("the-end" has
// lost its "-" by now, but "l'the" and "€the" have not).
func removeArticles(fields []string) []string {
	var out []string
	for _, f := range fields {
		var kept strings.Builder
		runes := []rune(f)
		for i := 0; i < len(runes); {
			j := i
			for j < len(runes) && isPyWord(runes[j]) {
				j++
			}
			if j > i {
				w := string(runes[i:j])
				if w == "a" || w == "an" || w == "the" {
					kept.WriteByte(' ')
				} else {
					kept.WriteString(w)
				}
				i = j
				continue
			}
			kept.WriteRune(runes[i])
			i++
		}
		out = append(out, strings.FieldsFunc(kept.String(), pyIsSpace)...)
	}
	return out
}

func isPyWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// answerTokens is SQuAD's get_tokens: no tokens for "", else the
// normalized answer's words.
func answerTokens(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(NormalizeAnswer(s))
}

// exactMatch is compute_exact for one gold answer.
func exactMatch(gold, pred string) float64 {
	if NormalizeAnswer(gold) == NormalizeAnswer(pred) {
		return 1
	}
	return 0
}

// tokenF1 is compute_f1 for one gold answer: the harmonic mean of token
// precision and recall over the multiset of shared tokens; 1 if both are
// empty, 0 if only one is.
func tokenF1(gold, pred string) float64 {
	g, p := answerTokens(gold), answerTokens(pred)
	if len(g) == 0 || len(p) == 0 {
		if len(g) == len(p) {
			return 1
		}
		return 0
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
	precision := float64(same) / float64(len(p))
	recall := float64(same) / float64(len(g))
	return 2 * precision * recall / (precision + recall)
}

// RecordEM is ReCoRD's em for one prediction: the largest SQuAD exact
// match against any of the gold answers (0 when there are none; the
// loader refuses documents without answers).
func RecordEM(prediction string, golds []string) float64 {
	best := 0.0
	for _, g := range golds {
		best = max(best, exactMatch(prediction, g))
	}
	return best
}

// RecordF1 is ReCoRD's f1 for one prediction: the largest SQuAD token F1
// against any of the gold answers.
func RecordF1(prediction string, golds []string) float64 {
	best := 0.0
	for _, g := range golds {
		best = max(best, tokenF1(prediction, g))
	}
	return best
}
