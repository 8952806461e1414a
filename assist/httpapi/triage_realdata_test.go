package httpapi_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"amtsassist/assist/httpapi"
)

// TestRealTicketsTriageInBatchesOverHTTP sends the shared German tickets as
// JSON Lines batches through a real HTTP server and checks that every
// ticket reaches the triager with its words intact and gets a suggestion.
func TestRealTicketsTriageInBatchesOverHTTP(t *testing.T) {
	f, err := os.Open(sharedData(t, "tickets/synthetic-de/tickets-de.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	si, bi := slices.Index(rows[0], "subject"), slices.Index(rows[0], "body")
	rows = rows[1:]
	e, ft := newTriageEnv(t, nil)
	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	sent := 0
	for start := 0; start < len(rows); start += httpapi.MaxTriageBatch {
		var body bytes.Buffer
		batch := rows[start:min(start+httpapi.MaxTriageBatch, len(rows))]
		for _, r := range batch {
			line, _ := json.Marshal(map[string]string{"subject": r[si], "body": r[bi]})
			body.Write(line)
			body.WriteByte('\n')
		}
		resp, err := http.Post(srv.URL+"/v1/tickets/triage/batch?desk=it", "application/x-ndjson", &body)
		if err != nil {
			t.Fatal(err)
		}
		var res httpapi.BatchResult
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || res.Succeeded != len(batch) {
			t.Fatalf("batch at %d: status %d, %d of %d succeeded, %v", start, resp.StatusCode, res.Succeeded, len(batch), err)
		}
		sent += len(batch)
	}
	if len(ft.tickets) != len(rows) {
		t.Fatalf("triager got %d tickets, want %d", len(ft.tickets), len(rows))
	}
	for i, r := range rows {
		got := ft.tickets[i]
		if strings.Join(strings.Fields(got.Subject+" "+got.Body), " ") != strings.Join(strings.Fields(r[si]+" "+r[bi]), " ") {
			t.Errorf("row %d changed on the way: %q", i, got.Subject)
		}
	}
	t.Logf("%d real tickets triaged in %d batches", sent, (sent+httpapi.MaxTriageBatch-1)/httpapi.MaxTriageBatch)
}
