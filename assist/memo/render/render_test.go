package render_test

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/render"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// special is text that must survive every rendering unchanged.
const special = `„ü ß & < >" 'Ä' Öl`

// llmMemo is a drafted memo with every kind of status and finding.
func llmMemo() *memo.Memo {
	return &memo.Memo{
		ID:        "m-20261128-0001",
		CreatedAt: time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC),
		Mode:      memo.ModeLLM,
		Header: memo.Header{
			Behoerde: "Stadt Musterstadt – Wohngeldstelle", Aktenzeichen: "WG-2026-0815", Datum: "2026-11-28",
			Betreff: "Mietzuschuss Familie Özdemir " + special, Verfasser: "Frau Müller, SB 3.2", Type: memo.Aktenvermerk,
		},
		Sections: []memo.Section{
			{Key: memo.SectionSachverhalt, Title: "Sachverhalt", Status: memo.StatusUnverified,
				Text: "Die Familie Özdemir beantragte am 03.11.2026 Mietzuschuss [3].\nDer Haushalt besteht aus vier Personen.\n\n" + special},
			{Key: memo.SectionWuerdigung, Title: "Rechtliche Würdigung", Status: memo.StatusFailed, Sources: []int{1, 2},
				Text: "Wohngeldberechtigt ist, wer „den von ihr selbst genutzten Wohnraum“ als Mieter nutzt [1].\n" +
					"Die Höhe richtet sich nach § 19 Abs. 1 WoGG [2] und § 99 WoGG.",
				Citations: []memo.Citation{
					{Section: memo.SectionWuerdigung, Marker: 1, Source: 1, Status: memo.StatusVerified},
					{Section: memo.SectionWuerdigung, Norm: "§ 99 WoGG", Status: memo.StatusFailed},
				},
				Findings: []memo.Finding{
					{Kind: memo.FindingUnknownNorm, Section: memo.SectionWuerdigung, Text: "§ 99 WoGG", Message: "Norm nicht im Bestand: § 99 WoGG", Severity: "error"},
					{Kind: memo.FindingNormNotRetrieved, Section: memo.SectionWuerdigung, Text: "§ 20 WoGG", Message: "Norm nicht unter den Quellen: § 20 WoGG", Severity: "warning", Sources: []int{2}},
				}},
			{Key: memo.SectionErgebnis, Title: "Ergebnis/Vorschlag", Status: memo.StatusVerified, Sources: []int{1},
				Text: "Dem Grunde nach besteht ein Anspruch auf Mietzuschuss [1]."},
			{Key: memo.SectionVerfuegung, Title: "Verfügung", Status: memo.StatusUnverified,
				Text: "1. Vermerk zur Akte.\n2. Wv. am 15.12.2026.\n3. z.d.A."},
		},
		Sources: []memo.Source{
			{N: 1, ChunkID: "WoGG#§3", DocID: "WoGG", Corpus: assist.CorpusRegulations, Citation: "§ 3 Abs. 1 WoGG"},
			{N: 2, ChunkID: "WoGG#§19", DocID: "WoGG", Corpus: assist.CorpusRegulations, Citation: "§ 19 Abs. 1 WoGG"},
			{N: 3, ChunkID: "case:antrag.pdf#p1", DocID: "case:antrag.pdf", Corpus: assist.CorpusCases, Citation: "antrag.pdf, S. 1"},
		},
		Verification: memo.Verification{Status: memo.StatusFailed, Checked: 4, Verified: 3, Findings: 2,
			ByKind: map[string]int{"unknown_norm": 1, "norm_not_retrieved": 1}},
		Model:      assist.ModelInfo{Name: "qwen2.5:7b", Digest: "sha256:845dbda0ea48ed749caafd9e6037047aa19acfcfd82e704d7ca97d631a0b697e"},
		PromptName: "aktenvermerk", PromptHash: "0123456789abcdef",
		Mark:     memo.DraftMark,
		Warnings: []string{"Die Anlage antrag.pdf hat auf Seite 2 keinen Text (OCR nötig)."},
	}
}

