package lawxml_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/ingest/lawxml"
)

const dataDir = "../../../shared/data/laws/federal"

// federalLaws returns the law directories of the shared data set or skips.
func federalLaws(tb testing.TB) []string {
	tb.Helper()
	dirs, err := filepath.Glob(filepath.Join(dataDir, "*", "source.xml"))
	if err != nil || len(dirs) == 0 {
		tb.Skipf("shared law data not found at %s (see /work/shared/data/README.md)", dataDir)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

type tocSection struct {
	Number  string   `json:"number"`
	Heading string   `json:"heading"`
	Type    string   `json:"type"`
	File    string   `json:"file"`
	Crumb   []string `json:"breadcrumb"`
}

func readTOC(t *testing.T, dir string) []tocSection {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "toc.json"))
	if err != nil {
		t.Fatal(err)
	}
	var toc struct{ Sections []tocSection }
	if err := json.Unmarshal(raw, &toc); err != nil {
		t.Fatal(err)
	}
	return toc.Sections
}

var wordRe = regexp.MustCompile(`[\p{L}\p{N}]{3,}`)

// TestLoadMatchesReferenceSections checks every real law against the
// reference extraction shipped with the data: the same §§ and Anlagen in the
// same order with the same headings, and (almost) every word of each
// reference § present in the chunks of that §.
func TestLoadMatchesReferenceSections(t *testing.T) {
	for _, dir := range federalLaws(t) {
		t.Run(filepath.Base(dir)+" has every reference section with its text", func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "source.xml"))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := lawxml.Load(context.Background(), "source.xml", data, lawxml.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.ID == "" || doc.Title == "" || doc.Corpus != assist.CorpusRegulations || doc.Format != "lawxml" {
				t.Fatalf("document header: id %q title %q corpus %q format %q", doc.ID, doc.Title, doc.Corpus, doc.Format)
			}
			texts := map[string]string{}
			headings := map[string]string{}
			var order []string
			ids := map[string]bool{}
			for i, c := range doc.Chunks {
				if ids[c.ID] {
					t.Errorf("duplicate chunk id %q", c.ID)
				}
				ids[c.ID] = true
				if c.Ordinal != i {
					t.Errorf("chunk %s has ordinal %d, want %d", c.ID, c.Ordinal, i)
				}
				if c.Citation.Law != doc.ID || !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(c.Citation.Stand) {
					t.Errorf("chunk %s citation %+v", c.ID, c.Citation)
				}
				if want := c.Citation.Section + " " + doc.ID; !strings.HasPrefix(c.Text, want) {
					t.Errorf("chunk %s text starts %q, want %q", c.ID, firstLine(c.Text), want)
				}
				if n := utf8.RuneCountInString(c.Text); n > 4500 {
					t.Errorf("chunk %s has %d runes", c.ID, n)
				}
				if k := c.Meta["kind"]; k != "paragraph" && k != "annex" {
					t.Errorf("chunk %s kind %q", c.ID, k)
				}
				if _, ok := texts[c.Citation.Section]; !ok {
					order = append(order, c.Citation.Section)
				}
				texts[c.Citation.Section] += "\n" + c.Text
				headings[c.Citation.Section] = c.Citation.Heading
			}
			toc := readTOC(t, dir)
			next := 0
			for _, s := range toc {
				want := strings.Join(strings.Fields(s.Number), " ")
				for next < len(order) && order[next] != want {
					if !strings.Contains(texts[order[next]], "weggefallen") && strings.TrimSpace(bodyOf(texts[order[next]])) != "-" {
						t.Errorf("section %q is not in the reference (and not repealed)", order[next])
					}
					next++
				}
				if next == len(order) {
					t.Fatalf("reference section %q missing or out of order", want)
				}
				next++
				// The reference drops subscripts ("CO2" → "CO"), so a
				// longer heading starting with it is right.
				if !strings.HasPrefix(headings[want], s.Heading) {
					t.Errorf("%s heading %q, want %q", want, headings[want], s.Heading)
				}
				ref, err := os.ReadFile(filepath.Join(dir, s.File))
				if err != nil {
					t.Fatal(err)
				}
				refWords := wordRe.FindAllString(bodyOf(string(ref)), -1)
				have := map[string]bool{}
				for _, w := range wordRe.FindAllString(texts[want], -1) {
					have[w] = true
				}
				missing := 0
				for _, w := range refWords {
					if !have[w] {
						missing++
					}
				}
				// The reference keeps Fundstelle notes that the loader drops.
				if len(refWords) > 20 && float64(missing) > 0.03*float64(len(refWords))+8 {
					t.Errorf("%s: %d of %d reference words missing", want, missing, len(refWords))
				}
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// bodyOf drops YAML front matter and the heading line.
func bodyOf(s string) string {
	if strings.HasPrefix(s, "---\n") {
		if i := strings.Index(s[4:], "\n---\n"); i >= 0 {
			s = s[4+i+5:]
		}
	}
	s = strings.TrimSpace(s)
	if _, rest, ok := strings.Cut(s, "\n"); ok {
		return rest
	}
	return ""
}

func TestLoadWoGGSection19HasFullCitation(t *testing.T) {
	dir := filepath.Join(dataDir, "WoGG")
	data, err := os.ReadFile(filepath.Join(dir, "source.xml"))
	if err != nil {
		t.Skipf("shared law data not found at %s: %v", dir, err)
	}
	doc, err := lawxml.Load(context.Background(), "wogg.xml", data, lawxml.Options{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]assist.Chunk{}
	for _, c := range doc.Chunks {
		byID[c.ID] = c
	}
	c, ok := byID["p19"]
	if !ok {
		t.Fatalf("no chunk p19")
	}
	want := assist.Citation{
		Law: "WoGG", Section: "§ 19", Heading: "Höhe des Wohngeldes", Stand: "2026-04-16",
		Breadcrumb: []string{"Teil 2 Berechnung und Höhe des Wohngeldes", "Kapitel 5 Höhe des Wohngeldes"},
	}
	if d := cmp.Diff(want, c.Citation); d != "" {
		t.Errorf("citation (-want +got):\n%s", d)
	}
	for _, s := range []string{"§ 19 WoGG Höhe des Wohngeldes\n\n(1) Das ungerundete", "1,15 · (M – (a + b · M + c · Y) ·Y) Euro.", "\n\n(3) Sind mehr als zwölf"} {
		if !strings.Contains(c.Text, s) {
			t.Errorf("p19 text lacks %q:\n%s", s, c.Text)
		}
	}
	a2, ok := byID["anlage-2"]
	if !ok || a2.Citation.Section != "Anlage 2" || a2.Meta["kind"] != "annex" || a2.Citation.Heading != "(zu § 19 Absatz 1)" {
		t.Fatalf("anlage-2: %+v", a2)
	}
	if !strings.Contains(a2.Text, "\nb | 4,797E-4 | 3,571E-4 |") {
		t.Errorf("annex table not rendered as rows:\n%s", a2.Text)
	}
	if strings.Contains(a2.Text, "Fundstelle") {
		t.Errorf("annex keeps the Fundstelle note:\n%s", a2.Text)
	}
	if p3, ok := byID["p3-a2"]; !ok || p3.Citation.Paragraph != "2" || !strings.HasPrefix(p3.Text, "§ 3 WoGG Wohngeldberechtigung\n\n(2) ") {
		t.Errorf("long § 3 not split per Absatz: %+v", p3)
	}
}

// law wraps norms into a minimal gii document.
func law(norms ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE dokumente SYSTEM "http://www.gesetze-im-internet.de/dtd/1.01/gii-norm.dtd">
<dokumente><norm><metadaten><jurabk>TestG</jurabk><amtabk>TG</amtabk><langue>Testgesetz</langue>
<standangabe><standtyp>Stand</standtyp><standkommentar>Zuletzt geändert durch Art. 1 G v. 2.3.2025 I Nr. 7</standkommentar></standangabe></metadaten></norm>
<norm><metadaten><jurabk>TestG</jurabk><enbez>Inhaltsübersicht</enbez></metadaten><textdaten><text><TOC>§ 1 Erstens</TOC></text></textdaten></norm>
<norm><metadaten><jurabk>TestG</jurabk><gliederungseinheit><gliederungskennzahl>010</gliederungskennzahl><gliederungsbez>Teil 1</gliederungsbez><gliederungstitel>Allgemeines</gliederungstitel></gliederungseinheit></metadaten></norm>
<norm><metadaten><jurabk>TestG</jurabk><gliederungseinheit><gliederungskennzahl>010010</gliederungskennzahl><gliederungsbez>Abschnitt 1</gliederungsbez><gliederungstitel>Begriffe</gliederungstitel></gliederungseinheit></metadaten></norm>
` + strings.Join(norms, "\n") + `</dokumente>`
}

func norm(enbez, titel, content string) string {
	return `<norm><metadaten><jurabk>TestG</jurabk><enbez>` + enbez + `</enbez><titel>` + titel + `</titel></metadaten><textdaten><text format="XML"><Content>` + content + `</Content></text><fussnoten><Content><P>Fußnote</P></Content></fussnoten></textdaten></norm>`
}

func TestLoadSmallLaw(t *testing.T) {
	long := strings.Repeat("Die Behörde entscheidet nach pflichtgemäßem Ermessen. ", 30)
	xml := law(
		norm("§ 1", "Erstens", `<P>(1) Kurz<FnR ID="F1"/>.</P><P>(2) Liste: <DL><DT>1.</DT><DD><LA>a,</LA></DD><DT>2.</DT><DD><LA>b.</LA></DD></DL></P>`),
		norm("§ 2", "Lang", `<P>(1) `+long+`</P><P>Satz ohne Nummer.</P><P>(2) `+long+`</P>`),
		norm("§ 3", "(weggefallen)", `<P></P>`),
		norm("Anlage 1", "(zu § 1)", `<P><noindex>(Fundstelle: BGBl.)</noindex></P><table><tgroup><tbody><row><entry>A</entry><entry>1</entry></row><row><entry></entry></row><row><entry>B</entry><entry>2</entry></row></tbody></tgroup></table>`),
	)
	doc, err := lawxml.Load(context.Background(), "test.xml", []byte(xml), lawxml.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		ID, Text, Section, Paragraph, Kind string
		Crumb                              []string
	}
	var got []view
	for _, c := range doc.Chunks {
		got = append(got, view{c.ID, c.Text, c.Citation.Section, c.Citation.Paragraph, c.Meta["kind"], c.Citation.Breadcrumb})
		if c.Citation.Stand != "2025-03-02" || c.Citation.Law != "TG" {
			t.Errorf("chunk %s citation %+v", c.ID, c.Citation)
		}
	}
	crumb := []string{"Teil 1 Allgemeines", "Abschnitt 1 Begriffe"}
	want := []view{
		{"p1", "§ 1 TG Erstens\n\n(1) Kurz.\n\n(2) Liste:\n1. a,\n2. b.", "§ 1", "", "paragraph", crumb},
		{"p2-a1", "§ 2 TG Lang\n\n(1) " + strings.TrimSpace(long) + "\n\nSatz ohne Nummer.", "§ 2", "1", "paragraph", crumb},
		{"p2-a2", "§ 2 TG Lang\n\n(2) " + strings.TrimSpace(long), "§ 2", "2", "paragraph", crumb},
		{"p3", "§ 3 TG (weggefallen)", "§ 3", "", "paragraph", crumb},
		{"anlage-1", "Anlage 1 TG (zu § 1)\n\nA | 1\nB | 2", "Anlage 1", "", "annex", nil},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("chunks (-want +got):\n%s", d)
	}
	if doc.ID != "TG" || doc.Title != "Testgesetz" || doc.Meta["stand"] != "2025-03-02" || doc.Meta["jurabk"] != "TestG" {
		t.Errorf("document %q %q %v", doc.ID, doc.Title, doc.Meta)
	}
}

func TestLoadStandOptionWins(t *testing.T) {
	doc, err := lawxml.Load(context.Background(), "t.xml", []byte(law(norm("§ 1", "A", "<P>x</P>"))), lawxml.Options{Stand: "2024-01-31"})
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Chunks[0].Citation.Stand; got != "2024-01-31" {
		t.Errorf("stand %q", got)
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	bomb := `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<dokumente><norm><metadaten><jurabk>&lol9;</jurabk></metadaten></norm></dokumente>`
	tests := []struct {
		name, input string
		kind        assist.Kind
		msg         string
	}{
		{"an empty file is invalid", "  \n", assist.Invalid, "empty document"},
		{"a billion laughs DOCTYPE is refused without expansion", bomb, assist.Invalid, "declares entities"},
		{"an undeclared entity is malformed", law(norm("§ 1", "A", "<P>&foo;</P>")), assist.Invalid, "malformed law XML"},
		{"a truncated file is malformed", law(norm("§ 1", "A", "<P>x</P>"))[:200], assist.Invalid, "malformed law XML"},
		{"another root element is not law XML", `<html><body/></html>`, assist.Invalid, "root element is <html>"},
		{"deep nesting is refused", "<dokumente>" + strings.Repeat("<P>", 500) + strings.Repeat("</P>", 500) + "</dokumente>", assist.Invalid, "deeper than"},
		{"a law without sections is invalid", law(), assist.Invalid, "has no § or Anlage"},
		{"invalid UTF-8 is invalid", "<dokumente>\xff</dokumente>", assist.Invalid, "not valid UTF-8"},
		{"a non-UTF-8 encoding is refused", `<?xml version="1.0" encoding="ISO-8859-1"?><dokumente/>`, assist.Invalid, "ISO-8859-1"},
		{"a law without abbreviation is invalid", `<dokumente><norm><metadaten><enbez>§ 1</enbez></metadaten></norm></dokumente>`, assist.Invalid, "no abbreviation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := lawxml.Load(context.Background(), "in.xml", []byte(tt.input), lawxml.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if k := assist.KindOf(err); k != tt.kind {
				t.Errorf("kind %v, want %v (%v)", k, tt.kind, err)
			}
			if m := assist.Message(err); !strings.Contains(m, tt.msg) {
				t.Errorf("message %q lacks %q", m, tt.msg)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestLoadStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := lawxml.Load(ctx, "t.xml", []byte(law(norm("§ 1", "A", "<P>x</P>"))), lawxml.Options{})
	if assist.KindOf(err) != assist.Canceled {
		t.Fatalf("err %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(law(norm("§ 1", "A", `<P>(1) x <DL><DT>1.</DT><DD><LA>y</LA></DD></DL></P><P>(2) z</P>`), norm("Anlage 1", "B", `<table><tgroup><tbody><row><entry>a</entry></row></tbody></tgroup></table>`))))
	f.Add([]byte(`<dokumente><norm><metadaten><jurabk>X</jurabk><enbez>Art. 1</enbez></metadaten></norm></dokumente>`))
	f.Add([]byte(`<!DOCTYPE d [<!ENTITY a "b">]><dokumente/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := lawxml.Load(context.Background(), "fuzz.xml", data, lawxml.Options{})
		if err != nil {
			if k := assist.KindOf(err); k != assist.Invalid && k != assist.TooLarge {
				t.Fatalf("kind %v for %v", k, err)
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
	})
}

func BenchmarkLoadFederalLaws(b *testing.B) {
	var inputs [][]byte
	for _, dir := range federalLaws(b) {
		data, err := os.ReadFile(filepath.Join(dir, "source.xml"))
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, data)
	}
	sections := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sections = 0
		for _, data := range inputs {
			doc, err := lawxml.Load(context.Background(), "x.xml", data, lawxml.Options{})
			if err != nil {
				b.Fatal(err)
			}
			seen := map[string]bool{}
			for _, c := range doc.Chunks {
				seen[c.Citation.Section] = true
			}
			sections += len(seen)
		}
	}
	b.ReportMetric(float64(sections*b.N)/b.Elapsed().Seconds(), "sections/s")
}
