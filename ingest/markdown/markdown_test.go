package markdown_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/ingest/markdown"
)

const lawsDir = "../../../shared/data/laws"

func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(lawsDir, rel))
	if err != nil {
		t.Skipf("shared law data not found (%v); see /work/shared/data/README.md", err)
	}
	return data
}

func load(t *testing.T, name string, data []byte, opts markdown.Options) assist.Document {
	t.Helper()
	doc, err := markdown.Load(context.Background(), name, data, opts)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	ids := map[string]bool{}
	for i, c := range doc.Chunks {
		if c.ID == "" || ids[c.ID] {
			t.Errorf("%s: empty or duplicate chunk id %q", name, c.ID)
		}
		ids[c.ID] = true
		if c.Ordinal != i {
			t.Errorf("%s: chunk %s ordinal %d, want %d", name, c.ID, c.Ordinal, i)
		}
		if strings.TrimSpace(c.Text) == "" {
			t.Errorf("%s: chunk %s is empty", name, c.ID)
		}
	}
	return doc
}

func chunk(t *testing.T, doc assist.Document, id string) assist.Chunk {
	t.Helper()
	for _, c := range doc.Chunks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("%s has no chunk %q", doc.ID, id)
	return assist.Chunk{}
}

func TestLoadREVOSax(t *testing.T) {
	tests := []struct {
		file, id, law, title, validUntil string
		paragraphs                       int
	}{
		{"e-government-gesetz.md", "SächsEGovG", "SächsEGovG", "Sächsisches E-Government-Gesetz", "", 29},
		{"datenschutz_durchfuehrungsgesetz.md", "SächsDSDG", "SächsDSDG", "Sächsisches Datenschutzdurchführungsgesetz", "", 24},
		{"e-government-gesetz_dvo.md", "SächsEGovGDVO", "SächsEGovGDVO", "Sächsische E-Government-Gesetz-Durchführungsverordnung", "", 21},
		{"informationssicherheit_g.md", "SächsISichG", "SächsISichG", "Sächsisches Informationssicherheitsgesetz", "", 21},
		{"verwaltungsverfahrensrecht_regelung_g.md", "SächsVwVfZG", "SächsVwVfZG", "Gesetz zur Regelung des Verwaltungsverfahrens- und des Verwaltungszustellungsrechts für den Freistaat Sachsen", "", 5},
		{"eol__31_Dezember_2024_verwaltungsverfahrensrecht_regelung_g.md", "SächsVwVfZG@bis-2024-12-31", "SächsVwVfZG",
			"Gesetz zur Regelung des Verwaltungsverfahrens- und des Verwaltungszustellungsrechts für den Freistaat Sachsen (gültig bis 31.12.2024)", "2024-12-31", 5},
		{"elektronische_aktenfuehrung_bestimmung_der_verfahren_vwv.md", "VwVEAkte", "VwVEAkte", "VwV Elektronische Verfahrensakte", "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.file+" is cut per section with its abbreviation", func(t *testing.T) {
			doc := load(t, "saxony/"+tt.file, readShared(t, "saxony/"+tt.file), markdown.Options{})
			if doc.ID != tt.id || doc.Title != tt.title || doc.Corpus != assist.CorpusRegulations || doc.Meta["valid_until"] != tt.validUntil {
				t.Errorf("got id %q title %q corpus %q meta %v", doc.ID, doc.Title, doc.Corpus, doc.Meta)
			}
			sections := map[string]bool{}
			for _, c := range doc.Chunks {
				if c.Citation.Law != tt.law {
					t.Errorf("chunk %s law %q", c.ID, c.Citation.Law)
				}
				if !strings.HasPrefix(c.Text, c.Citation.Section+" "+tt.law+" ") {
					t.Errorf("chunk %s starts %q", c.ID, strings.SplitN(c.Text, "\n", 2)[0])
				}
				if strings.Contains(c.Text, "  ") {
					t.Errorf("chunk %s keeps runs of spaces", c.ID)
				}
				sections[c.Citation.Section] = true
			}
			if len(sections) != tt.paragraphs {
				t.Errorf("%d sections, want %d", len(sections), tt.paragraphs)
			}
		})
	}
}

