// Package beir reads retrieval benchmarks in the BEIR layout used by BEIR and
// MTEB: corpus.jsonl (_id, title, text) becomes documents whose ids are the
// corpus ids, so that hits can be scored against qrels; queries.jsonl and
// qrels/test.tsv are read for the evaluation harness.
package beir

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"amtsassist/assist"
	"amtsassist/ingest/split"
)

// Options control how corpus texts are cut into passages.
type Options struct {
	// MaxRunes and Overlap are passed to split.Text; zero values mean
	// split.DefaultMaxRunes and split.DefaultOverlap.
	MaxRunes, Overlap int
}

// maxLine bounds one JSONL line: long court decisions are a few hundred KB.
const maxLine = 64 << 20

type corpusLine struct {
	ID    *json.RawMessage `json:"_id"`
	Title string           `json:"title"`
	Text  string           `json:"text"`
}

// Load reads a BEIR corpus.jsonl from r; name is used in messages. Every
// line becomes one Document with ID = _id, Format "beir" and one chunk per
// passage (chunk ids "s<n>"; the pipeline prefixes the document id). A malformed line, a missing or
// duplicate _id, or an empty corpus is Invalid; a line longer than 64 MiB
// is TooLarge.
func Load(ctx context.Context, name string, r io.Reader, opts Options) ([]assist.Document, error) {
	const op = "load beir corpus"
	maxRunes, overlap := opts.MaxRunes, opts.Overlap
	if maxRunes <= 0 {
		maxRunes = split.DefaultMaxRunes
	}
	if overlap <= 0 {
		overlap = split.DefaultOverlap
	}
	var docs []assist.Document
	seen := map[string]int{}
	err := eachLine(r, func(n int, line []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var cl corpusLine
		if err := json.Unmarshal(line, &cl); err != nil {
			return assist.Errorf(assist.Invalid, op, "%s line %d: not a JSON object: %v", name, n, jsonProblem(err))
		}
		id, err := idString(cl.ID)
		if err != nil {
			return assist.Errorf(assist.Invalid, op, "%s line %d: %v", name, n, err)
		}
		if prev, ok := seen[id]; ok {
			return assist.Errorf(assist.Invalid, op, "%s line %d: duplicate _id %q (first on line %d)", name, n, id, prev)
		}
		seen[id] = n
		cite := cl.Title
		if cite == "" {
			cite = id
		}
		doc := assist.Document{ID: id, Title: cl.Title, Source: name, Format: "beir"}
		for i, p := range split.Text(cl.Text, maxRunes, overlap) {
			doc.Chunks = append(doc.Chunks, assist.Chunk{
				ID:       "s" + strconv.Itoa(i),
				DocID:    id,
				Source:   name,
				Ordinal:  i,
				Text:     p,
				Citation: assist.Citation{Document: cite},
			})
		}
		if len(doc.Chunks) == 0 {
			doc.Warnings = append(doc.Warnings, "empty text")
		}
		docs = append(docs, doc)
		return nil
	})
	if err != nil {
		return nil, wrap(op, name, err)
	}
	if len(docs) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "%s: empty corpus", name)
	}
	return docs, nil
}

// Query is one benchmark question.
type Query struct {
	ID      string
	Text    string
	Answers []string
}

type queryLine struct {
	ID      *json.RawMessage `json:"_id"`
	Text    string           `json:"text"`
	Answers []string         `json:"answers"`
}

