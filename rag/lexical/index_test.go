package lexical_test

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"amtsassist/rag/lexical"
)

func docs(t *testing.T, ix *lexical.Index, texts map[uint32]string) {
	t.Helper()
	for d, s := range texts {
		ix.Add(d, s)
	}
}

func TestIndexSearch(t *testing.T) {
	ix := lexical.NewIndex(lexical.German())
	docs(t, ix, map[uint32]string{
		1: "Wohngeld wird auf Antrag gewährt (§ 22 WoGG).",
		2: "Die Behörde entscheidet über den Antrag auf Baugenehmigung.",
		3: "Die Miete ist monatlich im Voraus zu zahlen; § 573b BGB regelt die Teilkündigung.",
		4: "Die Behoerde prüft die Strasse.",
	})
	tests := []struct {
		name  string
		query string
		opts  lexical.SearchOptions
		first uint32
		n     int
	}{
		{"a word finds the document that contains it", "Baugenehmigung", lexical.SearchOptions{}, 2, 1},
		{"an exact paragraph finds its document", "§ 573b", lexical.SearchOptions{}, 3, 1},
		{"a transcribed umlaut matches the umlaut", "Behörde Straße", lexical.SearchOptions{}, 4, 2},
		{"Accept filters documents", "Behörde", lexical.SearchOptions{Accept: func(d uint32) bool { return d != 4 }}, 2, 1},
		{"an unknown word finds nothing", "Quantenchromodynamik", lexical.SearchOptions{}, 0, 0},
		{"an empty query finds nothing", "", lexical.SearchOptions{}, 0, 0},
		{"K limits the results", "die Behörde Antrag", lexical.SearchOptions{K: 1}, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ix.Search(tc.query, tc.opts)
			if len(got) != tc.n {
				t.Fatalf("Search(%q) = %v, want %d results", tc.query, got, tc.n)
			}
			if tc.n > 0 && got[0].Doc != tc.first {
				t.Errorf("Search(%q) = %v, want doc %d first", tc.query, got, tc.first)
			}
		})
	}
}

func TestIndexGroupReturnsBestPassagePerGroup(t *testing.T) {
	ix := lexical.NewIndex(lexical.German())
	// Passages 10, 11 belong to group 1; 20 to group 2.
	docs(t, ix, map[uint32]string{
		10: "Wohngeld Wohngeld Antrag",
		11: "Antrag",
		20: "Wohngeld Antrag Bescheid",
	})
	got := ix.Search("Wohngeld Antrag", lexical.SearchOptions{Group: func(d uint32) uint32 { return d / 10 }})
	if len(got) != 2 || got[0].Doc != 10 || got[1].Doc != 20 {
		t.Errorf("Search grouped = %v, want docs 10 then 20", got)
	}
}

func TestIndexAddReplacesAndRemoveDeletes(t *testing.T) {
	ix := lexical.NewIndex(lexical.German())
	ix.Add(1, "Kindergeld")
	ix.Add(1, "Elterngeld")
	if ix.Len() != 1 {
		t.Fatalf("Len = %d after replacing, want 1", ix.Len())
	}
	if got := ix.Search("Kindergeld", lexical.SearchOptions{}); len(got) != 0 {
		t.Errorf("old text still found: %v", got)
	}
	if got := ix.Search("Elterngeld", lexical.SearchOptions{}); len(got) != 1 {
		t.Errorf("new text not found: %v", got)
	}
	ix.Remove(1)
	ix.Remove(99)
	if ix.Len() != 0 || len(ix.Search("Elterngeld", lexical.SearchOptions{})) != 0 {
		t.Errorf("removed doc still present")
	}
}

func TestIndexConcurrentSearchAndAdd(t *testing.T) {
	ix := lexical.NewIndex(lexical.German())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				d := uint32(w*1000 + i)
				ix.Add(d, fmt.Sprintf("Antrag Nummer %d auf Wohngeld", i))
				ix.Search("Wohngeld Antrag", lexical.SearchOptions{K: 5})
				if i%3 == 0 {
					ix.Remove(d)
				}
			}
		}()
	}
	wg.Wait()
	if got, want := ix.Len(), 4*(200-67); got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}