func TestLoadREVOSaxSectionCitation(t *testing.T) {
	doc := load(t, "e-government-gesetz.md", readShared(t, "saxony/e-government-gesetz.md"), markdown.Options{})
	c := chunk(t, doc, "p3")
	want := assist.Citation{Law: "SächsEGovG", Section: "§ 3", Heading: "Elektronische Zahlungsverfahren"}
	if d := cmp.Diff(want, c.Citation); d != "" {
		t.Errorf("citation (-want +got):\n%s", d)
	}
	// The export lost the "§" of § 15a; the loader restores it.
	if c := chunk(t, doc, "p15a"); c.Citation.Section != "§ 15a" || c.Citation.Heading != "Serviceportal Amt24" {
		t.Errorf("p15a citation %+v", c.Citation)
	}
	// In the expired version the § is on the line after the heading.
	old := load(t, "eol__31_Dezember_2024_verwaltungsverfahrensrecht_regelung_g.md",
		readShared(t, "saxony/eol__31_Dezember_2024_verwaltungsverfahrensrecht_regelung_g.md"), markdown.Options{})
	if c := chunk(t, old, "p2"); c.Citation.Heading != "Ausnahmen vom Anwendungsbereich" || !strings.Contains(c.Text, "Staatlichen Studienakademien") {
		t.Errorf("expired p2: %+v\n%s", c.Citation, c.Text)
	}
}

func TestLoadFederal2022Laws(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(lawsDir, "federal-2022-markdown", "*.md"))
	if len(files) == 0 {
		t.Skip("shared law data not found; see /work/shared/data/README.md")
	}
	for _, f := range files {
		t.Run(filepath.Base(f)+" is cut per § with its abbreviation and Stand", func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			doc := load(t, f, data, markdown.Options{})
			law := doc.Meta["law"]
			if law == "" || doc.Corpus != assist.CorpusRegulations || !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(doc.Meta["stand"]) {
				t.Fatalf("document %q meta %v corpus %q", doc.ID, doc.Meta, doc.Corpus)
			}
			if doc.ID != law+"@"+doc.Meta["stand"] {
				t.Errorf("id %q", doc.ID)
			}
			headings := regexp.MustCompile(`(?m)^#+\s+§+\s*\d`).FindAllString(string(data), -1)
			sections := map[string]bool{}
			for _, c := range doc.Chunks {
				if c.Meta["kind"] == "paragraph" {
					sections[c.Citation.Section] = true
				}
				if c.Citation.Law != law {
					t.Errorf("chunk %s law %q", c.ID, c.Citation.Law)
				}
			}
			if len(sections) != len(headings) {
				t.Errorf("%d § sections, file has %d § headings", len(sections), len(headings))
			}
		})
	}
	doc := load(t, "wogg.md", readShared(t, "federal-2022-markdown/wogg.md"), markdown.Options{})
	c := chunk(t, doc, "p19")
	want := assist.Citation{
		Law: "WoGG", Section: "§ 19", Heading: "Höhe des Wohngeldes", Stand: "2021-08-20",
		Breadcrumb: []string{"Teil 2 Berechnung und Höhe des Wohngeldes", "Kapitel 5 Höhe des Wohngeldes"},
	}
	if d := cmp.Diff(want, c.Citation); d != "" {
		t.Errorf("WoGG § 19 citation (-want +got):\n%s", d)
	}
	if a := chunk(t, doc, "anlage-2"); a.Meta["kind"] != "annex" || a.Citation.Section != "Anlage 2" {
		t.Errorf("anlage-2: %+v %v", a.Citation, a.Meta)
	}
}

