package local_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"amtsassist/assist"
	"amtsassist/ingest/split"
	"amtsassist/rag"
	"amtsassist/rag/local"
)

// sharedLaws is the federal law corpus of the shared development data
// (one Markdown file per §), relative to this package.
var sharedLaws = filepath.Join("..", "..", "..", "shared", "data", "laws", "federal")

// loadLaws reads every § of the shared federal laws as one document per law
// with a chunk per passage. It skips the test when the data is absent.
func loadLaws(tb testing.TB) []rag.DocumentData {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(sharedLaws, "*", "paragraphs", "*.md"))
	if err != nil || len(files) == 0 {
		tb.Skipf("shared law data not found under %s: these tests need the development data set", sharedLaws)
	}
	byLaw := map[string]*rag.DocumentData{}
	var order []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		parts := strings.SplitN(string(raw), "---\n", 3)
		if len(parts) != 3 {
			tb.Fatalf("%s: no front matter", f)
		}
		var fm struct {
			Law        string   `yaml:"jurabk"`
			Number     string   `yaml:"number"`
			Heading    string   `yaml:"heading"`
			Breadcrumb []string `yaml:"breadcrumb"`
			Stand      string   `yaml:"stand_datum"`
		}
		if err := yaml.Unmarshal([]byte(parts[1]), &fm); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		d, ok := byLaw[fm.Law]
		if !ok {
			d = &rag.DocumentData{Info: rag.DocInfo{ID: fm.Law, Corpus: assist.CorpusRegulations, Title: fm.Law, Source: filepath.Dir(filepath.Dir(f)), Format: "markdown", Hash: "shared"}}
			byLaw[fm.Law] = d
			order = append(order, fm.Law)
		}
		body := strings.TrimSpace(parts[2])
		if i := strings.Index(body, "\n"); i >= 0 && strings.HasPrefix(body, "# ") {
			body = strings.TrimSpace(body[i:]) // the heading line is in the citation
		}
		for k, text := range split.Text(body, 0, -1) {
			d.Chunks = append(d.Chunks, assist.Chunk{
				ID: fmt.Sprintf("%s#%s#%d", fm.Law, fm.Number, k), DocID: fm.Law, Corpus: assist.CorpusRegulations,
				Source: d.Info.Source, Ordinal: len(d.Chunks), Text: text,
				Citation: assist.Citation{Law: fm.Law, Section: fm.Number, Heading: fm.Heading, Breadcrumb: fm.Breadcrumb, Stand: fm.Stand},
				Meta:     map[string]string{"kind": "paragraph"},
			})
		}
	}
	out := make([]rag.DocumentData, 0, len(order))
	for _, law := range order {
		d := byLaw[law]
		d.Info.Chunks = len(d.Chunks)
		out = append(out, *d)
	}
	return out
}

// withVectors gives every chunk a random unit-scale vector of dim, the
// same for the same seed; search latency does not depend on what they mean.
func withVectors(docs []rag.DocumentData, dim int, seed uint64) []rag.DocumentData {
	r := rand.New(rand.NewPCG(seed, 3))
	out := make([]rag.DocumentData, len(docs))
	for i, d := range docs {
		d.Chunks = append([]assist.Chunk(nil), d.Chunks...)
		for j := range d.Chunks {
			v := make([]float32, dim)
			for k := range v {
				v[k] = float32(r.NormFloat64())
			}
			d.Chunks[j].Vector = v
		}
		d.Info.Embedded = true
		out[i] = d
	}
	return out
}

func TestSharedLawsAreFoundByCitation(t *testing.T) {
	docs := loadLaws(t)
	dir := t.TempDir()
	ix, err := local.Open(dir, local.Config{}, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	chunks := 0
	start := time.Now()
	for _, d := range docs {
		if err := ix.PutDocuments(ctx, []rag.DocumentData{d}); err != nil {
			t.Fatalf("PutDocuments(%s): %v", d.Info.ID, err)
		}
		chunks += len(d.Chunks)
	}
	t.Logf("stored %d laws, %d chunks in %v", len(docs), chunks, time.Since(start))
	ix.Close()
	start = time.Now()
	ix = openDir(t, dir)
	t.Logf("reopened in %v", time.Since(start))

	tests := []struct {
		name   string
		q      rag.Query
		wantID string // prefix of the expected hit's chunk id
		within int    // rank the expected hit must reach at least
	}{
		{"a section with its law comes first", rag.Query{Text: "§ 19 WoGG"}, "WoGG#§ 19#", 1},
		{"a section with paragraph and law comes first", rag.Query{Text: "Was gilt nach § 35 Satz 1 VwVfG?"}, "VwVfG#§ 35#", 1},
		{"an exact citation with distinct documents comes first", rag.Query{Text: "§ 1 OZG", DistinctDocs: true}, "OZG#§ 1#", 1},
		{"the heading of a section is near the top", rag.Query{Text: "Begriff des Verwaltungsaktes", Filter: rag.Filter{DocID: []string{"VwVfG"}}}, "VwVfG#§ 35#", 3},
		{"a question in words finds its section", rag.Query{Text: "Anhörung Beteiligter vor Erlass eines Verwaltungsaktes", Filter: rag.Filter{DocID: []string{"VwVfG"}}}, "VwVfG#§ 28#", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := ix.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.Chunk.ID)
			}
			if !slices.ContainsFunc(got[:min(tc.within, len(got))], func(id string) bool { return strings.HasPrefix(id, tc.wantID) }) {
				t.Errorf("Search(%q) = %v, want %s… within the first %d", tc.q.Text, got, tc.wantID, tc.within)
			}
		})
	}
}

