// Package indextest is the conformance suite of rag.Index: every backend
// runs the same tests, so that the embedded index the tests use and the
// server-backed ones behave alike (see docs/conventions.md, item 7).
//
// Besides the contract written on rag.Index the suite expects what the
// product relies on: lexical search finds exact legal tokens ("§ 19",
// "WoGG", an Aktenzeichen "Az. 123-45/2024") and the citation heading of a
// chunk, Documents and DeleteDocuments match Status and Meta against the
// manifest entry's Meta, and an index that implements rag.EmbeddingBinder
// stores vectors and searches them densely and hybrid.
package indextest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"amtsassist/assist"
	"amtsassist/rag"
)

// Run runs the suite. open must return a new, empty index for each call
// and arrange its cleanup (t.Cleanup); the suite closes indexes itself only
// where it tests Close.
func Run(t *testing.T, open func(t *testing.T) rag.Index) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) rag.Index)
	}{
		{"stored documents and chunks read back as stored", testReadBack},
		{"unknown documents and chunks are NotFound", testNotFound},
		{"putting a document again replaces all its chunks", testReplace},
		{"a batch with one invalid entry stores nothing", testBatchAtomic},
		{"deleting by filter removes matching documents and their chunks", testDelete},
		{"deleting with an empty filter is Invalid", testDeleteEmptyFilter},
		{"documents are listed by id and filtered", testDocumentsFilter},
		{"every filter field restricts search", testSearchFilters},
		{"distinct documents return one hit per document", testDistinctDocs},
		{"lexical search finds exact legal tokens", testExactTokens},
		{"K limits the number of hits", testK},
		{"queries the index cannot honour are Invalid", testInvalidQueries},
		{"a search without match returns an empty slice", testNoMatch},
		{"stats count documents, chunks and corpora", testStats},
		{"dense and hybrid search use the vectors", testDense},
		{"vectors of the wrong dimension are Invalid", testWrongDimension},
		{"a different embedding model is a Conflict", testEmbeddingConflict},
		{"searches run concurrently with writes", testConcurrent},
		{"a closed index is Unavailable", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// ctx returns a context that ends with the test.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// withFixture opens an index and stores the fixture in it.
func withFixture(t *testing.T, open func(t *testing.T) rag.Index, vectors bool) (rag.Index, []rag.DocumentData) {
	t.Helper()
	ix := open(t)
	if vectors {
		bindOrSkip(t, ix)
	}
	docs := Fixture(vectors)
	if err := ix.PutDocuments(ctx(t), docs); err != nil {
		t.Fatalf("PutDocuments(fixture): %v", err)
	}
	return ix, docs
}

// bindOrSkip binds the fixture's model, skipping the test for an index that
// cannot store vectors.
func bindOrSkip(t *testing.T, ix rag.Index) {
	t.Helper()
	b, ok := ix.(rag.EmbeddingBinder)
	if !ok {
		t.Skip("index does not implement rag.EmbeddingBinder: it cannot store vectors")
	}
	if err := b.BindEmbedding(ctx(t), EmbeddingModel); err != nil {
		t.Fatalf("BindEmbedding(%v): %v", EmbeddingModel, err)
	}
}

// wantKind fails unless err has kind want.
func wantKind(t *testing.T, what string, err error, want assist.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want kind %v", what, want)
	}
	var ae *assist.Error
	if !errors.As(err, &ae) {
		t.Fatalf("%s: error %v (%T) is not an *assist.Error", what, err, err)
	}
	if got := assist.KindOf(err); got != want {
		t.Fatalf("%s: got kind %v (%v), want %v", what, got, err, want)
	}
	if assist.Message(err) == want.String() {
		t.Errorf("%s: error %v has no message naming the problem", what, err)
	}
}

func search(t *testing.T, ix rag.Index, q rag.Query) []rag.Hit {
	t.Helper()
	hits, err := ix.Search(ctx(t), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Fatalf("Search(%q): hits not ordered by descending score: %v", q.Text, hitIDs(hits))
		}
	}
	return hits
}

func hitIDs(hits []rag.Hit) []string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Chunk.ID
	}
	return ids
}

func sorted(xs []string) []string {
	xs = slices.Clone(xs)
	sort.Strings(xs)
	return xs
}

// chunkOpts compares chunks as stored: vectors are compared separately
// because backends may return them normalised or not at all in hits.
var chunkOpts = []cmp.Option{cmpopts.IgnoreFields(assist.Chunk{}, "Vector"), cmpopts.EquateEmpty()}

