// Package markdown loads Markdown and plain-text files. It recognises three
// kinds of law text and cites them like lawxml does, and falls back to
// heading-aware chunking for everything else:
//
//   - REVOSax exports of Saxon law ("## <title> § n <heading>" per §),
//   - one file per § with YAML front matter (jurabk, number, heading,
//     breadcrumb, stand_datum), as produced by gesetze-corpus tools,
//   - whole laws with "### § n <heading>" headings (bundestag/gesetze).
package markdown

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"amtsassist/assist"
	"amtsassist/ingest/split"
)

// Options tune loading.
type Options struct {
	// Plain treats the input as plain text (.txt): no headings, no front
	// matter, no law detection.
	Plain bool
}

const (
	op = "ingest markdown"
	// absatzSplitRunes is the § length above which a § is chunked per
	// Absatz, as in lawxml.
	absatzSplitRunes = 2500
	// maxChunkRunes is the size above which an Absatz is cut further.
	maxChunkRunes = 4000
	// maxHeadingDepth bounds the breadcrumb; Markdown has six levels.
	maxHeadingDepth = 6
)

// Load parses one Markdown (or, with opts.Plain, text) file. name is the
// file or upload name: it is the Source, the fallback title, and for REVOSax
// files it carries the validity ("eol__31_Dezember_2024_…"). Empty input and
// invalid UTF-8 are Invalid.
func Load(ctx context.Context, name string, data []byte, opts Options) (assist.Document, error) {
	if !utf8.Valid(data) {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "%s is not valid UTF-8 text", base(name))
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	if strings.TrimSpace(text) == "" {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "empty document")
	}
	if err := ctx.Err(); err != nil {
		return assist.Document{}, assist.E(assist.KindOf(err), op, err)
	}
	if opts.Plain {
		doc := plainDoc(name, text)
		if len(doc.Chunks) == 0 {
			return assist.Document{}, assist.Errorf(assist.Invalid, op, "empty document")
		}
		return doc, nil
	}
	front, body, err := frontMatter(text)
	if err != nil {
		return assist.Document{}, err
	}
	if strings.TrimSpace(body) == "" {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "empty document (front matter only)")
	}
	secs := sections(body)
	if doc, ok := paragraphFile(name, front, secs); ok {
		return doc, nil
	}
	if doc, ok := lawDoc(name, front, secs); ok {
		return doc, nil
	}
	return genericDoc(name, front, secs)
}

func base(name string) string {
	b := path.Base(filepath.ToSlash(name))
	if b == "." || b == "/" {
		return name
	}
	return b
}

func stem(name string) string {
	b := base(name)
	return strings.TrimSuffix(b, path.Ext(b))
}

// frontMatter splits a leading "---" YAML block off. Malformed YAML is
// Invalid: silently indexing it as text would hide a broken export.
func frontMatter(text string) (map[string]any, string, error) {
	if !strings.HasPrefix(text, "---\n") {
		return nil, text, nil
	}
	rest := text[4:]
	end := strings.Index(rest, "\n---\n")
	var raw string
	switch {
	case end >= 0:
		raw, rest = rest[:end], rest[end+5:]
	case strings.HasSuffix(rest, "\n---"):
		raw, rest = rest[:len(rest)-4], ""
	default:
		// A horizontal rule at the top, not front matter.
		return nil, text, nil
	}
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(raw), &m); err != nil {
		return nil, "", &assist.Error{Op: op, Kind: assist.Invalid, Msg: "malformed YAML front matter", Err: err}
	}
	return m, rest, nil
}

func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return strings.TrimSpace(v)
	case nil:
		return ""
	default:
		return strings.TrimSpace(fmt.Sprint(v))
	}
}

func strs(m map[string]any, key string) []string {
	list, _ := m[key].([]any)
	var out []string
	for _, v := range list {
		if s := strings.TrimSpace(fmt.Sprint(v)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// section is the text under one ATX heading (level 0: before any heading).
type section struct {
	level   int
	heading string
	lines   []string
}

var atxHeading = regexp.MustCompile(`^(#{1,6})[ \t]+(.*?)[ \t#]*$`)

// sections splits Markdown at ATX headings outside fenced code blocks.
func sections(body string) []section {
	out := []section{{}}
	fence := ""
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
			out[len(out)-1].lines = append(out[len(out)-1].lines, line)
			continue
		}
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = t[:3]
			out[len(out)-1].lines = append(out[len(out)-1].lines, line)
			continue
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			out = append(out, section{level: len(m[1]), heading: clean(m[2])})
			continue
		}
		out[len(out)-1].lines = append(out[len(out)-1].lines, line)
	}
	return out
}