func TestLoadParagraphFiles(t *testing.T) {
	data := readShared(t, "federal/WoGG/paragraphs/0019.md")
	doc := load(t, "WoGG/paragraphs/0019.md", data, markdown.Options{})
	if doc.ID != "WoGG § 19" || doc.Corpus != assist.CorpusRegulations || len(doc.Chunks) != 1 {
		t.Fatalf("doc %q corpus %q with %d chunks", doc.ID, doc.Corpus, len(doc.Chunks))
	}
	c := doc.Chunks[0]
	want := assist.Citation{
		Law: "WoGG", Section: "§ 19", Heading: "Höhe des Wohngeldes", Stand: "2026-04-16",
		Breadcrumb: []string{"Teil 1 Zweck des Wohngeldes und Wohngeldberechtigung", "Teil 2 Berechnung und Höhe des Wohngeldes", "Kapitel 5 Höhe des Wohngeldes"},
	}
	if d := cmp.Diff(want, c.Citation); d != "" {
		t.Errorf("citation (-want +got):\n%s", d)
	}
	if c.ID != "p19" || !strings.HasPrefix(c.Text, "§ 19 WoGG Höhe des Wohngeldes\n\n(1) Das ungerundete") {
		t.Errorf("chunk %s:\n%s", c.ID, c.Text)
	}

	long := load(t, "0014.md", readShared(t, "federal/WoGG/paragraphs/0014.md"), markdown.Options{})
	if len(long.Chunks) < 3 || long.Chunks[0].Citation.Paragraph != "1" {
		t.Errorf("long § 14 not split per Absatz: %d chunks, first %+v", len(long.Chunks), long.Chunks[0].Citation)
	}
	annex := load(t, "0002.md", readShared(t, "federal/WoGG/annexes/0002.md"), markdown.Options{})
	if annex.ID != "WoGG Anlage 2" || annex.Chunks[0].Meta["kind"] != "annex" || annex.Chunks[0].ID != "anlage-2" {
		t.Errorf("annex %q %+v", annex.ID, annex.Chunks[0])
	}
}