func testReadBack(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, docs := withFixture(t, open, false)
	for _, d := range docs {
		got, err := ix.Document(ctx(t), d.Info.ID)
		if err != nil {
			t.Fatalf("Document(%q): %v", d.Info.ID, err)
		}
		if diff := cmp.Diff(d.Info, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Document(%q) mismatch (-want +got):\n%s", d.Info.ID, diff)
		}
		for _, c := range d.Chunks {
			got, err := ix.Chunk(ctx(t), c.ID)
			if err != nil {
				t.Fatalf("Chunk(%q): %v", c.ID, err)
			}
			if diff := cmp.Diff(c, got, chunkOpts...); diff != "" {
				t.Errorf("Chunk(%q) mismatch (-want +got):\n%s", c.ID, diff)
			}
		}
	}
	// Hits carry the whole stored chunk too.
	hits := search(t, ix, rag.Query{Text: "Rechtsbehelfsbelehrung Widerspruch", Mode: rag.ModeLexical, K: 1})
	if len(hits) != 1 {
		t.Fatalf("Search(Rechtsbehelfsbelehrung): got %d hits, want 1", len(hits))
	}
	want := docs[2].Chunks[1]
	if diff := cmp.Diff(want, hits[0].Chunk, chunkOpts...); diff != "" {
		t.Errorf("hit chunk mismatch (-want +got):\n%s", diff)
	}
}

func testNotFound(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, false)
	_, err := ix.Document(ctx(t), "no-such-document")
	wantKind(t, "Document(no-such-document)", err, assist.NotFound)
	_, err = ix.Chunk(ctx(t), "WoGG#§999")
	wantKind(t, "Chunk(WoGG#§999)", err, assist.NotFound)
	// An id that is a document, not a chunk, is not a chunk.
	_, err = ix.Chunk(ctx(t), "WoGG")
	wantKind(t, "Chunk(WoGG)", err, assist.NotFound)
}

// doc builds a one-corpus document with the given chunk texts.
func doc(id string, corpus assist.Corpus, texts ...string) rag.DocumentData {
	d := rag.DocumentData{Info: rag.DocInfo{ID: id, Corpus: corpus, Hash: "h-" + id, Chunks: len(texts)}}
	for i, text := range texts {
		d.Chunks = append(d.Chunks, assist.Chunk{
			ID: fmt.Sprintf("%s#%d", id, i), DocID: id, Corpus: corpus, Ordinal: i, Text: text,
		})
	}
	return d
}

func testReplace(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, false)
	old := doc("memo", assist.CorpusCases, "Erster Entwurf Zauberwort alpha", "Zweiter Absatz Zauberwort beta", "Dritter Absatz gamma")
	if err := ix.PutDocuments(ctx(t), []rag.DocumentData{old}); err != nil {
		t.Fatalf("PutDocuments(memo v1): %v", err)
	}
	repl := rag.DocumentData{
		Info:   rag.DocInfo{ID: "memo", Corpus: assist.CorpusCases, Hash: "h-memo-2", Chunks: 1},
		Chunks: []assist.Chunk{{ID: "memo#neu", DocID: "memo", Corpus: assist.CorpusCases, Text: "Neue Fassung delta"}},
	}
	if err := ix.PutDocuments(ctx(t), []rag.DocumentData{repl}); err != nil {
		t.Fatalf("PutDocuments(memo v2): %v", err)
	}
	for _, c := range old.Chunks {
		_, err := ix.Chunk(ctx(t), c.ID)
		wantKind(t, "Chunk("+c.ID+") after replacement", err, assist.NotFound)
	}
	if _, err := ix.Chunk(ctx(t), "memo#neu"); err != nil {
		t.Fatalf("Chunk(memo#neu): %v", err)
	}
	info, err := ix.Document(ctx(t), "memo")
	if err != nil {
		t.Fatalf("Document(memo): %v", err)
	}
	if info.Hash != "h-memo-2" || info.Chunks != 1 {
		t.Errorf("Document(memo) = hash %q, %d chunks; want h-memo-2, 1 chunk", info.Hash, info.Chunks)
	}
	if hits := search(t, ix, rag.Query{Text: "Zauberwort", Mode: rag.ModeLexical}); len(hits) != 0 {
		t.Errorf("Search(Zauberwort) after replacement = %v, want no hits", hitIDs(hits))
	}
	if hits := search(t, ix, rag.Query{Text: "delta Fassung", Mode: rag.ModeLexical}); len(hits) == 0 || hits[0].Chunk.ID != "memo#neu" {
		t.Errorf("Search(delta Fassung) = %v, want memo#neu first", hitIDs(hits))
	}
	st, err := ix.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if want := len(fixtureChunks(Fixture(false))) + 1; st.Chunks != want {
		t.Errorf("Stats.Chunks = %d after replacement, want %d", st.Chunks, want)
	}
}

