package local

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"amtsassist/assist"
	"amtsassist/rag"
	"amtsassist/rag/lexical"
)

// DefaultK is the number of hits when a query does not say.
const DefaultK = 10

// rrfK is the constant of reciprocal rank fusion; 60 is the value of the
// original paper (Cormack et al. 2009) and works without tuning.
const rrfK = 60

// fusionDepth is how deep each signal is read before fusing: a document
// ranked modestly by both signals must still be seen by both.
func fusionDepth(k int) int { return max(3*k, 100) }

// candidate is one ranked entry of a single signal.
type candidate struct {
	slot  uint32
	score float64
}

// Search returns up to q.K hits (0 means DefaultK) by descending score,
// after q.Filter. Lexical hits score BM25, dense hits cosine similarity,
// hybrid hits the reciprocal-rank-fusion sum; chunks whose citation the
// query names exactly ("§ 19 WoGG") come first in lexical and hybrid mode.
// Hits carry no vectors. It
// returns Invalid for an unknown mode, a negative K, dense or hybrid mode
// without a query vector or on an index without vectors, a vector of the
// wrong dimension, and a lexical search without text.
func (ix *Index) Search(ctx context.Context, q rag.Query) ([]rag.Hit, error) {
	const op = "local search"
	if q.K < 0 {
		return nil, assist.Errorf(assist.Invalid, op, "k must not be negative (got %d)", q.K)
	}
	if q.K == 0 {
		q.K = DefaultK
	}
	switch q.Mode {
	case rag.ModeAuto, rag.ModeLexical, rag.ModeDense, rag.ModeHybrid:
	default:
		return nil, assist.Errorf(assist.Invalid, op, "unknown mode %q (valid: lexical, dense, hybrid)", q.Mode)
	}
	if err := validateFilter(op, q.Filter); err != nil {
		return nil, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if err := ix.ready(ctx, op); err != nil {
		return nil, err
	}
	dim := 0
	if ix.model != nil {
		dim = ix.model.Dimension
	}
	if len(q.Vector) > 0 && dim > 0 {
		if problem := checkVector(q.Vector, dim); problem != "" {
			return nil, assist.Errorf(assist.Invalid, op, "query vector %s", problem)
		}
	}
	mode := q.Mode
	if mode == rag.ModeAuto {
		mode = rag.ModeLexical
		if len(q.Vector) > 0 && ix.vectors > 0 {
			mode = rag.ModeHybrid
		}
	}
	if mode == rag.ModeDense || mode == rag.ModeHybrid {
		switch {
		case len(q.Vector) == 0:
			return nil, assist.Errorf(assist.Invalid, op, "mode %s needs a query vector", mode)
		case ix.vectors == 0:
			return nil, assist.Errorf(assist.Invalid, op, "mode %s needs vectors, and the index at %s has none (ingest with an embedding model)", mode, ix.dir)
		}
	}
	if mode == rag.ModeLexical && strings.TrimSpace(q.Text) == "" {
		return nil, assist.Errorf(assist.Invalid, op, "lexical search needs query text")
	}

	accept := func(n uint32) bool {
		if int(n) >= len(ix.slots) {
			return false
		}
		s := &ix.slots[n]
		return s.live && q.Filter.Match(&s.attrs)
	}
	var lex, dense []candidate
	pinned := 0 // exact citation matches at the front of lex
	depth := q.K
	if mode == rag.ModeHybrid {
		depth = fusionDepth(q.K)
	}
	if mode == rag.ModeLexical || mode == rag.ModeHybrid {
		opts := lexical.SearchOptions{K: depth, Accept: accept}
		if q.DistinctDocs {
			opts.Group = func(n uint32) uint32 {
				if d := ix.slots[n].doc; d != nil {
					return d.num
				}
				return math.MaxUint32 // a dead slot; Accept drops it
			}
		}
		for _, s := range ix.lex.Search(q.Text, opts) {
			lex = append(lex, candidate{slot: s.Doc, score: s.Score})
		}
		lex, pinned = ix.pinCitations(q.Text, lex, depth, q.DistinctDocs, accept)
	}
	if mode == rag.ModeDense || mode == rag.ModeHybrid {
		var err error
		if dense, err = ix.dense(ctx, op, normalized(q.Vector), depth, q.DistinctDocs, accept); err != nil {
			return nil, err
		}
	}

	var hits []rag.Hit
	switch mode {
	case rag.ModeLexical:
		for i, c := range lex {
			hits = append(hits, rag.Hit{Chunk: assist.Chunk{ID: ix.slots[c.slot].id}, Score: c.score, LexicalRank: i + 1})
		}
	case rag.ModeDense:
		for i, c := range dense {
			hits = append(hits, rag.Hit{Chunk: assist.Chunk{ID: ix.slots[c.slot].id}, Score: c.score, DenseRank: i + 1})
		}
	default:
		hits = ix.fuse(lex, dense, pinned, q.K, q.DistinctDocs)
	}
	if len(hits) > q.K {
		hits = hits[:q.K]
	}
	if err := ix.fill(hits); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Internal, Msg: "reading hit chunks failed", Err: err}
	}
	if hits == nil {
		hits = []rag.Hit{}
	}
	return hits, nil
}

