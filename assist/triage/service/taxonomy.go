package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"amtsassist/assist"
	"amtsassist/rag"
)

// Desk is the taxonomy of one service desk: the labels a suggestion may
// carry. Categories are the queues tickets are routed to.
type Desk struct {
	Categories []string `yaml:"categories"`
	Priorities []string `yaml:"priorities"`
	// SubCategories lists, per category, its optional sub-categories.
	SubCategories map[string][]string `yaml:"subcategories,omitempty"`
}

// HasCategory reports whether label is a category of d.
func (d Desk) HasCategory(label string) bool { return slices.Contains(d.Categories, label) }

// HasPriority reports whether label is a priority of d.
func (d Desk) HasPriority(label string) bool { return slices.Contains(d.Priorities, label) }

// Taxonomy holds the allowed labels of every service desk. A suggestion
// never carries a label outside its desk's taxonomy (Zammad once applied
// one: their bug #5879).
type Taxonomy struct {
	Desks map[string]Desk `yaml:"desks"`
}

// Desk returns the taxonomy of desk, or NotFound.
func (t *Taxonomy) Desk(desk string) (Desk, error) {
	if t != nil {
		if d, ok := t.Desks[desk]; ok {
			return d, nil
		}
	}
	return Desk{}, assist.Errorf(assist.NotFound, "taxonomy", "unknown service desk %q", desk)
}

// maxTaxonomyBytes bounds a taxonomy file; real ones are a few KB.
const maxTaxonomyBytes = 4 << 20

// LoadTaxonomy reads a taxonomy from a YAML file (see
// testdata/taxonomy.yaml for the format). It returns NotFound for a
// missing file and Invalid, naming the problem, for malformed YAML, a desk
// without categories, empty or repeated labels, or sub-categories of an
// unknown category.
func LoadTaxonomy(path string) (*Taxonomy, error) {
	const op = "load taxonomy"
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &assist.Error{Op: op, Kind: assist.NotFound, Msg: fmt.Sprintf("taxonomy file %s does not exist", path), Err: err}
	}
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot read taxonomy file %s", path), Err: err}
	}
	if st.Size() > maxTaxonomyBytes {
		return nil, assist.Errorf(assist.TooLarge, op, "taxonomy file %s is larger than %d bytes", path, maxTaxonomyBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot read taxonomy file %s", path), Err: err}
	}
	return ParseTaxonomy(data)
}

// ParseTaxonomy parses the YAML of LoadTaxonomy.
func ParseTaxonomy(data []byte) (*Taxonomy, error) {
	const op = "parse taxonomy"
	var t Taxonomy
	if err := yaml.Unmarshal(data, &t); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "malformed taxonomy YAML: " + firstLine(err.Error()), Err: err}
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (t *Taxonomy) validate() error {
	const op = "taxonomy"
	if len(t.Desks) == 0 {
		return assist.Errorf(assist.Invalid, op, "taxonomy defines no desks (expected a top-level \"desks:\" map)")
	}
	for name, d := range t.Desks {
		if strings.TrimSpace(name) == "" {
			return assist.Errorf(assist.Invalid, op, "a desk has an empty name")
		}
		if len(d.Categories) == 0 {
			return assist.Errorf(assist.Invalid, op, "desk %q has no categories", name)
		}
		if err := checkLabels(name, "category", d.Categories); err != nil {
			return err
		}
		if err := checkLabels(name, "priority", d.Priorities); err != nil {
			return err
		}
		for cat, subs := range d.SubCategories {
			if !d.HasCategory(cat) {
				return assist.Errorf(assist.Invalid, op, "desk %q: sub-categories given for unknown category %q", name, cat)
			}
			if err := checkLabels(name, "sub-category of "+cat, subs); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkLabels(desk, what string, labels []string) error {
	seen := map[string]bool{}
	for _, l := range labels {
		if strings.TrimSpace(l) == "" {
			return assist.Errorf(assist.Invalid, "taxonomy", "desk %q: empty %s label", desk, what)
		}
		if seen[l] {
			return assist.Errorf(assist.Invalid, "taxonomy", "desk %q: %s label %q appears twice", desk, what, l)
		}
		seen[l] = true
	}
	return nil
}

// DeskFromLabels builds a desk taxonomy from the labels of trained
// classifiers (either may be nil).
func DeskFromLabels(category, priority Classifier) Desk {
	var d Desk
	if category != nil {
		d.Categories = slices.Clone(category.Labels())
	}
	if priority != nil {
		d.Priorities = slices.Clone(priority.Labels())
	}
	return d
}

// LearnTaxonomy learns the taxonomy of the given desks from the labels of
// their imported tickets (corpus "tickets", Authority = desk): categories
// from Meta[categoryKey] ("category" or "queue"), priorities from
// Meta["priority"]. Labels are sorted. It returns Invalid for no desks or
// an unknown key and NotFound when a desk has no labelled tickets.
func LearnTaxonomy(ctx context.Context, ix rag.Index, categoryKey string, desks ...string) (*Taxonomy, error) {
	const op = "learn taxonomy"
	if categoryKey != "category" && categoryKey != "queue" {
		return nil, assist.Errorf(assist.Invalid, op, "unknown category field %q (valid: category, queue)", categoryKey)
	}
	if len(desks) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "no desks given")
	}
	t := &Taxonomy{Desks: map[string]Desk{}}
	for _, desk := range desks {
		infos, err := ix.Documents(ctx, rag.Filter{Corpus: []assist.Corpus{assist.CorpusTickets}, Authority: []string{desk}})
		if err != nil {
			return nil, err
		}
		cats, prios := map[string]bool{}, map[string]bool{}
		for _, info := range infos {
			if v := strings.TrimSpace(info.Meta[categoryKey]); v != "" {
				cats[v] = true
			}
			if v := strings.TrimSpace(info.Meta["priority"]); v != "" {
				prios[v] = true
			}
		}
		if len(cats) == 0 {
			return nil, assist.Errorf(assist.NotFound, op, "desk %q has no tickets labelled with %q", desk, categoryKey)
		}
		t.Desks[desk] = Desk{Categories: sortedKeys(cats), Priorities: sortedKeys(prios)}
	}
	return t, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
