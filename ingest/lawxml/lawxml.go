// Package lawxml loads federal law in the XML format of
// gesetze-im-internet.de (one <norm> per §, Anlage or structure heading)
// into a document with one chunk per § or Anlage, split per Absatz when a §
// is long, each carrying a full citation (law, §, Absatz, heading,
// Teil/Abschnitt breadcrumb, Stand).
//
// The XML comes from outside, so parsing is defensive: DOCTYPEs that declare
// entities are refused before anything is expanded (encoding/xml would not
// expand them anyway, but the user deserves a precise message), and element
// depth and token count are bounded.
package lawxml

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/ingest/split"
)

// Options tune loading.
type Options struct {
	// Stand is the date of the consolidated version (YYYY-MM-DD), e.g. from
	// a meta.json next to the XML. Empty: derived from the XML's
	// standangabe ("Zuletzt geändert durch … v. 16.4.2026 …").
	Stand string
}

const (
	op = "ingest lawxml"
	// maxDepth is far above what the gii DTD produces (about 12) but stops
	// pathological nesting before it costs stack or memory.
	maxDepth = 100
	// maxTokens bounds the work per document; the largest real law
	// (SGB X, 312 KB) has about 20,000 tokens.
	maxTokens = 2_000_000
	// absatzSplitRunes is the § length above which a § is chunked per
	// Absatz: shorter §§ read best whole.
	absatzSplitRunes = 2500
	// maxChunkRunes is the size above which a single Absatz or an
	// unnumbered text (tables in Anlagen) is cut further with split.Text.
	maxChunkRunes = 4000
)

// node is a minimal element tree; text nodes have an empty name.
type node struct {
	name string
	attr []xml.Attr
	kids []*node
	text string
}

func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (n *node) attrValue(name string) string {
	for _, a := range n.attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// plain returns the concatenated text below n with whitespace collapsed.
func (n *node) plain() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*node)
	walk = func(n *node) {
		if n.name == "" {
			b.WriteString(n.text)
			return
		}
		if n.name == "BR" {
			b.WriteByte(' ')
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// parse builds the element tree with depth and token limits.
func parse(ctx context.Context, data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("unsupported XML encoding %q (only UTF-8)", charset)
	}
	root := &node{}
	stack := []*node{root}
	for tokens := 0; ; tokens++ {
		if tokens > maxTokens {
			return nil, assist.Errorf(assist.TooLarge, op, "law XML has more than %d XML tokens", maxTokens)
		}
		if tokens%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, assist.E(assist.KindOf(err), op, err)
			}
		}
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "malformed law XML: " + err.Error()}
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > maxDepth {
				return nil, assist.Errorf(assist.Invalid, op, "law XML nests elements deeper than %d levels", maxDepth)
			}
			n := &node{name: t.Name.Local, attr: t.Copy().Attr}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 1 || stack[len(stack)-1].name != t.Name.Local {
				return nil, assist.Errorf(assist.Invalid, op, "malformed law XML: unexpected </%s> on line %d", t.Name.Local, lineOf(d))
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 1 {
				top.kids = append(top.kids, &node{text: string(t)})
			}
		case xml.Directive:
			if bytes.Contains(bytes.ToUpper(t), []byte("<!ENTITY")) {
				return nil, assist.Errorf(assist.Invalid, op, "law XML declares entities in its DOCTYPE; refused (entity expansion is not supported)")
			}
		}
	}
	if len(stack) != 1 {
		return nil, assist.Errorf(assist.Invalid, op, "malformed law XML: element <%s> is not closed", stack[len(stack)-1].name)
	}
	var doc *node
	for _, k := range root.kids {
		if k.name != "" {
			doc = k
			break
		}
	}
	if doc == nil {
		return nil, assist.Errorf(assist.Invalid, op, "law XML has no root element")
	}
	if doc.name != "dokumente" {
		return nil, assist.Errorf(assist.Invalid, op, "not a gesetze-im-internet.de XML: root element is <%s>, want <dokumente>", doc.name)
	}
	return doc, nil
}

func lineOf(d *xml.Decoder) int {
	line, _ := d.InputPos()
	return line
}

var standDate = regexp.MustCompile(`v\.\s*(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})`)