var (
	spaces   = regexp.MustCompile(`[ \t\p{Zs}]+`)
	emphasis = strings.NewReplacer("**", "", "__", "")
)

// clean collapses whitespace (REVOSax exports are full of runs of spaces)
// and drops emphasis markers.
func clean(s string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(emphasis.Replace(s), " "))
}

var listItem = regexp.MustCompile(`^(\d+[a-z]?\.|[a-z]{1,2}\)|[-*+•]|\|)(\s|$)`)

// reflow joins hard-wrapped lines into paragraphs separated by blank lines,
// keeping list items and table rows on their own lines.
func reflow(lines []string) string {
	var blocks []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	fence := ""
	for _, l := range lines {
		// Fenced code keeps its lines and spacing.
		if tl := strings.TrimSpace(l); fence != "" || strings.HasPrefix(tl, "```") || strings.HasPrefix(tl, "~~~") {
			switch {
			case fence == "":
				flush()
				fence = tl[:3]
				cur = append(cur, strings.TrimRight(l, " \t"))
			case strings.HasPrefix(tl, fence):
				cur = append(cur, strings.TrimRight(l, " \t"))
				fence = ""
				flush()
			default:
				cur = append(cur, strings.TrimRight(l, " \t"))
			}
			continue
		}
		t := clean(l)
		if t == "" {
			flush()
			continue
		}
		if absatzStart.MatchString(t) { // an Absatz always starts a paragraph
			flush()
		}
		if len(cur) > 0 && !listItem.MatchString(t) {
			cur[len(cur)-1] += " " + t
			continue
		}
		cur = append(cur, t)
	}
	flush()
	return strings.Join(blocks, "\n\n")
}

// sectionRe finds "§ 19 Heading", "§§ 31 bis 34", "Art. 3 Heading",
// "Anlage 2 (zu …)" at the start of a heading remainder.
var sectionRe = regexp.MustCompile(`^(§§?\s*\d+[a-z]?(?:\s*(?:bis|und|,)\s*\d+[a-z]?)*|Art(?:ikel|\.)\s*\d+[a-z]?|Anlage\s*\d*[a-z]?|Anhang\s*\d*[a-z]?)(?:\s+(.*))?$`)

// structureRe recognises Teil/Kapitel/Abschnitt headings used as breadcrumb.
var structureRe = regexp.MustCompile(`^(?:(?:Erst|Zweit|Dritt|Viert|Fünft|Sechst|Siebt|Acht|Neunt|Zehnt|Elft|Zwölft)\w*\s+)?(Buch|Teil|Kapitel|Abschnitt|Unterabschnitt|Titel|Untertitel|Abteilung|Unterkapitel)\b`)

var (
	romanRe = regexp.MustCompile(`^([IVXLC]+)\.\s+(.*)$`)
	// bareNumberRe matches a REVOSax heading rest whose "§" got lost.
	bareNumberRe = regexp.MustCompile(`^(\d+[a-z]?)\s+(.*)$`)
	// structureDash turns "Teil 1 - Zweck" into "Teil 1 Zweck", as lawxml
	// writes breadcrumbs.
	structureDash = regexp.MustCompile(`^(\S+\s+\S+)\s+[-–]\s+`)
	sectionSpace  = regexp.MustCompile(`^(§§?)(\d)`)
)

// lawSection is one § (or Anlage) found in a Markdown law.
type lawSection struct {
	number, heading string
	breadcrumb      []string
	body            string
	kind            string
}

// splitSection separates "§ 19 Höhe des Wohngeldes" into number and heading.
func splitSection(s string) (number, heading string, ok bool) {
	m := sectionRe.FindStringSubmatch(s)
	if m == nil {
		return "", "", false
	}
	number = strings.Join(strings.Fields(m[1]), " ")
	number = sectionSpace.ReplaceAllString(number, "$1 $2")
	return number, strings.TrimSpace(m[2]), true
}