func testBatchAtomic(t *testing.T, open func(t *testing.T) rag.Index) {
	valid := doc("good", assist.CorpusCases, "Gültiger Inhalt omega")
	tests := []struct {
		name string
		bad  func() rag.DocumentData
	}{
		{"a chunk names another document", func() rag.DocumentData {
			d := doc("bad", assist.CorpusCases, "Text")
			d.Chunks[0].DocID = "other"
			return d
		}},
		{"a chunk has no id", func() rag.DocumentData {
			d := doc("bad", assist.CorpusCases, "Text")
			d.Chunks[0].ID = ""
			return d
		}},
		{"the document has no id", func() rag.DocumentData {
			d := doc("", assist.CorpusCases, "Text")
			return d
		}},
		{"the corpus is unknown", func() rag.DocumentData {
			d := doc("bad", "blogs", "Text")
			return d
		}},
		{"a chunk id repeats in the document", func() rag.DocumentData {
			d := doc("bad", assist.CorpusCases, "eins", "zwei")
			d.Chunks[1].ID = d.Chunks[0].ID
			return d
		}},
		{"the document repeats in the batch", func() rag.DocumentData {
			return doc("good", assist.CorpusCases, "noch einmal")
		}},
	}
	for _, tc := range tests {
		t.Run("when "+tc.name, func(t *testing.T) {
			ix := open(t)
			v1 := doc("existing", assist.CorpusCases, "Alte Fassung sigma")
			if err := ix.PutDocuments(ctx(t), []rag.DocumentData{v1}); err != nil {
				t.Fatalf("PutDocuments(existing): %v", err)
			}
			v2 := doc("existing", assist.CorpusCases, "Neue Fassung tau", "mehr")
			err := ix.PutDocuments(ctx(t), []rag.DocumentData{valid, v2, tc.bad()})
			wantKind(t, "PutDocuments(batch with "+tc.name+")", err, assist.Invalid)
			if _, err := ix.Document(ctx(t), "good"); assist.KindOf(err) != assist.NotFound {
				t.Errorf("Document(good) after failed batch: err = %v, want NotFound", err)
			}
			if _, err := ix.Chunk(ctx(t), "good#0"); assist.KindOf(err) != assist.NotFound {
				t.Errorf("Chunk(good#0) after failed batch: err = %v, want NotFound", err)
			}
			info, err := ix.Document(ctx(t), "existing")
			if err != nil || info.Hash != "h-existing" || info.Chunks != 1 {
				t.Errorf("Document(existing) after failed batch = %+v, %v; want the first version", info, err)
			}
			if _, err := ix.Chunk(ctx(t), "existing#1"); assist.KindOf(err) != assist.NotFound {
				t.Errorf("Chunk(existing#1) of the failed batch: err = %v, want NotFound", err)
			}
			if hits := search(t, ix, rag.Query{Text: "omega tau", Mode: rag.ModeLexical}); len(hits) != 0 {
				t.Errorf("Search(omega tau) after failed batch = %v, want no hits", hitIDs(hits))
			}
		})
	}
}

