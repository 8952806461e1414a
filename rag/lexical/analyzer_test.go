package lexical_test

import (
	"slices"
	"testing"

	"amtsassist/rag/lexical"
)

func TestGermanTerms(t *testing.T) {
	a := lexical.German()
	tests := []struct {
		name string
		text string
		want []string // every one must be among the terms
		not  []string // none may be among the terms
	}{
		{"umlaut and its transcription give the same term", "Behörde Behoerde", nil, nil},
		{"a paragraph sign and its number form one exact term", "nach § 19 WoGG", []string{"§19", "19", "WoGG", "wogg"}, nil},
		{"a paragraph with a letter suffix stays whole", "§ 573b BGB", []string{"§573b", "BGB", "bgb"}, []string{"§573"}},
		{"a list of paragraphs gives one term per number", "§§ 28, 35 und 36 VwVfG", []string{"§28", "§35", "§36", "VwVfG"}, nil},
		{"an article reference gives an exact term", "Art. 3 GG", []string{"art3", "3"}, nil},
		{"an Absatz reference gives an exact term", "Abs. 1 Satz 2", []string{"abs1", "satz2"}, nil},
		{"a paragraph with its Absatz gives a combined term", "§ 19 Abs. 1 WoGG", []string{"§19", "abs1", "§19abs1"}, nil},
		{"an article with its Absatz gives a combined term", "Art. 3 Absatz 2 GG", []string{"art3", "art3abs2"}, nil},
		{"a spelled-out paragraph is the paragraph sign", "Paragraph 573b BGB", []string{"§573b"}, nil},
		{"an Aktenzeichen is kept whole and by its number", "- 11 Sa 2346/12 -", []string{"11sa2346/12", "2346/12"}, nil},
		{"a file number with dashes stays whole", "Az. 123-45/2024", []string{"123-45/2024"}, nil},
		{"a numeric date is normalised", "am 01.02.2024", []string{"2024-02-01"}, nil},
		{"a written date is normalised", "vom 2. April 2013", []string{"2013-04-02"}, nil},
		{"a Saxon law abbreviation is kept whole", "SächsVwVfZG", []string{"SächsVwVfZG", "sachsvwvfzg"}, nil},
		{"stop words are dropped", "die und der", nil, []string{"die", "und", "der"}},
		{"paragraph numbers glued to words are split off", "Tatbestand1Die Parteien", []string{"1", "partei"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := a.Terms(tc.text)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("Terms(%q) = %q, missing %q", tc.text, got, w)
				}
			}
			for _, w := range tc.not {
				if slices.Contains(got, w) {
					t.Errorf("Terms(%q) = %q, must not contain %q", tc.text, got, w)
				}
			}
		})
	}
}

func TestGermanFoldsSpellingVariants(t *testing.T) {
	a := lexical.German()
	pairs := [][2]string{
		{"Behörde", "Behoerde"},
		{"Straße", "Strasse"},
		{"Behörden", "behörde"},
		{"Wohngeldes", "Wohngeld"},
		{"GRÜNDE", "Gründe"},
	}
	for _, p := range pairs {
		t.Run(p[0]+" matches "+p[1], func(t *testing.T) {
			x, y := a.Terms(p[0]), a.Terms(p[1])
			if len(x) != 1 || len(y) != 1 || x[0] != y[0] {
				t.Errorf("Terms(%q) = %q, Terms(%q) = %q: want one equal term", p[0], x, p[1], y)
			}
		})
	}
}

func TestGermanHandlesEmptyAndHostileInput(t *testing.T) {
	a := lexical.German()
	for _, text := range []string{"", "   ", "§", "§§ ,", "\xff\xfe", "1.", "2. April", "Abs.", "Art"} {
		t.Run("input "+text+" does not panic", func(t *testing.T) {
			_ = a.Terms(text)
		})
	}
}
