// Package tickets loads service-desk tickets from CSV or JSON Lines into one
// document per ticket. Columns are mapped to ticket fields explicitly or
// detected from common header names in English and German (title → subject,
// Document → body, Topic_group → category, urgency → priority, resolution →
// answer); every other non-empty column is kept as a label in Meta.
package tickets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"amtsassist/assist"
)

// Options tune loading.
type Options struct {
	// Format is "csv" or "jsonl"; empty detects it from the name's
	// extension (.jsonl, .ndjson, .json) and otherwise from the first byte.
	Format string
	// Columns maps ticket fields (id, subject, body, category, queue,
	// priority, status, answer, created, language) to CSV columns or JSON
	// keys. Unmapped fields are detected from the header.
	Columns map[string]string
	// MaxRows limits the number of data rows; more is TooLarge. 0: no limit.
	MaxRows int
}

const (
	op = "ingest tickets"
	// maxLineBytes bounds one JSON line (and so one ticket).
	maxLineBytes = 8 << 20
	// maxWarnings keeps the first document's warning list readable; the
	// rest is summarised in one line.
	maxWarnings = 50
)

// Fields lists the ticket fields, in the order they are reported.
var Fields = []string{"id", "subject", "body", "category", "queue", "priority", "status", "answer", "created", "language"}

// synonyms are header names per field, most specific first; headers are
// compared after normalisation (lower case, no spaces, "-" or "_").
var synonyms = map[string][]string{
	"id":       {"id", "ticketid", "ticketnumber", "ticketno", "ticketnr", "ticketnummer", "vorgangsnummer", "issueid", "key", "number", "nr", "nummer"},
	"subject":  {"subject", "title", "summary", "shortdescription", "betreff", "titel", "kurzbeschreibung"},
	"body":     {"body", "description", "text", "document", "content", "message", "beschreibung", "nachricht", "inhalt", "details"},
	"category": {"category", "topicgroup", "topic", "kategorie", "thema", "class", "label"},
	"queue":    {"queue", "assignmentgroup", "group", "team", "warteschlange", "gruppe"},
	"priority": {"priority", "prio", "priorität", "prioritaet", "urgency", "dringlichkeit", "severity"},
	"status":   {"status", "state", "zustand"},
	"answer":   {"answer", "resolution", "solution", "response", "reply", "antwort", "lösung", "loesung"},
	"created":  {"created", "createdat", "createddate", "opened", "openedat", "date", "timestamp", "erstellt", "erstelltam", "datum"},
	"language": {"language", "lang", "sprache"},
}

func normalize(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		if r == ' ' || r == '_' || r == '-' || r == '.' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mapping resolves field → column index for a header.
type mapping struct {
	field  map[string]int // field → column
	extra  map[int]string // column → Meta key for label columns
	header []string
}

func newMapping(header []string, columns map[string]string) (*mapping, error) {
	m := &mapping{field: map[string]int{}, extra: map[int]string{}, header: header}
	used := map[int]bool{}
	exact := map[string]int{}
	norm := map[string]int{}
	for i, h := range header {
		if _, ok := exact[h]; !ok {
			exact[h] = i
		}
		if _, ok := norm[normalize(h)]; !ok {
			norm[normalize(h)] = i
		}
	}
	keys := make([]string, 0, len(columns))
	for f := range columns {
		keys = append(keys, f)
	}
	sort.Strings(keys)
	for _, f := range keys {
		col := columns[f]
		if _, ok := synonyms[f]; !ok {
			return nil, assist.Errorf(assist.Invalid, op, "unknown ticket field %q in column mapping (valid: %s)", f, strings.Join(Fields, ", "))
		}
		i, ok := exact[col]
		if !ok {
			i, ok = norm[normalize(col)]
		}
		if !ok {
			return nil, assist.Errorf(assist.Invalid, op, "column %q (mapped to %s) is not in the header; the header has: %s", col, f, strings.Join(header, ", "))
		}
		m.field[f] = i
		used[i] = true
	}
	for _, f := range Fields {
		if _, ok := m.field[f]; ok {
			continue
		}
		for _, syn := range synonyms[f] {
			if i, ok := norm[syn]; ok && !used[i] {
				m.field[f] = i
				used[i] = true
				break
			}
		}
	}
	_, hasSubject := m.field["subject"]
	_, hasBody := m.field["body"]
	if !hasSubject && !hasBody {
		return nil, assist.Errorf(assist.Invalid, op, "no subject or body column found; the header has: %s (map one with the subject or body column option)", strings.Join(header, ", "))
	}
	for i, h := range header {
		if used[i] {
			continue
		}
		key := metaKey(h)
		if key == "" {
			key = fmt.Sprintf("column_%d", i+1)
		}
		m.extra[i] = key
	}
	return m, nil
}

// metaKey turns a header into a Meta key: lower case, spaces to "_".
func metaKey(h string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(strings.TrimSpace(h)), func(r rune) bool {
		return unicode.IsSpace(r) || r == '-'
	}), "_")
}

