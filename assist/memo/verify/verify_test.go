package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/verify"
)

// fakeNorms knows a fixed set of provisions ("WoGG|§19") and law titles.
type fakeNorms struct {
	known  map[string]bool
	titles map[string]string
	err    error
	calls  int
}

func newFakeNorms() *fakeNorms {
	f := &fakeNorms{known: map[string]bool{}, titles: map[string]string{"Wohngeldgesetzes": "WoGG"}}
	for _, n := range []string{"WoGG|§ 17", "WoGG|§ 19", "WoGG|§ 20", "WoGG|Anlage 2", "VwVfG|§ 28", "VwVfG|§ 35", "SGB X|§ 35"} {
		law, sec, _ := strings.Cut(n, "|")
		f.known[verify.LawKey(law)+"|"+verify.SectionKey(sec)] = true
	}
	return f
}

func (f *fakeNorms) Exists(_ context.Context, n verify.Norm) (bool, error) {
	f.calls++
	if f.err != nil {
		return false, f.err
	}
	return f.known[verify.LawKey(n.Law)+"|"+verify.SectionKey(n.Section)], nil
}

func (f *fakeNorms) LawByTitle(_ context.Context, title string) (string, bool, error) {
	law, ok := f.titles[title]
	return law, ok, nil
}

// testSources are what the model was given: two norms and a case document.
func testSources() []memo.Source {
	return []memo.Source{
		{N: 1, ChunkID: "WoGG#p19", DocID: "WoGG", Corpus: assist.CorpusRegulations, Citation: "§ 19 WoGG",
			Cite: assist.Citation{Law: "WoGG", Section: "§ 19"},
			Text: "§ 19 WoGG Höhe des Wohngeldes\n\n(1) Das ungerundete monatliche Wohngeld für bis zu zwölf zu berück-\nsichtigende Haushaltsmitglieder beträgt\n\n    0,6 × (M – (a + b × M + c × Y) × Y) Euro."},
		{N: 2, ChunkID: "VwVfG#p28", DocID: "VwVfG", Corpus: assist.CorpusRegulations, Citation: "§ 28 VwVfG",
			Cite: assist.Citation{Law: "VwVfG", Section: "§ 28"},
			Text: "§ 28 VwVfG Anhörung Beteiligter\n\n(1) Bevor ein Verwaltungsakt erlassen wird, der in Rechte eines Beteiligten eingreift, ist diesem Gelegenheit zu geben, sich zu den für die Entscheidung erheblichen Tatsachen zu äußern."},
		{N: 3, ChunkID: "case-1#p1", DocID: "case-1", Corpus: assist.CorpusCases, Citation: "antrag.pdf, S. 1",
			Cite: assist.Citation{Document: "antrag.pdf", Page: 1},
			Text: "Die Antragstellerin lebt mit zwei Kindern in einer Mietwohnung in Dresden. Die Bruttokaltmiete beträgt 720 Euro."},
		{N: 4, ChunkID: "SGB X#p35", DocID: "SGB X", Corpus: assist.CorpusRegulations, Citation: "§ 35 SGB X",
			Cite: assist.Citation{Law: "SGB X", Section: "§ 35"},
			Text: "§ 35 SGB X Begründung des Verwaltungsaktes\n\n(1) Ein schriftlicher Verwaltungsakt ist mit einer Begründung zu versehen."},
	}
}

