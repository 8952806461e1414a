package verify

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Norm is one reference to a provision found in German legal text, e.g.
// "§ 19 Abs. 1 Satz 2 WoGG".
type Norm struct {
	// Raw is the reference as written. Every norm of a list ("§§ 28, 35
	// VwVfG") carries the whole list, and Start/End span all of it, because
	// that is the text a clerk sees and corrects.
	Raw string
	// Law is the abbreviation as written ("WoGG", "SGB X", "SGB 10"), or
	// the law of the context when the reference names none (see
	// Inferred). Empty when unresolved; compare laws with LawKey.
	Law string
	// LawTitle is the law's title as written when the reference names the
	// law by title ("des Wohngeldgesetzes"); Law stays empty until the
	// title is resolved against the index (see TitleResolver).
	LawTitle string
	// Inferred reports that Law (or LawTitle) was not written next to the
	// reference but taken from its context.
	Inferred bool
	// Section is "§ 19", "§ 19a", "Art. 3" or "Anlage 2".
	Section string
	// Paragraph is the Absatz ("1"); Sentence the Satz; Number the Nummer.
	Paragraph, Sentence, Number string
	// Start and End are the byte offsets of Raw in the parsed text.
	Start, End int
}

// String renders the norm in the normalised citation form:
// "§ 19 Abs. 1 Satz 2 Nr. 3 WoGG".
func (n Norm) String() string {
	var b strings.Builder
	b.WriteString(n.Section)
	if n.Paragraph != "" {
		b.WriteString(" Abs. " + n.Paragraph)
	}
	if n.Sentence != "" {
		b.WriteString(" Satz " + n.Sentence)
	}
	if n.Number != "" {
		b.WriteString(" Nr. " + n.Number)
	}
	switch {
	case n.Law != "":
		b.WriteString(" " + n.Law)
	case n.LawTitle != "":
		b.WriteString(" " + n.LawTitle)
	}
	return b.String()
}

// Resolved reports whether the norm names its law by abbreviation.
func (n Norm) Resolved() bool { return n.Law != "" }

// maxNormText bounds the text ParseNorms reads: a memo section is a few
// kilobytes; anything far beyond that is not a memo and parsing it is wasted
// work.
const maxNormText = 1 << 20

// maxListItems bounds one list of sections ("§§ 1, 2, 3, …") and the
// expansion of nothing else: ranges yield their two endpoints only.
const maxListItems = 50

var (
	numRe = mustCompile(`^\s*(\d{1,4}[a-z]?)\b`)
	// qualRe reads "Abs. 1", "Absatz 1", "Satz 2", "S. 2", "Nr. 3",
	// "Nummer 3", and tolerates (and drops) Halbsatz and Buchstabe. A list
	// of values ("Abs. 1 und 2") keeps the first.
	qualRe = mustCompile(`^\s*(Abs\.|Absatz|Satz|S\.|Nr\.|Nummer|Halbs\.|Halbsatz|Buchst\.|Buchstabe|lit\.)\s*(\d{1,4}[a-z]?|[a-z]\)?)((?:\s*(?:,|und|oder|bis|u\.)\s*\d{1,4}[a-z]?\b)*)`)
	// sepRe continues a list after §§: "§§ 28, 35", "§§ 9 bis 11",
	// "§§ 1 und § 2".
	sepRe = mustCompile(`^\s*(,|und|sowie|oder|bis|u\.)\s*(?:§\s*)?(\d{1,4}[a-z]?)\b`)
	// sgbRe reads a Sozialgesetzbuch book: "SGB X", "SGB 10", "SGB I".
	sgbRe = mustCompile(`^[\t\p{Zs}]+(?:(?:des|der|dem)[\t\p{Zs}]+)?(SGB\s*(?:[IVX]{1,4}|\d{1,2}))\b`)
	// abbrRe reads a candidate abbreviation; isAbbreviation decides.
	abbrRe = mustCompile(`^[\t\p{Zs}]+(?:(?:des|der|dem)[\t\p{Zs}]+)?(\p{L}[\p{L}\d-]*\p{L}|\p{Lu}{2})`)
	// titleRe reads a law named by title: "des Wohngeldgesetzes", "des
	// Zehnten Buches Sozialgesetzbuch", "der Verwaltungsgerichtsordnung".
	titleRe = mustCompile(`^[\t\p{Zs}]+(?:(?:des|der|dem)[\t\p{Zs}]+)?((?:\p{Lu}[\p{L}-]*[\t\p{Zs}]+){0,3}?\p{Lu}[\p{L}-]*(?:[Gg]esetz|[Gg]esetzes|[Gg]esetzbuch|[Gg]esetzbuches|[Gg]esetzbuchs|[Oo]rdnung|[Vv]erordnung))\b`)
	// connectorRe is the text between a bare reference and the next one
	// whose law it shares: "§ 19 Abs. 1 i.V.m. § 17 WoGG".
	connectorRe = mustCompile(`^\s*(?:,|und|sowie|oder|bzw\.|i\.\s?V\.\s?m\.|in Verbindung mit)?\s*$`)
)

