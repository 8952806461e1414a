package render

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/memo"
)

// The .docx is written by hand with archive/zip and encoding/xml escaping
// rather than with a library: the memo needs paragraphs, headings, one
// table and a page header, which is a few hundred lines of the most basic
// WordprocessingML, while the Go docx libraries are either unmaintained or
// templating engines that need a .docx to start from. Keeping to the
// minimal valid subset (element order as in the schema, no compatibility
// parts) is what lets Word and LibreOffice both open it.

// Namespaces and content types of the parts.
const (
	nsW     = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsR     = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsRels  = "http://schemas.openxmlformats.org/package/2006/relationships"
	relBase = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
	xmlDecl = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
)

// DOCXParts lists the parts of every generated document, in the order they
// are written. Tests and callers checking a document use it.
var DOCXParts = []string{
	"[Content_Types].xml",
	"_rels/.rels",
	"docProps/core.xml",
	"word/document.xml",
	"word/styles.xml",
	"word/header1.xml",
	"word/_rels/document.xml.rels",
}

// Colours of the draft mark, errors and warnings.
const (
	colorMark    = "C00000"
	colorError   = "C00000"
	colorWarning = "9C5700"
	colorMuted   = "595959"
)

// DOCX renders m as a Word document (Office Open XML): the draft mark at
// the top and in the page header of every page, the memo type as title,
// a note when the memo is extractive, the header block as a two-column
// table, the overall verification status and notices, the four sections
// as headings and paragraphs each with its verification status and
// findings, the source list and how the memo was produced. It returns
// Invalid for a nil memo. The output is deterministic: every zip entry is
// dated with the memo's creation time.
func DOCX(m *memo.Memo) ([]byte, error) {
	const op = "render docx"
	if m == nil {
		return nil, assist.Errorf(assist.Invalid, op, "no memo to render")
	}
	parts := map[string]string{
		"[Content_Types].xml":          contentTypes,
		"_rels/.rels":                  packageRels,
		"docProps/core.xml":            coreProps(m),
		"word/document.xml":            document(m),
		"word/styles.xml":              styles,
		"word/header1.xml":             pageHeader(m),
		"word/_rels/document.xml.rels": documentRels,
	}
	modified := m.CreatedAt.UTC()
	if modified.Year() < 1980 { // the zip format's epoch; also the zero time
		modified = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range DOCXParts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return nil, assist.E(assist.Internal, op, err)
		}
		if _, err := w.Write([]byte(parts[name])); err != nil {
			return nil, assist.E(assist.Internal, op, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, assist.E(assist.Internal, op, err)
	}
	return buf.Bytes(), nil
}

const contentTypes = xmlDecl + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
	`<Default Extension="xml" ContentType="application/xml"/>` +
	`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
	`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
	`<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>` +
	`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
	`</Types>`

const packageRels = xmlDecl + `<Relationships xmlns="` + nsRels + `">` +
	`<Relationship Id="rId1" Type="` + relBase + `officeDocument" Target="word/document.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
	`</Relationships>`

const documentRels = xmlDecl + `<Relationships xmlns="` + nsRels + `">` +
	`<Relationship Id="rId1" Type="` + relBase + `styles" Target="styles.xml"/>` +
	`<Relationship Id="rId2" Type="` + relBase + `header" Target="header1.xml"/>` +
	`</Relationships>`

// styles defines the paragraph styles the document uses. The heading
// styles carry Word's built-in names ("heading 1") so that Word and
// LibreOffice show them in the navigation pane and the outline.
const styles = xmlDecl + `<w:styles xmlns:w="` + nsW + `">` +
	`<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:eastAsia="Arial" w:cs="Arial"/>` +
	`<w:sz w:val="22"/><w:szCs w:val="22"/><w:lang w:val="de-DE" w:eastAsia="de-DE" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>` +
	`<w:pPrDefault><w:pPr><w:spacing w:after="120" w:line="264" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>` +
	`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>` +
	`<w:pPr><w:keepNext/><w:spacing w:before="120" w:after="240"/></w:pPr><w:rPr><w:b/><w:bCs/><w:sz w:val="36"/><w:szCs w:val="36"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>` +
	`<w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="360" w:after="120"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr><w:b/><w:bCs/><w:sz w:val="28"/><w:szCs w:val="28"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>` +
	`<w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before="240" w:after="80"/><w:outlineLvl w:val="1"/></w:pPr><w:rPr><w:b/><w:bCs/><w:sz w:val="24"/><w:szCs w:val="24"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="Entwurfsvermerk"><w:name w:val="Entwurfsvermerk"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>` +
	`<w:pPr><w:pBdr><w:top w:val="single" w:sz="12" w:space="4" w:color="` + colorMark + `"/><w:left w:val="single" w:sz="12" w:space="4" w:color="` + colorMark + `"/>` +
	`<w:bottom w:val="single" w:sz="12" w:space="4" w:color="` + colorMark + `"/><w:right w:val="single" w:sz="12" w:space="4" w:color="` + colorMark + `"/></w:pBdr>` +
	`<w:spacing w:after="240"/><w:jc w:val="center"/></w:pPr><w:rPr><w:b/><w:bCs/><w:color w:val="` + colorMark + `"/><w:sz w:val="28"/><w:szCs w:val="28"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="Pruefvermerk"><w:name w:val="Prüfvermerk"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/>` +
	`<w:pPr><w:spacing w:before="60" w:after="60"/></w:pPr><w:rPr><w:i/><w:iCs/><w:color w:val="` + colorMuted + `"/><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="Befund"><w:name w:val="Befund"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/>` +
	`<w:pPr><w:spacing w:after="40"/><w:ind w:left="284" w:hanging="284"/></w:pPr><w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:customStyle="1" w:styleId="Quelle"><w:name w:val="Quelle"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/>` +
	`<w:pPr><w:spacing w:after="60"/><w:ind w:left="567" w:hanging="567"/></w:pPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Header"><w:name w:val="header"/><w:basedOn w:val="Normal"/>` +
	`<w:pPr><w:spacing w:after="0"/><w:jc w:val="right"/></w:pPr><w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>` +
	`<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:uiPriority w:val="99"/><w:semiHidden/><w:unhideWhenUsed/>` +
	`<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>` +
	`</w:styles>`

// run is a piece of text with direct formatting.
type run struct {
	text  string
	bold  bool
	color string
}

// wml accumulates WordprocessingML.
type wml struct{ strings.Builder }

// esc writes s as XML character data; encoding/xml replaces characters
// XML cannot carry (control characters, invalid UTF-8) with U+FFFD.
func (b *wml) esc(s string) {
	_ = xml.EscapeText(b, []byte(s)) // writes to a strings.Builder never fail
}

// run writes one or more w:r elements; tabs become w:tab.
func (b *wml) run(r run) {
	for i, piece := range strings.Split(r.text, "\t") {
		b.WriteString("<w:r>")
		if r.bold || r.color != "" {
			b.WriteString("<w:rPr>")
			if r.bold {
				b.WriteString("<w:b/><w:bCs/>")
			}
			if r.color != "" {
				b.WriteString(`<w:color w:val="` + r.color + `"/>`)
			}
			b.WriteString("</w:rPr>")
		}
		if i > 0 {
			b.WriteString("<w:tab/>")
		}
		if piece != "" {
			b.WriteString(`<w:t xml:space="preserve">`)
			b.esc(piece)
			b.WriteString("</w:t>")
		}
		b.WriteString("</w:r>")
	}
}

// para writes a paragraph of the given style ("" for Normal).
func (b *wml) para(style string, runs ...run) {
	b.WriteString("<w:p>")
	if style != "" {
		b.WriteString(`<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`)
	}
	for _, r := range runs {
		b.run(r)
	}
	b.WriteString("</w:p>")
}

// text writes multi-line text as one paragraph per non-empty line.
func (b *wml) text(style, s string) {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, " \r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		b.para(style, run{text: line})
		n++
	}
	if n == 0 {
		b.para(style, run{text: emptySection, color: colorMuted})
	}
}

