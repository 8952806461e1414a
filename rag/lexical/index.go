package lexical

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// tuning holds the ranking parameters. They were chosen on the development
// parts of LegalQuAD and GerLayQA with eval/retrieval (see its package
// documentation for the figures) and are deliberately general: no value
// depends on a particular query or document.
type tuning struct {
	k1, b float64 // BM25
	// window is the distance in tokens within which two query words form a
	// pair term; 0 disables pairs. pairWeight scales pair terms.
	window     int
	pairWeight float64
	// qtfSat saturates repeated query words (qtf·(s+1)/(s+qtf)): long lay
	// questions repeat their topic words, which should count, but less.
	qtfSat float64
	// longQuery is the number of distinct query words from which a query
	// counts as long; long queries raise idf to longIDFPow so that their
	// distinctive words outweigh the colloquial ones.
	longQuery  int
	longIDFPow float64
	// expandWeight scales the compounds found for a query word of at
	// least minExpand bytes (at most maxExpand of them); splitWeight
	// scales the parts of a long query word.
	expandWeight         float64
	minExpand, maxExpand int
	splitWeight          float64
}

var params = tuning{
	k1: 1.2, b: 0.75,
	window: 5, pairWeight: 0.5,
	qtfSat:    0.5,
	longQuery: 16, longIDFPow: 1.5,
	expandWeight: 0.3, minExpand: 5, maxExpand: 32,
	splitWeight: 0.6,
}

// Index is an in-memory BM25 index over precomputed postings. Besides the
// analyzer's terms it stores pair terms for words standing within a few
// tokens of each other (proximity), and at search time it matches German
// compounds against its own vocabulary (see compound.go).
//
// Search is safe for concurrent use with itself and with Add and Remove,
// which take the index's write lock. Terms of removed documents stay in the
// term table (without postings), so memory grows with the vocabulary ever
// seen, not with churn of the same vocabulary.
type Index struct {
	a *Analyzer

	mu      sync.RWMutex
	termIDs map[string]uint32
	// pairIDs maps the hash of a pair of words to its term id: pairs are
	// most of the terms, and 8-byte keys instead of strings keep them cheap.
	pairIDs  map[uint64]uint32
	postings [][]posting // by term id
	slots    []slot      // by internal slot number; postings refer to slots
	// lens repeats each slot's length, −1 when dead, densely: the scoring
	// loop reads it for every posting, and a compact array stays in cache.
	lens     []float32
	slotOf   map[uint32]uint32 // doc → slot
	df       []uint32          // live documents per term id
	free     []uint32          // slots without postings, for reuse
	dead     int               // slots removed but still referenced by postings
	live     int
	totalLen int64

	// words and revWords list every word term ever added, forwards and
	// reversed, in order of first appearance: the raw material of the
	// vocabulary, so that rebuilding it only sorts.
	words, revWords []string

	gen uint64                     // changes with every Add and Remove
	voc atomic.Pointer[vocabulary] // for compound lookups, built lazily

	scratch sync.Pool // *searchScratch
}

type posting struct {
	slot uint32
	tf   uint32
}

type slot struct {
	doc   uint32
	len   uint32
	live  bool
	terms []uint32 // distinct term ids, for Remove
}

// SearchOptions control one search.
type SearchOptions struct {
	// K is the number of results; 0 means 10.
	K int
	// Accept, when set, drops documents for which it returns false.
	// Accept and Group are consulted lazily, for matching documents in
	// descending score order until K results are found, and with the
	// index's read lock held: they must not call Add or Remove.
	Accept func(doc uint32) bool
	// Group, when set, maps a document (a passage) to its group (the
	// source document): only the best-scoring document of each group is
	// returned, so that K counts groups.
	Group func(doc uint32) uint32
}

// Scored is one search result.
type Scored struct {
	Doc   uint32
	Score float64
}

// NewIndex returns an empty index that analyses text with a (German()
// when nil).
func NewIndex(a *Analyzer) *Index {
	if a == nil {
		a = German()
	}
	return &Index{a: a, termIDs: map[string]uint32{}, pairIDs: map[uint64]uint32{}, slotOf: map[uint32]uint32{}}
}

