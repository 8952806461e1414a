// Package retrieval is the retrieval benchmark: it runs BEIR-layout
// question → document sets (LegalQuAD, GerLayQA-BGB) against our lexical
// engine (rag/lexical over passages, each document scored by its best
// passage) and against bleve v2 with its German analyzer and BM25 over whole
// documents as the reference, in the same run, and reports nDCG@10, MRR@10,
// Recall@10 and per-query latency (single-threaded, sequential queries).
//
// Measured on the development sets (2 shared cores, other work running):
//
//	legalquad     lexical  nDCG@10 0.866  MRR@10 0.849  R@10 0.918
//	legalquad     bleve-de nDCG@10 0.786  MRR@10 0.751  R@10 0.890  (published 0.785)
//	gerlayqa-bgb  lexical  nDCG@10 0.106  MRR@10 0.110  R@10 0.157
//	gerlayqa-bgb  bleve-de nDCG@10 0.071  MRR@10 0.068  R@10 0.121  (published 0.071)
//
// with bleve's median latency 2.3–6× (LegalQuAD) and 9–18× (GerLayQA) ours,
// depending on the load on the machine.
package retrieval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"amtsassist/assist"
	"amtsassist/ingest/beir"
	"amtsassist/rag/lexical"
)

// DefaultDatasets are the sets Run evaluates when Options.Datasets is empty.
var DefaultDatasets = []string{"legalquad", "gerlayqa-bgb"}

// Passage sizes of the lexical system in runes. About 280 tokens scored
// best on the development sets (LegalQuAD nDCG@10 0.866 against 0.833 with
// split.DefaultMaxRunes/DefaultOverlap, 0.854 with 1000 runes; GerLayQA is
// insensitive); they are a benchmark setting, not a product one.
const (
	DefaultMaxRunes = 2000
	DefaultOverlap  = 280
)

// Options control a benchmark run.
type Options struct {
	// Datasets names subdirectories of the data directory; empty means
	// DefaultDatasets.
	Datasets []string
	// MaxRunes and Overlap size the passages of our engine; zero values
	// mean DefaultMaxRunes and DefaultOverlap.
	MaxRunes, Overlap int
	// MaxQueries, when positive, evaluates only the first n queries of each
	// set (quick runs).
	MaxQueries int
	// SkipBleve leaves out the reference system.
	SkipBleve bool
}

// Report is the outcome of Run.
type Report struct {
	Datasets []DatasetResult `json:"datasets"`
}

// DatasetResult holds the figures of every system on one dataset.
type DatasetResult struct {
	Name      string         `json:"name"`
	Documents int            `json:"documents"`
	Passages  int            `json:"passages"`
	Queries   int            `json:"queries"` // queries with relevance judgements that were evaluated
	Systems   []SystemResult `json:"systems"`
}

// SpeedUp returns how many times faster (median) our engine answered than
// the reference, or 0 when either did not run.
func (d DatasetResult) SpeedUp() float64 {
	ours, ok1 := d.System(SystemLexical)
	ref, ok2 := d.System(SystemBleve)
	if !ok1 || !ok2 || ours.P50 <= 0 {
		return 0
	}
	return float64(ref.P50) / float64(ours.P50)
}

// System returns the result of the named system and whether it ran.
func (d DatasetResult) System(name string) (SystemResult, bool) {
	for _, s := range d.Systems {
		if s.Name == name {
			return s, true
		}
	}
	return SystemResult{}, false
}

// System names.
const (
	SystemLexical = "lexical"
	SystemBleve   = "bleve-de"
)

// SystemResult holds one system's quality and speed on one dataset.
type SystemResult struct {
	Name     string        `json:"name"`
	NDCG10   float64       `json:"ndcg_at_10"`
	MRR10    float64       `json:"mrr_at_10"`
	Recall10 float64       `json:"recall_at_10"`
	P50      time.Duration `json:"p50_ns"` // per-query search latency
	P95      time.Duration `json:"p95_ns"`
	Build    time.Duration `json:"build_ns"` // indexing time
}

// dataset is one loaded BEIR set.
type dataset struct {
	name    string
	docs    []assist.Document
	queries []beir.Query
	qrels   beir.Qrels
}

// system is what Run benchmarks: build once, then answer queries with
// ranked document ids.
type system interface {
	name() string
	build(ctx context.Context, ds *dataset) error
	search(q string, k int) []string
	close()
}

