package verify

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/german"

	"amtsassist/assist"
	"amtsassist/rag"
)

// Norms tells whether a provision exists in the laws the service knows.
type Norms interface {
	// Exists reports whether n (resolved: Law set) names a provision of an
	// indexed law. A norm without Law is Invalid. Errors of the underlying
	// store are returned as they are (Unavailable, Timeout, Canceled).
	Exists(ctx context.Context, n Norm) (bool, error)
}

// TitleResolver is implemented by Norms that can map a law's title as
// written in prose ("Wohngeldgesetzes", "Zehnten Buches Sozialgesetzbuch")
// to the abbreviation the index uses. Check uses it when present.
type TitleResolver interface {
	// LawByTitle returns the abbreviation of the law titled title, and
	// false when no indexed law has that title.
	LawByTitle(ctx context.Context, title string) (string, bool, error)
}

// searchDepth is how many hits one existence lookup reads. The embedded
// index puts the chunks of a provision named exactly in the query first,
// so the provision's chunks (one per Absatz at most) are within it; when
// all of them are the provision, it reads deepSearchDepth to see every
// Absatz of a long one.
const (
	searchDepth     = 20
	deepSearchDepth = 200
)

// maxCachedSections bounds the lookup cache; the ten federal laws have
// about 1,200 provisions.
const maxCachedSections = 20000

// IndexNorms returns Norms backed by ix: a lexical search for "§ 19 WoGG"
// restricted to the regulations corpus, whose hits must carry that law and
// section exactly (after LawKey/SectionKey normalisation; the other
// Sozialgesetzbuch spelling is tried too). Results, also negative ones,
// are cached for the life of the value: laws change by re-ingest, which is
// rare, and a new value is cheap. An Absatz is checked when the norm names
// one: it exists when a chunk of the section carries it as its Paragraph
// or the section's text has "(n)". Repealed provisions ("(weggefallen)")
// do not exist. Safe for concurrent use.
func IndexNorms(ix rag.Index) Norms {
	return &indexNorms{ix: ix, sections: map[string]*sectionInfo{}}
}

type indexNorms struct {
	ix rag.Index

	mu       sync.Mutex
	sections map[string]*sectionInfo // LawKey|SectionKey → what the index holds

	titles []lawTitle // nil until listed; a failed listing is retried
}

// sectionInfo is what the index holds of one provision.
type sectionInfo struct {
	exists     bool
	paragraphs map[string]bool // Absätze, from chunk citations and "(n)" in the text
}

type lawTitle struct {
	law   string
	words []string // stemmed words of the title
}

var absatzRe = regexp.MustCompile(`(?m)(?:^|\s)\((\d{1,3}[a-z]?)\)\s`)

func (x *indexNorms) Exists(ctx context.Context, n Norm) (bool, error) {
	if n.Law == "" || n.Section == "" {
		return false, assist.Errorf(assist.Invalid, "verify norm", "norm %q names no law", n.Raw)
	}
	info, err := x.section(ctx, n.Law, n.Section)
	if err != nil || !info.exists {
		return false, err
	}
	if n.Paragraph == "" || info.paragraphs[n.Paragraph] {
		return true, nil
	}
	// A § without numbered Absätze is commonly cited as "Abs. 1".
	return len(info.paragraphs) == 0 && n.Paragraph == "1", nil
}

func (x *indexNorms) section(ctx context.Context, law, section string) (*sectionInfo, error) {
	key := LawKey(law) + "|" + SectionKey(section)
	x.mu.Lock()
	info, ok := x.sections[key]
	x.mu.Unlock()
	if ok {
		return info, nil
	}
	info = &sectionInfo{paragraphs: map[string]bool{}}
	laws := []string{law}
	if alt := altLaw(law); alt != "" {
		laws = append(laws, alt)
	}
	lawKey, secKey := LawKey(law), SectionKey(section)
	for _, l := range laws {
		q := rag.Query{
			Text: section + " " + l, Mode: rag.ModeLexical, K: searchDepth,
			Filter: rag.Filter{Corpus: []assist.Corpus{assist.CorpusRegulations}},
		}
		hits, err := x.ix.Search(ctx, q)
		if err == nil && len(hits) == q.K && matches(hits[len(hits)-1], lawKey, secKey) {
			q.K = deepSearchDepth
			hits, err = x.ix.Search(ctx, q)
		}
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			if !matches(h, lawKey, secKey) || h.Chunk.Meta["repealed"] == "true" {
				continue
			}
			c := h.Chunk.Citation
			info.exists = true
			if c.Paragraph != "" {
				info.paragraphs[c.Paragraph] = true
			}
			for _, m := range absatzRe.FindAllStringSubmatch(h.Chunk.Text, -1) {
				info.paragraphs[m[1]] = true
			}
		}
		if info.exists {
			break
		}
	}
	x.mu.Lock()
	if len(x.sections) >= maxCachedSections {
		// Model output decides what is looked up; a bounded cache keeps a
		// stream of invented references from growing it without end.
		clear(x.sections)
	}
	x.sections[key] = info
	x.mu.Unlock()
	return info, nil
}

func matches(h rag.Hit, lawKey, secKey string) bool {
	return LawKey(h.Chunk.Citation.Law) == lawKey && SectionKey(h.Chunk.Citation.Section) == secKey
}

// LawByTitle matches the stemmed words of title against the titles of the
// indexed regulations: every written word must be in the document title
// ("Zehnten Buches Sozialgesetzbuch" → "Zehntes Buch Sozialgesetzbuch -
// Sozialverwaltungsverfahren …", "Ersten Buches Sozialgesetzbuch" →
// "Sozialgesetzbuch (SGB) Erstes Buch (I) …"), and only one law may match:
// an ambiguous title stays unresolved.
func (x *indexNorms) LawByTitle(ctx context.Context, title string) (string, bool, error) {
	titles, err := x.lawTitles(ctx)
	if err != nil {
		return "", false, err
	}
	want := titleWords(title)
	if len(want) == 0 {
		return "", false, nil
	}
	found := ""
	for _, t := range titles {
		if !containsWords(t.words, want) {
			continue
		}
		if found != "" && found != t.law {
			return "", false, nil // ambiguous
		}
		found = t.law
	}
	return found, found != "", nil
}

// lawTitles lists the indexed laws' titles once.
func (x *indexNorms) lawTitles(ctx context.Context) ([]lawTitle, error) {
	x.mu.Lock()
	titles := x.titles
	x.mu.Unlock()
	if titles != nil {
		return titles, nil
	}
	docs, err := x.ix.Documents(ctx, rag.Filter{Corpus: []assist.Corpus{assist.CorpusRegulations}})
	if err != nil {
		return nil, err
	}
	titles = []lawTitle{}
	for _, d := range docs {
		law := d.Meta["law"]
		if law == "" {
			law = d.ID
		}
		if w := titleWords(d.Title); len(w) > 0 {
			titles = append(titles, lawTitle{law: law, words: w})
		}
	}
	x.mu.Lock()
	x.titles = titles
	x.mu.Unlock()
	return titles, nil
}

// containsWords reports whether every word of want is in words.
func containsWords(words, want []string) bool {
	for _, w := range want {
		if !slices.Contains(words, w) {
			return false
		}
	}
	return true
}

// titleWords stems the words of a title so that inflected forms in prose
// ("des Wohngeldgesetzes") equal the nominative of the title.
func titleWords(title string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(title, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		w = strings.ToLower(w)
		if len(w) > 3 {
			env := snowballstem.NewEnv(w)
			german.Stem(env)
			w = env.Current()
		}
		out = append(out, w)
	}
	return out
}
