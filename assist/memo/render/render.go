// Package render turns a drafted memo into the documents a clerk works
// with: Markdown for the e-file client and the API, and a Word document
// (.docx) to correct and file. Both carry the header block, the four
// sections with their verification status and findings, the source list
// and, prominently, the draft mark: a rendered memo must never pass for a
// checked one.
//
// Rendering is deterministic (the same memo gives the same bytes), so the
// outputs can be golden-tested and cached.
package render

import (
	"fmt"
	"regexp"
	"strings"

	"amtsassist/assist/memo"
)

// Content types of the renderings, for HTTP responses.
const (
	MarkdownContentType = "text/markdown; charset=utf-8"
	DOCXContentType     = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
)

// FileName suggests a file name for a rendering of m with the given
// extension ("md", "docx"): memo type, file number and date, restricted to
// characters every file system and a Content-Disposition header accept,
// e.g. "Aktenvermerk_WG-2026-0815_2026-11-28.docx".
func FileName(m *memo.Memo, ext string) string {
	var parts []string
	if m != nil {
		parts = append(parts, typeTitle(memoType(m)), m.Header.Aktenzeichen, m.Header.Datum)
	}
	var b strings.Builder
	for _, p := range parts {
		p = safeName(p)
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		b.WriteString(p)
	}
	if b.Len() == 0 {
		b.WriteString("Vermerk")
	}
	name := b.String()
	if len(name) > 100 {
		name = name[:100]
	}
	if ext = safeName(ext); ext != "" {
		name += "." + ext
	}
	return name
}

// safeName keeps ASCII letters, digits, '-' and '.', spells umlauts out and
// turns every other run of characters into one '-'.
func safeName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		var rep string
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.' && b.Len() > 0:
			rep = string(r)
		case r == 'ä', r == 'ö', r == 'ü', r == 'Ä', r == 'Ö', r == 'Ü':
			rep = map[rune]string{'ä': "ae", 'ö': "oe", 'ü': "ue", 'Ä': "Ae", 'Ö': "Oe", 'Ü': "Ue"}[r]
		case r == 'ß':
			rep = "ss"
		default:
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteString(rep)
	}
	return strings.TrimRight(b.String(), ".")
}

// ExtractiveNote marks a memo built without a chat model.
const ExtractiveNote = "Extraktiver Entwurf (ohne KI-Formulierung)"

// typeTitles are the German names of the memo types.
var typeTitles = map[memo.Type]string{
	memo.Aktenvermerk:         "Aktenvermerk",
	memo.Gespraechsvermerk:    "Gesprächs-/Telefonvermerk",
	memo.Entscheidungsvermerk: "Entscheidungsvermerk",
}

// typeTitle names a memo type; an unknown type is shown as given, a
// missing one as the generic "Vermerk".
func typeTitle(t memo.Type) string {
	if s, ok := typeTitles[t]; ok {
		return s
	}
	if t == "" {
		return "Vermerk"
	}
	return string(t)
}

// statusText explains a verification status to the clerk.
func statusText(s memo.Status) string {
	switch s {
	case memo.StatusVerified:
		return "geprüft – alle Belege bestätigt"
	case memo.StatusWarnings:
		return "Hinweise – bitte prüfen"
	case memo.StatusFailed:
		return "Fehler – Belege fehlerhaft, bitte korrigieren"
	case memo.StatusUnverified, "":
		return "nicht geprüft"
	}
	return string(s)
}

// severityText names a finding's severity.
func severityText(s string) string {
	if s == "error" {
		return "Fehler"
	}
	return "Hinweis"
}

// findingText is one finding as a line for the clerk.
func findingText(f memo.Finding) string {
	msg := f.Message
	if msg == "" {
		msg = string(f.Kind)
		if f.Text != "" {
			msg += ": " + f.Text
		}
	}
	s := severityText(f.Severity) + ": " + msg
	if len(f.Sources) > 0 {
		refs := make([]string, len(f.Sources))
		for i, n := range f.Sources {
			refs[i] = fmt.Sprintf("[%d]", n)
		}
		s += " (Quelle " + strings.Join(refs, ", ") + ")"
	}
	return s
}