// mustCompile compiles a pattern in which \s also matches Unicode spaces:
// legal texts copied from the web put no-break spaces between "§" and the
// number ("§\u00a019"), which RE2's \s does not match.
func mustCompile(pattern string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(pattern, `\s`, `[\s\p{Zs}]`))
}

// qualifier words that abbrRe must not take for a law.
var notLaw = map[string]bool{
	"Abs": true, "Absatz": true, "Satz": true, "Nr": true, "Nummer": true, "Halbs": true, "Halbsatz": true,
	"Buchst": true, "Buchstabe": true, "Alt": true, "Var": true, "ff": true, "f": true,
}

// isAbbreviation accepts a word as a law abbreviation when it has at least
// two capitals and no run of more than four lower-case letters ("WoGG",
// "BAföG", "GG", "SächsVwVfZG", "VwVfG"): ordinary German words, which
// follow a reference in prose ("§ 19 regelt", "§ 19 Die …"), have at most
// one capital, and hyphenated titles ("De-Mail-Gesetzes") or compounds
// ("IT-Sicherheit") have long lower-case runs.
func isAbbreviation(w string) bool {
	if notLaw[w] {
		return false
	}
	upper, run := 0, 0
	for _, r := range w {
		switch {
		case unicode.IsUpper(r):
			upper++
			run = 0
		case unicode.IsLower(r):
			run++
			if run > 4 {
				return false
			}
		default:
			run = 0
		}
	}
	return upper >= 2
}

// ParseNorms finds the norm references in text, in order. It handles
// "§ 19 Abs. 1 WoGG", "§ 19 Absatz 1 Satz 2 WoGG", lists ("§§ 28, 35
// VwVfG": one norm each), ranges ("§§ 9 bis 11 WoGG": the two endpoints
// only, because the §§ in between may include lettered ones the text does
// not name), "Art. 3 Abs. 1 GG", "Anlage 2 WoGG", Sozialgesetzbuch books
// ("SGB X", "SGB 10", "SGB I") and laws named by title ("nach § 19 des
// Wohngeldgesetzes": LawTitle set, Law empty).
//
// A reference without a law ("§ 19") takes the law of the reference it is
// joined to by "und", "oder", "," or "i.V.m." ("§ 19 Abs. 1 i.V.m. § 17
// WoGG"), else the law of the nearest preceding reference that names one;
// such norms are marked Inferred. Without either it stays unresolved.
// ParseNorms never fails: text it does not understand yields no norm.
func ParseNorms(text string) []Norm {
	if len(text) > maxNormText {
		text = text[:maxNormText]
	}
	var out []Norm
	pos := 0
	for pos < len(text) {
		start, end := nextPrefix(text, pos)
		if start < 0 {
			break
		}
		norms, next := parseAt(text, start, end)
		out = append(out, norms...)
		if next <= end {
			next = end
		}
		pos = next
	}
	resolveContext(text, out)
	return out
}