// loader accumulates tickets.
type loader struct {
	name     string
	opts     Options
	docs     []assist.Document
	byID     map[string]int // id → line first seen
	warnings []string
	skipped  int
	rows     int
}

func (l *loader) warn(format string, args ...any) {
	l.skipped++
	if len(l.warnings) < maxWarnings {
		l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
	}
}

// Load reads tickets from r. name is the file or upload name: Source, and
// the basis of format detection. It returns Invalid for a missing mapped
// column (naming it and the header), a row with the wrong number of fields
// (naming the line), malformed JSON or input without any ticket; TooLarge
// when MaxRows is exceeded. Rows with neither subject nor body, and rows
// repeating an earlier ticket id or content, are skipped; the reasons are in
// the first document's Warnings.
func Load(ctx context.Context, name string, r io.Reader, opts Options) ([]assist.Document, error) {
	br := bufio.NewReader(r)
	format := strings.ToLower(opts.Format)
	if format == "" {
		format = detect(name, br)
	}
	l := &loader{name: name, opts: opts, byID: map[string]int{}}
	var err error
	switch format {
	case "csv":
		err = l.csv(ctx, br)
	case "jsonl", "ndjson":
		err = l.jsonl(ctx, br)
	default:
		return nil, assist.Errorf(assist.Invalid, op, "unknown ticket format %q (valid: csv, jsonl)", opts.Format)
	}
	if err != nil {
		return nil, err
	}
	if len(l.docs) == 0 {
		if l.skipped > 0 {
			return nil, assist.Errorf(assist.Invalid, op, "no tickets in %s: all %d rows were skipped (first: %s)", base(name), l.skipped, l.warnings[0])
		}
		return nil, assist.Errorf(assist.Invalid, op, "no tickets in %s", base(name))
	}
	if l.skipped > len(l.warnings) {
		l.warnings = append(l.warnings, fmt.Sprintf("%d more rows skipped", l.skipped-len(l.warnings)))
	}
	l.docs[0].Warnings = append(l.docs[0].Warnings, l.warnings...)
	return l.docs, nil
}

func base(name string) string { return path.Base(strings.ReplaceAll(name, "\\", "/")) }

func detect(name string, br *bufio.Reader) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	case ".csv", ".tsv", ".txt":
		return "csv"
	}
	head, _ := br.Peek(64)
	head = bytes.TrimPrefix(head, []byte("\ufeff"))
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return "jsonl"
	}
	return "csv"
}

// delimiter guesses the CSV separator from the header line: German
// spreadsheet exports use ";", some tools tabs.
func delimiter(br *bufio.Reader) rune {
	head, _ := br.Peek(4096)
	line, _, _ := bytes.Cut(head, []byte("\n"))
	best, n := ',', bytes.Count(line, []byte(","))
	for _, d := range []rune{';', '\t'} {
		if c := bytes.Count(line, []byte(string(d))); c > n {
			best, n = d, c
		}
	}
	return best
}

func (l *loader) csv(ctx context.Context, br *bufio.Reader) error {
	if head, _ := br.Peek(3); bytes.Equal(head, []byte("\ufeff")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = delimiter(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return assist.Errorf(assist.Invalid, op, "empty document")
	}
	if err != nil {
		return csvError(err)
	}
	header = append([]string(nil), header...)
	for i, h := range header {
		if !utf8.ValidString(h) {
			return assist.Errorf(assist.Invalid, op, "header column %d is not valid UTF-8", i+1)
		}
		header[i] = strings.TrimSpace(h)
	}
	m, err := newMapping(header, l.opts.Columns)
	if err != nil {
		return err
	}
	cr.FieldsPerRecord = len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if err := l.row(ctx, line, m, func(i int) string { return rec[i] }); err != nil {
			return err
		}
	}
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("line %d: wrong number of fields", pe.Line), Err: err}
		}
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("line %d: malformed CSV: %v", pe.Line, pe.Err), Err: err}
	}
	return &assist.Error{Op: op, Kind: assist.Invalid, Msg: "cannot read CSV", Err: err}
}