func kindOf(number string) string {
	if strings.HasPrefix(number, "Anlage") || strings.HasPrefix(number, "Anhang") {
		return "annex"
	}
	return "paragraph"
}

// lawDoc handles REVOSax files and single-file laws; ok is false when the
// file has fewer than two § headings.
func lawDoc(name string, front map[string]any, secs []section) (assist.Document, bool) {
	title := ""
	for _, s := range secs {
		if s.level == 1 {
			title = s.heading
			break
		}
	}
	var (
		found  []lawSection
		crumbs []struct {
			level int
			label string
		}
		preamble []string
		revosax  bool
		other    int // headings that are neither §, Anlage nor structure
	)
	for _, s := range secs {
		h := s.heading
		lines := s.lines
		// REVOSax repeats the law's title in front of every §; the
		// expired versions even put the § on the next line.
		if title != "" && s.level > 1 && strings.HasPrefix(h, title) {
			rest := strings.TrimSpace(strings.TrimPrefix(h, title))
			if rest == "" {
				for i, l := range lines {
					if t := clean(l); t != "" {
						rest, lines = t, lines[i+1:]
						break
					}
				}
			}
			if m := bareNumberRe.FindStringSubmatch(rest); m != nil {
				rest = "§ " + m[1] + " " + m[2] // "15a Serviceportal" lost its "§" in the export
			}
			if m := romanRe.FindStringSubmatch(rest); m != nil {
				found = append(found, lawSection{number: "Nr. " + m[1], heading: m[2], body: reflow(lines), kind: "paragraph"})
				revosax = true
				continue
			}
			h = rest
			revosax = true
		}
		if s.level == 0 || s.level == 1 {
			preamble = append(preamble, s.lines...)
			continue
		}
		if number, heading, ok := splitSection(h); ok {
			var bc []string
			for _, c := range crumbs {
				bc = append(bc, c.label)
			}
			found = append(found, lawSection{number: number, heading: heading, breadcrumb: bc, body: reflow(lines), kind: kindOf(number)})
			continue
		}
		if structureRe.MatchString(h) {
			for len(crumbs) > 0 && crumbs[len(crumbs)-1].level >= s.level {
				crumbs = crumbs[:len(crumbs)-1]
			}
			label := structureDash.ReplaceAllString(h, "$1 ")
			crumbs = append(crumbs, struct {
				level int
				label string
			}{s.level, label})
			continue
		}
		// Any other heading inside a § (e.g. a table title in an Anlage)
		// is part of its text.
		other++
		if len(found) > 0 {
			last := &found[len(found)-1]
			last.body = strings.TrimSpace(last.body + "\n\n" + h + "\n\n" + reflow(lines))
		} else {
			preamble = append(preamble, h)
			preamble = append(preamble, lines...)
		}
	}
	paras := 0
	for _, f := range found {
		if f.kind == "paragraph" {
			paras++
		}
	}
	// A memo that discusses two §§ under their own headings is not a law:
	// in a law, § headings clearly outnumber all other headings.
	if (paras < 2 || other*2 > paras) && !(revosax && len(found) > 0) {
		return assist.Document{}, false
	}
	pre := reflow(preamble)
	abbr := abbreviation(front, title, pre)
	if abbr == "" {
		abbr = title
	}
	if abbr == "" {
		abbr = stem(name)
	}
	if title == "" {
		title = str(front, "Title")
	}
	title = strings.TrimSpace(strings.TrimSuffix(title, "("+abbr+")"))
	title = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(title, "-")), " ")
	if title == "" {
		title = abbr
	}
	stand := standFrom(pre)
	doc := assist.Document{
		ID: abbr, Corpus: assist.CorpusRegulations, Title: title, Source: name, Format: "markdown",
		Meta: map[string]string{"law": abbr},
	}
	if stand != "" {
		doc.Meta["stand"] = stand
		// A dated consolidation must not replace the current version
		// (lawxml uses the bare abbreviation).
		doc.ID = abbr + "@" + stand
	}
	if until := validUntil(name); until != "" {
		doc.Meta["valid_until"] = until
		doc.ID = abbr + "@bis-" + until
		doc.Title = fmt.Sprintf("%s (gültig bis %s)", title, germanDate(until))
	}
	used := map[string]int{}
	for _, f := range found {
		doc.Chunks = append(doc.Chunks, lawChunks(&doc, abbr, stand, f, used)...)
	}
	for i := range doc.Chunks {
		doc.Chunks[i].Ordinal = i
	}
	return doc, true
}