// Len returns the number of documents in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// Add indexes text under doc, replacing what doc held before.
func (ix *Index) Add(doc uint32, text string) {
	// Analyse outside the lock: it is the expensive part.
	counts := map[string]uint32{}
	pcounts := map[uint64]uint32{}
	var length uint32
	ix.analyzeWithPairs(text, func(term string, pair uint64) {
		if pair != 0 {
			pcounts[pair]++
			return
		}
		counts[term]++
		length++
	})

	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.removeLocked(doc)
	ix.gen++
	var s uint32
	if n := len(ix.free); n > 0 {
		s = ix.free[n-1]
		ix.free = ix.free[:n-1]
	} else {
		s = uint32(len(ix.slots))
		ix.slots = append(ix.slots, slot{})
		ix.lens = append(ix.lens, -1)
	}
	terms := make([]uint32, 0, len(counts)+len(pcounts))
	post := func(id, tf uint32) {
		ix.postings[id] = append(ix.postings[id], posting{slot: s, tf: tf})
		ix.df[id]++
		terms = append(terms, id)
	}
	for term, tf := range counts {
		id, ok := ix.termIDs[term]
		if !ok {
			id = ix.newTerm()
			ix.termIDs[term] = id
			if isWordTerm(term) {
				ix.words = append(ix.words, term)
				ix.revWords = append(ix.revWords, reverse(term))
			}
		}
		post(id, tf)
	}
	for key, tf := range pcounts {
		id, ok := ix.pairIDs[key]
		if !ok {
			id = ix.newTerm()
			ix.pairIDs[key] = id
		}
		post(id, tf)
	}
	ix.slots[s] = slot{doc: doc, len: length, live: true, terms: terms}
	ix.lens[s] = float32(length)
	ix.slotOf[doc] = s
	ix.live++
	ix.totalLen += int64(length)
}

// newTerm allocates a term id.
func (ix *Index) newTerm() uint32 {
	id := uint32(len(ix.postings))
	ix.postings = append(ix.postings, nil)
	ix.df = append(ix.df, 0)
	return id
}

// Remove deletes doc from the index; removing an absent doc does nothing.
func (ix *Index) Remove(doc uint32) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.removeLocked(doc)
	ix.gen++
}

// removeLocked marks doc's slot dead and leaves its postings in place:
// searching skips dead slots, and compact drops their postings once they
// are a quarter of the index, so that replacing documents one by one costs
// amortised O(terms) rather than a scan of every posting list it touches.
func (ix *Index) removeLocked(doc uint32) {
	s, ok := ix.slotOf[doc]
	if !ok {
		return
	}
	sl := &ix.slots[s]
	for _, id := range sl.terms {
		ix.df[id]--
	}
	ix.live--
	ix.totalLen -= int64(sl.len)
	*sl = slot{}
	ix.lens[s] = -1
	delete(ix.slotOf, doc)
	ix.dead++
	if ix.dead >= minCompact && ix.dead*4 >= len(ix.slots) {
		ix.compact()
	}
}

// minCompact is the number of dead slots below which compaction waits.
const minCompact = 256

// compact removes the postings of dead slots and frees the slots for reuse.
func (ix *Index) compact() {
	for id, ps := range ix.postings {
		kept := ps[:0]
		for _, p := range ps {
			if ix.slots[p.slot].live {
				kept = append(kept, p)
			}
		}
		clear(ps[len(kept):])
		ix.postings[id] = kept
	}
	for s := range ix.slots {
		if !ix.slots[s].live {
			ix.free = append(ix.free, uint32(s))
		}
	}
	ix.dead = 0
}

type searchScratch struct {
	scores  []float64
	touched []uint32
	cands   []Scored
	best    map[uint32]int // groups already returned
}

type queryTerm struct {
	id     uint32
	weight float64
}

