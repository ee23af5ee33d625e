package demo

// The demo's own evaluation tasks, written for it (no download): a few
// multiple-choice questions and cloze sentences, scored exactly like the
// harness' tasks. The demo model has random weights, so its scores are
// chance; the step shows the pipeline, not quality.

// Choice is a multiple-choice item: context, choices (the continuation is
// " " + choice) and the gold index.
type Choice struct {
	Context string
	Choices []string
	Gold    int
}

// ChoiceItems are the demo_choice task.
var ChoiceItems = []Choice{
	{"Question: What color is the sky on a clear day?\nAnswer:", []string{"blue", "green", "purple"}, 0},
	{"Question: How many legs does a spider have?\nAnswer:", []string{"six", "eight", "ten", "four"}, 1},
	{"Question: Which is a fruit?\nAnswer:", []string{"carrot", "potato", "apple"}, 2},
	{"Question: What do bees make?\nAnswer:", []string{"honey", "milk"}, 0},
	{"Question: Water freezes at what temperature in Celsius?\nAnswer:", []string{"100 degrees", "0 degrees", "50 degrees"}, 1},
	{"Question: Which animal says moo?\nAnswer:", []string{"cat", "dog", "cow"}, 2},
	{"Question: What is the opposite of hot?\nAnswer:", []string{"cold", "warm", "loud"}, 0},
	{"Question: Which planet do we live on?\nAnswer:", []string{"Mars", "Earth", "Venus"}, 1},
	{"The sun rises in the", []string{"east", "west"}, 0},
	{"To cut paper you use", []string{"a spoon", "scissors", "a pillow"}, 1},
	{"A baby cat is called a", []string{"puppy", "calf", "kitten"}, 2},
	{"Ice is frozen", []string{"water", "sand", "air"}, 0},
}

// ClozeItems are the demo_cloze task: the last word of each text is the
// target (as LAMBADA).
var ClozeItems = []string{
	"She opened the door and stepped out into the cold morning air",
	"He poured the coffee into his favourite blue cup",
	"The children played in the park until the sun went down",
	"After a long day at work she finally went to bed",
	"The cat sat on the warm windowsill and watched the birds",
	"They packed their bags and drove to the beach",
	"The old man told the same story every single night",
	"We planted tomatoes and beans in the garden",
}
