package pdf

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A text layer can be present and still be garbage: a font without a
// usable ToUnicode map makes the library return the font's internal codes,
// which for subset fonts are often letters shifted by a constant ("Es wird
// um Mitteilung" comes out as "6X \PWK ZS =PYYLPRZTN"), or private-use
// code points. Such a page must not be indexed: it needs OCR like a scan.
//
// The check looks at the words of a page. Text in German or English (and
// in most languages written in Latin script) has words with a plausible
// share of vowels, few symbols inside words, and frequent function words.
// Shifted codes break all three: vowels map to consonants and back at
// random, punctuation codes land inside words and function words vanish.
// Numbers, formulas and short pages carry too few words to judge and are
// never flagged.

// readability holds the per-page figures the decision rests on; the
// scores are exported to tests through export_test.go.
type readability struct {
	words    int     // tokens with at least minWordLetters letters
	odd      int     // of those, tokens that do not look like a word
	function int     // tokens that are common German/English function words
	chars    int     // non-space characters
	private  int     // of those, private-use, replacement or control characters
	oddShare float64 // odd / words
	funShare float64 // function / tokens with letters
	pvtShare float64 // private / chars
}

// Thresholds, chosen by measuring every page of the shared real PDFs
// (laws, a plenary protocol, a statistical table publication, a manual
// with code listings, an invoice): their readable pages have at most 2 %
// odd words, pages of forms with garbled fields 5 % to 57 %.
const (
	// minJudgedWords: below it a page (a title page, a page number, a
	// table of figures, a formula) has too little text to judge and
	// counts as readable.
	minJudgedWords = 8
	// minOddWords: a handful of odd words (URLs cut at a line break, a
	// product code) never flags a page.
	minOddWords = 5
	// oddShare at or above clearOddShare flags a page; between
	// someOddShare and clearOddShare it flags it unless function words
	// show that it is mostly running text.
	someOddShare  = 0.05
	clearOddShare = 0.15
	// rescueFunctionShare: German and English prose has 25 % to 45 %
	// function words; forms and tables have fewer.
	rescueFunctionShare = 0.30
	// maxPrivateShare: private-use code points are what a font without a
	// map yields in some producers; real text has none.
	maxPrivateShare = 0.2
	minPrivateChars = 8
	minWordLetters  = 4
)

// unreadable reports whether text is a garbled text layer.
func unreadable(text string) bool {
	return measure(text).unreadable()
}

func (r readability) unreadable() bool {
	if r.private >= minPrivateChars && r.pvtShare > maxPrivateShare {
		return true
	}
	if r.words < minJudgedWords || r.odd < minOddWords {
		return false
	}
	return r.oddShare >= clearOddShare || (r.oddShare >= someOddShare && r.funShare < rescueFunctionShare)
}

func measure(text string) readability {
	var r readability
	lettered := 0
	for _, c := range text {
		if unicode.IsSpace(c) {
			continue
		}
		r.chars++
		if privateOrControl(c) {
			r.private++
		}
	}
	for _, tok := range strings.Fields(text) {
		tok = strings.TrimFunc(tok, trimmable)
		if tok == "" || !hasLetter(tok) {
			continue
		}
		lettered++
		if functionWords[strings.ToLower(tok)] {
			r.function++
		}
		if letters(tok) < minWordLetters {
			continue
		}
		r.words++
		if !wordLike(tok) {
			r.odd++
		}
	}
	if r.words > 0 {
		r.oddShare = float64(r.odd) / float64(r.words)
	}
	if lettered > 0 {
		r.funShare = float64(r.function) / float64(lettered)
	}
	if r.chars > 0 {
		r.pvtShare = float64(r.private) / float64(r.chars)
	}
	return r
}

// trimmable is punctuation that legitimately surrounds a word.
func trimmable(c rune) bool {
	return !unicode.IsLetter(c) && !unicode.IsDigit(c) || c == '%'
}

func privateOrControl(c rune) bool {
	return unicode.Is(unicode.Co, c) || c == utf8.RuneError || (unicode.IsControl(c) && c != '\t' && c != '\n' && c != '\r')
}