// abbrRes find an official abbreviation in a law's title or preamble:
// "(Sächsisches Datenschutzdurchführungsgesetz – SächsDSDG)",
// "(SächsVwVfZG)", "Wohngeldgesetz (WoGG)".
var abbrRes = []*regexp.Regexp{
	regexp.MustCompile(`\s[–-]\s*([\p{L}][\p{L}\p{N}]*[\p{Lu}][\p{L}\p{N}]*)\)`),
	// Mixed case keeps "(EU)" or "(BGBl)" from passing as a law's name.
	regexp.MustCompile(`\(([\p{Lu}][\p{L}\p{N}]*\p{Ll}[\p{L}\p{N}]*\p{Lu}[\p{L}\p{N}]*(?:\s\d+)?)\)`),
}

// knownAbbr covers Saxon titles whose REVOSax export does not spell the
// abbreviation out.
var knownAbbr = map[string]string{
	"Sächsisches E-Government-Gesetz":                                                                               "SächsEGovG",
	"Sächsisches Datenschutzdurchführungsgesetz":                                                                    "SächsDSDG",
	"Sächsisches Informationssicherheitsgesetz":                                                                     "SächsISichG",
	"Sächsische E-Government-Gesetz-Durchführungsverordnung":                                                        "SächsEGovGDVO",
	"Sächsisches Verwaltungsverfahrens- und Zustellungsgesetz":                                                      "SächsVwVfZG",
	"Gesetz zur Regelung des Verwaltungsverfahrens- und des Verwaltungszustellungsrechts für den Freistaat Sachsen": "SächsVwVfZG",
}

func abbreviation(front map[string]any, title, preamble string) string {
	if a := str(front, "jurabk"); a != "" {
		return a
	}
	for _, text := range []string{title, preamble} {
		for _, re := range abbrRes {
			if m := re.FindStringSubmatch(text); m != nil {
				return m[1]
			}
		}
	}
	return knownAbbr[title]
}

var standDate = regexp.MustCompile(`(?i)(?:geändert|änderung)\s+durch[^\n]{0,60}?\sv(?:om|\.)\s*(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})`)

// standFrom reads the amendment notes of a law's preamble ("Zuletzt
// geändert durch : Art. 88 G v. 20.8.2021 I 3932") and returns the latest
// date, which is the consolidation's Stand.
func standFrom(preamble string) string {
	latest := ""
	for _, m := range standDate.FindAllStringSubmatch(preamble, -1) {
		if d := fmt.Sprintf("%s-%s-%s", m[3], pad(m[2]), pad(m[1])); d > latest {
			latest = d
		}
	}
	return latest
}