// Run evaluates every dataset below dataDir (the directory holding
// legalquad/ and gerlayqa-bgb/, or its parent holding retrieval/) and
// prints a table to w. A missing dataset is NotFound; malformed files are
// Invalid.
func Run(ctx context.Context, dataDir string, w io.Writer, opts Options) (Report, error) {
	const op = "retrieval benchmark"
	if fi, err := os.Stat(filepath.Join(dataDir, "retrieval")); err == nil && fi.IsDir() {
		dataDir = filepath.Join(dataDir, "retrieval")
	}
	names := opts.Datasets
	if len(names) == 0 {
		names = DefaultDatasets
	}
	var rep Report
	for _, name := range names {
		ds, err := load(ctx, filepath.Join(dataDir, name), name, opts)
		if err != nil {
			return rep, err
		}
		res := DatasetResult{Name: name, Documents: len(ds.docs)}
		for _, d := range ds.docs {
			res.Passages += len(d.Chunks)
		}
		systems := []system{&lexicalSystem{}}
		if !opts.SkipBleve {
			systems = append(systems, &bleveSystem{})
		}
		srs, err := evaluate(ctx, systems, ds)
		for _, sys := range systems {
			sys.close() // after an error; closing twice is harmless
		}
		if err != nil {
			return rep, &assist.Error{Op: op, Kind: assist.KindOf(err), Msg: fmt.Sprintf("benchmark on %s failed", name), Err: err}
		}
		res.Queries = len(ds.queries)
		res.Systems = srs
		rep.Datasets = append(rep.Datasets, res)
	}
	if w != nil {
		rep.Print(w)
	}
	return rep, nil
}

// Print writes the report as a table.
func (r Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dataset\tsystem\tqueries\tnDCG@10\tMRR@10\tR@10\tp50\tp95\tbuild\tp50 vs lexical\t")
	for _, d := range r.Datasets {
		base, _ := d.System(SystemLexical)
		for _, s := range d.Systems {
			ratio := "-"
			if s.Name != SystemLexical && base.P50 > 0 {
				ratio = fmt.Sprintf("%.1f×", float64(s.P50)/float64(base.P50))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f\t%.3f\t%.3f\t%s\t%s\t%s\t%s\t\n", d.Name, s.Name, d.Queries,
				s.NDCG10, s.MRR10, s.Recall10, dur(s.P50), dur(s.P95), dur(s.Build), ratio)
		}
	}
	tw.Flush()
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

func load(ctx context.Context, dir, name string, opts Options) (*dataset, error) {
	const op = "retrieval benchmark"
	open := func(rel string) (*os.File, error) {
		f, err := os.Open(filepath.Join(dir, rel))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &assist.Error{Op: op, Kind: assist.NotFound, Msg: fmt.Sprintf("dataset %s: %s not found in %s", name, rel, dir), Err: err}
		}
		if err != nil {
			return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("dataset %s: cannot open %s", name, rel), Err: err}
		}
		return f, nil
	}
	ds := &dataset{name: name}
	f, err := open("corpus.jsonl")
	if err != nil {
		return nil, err
	}
	bo := beir.Options{MaxRunes: opts.MaxRunes, Overlap: opts.Overlap}
	if bo.MaxRunes <= 0 {
		bo.MaxRunes, bo.Overlap = DefaultMaxRunes, DefaultOverlap
	}
	ds.docs, err = beir.Load(ctx, name+"/corpus.jsonl", f, bo)
	f.Close()
	if err != nil {
		return nil, err
	}
	if f, err = open("queries.jsonl"); err != nil {
		return nil, err
	}
	ds.queries, err = beir.ReadQueries(ctx, name+"/queries.jsonl", f)
	f.Close()
	if err != nil {
		return nil, err
	}
	if f, err = open(filepath.Join("qrels", "test.tsv")); err != nil {
		return nil, err
	}
	ds.qrels, err = beir.ReadQrels(name+"/qrels/test.tsv", f)
	f.Close()
	if err != nil {
		return nil, err
	}
	// BEIR evaluates only the queries that have judgements.
	qs := ds.queries[:0]
	for _, q := range ds.queries {
		if len(ds.qrels[q.ID]) > 0 {
			qs = append(qs, q)
		}
	}
	ds.queries = qs
	if opts.MaxQueries > 0 && len(ds.queries) > opts.MaxQueries {
		ds.queries = ds.queries[:opts.MaxQueries]
	}
	if len(ds.queries) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "dataset %s: no query has relevance judgements", name)
	}
	return ds, nil
}

