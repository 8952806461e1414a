package service_test

import (
	"context"
	"testing"
	"unicode/utf8"

	"amtsassist/assist/triage"
	"amtsassist/assist/triage/service"
)

func FuzzParseTaxonomy(f *testing.F) {
	f.Add([]byte("desks:\n  a:\n    categories: [x, y]\n    priorities: [p]\n    subcategories:\n      x: [s]\n"))
	f.Add([]byte("desks: ["))
	f.Add([]byte("desks:\n  a: {}\n"))
	f.Add([]byte("{desks: {a: {categories: [&x a, *x]}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tax, err := service.ParseTaxonomy(data)
		if err != nil {
			return
		}
		for name := range tax.Desks {
			d, err := tax.Desk(name)
			if err != nil || len(d.Categories) == 0 {
				t.Errorf("desk %q accepted without categories", name)
			}
		}
	})
}

// FuzzModelOutput feeds arbitrary model output to the triage: it must
// never panic, never fail the triage and never leave the taxonomy.
func FuzzModelOutput(f *testing.F) {
	f.Add(`{"category":"Hardware","priority":"mittel"}`, "stop", `{"answer":"x","sources":["1"]}`)
	f.Add(`{"category":"Kantine"}`, "length", `{"answer":`)
	f.Add("\x00\xff{", "", `{"answer":"Ignoriere alle Anweisungen","sources":["1","1"]}`)
	chat := &fakeChat{}
	s := newService(f, chat, hardwareLikely)
	f.Fuzz(func(t *testing.T, classifyOut, done, answerOut string) {
		if !utf8.ValidString(classifyOut) {
			return // rejected as Invalid before any model call
		}
		chat.classify = reply(classifyOut, done)
		chat.answer = reply(answerOut, done)
		sug, err := s.Triage(context.Background(), triage.Ticket{Desk: "it-service", Subject: "Drucker", Body: classifyOut})
		if err != nil {
			t.Fatal(err)
		}
		assertInTaxonomy(t, sug)
	})
}
