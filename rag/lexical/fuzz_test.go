package lexical_test

import (
	"testing"

	"amtsassist/rag/lexical"
)

func FuzzTerms(f *testing.F) {
	for _, s := range []string{"§§ 28, 35 und 36 VwVfG", "11 Sa 2346/12", "am 01.02.2024", "2. April 2013", "Behörde\xff", "Art.3a"} {
		f.Add(s)
	}
	a := lexical.German()
	f.Fuzz(func(t *testing.T, text string) {
		for _, term := range a.Terms(text) {
			if term == "" {
				t.Fatalf("Terms(%q) contains an empty term", text)
			}
		}
	})
}

func FuzzSearch(f *testing.F) {
	f.Add("Wohngeldberechtigung nach § 19 WoGG", "Wohngeld")
	f.Add("Körperschaftsteuer", "Körperschaftssteuer")
	f.Fuzz(func(t *testing.T, doc, query string) {
		ix := lexical.NewIndex(lexical.German())
		ix.Add(1, doc)
		ix.Add(2, query)
		for _, s := range ix.Search(query, lexical.SearchOptions{K: 3, Group: func(d uint32) uint32 { return d % 2 }}) {
			if s.Doc != 1 && s.Doc != 2 {
				t.Fatalf("unknown doc %d", s.Doc)
			}
		}
		ix.Remove(1)
		ix.Search(doc, lexical.SearchOptions{})
	})
}