func TestCheckSection(t *testing.T) {
	tests := []struct {
		name        string
		key         string
		text        string
		wantStatus  memo.Status
		wantKinds   []memo.FindingKind
		wantMessage string // a message one finding must carry, when set
		wantSources []int
		wantNorms   []string // normalised norms among the citations
	}{
		{
			name: "a correctly cited norm and marker are verified", key: memo.SectionWuerdigung,
			text:       "Die Höhe des Wohngeldes richtet sich nach § 19 Abs. 1 WoGG [1].",
			wantStatus: memo.StatusVerified, wantSources: []int{1}, wantNorms: []string{"§ 19 Abs. 1 WoGG"},
		},
		{
			name: "a norm the index does not hold fails the section", key: memo.SectionWuerdigung,
			text:       "Der Anspruch folgt aus § 99 WoGG [1].",
			wantStatus: memo.StatusFailed, wantKinds: []memo.FindingKind{memo.FindingUnknownNorm},
			wantMessage: "Norm nicht im Bestand: § 99 WoGG", wantSources: []int{1}, wantNorms: []string{"§ 99 WoGG"},
		},
		{
			name: "a norm that exists but was not retrieved gives a warning", key: memo.SectionWuerdigung,
			text:       "Die Einkommensermittlung nach § 20 WoGG bleibt unberührt [1].",
			wantStatus: memo.StatusWarnings, wantKinds: []memo.FindingKind{memo.FindingNormNotRetrieved},
			wantMessage: "Norm nicht unter den Quellen: § 20 WoGG", wantSources: []int{1}, wantNorms: []string{"§ 20 WoGG"},
		},
		{
			name: "a marker beyond the sources fails the section", key: memo.SectionSachverhalt,
			text:       "Die Antragstellerin wohnt in Dresden [3]. Sie hat zwei Kinder [7].",
			wantStatus: memo.StatusFailed, wantKinds: []memo.FindingKind{memo.FindingMarkerOutOfRange},
			wantMessage: "Quellenverweis [7] ohne Quelle (es gibt 4 Quellen)", wantSources: []int{3},
		},
		{
			name: "a fabricated quote fails the section", key: memo.SectionWuerdigung,
			text:       "§ 28 VwVfG bestimmt: „Eine Anhörung ist in Wohngeldsachen stets entbehrlich“ [2].",
			wantStatus: memo.StatusFailed, wantKinds: []memo.FindingKind{memo.FindingQuoteNotFound},
			wantMessage: "Zitat nicht in Quelle [2] belegt", wantSources: []int{2}, wantNorms: []string{"§ 28 VwVfG"},
		},
		{
			name: "a quote with other whitespace, hyphenation and quote marks is verified", key: memo.SectionWuerdigung,
			text:       "Nach § 19 Abs. 1 WoGG gilt: »Das ungerundete  monatliche Wohngeld für bis zu zwölf zu berücksichtigende\nHaushaltsmitglieder beträgt« [1].",
			wantStatus: memo.StatusVerified, wantSources: []int{1}, wantNorms: []string{"§ 19 Abs. 1 WoGG"},
		},
		{
			name: "a quote with an omission is verified part by part", key: memo.SectionWuerdigung,
			text:       "§ 28 Abs. 1 VwVfG verlangt: \"Bevor ein Verwaltungsakt erlassen wird, […] ist diesem Gelegenheit zu geben\" [2].",
			wantStatus: memo.StatusVerified, wantSources: []int{2}, wantNorms: []string{"§ 28 Abs. 1 VwVfG"},
		},
		{
			name: "a quote that stands in another source names that source", key: memo.SectionWuerdigung,
			text:       "Die Behörde hält fest: „Die Bruttokaltmiete beträgt 720 Euro“ [1].",
			wantStatus: memo.StatusFailed, wantKinds: []memo.FindingKind{memo.FindingQuoteNotFound},
			wantMessage: "Zitat nicht in Quelle [1] belegt (steht in Quelle [3])", wantSources: []int{1},
		},
		{
			name: "a short quoted term is not checked", key: memo.SectionVerfuegung,
			text:       "Vermerk „z.d.A.“ und „Wv. am 1.3.“",
			wantStatus: memo.StatusUnverified,
		},
		{
			name: "a list of §§ checks each norm", key: memo.SectionWuerdigung,
			text:       "Die Verfahrensvorschriften der §§ 28, 35 VwVfG sind zu beachten [2].",
			wantStatus: memo.StatusWarnings, wantKinds: []memo.FindingKind{memo.FindingNormNotRetrieved},
			wantMessage: "Norm nicht unter den Quellen: § 35 VwVfG", wantSources: []int{2}, wantNorms: []string{"§ 28 VwVfG", "§ 35 VwVfG"},
		},
		{
			name: "a norm without law is resolved from the preceding reference", key: memo.SectionWuerdigung,
			text:       "Nach § 19 WoGG ist das Wohngeld zu berechnen [1]. Dabei ist § 17 ebenfalls maßgeblich [1].",
			wantStatus: memo.StatusWarnings, wantKinds: []memo.FindingKind{memo.FindingNormNotRetrieved},
			wantMessage: "Norm nicht unter den Quellen: § 17 WoGG", wantSources: []int{1}, wantNorms: []string{"§ 19 WoGG", "§ 17 WoGG"},
		},
		{
			name: "a norm without any law is reported as unresolved", key: memo.SectionWuerdigung,
			text:       "Maßgeblich ist § 19 [1].",
			wantStatus: memo.StatusWarnings, wantKinds: []memo.FindingKind{verify.FindingUnresolvedNorm},
			wantMessage: "Norm ohne erkennbares Gesetz: § 19", wantSources: []int{1},
		},
		{
			name: "a law named by its title is resolved", key: memo.SectionWuerdigung,
			text:       "Die Berechnung erfolgt nach § 19 des Wohngeldgesetzes [1].",
			wantStatus: memo.StatusVerified, wantSources: []int{1}, wantNorms: []string{"§ 19 WoGG"},
		},
		{
			name: "an Arabic book number matches a Roman source", key: memo.SectionWuerdigung,
			text:       "Der Bescheid ist nach § 35 Abs. 1 SGB 10 zu begründen [4].",
			wantStatus: memo.StatusVerified, wantSources: []int{4}, wantNorms: []string{"§ 35 Abs. 1 SGB 10"},
		},
		{
			name: "a statement of law without marker gives a warning", key: memo.SectionWuerdigung,
			text:       "Der Anspruch richtet sich nach § 19 WoGG. Die Miete ist angemessen [3].",
			wantStatus: memo.StatusWarnings, wantKinds: []memo.FindingKind{memo.FindingNoSources},
			wantMessage: "Aussage zu § 19 WoGG ohne Quellenangabe", wantSources: []int{3}, wantNorms: []string{"§ 19 WoGG"},
		},
		{
			name: "a marker after the sentence's period counts for it", key: memo.SectionWuerdigung,
			text:       "Der Anspruch richtet sich nach § 19 WoGG. [1] Die Miete ist angemessen.",
			wantStatus: memo.StatusVerified, wantSources: []int{1}, wantNorms: []string{"§ 19 WoGG"},
		},
		{
			name: "a conclusion naming a norm needs no marker", key: memo.SectionErgebnis,
			text:       "Wohngeld ist nach § 19 WoGG zu bewilligen.",
			wantStatus: memo.StatusVerified, wantNorms: []string{"§ 19 WoGG"},
		},
		{
			name: "marker lists, chains and ranges resolve each source", key: memo.SectionSachverhalt,
			text:       "Die Familie wohnt in Dresden [1, 3]. Die Miete ist belegt [1][2]. Alles zusammen [1–4].",
			wantStatus: memo.StatusVerified, wantSources: []int{1, 2, 3, 4},
		},
		{
			name: "an absurd marker range is out of range as a whole", key: memo.SectionSachverhalt,
			text:       "Siehe die Akte [1-999999].",
			wantStatus: memo.StatusFailed, wantKinds: []memo.FindingKind{memo.FindingMarkerOutOfRange},
		},
		{
			name: "an empty section is unverified", key: memo.SectionVerfuegung,
			text: "", wantStatus: memo.StatusUnverified,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []memo.Section{{Key: tt.key, Title: memo.SectionTitles[tt.key], Text: tt.text}}
			got, sum, err := verify.Check(context.Background(), in, testSources(), newFakeNorms())
			if err != nil {
				t.Fatal(err)
			}
			s := got[0]
			if s.Status != tt.wantStatus {
				t.Errorf("status %q, want %q; findings %+v", s.Status, tt.wantStatus, s.Findings)
			}
			var kinds []memo.FindingKind
			for _, f := range s.Findings {
				if len(kinds) == 0 || kinds[len(kinds)-1] != f.Kind {
					kinds = append(kinds, f.Kind)
				}
				if f.Section != tt.key || f.Message == "" || (f.Severity != "error" && f.Severity != "warning") {
					t.Errorf("malformed finding %+v", f)
				}
			}
			if diff := cmp.Diff(tt.wantKinds, kinds); diff != "" {
				t.Errorf("finding kinds (-want +got):\n%s\nfindings: %+v", diff, s.Findings)
			}
			if tt.wantMessage != "" && !hasMessage(s.Findings, tt.wantMessage) {
				t.Errorf("no finding says %q: %+v", tt.wantMessage, s.Findings)
			}
			if diff := cmp.Diff(tt.wantSources, s.Sources); diff != "" {
				t.Errorf("sources (-want +got):\n%s", diff)
			}
			var norms []string
			for _, c := range s.Citations {
				if c.Norm != "" {
					norms = append(norms, c.Norm)
				}
			}
			if diff := cmp.Diff(tt.wantNorms, norms); diff != "" {
				t.Errorf("norm citations (-want +got):\n%s", diff)
			}
			if sum.Status != tt.wantStatus || sum.Findings != len(s.Findings) {
				t.Errorf("summary %+v disagrees with the section", sum)
			}
			if in[0].Status != "" || in[0].Findings != nil {
				t.Error("Check modified its input")
			}
		})
	}
}