// dense scans every accepted vector. With distinct set only the best chunk
// of each document competes.
func (ix *Index) dense(ctx context.Context, op string, qv []float32, k int, distinct bool, accept func(uint32) bool) ([]candidate, error) {
	top := &minHeap{}
	var best map[uint32]candidate // document → its best chunk
	if distinct {
		best = make(map[uint32]candidate)
	}
	for n := range ix.slots {
		if n%4096 == 0 {
			if err := ctxErr(ctx, op); err != nil {
				return nil, err
			}
		}
		s := &ix.slots[n]
		if s.vec == nil || !accept(uint32(n)) {
			continue
		}
		c := candidate{slot: uint32(n), score: dot(qv, s.vec)}
		if distinct {
			if b, ok := best[s.doc.num]; !ok || c.score > b.score {
				best[s.doc.num] = c
			}
			continue
		}
		top.offer(c, k)
	}
	for _, c := range best {
		top.offer(c, k)
	}
	out := []candidate(*top)
	slices.SortFunc(out, func(a, b candidate) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(ix.slots[a.slot].id, ix.slots[b.slot].id)
	})
	return out, nil
}

// dot is the inner loop of dense search; four accumulators let the CPU
// overlap the multiplications, which roughly halves the scan time.
func dot(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return float64(s0 + s1 + s2 + s3)
}

// minHeap keeps the k best candidates seen; its root is the worst of them.
type minHeap []candidate

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i].score < h[j].score }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(candidate)) }
func (h *minHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

func (h *minHeap) offer(c candidate, k int) {
	if h.Len() < k {
		heap.Push(h, c)
		return
	}
	if c.score > (*h)[0].score {
		(*h)[0] = c
		heap.Fix(h, 0)
	}
}

// fuse merges the lexical and dense rankings by reciprocal rank fusion. With
// distinct set both lists hold one chunk per document and fusion is by
// document: the hit shows the chunk of the signal that ranked it higher. The
// first pinned lexical entries (exact citations) stay in front.
func (ix *Index) fuse(lex, dense []candidate, pinned, k int, distinct bool) []rag.Hit {
	type fused struct {
		pin       int // 1-based position among the pinned; 0: not pinned
		slot      uint32
		bestRank  int
		score     float64
		lexRank   int
		denseRank int
	}
	key := func(n uint32) uint32 {
		if distinct {
			return ix.slots[n].doc.num
		}
		return n
	}
	byKey := make(map[uint32]*fused)
	add := func(list []candidate, lexical bool) {
		for i, c := range list {
			rank := i + 1
			f, ok := byKey[key(c.slot)]
			if !ok {
				f = &fused{slot: c.slot, bestRank: rank}
				byKey[key(c.slot)] = f
			} else if rank < f.bestRank {
				f.slot, f.bestRank = c.slot, rank
			}
			f.score += 1 / float64(rrfK+rank)
			if lexical {
				f.lexRank = rank
			} else {
				f.denseRank = rank
			}
		}
	}
	add(lex, true)
	add(dense, false)
	for i, c := range lex[:pinned] {
		byKey[key(c.slot)].pin = i + 1
	}
	all := make([]*fused, 0, len(byKey))
	for _, f := range byKey {
		all = append(all, f)
	}
	slices.SortFunc(all, func(a, b *fused) int {
		if a.pin > 0 || b.pin > 0 {
			switch {
			case a.pin == 0:
				return 1
			case b.pin == 0:
				return -1
			}
			return cmp.Compare(a.pin, b.pin)
		}
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(ix.slots[a.slot].id, ix.slots[b.slot].id)
	})
	// Pinned hits score at least as high as what follows them.
	for i := min(pinned, len(all)) - 1; i >= 0; i-- {
		if i+1 < len(all) && all[i].score < all[i+1].score {
			all[i].score = all[i+1].score
		}
	}
	if len(all) > k {
		all = all[:k]
	}
	hits := make([]rag.Hit, len(all))
	for i, f := range all {
		hits[i] = rag.Hit{Chunk: assist.Chunk{ID: ix.slots[f.slot].id}, Score: f.score, LexicalRank: f.lexRank, DenseRank: f.denseRank}
	}
	return hits
}

// fill replaces each hit's placeholder chunk (ID only) by the stored chunk,
// without its vector. Callers hold mu, so every id is present.
func (ix *Index) fill(hits []rag.Hit) error {
	if len(hits) == 0 {
		return nil
	}
	return ix.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketChunks)
		for i := range hits {
			id := hits[i].Chunk.ID
			raw := b.Get([]byte(id))
			if raw == nil {
				return fmt.Errorf("chunk %q is in memory but not on disk", id)
			}
			if err := json.Unmarshal(raw, &hits[i].Chunk); err != nil {
				return fmt.Errorf("chunk %q: %w", id, err)
			}
		}
		return nil
	})
}

// pinCitations puts the chunks whose citation the query names exactly
// ("§ 19 WoGG") in front of the lexical ranking, scored above its best
// score, keeping their stored order (the passages of one § in sequence),
// and returns how many it pinned. With distinct set each document appears
// once.
func (ix *Index) pinCitations(text string, lex []candidate, depth int, distinct bool, accept func(uint32) bool) ([]candidate, int) {
	var pinned []candidate
	seenSlot := map[uint32]bool{}
	seenDoc := map[uint32]bool{}
	for _, key := range queryCitationKeys(text) {
		for _, n := range ix.cites[key] {
			doc := ix.slots[n].doc.num
			if seenSlot[n] || distinct && seenDoc[doc] || !accept(n) {
				continue
			}
			seenSlot[n], seenDoc[doc] = true, true
			pinned = append(pinned, candidate{slot: n})
		}
	}
	if len(pinned) == 0 {
		return lex, 0
	}
	n := len(pinned)
	top := 0.0
	if len(lex) > 0 {
		top = lex[0].score
	}
	for i := range pinned {
		pinned[i].score = top + float64(len(pinned)-i)
	}
	for _, c := range lex {
		if seenSlot[c.slot] || distinct && seenDoc[ix.slots[c.slot].doc.num] {
			continue
		}
		pinned = append(pinned, c)
	}
	if len(pinned) > depth {
		pinned = pinned[:depth]
	}
	return pinned, min(n, depth)
}