func testDelete(t *testing.T, open func(t *testing.T) rag.Index) {
	tests := []struct {
		name   string
		filter rag.Filter
		want   []string // deleted documents
	}{
		{"by document id", rag.Filter{DocID: []string{"WoGG", "ticket:2"}}, []string{"WoGG", "ticket:2"}},
		{"by corpus", rag.Filter{Corpus: []assist.Corpus{assist.CorpusTickets}}, []string{"ticket:1", "ticket:2"}},
		{"by authority", rag.Filter{Authority: []string{"Stadt Leipzig"}}, []string{"case:bescheid"}},
		{"by source", rag.Filter{Source: []string{"laws/VwVfG.xml"}}, []string{"VwVfG"}},
		{"by status of the manifest entry", rag.Filter{Status: []string{"closed"}}, []string{"ticket:2"}},
		{"by corpus and source together", rag.Filter{Corpus: []assist.Corpus{assist.CorpusRegulations}, Source: []string{"tickets.csv", "laws/WoGG.xml"}}, []string{"WoGG"}},
		{"when nothing matches", rag.Filter{DocID: []string{"nothing"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, docs := withFixture(t, open, false)
			n, err := ix.DeleteDocuments(ctx(t), tc.filter)
			if err != nil {
				t.Fatalf("DeleteDocuments(%+v): %v", tc.filter, err)
			}
			if n != len(tc.want) {
				t.Errorf("DeleteDocuments(%+v) = %d, want %d", tc.filter, n, len(tc.want))
			}
			remaining := 0
			for _, d := range docs {
				deleted := slices.Contains(tc.want, d.Info.ID)
				_, err := ix.Document(ctx(t), d.Info.ID)
				if deleted != (assist.KindOf(err) == assist.NotFound) {
					t.Errorf("Document(%q) after delete: err = %v, deleted = %v", d.Info.ID, err, deleted)
				}
				for _, c := range d.Chunks {
					_, err := ix.Chunk(ctx(t), c.ID)
					if deleted != (assist.KindOf(err) == assist.NotFound) {
						t.Errorf("Chunk(%q) after delete: err = %v, deleted = %v", c.ID, err, deleted)
					}
					if !deleted {
						remaining++
					}
				}
			}
			hits := search(t, ix, rag.Query{Text: commonWord, Mode: rag.ModeLexical, K: 100})
			if len(hits) != remaining {
				t.Errorf("Search(%s) after delete: %d hits %v, want %d", commonWord, len(hits), hitIDs(hits), remaining)
			}
			for _, h := range hits {
				if slices.Contains(tc.want, h.Chunk.DocID) {
					t.Errorf("Search(%s) after delete returned deleted chunk %q", commonWord, h.Chunk.ID)
				}
			}
		})
	}
}

func testDeleteEmptyFilter(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, docs := withFixture(t, open, false)
	_, err := ix.DeleteDocuments(ctx(t), rag.Filter{})
	wantKind(t, "DeleteDocuments(empty filter)", err, assist.Invalid)
	list, err := ix.Documents(ctx(t), rag.Filter{})
	if err != nil {
		t.Fatalf("Documents: %v", err)
	}
	if len(list) != len(docs) {
		t.Errorf("Documents after refused delete: %d, want %d", len(list), len(docs))
	}
}

func testDocumentsFilter(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, docs := withFixture(t, open, false)
	tests := []struct {
		name   string
		filter rag.Filter
	}{
		{"without filter every document", rag.Filter{}},
		{"by corpus", rag.Filter{Corpus: []assist.Corpus{assist.CorpusRegulations, assist.CorpusCases}}},
		{"by authority", rag.Filter{Authority: []string{"IT-Service Dresden"}}},
		{"by source", rag.Filter{Source: []string{"akten/bescheid.pdf"}}},
		{"by document id", rag.Filter{DocID: []string{"VwVfG", "ticket:1", "missing"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []rag.DocInfo
			for _, d := range docs {
				c := assist.Chunk{DocID: d.Info.ID, Corpus: d.Info.Corpus, Authority: d.Info.Authority, Source: d.Info.Source, Meta: d.Info.Meta}
				if tc.filter.Match(&c) {
					want = append(want, d.Info)
				}
			}
			sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
			got, err := ix.Documents(ctx(t), tc.filter)
			if err != nil {
				t.Fatalf("Documents(%+v): %v", tc.filter, err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Documents(%+v) mismatch (-want +got):\n%s", tc.filter, diff)
			}
		})
	}
}

func testSearchFilters(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, docs := withFixture(t, open, false)
	chunks := fixtureChunks(docs)
	tests := []struct {
		name   string
		filter rag.Filter
	}{
		{"corpus keeps one corpus", rag.Filter{Corpus: []assist.Corpus{assist.CorpusCases}}},
		{"several corpora are alternatives", rag.Filter{Corpus: []assist.Corpus{assist.CorpusCases, assist.CorpusTickets}}},
		{"authority keeps that authority", rag.Filter{Authority: []string{"Stadt Leipzig"}}},
		{"source keeps that source", rag.Filter{Source: []string{"laws/WoGG.xml"}}},
		{"document id keeps those documents", rag.Filter{DocID: []string{"VwVfG", "ticket:2"}}},
		{"status matches the chunk's status", rag.Filter{Status: []string{"open"}}},
		{"meta matches exactly", rag.Filter{Meta: map[string]string{"kind": "annex"}}},
		{"meta keys combine with and", rag.Filter{Meta: map[string]string{"category": "hardware", "priority": "high"}}},
		{"fields combine with and", rag.Filter{Corpus: []assist.Corpus{assist.CorpusRegulations}, Meta: map[string]string{"kind": "paragraph"}, DocID: []string{"WoGG"}}},
		{"a value nobody has keeps nothing", rag.Filter{Authority: []string{"Landratsamt Nirgendwo"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for i := range chunks {
				if tc.filter.Match(&chunks[i]) {
					want = append(want, chunks[i].ID)
				}
			}
			hits := search(t, ix, rag.Query{Text: commonWord, Mode: rag.ModeLexical, K: 100, Filter: tc.filter})
			if diff := cmp.Diff(sorted(want), sorted(hitIDs(hits)), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Search(%s, %+v) mismatch (-want +got):\n%s", commonWord, tc.filter, diff)
			}
		})
	}
	t.Run("an unknown corpus in a filter is Invalid", func(t *testing.T) {
		_, err := ix.Search(ctx(t), rag.Query{Text: commonWord, Filter: rag.Filter{Corpus: []assist.Corpus{"blogs"}}})
		wantKind(t, "Search(corpus blogs)", err, assist.Invalid)
	})
}

func testDistinctDocs(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, docs := withFixture(t, open, false)
	tests := []struct {
		name string
		k    int
		want int
	}{
		{"with a large K every document once", 100, len(docs)},
		{"with K 2 two documents", 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits := search(t, ix, rag.Query{Text: commonWord + " Wohngeld", Mode: rag.ModeLexical, K: tc.k, DistinctDocs: true})
			seen := map[string]bool{}
			for _, h := range hits {
				if seen[h.Chunk.DocID] {
					t.Errorf("document %q returned twice: %v", h.Chunk.DocID, hitIDs(hits))
				}
				seen[h.Chunk.DocID] = true
			}
			if len(hits) != tc.want {
				t.Errorf("got %d hits %v, want %d", len(hits), hitIDs(hits), tc.want)
			}
		})
	}
	t.Run("the best chunk represents its document", func(t *testing.T) {
		hits := search(t, ix, rag.Query{Text: "ungerundete monatliche Wohngeld Haushaltsmitglieder", Mode: rag.ModeLexical, K: 1, DistinctDocs: true})
		if len(hits) != 1 || hits[0].Chunk.ID != "WoGG#§19" {
			t.Errorf("got %v, want [WoGG#§19]", hitIDs(hits))
		}
	})
}

func testExactTokens(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, false)
	tests := []struct {
		name  string
		query string
		want  string // expected first hit
	}{
		{"a section with its law", "§ 19 WoGG", "WoGG#§19"},
		{"a bare section sign and number", "§ 28", "VwVfG#§28"},
		{"a section written without space", "§35", "VwVfG#§35"},
		{"an annex", "Anlage 1 WoGG", "WoGG#Anlage1"},
		{"an Aktenzeichen", "Az. 123-45/2024", "case:bescheid#p1"},
		{"an Aktenzeichen without prefix", "123-45/2024", "case:bescheid#p1"},
		{"heading words only in the citation", "Begriff", "VwVfG#§35"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits := search(t, ix, rag.Query{Text: tc.query, Mode: rag.ModeLexical, K: 3})
			if len(hits) == 0 || hits[0].Chunk.ID != tc.want {
				t.Errorf("Search(%q) = %v, want %s first", tc.query, hitIDs(hits), tc.want)
			}
			if len(hits) > 0 && hits[0].LexicalRank != 1 {
				t.Errorf("Search(%q): first hit has LexicalRank %d, want 1", tc.query, hits[0].LexicalRank)
			}
		})
	}
	t.Run("the law abbreviation finds the law's chunks", func(t *testing.T) {
		hits := search(t, ix, rag.Query{Text: "WoGG", Mode: rag.ModeLexical, K: 10})
		if len(hits) == 0 {
			t.Fatal("Search(WoGG) found nothing")
		}
		for _, h := range hits {
			if h.Chunk.DocID != "WoGG" {
				t.Errorf("Search(WoGG) returned %q of another law", h.Chunk.ID)
			}
		}
	})
}

func testK(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, docs := withFixture(t, open, false)
	total := len(fixtureChunks(docs))
	tests := []struct {
		name string
		k    int
		want int
	}{
		{"K 1 gives one hit", 1, 1},
		{"K 3 gives three hits", 3, 3},
		{"K 0 gives the default of up to ten hits", 0, min(10, total)},
		{"a K beyond the index gives every match", 1000, total},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(search(t, ix, rag.Query{Text: commonWord, Mode: rag.ModeLexical, K: tc.k})); got != tc.want {
				t.Errorf("Search(K=%d): %d hits, want %d", tc.k, got, tc.want)
			}
		})
	}
}

