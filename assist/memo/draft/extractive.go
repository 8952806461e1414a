package draft

import (
	"strconv"
	"strings"

	"amtsassist/assist"
	"amtsassist/assist/memo"
)

// Limits of the extractive skeleton: it quotes whole passages, so a few
// are all a clerk can read.
const (
	extractiveNorms = 6
	extractiveCase  = 3
)

// Texts of the extractive skeleton. The placeholders are in square brackets
// so that they stand out and cannot be mistaken for a result.
const (
	extractiveNoFacts    = "[Keine Angaben zum Sachverhalt – bitte ergänzen.]"
	extractiveIntro      = "[Extraktiver Entwurf ohne Sprachmodell: die einschlägigen Normen werden wörtlich wiedergegeben; die Würdigung ist von der Sachbearbeitung zu ergänzen.]"
	extractiveNoNorms    = "Die vorliegenden Quellen enthalten hierzu keine Aussage. [Keine Normen gefunden – bitte Rechtsgrundlage ergänzen.]"
	extractiveErgebnis   = "[Bitte prüfen und ergänzen: Im extraktiven Entwurf wird kein Ergebnis formuliert.]"
	extractiveVerfuegung = "1. Vermerk zur Akte.\n2. Wv. am … [bitte ergänzen]\n3. z.d.A."
)

// extractive builds the skeleton Vermerk: the facts as given, passages of
// the case documents and the most relevant norms quoted verbatim with their
// citation and marker, and clearly marked placeholders for the parts only a
// clerk (or a model) can write. Quotes are whole passages so that they
// verify against their sources.
func (j *Job) extractive() []memo.Section {
	facts := strings.TrimSpace(j.req.Facts)
	if facts == "" {
		facts = extractiveNoFacts
	}
	var sb strings.Builder
	sb.WriteString(facts)
	nCase := 0
	for _, s := range j.sources {
		if s.Corpus != assist.CorpusCases || nCase == extractiveCase {
			continue
		}
		if nCase == 0 {
			sb.WriteString("\n\nAus den Unterlagen der Akte:")
		}
		nCase++
		sb.WriteString("\n\n" + s.Citation + " [" + strconv.Itoa(s.N) + "]: „" + nestQuotes(strings.TrimSpace(s.Text)) + "“ [" + strconv.Itoa(s.N) + "]")
	}
	sachverhalt := sb.String()

	sb.Reset()
	sb.WriteString(extractiveIntro)
	nNorm := 0
	for _, s := range j.sources {
		if s.Corpus != assist.CorpusRegulations || nNorm == extractiveNorms {
			continue
		}
		nNorm++
		// The marker follows the citation too: the verifier ties a norm to
		// the marker of its own sentence, and the quote may hold several.
		sb.WriteString("\n\n" + s.Citation)
		if s.Cite.Heading != "" {
			sb.WriteString(" (" + s.Cite.Heading + ")")
		}
		sb.WriteString(" [" + strconv.Itoa(s.N) + "]: „" + nestQuotes(normBody(s)) + "“ [" + strconv.Itoa(s.N) + "]")
	}
	if nNorm == 0 {
		sb.WriteString("\n\n" + extractiveNoNorms)
	}
	texts := map[string]string{
		memo.SectionSachverhalt: sachverhalt,
		memo.SectionWuerdigung:  sb.String(),
		memo.SectionErgebnis:    extractiveErgebnis,
		memo.SectionVerfuegung:  extractiveVerfuegung,
	}
	out := make([]memo.Section, 0, len(memo.SectionKeys))
	for _, k := range memo.SectionKeys {
		out = append(out, memo.Section{Key: k, Title: memo.SectionTitles[k], Text: texts[k]})
	}
	return out
}

// normBody drops the heading line the law loader puts before a passage
// ("§ 19 WoGG Höhe des Wohngeldes"), which the citation already says; the
// rest is quoted verbatim.
func normBody(s memo.Source) string {
	text := strings.TrimSpace(s.Text)
	if s.Cite.Section != "" && strings.HasPrefix(text, s.Cite.Section) {
		if i := strings.Index(text, "\n"); i >= 0 {
			if body := strings.TrimSpace(text[i:]); body != "" {
				return body
			}
		}
	}
	return text
}

// nestQuotes turns the double quotation marks inside a quoted passage into
// single ones („M“ → ‚M‘), as German typography nests quotations, so that
// the outer quotation stays one quotation for the reader and the verifier.
func nestQuotes(s string) string { return nestedQuotes.Replace(s) }

var nestedQuotes = strings.NewReplacer("„", "‚", "“", "‘", "”", "’", "»", "›", "«", "‹")
