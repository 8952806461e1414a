package ingest

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"amtsassist/assist"
	"amtsassist/ingest/beir"
	"amtsassist/ingest/lawxml"
	"amtsassist/ingest/markdown"
	"amtsassist/ingest/pdf"
	"amtsassist/ingest/tickets"
)

// loadFormat calls the loader for format and applies the format's default
// corpus.
func loadFormat(ctx context.Context, format Format, src source, data []byte, opts Options) ([]assist.Document, error) {
	one := func(d assist.Document, err error) ([]assist.Document, error) {
		if err != nil {
			return nil, err
		}
		return []assist.Document{d}, nil
	}
	var docs []assist.Document
	var err error
	switch format {
	case FormatPDF:
		docs, err = one(pdf.Load(ctx, src.name, data))
	case FormatLawXML:
		docs, err = one(lawxml.Load(ctx, src.name, data, lawxml.Options{}))
	case FormatBEIR:
		docs, err = beir.Load(ctx, src.name, bytes.NewReader(data), beir.Options{})
	case FormatMarkdown, FormatText:
		docs, err = one(markdown.Load(ctx, src.name, data, markdown.Options{Plain: format == FormatText}))
	case FormatTicketsCSV, FormatTicketsJSONL:
		f := "csv"
		if format == FormatTicketsJSONL {
			f = "jsonl"
		}
		docs, err = tickets.Load(ctx, src.name, bytes.NewReader(data), tickets.Options{Format: f, Columns: opts.TicketColumns})
	default:
		return nil, assist.Errorf(assist.Invalid, "ingest", "unknown format %q (valid: lawxml, markdown, text, pdf, tickets-csv, tickets-jsonl, beir)", format)
	}
	if err != nil {
		return nil, err
	}
	for i := range docs {
		if docs[i].Format == "" {
			docs[i].Format = string(format)
		}
		if docs[i].Corpus == "" {
			docs[i].Corpus = defaultCorpus(format)
		}
	}
	return docs, nil
}

func defaultCorpus(f Format) assist.Corpus {
	switch f {
	case FormatLawXML:
		return assist.CorpusRegulations
	case FormatTicketsCSV, FormatTicketsJSONL:
		return assist.CorpusTickets
	}
	return assist.CorpusCases
}

// Files lists the files IngestPaths would read for paths, in order.
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, assist.E(assist.Invalid, "ingest", err)
		}
		srcs, err := collect(abs)
		if err != nil {
			return nil, err
		}
		for _, s := range srcs {
			out = append(out, s.path)
		}
	}
	return out, nil
}

// LoadFile reads and parses one file without indexing it: the documents
// as loaders return them (ids, corpus and hashes not yet normalised).
func LoadFile(ctx context.Context, path string, opts Options) ([]assist.Document, Format, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", assist.E(assist.Invalid, "ingest", err)
	}
	p := &Pipeline{cfg: Config{MaxFileBytes: DefaultMaxFileBytes}}
	l := p.load(ctx, 0, fileSource(abs), opts)
	return l.docs, l.format, l.err
}

// Extract returns the text of one document as a person should read it: the
// pages of a PDF (with a warning per page without a text layer), the chunks
// of every other format as one page.
func Extract(ctx context.Context, name string, data []byte, format Format) (pages, warnings []string, err error) {
	if format == FormatAuto {
		if format, err = Detect(name, data); err != nil {
			return nil, nil, err
		}
	}
	if format == FormatPDF {
		ps, err := pdf.Extract(ctx, data)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range ps {
			pages = append(pages, p.Text)
			switch {
			case p.NoTextLayer:
				warnings = append(warnings, fmt.Sprintf("page %d: no text layer (needs OCR)", p.Number))
			case p.Unreadable:
				warnings = append(warnings, fmt.Sprintf("page %d: text layer unreadable (needs OCR)", p.Number))
			}
		}
		return pages, warnings, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, assist.Errorf(assist.Invalid, "extract", "empty file")
	}
	docs, err := loadFormat(ctx, format, source{name: name, data: data}, data, Options{})
	if err != nil {
		return nil, nil, err
	}
	var b strings.Builder
	for _, d := range docs {
		warnings = append(warnings, d.Warnings...)
		for _, c := range d.Chunks {
			b.WriteString(c.Text)
			b.WriteString("\n\n")
		}
	}
	return []string{b.String()}, warnings, nil
}
