package local_test

import (
	"context"
	"testing"

	"amtsassist/assist"
	"amtsassist/rag"
	"amtsassist/rag/indextest"
	"amtsassist/rag/local"
)

// FuzzSearch feeds arbitrary query text (outside input: the HTTP API and
// the CLI pass it through) to Search: it must answer or return Invalid,
// never panic, and keep hits ordered.
func FuzzSearch(f *testing.F) {
	for _, seed := range []string{"§ 19 WoGG", "Art. 3 GG Artikel 20 GG", "Az. 123-45/2024", "§§ 1 bis 3", "", " ", "\x00\xff", "§ 1 Abs. 2 Satz 3 Nr. 4 SGB X"} {
		f.Add(seed, 10, false)
	}
	ix, err := local.Open(f.TempDir(), local.Config{}, discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ix.Close() })
	if err := ix.PutDocuments(context.Background(), indextest.Fixture(true)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, k int, distinct bool) {
		for _, mode := range []rag.Mode{rag.ModeLexical, rag.ModeHybrid} {
			q := rag.Query{Text: text, Mode: mode, K: k % 100, DistinctDocs: distinct}
			if mode == rag.ModeHybrid {
				q.Vector = indextest.Fixture(true)[0].Chunks[0].Vector
			}
			hits, err := ix.Search(context.Background(), q)
			if err != nil {
				if assist.KindOf(err) != assist.Invalid {
					t.Fatalf("Search(%q, k=%d): %v, want hits or Invalid", text, q.K, err)
				}
				continue
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Fatalf("Search(%q): scores not descending", text)
				}
			}
		}
	})
}