func TestIndexMatchesCompoundParts(t *testing.T) {
	ix := lexical.NewIndex(lexical.German())
	docs(t, ix, map[uint32]string{
		1: "Die Wohngeldberechtigung ist nachzuweisen.",
		2: "Das Wohngeld wird monatlich gezahlt. Die Berechtigung wird geprüft.",
		3: "Die Festsetzung des Streitwertes erfolgt von Amts wegen.",
		4: "Die Streitwertfestsetzung ist unanfechtbar.",
		5: "Die Körperschaftsteuer ist eine Steuer auf das Einkommen.",
		6: "Der Kläger beantragt Prozesskostenhilfe.",
	})
	tests := []struct {
		name  string
		query string
		want  []uint32 // all of them must be found
	}{
		{"a modifier finds the compound it starts", "Wohngeld", []uint32{1, 2}},
		{"a compound finds the text that spells out its parts", "Wohngeldberechtigung", []uint32{1, 2}},
		{"a head finds the compound it ends", "Festsetzung", []uint32{3, 4}},
		{"a compound with a linking s finds one without", "Körperschaftssteuer", []uint32{5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ix.Search(tc.query, lexical.SearchOptions{})
			found := map[uint32]bool{}
			for _, s := range got {
				found[s.Doc] = true
			}
			for _, d := range tc.want {
				if !found[d] {
					t.Errorf("Search(%q) = %v, want doc %d among them", tc.query, got, d)
				}
			}
			if found[6] {
				t.Errorf("Search(%q) = %v found the unrelated doc 6", tc.query, got)
			}
		})
	}
}

func TestIndexAfterRemovalsScoresLikeAFreshIndex(t *testing.T) {
	text := func(d uint32) string {
		return fmt.Sprintf("Bescheid %d über Wohngeld nach § %d WoGG, Antrag vom %d. Mai 2024", d, d%40, d%28+1)
	}
	churned := lexical.NewIndex(lexical.German())
	for d := range uint32(1000) {
		churned.Add(d, text(d))
	}
	// Remove enough to compact, then reuse the freed slots.
	for d := range uint32(700) {
		if d%3 != 0 {
			churned.Remove(d)
		}
	}
	for d := uint32(2000); d < 2300; d++ {
		churned.Add(d, text(d))
	}
	fresh := lexical.NewIndex(lexical.German())
	for d := range uint32(2300) {
		if (d < 700 && d%3 == 0) || (d >= 700 && d < 1000) || d >= 2000 {
			fresh.Add(d, text(d))
		}
	}
	if churned.Len() != fresh.Len() {
		t.Fatalf("Len = %d, want %d", churned.Len(), fresh.Len())
	}
	for _, q := range []string{"Wohngeld § 17", "Antrag Mai", "Bescheid 2100", "Bescheid 5"} {
		t.Run("query "+q+" ranks as in a fresh index", func(t *testing.T) {
			got := churned.Search(q, lexical.SearchOptions{K: 20})
			want := fresh.Search(q, lexical.SearchOptions{K: 20})
			if len(got) != len(want) {
				t.Fatalf("got %d results, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i].Doc != want[i].Doc || math.Abs(got[i].Score-want[i].Score) > 1e-9 {
					t.Fatalf("result %d = %+v, want %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestIndexCompoundLookupsFollowChanges(t *testing.T) {
	ix := lexical.NewIndex(lexical.German())
	ix.Add(1, "Wohngeld wird gezahlt.")
	ix.Add(3, "Die Berechtigung wird geprüft.")
	if got := ix.Search("Wohngeld", lexical.SearchOptions{}); len(got) != 1 {
		t.Fatalf("before: %v, want doc 1 only", got)
	}
	ix.Add(2, "Die Wohngeldberechtigung fehlt.")
	if got := ix.Search("Wohngeld", lexical.SearchOptions{}); len(got) != 2 {
		t.Errorf("after adding a compound: %v, want docs 1 and 2", got)
	}
	ix.Remove(2)
	if got := ix.Search("Wohngeld", lexical.SearchOptions{}); len(got) != 1 || got[0].Doc != 1 {
		t.Errorf("after removing the compound: %v, want doc 1 only", got)
	}
}

func TestIndexGroupFindsGroupsBeyondTheBestPassages(t *testing.T) {
	ix := lexical.NewIndex(lexical.German())
	// Twenty strong passages of group 0, then one weak passage each of
	// groups 1 and 2: K=3 must still reach the weak ones.
	for d := range uint32(20) {
		ix.Add(d, "Wohngeld Wohngeld Wohngeld Antrag")
	}
	ix.Add(100, "Wohngeld und viele andere Worte in einem langen Absatz über Verfahren")
	ix.Add(200, "Antrag und viele andere Worte in einem langen Absatz über Verfahren")
	group := func(d uint32) uint32 { return d / 100 }
	got := ix.Search("Wohngeld Antrag", lexical.SearchOptions{K: 3, Group: group})
	if len(got) != 3 || got[0].Doc != 0 || group(got[1].Doc) == 0 || group(got[2].Doc) == 0 {
		t.Errorf("Search = %v, want doc 0 then docs 100 and 200", got)
	}
	got = ix.Search("Wohngeld Antrag", lexical.SearchOptions{K: 3, Group: group, Accept: func(d uint32) bool { return d != 200 }})
	if len(got) != 2 {
		t.Errorf("Search with Accept = %v, want two groups", got)
	}
}
