// Package rag defines retrieval: the Index interface every backend
// implements, the Query and Filter types, and the Retriever that embeds a
// query and asks an index for lexical, dense or fused results.
package rag

import (
	"context"

	"amtsassist/assist"
)

// Mode selects the retrieval signal.
type Mode string

const (
	ModeAuto    Mode = ""        // hybrid when the query has a vector and the index has vectors, else lexical
	ModeLexical Mode = "lexical" // lexical only
	ModeDense   Mode = "dense"   // dense only; Invalid without a query vector
	ModeHybrid  Mode = "hybrid"  // both, fused (reciprocal rank fusion)
)

// Filter restricts a search or a delete. Empty fields do not restrict;
// several values in one field are alternatives (OR); fields combine with AND.
// Backends must apply every non-empty field, or return Invalid.
type Filter struct {
	Corpus    []assist.Corpus   `json:"corpus,omitempty"`
	Authority []string          `json:"authority,omitempty"`
	Source    []string          `json:"source,omitempty"`
	DocID     []string          `json:"doc_id,omitempty"`
	Status    []string          `json:"status,omitempty"` // ticket status, matched against Chunk.Meta["status"]
	Meta      map[string]string `json:"meta,omitempty"`   // exact match on Chunk.Meta[key]
}

// IsEmpty reports whether f restricts nothing.
func (f Filter) IsEmpty() bool {
	return len(f.Corpus) == 0 && len(f.Authority) == 0 && len(f.Source) == 0 &&
		len(f.DocID) == 0 && len(f.Status) == 0 && len(f.Meta) == 0
}

// Match reports whether c passes f. Backends without native filtering use it.
func (f Filter) Match(c *assist.Chunk) bool {
	if len(f.Corpus) > 0 && !contains(f.Corpus, c.Corpus) {
		return false
	}
	if len(f.Authority) > 0 && !contains(f.Authority, c.Authority) {
		return false
	}
	if len(f.Source) > 0 && !contains(f.Source, c.Source) {
		return false
	}
	if len(f.DocID) > 0 && !contains(f.DocID, c.DocID) {
		return false
	}
	if len(f.Status) > 0 && !contains(f.Status, c.Meta["status"]) {
		return false
	}
	for k, v := range f.Meta {
		if c.Meta[k] != v {
			return false
		}
	}
	return true
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Query is one search request to an Index.
type Query struct {
	Text   string
	Vector []float32 // query embedding; required for ModeDense, used by ModeAuto/ModeHybrid
	Mode   Mode
	K      int // number of hits; 0 means 10
	Filter Filter
	// DistinctDocs returns at most one hit per document (its best chunk),
	// so that K counts documents rather than passages.
	DistinctDocs bool
}

// Hit is one search result.
type Hit struct {
	Chunk assist.Chunk
	Score float64
	// LexicalRank and DenseRank are the 1-based ranks in the single signals
	// (0: not retrieved by that signal); useful for explaining a result.
	LexicalRank int
	DenseRank   int
}

// DocInfo is the manifest entry of one ingested document: what the pipeline
// compares against to decide whether a document changed.
type DocInfo struct {
	ID        string            `json:"id"`
	Corpus    assist.Corpus     `json:"corpus"`
	Title     string            `json:"title,omitempty"`
	Source    string            `json:"source,omitempty"`
	Format    string            `json:"format,omitempty"`
	Authority string            `json:"authority,omitempty"`
	Hash      string            `json:"hash"`
	Chunks    int               `json:"chunks"`
	Meta      map[string]string `json:"meta,omitempty"`
	// Embedded reports whether the chunks were stored with vectors.
	Embedded bool `json:"embedded,omitempty"`
}

// DocumentData is one document to store: its manifest entry and its chunks.
type DocumentData struct {
	Info   DocInfo
	Chunks []assist.Chunk
}

// Stats summarises an index.
type Stats struct {
	Documents int                   `json:"documents"`
	Chunks    int                   `json:"chunks"`
	Vectors   int                   `json:"vectors"`
	ByCorpus  map[assist.Corpus]int `json:"by_corpus"` // chunks per corpus
	Bytes     int64                 `json:"bytes"`     // on-disk size, when known
	Embedding *assist.ModelInfo     `json:"embedding,omitempty"`
}

// Index stores chunks and searches them. Implementations are safe for
// concurrent use.
type Index interface {
	// PutDocuments atomically replaces, for each entry, everything stored
	// under its Info.ID with its Chunks and records Info in the manifest.
	// The whole batch commits or none of it does: after it returns nil the
	// documents survive a crash; if it fails or the process dies during it,
	// the previous versions stay intact. Chunks with vectors must match the
	// index's embedding dimension, and every chunk's DocID must equal its
	// entry's Info.ID (Invalid otherwise).
	PutDocuments(ctx context.Context, docs []DocumentData) error
	// Document returns the manifest entry for id, or NotFound.
	Document(ctx context.Context, id string) (DocInfo, error)
	// Documents lists manifest entries matching f (Corpus, Authority, Source
	// and DocID are honoured), ordered by ID.
	Documents(ctx context.Context, f Filter) ([]DocInfo, error)
	// DeleteDocuments removes the documents matching f and their chunks,
	// atomically, and returns how many documents were removed. An empty
	// filter is Invalid (deleting everything must be explicit elsewhere).
	DeleteDocuments(ctx context.Context, f Filter) (int, error)
	// Chunk returns one stored chunk by id, or NotFound.
	Chunk(ctx context.Context, id string) (assist.Chunk, error)
	// Search returns up to q.K hits ordered by descending score, after
	// applying q.Filter. It returns Invalid for a query it cannot honour
	// (dense mode without vectors, a vector of the wrong dimension, an
	// unknown mode), and an empty slice when nothing matches.
	Search(ctx context.Context, q Query) ([]Hit, error)
	// Stats summarises the index.
	Stats(ctx context.Context) (Stats, error)
	// Close releases the index; later calls return Unavailable.
	Close() error
}

// EmbeddingBinder is implemented by indexes that store the embedding model
// with their data. BindEmbedding records m on an index that has none and
// returns Conflict when the index was built with a different model name or
// dimension: vectors of different models must never be mixed.
type EmbeddingBinder interface {
	BindEmbedding(ctx context.Context, m assist.ModelInfo) error
}

// HitView is the stable JSON shape of a hit, shared by the HTTP API and the
// CLI's --json output (benchmark scripts parse it: add fields, never rename).
type HitView struct {
	DocID     string            `json:"doc_id"`
	ChunkID   string            `json:"chunk_id"`
	Citation  string            `json:"citation"`
	Page      int               `json:"page"`
	Score     float64           `json:"score"`
	Text      string            `json:"text"`
	Corpus    assist.Corpus     `json:"corpus"`
	Source    string            `json:"source,omitempty"`
	Authority string            `json:"authority,omitempty"`
	Cite      assist.Citation   `json:"cite"`
	Meta      map[string]string `json:"meta,omitempty"`
}

// View renders h in the stable JSON shape.
func View(h Hit) HitView {
	c := h.Chunk
	return HitView{
		DocID: c.DocID, ChunkID: c.ID, Citation: c.Citation.String(), Page: c.Citation.Page,
		Score: h.Score, Text: c.Text, Corpus: c.Corpus, Source: c.Source, Authority: c.Authority,
		Cite: c.Citation, Meta: c.Meta,
	}
}
