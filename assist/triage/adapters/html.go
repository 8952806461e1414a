package adapters

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped elements never contribute text: scripts, styles and other
// non-content whose text would be code or markup, not the requester's words.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true,
	atom.Noscript: true, atom.Template: true, atom.Iframe: true, atom.Object: true,
	atom.Svg: true, atom.Math: true, atom.Textarea: true, atom.Select: true,
}

// blocks end a line, so that paragraphs and list items stay apart.
var blocks = map[atom.Atom]bool{
	atom.Br: true, atom.P: true, atom.Div: true, atom.Li: true, atom.Tr: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Blockquote: true, atom.Pre: true, atom.Table: true, atom.Ul: true, atom.Ol: true,
	atom.Hr: true, atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true,
	atom.Dt: true, atom.Dd: true,
}

// StripHTML reduces an HTML fragment or document to its text: entities
// decoded, tags removed, block elements as line breaks, runs of blanks
// collapsed. Content of script, style and similar elements is dropped, also
// when the markup is broken. The tokenizer never fails; at worst a broken
// tag ends up as text, never as markup.
func StripHTML(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var (
		b           strings.Builder
		skip        []atom.Atom // open skipped elements
		pre         int         // depth of open <pre> elements
		atLineStart = true      // nothing but blanks since the last line break
	)
	// softBreak ends the current line unless it is empty, so that nested
	// and adjacent blocks give one line break, not several.
	softBreak := func() {
		if !atLineStart {
			b.WriteByte('\n')
			atLineStart = true
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if len(skip) > 0 {
				continue
			}
			text := string(z.Text())
			if pre == 0 {
				// Outside <pre>, source line breaks are blanks in HTML.
				text = strings.Map(func(r rune) rune {
					if r == '\n' || r == '\r' || r == '\t' {
						return ' '
					}
					return r
				}, text)
			}
			b.WriteString(text)
			last := text[strings.LastIndexByte(text, '\n')+1:]
			if strings.TrimSpace(last) != "" {
				atLineStart = false
			} else if strings.Contains(text, "\n") {
				atLineStart = true
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case len(skip) > 0 && tt == html.StartTagToken && skipped[a]:
				skip = append(skip, a)
			case len(skip) > 0:
			case skipped[a] && tt == html.StartTagToken:
				skip = append(skip, a)
			case a == atom.Br:
				b.WriteByte('\n')
				atLineStart = true
			case a == atom.Td || a == atom.Th:
				b.WriteByte(' ')
			case blocks[a]:
				softBreak()
				if a == atom.Pre && tt == html.StartTagToken {
					pre++
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipped[a] {
				// Close up to the matching element; an unmatched end tag
				// changes nothing.
				for i := len(skip) - 1; i >= 0; i-- {
					if skip[i] == a {
						skip = skip[:i]
						break
					}
				}
				continue
			}
			if len(skip) == 0 && blocks[a] {
				softBreak()
				if a == atom.Pre && pre > 0 {
					pre--
				}
			}
		}
	}
}

// tidy collapses blanks within lines and more than one empty line.
func tidy(s string) string {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	empty := 0
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			empty++
			if empty > 1 || len(out) == 0 {
				continue
			}
		} else {
			empty = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// looksLikeHTML is a cheap guess for bodies sent without a content type.
func looksLikeHTML(s string) bool {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "<") {
		return false
	}
	ls := strings.ToLower(s)
	return strings.Contains(ls, "</") || strings.Contains(ls, "<br") || strings.HasPrefix(ls, "<!doctype")
}
