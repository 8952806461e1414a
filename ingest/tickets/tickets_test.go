package tickets_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/ingest/tickets"
)

const ticketsDir = "../../../shared/data/tickets"

func load(t *testing.T, name, in string, opts tickets.Options) []assist.Document {
	t.Helper()
	docs, err := tickets.Load(context.Background(), name, strings.NewReader(in), opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return docs
}

// TestLoadSharedTickets loads every CSV of the shared data set and checks
// that each row became a ticket with the labels of its columns.
func TestLoadSharedTickets(t *testing.T) {
	tests := []struct {
		file     string
		metaKeys []string // keys every ticket of the file has
		subject  bool     // whether rows have a subject column
	}{
		{"endava/tickets.csv", []string{"category", "priority", "impact", "ticket_type", "sub_category1", "sub_category2", "business_service"}, true},
		{"it-topic-groups/tickets.csv", []string{"category"}, false},
		{"synthetic-de/tickets-de.csv", []string{"queue", "priority", "language"}, true},
		{"synthetic-de/tickets-with-answers-de.csv", []string{"queue", "priority", "language", "answer", "type", "tag_1"}, true},
		{"synthetic-de/tickets-with-answers-en.csv", []string{"queue", "priority", "language", "answer", "type", "tag_1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.file+" gives one ticket per row with its labels", func(t *testing.T) {
			path := filepath.Join(ticketsDir, tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Skipf("shared ticket data not found (%v); see /work/shared/data/README.md", err)
			}
			rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			docs, err := tickets.Load(context.Background(), tt.file, bytes.NewReader(data), tickets.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Rows without any text are skipped and exact duplicates
			// merged; both are reported.
			if got, want := len(docs)+countWarnings(docs[0].Warnings), len(rows)-1; got != want {
				t.Errorf("%d tickets + %d skipped, want %d rows", len(docs), countWarnings(docs[0].Warnings), want)
			}
			ids := map[string]bool{}
			for _, d := range docs {
				if ids[d.ID] {
					t.Fatalf("duplicate id %s", d.ID)
				}
				ids[d.ID] = true
				if !strings.HasPrefix(d.ID, "ticket:") || d.Corpus != assist.CorpusTickets || d.Format != "ticket" || len(d.Chunks) != 1 {
					t.Fatalf("ticket %s: corpus %q format %q chunks %d", d.ID, d.Corpus, d.Format, len(d.Chunks))
				}
				c := d.Chunks[0]
				if c.Text == "" || !strings.HasPrefix(c.Citation.Document, "Ticket "+strings.TrimPrefix(d.ID, "ticket:")+": ") {
					t.Fatalf("ticket %s chunk %+v", d.ID, c)
				}
				for _, k := range tt.metaKeys {
					if c.Meta[k] == "" {
						t.Fatalf("ticket %s lacks meta %q: %v", d.ID, k, c.Meta)
					}
				}
				for k, v := range c.Meta {
					if v == "" {
						t.Fatalf("ticket %s has empty meta %q", d.ID, k)
					}
				}
			}
		})
	}
}

func countWarnings(ws []string) int {
	n := 0
	for _, w := range ws {
		if strings.Contains(w, "skipped") {
			n++
		}
	}
	return n
}

func TestLoadIsStableAcrossRuns(t *testing.T) {
	in := "subject,body\nDrucker,geht nicht\nVPN,kein Zugang\n"
	a := load(t, "t.csv", in, tickets.Options{})
	b := load(t, "t.csv", in, tickets.Options{})
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("two loads differ:\n%s", d)
	}
}

func TestLoadMapsAndDetectsColumns(t *testing.T) {
	in := "Nr;Betreff;Beschreibung;Kategorie;Status;Lösung;Erstellt;Amt\n" +
		"17;Drucker defekt;Der Drucker im 2. OG druckt nicht.;Hardware;closed;Toner getauscht;2026-01-05;Bauamt\n"
	docs := load(t, "export.csv", in, tickets.Options{})
	want := assist.Document{
		ID: "ticket:17", Corpus: assist.CorpusTickets, Title: "Drucker defekt", Source: "export.csv", Format: "ticket",
		Meta: map[string]string{"category": "Hardware", "status": "closed", "answer": "Toner getauscht", "created": "2026-01-05", "amt": "Bauamt"},
		Chunks: []assist.Chunk{{
			ID: "text", DocID: "ticket:17", Corpus: assist.CorpusTickets, Source: "export.csv",
			Text:     "Drucker defekt\n\nDer Drucker im 2. OG druckt nicht.",
			Citation: assist.Citation{Document: "Ticket 17: Drucker defekt"},
			Meta:     map[string]string{"category": "Hardware", "status": "closed", "answer": "Toner getauscht", "created": "2026-01-05", "amt": "Bauamt"},
		}},
	}
	if d := cmp.Diff([]assist.Document{want}, docs); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}

	mapped := load(t, "x.csv", "a,b,c\n1,hello,world\n", tickets.Options{Columns: map[string]string{"id": "a", "subject": "b", "body": "c"}})
	if mapped[0].ID != "ticket:1" || mapped[0].Chunks[0].Text != "hello\n\nworld" {
		t.Errorf("explicit mapping: %+v", mapped[0])
	}
}

