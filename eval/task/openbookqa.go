package task

func init() {
	register(&Task{
		Name:    "openbookqa",
		Version: 0,
		Kind:    MultipleChoice,
		Metrics: []string{"acc", "acc_norm"},
		// Not the canonical file: AI2's OpenBookQA-V1-Sep2018.zip
		// (Data/Main/test.jsonl) is (see nutcracker.go). These are the
		// re-formatted test split of brucewlee/nutcracker-db and AI2's own
		// id + answerKey list, at the commits ../shared/data was taken from.
		Files: []DataFile{{
			Path:   "openbookqa/test.json",
			SHA256: "f00e22432573149359a1307997d94fffc116da0edd8357cb7c623853dddd3223",
			URL:    "https://raw.githubusercontent.com/brucewlee/nutcracker-db/95fa9aa468d4d0e179e2e950cc68cd5058463503/db/openbookqa/test.json",
		}, {
			Path:   "openbookqa/question-answers.jsonl",
			SHA256: "8f12dcf4d8420340c1bf35b0d29b7a97a8af664a6e4998c1668b4486fc819478",
			URL:    "https://raw.githubusercontent.com/allenai/aristo-leaderboard/60d5be31b5a7d36f29d13223ece29a8d2bfa8b5f/openbookqa/data/question-answers.jsonl",
		}},
		Load: loadOpenBookQA,
	})
}

// openbookqaFields is an OpenBookQA question as the HF "openbookqa"
// dataset (config "main") holds it.
type openbookqaFields struct {
	ID           string    `json:"id"`
	QuestionStem string    `json:"question_stem"`
	Choices      mcChoices `json:"choices"`
	AnswerKey    string    `json:"answerKey"`
}

// loadOpenBookQA: context = the question stem alone (no "Question:"
// prefix), the four choices, gold = "ABCD".index(answerKey).
func loadOpenBookQA(dataDir string, _ Protocol) ([]Doc, error) {
	rows, err := readNutcracker(dataDir, "openbookqa")
	if err != nil {
		return nil, err
	}
	docs := make([]Doc, len(rows))
	for i, r := range rows {
		f := openbookqaFields{r.id, r.question, mcChoices{r.options, r.labels}, r.answerKey}
		docs[i] = mcDoc(i, f, r.question, r.options, r.gold)
	}
	return docs, nil
}
