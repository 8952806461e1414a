// Package verify checks the citations of a drafted memo against what was
// retrieved and what the index holds: every [n] marker must name a source,
// every norm reference must exist in the indexed laws and should be among
// the sources, every quoted passage must stand verbatim in its source, and
// a statement of law should carry a marker. Drafts come from a language
// model, so nothing in them is trusted: the checks are automatic and their
// findings are what a clerk sees next to each section.
package verify

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/assist/memo"
)

// FindingUnresolvedNorm marks a norm reference whose law could not be
// determined ("§ 19" with no law anywhere before it, or a title no indexed
// law has). It is a warning, not "Norm nicht im Bestand": the norm may well
// exist, the text just does not say which law it means.
const FindingUnresolvedNorm memo.FindingKind = "unresolved_norm"

// MinQuoteWords is the shortest quotation that is checked. Shorter quoted
// text is a term or a label („Haushaltsmitglied“, „z.d.A.“), not a claim
// that a source says something verbatim.
const MinQuoteWords = 4

// MaxSectionBytes bounds the text of one section. A drafted section is a
// few kilobytes; the limit keeps hostile or runaway output from making the
// checks (quotes against every source) expensive.
const MaxSectionBytes = 256 << 10

// maxMarkerRange bounds the expansion of a marker range ("[1–3]"); a wider
// one is reported as out of range as a whole rather than expanded.
const maxMarkerRange = 100

const (
	severityError   = "error"
	severityWarning = "warning"
)

var (
	// markerRe finds "[1]", "[1, 3]", "[1–3]", "[1-3]", "[1; 2]".
	markerRe = mustCompile(`\[\s*(\d{1,6}(?:\s*[,;–—-]\s*\d{1,6})*)\s*\]`)
	// quoteRe finds „…“, "…", »…«, “…” and «…».
	quoteRe = mustCompile(`„([^“”"„]+)[“”"]|"([^"]+)"|»([^«»]+)«|“([^”“]+)”|«([^«»]+)»`)
	// afterQuoteRe reads the marker that belongs to a quote: right after
	// it, at most behind a punctuation mark.
	afterQuoteRe = mustCompile(`^\s*[,.;:]?\s*(\[[^\]]{1,40}\])`)
	// ellipsisRe splits a quotation at omissions.
	ellipsisRe = mustCompile(`\[\s*(?:…|\.\.\.)\s*\]|\(\s*(?:…|\.\.\.)\s*\)|…|\.\.\.`)
)

// checkedSections are the sections where a statement naming a norm must
// carry a source marker. Ergebnis and Verfügung state conclusions and
// dispositions, which refer back to the Würdigung.
var checkedSections = map[string]bool{memo.SectionSachverhalt: true, memo.SectionWuerdigung: true}

// Check verifies sections against sources (the passages the model was
// given as [1..n]) and norms. It returns copies of the sections with
// Sources (the markers used), Citations (one per distinct marker and per
// distinct norm), Findings and Status filled in, and the memo's summary:
//
//   - a marker without a source: marker_out_of_range (error);
//   - a norm the index does not hold: unknown_norm (error);
//   - a norm that exists but is not among the sources: norm_not_retrieved
//     (warning);
//   - a quotation of MinQuoteWords words or more that is not in the source
//     of the marker right after it (or, without a marker, in any source):
//     quote_not_found (error). Whitespace, hyphenation at line breaks,
//     quotation marks, dashes and case are normalised; "…" and "[…]" mark
//     omissions, and the parts must appear in order;
//   - a sentence in Sachverhalt or Würdigung that names a norm but has no
//     marker: no_sources (warning);
//   - a norm whose law cannot be determined: unresolved_norm (warning).
//
// A section is failed with any error finding, has warnings with any
// warning, is verified when at least one citation or quotation was checked,
// and unverified otherwise. The memo's status is the worst section status;
// unverified sections count only when no section is verified.
// Verification.Checked counts citations and checked quotations.
//
// Check returns an error only when a section exceeds MaxSectionBytes
// (TooLarge), when norms fails (the error as returned, e.g. Unavailable) or
// when ctx ends; the findings are not errors.
func Check(ctx context.Context, sections []memo.Section, sources []memo.Source, norms Norms) ([]memo.Section, memo.Verification, error) {
	c := &checker{
		norms:   norms,
		sources: map[int]*memo.Source{},
		known:   map[string]bool{},
		titles:  map[string]string{},
	}
	for i := range sources {
		n := sources[i].N
		if n <= 0 {
			n = i + 1
		}
		c.sources[n] = &sources[i]
		c.order = append(c.order, n)
	}
	for _, s := range sections {
		if len(s.Text) > MaxSectionBytes {
			return nil, memo.Verification{}, assist.Errorf(assist.TooLarge, "verify memo",
				"section %q has %d bytes of text; at most %d can be verified", s.Key, len(s.Text), MaxSectionBytes)
		}
	}
	out := make([]memo.Section, len(sections))
	sum := memo.Verification{ByKind: map[string]int{}}
	for i, s := range sections {
		if err := ctx.Err(); err != nil {
			return nil, memo.Verification{}, assist.E(assist.KindOf(err), "verify memo", err)
		}
		r, err := c.section(ctx, s)
		if err != nil {
			return nil, memo.Verification{}, err
		}
		out[i] = r.section
		sum.Checked += r.checked
		sum.Verified += r.verified
		sum.Findings += len(r.section.Findings)
		for _, f := range r.section.Findings {
			sum.ByKind[string(f.Kind)]++
		}
	}
	if len(sum.ByKind) == 0 {
		sum.ByKind = nil
	}
	sum.Status = MemoStatus(out)
	return out, sum, nil
}

