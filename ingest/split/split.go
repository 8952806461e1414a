// Package split cuts text into retrieval-sized passages. Loaders that know
// a document's structure (§§ of a law, pages of a PDF) call it only for the
// parts that are still too long; everything else uses it as the generic,
// paragraph- and sentence-aware fallback.
package split

import (
	"strings"
	"unicode/utf8"

	"github.com/tmc/langchaingo/textsplitter"
)

// Default passage sizes in runes: about 200 German tokens, which is what
// lexical retrieval of long documents scores best with (each document scored
// by its best passage).
const (
	DefaultMaxRunes = 1400
	DefaultOverlap  = 200
)

// Text splits text into passages of at most maxRunes runes (a single word
// longer than that is kept whole), preferring paragraph, line, sentence and
// word boundaries in that order, with about overlap runes repeated between
// neighbours. Whitespace-only input gives no passages. maxRunes <= 0 uses
// DefaultMaxRunes; overlap < 0 uses DefaultOverlap.
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
	s := textsplitter.NewRecursiveCharacter(
		textsplitter.WithChunkSize(maxRunes),
		textsplitter.WithChunkOverlap(overlap),
		textsplitter.WithSeparators([]string{"\n\n", "\n", ". ", "; ", ", ", " ", ""}),
		textsplitter.WithLenFunc(utf8.RuneCountInString),
	)
	parts, err := s.SplitText(text)
	if err != nil { // the recursive splitter has no failure mode for plain text
		return []string{text}
	}
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