// Column widths of the header table in twentieths of a point; together the
// text width of A4 with 2.5 cm margins.
const (
	colLabel = 2268
	colValue = 6803
)

func (b *wml) headerTable(rows [][2]string) {
	b.WriteString(`<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/><w:tblBorders>`)
	for _, side := range []string{"top", "left", "bottom", "right", "insideH", "insideV"} {
		b.WriteString(`<w:` + side + ` w:val="single" w:sz="4" w:space="0" w:color="808080"/>`)
	}
	b.WriteString(`</w:tblBorders><w:tblLook w:val="0000"/></w:tblPr>`)
	b.WriteString(`<w:tblGrid><w:gridCol w:w="` + strconv.Itoa(colLabel) + `"/><w:gridCol w:w="` + strconv.Itoa(colValue) + `"/></w:tblGrid>`)
	for _, r := range rows {
		b.WriteString(`<w:tr><w:tc><w:tcPr><w:tcW w:w="` + strconv.Itoa(colLabel) + `" w:type="dxa"/></w:tcPr>`)
		b.para("", run{text: r[0], bold: true})
		b.WriteString(`</w:tc><w:tc><w:tcPr><w:tcW w:w="` + strconv.Itoa(colValue) + `" w:type="dxa"/></w:tcPr>`)
		b.para("", run{text: oneLine(r[1])})
		b.WriteString(`</w:tc></w:tr>`)
	}
	b.WriteString(`</w:tbl>`)
}