// maskQuotes blanks out the inside of every quotation of at least
// MinQuoteWords words, keeping byte offsets.
func maskQuotes(text string) string {
	var b []byte
	for _, q := range quoteRe.FindAllStringSubmatchIndex(text, -1) {
		for g := 2; g+1 < len(q); g += 2 {
			if q[g] < 0 {
				continue
			}
			if len(strings.Fields(text[q[g]:q[g+1]])) >= MinQuoteWords {
				if b == nil {
					b = []byte(text)
				}
				for i := q[g]; i < q[g+1]; i++ {
					if b[i] != '\n' {
						b[i] = ' '
					}
				}
			}
			break
		}
	}
	if b == nil {
		return text
	}
	return string(b)
}

// MemoStatus is the worst status of the sections; unverified sections
// count only when none is verified.
func MemoStatus(sections []memo.Section) memo.Status {
	rank := map[memo.Status]int{memo.StatusUnverified: 0, memo.StatusVerified: 1, memo.StatusWarnings: 2, memo.StatusFailed: 3}
	st := memo.StatusUnverified
	for _, s := range sections {
		if rank[s.Status] > rank[st] {
			st = s.Status
		}
	}
	return st
}

type checker struct {
	norms   Norms
	sources map[int]*memo.Source
	order   []int             // source numbers in given order
	normed  map[int]string    // normalised source texts, built on first quote
	keys    map[int][2]string // LawKey and SectionKey of the sources, built on first norm
	known   map[string]bool   // norm key → exists, for this call
	titles  map[string]string // title → law ("" when unknown), for this call
}

type sectionResult struct {
	section           memo.Section
	checked, verified int
}

// marker is one bracket group in the text.
type marker struct {
	start, end int
	nums       []int
	text       string
	tooWide    bool
}