// extractiveMemo is a skeleton built without a model; one section is
// missing on purpose and must still appear.
func extractiveMemo() *memo.Memo {
	return &memo.Memo{
		ID:        "m-20261128-0002",
		CreatedAt: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
		Mode:      memo.ModeExtractive,
		Header:    memo.Header{Behoerde: "Stadt Musterstadt", Aktenzeichen: "WG-2026-0816", Datum: "2026-11-28", Betreff: "Wohngeld", Type: memo.Gespraechsvermerk},
		Sections: []memo.Section{
			{Key: memo.SectionSachverhalt, Title: "Sachverhalt", Text: "Telefonat mit Herrn Schulz am 27.11.2026.", Status: memo.StatusUnverified},
			{Key: memo.SectionWuerdigung, Title: "Rechtliche Würdigung", Status: memo.StatusUnverified,
				Text: "§ 3 Abs. 1 WoGG [1]: „Wohngeldberechtigt ist im Fall des Mietzuschusses jede natürliche Person …“"},
			{Key: memo.SectionErgebnis, Title: "Ergebnis/Vorschlag", Status: memo.StatusUnverified},
		},
		Sources:      []memo.Source{{N: 1, DocID: "WoGG", Citation: "§ 3 Abs. 1 WoGG"}},
		Verification: memo.Verification{Status: memo.StatusUnverified},
		Mark:         memo.DraftMark,
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./assist/memo/render -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got); run with -update if intended:\n%s", path, d)
	}
}

func TestMarkdownMatchesTheGoldenFiles(t *testing.T) {
	cases := []struct {
		name, file string
		m          *memo.Memo
	}{
		{"a model draft shows status, findings, sources and provenance", "llm.md", llmMemo()},
		{"an extractive skeleton says so and keeps all four sections", "extractive.md", extractiveMemo()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			golden(t, c.file, render.Markdown(c.m))
		})
	}
}

func TestMarkdownCarriesWhatAClerkMustSee(t *testing.T) {
	cases := []struct {
		name string
		m    *memo.Memo
		want []string
		not  []string
	}{
		{"a model draft", llmMemo(), []string{
			"**" + memo.DraftMark + "**", "# Aktenvermerk", "| Az. | WG-2026-0815 |", "| Datum | 28.11.2026 |",
			"## Sachverhalt", "## Rechtliche Würdigung", "## Ergebnis/Vorschlag", "## Verfügung",
			"Fehler: Norm nicht im Bestand: § 99 WoGG", "Hinweis: Norm nicht unter den Quellen: § 20 WoGG (Quelle [2])",
			"- [1] § 3 Abs. 1 WoGG — WoGG", "- [3] antrag.pdf, S. 1 — case:antrag.pdf",
			"*Prüfstatus: Fehler – Belege fehlerhaft, bitte korrigieren*", "3 von 4 Belegen bestätigt",
			"„ü ß \\& \\< >\" 'Ä' Öl", "Modell: qwen2.5:7b (845dbda0ea48)", "Vorlage: aktenvermerk 0123456789abcdef",
		}, []string{render.ExtractiveNote}},
		{"an extractive skeleton", extractiveMemo(), []string{
			render.ExtractiveNote, "# Gesprächs-/Telefonvermerk", "## Verfügung\n\n*(kein Inhalt)*", "Prüfstatus: nicht geprüft",
		}, []string{"Modell:"}},
		{"a memo without a mark still gets the draft mark", &memo.Memo{}, []string{memo.DraftMark, "# Vermerk", "*Keine Quellen.*"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md := string(render.Markdown(c.m))
			for _, w := range c.want {
				if !strings.Contains(md, w) {
					t.Errorf("Markdown lacks %q:\n%s", w, md)
				}
			}
			for _, n := range c.not {
				if strings.Contains(md, n) {
					t.Errorf("Markdown contains %q", n)
				}
			}
		})
	}
	t.Run("a nil memo gives nil", func(t *testing.T) {
		if got := render.Markdown(nil); got != nil {
			t.Errorf("Markdown(nil) = %q", got)
		}
	})
}