func hasMessage(fs []memo.Finding, msg string) bool {
	for _, f := range fs {
		if f.Message == msg {
			return true
		}
	}
	return false
}

func TestCheckMemoStatus(t *testing.T) {
	verified := memo.Section{Key: memo.SectionWuerdigung, Text: "Nach § 19 WoGG [1]."}
	warned := memo.Section{Key: memo.SectionWuerdigung, Text: "Nach § 20 WoGG [1]."}
	failed := memo.Section{Key: memo.SectionSachverhalt, Text: "Siehe [9]."}
	empty := memo.Section{Key: memo.SectionVerfuegung, Text: "z.d.A."}
	tests := []struct {
		name     string
		sections []memo.Section
		want     memo.Status
	}{
		{"an unverified section does not lower a verified memo", []memo.Section{verified, empty}, memo.StatusVerified},
		{"a memo with only unverified sections is unverified", []memo.Section{empty, empty}, memo.StatusUnverified},
		{"a warning makes the memo warnings", []memo.Section{verified, warned, empty}, memo.StatusWarnings},
		{"a failed section fails the memo", []memo.Section{verified, warned, failed}, memo.StatusFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, sum, err := verify.Check(context.Background(), tt.sections, testSources(), newFakeNorms())
			if err != nil {
				t.Fatal(err)
			}
			if sum.Status != tt.want {
				t.Errorf("memo status %q, want %q (%+v)", sum.Status, tt.want, sum)
			}
		})
	}
}

