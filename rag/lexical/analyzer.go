// Package lexical is the in-process lexical retrieval engine: a German
// analyzer tuned for administrative and legal text (folding, umlaut and ß
// normalisation, Snowball stemming, stop words, exact tokens for §§,
// Absätze, Aktenzeichen, dates and law abbreviations) and a BM25 index over
// precomputed postings that scores documents by their best passage.
//
// Ranking beyond plain BM25, each measured with eval/retrieval on the
// development sets: pair terms for words near each other (proximity),
// matching of German compounds against the index's own vocabulary (no
// dictionary), saturated query-term frequencies and, for long lay
// questions, idf raised to a power so that their distinctive words count
// most.
//
// It knows nothing about chunks or corpora: callers map their own ids to the
// uint32 document numbers it stores (rag/local does).
package lexical

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/german"
)

// Analyzer turns text into index terms. It is safe for concurrent use.
type Analyzer struct {
	stop map[string]struct{}
	// stems caches lower-case word → term: stemming is the most expensive
	// step, and the words of a corpus repeat (Zipf). Bounded by stemCount.
	stems     sync.Map
	stemCount atomic.Int64
}

const maxStems = 1 << 18

// German returns the analyzer for German administrative text.
func German() *Analyzer {
	return &Analyzer{stop: germanStopWords}
}

// Terms returns the index terms of text in order of appearance. Word terms
// are folded, normalised and stemmed; structured references additionally
// give exact terms: "§ 19" → "§19", "Art. 3" → "art3", "Abs. 1" → "abs1",
// "11 Sa 2346/12" → "11sa2346/12", "2. April 2013" → "2013-04-02", and
// abbreviations such as "WoGG" are kept whole with their case.
func (a *Analyzer) Terms(text string) []string {
	var out []string
	a.analyze(text, func(term string, _ int) { out = append(out, term) })
	return out
}

// tokKind classifies raw tokens before analysis.
type tokKind uint8

const (
	tokWord  tokKind = iota
	tokNum           // starts with a digit: "19", "573b", "2346/12", "01.02.2024"
	tokPara          // "§"
	tokParas         // "§§"
	tokPunct         // a separator that matters for patterns: ","
)

type token struct {
	text    string
	kind    tokKind
	dot     bool // directly followed by "."
	capital bool // word starting with an upper-case letter
	upper   int  // number of upper-case letters in a word
}

// scan splits text into raw tokens. Letters and digits never share a token,
// except a number with a one-letter suffix ("573b"), because court documents
// glue paragraph numbers to words ("Tatbestand1Die").
func scan(text string, emit func(token)) {
	i := 0
	n := len(text)
	for i < n {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '§':
			j := i + size
			kind := tokPara
			if strings.HasPrefix(text[j:], "§") {
				j += size
				kind = tokParas
			}
			emit(token{text: text[i:j], kind: kind})
			i = j
		case r == ',' || r == ';':
			emit(token{text: text[i : i+1], kind: tokPunct})
			i += size
		case r >= '0' && r <= '9':
			j := i
			for j < n {
				c := text[j]
				if c >= '0' && c <= '9' {
					j++
					continue
				}
				// Separators inside numbers: 2346/12, 123-45/2024, 01.02.2024.
				if (c == '/' || c == '-' || c == '.') && j+1 < n && text[j+1] >= '0' && text[j+1] <= '9' {
					j++
					continue
				}
				break
			}
			// A single lower-case letter suffix: § 573b, Art. 3a.
			if j < n && text[j] >= 'a' && text[j] <= 'z' && (j+1 == n || !isLetterAt(text, j+1)) {
				j++
			}
			emit(token{text: text[i:j], kind: tokNum, dot: j < n && text[j] == '.'})
			i = j
		case unicode.IsLetter(r):
			j := i
			upper := 0
			for j < n {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsLetter(r2) {
					break
				}
				if unicode.IsUpper(r2) {
					upper++
				}
				j += s2
			}
			emit(token{text: text[i:j], kind: tokWord, dot: j < n && text[j] == '.', capital: unicode.IsUpper(r), upper: upper})
			i = j
		default:
			i += size
		}
	}
}

func isLetterAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r)
}

var months = map[string]string{
	"januar": "01", "jänner": "01", "februar": "02", "märz": "03", "maerz": "03", "april": "04", "mai": "05",
	"juni": "06", "juli": "07", "august": "08", "september": "09", "oktober": "10",
	"november": "11", "dezember": "12",
}

// analyze emits every term with its position: word terms (stems and folded
// abbreviations) get the index of their raw token, so that stop words leave
// a gap; exact terms (numbers, §§, dates) get -1 and take no part in
// proximity.
func (a *Analyzer) analyze(text string, emit func(term string, pos int)) {
	var toks []token
	scan(text, func(t token) { toks = append(toks, t) })
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokPara, tokParas:
			// "§ 19", "§§ 28, 35 und 36"
			j := i + 1
			for j < len(toks) {
				if toks[j].kind == tokNum {
					ref := "§" + strings.ToLower(toks[j].text)
					emit(ref, -1)
					if t.kind == tokPara {
						if abs := absatzAfter(toks, j); abs != "" {
							emit(ref+"abs"+abs, -1)
						}
						break
					}
					j++
					continue
				}
				if t.kind == tokParas && (toks[j].kind == tokPunct || isListWord(toks[j].text)) {
					j++
					continue
				}
				break
			}
		case tokNum:
			emit(strings.ToLower(t.text), -1)
			a.numberPatterns(toks, i, emit)
		case tokWord:
			lower := strings.ToLower(t.text)
			// Structured references: Art. 3, Abs. 1, Satz 2, Nr. 4.
			if i+1 < len(toks) && toks[i+1].kind == tokNum {
				if p := refPrefix(lower, t.dot); p != "" {
					ref := p + strings.ToLower(toks[i+1].text)
					emit(ref, -1)
					if p == "§" || p == "art" {
						if abs := absatzAfter(toks, i+1); abs != "" {
							emit(ref+"abs"+abs, -1)
						}
					}
				}
			}
			// Abbreviations (WoGG, BGB, SächsVwVfZG) are kept whole with
			// their case, and folded without stemming: a stemmer would
			// cut them like words.
			// Long all-capital words are headings ("GRÜNDE"), not
			// abbreviations.
			runes := utf8.RuneCountInString(t.text)
			abbrev := t.upper >= 2 && (t.upper < runes || runes <= 5)
			if abbrev {
				emit(t.text, -1)
				emit(normalize(lower), i)
				continue
			}
			if _, stop := a.stop[lower]; stop {
				continue
			}
			emit(a.term(lower), i)
		}
	}
}

func isListWord(s string) bool {
	switch s {
	case "und", "bis", "oder", "u", "ff", "f":
		return true
	}
	return false
}

func refPrefix(lower string, dot bool) string {
	switch lower {
	case "art", "artikel":
		if lower == "art" && !dot {
			return ""
		}
		return "art"
	case "abs", "absatz":
		if lower == "abs" && !dot {
			return ""
		}
		return "abs"
	case "satz", "s":
		if lower == "s" {
			return ""
		}
		return "satz"
	case "nr", "nummer":
		return "nr"
	case "anlage":
		return "anlage"
	case "paragraph", "paragraf", "paragraphen", "paragrafen", "par":
		// Lay writers spell the sign out: "Paragraph 573b BGB".
		if lower == "par" && !dot {
			return ""
		}
		return "§"
	}
	return ""
}

