package local

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestQueryCitationKeys(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"§ 19 WoGG", []string{"§19|wogg"}},
		{"§19 WoGG", []string{"§19|wogg"}},
		{"Was regelt § 28 Abs. 1 Satz 2 VwVfG genau?", []string{"§28|vwvfg"}},
		{"Art. 3 GG und Artikel 20 GG", []string{"art3|gg", "art20|gg"}},
		{"Anlage 2 WoGG", []string{"anlage2|wogg"}},
		{"§ 42b WoGG", []string{"§42b|wogg"}},
		{"§ 29 SGB 1", []string{"§29|sgb1", "§29|sgb"}},
		{"§ 19", nil},
		{"Wohngeld Höhe", nil},
		{"", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, queryCitationKeys(tc.query), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("queryCitationKeys(%q) mismatch (-want +got):\n%s", tc.query, diff)
			}
		})
	}
	for _, c := range []struct{ section, law, want string }{
		{"§ 19", "WoGG", "§19|wogg"},
		{"Art. 3", "GG", "art3|gg"},
		{"Anlage 2", "WoGG", "anlage2|wogg"},
		{"§ 29", "SGB 1", "§29|sgb1"},
		{"", "WoGG", ""},
	} {
		if got := citationKey(c.section, c.law); got != c.want {
			t.Errorf("citationKey(%q, %q) = %q, want %q", c.section, c.law, got, c.want)
		}
	}
}
