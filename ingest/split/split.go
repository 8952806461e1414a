// Package split cuts text into retrieval-sized passages. Loaders that know
// a document's structure (§§ of a law, pages of a PDF) call it only for the
// parts that are still too long; everything else uses it as the generic,
// paragraph- and sentence-aware fallback.
package split

import (
	"strings"
	"unicode/utf8"
)

// Default passage sizes in runes: about 200 German tokens, which is what
// lexical retrieval of long documents scores best with (each document scored
// by its best passage).
const (
	DefaultMaxRunes = 1400
	DefaultOverlap  = 200
)

// separators are tried in order: paragraphs, lines, sentences, clauses,
// words. Each stays attached to the piece before it, so that joining the
// pieces gives back the text.
var separators = []string{"\n\n", "\n", ". ", "; ", ", ", " "}

// Text splits text into passages of at most maxRunes runes, preferring
// paragraph, line, sentence and word boundaries in that order, with about
// overlap runes repeated between neighbours. A run of more than maxRunes
// runes without any separator is cut hard. Whitespace-only input gives no
// passages. maxRunes <= 0 uses DefaultMaxRunes; overlap < 0 uses
// DefaultOverlap.
//
// It follows the recursive character splitting of langchaingo's
// textsplitter, written out here because that one logs a warning through
// the standard logger for every oversized piece.
func Text(text string, maxRunes, overlap int) []string {
	if maxRunes <= 0 {
		maxRunes = DefaultMaxRunes
	}
	if overlap < 0 {
		overlap = DefaultOverlap
	}
	if overlap >= maxRunes {
		overlap = maxRunes / 4
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	if utf8.RuneCountInString(text) <= maxRunes {
		return []string{text}
	}
	pieces := cut(text, separators, maxRunes, nil)
	var out, cur []string
	curLen := 0
	flush := func() {
		if p := strings.TrimSpace(strings.Join(cur, "")); p != "" {
			out = append(out, p)
		}
	}
	for _, p := range pieces {
		n := utf8.RuneCountInString(p)
		if curLen > 0 && curLen+n > maxRunes {
			flush()
			// Keep a tail of the passage as the overlap of the next one.
			for len(cur) > 0 && (curLen > overlap || curLen+n > maxRunes) {
				curLen -= utf8.RuneCountInString(cur[0])
				cur = cur[1:]
			}
		}
		cur = append(cur, p)
		curLen += n
	}
	flush()
	return out
}

// cut splits s into pieces of at most max runes at the first separator
// that occurs in it, recursing with the finer separators into pieces that
// are still too long, and appends them to out.
func cut(s string, seps []string, max int, out []string) []string {
	if utf8.RuneCountInString(s) <= max {
		return append(out, s)
	}
	for i, sep := range seps {
		if !strings.Contains(s, sep) {
			continue
		}
		for len(s) > 0 {
			j := strings.Index(s, sep)
			var part string
			if j < 0 {
				part, s = s, ""
			} else {
				part, s = s[:j+len(sep)], s[j+len(sep):]
			}
			out = cut(part, seps[i+1:], max, out)
		}
		return out
	}
	// No separator left: cut by runes.
	for utf8.RuneCountInString(s) > max {
		k := 0
		for n := 0; n < max; n++ {
			_, size := utf8.DecodeRuneInString(s[k:])
			k += size
		}
		out = append(out, s[:k])
		s = s[k:]
	}
	return append(out, s)
}
