package httpapi_test

import (
	"net/http"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/httpapi"
	"amtsassist/ingest"

	"github.com/google/go-cmp/cmp"
)

func TestImportTicketsHandsTheExportToTheIngester(t *testing.T) {
	csv := []byte("title,text\nDrucker,druckt nicht\n")
	jsonl := []byte(`{"subject":"VPN","body":"geht nicht"}` + "\n")
	tests := []struct {
		name       string
		target     string
		body       func(t *testing.T) (string, []byte)
		wantInputs []ingest.Input
		wantOpts   ingest.Options
	}{
		{
			name:       "a raw CSV body with columns and authority",
			target:     "/v1/tickets/import?columns=subject%3Dtitle,body%3Dtext&authority=IT-Referat",
			body:       func(*testing.T) (string, []byte) { return "text/csv; charset=utf-8", csv },
			wantInputs: []ingest.Input{{Name: "tickets.csv", Data: csv}},
			wantOpts: ingest.Options{Corpus: assist.CorpusTickets, Authority: "IT-Referat", Format: ingest.FormatTicketsCSV,
				TicketColumns: map[string]string{"subject": "title", "body": "text"}},
		},
		{
			name:       "a raw JSONL body with a name",
			target:     "/v1/tickets/import?name=export.jsonl",
			body:       func(*testing.T) (string, []byte) { return "application/x-ndjson", jsonl },
			wantInputs: []ingest.Input{{Name: "export.jsonl", Data: jsonl}},
			wantOpts:   ingest.Options{Corpus: assist.CorpusTickets, Format: ingest.FormatTicketsJSONL},
		},
		{
			name:   "multipart CSV files with form fields",
			target: "/v1/tickets/import",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t,
					part{field: "file", filename: "jan.csv", data: csv},
					part{field: "file", filename: "feb.CSV", data: csv},
					part{field: "columns", data: []byte("status=state")},
					part{field: "authority", data: []byte("Bürgeramt")})
			},
			wantInputs: []ingest.Input{{Name: "jan.csv", Data: csv}, {Name: "feb.CSV", Data: csv}},
			wantOpts: ingest.Options{Corpus: assist.CorpusTickets, Authority: "Bürgeramt", Format: ingest.FormatTicketsCSV,
				TicketColumns: map[string]string{"status": "state"}},
		},
		{
			name:   "a multipart file whose format is given",
			target: "/v1/tickets/import?format=jsonl",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "export.txt", data: jsonl})
			},
			wantInputs: []ingest.Input{{Name: "export.txt", Data: jsonl}},
			wantOpts:   ingest.Options{Corpus: assist.CorpusTickets, Format: ingest.FormatTicketsJSONL},
		},
	}
	for _, tt := range tests {
		t.Run("it imports "+tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ct, body := tt.body(t)
			rec := e.post(t, tt.target, ct, body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.wantInputs, e.ingester.inputs); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOpts, e.ingester.opts); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImportTicketsRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name, target string
		body         func(t *testing.T) (string, []byte)
		status       int
		msg          string
	}{
		{"an empty export", "/v1/tickets/import", func(*testing.T) (string, []byte) { return "text/csv", nil }, 400, `empty file "tickets.csv"`},
		{"an empty multipart file", "/v1/tickets/import", func(t *testing.T) (string, []byte) {
			return multipartBody(t, part{field: "file", filename: "t.csv"})
		}, 400, `empty file "t.csv"`},
		{"an unknown ticket field in columns", "/v1/tickets/import?columns=titel%3Dtitle", func(*testing.T) (string, []byte) { return "text/csv", []byte("a") }, 400, `unknown ticket field "titel"`},
		{"a column pair without =", "/v1/tickets/import?columns=subject", func(*testing.T) (string, []byte) { return "text/csv", []byte("a") }, 400, `"subject" is not field=column`},
		{"a field mapped twice", "/v1/tickets/import?columns=body%3Da,body%3Db", func(*testing.T) (string, []byte) { return "text/csv", []byte("a") }, 400, `field "body" mapped twice`},
		{"an unknown format", "/v1/tickets/import?format=xlsx", func(*testing.T) (string, []byte) { return "text/csv", []byte("a") }, 400, `unknown ticket format "xlsx"`},
		{"a file of unknown format", "/v1/tickets/import", func(t *testing.T) (string, []byte) {
			return multipartBody(t, part{field: "file", filename: "export.dat", data: []byte("a")})
		}, 400, `cannot tell the format of "export.dat"`},
		{"files of different formats", "/v1/tickets/import", func(t *testing.T) (string, []byte) {
			return multipartBody(t, part{field: "file", filename: "a.csv", data: []byte("a")}, part{field: "file", filename: "b.jsonl", data: []byte("{}")})
		}, 400, "must share a format"},
		{"an unknown query parameter", "/v1/tickets/import?corpus=cases", func(*testing.T) (string, []byte) { return "text/csv", []byte("a") }, 400, `unknown query parameter "corpus"`},
		{"an unsupported content type", "/v1/tickets/import", func(*testing.T) (string, []byte) { return "application/vnd.ms-excel", []byte("a") }, 415, "unsupported Content-Type"},
	}
	for _, tt := range tests {
		t.Run("it refuses "+tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ct, body := tt.body(t)
			wantError(t, e.post(t, tt.target, ct, body), tt.status, "invalid", tt.msg)
			if e.ingester.calls != 0 {
				t.Errorf("the ingester was called for a refused import")
			}
		})
	}
}

func TestParseColumns(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"an empty mapping maps nothing", " ", nil},
		{"pairs are trimmed and empty pairs skipped", " subject = title ,, body=text,", map[string]string{"subject": "title", "body": "text"}},
		{"a column may contain spaces and =", "answer=Antwort des Agenten,created=a=b", map[string]string{"answer": "Antwort des Agenten", "created": "a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpapi.ParseColumns(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
