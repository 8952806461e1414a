package verify_test

import (
	"context"
	"fmt"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/verify"
)

// benchMemo is a realistic memo: four sections, ten sources (nine norms
// and a case document), about 2 KB of text with markers, norms and quotes.
func benchMemo() ([]memo.Section, []memo.Source) {
	var sources []memo.Source
	for i, sec := range []string{"§ 3", "§ 4", "§ 5", "§ 6", "§ 7", "§ 14", "§ 19", "§ 20", "Anlage 2"} {
		sources = append(sources, memo.Source{N: i + 1, Corpus: assist.CorpusRegulations, Cite: assist.Citation{Law: "WoGG", Section: sec},
			Text: fmt.Sprintf("%s WoGG Überschrift\n\n(1) Das ungerundete monatliche Wohngeld für bis zu zwölf zu berück-\nsichtigende Haushaltsmitglieder beträgt nach %s einen Betrag, der sich aus der Anlage ergibt. (2) Die zur Berechnung des Wohngeldes erforderlichen Rechenschritte und Rundungen sind in der Reihenfolge auszuführen, die sich aus der Anlage 3 ergibt.", sec, sec)})
	}
	sources = append(sources, memo.Source{N: 10, Corpus: assist.CorpusCases, Cite: assist.Citation{Document: "antrag.pdf", Page: 1},
		Text: "Frau M. lebt mit ihren zwei Kindern in einer Mietwohnung in Leipzig. Die Bruttokaltmiete beträgt 780 Euro monatlich."})
	sections := []memo.Section{
		{Key: memo.SectionSachverhalt, Text: "Frau M. beantragt am 2. Februar Wohngeld für sich und ihre zwei Kinder [10]. Sie bewohnt eine Mietwohnung in Leipzig; „die Bruttokaltmiete beträgt 780 Euro monatlich“ [10]. Das Einkommen ist durch Verdienstbescheinigungen belegt [10]."},
		{Key: memo.SectionWuerdigung, Text: "Wohngeldberechtigt ist nach § 3 Abs. 1 WoGG die Antragstellerin [1]. Zu berücksichtigende Haushaltsmitglieder sind nach §§ 5, 6 WoGG die Antragstellerin und ihre Kinder [3, 4]. " +
			"Ein Ausschluss nach § 7 WoGG liegt nicht vor [5]. Das Jahreseinkommen ist nach § 14 WoGG zu ermitteln [6]. Die Höhe ergibt sich aus § 19 Abs. 1 WoGG: „Das ungerundete monatliche Wohngeld für bis zu zwölf zu berücksichtigende Haushaltsmitglieder beträgt“ [7]. " +
			"Die Werte a, b und c folgen aus Anlage 2 WoGG [9]. Nach § 19 Abs. 2 i.V.m. Anlage 3 WoGG sind die Rechenschritte einzuhalten [7][8]. Ein Zuschlag nach § 99 WoGG kommt nicht in Betracht [12]."},
		{Key: memo.SectionErgebnis, Text: "Dem Antrag ist nach § 4 WoGG dem Grunde nach stattzugeben [2]; die Höhe ist nach § 19 WoGG zu berechnen."},
		{Key: memo.SectionVerfuegung, Text: "1. Bescheid fertigen.\n2. Wv. am 15.03.\n3. z.d.A."},
	}
	return sections, sources
}

// BenchmarkCheck measures verification alone, without index lookups.
func BenchmarkCheck(b *testing.B) {
	sections, sources := benchMemo()
	norms := newFakeNorms()
	for _, s := range []string{"§ 3", "§ 4", "§ 5", "§ 6", "§ 7", "§ 14", "Anlage 3"} {
		norms.known[verify.LawKey("WoGG")+"|"+verify.SectionKey(s)] = true
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := verify.Check(ctx, sections, sources, norms); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckIndexNorms measures verification with IndexNorms on the
// federal laws index: cached (one IndexNorms for the whole run, as a
// service holds it) and uncached (a new one per memo: every norm is a
// search).
func BenchmarkCheckIndexNorms(b *testing.B) {
	ix := lawIndex(b)
	sections, sources := benchMemo()
	ctx := context.Background()
	b.Run("cached", func(b *testing.B) {
		norms := verify.IndexNorms(ix)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := verify.Check(ctx, sections, sources, norms); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := verify.Check(ctx, sections, sources, verify.IndexNorms(ix)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParseNorms measures norm parsing on the Würdigung of benchMemo.
func BenchmarkParseNorms(b *testing.B) {
	sections, _ := benchMemo()
	text := sections[1].Text
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		verify.ParseNorms(text)
	}
}
