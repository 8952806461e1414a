package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/verify"
	"amtsassist/ingest"
	"amtsassist/rag"
	"amtsassist/rag/local"
)

// federalLaws is the shared development data (relative to this package).
var federalLaws = filepath.Join("..", "..", "..", "..", "shared", "data", "laws", "federal")

var (
	lawsOnce sync.Once
	lawsIx   rag.Index
	lawsErr  error
	lawsDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if lawsIx != nil {
		lawsIx.Close()
	}
	if lawsDir != "" {
		os.RemoveAll(lawsDir)
	}
	os.Exit(code)
}

// lawIndex ingests the shared federal laws (source.xml of each) with the
// ingest pipeline into a temporary local index, once per test binary. It
// skips when the data is absent.
func lawIndex(tb testing.TB) rag.Index {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(federalLaws, "WoGG", "source.xml")); err != nil {
		tb.Skipf("shared federal laws not found under %s: this test needs the development data set", federalLaws)
	}
	lawsOnce.Do(func() {
		if lawsDir, lawsErr = os.MkdirTemp("", "verify-laws-"); lawsErr != nil {
			return
		}
		ix, err := local.Open(lawsDir, local.Config{}, nil)
		if err != nil {
			lawsErr = err
			return
		}
		lawsIx = ix
		p, err := ingest.New(ingest.Config{Index: ix})
		if err != nil {
			lawsErr = err
			return
		}
		rep, err := p.IngestPaths(context.Background(), []string{federalLaws}, ingest.Options{})
		if err == nil && (rep.Failed > 0 || rep.Documents < 10) {
			err = fmt.Errorf("ingest report: %d documents, %d failed: %+v", rep.Documents, rep.Failed, rep.Files)
		}
		lawsErr = err
	})
	if lawsErr != nil {
		tb.Fatal(lawsErr)
	}
	return lawsIx
}

func TestIndexNormsExists(t *testing.T) {
	norms := verify.IndexNorms(lawIndex(t))
	tests := []struct {
		ref  string
		want bool
	}{
		{"§ 19 WoGG", true},
		{"§ 19 Abs. 1 WoGG", true},
		{"§ 19 Abs. 3 WoGG", true},
		{"§ 19 Abs. 9 WoGG", false},
		{"§ 17a WoGG", true},
		{"§ 17b WoGG", false},
		{"§ 99 WoGG", false},
		{"Anlage 2 WoGG", true},
		{"§ 28 VwVfG", true},
		{"§ 35 SGB X", true},
		{"§ 35 SGB 10", true},
		{"§ 35 SGB I", true},
		{"§ 35 SGB 1", true},
		{"§ 120 SGB I", false},
		{"§ 15a BAföG", true},
		{"§ 42 BAföG", false}, // "(weggefallen)"
		{"Art. 3 GG", false},  // the Grundgesetz is not among the indexed laws
		{"Art. 3 Abs. 1 GG", false},
		{"§ 4 SächsVwVfZG", false},
	}
	for _, tt := range tests {
		name := tt.ref + " is not in the index"
		if tt.want {
			name = tt.ref + " is in the index"
		}
		t.Run(name, func(t *testing.T) {
			ns := verify.ParseNorms(tt.ref)
			if len(ns) != 1 {
				t.Fatalf("ParseNorms(%q) = %+v", tt.ref, ns)
			}
			got, err := norms.Exists(context.Background(), ns[0])
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Exists(%s) = %v, want %v", tt.ref, got, tt.want)
			}
		})
	}
	t.Run("a norm without law is invalid", func(t *testing.T) {
		_, err := norms.Exists(context.Background(), verify.Norm{Raw: "§ 19", Section: "§ 19"})
		if assist.KindOf(err) != assist.Invalid {
			t.Errorf("error %v, want invalid", err)
		}
	})
}

func TestIndexNormsLawByTitle(t *testing.T) {
	r, ok := verify.IndexNorms(lawIndex(t)).(verify.TitleResolver)
	if !ok {
		t.Fatal("IndexNorms does not resolve titles")
	}
	tests := []struct{ title, want string }{
		{"Wohngeldgesetzes", "WoGG"},
		{"Wohngeldgesetz", "WoGG"},
		{"Verwaltungsverfahrensgesetzes", "VwVfG"},
		{"Zehnten Buches Sozialgesetzbuch", "SGB X"},
		{"Bundesdatenschutzgesetzes", "BDSG"},
		{"Ersten Buches Sozialgesetzbuch", "SGB 1"},
		{"Sozialgesetzbuch", ""}, // ambiguous: SGB I and SGB X
		{"Strafgesetzbuches", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q resolves to %q", tt.title, tt.want), func(t *testing.T) {
			got, found, err := r.LawByTitle(context.Background(), tt.title)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || found != (tt.want != "") {
				t.Errorf("LawByTitle(%q) = %q, %v", tt.title, got, found)
			}
		})
	}
}

