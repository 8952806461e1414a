package retrieval

import (
	"context"
	"fmt"

	"github.com/blevesearch/bleve/v2"
	_ "github.com/blevesearch/bleve/v2/analysis/lang/de" // registers the "de" analyzer
	index "github.com/blevesearch/bleve_index_api"
)

// bleveSystem is the reference: an in-memory bleve v2 index of whole
// documents with bleve's German analyzer and BM25 scoring, queried with a
// match query (terms OR-ed), as the published reference figures were
// measured.
type bleveSystem struct {
	idx bleve.Index
}

func (s *bleveSystem) name() string { return SystemBleve }

type bleveDoc struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

func (s *bleveSystem) build(ctx context.Context, ds *dataset) error {
	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = "de"
	m.ScoringModel = index.BM25Scoring
	idx, err := bleve.NewMemOnly(m)
	if err != nil {
		return fmt.Errorf("create bleve index: %w", err)
	}
	s.idx = idx
	b := idx.NewBatch()
	for _, d := range ds.docs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.Index(d.ID, bleveDoc{Title: d.Title, Text: joinText(d)}); err != nil {
			return fmt.Errorf("bleve index %s: %w", d.ID, err)
		}
		if b.Size() >= 256 {
			if err := idx.Batch(b); err != nil {
				return fmt.Errorf("bleve batch: %w", err)
			}
			b.Reset()
		}
	}
	if err := idx.Batch(b); err != nil {
		return fmt.Errorf("bleve batch: %w", err)
	}
	return nil
}

func (s *bleveSystem) search(q string, k int) []string {
	mq := bleve.NewMatchQuery(q)
	mq.Analyzer = "de"
	req := bleve.NewSearchRequestOptions(mq, k, 0, false)
	res, err := s.idx.Search(req)
	if err != nil {
		return nil
	}
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.ID
	}
	return out
}

func (s *bleveSystem) close() {
	if s.idx != nil {
		s.idx.Close()
		s.idx = nil
	}
}
