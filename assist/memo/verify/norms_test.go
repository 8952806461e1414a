package verify_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist/memo/verify"
)

func TestParseNorms(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // Norm.String() of every norm, in order
	}{
		{"a § with Absatz and law is one norm", "nach § 19 Abs. 1 WoGG gilt", []string{"§ 19 Abs. 1 WoGG"}},
		{"spelled-out Absatz and Satz are normalised", "§ 19 Absatz 1 Satz 2 WoGG", []string{"§ 19 Abs. 1 Satz 2 WoGG"}},
		{"a list of §§ yields one norm per §", "gemäß §§ 28, 35 VwVfG", []string{"§ 28 VwVfG", "§ 35 VwVfG"}},
		{"a range yields its endpoints", "die §§ 9 bis 11 WoGG", []string{"§ 9 WoGG", "§ 11 WoGG"}},
		{"a Nummer and a Roman SGB book are read", "§ 2 Abs. 1 Nr. 3 SGB X", []string{"§ 2 Abs. 1 Nr. 3 SGB X"}},
		{"a book in Roman numerals is kept as written", "§ 35 SGB I", []string{"§ 35 SGB I"}},
		{"a book in Arabic numerals is read", "§ 35 SGB 10", []string{"§ 35 SGB 10"}},
		{"an article of the Grundgesetz is read", "Art. 3 GG", []string{"Art. 3 GG"}},
		{"an article with Absatz is read", "Art. 3 Abs. 1 GG", []string{"Art. 3 Abs. 1 GG"}},
		{"a Saxon abbreviation with umlaut is read", "§ 4 SächsVwVfZG", []string{"§ 4 SächsVwVfZG"}},
		{"i.V.m. joins two explicit norms", "§ 19 WoGG i.V.m. § 17 WoGG", []string{"§ 19 WoGG", "§ 17 WoGG"}},
		{"a law named by title is kept as title", "nach § 19 des Wohngeldgesetzes", []string{"§ 19 Wohngeldgesetzes"}},
		{"a multi-word title is kept", "§ 35 des Zehnten Buches Sozialgesetzbuch", []string{"§ 35 Zehnten Buches Sozialgesetzbuch"}},
		{"a bare § takes the preceding law", "Nach § 19 WoGG gilt dies. Ferner regelt § 20 die Ausnahmen.", []string{"§ 19 WoGG", "§ 20 WoGG"}},
		{"a bare § joined by i.V.m. takes the following law", "§ 19 Abs. 1 i.V.m. § 17 WoGG", []string{"§ 19 Abs. 1 WoGG", "§ 17 WoGG"}},
		{"a bare § without context stays unresolved", "Nach § 19 gilt das.", []string{"§ 19"}},
		{"an Anlage is read", "Anlage 2 WoGG", []string{"Anlage 2 WoGG"}},
		{"an Absatz list keeps the first Absatz", "§ 19 Abs. 1 und 2 WoGG", []string{"§ 19 Abs. 1 WoGG"}},
		{"a lettered § is read", "§ 15a BAföG", []string{"§ 15a BAföG"}},
		{"a word after a § is not a law", "§ 19 regelt Die Höhe", []string{"§ 19"}},
		{"no-break spaces count as spaces", "gemäß §\u00a0159 Absatz\u00a01 Nummer\u00a05 SGB\u00a0X", []string{"§ 159 Abs. 1 Nr. 5 SGB X"}},
		{"a hyphenated title is a title, not an abbreviation", "§ 5 des De-Mail-Gesetzes", []string{"§ 5 De-Mail-Gesetzes"}},
		{"a hyphenated compound is not a law", "§ 3 IT-Sicherheit", []string{"§ 3"}},
		{"a title does not run across lines", "§ 26 Inkrafttreten\n\nDiese Verordnung tritt in Kraft.", []string{"§ 26"}},
		{"Artikel is read as Art.", "Artikel 20 Abs. 3 GG", []string{"Art. 20 Abs. 3 GG"}},
		{"a word starting like a prefix is not one", "Die Artikelserie und die Anlagenbuchhaltung", nil},
		{"a § sign without number is ignored", "das §-Zeichen und §§ allein", nil},
		{"text without norms yields none", "Der Antrag ging am 3. März ein.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, n := range verify.ParseNorms(tt.text) {
				got = append(got, n.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseNorms(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestParseNormsOffsetsAndContext(t *testing.T) {
	text := "Gemäß §§ 28, 35 VwVfG und § 19 gilt."
	got := verify.ParseNorms(text)
	if len(got) != 3 {
		t.Fatalf("got %d norms, want 3: %+v", len(got), got)
	}
	for _, n := range got[:2] {
		if n.Raw != "§§ 28, 35 VwVfG" || text[n.Start:n.End] != n.Raw || n.Inferred {
			t.Errorf("list norm %+v: want Raw %q spanning its offsets, not inferred", n, "§§ 28, 35 VwVfG")
		}
	}
	if n := got[2]; n.Law != "VwVfG" || !n.Inferred || n.Raw != "§ 19" {
		t.Errorf("bare norm %+v: want law VwVfG inferred from the preceding reference", n)
	}
}

func TestLawKeyEqualsRomanAndArabicBooks(t *testing.T) {
	tests := []struct{ a, b string }{
		{"SGB X", "SGB 10"}, {"SGB I", "SGB 1"}, {"SGB X", "sgb10"}, {"WoGG", "WOGG"},
	}
	for _, tt := range tests {
		t.Run(tt.a+" equals "+tt.b, func(t *testing.T) {
			if verify.LawKey(tt.a) != verify.LawKey(tt.b) {
				t.Errorf("LawKey(%q)=%q, LawKey(%q)=%q", tt.a, verify.LawKey(tt.a), tt.b, verify.LawKey(tt.b))
			}
		})
	}
	if verify.LawKey("SGB I") == verify.LawKey("SGB 10") {
		t.Error("SGB I must differ from SGB 10")
	}
}

func FuzzParseNorms(f *testing.F) {
	for _, s := range []string{"§§ 28, 35 VwVfG", "§ 19 Abs. 1 i.V.m. § 17 WoGG", "Art. 3 GG", "§§ 1 bis 99999", "§ 35 des Zehnten Buches Sozialgesetzbuch", "\xff§"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, n := range verify.ParseNorms(text) {
			if n.Start < 0 || n.End > len(text) || n.Start > n.End || text[n.Start:n.End] != n.Raw {
				t.Fatalf("norm %+v has offsets outside %q", n, text)
			}
		}
	})
}