func TestMarkdownEscapesHostileText(t *testing.T) {
	cases := []struct {
		name, text string
		want, not  string
	}{
		{"HTML is escaped", "<script>alert(1)</script>", `\<script>alert(1)\</script>`, "\n<script>"},
		{"a heading cannot be faked", "# Ergebnis\nok", `\# Ergebnis`, "\n# Ergebnis"},
		{"a link definition cannot hijack the markers", "[1]: https://example.org", `\[1]: https://example.org`, "\n[1]:"},
		{"a marker followed by a colon mid-line stays as it is", "§ 3 WoGG [1]: „Text“", "§ 3 WoGG [1]: „Text“", `[1\]`},
		{"a thematic break is escaped", "---", `\---`, "\n---\n\n*Prüfstatus"},
		{"a code fence is escaped", "```\ncode", "\\`\\`\\`", "\n```"},
		{"an entity is escaped", "&lt;b&gt;", `\&lt;b\&gt;`, "\n&lt;"},
		{"a list item stays a list item", "- erstens\n1. zweitens", "- erstens\n\n1. zweitens", `\-`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := llmMemo()
			m.Sections[2].Text = c.text
			md := string(render.Markdown(m))
			if !strings.Contains(md, c.want) {
				t.Errorf("Markdown lacks %q:\n%s", c.want, md)
			}
			if strings.Contains(md, c.not) {
				t.Errorf("Markdown contains %q", c.not)
			}
		})
	}
	t.Run("a header field cannot break the table", func(t *testing.T) {
		m := llmMemo()
		m.Header.Betreff = "a | b\n| Az. | gefälscht |"
		md := string(render.Markdown(m))
		if !strings.Contains(md, `| Betreff | a \| b \| Az. \| gefälscht \| |`) {
			t.Errorf("Betreff not escaped:\n%s", md)
		}
	})
}

// docxPart is one part of an unpacked .docx.
type docx map[string][]byte

// unpack opens a .docx and reads every part, failing on an invalid zip.
func unpack(t *testing.T, b []byte) docx {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	d := docx{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		d[f.Name] = data
	}
	return d
}

// paragraphs parses WordprocessingML strictly and returns the text of every
// paragraph (w:t joined, w:tab as a tab); a part that is not well-formed
// XML fails the test.
func paragraphs(t *testing.T, name string, data []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var out []string
	var cur strings.Builder
	inText := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "p":
				cur.Reset()
			case "t":
				inText = true
			case "tab":
				cur.WriteByte('\t')
			}
		case xml.EndElement:
			switch tok.Name.Local {
			case "p":
				out = append(out, cur.String())
			case "t":
				inText = false
			}
		case xml.CharData:
			if inText {
				cur.Write(tok)
			}
		}
	}
	return out
}