// standFrom derives the Stand date from the standangabe elements: the
// "Stand" entry names the last amending act with its date.
func standFrom(meta *node) string {
	var fallback string
	for _, k := range meta.kids {
		if k.name != "standangabe" {
			continue
		}
		typ := strings.ToLower(k.child("standtyp").plain())
		m := standDate.FindStringSubmatch(k.child("standkommentar").plain())
		if m == nil {
			continue
		}
		date := fmt.Sprintf("%s-%s-%s", m[3], pad2(m[2]), pad2(m[1]))
		if typ == "stand" {
			return date
		}
		if fallback == "" && typ == "neuf" {
			fallback = date
		}
	}
	return fallback
}

func pad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// section is one § or Anlage before chunking.
type section struct {
	enbez, heading string
	breadcrumb     []string
	blocks         []string
	kind           string
}

// Load parses one gesetze-im-internet.de XML file. name is the file or
// upload name, used as Source and in messages. It returns Invalid for
// anything that is not well-formed law XML with at least one § or Anlage.
func Load(ctx context.Context, name string, data []byte, opts Options) (assist.Document, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "empty document")
	}
	if !utf8.Valid(data) {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "%s is not valid UTF-8", name)
	}
	root, err := parse(ctx, data)
	if err != nil {
		return assist.Document{}, err
	}
	var (
		abbr, jurabk, title string
		stand               = opts.Stand
		sections            []section
		// levels holds the current structure headings by depth (the
		// gliederungskennzahl has three digits per level).
		levels []string
	)
	for _, norm := range root.kids {
		if norm.name != "norm" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return assist.Document{}, assist.E(assist.KindOf(err), op, err)
		}
		meta := norm.child("metadaten")
		if meta == nil {
			continue
		}
		if jurabk == "" {
			jurabk = meta.child("jurabk").plain()
		}
		if abbr == "" {
			abbr = meta.child("amtabk").plain()
		}
		if title == "" {
			title = meta.child("langue").plain()
		}
		if stand == "" {
			stand = standFrom(meta)
		}
		if g := meta.child("gliederungseinheit"); g != nil {
			levels = enterLevel(levels, g)
		}
		// "(XXXX)" marks repealed ranges in some laws; it is not part of the
		// citation.
		enbez := strings.Join(strings.Fields(strings.ReplaceAll(meta.child("enbez").plain(), "(XXXX)", "")), " ")
		if enbez == "" || strings.EqualFold(enbez, "Inhaltsübersicht") || strings.EqualFold(enbez, "Inhaltsverzeichnis") {
			continue
		}
		s := section{enbez: enbez, heading: meta.child("titel").plain(), kind: kindOf(enbez)}
		if s.kind != "annex" {
			s.breadcrumb = append([]string(nil), compact(levels)...)
		}
		if td := norm.child("textdaten"); td != nil {
			if tx := td.child("text"); tx != nil {
				s.blocks = render(tx)
			}
		}
		sections = append(sections, s)
	}
	if abbr == "" {
		abbr = jurabk
	}
	if abbr == "" {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "law XML has no abbreviation (<jurabk> or <amtabk>)")
	}
	if len(sections) == 0 {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "law XML for %s has no § or Anlage", abbr)
	}
	if title == "" {
		title = abbr
	}
	doc := assist.Document{
		ID:     abbr,
		Corpus: assist.CorpusRegulations,
		Title:  title,
		Source: name,
		Format: "lawxml",
		Meta:   map[string]string{"law": abbr},
	}
	if jurabk != "" && jurabk != abbr {
		doc.Meta["jurabk"] = jurabk
	}
	if stand != "" {
		doc.Meta["stand"] = stand
	} else {
		doc.Warnings = append(doc.Warnings, "no Stand date found in the XML's standangabe; citations carry no Stand")
	}
	used := map[string]int{}
	for _, s := range sections {
		doc.Chunks = append(doc.Chunks, chunk(&doc, abbr, stand, s, used)...)
	}
	for i := range doc.Chunks {
		doc.Chunks[i].Ordinal = i
	}
	return doc, nil
}