func (c *checker) section(ctx context.Context, s memo.Section) (sectionResult, error) {
	s.Sources, s.Citations, s.Findings = nil, nil, nil
	res := sectionResult{}
	seenFinding := map[string]bool{}
	addFinding := func(f memo.Finding) {
		f.Section = s.Key
		key := string(f.Kind) + "\x00" + f.Text + "\x00" + f.Message
		if seenFinding[key] {
			return
		}
		seenFinding[key] = true
		s.Findings = append(s.Findings, f)
	}
	text := s.Text

	// Markers.
	markers := parseMarkers(text)
	seenMarker := map[int]bool{}
	for _, m := range markers {
		if m.tooWide {
			addFinding(memo.Finding{Kind: memo.FindingMarkerOutOfRange, Text: m.text, Severity: severityError,
				Message: "Quellenverweis " + m.text + " ist kein gültiger Bereich (es gibt " + strconv.Itoa(len(c.sources)) + " Quellen)"})
			continue
		}
		for _, n := range m.nums {
			if seenMarker[n] {
				continue
			}
			seenMarker[n] = true
			cit := memo.Citation{Section: s.Key, Marker: n}
			if _, ok := c.sources[n]; ok {
				cit.Source, cit.Status = n, memo.StatusVerified
				s.Sources = append(s.Sources, n)
				res.verified++
			} else {
				cit.Status = memo.StatusFailed
				addFinding(memo.Finding{Kind: memo.FindingMarkerOutOfRange, Text: "[" + strconv.Itoa(n) + "]", Severity: severityError,
					Message: "Quellenverweis [" + strconv.Itoa(n) + "] ohne Quelle (es gibt " + strconv.Itoa(len(c.sources)) + " Quellen)"})
			}
			s.Citations = append(s.Citations, cit)
			res.checked++
		}
	}
	slices.Sort(s.Sources)

	// Norms. References inside a checked quotation belong to the quoted
	// source, not to the memo: the quote itself is checked verbatim below,
	// and its references must neither be checked as the memo's own claims
	// nor lend their law to a bare "§ 25" that follows.
	norms := ParseNorms(maskQuotes(text))
	seenNorm := map[string]bool{}
	for i := range norms {
		n := &norms[i]
		if n.Law == "" && n.LawTitle != "" {
			law, err := c.resolveTitle(ctx, n.LawTitle)
			if err != nil {
				return res, err
			}
			n.Law = law
		}
		if n.Law == "" {
			what := n.String()
			msg := "Norm ohne erkennbares Gesetz: " + what
			if n.LawTitle != "" {
				msg = "Gesetz nicht im Bestand erkannt: " + what
			}
			addFinding(memo.Finding{Kind: FindingUnresolvedNorm, Text: n.Raw, Severity: severityWarning, Message: msg})
			continue
		}
		name := n.String()
		if seenNorm[name] {
			continue
		}
		seenNorm[name] = true
		cit := memo.Citation{Section: s.Key, Norm: name}
		res.checked++
		ok, err := c.exists(ctx, *n)
		if err != nil {
			return res, err
		}
		switch src := c.normSource(*n); {
		case !ok:
			cit.Status = memo.StatusFailed
			addFinding(memo.Finding{Kind: memo.FindingUnknownNorm, Text: n.Raw, Severity: severityError,
				Message: "Norm nicht im Bestand: " + name})
		case src == 0:
			cit.Status = memo.StatusWarnings
			addFinding(memo.Finding{Kind: memo.FindingNormNotRetrieved, Text: n.Raw, Severity: severityWarning,
				Message: "Norm nicht unter den Quellen: " + name})
		default:
			cit.Status, cit.Source = memo.StatusVerified, src
			res.verified++
		}
		s.Citations = append(s.Citations, cit)
	}

	// Quotations.
	for _, q := range quoteRe.FindAllStringSubmatchIndex(text, -1) {
		var quote string
		for g := 2; g+1 < len(q); g += 2 {
			if q[g] >= 0 {
				quote = text[q[g]:q[g+1]]
				break
			}
		}
		if len(strings.Fields(quote)) < MinQuoteWords {
			continue
		}
		var cited []int
		if m := afterQuoteRe.FindStringSubmatchIndex(text[q[1]:]); m != nil {
			for _, mk := range parseMarkers(text[q[1]+m[2] : q[1]+m[3]]) {
				if !mk.tooWide {
					cited = append(cited, mk.nums...)
				}
			}
		}
		res.checked++
		found := c.findQuote(quote)
		short := shorten(quote)
		switch {
		case len(cited) > 0 && intersects(found, cited):
			res.verified++
		case len(cited) > 0:
			msg := "Zitat nicht in Quelle " + markerList(cited) + " belegt"
			if len(found) > 0 {
				msg += " (steht in Quelle " + markerList(found) + ")"
			}
			addFinding(memo.Finding{Kind: memo.FindingQuoteNotFound, Text: short, Severity: severityError, Message: msg, Sources: found})
		case len(found) > 0:
			res.verified++
		default:
			addFinding(memo.Finding{Kind: memo.FindingQuoteNotFound, Text: short, Severity: severityError,
				Message: "Zitat in keiner Quelle belegt"})
		}
	}

	// Statements of law without a marker.
	if checkedSections[s.Key] && len(norms) > 0 {
		// Sentences, markers and norms are all in text order: one pass.
		mi, ni := 0, 0
		for _, sent := range sentences(text, norms) {
			for mi < len(markers) && markers[mi].start < sent[0] {
				mi++
			}
			for ni < len(norms) && norms[ni].Start < sent[0] {
				ni++
			}
			if mi < len(markers) && markers[mi].start < sent[1] {
				continue // the sentence has a marker
			}
			if ni < len(norms) && norms[ni].Start < sent[1] {
				n := norms[ni]
				addFinding(memo.Finding{Kind: memo.FindingNoSources, Text: strings.TrimSpace(shorten(text[sent[0]:sent[1]])), Severity: severityWarning,
					Message: "Aussage zu " + n.String() + " ohne Quellenangabe"})
			}
		}
	}

	s.Status = sectionStatus(s.Findings, res.checked)
	res.section = s
	return res, nil
}

