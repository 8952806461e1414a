package adapters_test

import (
	"encoding/csv"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"amtsassist/assist/triage/adapters"
)

// realTickets reads subject and body of the shared German synthetic
// tickets, skipping when the shared data set is absent.
func realTickets(t *testing.T) [][2]string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", "data", "tickets", "synthetic-de", "tickets-de.csv")
	f, err := os.Open(p)
	if err != nil {
		t.Skipf("real data not available (%v): the shared data set lives next to the project", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := rows[0]
	si, bi := slices.Index(head, "subject"), slices.Index(head, "body")
	if si < 0 || bi < 0 {
		t.Fatalf("header %v lacks subject or body", head)
	}
	var out [][2]string
	for _, r := range rows[1:] {
		out = append(out, [2]string{r[si], r[bi]})
	}
	return out
}

// TestRealTicketsSurviveEveryPayloadFormat wraps each real ticket the way
// each ticket system would send it (Zammad and Znuny with an HTML body)
// and checks that the parsed text has the same words as the original.
func TestRealTicketsSurviveEveryPayloadFormat(t *testing.T) {
	tickets := realTickets(t)
	asHTML := func(s string) string {
		return "<div>" + strings.ReplaceAll(html.EscapeString(s), "\n", "<br>") + "</div><script>var leak = 1;</script>"
	}
	wrap := map[string]func(subject, body string) any{
		"generic": func(s, b string) any { return map[string]any{"id": "1", "subject": s, "body": b} },
		"znuny": func(s, b string) any {
			return map[string]any{"Ticket": []any{map[string]any{"TicketID": 1, "Title": s,
				"Article": []any{map[string]any{"SenderType": "customer", "ContentType": "text/html; charset=utf-8", "Body": asHTML(b)}}}}}
		},
		"zammad": func(s, b string) any {
			return map[string]any{"ticket": map[string]any{"id": 1, "title": s},
				"article": map[string]any{"sender": "Customer", "content_type": "text/html", "body": asHTML(b)}}
		},
	}
	for kind, w := range wrap {
		t.Run(kind+" payloads keep every word and drop the script", func(t *testing.T) {
			parsed := 0
			for i, tk := range tickets {
				data, err := json.Marshal(w(tk[0], tk[1]))
				if err != nil {
					t.Fatal(err)
				}
				got, err := adapters.Parse(kind, data, "it")
				if strings.TrimSpace(tk[0]) == "" && strings.TrimSpace(tk[1]) == "" {
					if err == nil {
						t.Errorf("row %d: empty ticket accepted", i)
					}
					continue
				}
				if err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
				if !slices.Equal(strings.Fields(got.Subject), strings.Fields(tk[0])) {
					t.Errorf("row %d: subject %q, want %q", i, got.Subject, tk[0])
				}
				if !slices.Equal(strings.Fields(got.Body), strings.Fields(tk[1])) {
					t.Errorf("row %d: body %q, want %q", i, got.Body, tk[1])
				}
				if strings.Contains(got.Body, "leak") {
					t.Errorf("row %d: script content in body", i)
				}
				parsed++
			}
			t.Logf("%s: %d of %d real tickets parsed", kind, parsed, len(tickets))
		})
	}
}