// benchCorpus returns at least min chunks from the shared laws, repeating
// them under new document ids when the laws alone are fewer.
func benchCorpus(b *testing.B, minChunks int) ([]rag.DocumentData, int) {
	b.Helper()
	laws := loadLaws(b)
	var docs []rag.DocumentData
	n := 0
	for copyNo := 0; n < minChunks; copyNo++ {
		for _, d := range laws {
			if copyNo > 0 {
				d = renamed(d, fmt.Sprintf("%s~%d", d.Info.ID, copyNo))
			}
			docs = append(docs, d)
			n += len(d.Chunks)
		}
	}
	return docs, n
}

func renamed(d rag.DocumentData, id string) rag.DocumentData {
	d.Info.ID = id
	d.Chunks = append([]assist.Chunk(nil), d.Chunks...)
	for i := range d.Chunks {
		d.Chunks[i].DocID = id
		d.Chunks[i].ID = id + "#" + d.Chunks[i].ID
	}
	return d
}

// BenchmarkPutDocuments stores the laws (768-dimensional vectors) into a
// fresh index, one document per batch as the ingest pipeline does.
func BenchmarkPutDocuments(b *testing.B) {
	docs, n := benchCorpus(b, 4000)
	docs = withVectors(docs, 768, 1)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ix, err := local.Open(b.TempDir(), local.Config{}, discard)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, d := range docs {
			if err := ix.PutDocuments(ctx, []rag.DocumentData{d}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		ix.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "chunks/s")
}

// BenchmarkOpen measures rebuilding memory from the file.
func BenchmarkOpen(b *testing.B) {
	docs, _ := benchCorpus(b, 4000)
	docs = withVectors(docs, 768, 1)
	dir := b.TempDir()
	ix, err := local.Open(dir, local.Config{}, discard)
	if err != nil {
		b.Fatal(err)
	}
	if err := ix.PutDocuments(context.Background(), docs); err != nil {
		b.Fatal(err)
	}
	ix.Close()
	b.ResetTimer()
	for range b.N {
		ix, err := local.Open(dir, local.Config{}, discard)
		if err != nil {
			b.Fatal(err)
		}
		ix.Close()
	}
}

// BenchmarkSearch measures one query per mode on a few thousand chunks
// with 768-dimensional vectors.
func BenchmarkSearch(b *testing.B) {
	docs, n := benchCorpus(b, 4000)
	docs = withVectors(docs, 768, 1)
	ix, err := local.Open(b.TempDir(), local.Config{}, discard)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	if err := ix.PutDocuments(ctx, docs); err != nil {
		b.Fatal(err)
	}
	qv := withVectors(docs[:1], 768, 99)[0].Chunks[0].Vector
	const text = "Wohngeld Anspruch bei Einkommen und Miete Berechnung § 19 WoGG"
	b.Logf("%d chunks", n)
	for _, bc := range []struct {
		name string
		q    rag.Query
	}{
		{"lexical", rag.Query{Text: text, Mode: rag.ModeLexical}},
		{"lexical distinct docs", rag.Query{Text: text, Mode: rag.ModeLexical, DistinctDocs: true}},
		{"dense", rag.Query{Vector: qv, Mode: rag.ModeDense}},
		{"hybrid", rag.Query{Text: text, Vector: qv, Mode: rag.ModeHybrid}},
		{"hybrid filtered", rag.Query{Text: text, Vector: qv, Mode: rag.ModeHybrid, Filter: rag.Filter{DocID: []string{"WoGG", "VwVfG"}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				if _, err := ix.Search(ctx, bc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSearchDuringWrites measures hybrid search latency while another
// goroutine keeps rewriting the laws, as during an ingest on a live server.
func BenchmarkSearchDuringWrites(b *testing.B) {
	docs, _ := benchCorpus(b, 4000)
	docs = withVectors(docs, 768, 1)
	ix, err := local.Open(b.TempDir(), local.Config{}, discard)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	if err := ix.PutDocuments(ctx, docs); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		writes := 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- writes
				return
			default:
			}
			if err := ix.PutDocuments(ctx, docs[i%len(docs):i%len(docs)+1]); err != nil {
				panic(err)
			}
			writes++
		}
	}()
	q := rag.Query{Text: "Wohngeld Einkommen Miete", Vector: docs[0].Chunks[0].Vector, Mode: rag.ModeHybrid}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := ix.Search(ctx, q); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	close(stop)
	writes := <-done
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(writes), "docs-written")
}