func sectionStatus(findings []memo.Finding, checked int) memo.Status {
	st := memo.StatusUnverified
	if checked > 0 {
		st = memo.StatusVerified
	}
	for _, f := range findings {
		switch f.Severity {
		case severityError:
			return memo.StatusFailed
		case severityWarning:
			st = memo.StatusWarnings
		}
	}
	return st
}

func (c *checker) resolveTitle(ctx context.Context, title string) (string, error) {
	if law, ok := c.titles[title]; ok {
		return law, nil
	}
	r, ok := c.norms.(TitleResolver)
	if !ok {
		return "", nil
	}
	law, _, err := r.LawByTitle(ctx, title)
	if err != nil {
		return "", err
	}
	c.titles[title] = law
	return law, nil
}

func (c *checker) exists(ctx context.Context, n Norm) (bool, error) {
	key := LawKey(n.Law) + "|" + SectionKey(n.Section) + "|" + n.Paragraph
	if ok, seen := c.known[key]; seen {
		return ok, nil
	}
	ok, err := c.norms.Exists(ctx, n)
	if err != nil {
		return false, err
	}
	c.known[key] = ok
	return ok, nil
}

// normSource returns the first source that is the provision n names, or 0.
// A source of one Absatz covers only that Absatz; a source of the whole §
// covers all of them.
func (c *checker) normSource(n Norm) int {
	law, sec := LawKey(n.Law), SectionKey(n.Section)
	if c.keys == nil {
		c.keys = make(map[int][2]string, len(c.sources))
		for n, s := range c.sources {
			c.keys[n] = [2]string{LawKey(s.Cite.Law), SectionKey(s.Cite.Section)}
		}
	}
	for _, num := range c.order {
		cite := c.sources[num].Cite
		if k := c.keys[num]; k[0] != law || k[1] != sec {
			continue
		}
		if n.Paragraph != "" && cite.Paragraph != "" && n.Paragraph != cite.Paragraph {
			continue
		}
		return num
	}
	return 0
}

// findQuote returns the sources that contain quote, after normalisation.
func (c *checker) findQuote(quote string) []int {
	if c.normed == nil {
		c.normed = make(map[int]string, len(c.sources))
		for n, s := range c.sources {
			c.normed[n] = normalise(s.Text)
		}
	}
	var parts []string
	for _, p := range ellipsisRe.Split(quote, -1) {
		if p = normalise(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	var found []int
	for _, n := range c.order {
		if containsInOrder(c.normed[n], parts) {
			found = append(found, n)
		}
	}
	return found
}

func containsInOrder(text string, parts []string) bool {
	for _, p := range parts {
		i := strings.Index(text, p)
		if i < 0 {
			return false
		}
		text = text[i+len(p):]
	}
	return true
}

// quoteMarks maps every quotation mark, apostrophe and dash variant to one
// form, so that typography does not decide whether a quote is verbatim.
var quoteMarks = strings.NewReplacer(
	// Single and double marks are one: a quotation nests the marks of the
	// text it quotes („… ‚M‘ …“ for a source that reads „M“).
	"„", `"`, "“", `"`, "”", `"`, "»", `"`, "«", `"`, "‚", `"`, "‘", `"`, "’", `"`, "›", `"`, "‹", `"`, "'", `"`,
	"–", "-", "—", "-", "‑", "-", "\u00ad", "", "\u00a0", " ",
)

// normalise prepares text for verbatim comparison: hyphenation at line
// breaks is undone, quotation marks and dashes are unified, whitespace is
// collapsed, case is folded, and punctuation at the edges is dropped (a
// quote often ends where the source's sentence goes on).
func normalise(s string) string {
	s = dehyphenate(s)
	s = quoteMarks.Replace(s)
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	return strings.Trim(s, ` .,;:!?"'`)
}

// dehyphenate joins words hyphenated at a line break ("berück-\nsichtigende")
// when both sides are lower case, so that compounds with a real hyphen
// ("Wohngeld-\nGesetz") keep it.
func dehyphenate(s string) string {
	if !strings.Contains(s, "-") || !strings.Contains(s, "\n") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '-' || i == 0 {
			continue
		}
		j, newline := i+1, false
		for j < len(s) && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n') {
			newline = newline || s[j] == '\n'
			j++
		}
		if !newline || j == len(s) {
			continue
		}
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsLower(before) || !unicode.IsLower(after) {
			continue
		}
		b.WriteString(s[last:i])
		last = j
		i = j - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func parseMarkers(text string) []marker {
	var out []marker
	for _, m := range markerRe.FindAllStringSubmatchIndex(text, -1) {
		mk := marker{start: m[0], end: m[1], text: text[m[0]:m[1]]}
		inner := text[m[2]:m[3]]
		// Tokens: numbers separated by "," or ";" (lists) or a dash (range).
		var nums []int
		rangeNext := false
		for _, tok := range splitMarker(inner) {
			if tok == "-" {
				rangeNext = true
				continue
			}
			n, err := strconv.Atoi(tok)
			if err != nil {
				continue
			}
			if rangeNext && len(nums) > 0 {
				lo := nums[len(nums)-1]
				if n < lo || n-lo > maxMarkerRange {
					mk.tooWide = true
					break
				}
				for k := lo + 1; k <= n; k++ {
					nums = append(nums, k)
				}
			} else {
				nums = append(nums, n)
			}
			rangeNext = false
		}
		mk.nums = nums
		out = append(out, mk)
	}
	return out
}

// splitMarker turns "1, 3–5" into "1", "3", "-", "5".
func splitMarker(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			cur.WriteRune(r)
		case r == '-' || r == '–' || r == '—':
			flush()
			toks = append(toks, "-")
		default:
			flush()
		}
	}
	flush()
	return toks
}

