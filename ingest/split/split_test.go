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

func TestTextCutsARunWithoutSeparators(t *testing.T) {
	long := strings.Repeat("ä", 2500)
	parts := split.Text(long, 1000, 100)
	total := 0
	for _, p := range parts {
		if n := utf8.RuneCountInString(p); n > 1000 {
			t.Fatalf("part of %d runes", n)
		}
		total += utf8.RuneCountInString(p)
	}
	if total < 2500 {
		t.Fatalf("runes lost: %d", total)
	}
}

func TestTextOverlapsNeighbours(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 40; i++ {
		b.WriteString("Satz Nummer ")
		b.WriteString(strings.Repeat("x", i%5+1))
		b.WriteString(". ")
	}
	parts := split.Text(b.String(), 120, 40)
	for i := 1; i < len(parts); i++ {
		prevTail := parts[i-1][len(parts[i-1])-10:]
		if !strings.Contains(parts[i], strings.TrimSpace(prevTail)) {
			t.Errorf("part %d does not repeat the end of part %d: %q / %q", i, i-1, parts[i-1], parts[i])
		}
	}
}
