package local_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bolt "go.etcd.io/bbolt"

	"amtsassist/assist"
	"amtsassist/rag"
	"amtsassist/rag/indextest"
	"amtsassist/rag/local"
)

var discard = slog.New(slog.DiscardHandler)

// openDir opens the index in dir, closed when the test ends.
func openDir(t *testing.T, dir string) *local.Index {
	t.Helper()
	ix, err := local.Open(dir, local.Config{}, discard)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func wantKind(t *testing.T, what string, err error, want assist.Kind) {
	t.Helper()
	if got := assist.KindOf(err); got != want {
		t.Fatalf("%s: got %v (kind %v), want kind %v", what, err, got, want)
	}
	var ae *assist.Error
	if !errors.As(err, &ae) {
		t.Fatalf("%s: %v is not an *assist.Error", what, err)
	}
}

func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T) rag.Index { return openDir(t, t.TempDir()) })
}

// snapshot captures everything an index answers, to compare it across a
// reopen.
type snapshot struct {
	Docs   []rag.DocInfo
	Chunks []assist.Chunk
	Stats  rag.Stats
	Hits   [][]rag.Hit
}

func takeSnapshot(t *testing.T, ix rag.Index, docs []rag.DocumentData) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	var err error
	if s.Docs, err = ix.Documents(ctx, rag.Filter{}); err != nil {
		t.Fatalf("Documents: %v", err)
	}
	for _, d := range docs {
		for _, c := range d.Chunks {
			got, err := ix.Chunk(ctx, c.ID)
			if err != nil {
				t.Fatalf("Chunk(%s): %v", c.ID, err)
			}
			s.Chunks = append(s.Chunks, got)
		}
	}
	if s.Stats, err = ix.Stats(ctx); err != nil {
		t.Fatalf("Stats: %v", err)
	}
	vec := docs[0].Chunks[1].Vector
	for _, q := range []rag.Query{
		{Text: "Wohngeld Verwaltungsakt", Mode: rag.ModeLexical},
		{Text: "§ 19 WoGG", DistinctDocs: true},
		{Vector: vec, Mode: rag.ModeDense},
		{Text: "Widerspruch", Vector: vec, Mode: rag.ModeHybrid, Filter: rag.Filter{Corpus: []assist.Corpus{assist.CorpusCases, assist.CorpusRegulations}}},
	} {
		hits, err := ix.Search(ctx, q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		s.Hits = append(s.Hits, hits)
	}
	return s
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	ix, err := local.Open(dir, local.Config{}, discard)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := context.Background()
	if err := ix.BindEmbedding(ctx, indextest.EmbeddingModel); err != nil {
		t.Fatalf("BindEmbedding: %v", err)
	}
	docs := indextest.Fixture(true)
	if err := ix.PutDocuments(ctx, docs); err != nil {
		t.Fatalf("PutDocuments: %v", err)
	}
	// A replacement and a delete must survive too, not only first writes.
	repl := docs[1]
	repl.Info.Hash = "h-vwvfg-2"
	repl.Chunks = repl.Chunks[:1]
	if err := ix.PutDocuments(ctx, []rag.DocumentData{repl}); err != nil {
		t.Fatalf("PutDocuments(replacement): %v", err)
	}
	if _, err := ix.DeleteDocuments(ctx, rag.Filter{DocID: []string{"ticket:2"}}); err != nil {
		t.Fatalf("DeleteDocuments: %v", err)
	}
	kept := []rag.DocumentData{docs[0], repl, docs[2], docs[3]}
	before := takeSnapshot(t, ix, kept)
	if err := ix.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	re := openDir(t, dir)
	after := takeSnapshot(t, re, kept)
	if diff := cmp.Diff(before, after, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("index after reopen differs (-before +after):\n%s", diff)
	}
	if _, err := re.Chunk(ctx, "VwVfG#§35"); assist.KindOf(err) != assist.NotFound {
		t.Errorf("Chunk(VwVfG#§35) of the replaced version after reopen: %v, want NotFound", err)
	}
	if _, err := re.Document(ctx, "ticket:2"); assist.KindOf(err) != assist.NotFound {
		t.Errorf("Document(ticket:2) deleted before reopen: %v, want NotFound", err)
	}
}

func TestEmbeddingModelIsBoundAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ix, err := local.Open(dir, local.Config{}, discard)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := context.Background()
	if err := ix.BindEmbedding(ctx, assist.ModelInfo{Name: "nomic-embed-text", Dimension: 768}); err != nil {
		t.Fatalf("BindEmbedding: %v", err)
	}
	ix.Close()

	re := openDir(t, dir)
	tests := []struct {
		name string
		m    assist.ModelInfo
		want assist.Kind // Other: accepted
	}{
		{"the same model is accepted", assist.ModelInfo{Name: "nomic-embed-text", Dimension: 768}, assist.Other},
		{"the same model without a known dimension is accepted", assist.ModelInfo{Name: "nomic-embed-text"}, assist.Other},
		{"another model is a Conflict", assist.ModelInfo{Name: "bge-m3", Dimension: 1024}, assist.Conflict},
		{"another dimension is a Conflict", assist.ModelInfo{Name: "nomic-embed-text", Dimension: 512}, assist.Conflict},
		{"a model without name is Invalid", assist.ModelInfo{Dimension: 768}, assist.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := re.BindEmbedding(ctx, tc.m)
			if tc.want == assist.Other {
				if err != nil {
					t.Fatalf("BindEmbedding(%+v): %v", tc.m, err)
				}
				return
			}
			wantKind(t, "BindEmbedding", err, tc.want)
			if tc.want == assist.Conflict {
				msg := assist.Message(err)
				if !strings.Contains(msg, "nomic-embed-text (dimension 768)") || !strings.Contains(msg, tc.m.Name) {
					t.Errorf("message %q does not name both models", msg)
				}
			}
		})
	}
	// Vectors of another dimension than the bound model are refused.
	d := rag.DocumentData{
		Info:   rag.DocInfo{ID: "a", Corpus: assist.CorpusCases},
		Chunks: []assist.Chunk{{ID: "a#0", DocID: "a", Corpus: assist.CorpusCases, Text: "x", Vector: []float32{1, 2, 3}}},
	}
	wantKind(t, "PutDocuments(vector of 3 into a 768 index)", re.PutDocuments(ctx, []rag.DocumentData{d}), assist.Invalid)
}

func TestFirstVectorsFixTheDimension(t *testing.T) {
	ix := openDir(t, t.TempDir())
	ctx := context.Background()
	d := indextest.Fixture(true)
	if err := ix.PutDocuments(ctx, d[:1]); err != nil {
		t.Fatalf("PutDocuments without a bound model: %v", err)
	}
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Embedding == nil || st.Embedding.Dimension != indextest.Dimension {
		t.Fatalf("Stats.Embedding = %+v, want dimension %d", st.Embedding, indextest.Dimension)
	}
	// Naming the model later is not a conflict; another dimension is.
	if err := ix.BindEmbedding(ctx, indextest.EmbeddingModel); err != nil {
		t.Fatalf("BindEmbedding after unnamed vectors: %v", err)
	}
	err = ix.BindEmbedding(ctx, assist.ModelInfo{Name: indextest.EmbeddingModel.Name, Dimension: 3})
	wantKind(t, "BindEmbedding(dimension 3)", err, assist.Conflict)
}

func TestSecondOpenIsUnavailable(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir)
	start := time.Now()
	_, err := local.Open(dir, local.Config{LockTimeout: 200 * time.Millisecond}, discard)
	wantKind(t, "second Open", err, assist.Unavailable)
	if msg := assist.Message(err); !strings.Contains(msg, "in use by another process") || !strings.Contains(msg, dir) {
		t.Errorf("message %q does not say the index at %s is in use", msg, dir)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("second Open took %v, want it to give up quickly", d)
	}
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string) string // returns the directory to open
		want    assist.Kind
	}{
		{"a file that is not an index is Unavailable", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, local.FileName), []byte(strings.Repeat("kein bbolt ", 1000)), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}, assist.Unavailable},
		{"an index of a newer schema is a Conflict", func(t *testing.T, dir string) string {
			db, err := bolt.Open(filepath.Join(dir, local.FileName), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte("meta"))
				if err != nil {
					return err
				}
				return b.Put([]byte("schema"), []byte("99"))
			})
			if err != nil {
				t.Fatal(err)
			}
			return dir
		}, assist.Conflict},
		{"a directory path that is a file is Unavailable", func(t *testing.T, dir string) string {
			file := filepath.Join(dir, "plain")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return file
		}, assist.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.prepare(t, t.TempDir())
			ix, err := local.Open(dir, local.Config{}, discard)
			if err == nil {
				ix.Close()
			}
			wantKind(t, "Open", err, tc.want)
		})
	}
}