func TestCheckSummaryCountsAndEvents(t *testing.T) {
	sections := []memo.Section{
		{Key: memo.SectionSachverhalt, Text: "Die Familie wohnt in Dresden [3]."},
		{Key: memo.SectionWuerdigung, Text: "Nach § 19 WoGG [1] und § 99 WoGG [9]."},
	}
	norms := newFakeNorms()
	got, sum, err := verify.Check(context.Background(), sections, testSources(), norms)
	if err != nil {
		t.Fatal(err)
	}
	// Citations: [3]; [1], [9], § 19 WoGG, § 99 WoGG.
	want := memo.Verification{Status: memo.StatusFailed, Checked: 5, Verified: 3, Findings: 2,
		ByKind: map[string]int{"marker_out_of_range": 1, "unknown_norm": 1}}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	events := verify.Events(got)
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
		if e.Section == "" || (e.Type == "citation") != (e.Citation != nil) || (e.Type == "warning") != (e.Finding != nil) {
			t.Errorf("malformed event %+v", e)
		}
	}
	wantTypes := []string{"citation", "citation", "citation", "citation", "citation", "warning", "warning"}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Errorf("event types (-want +got):\n%s", diff)
	}
	if norms.calls != 2 {
		t.Errorf("%d lookups for 2 distinct norms", norms.calls)
	}
}