// prefixes start a reference, longest first.
var prefixes = []string{"§§", "§", "Artikel", "Artt.", "Art.", "Anlagen", "Anlage"}

// nextPrefix returns the span of the next reference prefix at or after
// pos, or -1. Words must stand alone ("Artikel", not "Artikelserie"; not
// "Hauptanlage"). A plain scan, because a regular expression with word
// boundaries costs a backtracking pass over every memo.
func nextPrefix(text string, pos int) (int, int) {
	for pos < len(text) {
		i := strings.IndexAny(text[pos:], "§A")
		if i < 0 {
			return -1, -1
		}
		i += pos
		for _, p := range prefixes {
			if !strings.HasPrefix(text[i:], p) {
				continue
			}
			end := i + len(p)
			if p[0] == 'A' {
				if r, _ := utf8.DecodeLastRuneInString(text[:i]); i > 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
					break
				}
				if r, _ := utf8.DecodeRuneInString(text[end:]); end < len(text) && p[len(p)-1] != '.' && unicode.IsLetter(r) {
					continue
				}
			}
			return i, end
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		pos = i + size
	}
	return -1, -1
}

// parseAt parses one reference whose prefix spans text[start:end] and
// returns its norms and the offset after it.
func parseAt(text string, start, end int) ([]Norm, int) {
	prefix := text[start:end]
	var kind string
	plural := false
	switch {
	case strings.HasPrefix(prefix, "§§"):
		kind, plural = "§", true
	case strings.HasPrefix(prefix, "§"):
		kind = "§"
	case prefix == "Artt.":
		kind, plural = "Art.", true
	case strings.HasPrefix(prefix, "Art"):
		kind = "Art."
	case prefix == "Anlagen":
		kind, plural = "Anlage", true
	default:
		kind = "Anlage"
	}
	pos := end
	type item struct {
		section, paragraph, sentence, number string
	}
	var items []item
	readItem := func(num string) {
		it := item{section: kind + " " + num}
		for {
			m := qualRe.FindStringSubmatchIndex(ahead(text, pos))
			if m == nil {
				break
			}
			word, val := text[pos+m[2]:pos+m[3]], text[pos+m[4]:pos+m[5]]
			// A list of values after a qualifier ("Abs. 1, 35") is read
			// as such only for a single §; after §§ it is the next §.
			if plural && m[6] < m[7] {
				m[1] = m[5]
			}
			switch word {
			case "Abs.", "Absatz":
				if it.paragraph == "" {
					it.paragraph = val
				}
			case "Satz", "S.":
				if it.sentence == "" {
					it.sentence = val
				}
			case "Nr.", "Nummer":
				if it.number == "" {
					it.number = val
				}
			}
			pos += m[1]
		}
		items = append(items, it)
	}
	m := numRe.FindStringSubmatchIndex(ahead(text, pos))
	if m == nil {
		return nil, end
	}
	num := text[pos+m[2] : pos+m[3]]
	pos += m[1]
	readItem(num)
	if plural {
		for len(items) < maxListItems {
			s := sepRe.FindStringSubmatchIndex(ahead(text, pos))
			if s == nil {
				break
			}
			num := text[pos+s[4] : pos+s[5]]
			pos += s[1]
			readItem(num)
		}
	}
	law, title := "", ""
	if s := sgbRe.FindStringSubmatchIndex(ahead(text, pos)); s != nil {
		law = normaliseSGB(text[pos+s[2] : pos+s[3]])
		pos += s[1]
	} else if s := abbrRe.FindStringSubmatchIndex(ahead(text, pos)); s != nil && isAbbreviation(text[pos+s[2]:pos+s[3]]) {
		law = text[pos+s[2] : pos+s[3]]
		pos += s[1]
	} else if s := titleRe.FindStringSubmatchIndex(ahead(text, pos)); s != nil {
		title = text[pos+s[2] : pos+s[3]]
		pos += s[1]
	}
	raw := text[start:pos]
	norms := make([]Norm, len(items))
	for i, it := range items {
		norms[i] = Norm{
			Raw: raw, Law: law, LawTitle: title, Section: it.section,
			Paragraph: it.paragraph, Sentence: it.sentence, Number: it.number,
			Start: start, End: pos,
		}
	}
	return norms, pos
}