func TestDOCXIsAValidWordDocument(t *testing.T) {
	b, err := render.DOCX(llmMemo())
	if err != nil {
		t.Fatal(err)
	}
	d := unpack(t, b)

	t.Run("every part is present and well-formed", func(t *testing.T) {
		if len(d) != len(render.DOCXParts) {
			t.Errorf("%d parts, want %d", len(d), len(render.DOCXParts))
		}
		for _, name := range render.DOCXParts {
			data, ok := d[name]
			if !ok {
				t.Errorf("part %s missing", name)
				continue
			}
			paragraphs(t, name, data)
		}
	})

	t.Run("the content types and relationships name existing parts", func(t *testing.T) {
		for _, part := range []string{"/word/document.xml", "/word/styles.xml", "/word/header1.xml", "/docProps/core.xml"} {
			if !bytes.Contains(d["[Content_Types].xml"], []byte(`PartName="`+part+`"`)) {
				t.Errorf("[Content_Types].xml lacks %s", part)
			}
		}
		checkTargets(t, d, "_rels/.rels", "")
		checkTargets(t, d, "word/_rels/document.xml.rels", "word/")
	})

	doc := paragraphs(t, "word/document.xml", d["word/document.xml"])
	text := strings.Join(doc, "\n")
	t.Run("the draft mark comes first and is in the page header", func(t *testing.T) {
		if len(doc) == 0 || doc[0] != memo.DraftMark {
			t.Errorf("first paragraph = %q, want the draft mark", doc[0])
		}
		hdr := strings.Join(paragraphs(t, "word/header1.xml", d["word/header1.xml"]), "\n")
		if !strings.Contains(hdr, memo.DraftMark) || !strings.Contains(hdr, "WG-2026-0815") {
			t.Errorf("page header = %q, want the draft mark and the Az.", hdr)
		}
		if !bytes.Contains(d["word/document.xml"], []byte(`<w:headerReference w:type="default" r:id="rId2"/>`)) {
			t.Error("the section does not reference the page header")
		}
	})

	t.Run("header block, sections, findings and sources are present", func(t *testing.T) {
		for _, want := range []string{
			"Aktenvermerk", "Behörde\nStadt Musterstadt – Wohngeldstelle", "Az.\nWG-2026-0815", "Datum\n28.11.2026", "Verfasser\nFrau Müller, SB 3.2",
			"\nSachverhalt\n", "\nRechtliche Würdigung\n", "\nErgebnis/Vorschlag\n", "\nVerfügung\n",
			"Prüfstatus: Fehler – Belege fehlerhaft, bitte korrigieren", "–\tFehler: Norm nicht im Bestand: § 99 WoGG",
			"\nQuellen\n", "[1] § 3 Abs. 1 WoGG — WoGG", "[2] § 19 Abs. 1 WoGG — WoGG", "[3] antrag.pdf, S. 1 — case:antrag.pdf",
			"1. Vermerk zur Akte.\n2. Wv. am 15.12.2026.\n3. z.d.A.",
			"Hinweis: Die Anlage antrag.pdf hat auf Seite 2 keinen Text (OCR nötig).",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("document lacks %q", want)
			}
		}
		if strings.Contains(text, render.ExtractiveNote) {
			t.Error("a model draft is marked extractive")
		}
	})

	t.Run("special characters are escaped and come back unchanged", func(t *testing.T) {
		if !strings.Contains(text, special) {
			t.Errorf("document lacks %q", special)
		}
		if bytes.Contains(d["word/document.xml"], []byte("& <")) {
			t.Error("raw & or < in document.xml")
		}
		if !bytes.Contains(d["word/document.xml"], []byte("&amp; &lt; &gt;")) {
			t.Error("& < > not escaped as entities")
		}
	})

	t.Run("the core properties carry title and mark", func(t *testing.T) {
		core := string(d["docProps/core.xml"])
		for _, want := range []string{"<dc:title>Aktenvermerk: Mietzuschuss Familie Özdemir", "<cp:keywords>" + memo.DraftMark, "2026-11-28T09:30:00Z"} {
			if !strings.Contains(core, want) {
				t.Errorf("core.xml lacks %q", want)
			}
		}
	})
}