func document(m *memo.Memo) string {
	var b wml
	b.WriteString(xmlDecl + `<w:document xmlns:w="` + nsW + `" xmlns:r="` + nsR + `"><w:body>`)
	b.para("Entwurfsvermerk", run{text: mark(m)})
	b.para("Title", run{text: typeTitle(memoType(m))})
	if m.Mode == memo.ModeExtractive {
		b.para("", run{text: ExtractiveNote, bold: true, color: colorWarning})
	}
	b.headerTable(headerRows(m))
	b.para("", run{text: verificationText(m), bold: true, color: statusColor(m.Verification.Status)})
	for _, w := range m.Warnings {
		b.para("Befund", run{text: "Hinweis: " + oneLine(w), color: colorWarning})
	}
	for _, s := range sections(m) {
		b.para("Heading1", run{text: sectionTitle(s)})
		b.text("", s.Text)
		b.para("Pruefvermerk", run{text: "Prüfstatus: " + statusText(s.Status), color: statusColor(s.Status)})
		for _, f := range s.Findings {
			color := colorWarning
			if f.Severity == "error" {
				color = colorError
			}
			b.para("Befund", run{text: "–\t" + oneLine(findingText(f)), color: color})
		}
	}
	b.para("Heading1", run{text: "Quellen"})
	if len(m.Sources) == 0 {
		b.para("", run{text: "Keine Quellen.", color: colorMuted})
	}
	for _, s := range m.Sources {
		b.para("Quelle", run{text: oneLine(sourceLine(s))})
	}
	if p := provenance(m); len(p) > 0 {
		b.para("Heading2", run{text: "Entstehung"})
		for _, s := range p {
			b.para("Pruefvermerk", run{text: oneLine(s)})
		}
	}
	// A4, margins 2.5 cm (left, right, top) and 2 cm (bottom).
	b.WriteString(`<w:sectPr><w:headerReference w:type="default" r:id="rId2"/>` +
		`<w:pgSz w:w="11906" w:h="16838"/>` +
		`<w:pgMar w:top="1417" w:right="1417" w:bottom="1134" w:left="1417" w:header="708" w:footer="708" w:gutter="0"/>` +
		`</w:sectPr></w:body></w:document>`)
	return b.String()
}

// pageHeader repeats the draft mark, with the file number, on every page.
func pageHeader(m *memo.Memo) string {
	var b wml
	b.WriteString(xmlDecl + `<w:hdr xmlns:w="` + nsW + `" xmlns:r="` + nsR + `">`)
	runs := []run{{text: mark(m), bold: true, color: colorMark}}
	if az := oneLine(m.Header.Aktenzeichen); az != "" {
		if !strings.HasPrefix(strings.ToLower(az), "az") { // clerks often write the "Az." themselves
			az = "Az. " + az
		}
		runs = append(runs, run{text: " · " + az})
	}
	b.para("Header", runs...)
	b.WriteString(`</w:hdr>`)
	return b.String()
}

func coreProps(m *memo.Memo) string {
	var b wml
	b.WriteString(xmlDecl + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"` +
		` xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"` +
		` xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`)
	elem := func(name, value string) {
		b.WriteString("<" + name + ">")
		b.esc(oneLine(value))
		b.WriteString("</" + name + ">")
	}
	elem("dc:title", typeTitle(memoType(m))+": "+m.Header.Betreff)
	elem("dc:subject", m.Header.Aktenzeichen)
	creator := m.Header.Verfasser
	if creator == "" {
		creator = "Amtsassist"
	}
	elem("dc:creator", creator)
	elem("cp:keywords", mark(m))
	elem("dc:description", mark(m)+". "+verificationText(m))
	elem("dc:language", "de-DE")
	if !m.CreatedAt.IsZero() {
		b.WriteString(`<dcterms:created xsi:type="dcterms:W3CDTF">` + m.CreatedAt.UTC().Format(time.RFC3339) + `</dcterms:created>`)
	}
	b.WriteString(`</cp:coreProperties>`)
	return b.String()
}

func statusColor(s memo.Status) string {
	switch s {
	case memo.StatusFailed:
		return colorError
	case memo.StatusWarnings:
		return colorWarning
	}
	return ""
}

// oneLine collapses whitespace for table cells and single-line fields.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