// normaliseSGB writes a Sozialgesetzbuch book with one space: "SGB X".
func normaliseSGB(s string) string {
	return "SGB " + strings.TrimSpace(strings.TrimPrefix(s, "SGB"))
}

// resolveContext fills the law of bare references, see ParseNorms.
func resolveContext(text string, norms []Norm) {
	named := func(n Norm) bool { return n.Law != "" || n.LawTitle != "" }
	// Joined to a following reference that names its law.
	for i := len(norms) - 1; i >= 0; i-- {
		if named(norms[i]) {
			continue
		}
		j := i + 1
		for j < len(norms) && norms[j].Start == norms[i].Start {
			j++ // the rest of the same list shares its (missing) law
		}
		if j < len(norms) && named(norms[j]) && norms[j].Start >= norms[i].End &&
			connectorRe.MatchString(text[norms[i].End:norms[j].Start]) {
			norms[i].Law, norms[i].LawTitle, norms[i].Inferred = norms[j].Law, norms[j].LawTitle, true
		}
	}
	// Else the nearest preceding reference with a law.
	law, title := "", ""
	for i := range norms {
		if named(norms[i]) {
			law, title = norms[i].Law, norms[i].LawTitle
			continue
		}
		if law != "" || title != "" {
			norms[i].Law, norms[i].LawTitle, norms[i].Inferred = law, title, true
		}
	}
}

// romanBooks maps the Roman numerals of Sozialgesetzbuch books.
var romanBooks = map[string]string{
	"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7",
	"viii": "8", "ix": "9", "x": "10", "xi": "11", "xii": "12", "xiii": "13", "xiv": "14",
}

// LawKey normalises a law abbreviation for comparison: case, spaces and dots
// do not count, and a Sozialgesetzbuch book in Roman numerals equals the
// Arabic one, so "SGB X", "SGB 10" and "SGB10" have the same key.
func LawKey(law string) string {
	k := compactKey(law)
	if rest, ok := strings.CutPrefix(k, "sgb"); ok {
		if a, ok := romanBooks[rest]; ok {
			return "sgb" + a
		}
	}
	return k
}

// SectionKey normalises a section: "§ 19a" → "§19a", "Artikel 3" →
// "art3", "Anlage 2" → "anlage2".
func SectionKey(section string) string {
	k := compactKey(section)
	if rest, ok := strings.CutPrefix(k, "artikel"); ok {
		k = "art" + rest
	}
	return k
}

func compactKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '.' {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// altLaw returns the other spelling of a Sozialgesetzbuch book ("SGB X" ↔
// "SGB 10"), which indexes use interchangeably (amtliche Abkürzung vs.
// jurabk), or "" when there is none.
func altLaw(law string) string {
	rest, ok := strings.CutPrefix(law, "SGB ")
	if !ok {
		return ""
	}
	if a, ok := romanBooks[strings.ToLower(rest)]; ok {
		return "SGB " + a
	}
	for r, a := range romanBooks {
		if a == rest {
			return "SGB " + strings.ToUpper(r)
		}
	}
	return ""
}

// lookahead bounds what the anchored expressions of parseAt see: a
// reference's qualifiers and law follow within a few dozen bytes, and the
// regexp engine's cost grows with the input it is given, not with what it
// matches.
const lookahead = 240

func ahead(text string, pos int) string {
	end := min(len(text), pos+lookahead)
	// Do not cut a word (or a rune) in two at the window's end.
	for end < len(text) && end > pos && !isBoundary(text, end) {
		end--
	}
	return text[pos:end]
}

func isBoundary(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	if !utf8.RuneStart(text[i]) {
		return false
	}
	return !unicode.IsLetter(r) && !unicode.IsDigit(r)
}
