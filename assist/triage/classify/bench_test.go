package classify_test

import (
	"context"
	"strings"
	"testing"

	"amtsassist/assist/triage/classify"
)

// BenchmarkPredict measures one prediction of a ticket of about 150 words.
func BenchmarkPredict(b *testing.B) {
	var ex []classify.Example
	for i, l := range []string{"Hardware", "Zugang", "Gehalt"} {
		for j := range 50 {
			ex = append(ex, classify.Example{Text: strings.Repeat("wort"+l+" text nummer ", 20+i+j), Label: l})
		}
	}
	m, err := classify.Train(context.Background(), ex, classify.Config{})
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("Der Drucker im zweiten Obergeschoss meldet seit gestern einen Papierstau. ", 15)
	b.ReportAllocs()
	for b.Loop() {
		m.Predict(text)
	}
}
