package task

func init() {
	for _, c := range []struct{ name, nutcracker, leaderboard, sum, keysSum string }{
		{"arc_easy", "arc-easy", "arc/data-easy",
			"df89c8d6873908128ea39e0eb007bb1f0cc0e1c28f3877447da17b1c57372b4f",
			"a4e5d41b44014c62a7c336123c63df1f1ac84f524643227e34878ac387542967"},
		{"arc_challenge", "arc-challenge", "arc/data-challenge",
			"eb44aa2cd4ed1954533d657a00f88f319f2f6a897dcee899fcce93282618b158",
			"1211b934203ac6e8acd46f998ab68bc920cddf8ba662b9648e53ef863e5fca65"},
	} {
		name := c.name
		register(&Task{
			Name:    name,
			Version: 0,
			Kind:    MultipleChoice,
			Metrics: []string{"acc", "acc_norm"},
			// Not the canonical files: AI2's ARC-V1-Feb2018.zip is (see
			// nutcracker.go). These are the re-formatted test split of
			// brucewlee/nutcracker-db and AI2's own id + answerKey list,
			// at the commits ../shared/data was taken from.
			Files: []DataFile{{
				Path:   name + "/test.json",
				SHA256: c.sum,
				URL:    "https://raw.githubusercontent.com/brucewlee/nutcracker-db/95fa9aa468d4d0e179e2e950cc68cd5058463503/db/" + c.nutcracker + "/test.json",
			}, {
				Path:   name + "/question-answers.jsonl",
				SHA256: c.keysSum,
				URL:    "https://raw.githubusercontent.com/allenai/aristo-leaderboard/60d5be31b5a7d36f29d13223ece29a8d2bfa8b5f/" + c.leaderboard + "/question-answers.jsonl",
			}},
			Load: func(dataDir string, _ Protocol) ([]Doc, error) { return loadARC(dataDir, name) },
		})
	}
}

// arcFields is an ARC question as the HF "ai2_arc" dataset holds it (the
// choice labels are reconstructed, see choiceLabels).
type arcFields struct {
	ID        string    `json:"id"`
	Question  string    `json:"question"`
	Choices   mcChoices `json:"choices"`
	AnswerKey string    `json:"answerKey"`
}

// loadARC: context = "Question: " + question + "\nAnswer:", the choices
// in file order (3, 4 or 5), gold = the answer key's position.
func loadARC(dataDir, name string) ([]Doc, error) {
	rows, err := readNutcracker(dataDir, name)
	if err != nil {
		return nil, err
	}
	docs := make([]Doc, len(rows))
	for i, r := range rows {
		f := arcFields{r.id, r.question, mcChoices{r.options, r.labels}, r.answerKey}
		docs[i] = mcDoc(i, f, "Question: "+r.question+"\nAnswer:", r.options, r.gold)
	}
	return docs, nil
}