const cutoff = 10

// evaluate builds each system over ds in turn and scores every query.
// Systems run one after the other, not interleaved: interleaving lets one
// system's garbage collection and cache pollution bill the other.
func evaluate(ctx context.Context, systems []system, ds *dataset) ([]SystemResult, error) {
	res := make([]SystemResult, len(systems))
	for i, sys := range systems {
		r := &res[i]
		r.Name = sys.name()
		start := time.Now()
		if err := sys.build(ctx, ds); err != nil {
			return nil, fmt.Errorf("build %s: %w", sys.name(), err)
		}
		r.Build = time.Since(start)
		lat := make([]time.Duration, 0, len(ds.queries))
		for qi, q := range ds.queries {
			if qi%32 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			t0 := time.Now()
			ranked := sys.search(q.Text, cutoff)
			lat = append(lat, time.Since(t0))
			m := Score(ranked, ds.qrels[q.ID], cutoff)
			r.NDCG10 += m.NDCG
			r.MRR10 += m.MRR
			r.Recall10 += m.Recall
		}
		sys.close() // free its memory before the next system runs
		n := float64(len(ds.queries))
		r.NDCG10 /= n
		r.MRR10 /= n
		r.Recall10 /= n
		slices.Sort(lat)
		r.P50 = lat[len(lat)/2]
		r.P95 = lat[min(len(lat)-1, int(math.Ceil(0.95*float64(len(lat))))-1)]
	}
	return res, nil
}

// Metrics are the per-query figures at a cutoff.
type Metrics struct {
	NDCG, MRR, Recall float64
}

// Score computes nDCG (linear gains, as BEIR's pytrec_eval does), MRR and
// recall of ranked document ids at cutoff k against graded judgements;
// grades <= 0 count as not relevant.
func Score(ranked []string, rel map[string]int, k int) Metrics {
	var m Metrics
	if len(ranked) > k {
		ranked = ranked[:k]
	}
	relevant := 0
	var ideal []int
	for _, g := range rel {
		if g > 0 {
			relevant++
			ideal = append(ideal, g)
		}
	}
	if relevant == 0 {
		return m
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ideal)))
	var dcg, idcg float64
	found := 0
	for i, id := range ranked {
		g := rel[id]
		if g <= 0 {
			continue
		}
		dcg += float64(g) / math.Log2(float64(i)+2)
		found++
		if m.MRR == 0 {
			m.MRR = 1 / float64(i+1)
		}
	}
	for i, g := range ideal {
		if i >= k {
			break
		}
		idcg += float64(g) / math.Log2(float64(i)+2)
	}
	m.NDCG = dcg / idcg
	m.Recall = float64(found) / float64(relevant)
	return m
}

// lexicalSystem is our engine: one index entry per passage, documents
// scored by their best passage.
type lexicalSystem struct {
	ix     *lexical.Index
	docOf  []uint32 // passage → document ordinal
	docIDs []string
}

func (s *lexicalSystem) name() string { return SystemLexical }

func (s *lexicalSystem) build(ctx context.Context, ds *dataset) error {
	s.ix = lexical.NewIndex(lexical.German())
	for di, d := range ds.docs {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.docIDs = append(s.docIDs, d.ID)
		for _, c := range d.Chunks {
			text := c.Text
			if d.Title != "" {
				text = d.Title + "\n" + text
			}
			s.ix.Add(uint32(len(s.docOf)), text)
			s.docOf = append(s.docOf, uint32(di))
		}
	}
	return nil
}

func (s *lexicalSystem) search(q string, k int) []string {
	hits := s.ix.Search(q, lexical.SearchOptions{K: k, Group: func(p uint32) uint32 { return s.docOf[p] }})
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = s.docIDs[s.docOf[h.Doc]]
	}
	return out
}

func (s *lexicalSystem) close() { s.ix = nil }

// joinText is the whole text of a document, for systems that index
// documents rather than passages.
func joinText(d assist.Document) string {
	var b strings.Builder
	for i, c := range d.Chunks {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(c.Text)
	}
	return b.String()
}
