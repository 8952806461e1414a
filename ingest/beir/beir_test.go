package beir_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/ingest/beir"
)

func TestLoad(t *testing.T) {
	ctx := context.Background()
	in := `{"_id": "d1", "title": "BGB", "text": "Die Rechtsfähigkeit des Menschen beginnt mit der Vollendung der Geburt."}

{"_id": 42, "title": "", "text": "Zweiter Text."}
`
	docs, err := beir.Load(ctx, "corpus.jsonl", strings.NewReader(in), beir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []assist.Document{
		{ID: "d1", Title: "BGB", Source: "corpus.jsonl", Format: "beir", Chunks: []assist.Chunk{{
			ID: "s0", DocID: "d1", Source: "corpus.jsonl",
			Text:     "Die Rechtsfähigkeit des Menschen beginnt mit der Vollendung der Geburt.",
			Citation: assist.Citation{Document: "BGB"},
		}}},
		{ID: "42", Source: "corpus.jsonl", Format: "beir", Chunks: []assist.Chunk{{
			ID: "s0", DocID: "42", Source: "corpus.jsonl", Text: "Zweiter Text.",
			Citation: assist.Citation{Document: "42"},
		}}},
	}
	if d := cmp.Diff(want, docs); d != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", d)
	}
}

func TestLoadSplitsLongTextsIntoPassages(t *testing.T) {
	long := strings.Repeat("Der Antrag auf Wohngeld ist schriftlich zu stellen. ", 100)
	docs, err := beir.Load(context.Background(), "c", strings.NewReader(`{"_id":"x","text":"`+long+`"}`), beir.Options{MaxRunes: 500, Overlap: 50})
	if err != nil {
		t.Fatal(err)
	}
	cs := docs[0].Chunks
	if len(cs) < 10 {
		t.Fatalf("got %d passages, want at least 10", len(cs))
	}
	for i, c := range cs {
		if c.ID != "s"+strconv.Itoa(i) || c.Ordinal != i || len([]rune(c.Text)) > 500 {
			t.Errorf("passage %d: id %q ordinal %d length %d", i, c.ID, c.Ordinal, len([]rune(c.Text)))
		}
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, in, msg string
	}{
		{"an empty file is an empty corpus", "", "empty corpus"},
		{"a blank file is an empty corpus", "\n \n", "empty corpus"},
		{"broken JSON names its line", `{"_id":"a","text":"x"}` + "\n{oops\n", "line 2"},
		{"a missing _id is reported", `{"text":"x"}`, "line 1: missing _id"},
		{"an empty _id is reported", `{"_id":"","text":"x"}`, "line 1: empty _id"},
		{"a duplicate _id is reported", `{"_id":"a","text":"x"}` + "\n" + `{"_id":"a","text":"y"}`, `line 2: duplicate _id "a"`},
		{"a non-object line is reported", `[1,2]`, "line 1"},
		{"an _id of the wrong type is reported", `{"_id":true,"text":"x"}`, "line 1: _id must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := beir.Load(context.Background(), "c.jsonl", strings.NewReader(tc.in), beir.Options{})
			if assist.KindOf(err) != assist.Invalid {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if !strings.Contains(assist.Message(err), tc.msg) {
				t.Errorf("message %q does not contain %q", assist.Message(err), tc.msg)
			}
		})
	}
}

func TestLoadHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := beir.Load(ctx, "c", strings.NewReader(`{"_id":"a","text":"x"}`), beir.Options{})
	if assist.KindOf(err) != assist.Canceled {
		t.Errorf("err = %v, want Canceled", err)
	}
}

