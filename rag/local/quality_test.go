package local_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"amtsassist/ingest/beir"
	"amtsassist/rag"
	"amtsassist/rag/local"
)

// sharedRetrieval holds the BEIR-layout benchmark sets of the shared data.
var sharedRetrieval = filepath.Join("..", "..", "..", "shared", "data", "retrieval")

// BenchmarkRetrievalQuality runs the development queries of each shared
// BEIR set through the product's search path (rag/local, lexical mode,
// distinct documents) and reports nDCG@10, MRR@10 and Recall@10, so that
// the figures of eval/retrieval, measured on rag/lexical directly, can be
// checked against what users get. One op is one pass over all queries.
//
//	go test -run '^$' -bench RetrievalQuality -benchtime 1x ./rag/local/
func BenchmarkRetrievalQuality(b *testing.B) {
	for _, set := range []string{"legalquad", "gerlayqa-bgb"} {
		b.Run(set, func(b *testing.B) {
			dir := filepath.Join(sharedRetrieval, set)
			if _, err := os.Stat(filepath.Join(dir, "corpus.jsonl")); err != nil {
				b.Skipf("shared retrieval set %s not found under %s", set, sharedRetrieval)
			}
			ctx := context.Background()
			docs, queries, qrels := readBEIR(b, dir)
			ix, err := local.Open(b.TempDir(), local.Config{}, discard)
			if err != nil {
				b.Fatal(err)
			}
			defer ix.Close()
			chunks := 0
			start := time.Now()
			for i := 0; i < len(docs); i += 200 {
				if err := ix.PutDocuments(ctx, docs[i:min(i+200, len(docs))]); err != nil {
					b.Fatal(err)
				}
			}
			for _, d := range docs {
				chunks += len(d.Chunks)
			}
			b.Logf("%s: %d documents, %d chunks indexed in %v", set, len(docs), chunks, time.Since(start))
			var ndcg, mrr, recall float64
			b.ResetTimer()
			for range b.N {
				ndcg, mrr, recall = 0, 0, 0
				for _, q := range queries {
					hits, err := ix.Search(ctx, rag.Query{Text: q.Text, Mode: rag.ModeLexical, K: 10, DistinctDocs: true})
					if err != nil {
						b.Fatal(err)
					}
					n, m, r := scoreAt10(hits, qrels[q.ID])
					ndcg, mrr, recall = ndcg+n, mrr+m, recall+r
				}
			}
			b.StopTimer()
			nq := float64(len(queries))
			b.ReportMetric(ndcg/nq, "nDCG@10")
			b.ReportMetric(mrr/nq, "MRR@10")
			b.ReportMetric(recall/nq, "Recall@10")
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N)/nq, "ms/query")
		})
	}
}

func readBEIR(b *testing.B, dir string) ([]rag.DocumentData, []beir.Query, beir.Qrels) {
	b.Helper()
	ctx := context.Background()
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}
	loaded, err := beir.Load(ctx, "corpus.jsonl", open("corpus.jsonl"), beir.Options{})
	if err != nil {
		b.Fatal(err)
	}
	queries, err := beir.ReadQueries(ctx, "queries.jsonl", open("queries.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	qrels, err := beir.ReadQrels("test.tsv", open(filepath.Join("qrels", "test.tsv")))
	if err != nil {
		b.Fatal(err)
	}
	var judged []beir.Query
	for _, q := range queries {
		if len(qrels[q.ID]) > 0 {
			judged = append(judged, q)
		}
	}
	docs := make([]rag.DocumentData, 0, len(loaded))
	for _, d := range loaded {
		d.Corpus = "cases"
		dd := rag.DocumentData{Info: rag.DocInfo{ID: d.ID, Corpus: d.Corpus, Title: d.Title, Source: d.Source, Format: d.Format}}
		for _, c := range d.Chunks {
			c.ID = d.ID + "#" + c.ID
			c.Corpus = d.Corpus
			dd.Chunks = append(dd.Chunks, c)
		}
		docs = append(docs, dd)
	}
	return docs, judged, qrels
}

// scoreAt10 computes nDCG (linear gains), reciprocal rank and recall of the
// hits' documents at cutoff 10, as BEIR does.
func scoreAt10(hits []rag.Hit, rel map[string]int) (ndcg, rr, recall float64) {
	var dcg float64
	found, relevant := 0, 0
	var gains []int
	for _, g := range rel {
		if g > 0 {
			relevant++
			gains = append(gains, g)
		}
	}
	for i, h := range hits[:min(10, len(hits))] {
		if g := rel[h.Chunk.DocID]; g > 0 {
			dcg += float64(g) / math.Log2(float64(i)+2)
			found++
			if rr == 0 {
				rr = 1 / float64(i+1)
			}
		}
	}
	// Ideal order: highest grades first.
	for i := range gains {
		for j := i + 1; j < len(gains); j++ {
			if gains[j] > gains[i] {
				gains[i], gains[j] = gains[j], gains[i]
			}
		}
	}
	var idcg float64
	for i, g := range gains[:min(10, len(gains))] {
		idcg += float64(g) / math.Log2(float64(i)+2)
	}
	if idcg == 0 || relevant == 0 {
		return 0, 0, 0
	}
	return dcg / idcg, rr, float64(found) / float64(relevant)
}