// absatzAfter returns the number of an "Abs. n" / "Absatz n" that follows
// the number token toks[j], or "".
func absatzAfter(toks []token, j int) string {
	if j+2 >= len(toks) || toks[j+1].kind != tokWord || toks[j+2].kind != tokNum {
		return ""
	}
	switch w := strings.ToLower(toks[j+1].text); {
	case w == "absatz", w == "abs" && toks[j+1].dot:
		return strings.ToLower(toks[j+2].text)
	}
	return ""
}

// numberPatterns emits exact terms for Aktenzeichen and dates starting at
// toks[i], which is a number.
func (a *Analyzer) numberPatterns(toks []token, i int, emit func(string, int)) {
	t := toks[i]
	// dd.mm.yyyy
	if parts := strings.Split(t.text, "."); len(parts) == 3 && len(parts[2]) == 4 && len(parts[0]) <= 2 && len(parts[1]) <= 2 {
		emit(parts[2]+"-"+pad2(parts[1])+"-"+pad2(parts[0]), -1)
		return
	}
	if i+2 >= len(toks) {
		return
	}
	next, after := toks[i+1], toks[i+2]
	// "2. April 2013"
	if t.dot && len(t.text) <= 2 && next.kind == tokWord && after.kind == tokNum && len(after.text) == 4 {
		if m, ok := months[strings.ToLower(next.text)]; ok {
			emit(after.text+"-"+m+"-"+pad2(t.text), -1)
			return
		}
	}
	// Aktenzeichen: "11 Sa 2346/12", "1 BvR 123/45", "VIII ZR" is not
	// matched (Roman numerals are words) but its number part still is.
	if next.kind == tokWord && next.capital && utf8.RuneCountInString(next.text) <= 4 && after.kind == tokNum && strings.Contains(after.text, "/") {
		emit(strings.ToLower(t.text+next.text+after.text), -1)
	}
}

func pad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// term returns the normalised stem of a lower-case word, from the cache
// when possible.
func (a *Analyzer) term(lower string) string {
	if t, ok := a.stems.Load(lower); ok {
		return t.(string)
	}
	t := stem(normalize(lower))
	if a.stemCount.Load() < maxStems {
		a.stemCount.Add(1)
		a.stems.Store(strings.Clone(lower), t)
	}
	return t
}

// stemOf stems an already normalised word, from the cache when possible;
// compound lookups stem many candidate parts.
func (a *Analyzer) stemOf(norm string) string {
	key := "\x00" + norm // apart from the lower-case words of term
	if t, ok := a.stems.Load(key); ok {
		return t.(string)
	}
	t := stem(norm)
	if a.stemCount.Load() < maxStems {
		a.stemCount.Add(1)
		a.stems.Store(key, t)
	}
	return t
}

// normalize folds umlauts and ß and their transcriptions (ae, oe, ue, ss),
// so that "Behörde"/"Behoerde" and "Straße"/"Strasse" give the same term.
// It follows Lucene's GermanNormalizationFilter: "e" after a, o or u is
// dropped, except in "ue" after a vowel or q ("neue", "Quelle").
func normalize(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] == 'e' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	const (
		stN = iota
		stV
		stU
	)
	var b strings.Builder
	b.Grow(len(s) + 2)
	state := stN
	for _, r := range s {
		switch r {
		case 'a', 'o':
			state = stU
		case 'u':
			if state == stN {
				state = stU
			} else {
				state = stV
			}
		case 'e':
			if state == stU {
				state = stV
				continue
			}
			state = stV
		case 'i', 'q', 'y':
			state = stV
		case 'ä':
			r, state = 'a', stV
		case 'ö':
			r, state = 'o', stV
		case 'ü':
			r, state = 'u', stV
		case 'ß':
			b.WriteString("ss")
			state = stN
			continue
		default:
			state = stN
		}
		b.WriteRune(r)
	}
	return b.String()
}

// stem applies the Snowball German stemmer to a normalised, lower-case word.
func stem(word string) string {
	if len(word) <= 3 {
		return word
	}
	env := snowballstem.NewEnv(word)
	german.Stem(env)
	return env.Current()
}