func TestCheckReturnsErrors(t *testing.T) {
	norms := newFakeNorms()
	norms.err = assist.Errorf(assist.Unavailable, "local search", "index closed")
	_, _, err := verify.Check(context.Background(), []memo.Section{{Key: memo.SectionWuerdigung, Text: "§ 19 WoGG [1]"}}, testSources(), norms)
	if assist.KindOf(err) != assist.Unavailable {
		t.Errorf("error %v, want kind unavailable", err)
	}
	huge := strings.Repeat("„Das ist ein Zitat“ [1]. ", verify.MaxSectionBytes/20)
	_, _, err = verify.Check(context.Background(), []memo.Section{{Key: memo.SectionWuerdigung, Text: huge}}, testSources(), newFakeNorms())
	if assist.KindOf(err) != assist.TooLarge || !strings.Contains(assist.Message(err), "wuerdigung") {
		t.Errorf("error %v, want too_large naming the section", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = verify.Check(ctx, []memo.Section{{Key: memo.SectionWuerdigung, Text: "x"}}, testSources(), newFakeNorms())
	if !errors.Is(err, context.Canceled) || assist.KindOf(err) != assist.Canceled {
		t.Errorf("error %v, want canceled", err)
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"„Das ungerundete monatliche Wohngeld“ [1]", "[1–3] § 19 [0] [", "»a b c d« [99999999]", "\"x y z w\"", "§§ 1 bis 2 SGB XIV. [1,,2]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, sum, err := verify.Check(context.Background(), []memo.Section{{Key: memo.SectionWuerdigung, Text: text}}, testSources(), newFakeNorms())
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Status == "" || sum.Status == "" {
			t.Fatalf("no status for %q", text)
		}
	})
}

func TestNormsInsideAQuotationBelongToTheQuotedSource(t *testing.T) {
	norms := newFakeNorms()
	norms.known[verify.LawKey("WoGG")+"|"+verify.SectionKey("§ 8")] = true
	sources := []memo.Source{{N: 1, Citation: "§ 8 Abs. 1 WoGG", Cite: assist.Citation{Law: "WoGG", Section: "§ 8", Paragraph: "1"},
		Text: "(1) Der Ausschluss vom Wohngeld besteht vorbehaltlich des § 7 Abs. 1 Satz 3 Nr. 2 für die Dauer des Verwaltungsverfahrens nach § 99 Abs. 1."}}
	sections := []memo.Section{{Key: memo.SectionWuerdigung, Text: "Nach § 8 Abs. 1 WoGG gilt: „Der Ausschluss vom Wohngeld besteht vorbehaltlich des § 7 Abs. 1 Satz 3 Nr. 2 für die Dauer des Verwaltungsverfahrens nach § 99 Abs. 1.“ [1]"}}
	got, v, err := verify.Check(context.Background(), sections, sources, norms)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Status != memo.StatusVerified || v.Status != memo.StatusVerified {
		t.Fatalf("status %s / %s, findings %+v", got[0].Status, v.Status, got[0].Findings)
	}
}