// Search returns up to opts.K documents ordered by descending score (ties
// by ascending doc): BM25 over the query's terms, its word pairs and the
// compounds related to its words. An empty query or index, or a query
// without any indexed term, gives no results.
func (ix *Index) Search(query string, opts SearchOptions) []Scored {
	k := opts.K
	if k <= 0 {
		k = 10
	}
	qcounts := map[string]int{}
	qpairs := map[uint64]int{}
	var qwords []string
	ix.analyzeWithPairs(query, func(term string, pair uint64) {
		if pair != 0 {
			qpairs[pair]++
			return
		}
		qcounts[term]++
		if qcounts[term] == 1 && isWordTerm(term) {
			qwords = append(qwords, term)
		}
	})

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.live == 0 || len(qcounts)+len(qpairs) == 0 {
		return nil
	}
	n := float64(ix.live)
	avg := float64(ix.totalLen) / n
	if avg == 0 {
		avg = 1
	}
	words := len(qcounts)
	pow := 1.0
	if words >= params.longQuery {
		pow = params.longIDFPow
	}
	qts := make([]queryTerm, 0, len(qcounts)+len(qpairs))
	add := func(id uint32, qtf int, scale float64) {
		if ix.df[id] == 0 {
			return
		}
		df := float64(ix.df[id])
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		if pow != 1 {
			idf = math.Pow(idf, pow)
		}
		w := float64(qtf)
		w = w * (params.qtfSat + 1) / (params.qtfSat + w)
		qts = append(qts, queryTerm{id: id, weight: idf * w * scale})
	}
	for term, qtf := range qcounts {
		if id, ok := ix.termIDs[term]; ok {
			add(id, qtf, 1)
		}
	}
	for key, qtf := range qpairs {
		if id, ok := ix.pairIDs[key]; ok {
			add(id, qtf, params.pairWeight)
		}
	}
	qts = ix.compoundTerms(qts, qwords, n, pow)
	if len(qts) == 0 {
		return nil
	}

	sc, _ := ix.scratch.Get().(*searchScratch)
	if sc == nil {
		sc = &searchScratch{}
	}
	if len(sc.scores) < len(ix.slots) {
		sc.scores = make([]float64, len(ix.slots))
	}
	scores, touched := sc.scores, sc.touched[:0]
	for _, qt := range qts {
		for _, p := range ix.postings[qt.id] {
			l := ix.lens[p.slot]
			if l < 0 { // removed, not yet compacted
				continue
			}
			tf := float64(p.tf)
			norm := params.k1 * (1 - params.b + params.b*float64(l)/avg)
			if scores[p.slot] == 0 {
				touched = append(touched, p.slot)
			}
			scores[p.slot] += qt.weight * tf * (params.k1 + 1) / (tf + norm)
		}
	}

	res := ix.collect(sc, scores, touched, k, opts)
	for _, s := range touched {
		scores[s] = 0
	}
	sc.touched = touched
	ix.scratch.Put(sc)
	return res
}