func TestReadQueriesAndQrels(t *testing.T) {
	qs, err := beir.ReadQueries(context.Background(), "q", strings.NewReader(`{"_id":"q1","text":"Was ist Wohngeld?","answers":["a"]}`+"\n"+`{"_id":"q2","text":"Wer zahlt?"}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]beir.Query{{ID: "q1", Text: "Was ist Wohngeld?", Answers: []string{"a"}}, {ID: "q2", Text: "Wer zahlt?"}}, qs); d != "" {
		t.Errorf("queries (-want +got):\n%s", d)
	}
	qr, err := beir.ReadQrels("t", strings.NewReader("query-id\tcorpus-id\tscore\nq1\t§ 573b\t1\nq1\td2\t2\r\nq2\td3\t1.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(beir.Qrels{"q1": {"§ 573b": 1, "d2": 2}, "q2": {"d3": 1}}, qr); d != "" {
		t.Errorf("qrels (-want +got):\n%s", d)
	}
}

func TestReadQrelsRejectsBadInput(t *testing.T) {
	tests := []struct{ name, in, msg string }{
		{"an empty file has no judgements", "", "no relevance judgements"},
		{"a header only has no judgements", "query-id\tcorpus-id\tscore\n", "no relevance judgements"},
		{"a short line names its line", "q\td\t1\nq2 d 1\n", "line 2: want 3"},
		{"a bad score names its line", "q\td\t1\nq\te\tx\n", `line 2: score "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := beir.ReadQrels("t", strings.NewReader(tc.in))
			if assist.KindOf(err) != assist.Invalid || !strings.Contains(assist.Message(err), tc.msg) {
				t.Errorf("err = %v, want Invalid containing %q", err, tc.msg)
			}
		})
	}
}

func TestLoadRealCorpora(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "data", "retrieval")
	for _, set := range []struct {
		name string
		docs int
	}{{"legalquad", 200}, {"gerlayqa-bgb", 2377}} {
		t.Run(set.name+" loads completely", func(t *testing.T) {
			f, err := os.Open(filepath.Join(root, set.name, "corpus.jsonl"))
			if err != nil {
				t.Skipf("benchmark data absent (%v): see /work/shared/data/README.md", err)
			}
			defer f.Close()
			docs, err := beir.Load(context.Background(), "corpus.jsonl", f, beir.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != set.docs {
				t.Errorf("got %d documents, want %d", len(docs), set.docs)
			}
			qf, err := os.Open(filepath.Join(root, set.name, "queries.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer qf.Close()
			if _, err := beir.ReadQueries(context.Background(), "queries.jsonl", qf); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(`{"_id":"a","title":"t","text":"x"}`)
	f.Add(`{"_id":1}`)
	f.Add("{oops")
	f.Fuzz(func(t *testing.T, in string) {
		docs, err := beir.Load(context.Background(), "f", strings.NewReader(in), beir.Options{})
		if err == nil && len(docs) == 0 {
			t.Error("no error and no documents")
		}
		if err != nil && assist.KindOf(err) == assist.Other {
			t.Errorf("unclassified error %v", err)
		}
	})
}

func TestReadQueriesRejectsBadInput(t *testing.T) {
	tests := []struct{ name, in, msg string }{
		{"an empty file has no queries", "", "no queries"},
		{"a query without text names its line", `{"_id":"q1","text":"a"}` + "\n" + `{"_id":"q2","text":" "}`, `line 2: query "q2" has no text`},
		{"a duplicate id names its line", `{"_id":"q1","text":"a"}` + "\n" + `{"_id":"q1","text":"b"}`, `line 2: duplicate _id "q1"`},
		{"broken JSON names its line", `{"_id":"q1",`, "line 1: not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := beir.ReadQueries(context.Background(), "q.jsonl", strings.NewReader(tc.in))
			if assist.KindOf(err) != assist.Invalid || !strings.Contains(assist.Message(err), tc.msg) {
				t.Errorf("err = %v, want Invalid containing %q", err, tc.msg)
			}
		})
	}
}

func FuzzReadQueriesAndQrels(f *testing.F) {
	f.Add(`{"_id":"q1","text":"Was ist Wohngeld?"}`)
	f.Add("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
	f.Add("q\td\t1.5")
	f.Fuzz(func(t *testing.T, in string) {
		if _, err := beir.ReadQueries(context.Background(), "q", strings.NewReader(in)); err != nil && assist.KindOf(err) == assist.Other {
			t.Errorf("queries: unclassified error %v", err)
		}
		if _, err := beir.ReadQrels("r", strings.NewReader(in)); err != nil && assist.KindOf(err) == assist.Other {
			t.Errorf("qrels: unclassified error %v", err)
		}
	})
}
