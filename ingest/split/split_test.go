package split_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"amtsassist/ingest/split"
)

func TestTextKeepsShortTextWhole(t *testing.T) {
	got := split.Text("  (1) Wohngeld wird geleistet.  ", 100, 10)
	if len(got) != 1 || got[0] != "(1) Wohngeld wird geleistet." {
		t.Fatalf("got %q", got)
	}
}

func TestTextEmptyGivesNothing(t *testing.T) {
	if got := split.Text(" \n\t ", 100, 10); len(got) != 0 {
		t.Fatalf("got %q", got)
	}
}

func TestTextRespectsLimitAndCoversEveryWord(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 200; i++ {
		b.WriteString("Der Antrag ist schriftlich bei der zuständigen Behörde einzureichen. ")
		if i%7 == 6 {
			b.WriteString("\n\n")
		}
	}
	text := b.String()
	parts := split.Text(text, 300, 50)
	if len(parts) < 10 {
		t.Fatalf("only %d parts", len(parts))
	}
	for i, p := range parts {
		if n := utf8.RuneCountInString(p); n > 300 {
			t.Errorf("part %d has %d runes", i, n)
		}
	}
	joined := strings.Join(parts, " ")
	if strings.Count(joined, "Behörde") < 200 {
		t.Errorf("words lost: %d occurrences of Behörde", strings.Count(joined, "Behörde"))
	}
}