func TestLoadSkipsAndMergesRows(t *testing.T) {
	in := "title,body,category\n" +
		"A,first,x\n" +
		",,x\n" +
		"A,first,x\n" +
		"A,first,y\n"
	docs := load(t, "t.csv", in, tickets.Options{})
	if len(docs) != 2 {
		t.Fatalf("%d tickets, want 2 (the identical row merged, the empty one skipped)", len(docs))
	}
	want := []string{"line 3: skipped: neither subject nor body", `line 4: skipped: same ticket id "` + strings.TrimPrefix(docs[0].ID, "ticket:") + `" as line 2`}
	if d := cmp.Diff(want, docs[0].Warnings); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
	withIDs := load(t, "t.csv", "id,title\n1,a\n1,b\n", tickets.Options{})
	if len(withIDs) != 1 || withIDs[0].Title != "a" || len(withIDs[0].Warnings) != 1 {
		t.Errorf("duplicate explicit id: %+v", withIDs)
	}
}

func TestLoadJSONL(t *testing.T) {
	in := `{"ticket_id": 5, "summary": "VPN", "description": "kein Zugang\nseit heute", "urgency": "high", "tags": ["a","b"]}` + "\n\n" +
		`{"ticket_id": 6, "summary": "Drucker", "extra": true}` + "\n"
	docs := load(t, "t.jsonl", in, tickets.Options{})
	if len(docs) != 2 {
		t.Fatalf("%d tickets", len(docs))
	}
	if d := docs[0]; d.ID != "ticket:5" || d.Chunks[0].Text != "VPN\n\nkein Zugang\nseit heute" || d.Meta["priority"] != "high" || d.Meta["tags"] != `["a","b"]` {
		t.Errorf("first ticket %+v", d)
	}
	if d := docs[1]; d.ID != "ticket:6" || d.Meta["extra"] != "true" {
		t.Errorf("second ticket %+v", d)
	}
}

func TestLoadTurnsEscapedNewlinesIntoLineBreaks(t *testing.T) {
	docs := load(t, "t.csv", "subject,body\nHallo,\"Sehr geehrte Damen,\\n\\nder Server ist aus.\"\n", tickets.Options{})
	if got := docs[0].Chunks[0].Text; got != "Hallo\n\nSehr geehrte Damen,\n\nder Server ist aus." {
		t.Errorf("text %q", got)
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	tests := []struct {
		name, file, input string
		opts              tickets.Options
		kind              assist.Kind
		msg               string
	}{
		{"an empty file is invalid", "t.csv", "", tickets.Options{}, assist.Invalid, "empty document"},
		{"a header without text columns is invalid", "t.csv", "a,b\n1,2\n", tickets.Options{}, assist.Invalid, "no subject or body column found; the header has: a, b"},
		{"a mapped column missing from the header is named", "t.csv", "title,body\nx,y\n", tickets.Options{Columns: map[string]string{"queue": "Gruppe"}}, assist.Invalid, `column "Gruppe" (mapped to queue) is not in the header; the header has: title, body`},
		{"an unknown field is invalid", "t.csv", "title\nx\n", tickets.Options{Columns: map[string]string{"owner": "title"}}, assist.Invalid, `unknown ticket field "owner"`},
		{"a row with too many fields names its line", "t.csv", "title,body\nx,y\na,b,c\n", tickets.Options{}, assist.Invalid, "line 3: wrong number of fields"},
		{"a broken quote names its line", "t.csv", "title,body\nx,\"y\n", tickets.Options{}, assist.Invalid, "line 2"},
		{"too many rows are too large", "t.csv", "title\na\nb\nc\n", tickets.Options{MaxRows: 2}, assist.TooLarge, "more than 2 ticket rows"},
		{"only empty rows is invalid", "t.csv", "title,body\n,\n", tickets.Options{}, assist.Invalid, "all 1 rows were skipped"},
		{"malformed JSON names its line", "t.jsonl", "{\"title\":\"a\"}\n{oops\n", tickets.Options{}, assist.Invalid, "line 2: malformed JSON"},
		{"a JSON array line is not an object", "t.jsonl", "{\"title\":\"a\"}\n[1]\n", tickets.Options{}, assist.Invalid, "line 2"},
		{"an unknown format is invalid", "t.csv", "title\na\n", tickets.Options{Format: "xlsx"}, assist.Invalid, `unknown ticket format "xlsx"`},
		{"invalid UTF-8 is invalid", "t.csv", "title\n\xff\n", tickets.Options{}, assist.Invalid, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tickets.Load(context.Background(), tt.file, strings.NewReader(tt.input), tt.opts)
			if k := assist.KindOf(err); k != tt.kind {
				t.Fatalf("kind %v, want %v (%v)", k, tt.kind, err)
			}
			if m := assist.Message(err); !strings.Contains(m, tt.msg) {
				t.Errorf("message %q lacks %q", m, tt.msg)
			}
		})
	}
}

func FuzzLoadCSV(f *testing.F) {
	f.Add([]byte("id,title,body,category\n1,Drucker,geht nicht,HW\n2,\"VPN, kaputt\",\"mehrere\nZeilen\",NET\n"))
	f.Add([]byte("Document;Topic_group\nx;y\n"))
	f.Add([]byte("title,body\n,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := tickets.Load(context.Background(), "fuzz.csv", bytes.NewReader(data), tickets.Options{})
		if err != nil {
			if k := assist.KindOf(err); k != assist.Invalid && k != assist.TooLarge {
				t.Fatalf("kind %v: %v", k, err)
			}
			return
		}
		ids := map[string]bool{}
		for _, d := range docs {
			if ids[d.ID] || len(d.Chunks) != 1 || d.Chunks[0].Text == "" {
				t.Fatalf("bad ticket %+v", d)
			}
			ids[d.ID] = true
		}
	})
}

func BenchmarkLoadEndava(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(ticketsDir, "endava", "tickets.csv"))
	if err != nil {
		b.Skipf("shared ticket data not found: %v", err)
	}
	n := 0
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		docs, err := tickets.Load(context.Background(), "tickets.csv", bytes.NewReader(data), tickets.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n = len(docs)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tickets/s")
}