// wohngeldSources retrieves sources the way the memo use case does: hits of
// the regulations corpus, numbered from 1.
func wohngeldSources(tb testing.TB, ix rag.Index) []memo.Source {
	tb.Helper()
	var sources []memo.Source
	seen := map[string]bool{}
	for _, q := range []string{"§ 3 WoGG", "§ 4 WoGG", "§ 19 WoGG", "Anlage 2 WoGG", "Haushaltsmitglieder Wohngeld Miete Einkommen", "§ 11 WoGG", "§ 12 WoGG", "§ 13 WoGG", "§ 14 WoGG", "§ 28 VwVfG"} {
		hits, err := ix.Search(context.Background(), rag.Query{Text: q, Mode: rag.ModeLexical, K: 1,
			Filter: rag.Filter{Corpus: []assist.Corpus{assist.CorpusRegulations}}})
		if err != nil {
			tb.Fatal(err)
		}
		for _, h := range hits {
			if seen[h.Chunk.ID] || len(sources) == 10 {
				continue
			}
			seen[h.Chunk.ID] = true
			sources = append(sources, memo.Source{N: len(sources) + 1, ChunkID: h.Chunk.ID, DocID: h.Chunk.DocID,
				Corpus: h.Chunk.Corpus, Citation: h.Chunk.Citation.String(), Cite: h.Chunk.Citation, Text: h.Chunk.Text, Score: h.Score})
		}
	}
	sources = append(sources, memo.Source{N: len(sources) + 1, ChunkID: "akte-1#p1", DocID: "akte-1", Corpus: assist.CorpusCases,
		Citation: "antrag.pdf, S. 1", Cite: assist.Citation{Document: "antrag.pdf", Page: 1},
		Text: "Frau M. lebt mit ihren zwei Kindern (7 und 11 Jahre) in einer Mietwohnung in Leipzig. Die Bruttokaltmiete beträgt 780 Euro monatlich."})
	return sources
}

// sourceFor returns the number of the first source citing law and section.
func sourceFor(tb testing.TB, sources []memo.Source, law, section string) int {
	tb.Helper()
	for _, s := range sources {
		if s.Cite.Law == law && s.Cite.Section == section {
			return s.N
		}
	}
	tb.Fatalf("no source for %s %s among %d sources", section, law, len(sources))
	return 0
}

// wohngeldMemo is a realistic draft over the real sources: correct
// citations, one invented norm, one norm not retrieved and one fabricated
// quote.
func wohngeldMemo(tb testing.TB, sources []memo.Source) []memo.Section {
	tb.Helper()
	n19 := sourceFor(tb, sources, "WoGG", "§ 19")
	n4 := sourceFor(tb, sources, "WoGG", "§ 4")
	last := len(sources)
	return []memo.Section{
		{Key: memo.SectionSachverhalt, Text: fmt.Sprintf("Frau M. beantragt Wohngeld für sich und ihre zwei Kinder [%d]. Sie bewohnt eine Mietwohnung in Leipzig; die Bruttokaltmiete beträgt 780 Euro monatlich [%d].", last, last)},
		{Key: memo.SectionWuerdigung, Text: fmt.Sprintf(
			"Wohngeld ist nach § 4 WoGG unter Berücksichtigung der Anzahl der Haushaltsmitglieder, der Miete und des Gesamteinkommens zu leisten [%d]. "+
				"Die Höhe ergibt sich aus § 19 Abs. 1 WoGG: „Das ungerundete monatliche Wohngeld für bis zu zwölf zu berücksichtigende Haushaltsmitglieder beträgt“ [%d]. "+
				"Die Werte a, b und c ergeben sich aus Anlage 2 WoGG [%d]. "+
				"Ein Ausschluss nach § 7 WoGG liegt nicht vor [%d]. "+
				"Nach § 99 WoGG ist zudem ein Zuschlag zu gewähren [%d]. "+
				"§ 19 Abs. 3 WoGG bestimmt: „Für Alleinerziehende erhöht sich das Wohngeld um 100 Euro“ [%d].",
			n4, n19, n19, n4, n19, n19)},
		{Key: memo.SectionErgebnis, Text: "Dem Antrag ist dem Grunde nach stattzugeben; die Höhe ist nach § 19 des Wohngeldgesetzes zu berechnen."},
		{Key: memo.SectionVerfuegung, Text: "1. Bescheid nach Berechnung fertigen.\n2. Wv. am 15.03.\n3. z.d.A."},
	}
}

func TestCheckOnTheFederalLawsIndex(t *testing.T) {
	ix := lawIndex(t)
	sources := wohngeldSources(t, ix)
	got, sum, err := verify.Check(context.Background(), wohngeldMemo(t, sources), sources, verify.IndexNorms(ix))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := map[string]memo.Status{
		memo.SectionSachverhalt: memo.StatusVerified,
		memo.SectionWuerdigung:  memo.StatusFailed,
		memo.SectionErgebnis:    memo.StatusVerified,
		memo.SectionVerfuegung:  memo.StatusUnverified,
	}
	for _, s := range got {
		if s.Status != wantStatus[s.Key] {
			t.Errorf("section %s: status %q, want %q; findings %+v", s.Key, s.Status, wantStatus[s.Key], s.Findings)
		}
	}
	var msgs []string
	for _, f := range got[1].Findings {
		msgs = append(msgs, f.Message)
	}
	for _, want := range []string{
		"Norm nicht im Bestand: § 99 WoGG",
		"Norm nicht unter den Quellen: § 7 WoGG",
		fmt.Sprintf("Zitat nicht in Quelle [%d] belegt", sourceFor(t, sources, "WoGG", "§ 19")),
	} {
		if !strings.Contains(strings.Join(msgs, "\n"), want) {
			t.Errorf("Würdigung: no finding %q among %q", want, msgs)
		}
	}
	if len(msgs) != 3 {
		t.Errorf("Würdigung: %d findings, want 3: %q", len(msgs), msgs)
	}
	if c := got[2].Citations; len(c) != 1 || c[0].Norm != "§ 19 WoGG" || c[0].Status != memo.StatusVerified {
		t.Errorf("Ergebnis: a norm named by title should resolve to § 19 WoGG and be verified: %+v", c)
	}
	if sum.Status != memo.StatusFailed || sum.Checked == 0 || sum.Verified == 0 {
		t.Errorf("summary %+v", sum)
	}
	t.Logf("summary: %+v", sum)
}
