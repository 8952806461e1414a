// Package ingest turns files and uploads into indexed chunks: it detects the
// format, calls the loader (ingest/pdf, ingest/lawxml, ingest/markdown,
// ingest/tickets, ingest/beir), hashes every document, skips unchanged ones,
// embeds new chunks in batches and writes each batch atomically to the index.
// Re-ingesting unchanged input writes nothing.
package ingest

import (
	"time"

	"amtsassist/assist"
)

// Format names an input format. FormatAuto detects it from the name and
// the first bytes.
type Format string

const (
	FormatAuto         Format = ""
	FormatLawXML       Format = "lawxml"   // gesetze-im-internet.de XML
	FormatMarkdown     Format = "markdown" // incl. REVOSax and one-file-per-§ with front matter
	FormatText         Format = "text"
	FormatPDF          Format = "pdf"
	FormatTicketsCSV   Format = "tickets-csv"
	FormatTicketsJSONL Format = "tickets-jsonl"
	FormatBEIR         Format = "beir" // BEIR corpus.jsonl (_id, title, text)
)

// Options apply to one ingest run.
type Options struct {
	// Corpus overrides the loader's default corpus (law → regulations,
	// ticket → tickets, everything else → cases).
	Corpus    assist.Corpus
	Authority string
	// Format forces a format instead of detection.
	Format Format
	// TicketColumns maps ticket fields to CSV columns / JSON keys
	// ("id", "subject", "body", "category", "queue", "priority", "status",
	// "answer", "created"); unmapped fields are detected from the header.
	TicketColumns map[string]string
	// Prune deletes documents that came from below the given paths but were
	// not seen in this run (only for IngestPaths).
	Prune bool
	// Progress, when set, is called after every source (from one
	// goroutine), e.g. to draw a progress bar.
	Progress func(Progress) `json:"-"`
}

// Input is one in-memory source, e.g. an HTTP upload.
type Input struct {
	Name string // file name as uploaded; used for detection and messages
	Data []byte
	// ID, when set, becomes the document id of a single-document input.
	ID    string
	Title string
}

// FileResult reports one source.
type FileResult struct {
	Source    string   `json:"source"`
	Format    Format   `json:"format,omitempty"`
	Documents int      `json:"documents"`
	Chunks    int      `json:"chunks"` // chunks written (new or changed documents only)
	New       int      `json:"new"`
	Changed   int      `json:"changed"`
	Unchanged int      `json:"unchanged"`
	Warnings  []string `json:"warnings,omitempty"`
	Error     string   `json:"error,omitempty"` // why the source failed; nothing of it was written
	DocIDs    []string `json:"doc_ids,omitempty"`
}

// Report summarises an ingest run.
type Report struct {
	Files     []FileResult  `json:"files"`
	Documents int           `json:"documents"`
	New       int           `json:"new"`
	Changed   int           `json:"changed"`
	Unchanged int           `json:"unchanged"`
	Deleted   int           `json:"deleted"`
	Chunks    int           `json:"chunks"` // chunks written
	Failed    int           `json:"failed"` // sources that failed
	Embedded  bool          `json:"embedded"`
	Duration  time.Duration `json:"duration_ns"`
}

// Progress is sent to Options.Progress after every source.
type Progress struct {
	Done, Total int
	Source      string
}