// wordLike reports whether tok (outer punctuation trimmed) looks like a
// word, a compound, an abbreviation or a code such as "802c" rather than
// shifted font codes. Parts of a compound joined by hyphens or slashes
// are judged one by one ("ZUGFeRD-XML", "USt-ID").
func wordLike(tok string) bool {
	if lower := strings.ToLower(tok); strings.Contains(lower, "://") || strings.HasPrefix(lower, "http") || strings.HasPrefix(lower, "www.") {
		return true // a URL
	}
	for _, part := range strings.FieldsFunc(tok, func(c rune) bool { return strings.ContainsRune("-‐‑–/.", c) }) {
		if !partLike(part) {
			return false
		}
	}
	return true
}

func partLike(part string) bool {
	vowels, cons, run, maxRun, upper, lower, digits, symbols := 0, 0, 0, 0, 0, 0, 0, 0
	for _, c := range part {
		switch {
		case unicode.IsLetter(c):
			if c > unicode.MaxLatin1 && !unicode.Is(unicode.Latin, c) {
				// Other scripts: no vowel model, accept.
				return true
			}
			if unicode.IsUpper(c) {
				upper++
			} else {
				lower++
			}
			if isVowel(c) {
				vowels++
				run = 0
			} else {
				cons++
				run++
				maxRun = max(maxRun, run)
			}
		case unicode.IsDigit(c):
			digits++
			run = 0
		default:
			run = 0
			if !strings.ContainsRune(".'’&+", c) {
				symbols++
			}
		}
	}
	n := vowels + cons
	if n < minWordLetters {
		return true
	}
	// Shifted codes come out mostly in capitals, with punctuation codes
	// inside words ("UXYRLPY^HORg?WY"); code listings
	// ("BigDecimal(\"7.0") are mostly lower case.
	if symbols > 0 && upper > lower {
		return false
	}
	// A digit followed by capitals ("2ZMXYLRRZTN") is a shifted code;
	// "802c" and "3GPP" have fewer letters or lower case.
	if digits > 0 && lower == 0 && upper >= minWordLetters && unicode.IsDigit([]rune(part)[0]) {
		return false
	}
	// A lower-case letter between many capitals ("LPTLdRPJOQ") is a
	// shifted code; "GmbH", "BAföG", "ZUGFeRD" and "iPhone" are short or
	// have more lower case.
	if lower > 0 && upper > 3*lower && n >= 8 {
		return false
	}
	if lower == 0 && n <= 6 {
		// Abbreviations: "BMWK", "BMFSFJ", "SGB".
		return true
	}
	// German and English words have vowels: a quarter to two thirds of
	// the letters. Consonant-heavy words exist ("Rechtsschutz" 0.17,
	// "Bahnstr" 0.14), so the bound is low and applies to long words
	// only; shifted codes mostly fall below it.
	ratio := float64(vowels) / float64(n)
	if (vowels == 0 && n >= 5) || (n >= 8 && ratio < 0.15) || (n >= 6 && ratio > 0.85) {
		return false
	}
	// German tolerates long consonant runs ("Angstschweiß": ngstschw, 8);
	// beyond that it is not a word.
	return maxRun <= 8
}

func isVowel(c rune) bool {
	switch unicode.ToLower(c) {
	case 'a', 'e', 'i', 'o', 'u', 'y', 'ä', 'ö', 'ü', 'à', 'á', 'â', 'è', 'é', 'ê', 'ë', 'ì', 'í', 'î', 'ï', 'ò', 'ó', 'ô', 'ù', 'ú', 'û', 'æ', 'ø', 'å':
		return true
	}
	return false
}

// functionWords are frequent German and English words of at most four
// letters; running text in either language is full of them.
var functionWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`der die das den dem des ein eine einer eines einem einen und oder
		in im ist zu zur zum von vom mit auf für bei aus nach nicht sich es er sie
		wir ich auch als an am wird sind hat so wie dass daß nur noch über
		the a an and or of to in is are be by for on at as it with from that this
		not was has have`) {
		m[w] = true
	}
	return m
}()
