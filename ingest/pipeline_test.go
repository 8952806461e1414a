package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amtsassist/assist"
	"amtsassist/ingest"
	"amtsassist/rag"
	"amtsassist/rag/local"
)

func openIndex(t *testing.T) *local.Index {
	t.Helper()
	ix, err := local.Open(t.TempDir(), local.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func newPipeline(t *testing.T, ix rag.Index, emb assist.Embedder) *ingest.Pipeline {
	t.Helper()
	p, err := ingest.New(ingest.Config{Index: ix, Embedder: emb, MaxFileBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// beirLine is a one-document BEIR corpus line: the simplest multi-document format.
func beirLines(docs map[string]string) []byte {
	var b strings.Builder
	for id, text := range docs {
		fmt.Fprintf(&b, "{\"_id\":%q,\"title\":\"\",\"text\":%q}\n", id, text)
	}
	return []byte(b.String())
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func hitsFor(t *testing.T, ix rag.Index, q string) []rag.Hit {
	t.Helper()
	hits, err := ix.Search(context.Background(), rag.Query{Text: q, K: 10})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func TestReingestingUnchangedInputWritesNothing(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	p := newPipeline(t, ix, nil)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "corpus.jsonl"), beirLines(map[string]string{"a": "Wohngeld wird auf Antrag geleistet.", "b": "Die Gebühr beträgt 8 Euro."}))

	first, err := p.IngestPaths(ctx, []string{dir}, ingest.Options{})
	if err != nil || first.New != 2 || first.Chunks == 0 {
		t.Fatalf("first run: %+v, %v", first, err)
	}
	second, err := p.IngestPaths(ctx, []string{dir}, ingest.Options{})
	if err != nil || second.New != 0 || second.Changed != 0 || second.Unchanged != 2 || second.Chunks != 0 {
		t.Fatalf("second run should write nothing: %+v, %v", second, err)
	}
}

func TestAChangedDocumentReplacesItsOldChunks(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	p := newPipeline(t, ix, nil)
	file := filepath.Join(t.TempDir(), "corpus.jsonl")
	writeFile(t, file, beirLines(map[string]string{"a": "Die Frist beträgt einen Monat (Widerspruchsfrist)."}))
	if _, err := p.IngestPaths(ctx, []string{file}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, beirLines(map[string]string{"a": "Die Frist beträgt zwei Wochen (Klagefrist)."}))
	rep, err := p.IngestPaths(ctx, []string{file}, ingest.Options{})
	if err != nil || rep.Changed != 1 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if hits := hitsFor(t, ix, "Widerspruchsfrist"); len(hits) != 0 {
		t.Fatalf("old text still found: %+v", hits)
	}
	if hits := hitsFor(t, ix, "Klagefrist"); len(hits) != 1 {
		t.Fatalf("new text not found: %+v", hits)
	}
}

func TestPruneDeletesVanishedDocumentsButKeepsThoseOfBrokenFiles(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	p := newPipeline(t, ix, nil)
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep.jsonl")
	gone := filepath.Join(dir, "gone.jsonl")
	broken := filepath.Join(dir, "broken.jsonl")
	writeFile(t, keep, beirLines(map[string]string{"keep": "Aufbewahrungsfrist zehn Jahre"}))
	writeFile(t, gone, beirLines(map[string]string{"gone": "Archivierung im Stadtarchiv"}))
	writeFile(t, broken, beirLines(map[string]string{"broken": "Ersetzendes Scannen"}))
	if rep, err := p.IngestPaths(ctx, []string{dir}, ingest.Options{}); err != nil || rep.New != 3 {
		t.Fatalf("%+v, %v", rep, err)
	}
	os.Remove(gone)
	writeFile(t, broken, []byte("{\"_id\": \"broken\", \"text\": \n"))

	rep, err := p.IngestPaths(ctx, []string{dir}, ingest.Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 1 || rep.Failed != 1 {
		t.Fatalf("want 1 deleted and 1 failed: %+v", rep)
	}
	for id, want := range map[string]bool{"keep": true, "gone": false, "broken": true} {
		_, err := ix.Document(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("document %s present = %v, want %v (%v)", id, got, want, err)
		}
	}
}

func TestIngestInputsRejectsEmptyAndOversizedInput(t *testing.T) {
	ctx := context.Background()
	p := newPipeline(t, openIndex(t), nil)
	for _, tc := range []struct {
		name string
		in   ingest.Input
		kind assist.Kind
		msg  string
	}{
		{"an empty file", ingest.Input{Name: "leer.txt"}, assist.Invalid, "empty file"},
		{"whitespace only", ingest.Input{Name: "leer.md", Data: []byte(" \n\t")}, assist.Invalid, "empty file"},
		{"an oversized file", ingest.Input{Name: "gross.txt", Data: make([]byte, 2<<20)}, assist.TooLarge, "limit"},
		{"an unknown type", ingest.Input{Name: "brief.docx", Data: []byte("PK\x03\x04")}, assist.Invalid, "unsupported file type .docx"},
		{"random bytes named .pdf", ingest.Input{Name: "x.pdf", Data: []byte("\x00\x01garbage")}, assist.Invalid, "x.pdf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.IngestInputs(ctx, []ingest.Input{tc.in}, ingest.Options{})
			if assist.KindOf(err) != tc.kind || !strings.Contains(assist.Message(err), tc.msg) {
				t.Fatalf("err = %v (kind %v), want %v mentioning %q", err, assist.KindOf(err), tc.kind, tc.msg)
			}
		})
	}
}

// fakeEmbedder is a deterministic embedder for the pipeline's own logic;
// assist/ollama has the tests against a real server.
type fakeEmbedder struct {
	fail  error
	calls int
}

func (f *fakeEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{float32(len(t)), 1, 0.5}
	}
	return out, nil
}

func (f *fakeEmbedder) Model() assist.ModelInfo { return assist.ModelInfo{Name: "fake", Dimension: 3} }

func TestEmbeddingFailureWritesNothingOfTheSource(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	emb := &fakeEmbedder{fail: assist.Errorf(assist.Unavailable, "embed", "Ollama is not reachable")}
	p := newPipeline(t, ix, emb)
	rep, err := p.IngestInputs(ctx, []ingest.Input{{Name: "c.jsonl", Data: beirLines(map[string]string{"x": "Text"})}}, ingest.Options{})
	if assist.KindOf(err) != assist.Unavailable {
		t.Fatalf("err = %v, want Unavailable", err)
	}
	if st, _ := ix.Stats(ctx); st.Documents != 0 || rep.Failed != 1 {
		t.Fatalf("something was written: %+v / %+v", st, rep)
	}
}

func TestEmbeddedChunksCarryVectorsAndBindTheModel(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	emb := &fakeEmbedder{}
	p := newPipeline(t, ix, emb)
	if _, err := p.IngestInputs(ctx, []ingest.Input{{Name: "c.jsonl", Data: beirLines(map[string]string{"x": "Wohngeld", "y": "Gebühr"})}}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := ix.Stats(ctx)
	if err != nil || st.Vectors != 2 || st.Embedding == nil || st.Embedding.Name != "fake" {
		t.Fatalf("%+v, %v", st, err)
	}
	// A lexical-only document becomes embedded when re-ingested with an embedder.
	lex := newPipeline(t, ix, nil)
	lex.IngestInputs(ctx, []ingest.Input{{Name: "d.jsonl", Data: beirLines(map[string]string{"z": "Meldebescheinigung"})}}, ingest.Options{})
	rep, err := p.IngestInputs(ctx, []ingest.Input{{Name: "d.jsonl", Data: beirLines(map[string]string{"z": "Meldebescheinigung"})}}, ingest.Options{})
	if err != nil || rep.Changed != 1 {
		t.Fatalf("lexical-only document not re-embedded: %+v, %v", rep, err)
	}
}

func TestCanceledIngestStopsWithCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := newPipeline(t, openIndex(t), nil)
	dir := t.TempDir()
	for i := 0; i < 20; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("c%d.jsonl", i)), beirLines(map[string]string{fmt.Sprint(i): "Text"}))
	}
	_, err := p.IngestPaths(ctx, []string{dir}, ingest.Options{})
	if !errors.Is(err, context.Canceled) && assist.KindOf(err) != assist.Canceled {
		t.Fatalf("err = %v", err)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want ingest.Format
	}{
		{"a.pdf", "%PDF-1.7", ingest.FormatPDF},
		{"noext", "%PDF-1.4\n", ingest.FormatPDF},
		{"source.xml", "<?xml version='1.0'?><dokumente/>", ingest.FormatLawXML},
		{"x.md", "# Titel", ingest.FormatMarkdown},
		{"x.txt", "Text", ingest.FormatText},
		{"t.csv", "id,subject\n", ingest.FormatTicketsCSV},
		{"corpus.jsonl", `{"_id":"1","text":"x"}`, ingest.FormatBEIR},
		{"tickets.jsonl", `{"id":"1","subject":"x"}`, ingest.FormatTicketsJSONL},
		{"README", "plain words", ingest.FormatText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ingest.Detect(tc.name, []byte(tc.data))
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEqualTicketIDsOfTwoDesksDoNotReplaceEachOther(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	p := newPipeline(t, ix, nil)
	csv := []byte("id,subject,body,queue\n4711,Drucker defekt,Der Drucker im 2. OG druckt nicht,Arbeitsplatz\n")
	for _, desk := range []string{"IT-Service Nord", "IT-Service Süd"} {
		if _, err := p.IngestInputs(ctx, []ingest.Input{{Name: "tickets.csv", Data: csv}}, ingest.Options{Authority: desk}); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := ix.Documents(ctx, rag.Filter{Corpus: []assist.Corpus{assist.CorpusTickets}})
	if err != nil || len(docs) != 2 {
		t.Fatalf("want one ticket per desk, got %+v, %v", docs, err)
	}
}

func TestAnUploadNeverReplacesAnotherAuthoritysDocument(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	p := newPipeline(t, ix, nil)
	law := ingest.Input{Name: "c.jsonl", Data: beirLines(map[string]string{"TestG": "Die Testbescheinigung kostet 5 Euro."})}
	if _, err := p.IngestInputs(ctx, []ingest.Input{law}, ingest.Options{Corpus: assist.CorpusRegulations}); err != nil {
		t.Fatal(err)
	}
	_, err := p.IngestInputs(ctx, []ingest.Input{law}, ingest.Options{Corpus: assist.CorpusRegulations, Authority: "Stadt B"})
	if assist.KindOf(err) != assist.Invalid || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v", err)
	}
	if d, err := ix.Document(ctx, "TestG"); err != nil || d.Authority != "" || d.Corpus != assist.CorpusRegulations {
		t.Fatalf("the federal document changed: %+v %v", d, err)
	}
	// As a case document of Stadt B the same content gets its own id.
	if _, err := p.IngestInputs(ctx, []ingest.Input{law}, ingest.Options{Corpus: assist.CorpusCases, Authority: "Stadt B"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Document(ctx, "Stadt B/TestG"); err != nil {
		t.Fatalf("case copy not stored under its namespaced id: %v", err)
	}
}

func TestPruningAnOldLocationKeepsAMovedDocument(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	p := newPipeline(t, ix, nil)
	root := t.TempDir()
	oldDir, newDir := filepath.Join(root, "alt"), filepath.Join(root, "neu")
	os.MkdirAll(oldDir, 0o755)
	os.MkdirAll(newDir, 0o755)
	writeFile(t, filepath.Join(oldDir, "c.jsonl"), beirLines(map[string]string{"ozg": "Onlinezugangsgesetz"}))
	if _, err := p.IngestPaths(ctx, []string{oldDir}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	os.Rename(filepath.Join(oldDir, "c.jsonl"), filepath.Join(newDir, "c.jsonl"))
	if rep, err := p.IngestPaths(ctx, []string{newDir}, ingest.Options{}); err != nil || rep.Unchanged != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	rep, err := p.IngestPaths(ctx, []string{oldDir}, ingest.Options{Prune: true})
	if err != nil {
		t.Logf("ingest of the now empty folder: %v", err)
	}
	if rep.Deleted != 0 {
		t.Fatalf("prune deleted the moved document: %+v", rep)
	}
	if _, err := ix.Document(ctx, "ozg"); err != nil {
		t.Fatal(err)
	}
}

func TestAMovedUnchangedDocumentIsNotEmbeddedAgain(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t)
	emb := &fakeEmbedder{}
	p := newPipeline(t, ix, emb)
	root := t.TempDir()
	a, b := filepath.Join(root, "a.jsonl"), filepath.Join(root, "b.jsonl")
	writeFile(t, a, beirLines(map[string]string{"x": "Wohngeld wird auf Antrag geleistet."}))
	if _, err := p.IngestPaths(ctx, []string{a}, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	calls := emb.calls
	os.Rename(a, b)
	if rep, err := p.IngestPaths(ctx, []string{b}, ingest.Options{}); err != nil || rep.Unchanged != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	if emb.calls != calls {
		t.Fatalf("a moved, unchanged document was embedded again (%d calls)", emb.calls-calls)
	}
	if d, _ := ix.Document(ctx, "x"); d.Source != b {
		t.Fatalf("manifest still points at %s", d.Source)
	}
	if st, _ := ix.Stats(ctx); st.Vectors != 1 {
		t.Fatalf("vectors lost: %+v", st)
	}
}