// verificationText summarises the checks of the whole memo.
func verificationText(m *memo.Memo) string {
	v := m.Verification
	s := "Prüfstatus: " + statusText(v.Status)
	if v.Checked > 0 || v.Findings > 0 {
		s += fmt.Sprintf(" (%d von %d Belegen bestätigt, %d Befunde)", v.Verified, v.Checked, v.Findings)
	}
	return s
}

var isoDate = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)

// germanDate renders YYYY-MM-DD as DD.MM.YYYY; anything else unchanged.
func germanDate(s string) string {
	if m := isoDate.FindStringSubmatch(s); m != nil {
		return m[3] + "." + m[2] + "." + m[1]
	}
	return s
}

// headerRows are the rows of the header block, in print order.
func headerRows(m *memo.Memo) [][2]string {
	h := m.Header
	typ := h.Type
	if typ == "" {
		typ = m.Request.Type
	}
	return [][2]string{
		{"Behörde", h.Behoerde},
		{"Az.", h.Aktenzeichen},
		{"Datum", germanDate(h.Datum)},
		{"Betreff", h.Betreff},
		{"Verfasser", h.Verfasser},
		{"Art", typeTitle(typ)},
	}
}

// memoType is the memo's type, from the header or the request.
func memoType(m *memo.Memo) memo.Type {
	if m.Header.Type != "" {
		return m.Header.Type
	}
	return m.Request.Type
}

// mark is the draft mark to print; a memo without one still gets the
// standard mark, since no rendering may look final.
func mark(m *memo.Memo) string {
	if strings.TrimSpace(m.Mark) != "" {
		return m.Mark
	}
	return memo.DraftMark
}

// sections returns the four sections in memo order, followed by any
// section of another key, so every rendering has the same structure even
// when the model left a section out.
func sections(m *memo.Memo) []memo.Section {
	byKey := map[string]memo.Section{}
	for _, s := range m.Sections {
		if _, dup := byKey[s.Key]; !dup {
			byKey[s.Key] = s
		}
	}
	var out []memo.Section
	for _, k := range memo.SectionKeys {
		s, ok := byKey[k]
		if !ok {
			s = memo.Section{Key: k, Status: memo.StatusUnverified}
		}
		out = append(out, s)
		delete(byKey, k)
	}
	for _, s := range m.Sections {
		if _, ok := byKey[s.Key]; ok {
			out = append(out, s)
			delete(byKey, s.Key)
		}
	}
	return out
}

// sectionTitle is the section's heading.
func sectionTitle(s memo.Section) string {
	if s.Title != "" {
		return s.Title
	}
	if t, ok := memo.SectionTitles[s.Key]; ok {
		return t
	}
	return s.Key
}

// emptySection is shown for a section without text.
const emptySection = "(kein Inhalt)"

// sourceLine is one entry of the source list: "[n] citation — doc id".
func sourceLine(s memo.Source) string {
	line := fmt.Sprintf("[%d] %s", s.N, s.Citation)
	if s.DocID != "" {
		line += " — " + s.DocID
	}
	return line
}

// provenance says how the memo was produced, for the end of the document.
func provenance(m *memo.Memo) []string {
	var out []string
	if m.ID != "" {
		out = append(out, "Vermerk-ID: "+m.ID)
	}
	if !m.CreatedAt.IsZero() {
		out = append(out, "Erstellt: "+m.CreatedAt.UTC().Format("02.01.2006 15:04")+" UTC")
	}
	if m.Mode == memo.ModeExtractive {
		out = append(out, "Erzeugt: "+ExtractiveNote)
	} else if m.Model.Name != "" {
		s := "Modell: " + m.Model.Name
		if m.Model.Digest != "" {
			s += " (" + shortDigest(m.Model.Digest) + ")"
		}
		out = append(out, s)
	}
	if m.PromptName != "" || m.PromptHash != "" {
		out = append(out, "Vorlage: "+strings.TrimSpace(m.PromptName+" "+m.PromptHash))
	}
	return out
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
