package extraction

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// lineBreakHyphen matches a word broken at a line end ("Verwal-\ntung"):
// typeset text and the Bundestag's official full text keep such breaks,
// extractors may or may not rejoin them. Both sides are rejoined before
// comparing so that neither choice is penalised.
var lineBreakHyphen = regexp.MustCompile(`(\p{L})[-\x{00AD}\x{2010}\x{2011}][ \t]*(?:\r?\n[ \t]*)+(\p{Ll})`)

var caseBoundary = regexp.MustCompile(`(\p{Ll})(\p{Lu})|(\p{L})(\p{Nd})|(\p{Nd})(\p{L})`)

// Words normalises text for comparison and returns its words: NFKC (which
// unfolds ligatures such as "ﬁ"), line-end hyphenation rejoined, lower
// case, and every run of characters that is neither a letter nor a digit
// treated as a word boundary (so punctuation, dot leaders and layout
// whitespace do not count).
func Words(text string) []string {
	text = norm.NFKC.String(text)
	text = lineBreakHyphen.ReplaceAllString(text, "$1$2")
	text = caseBoundary.ReplaceAllString(text, "$1$3$5 $2$4$6")
	text = strings.ToLower(text)
	return strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Recall3 is the word 3-gram recall of extracted against truth: the share
// of the 3-grams of consecutive words of truth (counted with
// multiplicity) that occur anywhere in extracted. Extra text in extracted
// does not lower it; lost, garbled, glued or reordered text does, because
// it breaks the 3-grams that span it.
func Recall3(truth, extracted string) float64 {
	tw, ew := Words(truth), Words(extracted)
	if len(tw) < 3 {
		return 0
	}
	have := make(map[[3]string]struct{}, len(ew))
	for i := 0; i+3 <= len(ew); i++ {
		have[[3]string{ew[i], ew[i+1], ew[i+2]}] = struct{}{}
	}
	found, total := 0, 0
	for i := 0; i+3 <= len(tw); i++ {
		total++
		if _, ok := have[[3]string{tw[i], tw[i+1], tw[i+2]}]; ok {
			found++
		}
	}
	return float64(found) / float64(total)
}

// xmlText returns the character data of an XML document, element
// boundaries becoming line breaks. With only set, just the data inside
// elements of that local name counts; otherwise everything except
// LegalDocML metadata (akn:meta: identifiers, dates, GUIDs that are never
// printed).
func xmlText(data []byte, only string) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var b strings.Builder
	skip, inside := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if skip > 0 || (only == "" && t.Name.Local == "meta") {
				skip++
			}
			if inside > 0 || t.Name.Local == only {
				inside++
			}
		case xml.EndElement:
			if skip > 0 {
				skip--
			}
			if inside > 0 {
				inside--
			}
			b.WriteByte('\n')
		case xml.CharData:
			if skip == 0 && (only == "" || inside > 0) {
				b.Write(t)
			}
		}
	}
	return b.String(), nil
}