func pad(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

var (
	eolRe  = regexp.MustCompile(`(?i)^eol__(\d{1,2})_([a-zäöü]+)_(\d{4})_`)
	months = map[string]string{
		"januar": "01", "februar": "02", "märz": "03", "maerz": "03", "april": "04", "mai": "05", "juni": "06",
		"juli": "07", "august": "08", "september": "09", "oktober": "10", "november": "11", "dezember": "12",
	}
)

// validUntil reads the expiry REVOSax encodes in the file name of
// superseded versions: "eol__31_Dezember_2024_…" → "2024-12-31".
func validUntil(name string) string {
	m := eolRe.FindStringSubmatch(base(name))
	if m == nil {
		return ""
	}
	mon, ok := months[strings.ToLower(m[2])]
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s-%s-%s", m[3], mon, pad(m[1]))
}

func germanDate(iso string) string {
	p := strings.Split(iso, "-")
	if len(p) != 3 {
		return iso
	}
	return p[2] + "." + p[1] + "." + p[0]
}

var (
	absatzStart = regexp.MustCompile(`^\((\d+[a-z]?)\)\s`)
	numberRe    = regexp.MustCompile(`\d+[a-z]?`)
	anchorClean = regexp.MustCompile(`[^a-z0-9]+`)
)

// anchor gives the same chunk ids as lawxml: "p19", "art3", "anlage-2".
func anchor(number string) string {
	e := strings.ToLower(number)
	nums := numberRe.FindAllString(e, -1)
	prefix := ""
	switch {
	case strings.HasPrefix(e, "§"):
		prefix = "p"
	case strings.HasPrefix(e, "art"):
		prefix = "art"
	}
	if prefix == "" || len(nums) == 0 {
		e = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss").Replace(e)
		if a := strings.Trim(anchorClean.ReplaceAllString(e, "-"), "-"); a != "" {
			return a
		}
		return "s"
	}
	if len(nums) >= 2 && strings.Contains(e, " bis ") {
		return prefix + nums[0] + "-" + nums[len(nums)-1]
	}
	return prefix + nums[0]
}

func unique(id string, used map[string]int) string {
	n := used[id]
	used[id] = n + 1
	if n == 0 {
		return id
	}
	return fmt.Sprintf("%s-%d", id, n+1)
}

// lawChunks cuts one § into chunks: whole when short, per Absatz when long,
// and with split.Text when an Absatz is still too long.
func lawChunks(doc *assist.Document, abbr, stand string, s lawSection, used map[string]int) []assist.Chunk {
	base := unique(anchor(s.number), used)
	headLine := strings.TrimSpace(s.number + " " + abbr + " " + s.heading)
	cite := assist.Citation{Law: abbr, Section: s.number, Heading: s.heading, Breadcrumb: s.breadcrumb, Stand: stand}
	mk := func(id, paragraph, text string) assist.Chunk {
		c := cite
		c.Paragraph = paragraph
		return assist.Chunk{
			ID: id, DocID: doc.ID, Corpus: doc.Corpus, Source: doc.Source,
			Text:     strings.TrimSpace(headLine + "\n\n" + text),
			Citation: c, Meta: map[string]string{"kind": s.kind},
		}
	}
	pieces := func(id, paragraph, text string) []assist.Chunk {
		if utf8.RuneCountInString(text) <= maxChunkRunes {
			return []assist.Chunk{mk(id, paragraph, text)}
		}
		var out []assist.Chunk
		for i, p := range split.Text(text, absatzSplitRunes, 200) {
			out = append(out, mk(fmt.Sprintf("%s-%d", id, i+1), paragraph, p))
		}
		return out
	}
	if utf8.RuneCountInString(s.body) <= absatzSplitRunes {
		return []assist.Chunk{mk(base, "", s.body)}
	}
	type absatz struct{ num, text string }
	var groups []absatz
	var pre []string
	for _, b := range strings.Split(s.body, "\n\n") {
		if m := absatzStart.FindStringSubmatch(b); m != nil {
			if len(groups) == 0 && len(pre) > 0 {
				b = strings.Join(append(pre, b), "\n\n")
			}
			groups = append(groups, absatz{m[1], b})
		} else if len(groups) == 0 {
			pre = append(pre, b)
		} else {
			groups[len(groups)-1].text += "\n\n" + b
		}
	}
	if len(groups) < 2 {
		return pieces(base, "", s.body)
	}
	seen := map[string]int{}
	var out []assist.Chunk
	for _, g := range groups {
		out = append(out, pieces(unique(base+"-a"+g.num, seen), g.num, g.text)...)
	}
	return out
}

// paragraphFile handles one-file-per-§ Markdown with front matter.
func paragraphFile(name string, front map[string]any, secs []section) (assist.Document, bool) {
	jurabk, number := str(front, "jurabk"), str(front, "number")
	if jurabk == "" || number == "" {
		return assist.Document{}, false
	}
	heading := str(front, "heading")
	var lines []string
	for _, s := range secs {
		// The file's own "# § 19 Höhe des Wohngeldes" heading repeats the
		// front matter; other headings belong to the text.
		if s.level == 1 && strings.HasPrefix(s.heading, number) && heading == "" {
			_, heading, _ = splitSection(s.heading)
		}
		if s.level > 0 && !(s.level == 1 && strings.HasPrefix(s.heading, number)) {
			lines = append(lines, "", s.heading, "")
		}
		lines = append(lines, s.lines...)
	}
	kind := "paragraph"
	if t := str(front, "type"); t == "annex" || kindOf(number) == "annex" {
		kind = "annex"
	}
	stand := str(front, "stand_datum")
	doc := assist.Document{
		ID: jurabk + " " + number, Corpus: assist.CorpusRegulations, Source: name, Format: "markdown",
		Title: strings.TrimSpace(number + " " + jurabk + " " + heading),
		Meta:  map[string]string{"law": jurabk, "kind": kind},
	}
	if stand != "" {
		doc.Meta["stand"] = stand
	}
	s := lawSection{number: number, heading: heading, breadcrumb: strs(front, "breadcrumb"), body: reflow(lines), kind: kind}
	doc.Chunks = lawChunks(&doc, jurabk, stand, s, map[string]int{})
	for i := range doc.Chunks {
		doc.Chunks[i].Ordinal = i
	}
	return doc, true
}

// genericDoc chunks any other Markdown by headings.
func genericDoc(name string, front map[string]any, secs []section) (assist.Document, error) {
	title := str(front, "title")
	if title == "" {
		title = str(front, "Title")
	}
	for _, s := range secs {
		if title == "" && s.level > 0 && s.heading != "" {
			title = s.heading
		}
	}
	if title == "" {
		title = stem(name)
	}
	doc := assist.Document{Title: title, Source: name, Format: "markdown"}
	var stack []section
	n := 0
	for _, s := range secs {
		if s.level > 0 {
			for len(stack) > 0 && stack[len(stack)-1].level >= s.level {
				stack = stack[:len(stack)-1]
			}
			if len(stack) >= maxHeadingDepth {
				stack = stack[:maxHeadingDepth-1]
			}
		}
		var crumb []string
		for _, a := range stack {
			crumb = append(crumb, a.heading)
		}
		if s.level > 0 {
			stack = append(stack, s)
		}
		body := reflow(s.lines)
		if body == "" {
			continue
		}
		head := s.heading
		for _, p := range split.Text(body, 0, -1) {
			n++
			text := p
			if head != "" {
				text = head + "\n\n" + p
			}
			doc.Chunks = append(doc.Chunks, assist.Chunk{
				ID: fmt.Sprintf("s%d", n), Source: name, Ordinal: n - 1, Text: text,
				Citation: assist.Citation{Document: title, Heading: head, Breadcrumb: crumb},
			})
		}
	}
	if len(doc.Chunks) == 0 {
		// Headings without any text: index the headings themselves rather
		// than dropping the file silently.
		var hs []string
		for _, s := range secs {
			if s.heading != "" {
				hs = append(hs, s.heading)
			}
		}
		if len(hs) == 0 {
			return assist.Document{}, assist.Errorf(assist.Invalid, op, "empty document (no text under its headings)")
		}
		doc.Chunks = []assist.Chunk{{ID: "s1", Source: name, Text: strings.Join(hs, "\n"), Citation: assist.Citation{Document: title}}}
		doc.Warnings = append(doc.Warnings, "document has headings but no text")
	}
	return doc, nil
}

// plainDoc chunks plain text with split.Text.
func plainDoc(name, text string) assist.Document {
	title := stem(name)
	for _, l := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(spaces.ReplaceAllString(l, " ")); t != "" {
			if utf8.RuneCountInString(t) <= 120 && !strings.ContainsFunc(t, func(r rune) bool { return unicode.IsControl(r) }) {
				title = t
			}
			break
		}
	}
	doc := assist.Document{Title: title, Source: name, Format: "text"}
	// The file name, not the first line, is what a clerk finds the
	// document by in the e-file.
	cite := base(name)
	for i, p := range split.Text(reflowPlain(text), 0, -1) {
		doc.Chunks = append(doc.Chunks, assist.Chunk{
			ID: fmt.Sprintf("s%d", i+1), Source: name, Ordinal: i, Text: p,
			Citation: assist.Citation{Document: cite},
		})
	}
	return doc
}

// reflowPlain only normalises whitespace: plain text has no markup whose
// line structure we could trust more than the author's.
func reflowPlain(text string) string {
	var b bytes.Buffer
	for _, l := range strings.Split(text, "\n") {
		b.WriteString(strings.TrimSpace(spaces.ReplaceAllString(l, " ")))
		b.WriteByte('\n')
	}
	return b.String()
}
