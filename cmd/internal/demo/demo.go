// Package demo holds the small demo corpus the project ships: two invented
// municipal norms and ten invented service-desk tickets, written for
// Amtsassist, so that a fresh checkout has something to search.
package demo

import (
	"embed"
	"io/fs"
	"path"
	"strings"

	"amtsassist/assist"
	"amtsassist/ingest"
)

//go:embed corpus
var files embed.FS

// Authority is the invented authority the demo documents belong to.
const Authority = "Stadt Musterstadt"

// Batch is one group of demo inputs with its ingest options.
type Batch struct {
	Inputs  []ingest.Input
	Options ingest.Options
}

// Batches returns the demo corpus: the norms as regulations, the tickets
// as tickets.
func Batches() []Batch {
	norms := Batch{Options: ingest.Options{Corpus: assist.CorpusRegulations, Authority: Authority}}
	tickets := Batch{Options: ingest.Options{Corpus: assist.CorpusTickets, Authority: Authority}}
	entries, _ := fs.ReadDir(files, "corpus")
	for _, e := range entries {
		data, _ := files.ReadFile(path.Join("corpus", e.Name()))
		in := ingest.Input{Name: "demo/" + e.Name(), Data: data}
		if strings.HasSuffix(e.Name(), ".csv") {
			tickets.Inputs = append(tickets.Inputs, in)
		} else {
			norms.Inputs = append(norms.Inputs, in)
		}
	}
	return []Batch{norms, tickets}
}