// checkTargets fails when a relationship points to a part that is missing.
func checkTargets(t *testing.T, d docx, rels, base string) {
	t.Helper()
	var r struct {
		Rel []struct {
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := xml.Unmarshal(d[rels], &r); err != nil {
		t.Fatalf("%s: %v", rels, err)
	}
	if len(r.Rel) == 0 {
		t.Errorf("%s has no relationships", rels)
	}
	for _, rel := range r.Rel {
		if _, ok := d[base+rel.Target]; !ok {
			t.Errorf("%s points to missing part %s", rels, base+rel.Target)
		}
	}
}

func TestDOCXEdgeCases(t *testing.T) {
	hostile := llmMemo()
	hostile.Sections[0].Text = "Steuerzeichen \x00\x01\x0b\x1f und \xff\xfe ungültig; </w:t></w:r></w:p><w:p>x]]>\ttab"
	hostile.Header.Betreff = "Betreff\x07 mit <w:p> & \"Quotes\""
	hostile.Sources[0].Citation = "§ 3 <Abs. 1> WoGG"

	cases := []struct {
		name string
		m    *memo.Memo
		want []string
	}{
		{"control characters and markup in the text stay well-formed", hostile,
			[]string{"</w:t></w:r></w:p><w:p>x]]>\ttab", "[1] § 3 <Abs. 1> WoGG — WoGG", "Betreff\uFFFD mit <w:p> & \"Quotes\""}},
		{"an extractive skeleton says so and has every section", extractiveMemo(),
			[]string{render.ExtractiveNote, "Gesprächs-/Telefonvermerk", "\nVerfügung\n(kein Inhalt)\n", "[1] § 3 Abs. 1 WoGG — WoGG"}},
		{"an empty memo still has the mark and the four sections", &memo.Memo{},
			[]string{memo.DraftMark, "\nSachverhalt\n", "\nRechtliche Würdigung\n", "\nErgebnis/Vorschlag\n", "\nVerfügung\n", "Keine Quellen."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := render.DOCX(c.m)
			if err != nil {
				t.Fatal(err)
			}
			d := unpack(t, b)
			for _, name := range render.DOCXParts {
				paragraphs(t, name, d[name])
			}
			text := strings.Join(paragraphs(t, "word/document.xml", d["word/document.xml"]), "\n")
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("document lacks %q:\n%s", w, text)
				}
			}
		})
	}

	t.Run("a nil memo is invalid", func(t *testing.T) {
		if _, err := render.DOCX(nil); assist.KindOf(err) != assist.Invalid {
			t.Errorf("err = %v, want Invalid", err)
		}
	})
	t.Run("rendering twice gives the same bytes", func(t *testing.T) {
		a, _ := render.DOCX(llmMemo())
		b, _ := render.DOCX(llmMemo())
		if !bytes.Equal(a, b) {
			t.Error("DOCX output is not deterministic")
		}
	})
}

// FuzzDOCX feeds arbitrary text into every free-text field: the document
// must stay well-formed XML and the text must come back (repaired where
// XML cannot carry it).
func FuzzDOCX(f *testing.F) {
	f.Add("„ü ß & < >\"", "</w:t>]]>\x00\t", "1. z.d.A.")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, betreff, text, citation string) {
		m := llmMemo()
		m.Header.Betreff = betreff
		m.Sections[0].Text = text
		m.Sections[1].Findings[0].Message = text
		m.Sources[0].Citation = citation
		m.Warnings = []string{text}
		b, err := render.DOCX(m)
		if err != nil {
			t.Fatal(err)
		}
		d := unpack(t, b)
		for _, name := range render.DOCXParts {
			paragraphs(t, name, d[name])
		}
		md := render.Markdown(m)
		for i, c := range md {
			if c == '<' && (i == 0 || md[i-1] != '\\') {
				t.Fatalf("unescaped < at %d in Markdown: %q", i, md[max(0, i-20):min(len(md), i+20)])
			}
		}
	})
}

func TestFileName(t *testing.T) {
	withHeader := func(h memo.Header) *memo.Memo { return &memo.Memo{Header: h} }
	cases := []struct {
		name string
		m    *memo.Memo
		ext  string
		want string
	}{
		{"type, file number and date make the name", llmMemo(), "docx", "Aktenvermerk_WG-2026-0815_2026-11-28.docx"},
		{"umlauts are spelled out and slashes dropped", withHeader(memo.Header{Type: memo.Gespraechsvermerk, Aktenzeichen: "III/2 – 0815"}), "md",
			"Gespraechs-Telefonvermerk_III-2-0815.md"},
		{"path tricks do not survive", withHeader(memo.Header{Aktenzeichen: "../../etc/passwd", Datum: "\r\n\"x\""}), "docx",
			"Vermerk_etc-passwd_x.docx"},
		{"a nil memo is a plain Vermerk", nil, "md", "Vermerk.md"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := render.FileName(c.m, c.ext); got != c.want {
				t.Errorf("FileName = %q, want %q", got, c.want)
			}
		})
	}
}
