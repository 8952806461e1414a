package rag

import (
	"context"
	"strings"

	"amtsassist/assist"
)

// Retriever answers text queries: it embeds the query when an embedder is
// configured and the mode wants vectors, then searches the index. It is the
// one entry point the use cases and the HTTP API search through.
type Retriever struct {
	Index    Index
	Embedder assist.Embedder // nil: lexical only
}

// MaxK bounds the number of hits one query may ask for.
const MaxK = 200

// Search validates q, embeds q.Text when useful, and searches. It returns
// Invalid for an empty query or a K out of range, and the index's errors
// otherwise. Dense mode without an embedder is Invalid.
func (r *Retriever) Search(ctx context.Context, q Query) ([]Hit, error) {
	const op = "search"
	q.Text = strings.TrimSpace(q.Text)
	if q.Text == "" && len(q.Vector) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "empty query")
	}
	if q.K < 0 || q.K > MaxK {
		return nil, assist.Errorf(assist.Invalid, op, "k must be between 1 and %d", MaxK)
	}
	if q.K == 0 {
		q.K = 10
	}
	switch q.Mode {
	case ModeAuto, ModeLexical, ModeDense, ModeHybrid:
	default:
		return nil, assist.Errorf(assist.Invalid, op, "unknown mode %q (valid: lexical, dense, hybrid)", q.Mode)
	}
	if q.Mode != ModeLexical && len(q.Vector) == 0 && q.Text != "" {
		if r.Embedder == nil {
			if q.Mode == ModeDense || q.Mode == ModeHybrid {
				return nil, assist.Errorf(assist.Invalid, op, "mode %s needs an embedding model, and none is configured", q.Mode)
			}
		} else {
			vecs, err := r.Embedder.Embed(ctx, []string{q.Text})
			if err != nil {
				return nil, err
			}
			q.Vector = vecs[0]
		}
	}
	return r.Index.Search(ctx, q)
}