// enterLevel updates the breadcrumb stack with a structure heading.
func enterLevel(levels []string, g *node) []string {
	code := strings.TrimSpace(g.child("gliederungskennzahl").plain())
	depth := len(code) / 3
	if depth < 1 {
		depth = 1
	}
	if depth > 10 {
		depth = 10
	}
	label := strings.TrimSpace(g.child("gliederungsbez").plain() + " " + g.child("gliederungstitel").plain())
	for len(levels) < depth {
		levels = append(levels, "")
	}
	levels = levels[:depth]
	levels[depth-1] = label
	return levels
}

func compact(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

func kindOf(enbez string) string {
	switch {
	case strings.HasPrefix(enbez, "Anlage"), strings.HasPrefix(enbez, "Anhang"):
		return "annex"
	default:
		return "paragraph"
	}
}

var (
	absatzStart = regexp.MustCompile(`^\((\d+[a-z]?)\)\s`)
	anchorClean = regexp.MustCompile(`[^a-z0-9]+`)
	numberRe    = regexp.MustCompile(`\d+[a-z]?`)
)

// anchor turns an enbez into a short chunk id: "§ 19a" → "p19a",
// "Art. 3" → "art3", "Anlage 2" → "anlage-2", "§§ 31 bis 34" → "p31-34".
func anchor(enbez string) string {
	e := strings.ToLower(enbez)
	nums := numberRe.FindAllString(e, -1)
	prefix := ""
	switch t := strings.TrimSpace(e); {
	case strings.HasPrefix(t, "§"):
		prefix = "p"
	case strings.HasPrefix(t, "art"):
		prefix = "art"
	}
	if prefix == "" || len(nums) == 0 {
		e = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss").Replace(e)
		return strings.Trim(anchorClean.ReplaceAllString(e, "-"), "-")
	}
	if len(nums) >= 2 && strings.Contains(e, " bis ") {
		return prefix + nums[0] + "-" + nums[len(nums)-1]
	}
	return prefix + nums[0]
}

// chunk cuts one section into chunks.
func chunk(doc *assist.Document, abbr, stand string, s section, used map[string]int) []assist.Chunk {
	base := anchor(s.enbez)
	if base == "" {
		base = "s"
	}
	if n := used[base]; n > 0 {
		used[base] = n + 1
		base = fmt.Sprintf("%s-%d", base, n+1)
	} else {
		used[base] = 1
	}
	headLine := strings.TrimSpace(s.enbez + " " + abbr + " " + s.heading)
	cite := assist.Citation{Law: abbr, Section: s.enbez, Heading: s.heading, Breadcrumb: s.breadcrumb, Stand: stand}
	meta := map[string]string{"kind": s.kind}
	body := strings.Join(s.blocks, "\n\n")
	if isRepealed(s, body) {
		meta["repealed"] = "true"
	}
	mk := func(id, paragraph, text string) assist.Chunk {
		c := cite
		c.Paragraph = paragraph
		m := make(map[string]string, len(meta))
		for k, v := range meta {
			m[k] = v
		}
		return assist.Chunk{
			ID: id, DocID: doc.ID, Corpus: doc.Corpus, Source: doc.Source,
			Text: strings.TrimSpace(headLine + "\n\n" + text), Citation: c, Meta: m,
		}
	}
	if utf8.RuneCountInString(body) <= absatzSplitRunes {
		return []assist.Chunk{mk(base, "", body)}
	}
	groups := absaetze(s.blocks)
	if len(groups) < 2 {
		return pieces(mk, base, "", body)
	}
	var out []assist.Chunk
	seen := map[string]int{}
	for _, g := range groups {
		id := base + "-a" + g.num
		if n := seen[id]; n > 0 { // a repeated number in the source must not collide
			seen[id] = n + 1
			id = fmt.Sprintf("%s-%d", id, n+1)
		} else {
			seen[id] = 1
		}
		out = append(out, pieces(mk, id, g.num, g.text)...)
	}
	return out
}

func isRepealed(s section, body string) bool {
	b := strings.TrimSpace(body)
	return strings.Contains(s.heading, "weggefallen") && b == "" || b == "(weggefallen)" || b == "-"
}

// pieces returns one chunk for text, or several with ids id-1, id-2 …
// when it is longer than maxChunkRunes.
func pieces(mk func(id, paragraph, text string) assist.Chunk, id, paragraph, text string) []assist.Chunk {
	if utf8.RuneCountInString(text) <= maxChunkRunes {
		return []assist.Chunk{mk(id, paragraph, text)}
	}
	parts := split.Text(text, absatzSplitRunes, 200)
	out := make([]assist.Chunk, 0, len(parts))
	for i, p := range parts {
		out = append(out, mk(fmt.Sprintf("%s-%d", id, i+1), paragraph, p))
	}
	return out
}

type absatz struct{ num, text string }

// absaetze groups rendered blocks by their "(n)" Absatz numbers; text
// before the first number belongs to the first Absatz.
func absaetze(blocks []string) []absatz {
	var out []absatz
	var pre []string
	for _, b := range blocks {
		if m := absatzStart.FindStringSubmatch(b); m != nil {
			text := b
			if len(out) == 0 && len(pre) > 0 {
				text = strings.Join(append(pre, b), "\n\n")
			}
			out = append(out, absatz{num: m[1], text: text})
			continue
		}
		if len(out) == 0 {
			pre = append(pre, b)
			continue
		}
		out[len(out)-1].text += "\n\n" + b
	}
	return out
}

// render turns a <text> element into blocks (Absätze, list items stay in
// their Absatz on their own lines, table rows as "a | b | c" lines).
func render(tx *node) []string {
	var b strings.Builder
	r := renderer{b: &b}
	r.walk(tx)
	var blocks []string
	for _, blk := range strings.Split(b.String(), "\n\n") {
		var lines []string
		for _, l := range strings.Split(blk, "\n") {
			if l = strings.Join(strings.Fields(l), " "); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			blocks = append(blocks, strings.Join(lines, "\n"))
		}
	}
	return blocks
}

type renderer struct {
	b       *strings.Builder
	inTable int
}

// skipped elements carry footnotes, source references and tables of
// contents, which only add noise to retrieval.
var skipped = map[string]bool{
	"noindex": true, "kommentar": true, "FnR": true, "Footnotes": true, "Footnote": true,
	"fussnoten": true, "TOC": true, "colspec": true, "img": true, "IMG": true, "FILE": true,
}

func (r *renderer) walk(n *node) {
	if n.name == "" {
		// Line breaks in the source text are layout; structure comes
		// from elements (BR, P, DL, row).
		r.b.WriteString(strings.Map(func(c rune) rune {
			if unicode.IsSpace(c) {
				return ' '
			}
			return c
		}, n.text))
		return
	}
	if skipped[n.name] {
		return
	}
	switch n.name {
	case "BR":
		if r.inTable > 0 {
			r.b.WriteByte(' ')
		} else {
			r.b.WriteByte('\n')
		}
		return
	case "P", "Title", "Subtitle", "pre", "Ident":
		if r.inTable > 0 {
			r.b.WriteByte(' ')
			r.kids(n)
			r.b.WriteByte(' ')
			return
		}
		r.b.WriteString("\n\n")
		r.kids(n)
		r.b.WriteString("\n\n")
		return
	case "DT":
		r.b.WriteByte('\n')
		r.kids(n)
		r.b.WriteByte(' ')
		return
	case "DL":
		r.kids(n)
		r.b.WriteByte('\n')
		return
	case "row":
		// Rows with no text at all are layout spacers.
		if strings.TrimSpace(n.plain()) == "" {
			return
		}
		// A table nested in a cell (used for aligned "a … b" pairs) is
		// flattened into that cell.
		sep := " | "
		if r.inTable > 1 {
			r.b.WriteByte(' ')
			sep = " "
		} else {
			r.b.WriteByte('\n')
		}
		first := true
		for _, k := range n.kids {
			if k.name != "entry" {
				continue
			}
			if !first {
				r.b.WriteString(sep)
			}
			first = false
			r.kids(k)
		}
		return
	case "table":
		r.inTable++
		r.kids(n)
		if r.inTable == 1 {
			r.b.WriteByte('\n')
		}
		r.inTable--
		return
	}
	r.kids(n)
}

func (r *renderer) kids(n *node) {
	for _, k := range n.kids {
		r.walk(k)
	}
}