func testInvalidQueries(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, false)
	tests := []struct {
		name string
		q    rag.Query
	}{
		{"an unknown mode", rag.Query{Text: "Wohngeld", Mode: "semantic"}},
		{"dense mode without a vector", rag.Query{Text: "Wohngeld", Mode: rag.ModeDense}},
		{"hybrid mode without a vector", rag.Query{Text: "Wohngeld", Mode: rag.ModeHybrid}},
		{"a negative K", rag.Query{Text: "Wohngeld", K: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is Invalid", func(t *testing.T) {
			_, err := ix.Search(ctx(t), tc.q)
			wantKind(t, fmt.Sprintf("Search(%+v)", tc.q), err, assist.Invalid)
		})
	}
}

func testNoMatch(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, false)
	hits := search(t, ix, rag.Query{Text: "Quaxelbrumm", Mode: rag.ModeLexical})
	if hits == nil || len(hits) != 0 {
		t.Errorf("Search(Quaxelbrumm) = %#v, want an empty non-nil slice", hits)
	}
	empty := open(t)
	if hits := search(t, empty, rag.Query{Text: "Wohngeld"}); hits == nil || len(hits) != 0 {
		t.Errorf("Search on an empty index = %#v, want an empty non-nil slice", hits)
	}
}

func testStats(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, docs := withFixture(t, open, false)
	st, err := ix.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := map[assist.Corpus]int{}
	for _, c := range fixtureChunks(docs) {
		want[c.Corpus]++
	}
	if st.Documents != len(docs) || st.Chunks != len(fixtureChunks(docs)) || st.Vectors != 0 {
		t.Errorf("Stats = %d documents, %d chunks, %d vectors; want %d, %d, 0", st.Documents, st.Chunks, st.Vectors, len(docs), len(fixtureChunks(docs)))
	}
	if diff := cmp.Diff(want, st.ByCorpus); diff != "" {
		t.Errorf("Stats.ByCorpus mismatch (-want +got):\n%s", diff)
	}
}