// ReadQueries reads a BEIR queries.jsonl. Malformed lines, missing or
// duplicate ids, empty texts and an empty file are Invalid.
func ReadQueries(ctx context.Context, name string, r io.Reader) ([]Query, error) {
	const op = "read beir queries"
	var qs []Query
	seen := map[string]int{}
	err := eachLine(r, func(n int, line []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var ql queryLine
		if err := json.Unmarshal(line, &ql); err != nil {
			return assist.Errorf(assist.Invalid, op, "%s line %d: not a JSON object: %v", name, n, jsonProblem(err))
		}
		id, err := idString(ql.ID)
		if err != nil {
			return assist.Errorf(assist.Invalid, op, "%s line %d: %v", name, n, err)
		}
		if prev, ok := seen[id]; ok {
			return assist.Errorf(assist.Invalid, op, "%s line %d: duplicate _id %q (first on line %d)", name, n, id, prev)
		}
		seen[id] = n
		if strings.TrimSpace(ql.Text) == "" {
			return assist.Errorf(assist.Invalid, op, "%s line %d: query %q has no text", name, n, id)
		}
		qs = append(qs, Query{ID: id, Text: ql.Text, Answers: ql.Answers})
		return nil
	})
	if err != nil {
		return nil, wrap(op, name, err)
	}
	if len(qs) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "%s: no queries", name)
	}
	return qs, nil
}

// Qrels maps a query id to the relevance grade of each judged corpus id.
type Qrels map[string]map[string]int

// ReadQrels reads a BEIR qrels TSV (query-id, corpus-id, score) with an
// optional header line. Lines with the wrong number of fields or a
// non-integer score are Invalid, and so is a file without judgements.
func ReadQrels(name string, r io.Reader) (Qrels, error) {
	const op = "read beir qrels"
	q := Qrels{}
	err := eachLine(r, func(n int, line []byte) error {
		f := strings.Split(strings.TrimRight(string(line), "\r"), "\t")
		if len(f) != 3 {
			return assist.Errorf(assist.Invalid, op, "%s line %d: want 3 tab-separated fields (query-id, corpus-id, score), got %d", name, n, len(f))
		}
		score, err := strconv.Atoi(strings.TrimSpace(f[2]))
		if err != nil {
			// Some exports write grades as floats ("1.0").
			if v, ferr := strconv.ParseFloat(strings.TrimSpace(f[2]), 64); ferr == nil && v == float64(int(v)) {
				score, err = int(v), nil
			}
		}
		if err != nil {
			if n == 1 { // header
				return nil
			}
			return assist.Errorf(assist.Invalid, op, "%s line %d: score %q is not an integer", name, n, f[2])
		}
		if f[0] == "" || f[1] == "" {
			return assist.Errorf(assist.Invalid, op, "%s line %d: empty query-id or corpus-id", name, n)
		}
		if q[f[0]] == nil {
			q[f[0]] = map[string]int{}
		}
		q[f[0]][f[1]] = score
		return nil
	})
	if err != nil {
		return nil, wrap(op, name, err)
	}
	if len(q) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "%s: no relevance judgements", name)
	}
	return q, nil
}

// eachLine calls fn with every non-blank line and its 1-based number.
func eachLine(r io.Reader, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return assist.Errorf(assist.TooLarge, "", "line %d is longer than %d MiB", n+1, maxLine>>20)
		}
		return err
	}
	return nil
}

// idString accepts string and numeric _id values (some BEIR exports write
// numbers) and rejects everything else.
func idString(raw *json.RawMessage) (string, error) {
	if raw == nil {
		return "", errors.New("missing _id")
	}
	var s string
	if err := json.Unmarshal(*raw, &s); err == nil {
		if strings.TrimSpace(s) == "" {
			return "", errors.New("empty _id")
		}
		return s, nil
	}
	var num json.Number
	if err := json.Unmarshal(*raw, &num); err == nil {
		return num.String(), nil
	}
	return "", errors.New("_id must be a string or a number")
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + te.Field + " has the wrong type"
	}
	return "invalid JSON"
}

// wrap keeps *assist.Error values (filling in the op and the file name) and
// classifies everything else.
func wrap(op, name string, err error) error {
	var ae *assist.Error
	if errors.As(err, &ae) {
		if ae.Op == "" {
			ae.Op = op
			ae.Msg = name + ": " + ae.Msg
		}
		return ae
	}
	switch {
	case errors.Is(err, context.Canceled):
		return assist.E(assist.Canceled, op, err)
	case errors.Is(err, context.DeadlineExceeded):
		return assist.E(assist.Timeout, op, err)
	}
	return &assist.Error{Op: op, Kind: assist.Invalid, Msg: name + ": cannot read input", Err: err}
}