// collect picks the top k of the touched slots, honouring Accept and Group.
func (ix *Index) collect(sc *searchScratch, scores []float64, touched []uint32, k int, opts SearchOptions) []Scored {
	// Usually the best few passages already hold K distinct, accepted
	// groups: keep the best 4·K in a bounded min-heap (one comparison for
	// most passages) and look there first. Only if that is not enough,
	// fall back to a max-heap over everything, popped until K are found.
	// Accept and Group run only for candidates taken in score order.
	m := 4 * k
	if m < len(touched) {
		h := sc.cands[:0]
		for _, s := range touched {
			c := Scored{Doc: ix.slots[s].doc, Score: scores[s]}
			if len(h) < m {
				h = append(h, c)
				siftUpMin(h, len(h)-1)
			} else if better(c, h[0]) {
				h[0] = c
				siftDownMin(h, 0)
			}
		}
		slices.SortFunc(h, func(x, y Scored) int {
			if better(x, y) {
				return -1
			}
			return 1
		})
		out := ix.take(sc, h, k, opts, func(h []Scored) (Scored, []Scored) { return h[0], h[1:] })
		sc.cands = h[:0]
		if len(out) == k {
			return out
		}
	}
	h := sc.cands[:0]
	for _, s := range touched {
		h = append(h, Scored{Doc: ix.slots[s].doc, Score: scores[s]})
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	out := ix.take(sc, h, k, opts, func(h []Scored) (Scored, []Scored) {
		top := h[0]
		h[0] = h[len(h)-1]
		h = h[:len(h)-1]
		siftDown(h, 0)
		return top, h
	})
	sc.cands = h[:0]
	return out
}

// take draws candidates best first with next until k accepted results of
// distinct groups are found or the candidates run out.
func (ix *Index) take(sc *searchScratch, h []Scored, k int, opts SearchOptions, next func([]Scored) (Scored, []Scored)) []Scored {
	if opts.Group != nil {
		if sc.best == nil {
			sc.best = map[uint32]int{}
		}
		clear(sc.best)
	}
	out := make([]Scored, 0, min(k, len(h)))
	for len(h) > 0 && len(out) < k {
		var c Scored
		c, h = next(h)
		if opts.Accept != nil && !opts.Accept(c.Doc) {
			continue
		}
		if opts.Group != nil {
			g := opts.Group(c.Doc)
			if _, dup := sc.best[g]; dup {
				continue
			}
			sc.best[g] = 0
		}
		out = append(out, c)
	}
	return out
}

// siftUpMin and siftDownMin maintain a min-heap (worst candidate at the
// root) for the bounded selection.
func siftUpMin(h []Scored, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !better(h[p], h[i]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDownMin(h []Scored, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && better(h[l], h[r]) {
			m = r
		}
		if !better(h[i], h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// siftDown restores the max-heap property (by better) below i.
func siftDown(h []Scored, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && better(h[r], h[l]) {
			m = r
		}
		if !better(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func better(x, y Scored) bool {
	if x.Score != y.Score {
		return x.Score > y.Score
	}
	return x.Doc < y.Doc
}

// analyzeWithPairs emits the analyzer's terms and, for word terms that
// occur within Window tokens of each other, an unordered pair term: pairs
// reward passages where query words stand together, as in the sentence a
// question was written from.
func (ix *Index) analyzeWithPairs(text string, emit func(term string, pair uint64)) {
	type wt struct {
		term string
		pos  int
	}
	var recent []wt
	ix.a.analyze(text, func(term string, pos int) {
		emit(term, 0)
		if pos < 0 || params.window <= 0 {
			return
		}
		keep := recent[:0]
		for _, r := range recent {
			if pos-r.pos <= params.window {
				keep = append(keep, r)
			}
		}
		recent = keep
		for _, r := range recent {
			if r.term == term {
				continue
			}
			a, b := r.term, term
			if b < a {
				a, b = b, a
			}
			emit("", pairKey(a, b))
		}
		recent = append(recent, wt{term, pos})
	})
}

// compoundTerms adds, for every query word, the indexed compounds that
// contain it and, for long query words, their known parts, each with a
// fraction of the weight the word would have.
func (ix *Index) compoundTerms(qts []queryTerm, qwords []string, n, pow float64) []queryTerm {
	if params.expandWeight == 0 && params.splitWeight == 0 {
		return qts
	}
	v := ix.vocab()
	// Terms already in the query, by id: a related term is added once.
	seen := make(map[uint32]struct{}, 4*len(qts))
	for _, qt := range qts {
		seen[qt.id] = struct{}{}
	}
	addNew := func(id uint32, w float64) {
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			qts = append(qts, queryTerm{id: id, weight: w})
		}
	}
	idfOf := func(df float64) float64 {
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		if pow != 1 {
			idf = math.Pow(idf, pow)
		}
		return idf
	}
	for _, q := range qwords {
		ci := ix.compounds(v, q)
		if len(ci.exp) > 0 {
			// The compounds are evidence for q, so they share q's idf,
			// computed over q and its compounds together.
			df := 0.0
			if id, ok := ix.termIDs[q]; ok {
				df = float64(ix.df[id])
			}
			for _, id := range ci.exp {
				df += float64(ix.df[id])
			}
			w := params.expandWeight * idfOf(min(df, n))
			for _, id := range ci.exp {
				addNew(id, w)
			}
		}
		if ci.variant != "" {
			id := ix.termIDs[ci.variant]
			addNew(id, idfOf(float64(ix.df[id])))
		}
		for _, t := range ci.parts {
			id := ix.termIDs[t]
			addNew(id, params.splitWeight*idfOf(float64(ix.df[id])))
		}
	}
	return qts
}

// pairKey hashes an ordered pair of words (FNV-1a, 64 bits; collisions
// among a corpus' pairs are negligibly rare and would only add a little
// score). It is never 0, which marks a word.
func pairKey(a, b string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	h = (h ^ 0xff) * prime // a byte no UTF-8 text contains
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * prime
	}
	return h | 1
}
