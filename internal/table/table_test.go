package table

import (
	"bytes"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, ASCII, []string{"task", "acc"}, [][]string{{"piqa", "0.6"}, {"lambada_openai", "0.45"}}, 1); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"task", "acc", "piqa", "lambada_openai", "0.45", "+"} {
		if !strings.Contains(out, want) {
			t.Errorf("ASCII table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "TASK") {
		t.Errorf("header was upper-cased:\n%s", out)
	}
	b.Reset()
	if err := Write(&b, Markdown, []string{"task", "acc"}, [][]string{{"piqa", "0.6"}}, 1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| piqa") || !strings.Contains(b.String(), "---") {
		t.Errorf("Markdown table:\n%s", b.String())
	}
}
