package retrieval_test

import (
	"context"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	"amtsassist/ingest/beir"
	"amtsassist/rag/lexical"
)

// BenchmarkLexicalSearch measures one query of each development set against
// our index (passages grouped by document), without the harness around it.
func BenchmarkLexicalSearch(b *testing.B) {
	log.SetOutput(io.Discard) // the text splitter logs oversize passages
	defer log.SetOutput(os.Stderr)
	for _, name := range []string{"legalquad", "gerlayqa-bgb"} {
		b.Run(name, func(b *testing.B) {
			dir := filepath.Join(dataDir, name)
			f, err := os.Open(filepath.Join(dir, "corpus.jsonl"))
			if err != nil {
				b.Skipf("benchmark data absent (%v)", err)
			}
			docs, err := beir.Load(context.Background(), "corpus.jsonl", f, beir.Options{MaxRunes: 2000, Overlap: 280})
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			qf, err := os.Open(filepath.Join(dir, "queries.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			qs, err := beir.ReadQueries(context.Background(), "queries.jsonl", qf)
			qf.Close()
			if err != nil {
				b.Fatal(err)
			}
			ix := lexical.NewIndex(lexical.German())
			var docOf []uint32
			for di, d := range docs {
				for _, c := range d.Chunks {
					ix.Add(uint32(len(docOf)), c.Text)
					docOf = append(docOf, uint32(di))
				}
			}
			opts := lexical.SearchOptions{K: 10, Group: func(p uint32) uint32 { return docOf[p] }}
			ix.Search(qs[0].Text, opts) // builds the compound vocabulary
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				ix.Search(qs[i%len(qs)].Text, opts)
			}
		})
	}
}
