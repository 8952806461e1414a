package render

import (
	"bytes"
	"regexp"
	"strings"

	"amtsassist/assist/memo"
)

// Markdown renders m as CommonMark: the draft mark first, the memo type as
// title, the header block as a table, the overall verification status and
// notices, the four sections with their status and findings, the source
// list ("[n] citation — doc id") and how the memo was produced. An
// extractive memo says so right under the title. A nil memo gives nil.
//
// Text from the request and the model is escaped so that it can neither
// inject HTML into a client that renders the Markdown nor fake a heading
// of its own; line breaks in section text are kept as paragraphs.
func Markdown(m *memo.Memo) []byte {
	if m == nil {
		return nil
	}
	var b bytes.Buffer
	w := func(ss ...string) {
		for _, s := range ss {
			b.WriteString(s)
		}
	}
	w("> **", mdInline(mark(m)), "**\n\n")
	w("# ", mdLine(typeTitle(memoType(m))), "\n\n")
	if m.Mode == memo.ModeExtractive {
		w("> **", ExtractiveNote, "**\n\n")
	}
	w("| Kopf | |\n|---|---|\n")
	for _, r := range headerRows(m) {
		w("| ", r[0], " | ", mdInline(r[1]), " |\n")
	}
	w("\n**", mdInline(verificationText(m)), "**\n\n")
	if len(m.Warnings) > 0 {
		w("Hinweise:\n\n")
		for _, s := range m.Warnings {
			w("- ", mdLine(s), "\n")
		}
		w("\n")
	}
	for _, s := range sections(m) {
		w("## ", mdLine(sectionTitle(s)), "\n\n")
		if text := mdBlock(s.Text); text != "" {
			w(text, "\n\n")
		} else {
			w("*", emptySection, "*\n\n")
		}
		w("*Prüfstatus: ", mdInline(statusText(s.Status)), "*\n\n")
		if len(s.Findings) > 0 {
			for _, f := range s.Findings {
				w("- ", mdLine(findingText(f)), "\n")
			}
			w("\n")
		}
	}
	w("## Quellen\n\n")
	if len(m.Sources) == 0 {
		w("*Keine Quellen.*\n\n")
	}
	for _, s := range m.Sources {
		w("- ", mdLine(sourceLine(s)), "\n")
	}
	if len(m.Sources) > 0 {
		w("\n")
	}
	if p := provenance(m); len(p) > 0 {
		w("---\n\n")
		for i, s := range p {
			w(mdLine(s))
			if i < len(p)-1 {
				w("\\")
			}
			w("\n")
		}
	}
	return b.Bytes()
}

// mdInline escapes text for one line of Markdown: whitespace runs become
// one space; backslash, code spans, emphasis, HTML, entities and table
// cells are backslash-escaped (CommonMark renders "\<" as "<"); [n]
// markers stay readable.
func mdInline(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '<', '&', '|':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdLine is mdInline for the start of a block (a list item, a heading,
// a line of its own).
func mdLine(s string) string { return escapeBlockStart(mdInline(s)) }

// orderedItem matches the start of an ordered list item.
var orderedItem = regexp.MustCompile(`^(\d{1,9})([.)])`)

// linkDefinition matches a line that CommonMark would read as a link
// reference definition ("[1]: https://…"), which would turn every [1]
// marker of the document into that link.
var linkDefinition = regexp.MustCompile(`^\[[^\]]*\]:`)

// escapeBlockStart escapes a line start that Markdown would read as a
// heading, block quote, list item, thematic break, code fence or link
// reference definition.
func escapeBlockStart(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '#', '>', '+', '-', '=', '~', '_':
		return "\\" + s
	}
	if linkDefinition.MatchString(s) {
		return "\\" + s
	}
	if m := orderedItem.FindStringSubmatch(s); m != nil {
		return m[1] + "\\" + s[len(m[1]):]
	}
	return s
}

// mdBlock escapes multi-line text: each non-empty line becomes a paragraph
// of its own. Only what could break the document is escaped (HTML, entities,
// headings, thematic breaks, setext underlines, code fences, block quotes
// and link reference definitions), so that lists like "1. z.d.A." still render as lists and [n]
// markers stay readable.
func mdBlock(s string) string {
	var paras []string
	for _, line := range strings.Split(strings.ToValidUTF8(s, "\uFFFD"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var b strings.Builder
		for _, r := range line {
			switch r {
			case '\\', '<', '&', '`':
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		line = b.String()
		if linkDefinition.MatchString(line) {
			line = "\\" + line
		}
		switch line[0] {
		case '#', '>', '=', '~', '_':
			line = "\\" + line
		case '-', '*', '+':
			// A list item is fine; a thematic break or an underline is not.
			if strings.Trim(line, string(line[0])+" ") == "" {
				line = "\\" + line
			}
		}
		paras = append(paras, line)
	}
	return strings.Join(paras, "\n\n")
}