func testDense(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, docs := withFixture(t, open, true)
	chunks := fixtureChunks(docs)
	st, err := ix.Stats(ctx(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Vectors != len(chunks) {
		t.Errorf("Stats.Vectors = %d, want %d", st.Vectors, len(chunks))
	}
	if st.Embedding == nil || st.Embedding.Name != EmbeddingModel.Name || st.Embedding.Dimension != Dimension {
		t.Errorf("Stats.Embedding = %+v, want %+v", st.Embedding, EmbeddingModel)
	}
	if info, err := ix.Document(ctx(t), "WoGG"); err != nil || !info.Embedded {
		t.Errorf("Document(WoGG) = %+v, %v; want Embedded", info, err)
	}
	t.Run("each chunk is its own nearest neighbour", func(t *testing.T) {
		for _, c := range chunks {
			hits := search(t, ix, rag.Query{Vector: c.Vector, Mode: rag.ModeDense, K: 3})
			if len(hits) == 0 || hits[0].Chunk.ID != c.ID {
				t.Errorf("dense search with the vector of %s = %v, want it first", c.ID, hitIDs(hits))
				continue
			}
			if hits[0].DenseRank != 1 || hits[0].LexicalRank != 0 {
				t.Errorf("dense hit ranks = lexical %d, dense %d; want 0, 1", hits[0].LexicalRank, hits[0].DenseRank)
			}
			if hits[0].Score < 0.99 {
				t.Errorf("cosine of %s with itself = %.3f, want about 1", c.ID, hits[0].Score)
			}
		}
	})
	t.Run("the stored vector reads back", func(t *testing.T) {
		got, err := ix.Chunk(ctx(t), chunks[0].ID)
		if err != nil {
			t.Fatalf("Chunk: %v", err)
		}
		if len(got.Vector) != Dimension {
			t.Fatalf("Chunk(%s).Vector has %d dimensions, want %d", chunks[0].ID, len(got.Vector), Dimension)
		}
		if cos := cosine(got.Vector, chunks[0].Vector); cos < 0.999 {
			t.Errorf("stored vector differs in direction: cosine %.4f", cos)
		}
	})
	t.Run("dense search applies the filter", func(t *testing.T) {
		target := chunks[0] // a WoGG chunk
		f := rag.Filter{Corpus: []assist.Corpus{assist.CorpusTickets}}
		hits := search(t, ix, rag.Query{Vector: target.Vector, Mode: rag.ModeDense, K: 100, Filter: f})
		if len(hits) != 2 {
			t.Errorf("dense search in tickets = %v, want the 2 tickets", hitIDs(hits))
		}
		for _, h := range hits {
			if h.Chunk.Corpus != assist.CorpusTickets {
				t.Errorf("dense search in tickets returned %s", h.Chunk.ID)
			}
		}
	})
	t.Run("dense search with distinct documents returns each document once", func(t *testing.T) {
		hits := search(t, ix, rag.Query{Vector: chunks[1].Vector, Mode: rag.ModeDense, K: 100, DistinctDocs: true})
		if len(hits) != len(docs) {
			t.Errorf("got %d hits %v, want %d", len(hits), hitIDs(hits), len(docs))
		}
		if len(hits) > 0 && hits[0].Chunk.ID != chunks[1].ID {
			t.Errorf("first hit %s, want %s", hits[0].Chunk.ID, chunks[1].ID)
		}
	})
	t.Run("hybrid search fuses both signals", func(t *testing.T) {
		var ticket assist.Chunk
		for _, c := range chunks {
			if c.ID == "ticket:2#0" {
				ticket = c
			}
		}
		for _, mode := range []rag.Mode{rag.ModeHybrid, rag.ModeAuto} {
			hits := search(t, ix, rag.Query{Text: "Az. 123-45/2024", Vector: ticket.Vector, Mode: mode, K: 3})
			ids := hitIDs(hits)
			if len(hits) < 2 || !slices.Contains(ids[:2], "case:bescheid#p1") || !slices.Contains(ids[:2], "ticket:2#0") {
				t.Errorf("mode %q: hits %v, want case:bescheid#p1 (lexical) and ticket:2#0 (dense) on top", mode, ids)
				continue
			}
			for _, h := range hits[:2] {
				if h.LexicalRank == 0 && h.DenseRank == 0 {
					t.Errorf("mode %q: hit %s has neither rank set", mode, h.Chunk.ID)
				}
			}
		}
		// A chunk both signals rank first wins outright.
		target := chunks[1] // WoGG#§19
		hits := search(t, ix, rag.Query{Text: "ungerundete monatliche Wohngeld", Vector: target.Vector, Mode: rag.ModeHybrid, K: 3})
		if len(hits) == 0 || hits[0].Chunk.ID != target.ID || hits[0].LexicalRank != 1 || hits[0].DenseRank != 1 {
			t.Errorf("hybrid search for %s = %+v, want it first with both ranks 1", target.ID, hits)
		}
	})
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / (math.Sqrt(aa) * math.Sqrt(bb))
}

func testWrongDimension(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, true)
	t.Run("a query vector", func(t *testing.T) {
		for _, mode := range []rag.Mode{rag.ModeDense, rag.ModeHybrid, rag.ModeAuto} {
			_, err := ix.Search(ctx(t), rag.Query{Text: "Wohngeld", Vector: make([]float32, Dimension+1), Mode: mode})
			wantKind(t, fmt.Sprintf("Search(mode %q, vector of %d)", mode, Dimension+1), err, assist.Invalid)
		}
	})
	t.Run("a chunk vector stores nothing of the batch", func(t *testing.T) {
		good := doc("dim-good", assist.CorpusCases, "richtig")
		good.Chunks[0].Vector = vectorFor(1)
		bad := doc("dim-bad", assist.CorpusCases, "falsch")
		bad.Chunks[0].Vector = []float32{1, 2, 3}
		err := ix.PutDocuments(ctx(t), []rag.DocumentData{good, bad})
		wantKind(t, "PutDocuments(vector of 3)", err, assist.Invalid)
		if _, err := ix.Document(ctx(t), "dim-good"); assist.KindOf(err) != assist.NotFound {
			t.Errorf("Document(dim-good) after failed batch: %v, want NotFound", err)
		}
	})
}

func testEmbeddingConflict(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, true)
	b := ix.(rag.EmbeddingBinder)
	tests := []struct {
		name string
		m    assist.ModelInfo
		want assist.Kind // Other: no error
	}{
		{"the same model binds again", EmbeddingModel, assist.Other},
		{"another model name is a Conflict", assist.ModelInfo{Name: "other-embed", Dimension: Dimension}, assist.Conflict},
		{"another dimension is a Conflict", assist.ModelInfo{Name: EmbeddingModel.Name, Dimension: 2 * Dimension}, assist.Conflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := b.BindEmbedding(ctx(t), tc.m)
			if tc.want == assist.Other {
				if err != nil {
					t.Fatalf("BindEmbedding(%+v): %v", tc.m, err)
				}
				return
			}
			wantKind(t, fmt.Sprintf("BindEmbedding(%+v)", tc.m), err, tc.want)
			msg := assist.Message(err)
			if !strings.Contains(msg, EmbeddingModel.Name) || !strings.Contains(msg, tc.m.Name) {
				t.Errorf("conflict message %q does not name both models", msg)
			}
		})
	}
}

