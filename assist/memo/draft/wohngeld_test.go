package draft_test

import (
	"strings"
	"testing"
	"time"

	"amtsassist/assist/memo"
	"amtsassist/assist/memo/draft"
)

// wohngeldCase is a realistic application, written for these tests: a
// single mother with two children, a rented flat, income from part-time
// work; the clerk asks whether and how much Wohngeld is due.
func wohngeldCase() memo.Request {
	return memo.Request{
		Aktenzeichen: "50.2-WG-2026/0142",
		Betreff:      "Antrag auf Wohngeld (Mietzuschuss), Frau Anna Beispiel",
		Type:         memo.Aktenvermerk,
		Facts: "Frau Anna Beispiel (38) hat am 2. März 2026 Wohngeld als Mietzuschuss beantragt. " +
			"Sie bewohnt mit ihren beiden Kindern (7 und 12 Jahre) eine gemietete Wohnung in Dresden (78 m²), die sie selbst nutzt. " +
			"Die monatliche Miete ohne Heizkosten beträgt 720 Euro, die Heizkosten 110 Euro. " +
			"Sie erzielt aus einer Teilzeitbeschäftigung ein monatliches Bruttoeinkommen von 2.100 Euro; für die Kinder wird Unterhaltsvorschuss von 230 Euro gezahlt. " +
			"Leistungen nach dem SGB II oder SGB XII werden nicht bezogen.",
		Instructions: "Bitte prüfen: Ist Frau Beispiel wohngeldberechtigt, wer sind die zu berücksichtigenden Haushaltsmitglieder, und wie hoch ist das monatliche Wohngeld?",
		Authority:    "Landeshauptstadt Dresden",
		Author:       "Sachgebiet Wohngeld",
	}
}

func TestWohngeldCaseExtractiveQuotesEntitlementAndAmount(t *testing.T) {
	ix := federalIndex(t)
	st, err := draft.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := draft.New(draft.Config{Index: ix, Store: st, Now: func() time.Time { return time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	req := wohngeldCase()
	req.Extractive = true
	job, err := svc.Prepare(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	m, err := job.Run(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var w memo.Section
	for _, s := range m.Sections {
		if s.Key == memo.SectionWuerdigung {
			w = s
		}
	}
	t.Logf("Würdigung (status %s):\n%s", w.Status, w.Text)
	for _, s := range m.Sources {
		t.Logf("[%d] %s (%s)", s.N, s.Citation, s.ChunkID)
	}
	t.Logf("verification %+v", m.Verification)
	for _, f := range w.Findings {
		t.Logf("finding %s %s: %s", f.Severity, f.Kind, f.Message)
	}
	// The entitlement (§ 3) and the amount (§ 19) must be quoted, each
	// with a citation that resolves to a WoGG source and verifies.
	for _, want := range []string{"§ 3", "§ 19"} {
		found := false
		for _, s := range m.Sources {
			if s.DocID != "WoGG" || s.Cite.Section != want || !strings.Contains(w.Text, s.Citation) {
				continue
			}
			for _, c := range w.Citations {
				if c.Marker == s.N && c.Source == s.N && c.Status == memo.StatusVerified {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("Würdigung does not quote %s WoGG with a verified citation", want)
		}
	}
	// Every quote is verbatim and every norm in the memo's own words is
	// among the sources: an extractive memo verifies completely.
	if m.Verification.Status != memo.StatusVerified || len(w.Findings) != 0 {
		t.Errorf("extractive memo not fully verified: %+v, findings %+v", m.Verification, w.Findings)
	}
	if m.Mode != memo.ModeExtractive || m.Mark != memo.DraftMark {
		t.Errorf("mode %s mark %q", m.Mode, m.Mark)
	}
}