// abbreviations end with a period that does not end a sentence.
var abbreviations = map[string]bool{
	"abs": true, "art": true, "nr": true, "s": true, "satz": true, "vgl": true, "gem": true, "bzw": true,
	"ggf": true, "z": true, "b": true, "u": true, "a": true, "d": true, "h": true, "i": true, "v": true,
	"m": true, "ff": true, "f": true, "dr": true, "az": true, "ca": true, "sog": true, "inkl": true,
	"zzgl": true, "evtl": true, "bzgl": true, "usw": true, "etc": true, "abl": true, "bgbl": true,
	"buchst": true, "halbs": true, "lit": true, "anl": true, "hs": true, "str": true, "wv": true,
}

// sentences returns the byte ranges of the sentences of text. A period
// inside a norm reference or after a known abbreviation does not end a
// sentence; markers right after the end belong to the sentence ("… WoGG.
// [2]").
func sentences(text string, norms []Norm) [][2]int {
	// norms are in text order and do not overlap, and i only grows.
	k := 0
	inNorm := func(i int) bool {
		for k < len(norms) && norms[k].End <= i {
			k++
		}
		return k < len(norms) && norms[k].Start <= i
	}
	var out [][2]int
	start := 0
	for i := 0; i < len(text); i++ {
		ch := text[i]
		if ch == '\n' && i+1 < len(text) && text[i+1] == '\n' {
			out = append(out, [2]int{start, i})
			start = i + 1
			continue
		}
		if ch != '.' && ch != '!' && ch != '?' {
			continue
		}
		if i+1 < len(text) && text[i+1] != ' ' && text[i+1] != '\n' && text[i+1] != '\t' {
			continue
		}
		if inNorm(i) {
			continue
		}
		if ch == '.' {
			w := i
			for w > 0 && isWordByte(text[w-1]) {
				w--
			}
			word := strings.ToLower(text[w:i])
			if abbreviations[word] {
				continue
			}
		}
		// A lower-case word after the period continues the sentence.
		if j := strings.IndexFunc(text[i+1:], func(r rune) bool { return !unicode.IsSpace(r) }); j >= 0 {
			if r, _ := utf8.DecodeRuneInString(text[i+1+j:]); unicode.IsLower(r) {
				continue
			}
		}
		end := i + 1
		// Markers after the end belong to this sentence.
		for {
			j := end
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			if j < len(text) && text[j] == '[' {
				if k := strings.IndexByte(text[j:], ']'); k > 0 {
					end = j + k + 1
					continue
				}
			}
			break
		}
		out = append(out, [2]int{start, end})
		start = end
		i = end - 1
	}
	if strings.TrimSpace(text[start:]) != "" {
		out = append(out, [2]int{start, len(text)})
	}
	return out
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

func intersects(a, b []int) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func markerList(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = "[" + strconv.Itoa(n) + "]"
	}
	return strings.Join(parts, ", ")
}

// shorten keeps a finding's text readable.
func shorten(s string) string {
	const max = 200
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Events turns the checked sections into the streaming events a client
// shows: one "citation" per citation and one "warning" per finding (errors
// included: SSE has no separate type for them; Finding.Severity tells).
func Events(sections []memo.Section) []memo.Event {
	var out []memo.Event
	for _, s := range sections {
		for i := range s.Citations {
			c := s.Citations[i]
			out = append(out, memo.Event{Type: "citation", Section: s.Key, Citation: &c})
		}
		for i := range s.Findings {
			f := s.Findings[i]
			out = append(out, memo.Event{Type: "warning", Section: s.Key, Finding: &f, Message: f.Message})
		}
	}
	return out
}