func TestLoadGenericMarkdown(t *testing.T) {
	in := "Intro text before any heading.\n\n# Handbuch\n\nErster\nAbsatz.\n\n## Antrag\n\nDer Antrag ist\nschriftlich zu stellen.\n\n```\n# no heading in code\n```\n\n### Fristen\n\nZwei Wochen.\n\n## Leer\n\n"
	doc := load(t, "docs/handbuch.md", []byte(in), markdown.Options{})
	type view struct {
		ID, Text, Heading string
		Crumb             []string
	}
	var got []view
	for _, c := range doc.Chunks {
		got = append(got, view{c.ID, c.Text, c.Citation.Heading, c.Citation.Breadcrumb})
		if c.Citation.Document != "Handbuch" {
			t.Errorf("chunk %s document %q", c.ID, c.Citation.Document)
		}
	}
	want := []view{
		{"s1", "Intro text before any heading.", "", nil},
		{"s2", "Handbuch\n\nErster Absatz.", "Handbuch", nil},
		{"s3", "Antrag\n\nDer Antrag ist schriftlich zu stellen.\n\n```\n# no heading in code\n```", "Antrag", []string{"Handbuch"}},
		{"s4", "Fristen\n\nZwei Wochen.", "Fristen", []string{"Handbuch", "Antrag"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("chunks (-want +got):\n%s", d)
	}
	if doc.Corpus != "" || doc.ID != "" || doc.Title != "Handbuch" || doc.Format != "markdown" {
		t.Errorf("document id %q corpus %q title %q format %q", doc.ID, doc.Corpus, doc.Title, doc.Format)
	}
}

func TestLoadMemoCitingSectionsStaysGeneric(t *testing.T) {
	in := "# Vermerk\n\n## Sachverhalt\n\nAntrag vom 1.2.\n\n## § 35 VwVfG\n\nVerwaltungsakt.\n\n## § 37 VwVfG\n\nBestimmtheit.\n\n## Ergebnis\n\nStattgeben.\n"
	doc := load(t, "vermerk.md", []byte(in), markdown.Options{})
	if doc.Corpus != "" || doc.ID != "" || len(doc.Chunks) != 4 || doc.Chunks[1].Citation.Heading != "§ 35 VwVfG" {
		t.Errorf("memo loaded as %q corpus %q with %d chunks", doc.ID, doc.Corpus, len(doc.Chunks))
	}
}

func TestLoadLongGenericSectionIsSplit(t *testing.T) {
	in := "# Bericht\n\n" + strings.Repeat("Die Verwaltung prüft jeden Antrag sorgfältig und zeitnah. ", 200)
	doc := load(t, "bericht.md", []byte(in), markdown.Options{})
	if len(doc.Chunks) < 5 {
		t.Fatalf("%d chunks", len(doc.Chunks))
	}
	for _, c := range doc.Chunks {
		if !strings.HasPrefix(c.Text, "Bericht\n\n") || c.Citation.Heading != "Bericht" {
			t.Errorf("chunk %s lacks its heading", c.ID)
		}
	}
}

func TestLoadPlainText(t *testing.T) {
	in := "Vermerk zur Akte\n\n# not a heading here\n" + strings.Repeat("Text. ", 400)
	doc := load(t, "notes/vermerk.txt", []byte(in), markdown.Options{Plain: true})
	if doc.Format != "text" || doc.Title != "Vermerk zur Akte" || len(doc.Chunks) < 2 || doc.Chunks[0].Citation.Heading != "" {
		t.Errorf("format %q title %q chunks %d", doc.Format, doc.Title, len(doc.Chunks))
	}
	var all strings.Builder
	for _, c := range doc.Chunks {
		all.WriteString(c.Text + "\n")
	}
	if !strings.Contains(all.String(), "# not a heading here") {
		t.Errorf("plain text lost its content: %q", all.String())
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, input string
		plain       bool
		msg         string
	}{
		{"an empty file is invalid", "", false, "empty document"},
		{"whitespace only is invalid", " \n\t\r\n", false, "empty document"},
		{"whitespace only plain text is invalid", "  \n", true, "empty document"},
		{"front matter alone is invalid", "---\ntitle: x\n---\n\n", false, "empty document"},
		{"empty headings are invalid", "# \n\n## \n", false, "empty document"},
		{"invalid UTF-8 is invalid", "# Titel\n\n\xff\xfe", false, "not valid UTF-8"},
		{"broken front matter is invalid", "---\ntitle: [unclosed\n---\ntext\n", false, "malformed YAML front matter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := markdown.Load(context.Background(), "in.md", []byte(tt.input), markdown.Options{Plain: tt.plain})
			if assist.KindOf(err) != assist.Invalid {
				t.Fatalf("err %v, want Invalid", err)
			}
			if m := assist.Message(err); !strings.Contains(m, tt.msg) {
				t.Errorf("message %q lacks %q", m, tt.msg)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("# Gesetz (TG)\n\n## Teil 1 - A\n\n### § 1 Eins\n\n(1) a\n(2) b\n\n### § 2 Zwei\n\nText"), false)
	f.Add([]byte("---\njurabk: X\nnumber: \"§ 1\"\n---\n# § 1 A\n\nB"), false)
	f.Add([]byte("# T\n\n## T § 1 A\n\nx\n\n## T\n\n § 2  B\n\ny"), false)
	f.Add([]byte("plain"), true)
	f.Fuzz(func(t *testing.T, data []byte, plain bool) {
		doc, err := markdown.Load(context.Background(), "eol__31_Dezember_2024_f.md", data, markdown.Options{Plain: plain})
		if err != nil {
			if assist.KindOf(err) != assist.Invalid {
				t.Fatalf("kind %v: %v", assist.KindOf(err), err)
			}
			return
		}
		ids := map[string]bool{}
		for _, c := range doc.Chunks {
			if c.ID == "" || ids[c.ID] {
				t.Fatalf("empty or duplicate chunk id %q", c.ID)
			}
			ids[c.ID] = true
		}
		if len(doc.Chunks) == 0 {
			t.Fatal("no chunks without an error")
		}
	})
}