func testConcurrent(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, false)
	c := ctx(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			queries := []string{"Wohngeld", "§ 28 VwVfG", "Zauberwort", commonWord}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				hits, err := ix.Search(c, rag.Query{Text: queries[(i+w)%len(queries)], K: 5, DistinctDocs: i%2 == 0})
				if err != nil {
					errs <- fmt.Errorf("search during writes: %w", err)
					return
				}
				for _, h := range hits {
					if h.Chunk.ID == "" || h.Chunk.DocID == "" || h.Chunk.Text == "" {
						errs <- fmt.Errorf("search during writes returned an incomplete chunk %+v", h.Chunk)
						return
					}
				}
				if _, err := ix.Documents(c, rag.Filter{Corpus: []assist.Corpus{assist.CorpusCases}}); err != nil {
					errs <- fmt.Errorf("documents during writes: %w", err)
					return
				}
			}
		}()
	}
	for i := range 40 {
		id := fmt.Sprintf("concurrent-%d", i%7)
		d := doc(id, assist.CorpusCases, fmt.Sprintf("Zauberwort Fassung %d", i), "Wohngeld Zauberwort", "weiterer Absatz")
		if err := ix.PutDocuments(c, []rag.DocumentData{d}); err != nil {
			t.Errorf("PutDocuments(%s) during searches: %v", id, err)
			break
		}
		if i%10 == 9 {
			if _, err := ix.DeleteDocuments(c, rag.Filter{DocID: []string{id}}); err != nil {
				t.Errorf("DeleteDocuments(%s) during searches: %v", id, err)
				break
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testClosed(t *testing.T, open func(t *testing.T) rag.Index) {
	ix, _ := withFixture(t, open, false)
	if err := ix.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c := ctx(t)
	calls := []struct {
		name string
		call func() error
	}{
		{"PutDocuments", func() error { return ix.PutDocuments(c, []rag.DocumentData{doc("x", assist.CorpusCases, "x")}) }},
		{"Document", func() error { _, err := ix.Document(c, "WoGG"); return err }},
		{"Documents", func() error { _, err := ix.Documents(c, rag.Filter{}); return err }},
		{"DeleteDocuments", func() error { _, err := ix.DeleteDocuments(c, rag.Filter{DocID: []string{"WoGG"}}); return err }},
		{"Chunk", func() error { _, err := ix.Chunk(c, "WoGG#§1"); return err }},
		{"Search", func() error { _, err := ix.Search(c, rag.Query{Text: "Wohngeld"}); return err }},
		{"Stats", func() error { _, err := ix.Stats(c); return err }},
	}
	if b, ok := ix.(rag.EmbeddingBinder); ok {
		calls = append(calls, struct {
			name string
			call func() error
		}{"BindEmbedding", func() error { return b.BindEmbedding(c, EmbeddingModel) }})
	}
	for _, tc := range calls {
		t.Run(tc.name+" after Close is Unavailable", func(t *testing.T) {
			wantKind(t, tc.name, tc.call(), assist.Unavailable)
		})
	}
}
