package pdf_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// fixture describes a small PDF written by the tests themselves: one
// content stream per page, Helvetica (WinAnsi, every glyph 500 units wide)
// as /F1.
type fixture struct {
	title string
	pages []string
	// encrypt adds a Standard security handler whose user password is not
	// empty, so that the file cannot be opened.
	encrypt bool
}

// build returns the PDF bytes with a correct xref table.
func (f fixture) build(t testing.TB) []byte {
	t.Helper()
	var objs []string
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	catalog := add("") // filled in below
	pagesObj := add("")
	widths := strings.TrimSpace(strings.Repeat("500 ", 224))
	fontObj := add(fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /FirstChar 32 /LastChar 255 /Widths [%s] >>", widths))
	var kids []string
	for _, content := range f.pages {
		stream := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content))
		page := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", pagesObj, fontObj, stream))
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
	}
	objs[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj)
	objs[pagesObj-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	info := 0
	if f.title != "" {
		info = add(fmt.Sprintf("<< /Title (%s) >>", f.title))
	}
	encrypt := 0
	if f.encrypt {
		encrypt = add("<< /Filter /Standard /V 1 /R 2 /Length 40 /P -4 /O <" + strings.Repeat("11", 32) + "> /U <" + strings.Repeat("22", 32) + "> >>")
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	trailer := fmt.Sprintf("/Size %d /Root %d 0 R", len(objs)+1, catalog)
	if info > 0 {
		trailer += fmt.Sprintf(" /Info %d 0 R", info)
	}
	if encrypt > 0 {
		trailer += fmt.Sprintf(" /Encrypt %d 0 R /ID [<%s> <%s>]", encrypt, strings.Repeat("ab", 16), strings.Repeat("ab", 16))
	}
	fmt.Fprintf(&b, "trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n", trailer, xref)
	return b.Bytes()
}

// rawPDF writes objs (object i+1 is objs[i]) with an xref table and a
// trailer whose root is object root.
func rawPDF(objs []string, root int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, root, xref)
	return b.Bytes()
}

func stream(content string) string {
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content)
}

// textAt is a content stream fragment showing s with its baseline at
// (x, y) in 10 pt Helvetica.
func textAt(x, y float64, s string) string {
	s = strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(s)
	// WinAnsi is Latin-1 for the letters the tests use.
	latin1 := make([]byte, 0, len(s))
	for _, r := range s {
		latin1 = append(latin1, byte(r))
	}
	return fmt.Sprintf("BT /F1 10 Tf 1 0 0 1 %g %g Tm (%s) Tj ET\n", x, y, latin1)
}

// column lays out lines top down from (x, y) with 12 pt leading.
func column(x, y float64, lines ...string) string {
	var b strings.Builder
	for i, l := range lines {
		b.WriteString(textAt(x, y-12*float64(i), l))
	}
	return b.String()
}
