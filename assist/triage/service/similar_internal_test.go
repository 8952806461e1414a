package service

import (
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/rag"
)

func TestSimilarDeduplicatesAndWeighsRecency(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	s, err := New(Config{Index: nilIndex{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	hit := func(id, text, created string, score float64) rag.Hit {
		return rag.Hit{Score: score, Chunk: assist.Chunk{DocID: "ticket:" + id, Text: text,
			Meta: map[string]string{"answer": "Antwort " + id, "created": created}}}
	}
	tests := []struct {
		name string
		hits []rag.Hit
		want []string
	}{
		{name: "generic equal subjects with different texts are both kept",
			hits: []rag.Hit{hit("a", "Frage\n\nWie beantrage ich Urlaub im Portal?", "2026-05-01", 1), hit("b", "Frage\n\nDer Monitor flackert seit gestern.", "2026-05-01", 0.9)},
			want: []string{"a", "b"}},
		{name: "a reply to the same ticket is a duplicate",
			hits: []rag.Hit{hit("a", "Drucker defekt\n\nDer Drucker im Raum 3 druckt nicht mehr.", "2026-05-01", 1), hit("b", "AW: Drucker defekt!\n\nDer Drucker im Raum 3 druckt nicht mehr, bitte.", "2026-05-01", 0.9)},
			want: []string{"a"}},
		{name: "an old ticket sinks below a slightly less relevant recent one",
			hits: []rag.Hit{hit("old", "VPN geht nicht\n\nalt", "2016-05-01", 1), hit("new", "VPN Verbindung bricht ab\n\nneu", "2026-05-20", 0.8)},
			want: []string{"new", "old"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, sim := range s.similar(tt.hits, 5) {
				got = append(got, sim.ID)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// nilIndex satisfies rag.Index for tests that never search.
type nilIndex struct{ rag.Index }