func (l *loader) jsonl(ctx context.Context, br *bufio.Reader) error {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	var m *mapping
	var keys map[string]int
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
		}
		if len(raw) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
			msg := fmt.Sprintf("line %d: not a JSON object (expected one object per line)", line)
			if err != nil {
				msg = fmt.Sprintf("line %d: malformed JSON (expected one object per line)", line)
			}
			return &assist.Error{Op: op, Kind: assist.Invalid, Msg: msg, Err: err}
		}
		if m == nil {
			// The first object defines the columns; later objects may
			// lack keys (empty values) but new keys are kept as labels.
			header := make([]string, 0, len(obj))
			for k := range obj {
				header = append(header, k)
			}
			sort.Strings(header)
			var err error
			if m, err = newMapping(header, l.opts.Columns); err != nil {
				return err
			}
			keys = map[string]int{}
			for i, h := range header {
				keys[h] = i
			}
		}
		for k := range obj {
			if _, ok := keys[k]; !ok {
				keys[k] = len(m.header)
				m.header = append(m.header, k)
				if key := metaKey(k); key != "" {
					m.extra[keys[k]] = key
				}
			}
		}
		vals := make([]string, len(m.header))
		for k, v := range obj {
			vals[keys[k]] = jsonString(v)
		}
		if err := l.row(ctx, line, m, func(i int) string { return vals[i] }); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return assist.Errorf(assist.TooLarge, op, "line %d: longer than %d bytes", line+1, maxLineBytes)
		}
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: "cannot read JSON lines", Err: err}
	}
	if m == nil {
		return assist.Errorf(assist.Invalid, op, "empty document")
	}
	return nil
}

func jsonString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return fmt.Sprint(t)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}

// row turns one record into a document, or a warning.
func (l *loader) row(ctx context.Context, line int, m *mapping, get func(int) string) error {
	l.rows++
	if l.opts.MaxRows > 0 && l.rows > l.opts.MaxRows {
		return assist.Errorf(assist.TooLarge, op, "%s has more than %d ticket rows", base(l.name), l.opts.MaxRows)
	}
	if l.rows%256 == 0 {
		if err := ctx.Err(); err != nil {
			return assist.E(assist.KindOf(err), op, err)
		}
	}
	field := func(f string) string {
		i, ok := m.field[f]
		if !ok {
			return ""
		}
		return clean(get(i))
	}
	for i := range m.header {
		if !utf8.ValidString(get(i)) {
			return assist.Errorf(assist.Invalid, op, "line %d: column %q is not valid UTF-8", line, m.header[i])
		}
	}
	subject, body := field("subject"), field("body")
	if subject == "" && body == "" {
		l.warn("line %d: skipped: neither subject nor body", line)
		return nil
	}
	id := field("id")
	if id == "" {
		// No id column (or an empty cell): a hash of the whole row keeps
		// the id stable across re-imports; identical rows merge.
		h := sha256.New()
		for i := range m.header {
			h.Write([]byte(get(i)))
			h.Write([]byte{0})
		}
		id = hex.EncodeToString(h.Sum(nil))[:16]
	}
	if first, dup := l.byID[id]; dup {
		l.warn("line %d: skipped: same ticket id %q as line %d", line, id, first)
		return nil
	}
	l.byID[id] = line
	meta := map[string]string{}
	for _, f := range Fields[3:] {
		if v := field(f); v != "" {
			meta[f] = v
		}
	}
	for i := range m.header { // in column order, so a repeated header keeps its first value
		key, ok := m.extra[i]
		if !ok {
			continue
		}
		if v := clean(get(i)); v != "" {
			if _, taken := meta[key]; !taken {
				meta[key] = v
			}
		}
	}
	title := subject
	if title == "" {
		title = prefix(body, 80)
	}
	text := subject
	if body != "" {
		if text != "" {
			text += "\n\n"
		}
		text += body
	}
	docID := "ticket:" + id
	chunkMeta := make(map[string]string, len(meta))
	for k, v := range meta {
		chunkMeta[k] = v
	}
	l.docs = append(l.docs, assist.Document{
		ID: docID, Corpus: assist.CorpusTickets, Title: title, Source: l.name, Format: "ticket", Meta: meta,
		Chunks: []assist.Chunk{{
			ID: "text", DocID: docID, Corpus: assist.CorpusTickets, Source: l.name, Text: text,
			Citation: assist.Citation{Document: "Ticket " + id + ": " + title},
			Meta:     chunkMeta,
		}},
	})
	return nil
}

// clean trims a cell and turns escaped line breaks ("\n" as two
// characters, common in exported ticket bodies) into real ones when the
// cell has no real line break.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.Contains(s, "\n") && strings.Contains(s, `\n`) {
		s = strings.NewReplacer(`\r\n`, "\n", `\n`, "\n", `\t`, " ").Replace(s)
	}
	return strings.TrimSpace(s)
}

func prefix(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	if i := strings.LastIndexByte(string(r), ' '); i > n/2 {
		return string(r)[:i] + " …"
	}
	return string(r) + "…"
}