func TestInvalidWrites(t *testing.T) {
	ix := openDir(t, t.TempDir())
	ctx := context.Background()
	if err := ix.PutDocuments(ctx, indextest.Fixture(false)); err != nil {
		t.Fatal(err)
	}
	chunk := func(id, doc string, vec []float32) rag.DocumentData {
		return rag.DocumentData{
			Info:   rag.DocInfo{ID: doc, Corpus: assist.CorpusCases},
			Chunks: []assist.Chunk{{ID: id, DocID: doc, Corpus: assist.CorpusCases, Text: "text", Vector: vec}},
		}
	}
	nan := []float32{1, float32(math.NaN()), 0}
	tests := []struct {
		name string
		docs []rag.DocumentData
		want string // part of the message
	}{
		{"a chunk id of another stored document", []rag.DocumentData{chunk("WoGG#§1", "thief", nil)}, `already belongs to document "WoGG"`},
		{"a vector with NaN", []rag.DocumentData{chunk("n#0", "n", nan)}, "NaN"},
		{"a vector of zeros", []rag.DocumentData{chunk("z#0", "z", make([]float32, 4))}, "all zeros"},
		{"vectors of two dimensions in one batch", []rag.DocumentData{chunk("a#0", "a", []float32{1, 2}), chunk("b#0", "b", []float32{1, 2, 3})}, "dimension 3"},
		{"a chunk of another corpus than its document", func() []rag.DocumentData {
			d := chunk("c#0", "c", nil)
			d.Chunks[0].Corpus = assist.CorpusTickets
			return []rag.DocumentData{d}
		}(), "corpus"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is Invalid", func(t *testing.T) {
			err := ix.PutDocuments(ctx, tc.docs)
			wantKind(t, "PutDocuments", err, assist.Invalid)
			if msg := assist.Message(err); !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
	t.Run("an id longer than MaxIDBytes is TooLarge", func(t *testing.T) {
		long := strings.Repeat("x", local.MaxIDBytes+1)
		wantKind(t, "PutDocuments(long chunk id)", ix.PutDocuments(ctx, []rag.DocumentData{chunk(long, "d", nil)}), assist.TooLarge)
		wantKind(t, "PutDocuments(long document id)", ix.PutDocuments(ctx, []rag.DocumentData{chunk("c", long, nil)}), assist.TooLarge)
	})
	t.Run("moving a chunk id between documents of one batch is allowed", func(t *testing.T) {
		a := chunk("shared", "owner-a", nil)
		if err := ix.PutDocuments(ctx, []rag.DocumentData{a}); err != nil {
			t.Fatal(err)
		}
		emptyA := rag.DocumentData{Info: rag.DocInfo{ID: "owner-a", Corpus: assist.CorpusCases}}
		b := chunk("shared", "owner-b", nil)
		if err := ix.PutDocuments(ctx, []rag.DocumentData{emptyA, b}); err != nil {
			t.Fatalf("PutDocuments(move): %v", err)
		}
		c, err := ix.Chunk(ctx, "shared")
		if err != nil || c.DocID != "owner-b" {
			t.Errorf("Chunk(shared) = %+v, %v; want it in owner-b", c, err)
		}
	})
}

func TestCanceledContext(t *testing.T) {
	ix := openDir(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ix.Search(ctx, rag.Query{Text: "Wohngeld"})
	wantKind(t, "Search with canceled context", err, assist.Canceled)
	err = ix.PutDocuments(ctx, indextest.Fixture(false))
	wantKind(t, "PutDocuments with canceled context", err, assist.Canceled)
}

func TestExactCitationsComeFirst(t *testing.T) {
	ix := openDir(t, t.TempDir())
	ctx := context.Background()
	docs := indextest.Fixture(true)
	// A long memo citing "§ 19 WoGG" again and again must not outrank § 19.
	memo := rag.DocumentData{
		Info: rag.DocInfo{ID: "memo", Corpus: assist.CorpusCases},
		Chunks: []assist.Chunk{{ID: "memo#0", DocID: "memo", Corpus: assist.CorpusCases,
			Text: strings.Repeat("Nach § 19 WoGG ist das Wohngeld zu berechnen; § 19 WoGG gilt. ", 5), Vector: docs[0].Chunks[0].Vector}},
	}
	if err := ix.PutDocuments(ctx, append(docs, memo)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    rag.Query
		want []string // first hits
	}{
		{"lexical search puts the cited section first", rag.Query{Text: "§ 19 WoGG", Mode: rag.ModeLexical, K: 2}, []string{"WoGG#§19", "memo#0"}},
		{"hybrid search puts it first too", rag.Query{Text: "§ 19 WoGG", Vector: memo.Chunks[0].Vector, Mode: rag.ModeHybrid, K: 1}, []string{"WoGG#§19"}},
		{"a filter still excludes the cited section", rag.Query{Text: "§ 19 WoGG", Mode: rag.ModeLexical, K: 1, Filter: rag.Filter{Corpus: []assist.Corpus{assist.CorpusCases}}}, []string{"memo#0"}},
		{"distinct documents show the section once", rag.Query{Text: "§ 19 WoGG § 1 WoGG", Mode: rag.ModeLexical, K: 2, DistinctDocs: true}, []string{"WoGG#§19", "memo#0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := ix.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.Chunk.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Search(%+v) mismatch (-want +got):\n%s", tc.q.Text, diff)
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Errorf("scores not descending: %v", hits)
				}
			}
		})
	}
}
