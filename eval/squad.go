package eval

import "github.com/rwkv-tools/rwkv-tools/eval/task"

// Entities returns a ReCoRD document's em and f1: the predicted entity is
// the argmax of ll (lowest index on a tie), scored by the harness' SQuAD
// em/f1, each the maximum over the gold answers (task.RecordEM/RecordF1).
func Entities(lls []float64, entities, answers []string) (em, f1 float64) {
	pred := entities[Argmax(lls)]
	return task.RecordEM(pred, answers), task.RecordF1(pred, answers)
}
