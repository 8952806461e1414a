package service_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/triage/service"
)

func TestLoadTaxonomy(t *testing.T) {
	tax := loadTaxonomy(t)
	d, err := tax.Desk("it-service")
	if err != nil {
		t.Fatal(err)
	}
	if !d.HasCategory("Hardware") || !d.HasPriority("hoch") || !slices.Contains(d.SubCategories["Hardware"], "Drucker") {
		t.Errorf("desk = %+v", d)
	}
	if _, err := tax.Desk("kantine"); errKind(err) != assist.NotFound {
		t.Errorf("unknown desk: err = %v", err)
	}
}

func TestLoadTaxonomyRejectsBadFiles(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       assist.Kind
	}{
		{name: "malformed YAML is invalid", yaml: "desks: [", want: assist.Invalid},
		{name: "a file without desks is invalid", yaml: "other: 1", want: assist.Invalid},
		{name: "a desk without categories is invalid", yaml: "desks:\n  a:\n    priorities: [x]", want: assist.Invalid},
		{name: "a repeated label is invalid", yaml: "desks:\n  a:\n    categories: [x, x]", want: assist.Invalid},
		{name: "an empty label is invalid", yaml: "desks:\n  a:\n    categories: [x, '']", want: assist.Invalid},
		{name: "sub-categories of an unknown category are invalid", yaml: "desks:\n  a:\n    categories: [x]\n    subcategories:\n      y: [z]", want: assist.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.yaml")
			os.WriteFile(path, []byte(tt.yaml), 0o600)
			_, err := service.LoadTaxonomy(path)
			if errKind(err) != tt.want || assist.Message(err) == "" {
				t.Errorf("err = %v, want kind %v", err, tt.want)
			}
		})
	}
	t.Run("a missing file is not found", func(t *testing.T) {
		if _, err := service.LoadTaxonomy(filepath.Join(t.TempDir(), "none.yaml")); errKind(err) != assist.NotFound {
			t.Errorf("err = %v", err)
		}
	})
}

func TestLearnTaxonomyFromImportedTickets(t *testing.T) {
	ix := newIndex(t)
	tax, err := service.LearnTaxonomy(context.Background(), ix, "queue", "it-service", "buergerbuero")
	if err != nil {
		t.Fatal(err)
	}
	it, _ := tax.Desk("it-service")
	if !slices.Equal(it.Categories, []string{"Gehalt", "Hardware", "Zugang"}) || !slices.Equal(it.Priorities, []string{"hoch", "mittel", "niedrig"}) {
		t.Errorf("it-service = %+v", it)
	}
	bb, _ := tax.Desk("buergerbuero")
	if !slices.Equal(bb.Categories, []string{"Meldewesen"}) {
		t.Errorf("buergerbuero = %+v", bb)
	}
	if _, err := service.LearnTaxonomy(context.Background(), ix, "queue", "kantine"); errKind(err) != assist.NotFound {
		t.Errorf("desk without tickets: err = %v", err)
	}
	if _, err := service.LearnTaxonomy(context.Background(), ix, "urgency", "it-service"); errKind(err) != assist.Invalid {
		t.Errorf("unknown key: err = %v", err)
	}
}

func TestTaxonomyFromClassifierLabelsWhenNoneIsConfigured(t *testing.T) {
	c, p := classifiers(hardwareLikely, mediumLikely)
	s, err := service.New(service.Config{Index: newIndex(t), Category: c, Priority: p})
	if err != nil {
		t.Fatal(err)
	}
	sug, err := s.Triage(context.Background(), printerTicket)
	if err != nil {
		t.Fatal(err)
	}
	if sug.Category.Label != "Hardware" || sug.Priority.Label != "mittel" {
		t.Errorf("suggestion = %+v", sug)
	}
}
