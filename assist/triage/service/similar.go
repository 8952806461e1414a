package service

import (
	"context"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/rag"
)

const (
	// searchK is how many past tickets one triage looks at; the few-shot
	// examples and the similar list are taken from them.
	searchK = 30
	// maxQueryBytes bounds the query text: the subject and the start of
	// the body carry the topic; long bodies only slow the search.
	maxQueryBytes = 2000
	// dupSimilarity is the word-set Jaccard similarity above which two
	// tickets count as near-identical.
	dupSimilarity = 0.9
	// sameSubjectSimilarity is the lower bar for tickets whose normalised
	// subjects are equal: generic subjects ("Frage", "Problem") alone do
	// not make two tickets the same.
	sameSubjectSimilarity = 0.5
)

// search finds past tickets of t's desk, never of another desk.
func (s *Service) search(ctx context.Context, t triage.Ticket) ([]rag.Hit, error) {
	q := rag.Query{
		Text: truncate(t.Text(), maxQueryBytes),
		K:    searchK,
		Filter: rag.Filter{
			Corpus:    []assist.Corpus{assist.CorpusTickets},
			Authority: []string{t.Desk},
		},
		DistinctDocs: true,
	}
	hits, err := s.cfg.Retriever.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	out := hits[:0]
	for _, h := range hits {
		// The filter is the index's job; checking again costs nothing and
		// keeps one desk's tickets out of another's suggestions even with
		// a faulty backend.
		if h.Chunk.Authority != t.Desk || (t.ID != "" && ticketID(h.Chunk) == t.ID) {
			continue
		}
		out = append(out, h)
	}
	return out, nil
}

// resolvedStatuses are ticket states whose answer is final.
var resolvedStatuses = map[string]bool{
	"resolved": true, "closed": true, "done": true, "solved": true,
	"geschlossen": true, "gelöst": true, "geloest": true, "erledigt": true, "abgeschlossen": true,
}

// resolved reports whether a past ticket may give an answer: a final
// status, or an answer on record.
func resolved(c assist.Chunk) bool {
	return resolvedStatuses[strings.ToLower(strings.TrimSpace(c.Meta["status"]))] ||
		strings.TrimSpace(c.Meta["answer"]) != ""
}

// ticketID is the ticket's own id: its document id without the "ticket:"
// prefix of the loader and the "<desk>/" namespace the pipeline adds, so
// that equal ticket numbers of two desks do not overwrite each other.
func ticketID(c assist.Chunk) string {
	id := strings.TrimPrefix(c.DocID, "ticket:")
	if c.Authority != "" {
		id = strings.TrimPrefix(id, c.Authority+"/")
	}
	return id
}

func subjectOf(c assist.Chunk) string {
	subj, _, _ := strings.Cut(c.Text, "\n\n")
	return truncate(strings.TrimSpace(subj), 200)
}

// categoryOf returns the ticket's category label when it is one of the
// taxonomy's (tickets label it as "category" or as "queue").
func categoryOf(c assist.Chunk, tax Desk) string {
	for _, k := range []string{"category", "queue"} {
		if v := c.Meta[k]; v != "" && tax.HasCategory(v) {
			return v
		}
	}
	return ""
}

// example is one few-shot example: a past ticket with its labels.
type example struct {
	Text, Category, Priority string
}

// fewShot picks up to n of the best hits whose category is in the
// taxonomy; labels outside it would teach the model invalid answers.
func fewShot(hits []rag.Hit, tax Desk, n int) []example {
	var out []example
	for _, h := range hits {
		cat := categoryOf(h.Chunk, tax)
		if cat == "" {
			continue
		}
		prio := h.Chunk.Meta["priority"]
		if !tax.HasPriority(prio) {
			prio = ""
		}
		out = append(out, example{Text: truncate(h.Chunk.Text, 600), Category: cat, Priority: prio})
		if len(out) == n {
			break
		}
	}
	return out
}

// similar ranks resolved hits by relevance × recency, drops near-identical
// ones (word-set Jaccard > 0.9, or > 0.5 with the same normalised
// subject) and returns the best n.
//
// Relevance is the hit's score divided by the best score (so 1 is the best
// match); recency multiplies it by 0.5 + 0.5·2^(−age/HalfLife): a ticket
// HalfLife old (default 180 days) weighs 0.75, a very old one 0.5, never
// less, because an old fix often still applies. Tickets without a readable
// date weigh 0.75.
func (s *Service) similar(hits []rag.Hit, n int) []triage.Similar {
	var top float64
	for _, h := range hits {
		top = math.Max(top, h.Score)
	}
	now := s.cfg.Now()
	type cand struct {
		sim   triage.Similar
		words map[string]bool
		norm  string
	}
	var cands []cand
	for _, h := range hits {
		c := h.Chunk
		if !resolved(c) {
			continue
		}
		rel := 1.0
		if top > 0 {
			rel = h.Score / top
		}
		created := c.Meta["created"]
		weight := 0.75
		if at, ok := parseTime(created); ok {
			age := now.Sub(at)
			if age < 0 {
				age = 0
			}
			weight = 0.5 + 0.5*math.Exp2(-float64(age)/float64(s.cfg.HalfLife))
		}
		cands = append(cands, cand{
			sim: triage.Similar{
				ID: ticketID(c), Subject: subjectOf(c), Category: firstNonEmpty(c.Meta["category"], c.Meta["queue"]),
				Answer: strings.TrimSpace(c.Meta["answer"]), Score: round(rel * weight), Created: created,
			},
			words: wordSet(c.Text),
			norm:  normSubject(subjectOf(c)),
		})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].sim.Score > cands[j].sim.Score })
	var kept []cand
	for _, c := range cands {
		dup := false
		for _, k := range kept {
			j := jaccard(c.words, k.words)
			if j > dupSimilarity || (c.norm != "" && c.norm == k.norm && j > sameSubjectSimilarity) {
				dup = true
				break
			}
		}
		if !dup {
			kept = append(kept, c)
			if len(kept) == n {
				break
			}
		}
	}
	out := make([]triage.Similar, len(kept))
	for i, k := range kept {
		out[i] = k.sim
	}
	return out
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02", "02.01.2006 15:04", "02.01.2006"}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// normSubject lower-cases a subject and drops reply prefixes and
// punctuation, so "AW: Drucker defekt!" equals "drucker defekt".
func normSubject(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for {
		trimmed := false
		for _, p := range []string{"re:", "aw:", "wg:", "fw:", "fwd:"} {
			if strings.HasPrefix(s, p) {
				s = strings.TrimSpace(s[len(p):])
				trimmed = true
			}
		}
		if !trimmed {
			break
		}
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " ")
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		m[w] = true
	}
	return m
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for w := range a {
		if b[w] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
