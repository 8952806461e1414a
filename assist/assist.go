// Package assist holds the domain of Amtsassist: documents, chunks, citations,
// the small interfaces the use cases depend on (Embedder, ChatModel) and the
// error type whose kinds the HTTP layer maps to statuses.
//
// It imports the standard library only; every backend implements these types
// in a package of its own (assist/ollama, rag/local, ...).
package assist

import (
	"context"
	"fmt"
	"strings"
)

// Corpus names a searchable collection. Every chunk belongs to exactly one.
type Corpus string

const (
	// CorpusRegulations holds laws, ordinances and administrative rules.
	CorpusRegulations Corpus = "regulations"
	// CorpusCases holds documents belonging to an administrative case (e-Akte).
	CorpusCases Corpus = "cases"
	// CorpusTickets holds past service-desk tickets.
	CorpusTickets Corpus = "tickets"
)

// Corpora lists every valid corpus.
var Corpora = []Corpus{CorpusRegulations, CorpusCases, CorpusTickets}

// ParseCorpus returns the corpus named s, or an Invalid error.
func ParseCorpus(s string) (Corpus, error) {
	for _, c := range Corpora {
		if string(c) == s {
			return c, nil
		}
	}
	return "", Errorf(Invalid, "parse corpus", "unknown corpus %q (valid: regulations, cases, tickets)", s)
}

// Document is one ingested source: a law, a PDF, a Markdown file, a ticket or
// a benchmark passage collection. Its chunks are what the index stores.
type Document struct {
	// ID is stable across re-ingests of the same source: the law
	// abbreviation for federal law XML ("WoGG"), the BEIR _id, "ticket:<id>"
	// for tickets, a path-derived id for files.
	ID        string
	Corpus    Corpus
	Title     string
	Source    string // file path or upload name the document came from
	Format    string // "lawxml", "markdown", "text", "pdf", "ticket", "beir"
	Authority string // issuing or owning authority; empty for federal law
	// Hash is the SHA-256 (hex) of the document's content as loaded. Equal
	// hashes mean re-ingesting writes nothing.
	Hash   string
	Meta   map[string]string
	Chunks []Chunk
	// Warnings are non-fatal findings of the loader, e.g. "page 3: no text
	// layer (needs OCR)". They are reported to the user, never dropped.
	Warnings []string
}

// Chunk is the unit of retrieval.
type Chunk struct {
	ID        string // unique in the index: DocID + "#" + a structural anchor or ordinal
	DocID     string
	Corpus    Corpus
	Authority string
	Source    string
	Ordinal   int // position within the document, from 0
	Text      string
	Citation  Citation
	// Meta carries filterable attributes such as "status", "category",
	// "priority" for tickets, or "kind" ("paragraph", "annex") for laws.
	Meta map[string]string
	// Hash is the SHA-256 (hex) of Text and Citation; set by the pipeline.
	Hash   string
	Vector []float32 `json:",omitempty"`
}

// Citation locates a chunk precisely enough for a clerk to find it in print.
type Citation struct {
	Law        string   `json:"law,omitempty"`       // abbreviation: "WoGG", "SächsVwVfZG"
	Section    string   `json:"section,omitempty"`   // "§ 19", "Art. 3", "Anlage 1"
	Paragraph  string   `json:"paragraph,omitempty"` // Absatz: "1"
	Heading    string   `json:"heading,omitempty"`
	Breadcrumb []string `json:"breadcrumb,omitempty"` // Teil/Abschnitt/Kapitel headings
	Stand      string   `json:"stand,omitempty"`      // date of the consolidated version, YYYY-MM-DD
	Document   string   `json:"document,omitempty"`   // title or file name for non-law documents
	Page       int      `json:"page,omitempty"`       // 1-based PDF page; 0 when not paginated
}

// String renders the citation the way German administrative texts cite:
// "§ 19 Abs. 1 WoGG", "Anlage 2 WoGG", "bescheid.pdf, S. 3".
func (c Citation) String() string {
	var parts []string
	if c.Section != "" {
		s := c.Section
		if c.Paragraph != "" {
			s += " Abs. " + c.Paragraph
		}
		if c.Law != "" {
			s += " " + c.Law
		}
		parts = append(parts, s)
	} else if c.Law != "" {
		parts = append(parts, c.Law)
	}
	if c.Document != "" && c.Section == "" {
		parts = append(parts, c.Document)
	}
	if c.Page > 0 {
		parts = append(parts, fmt.Sprintf("S. %d", c.Page))
	}
	return strings.Join(parts, ", ")
}

// ModelInfo identifies a model. It is stored with an index so that vectors
// from different models are never mixed.
type ModelInfo struct {
	Name      string `json:"name"`
	Digest    string `json:"digest,omitempty"`
	Dimension int    `json:"dimension,omitempty"`
	// ContextLength is the model's maximum context in tokens, when known.
	ContextLength int `json:"context_length,omitempty"`
}

// Embedder turns texts into vectors.
type Embedder interface {
	// Embed returns one vector per text, in order. It returns Unavailable
	// when the model server cannot be reached, NotFound when the model is
	// not installed (the message names the fix), Timeout when the deadline
	// passes, and Invalid for empty input.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model describes the embedding model; Dimension is known after the
	// first successful call or after Check.
	Model() ModelInfo
}

// Checker is implemented by dependencies that readiness probes can check.
type Checker interface {
	// Check returns nil when the dependency is usable right now.
	Check(ctx context.Context) error
}
