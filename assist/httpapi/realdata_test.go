package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/httpapi"
	"amtsassist/ingest"
)

// sharedData returns the path of a file in the shared real-data set
// (../shared/data from the project root), skipping when it is absent.
func sharedData(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not available (%v): the shared data set lives next to the project", rel, err)
	}
	return p
}

// TestRealUploadsOverHTTP sends the shared real files through a real HTTP
// server and client and checks that the ingester receives them byte for
// byte with the right options, and that the upload limit holds for a real
// file sent in chunks.
func TestRealUploadsOverHTTP(t *testing.T) {
	tests := []struct {
		name        string
		file        string
		multipart   bool
		target      string
		contentType string
		wantName    string
		wantOpts    ingest.Options
	}{
		{name: "an invoice PDF as a multipart file", file: "pdf/misc/mustang_invoice_RE-20170509_505.pdf", multipart: true,
			target: "/v1/documents?corpus=cases&authority=Kasse", wantName: "mustang_invoice_RE-20170509_505.pdf",
			wantOpts: ingest.Options{Corpus: assist.CorpusCases, Authority: "Kasse"}},
		{name: "the WoGG XML as a raw body", file: "laws/federal/WoGG/source.xml", contentType: "application/xml",
			target: "/v1/documents?name=WoGG.xml", wantName: "WoGG.xml", wantOpts: ingest.Options{Format: ingest.FormatLawXML}},
		{name: "a Saxon Markdown law as a raw body", file: "laws/saxony/e-government-gesetz.md", contentType: "text/markdown; charset=UTF-8",
			target: "/v1/documents?corpus=regulations&authority=Freistaat+Sachsen", wantName: "upload.md",
			wantOpts: ingest.Options{Corpus: assist.CorpusRegulations, Authority: "Freistaat Sachsen", Format: ingest.FormatMarkdown}},
		{name: "the German synthetic tickets as raw CSV", file: "tickets/synthetic-de/tickets-de.csv", contentType: "text/csv",
			target: "/v1/tickets/import?columns=subject%3Dsubject,body%3Dbody,queue%3Dqueue,priority%3Dpriority", wantName: "tickets.csv",
			wantOpts: ingest.Options{Corpus: assist.CorpusTickets, Format: ingest.FormatTicketsCSV,
				TicketColumns: map[string]string{"subject": "subject", "body": "body", "queue": "queue", "priority": "priority"}}},
	}
	for _, tt := range tests {
		t.Run("it ingests "+tt.name, func(t *testing.T) {
			data, err := os.ReadFile(sharedData(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, nil)
			ts := httptest.NewServer(e.srv)
			defer ts.Close()
			ct, body := tt.contentType, data
			if tt.multipart {
				ct, body = multipartBody(t, part{field: "file", filename: filepath.Base(tt.file), data: data})
			}
			resp, err := http.Post(ts.URL+tt.target, ct, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			if len(e.ingester.inputs) != 1 {
				t.Fatalf("ingester got %d inputs", len(e.ingester.inputs))
			}
			in := e.ingester.inputs[0]
			if in.Name != tt.wantName || !bytes.Equal(in.Data, data) {
				t.Errorf("input %q with %d bytes, want %q with the file's %d bytes", in.Name, len(in.Data), tt.wantName, len(data))
			}
			if e.ingester.opts.Authority != tt.wantOpts.Authority || e.ingester.opts.Corpus != tt.wantOpts.Corpus ||
				e.ingester.opts.Format != tt.wantOpts.Format || len(e.ingester.opts.TicketColumns) != len(tt.wantOpts.TicketColumns) {
				t.Errorf("options = %+v, want %+v", e.ingester.opts, tt.wantOpts)
			}
		})
	}

	t.Run("it refuses a real PDF over the upload limit with 413", func(t *testing.T) {
		data, err := os.ReadFile(sharedData(t, "pdf/misc/destatis_verbraucherpreisindex-lange-reihen-5611103.pdf"))
		if err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, func(c *httpapi.Config) { c.MaxUploadBytes = 256 << 10 })
		ts := httptest.NewServer(e.srv)
		defer ts.Close()
		ct, body := multipartBody(t, part{field: "file", filename: "destatis.pdf", data: data})
		// An io.Reader of unknown length makes the client send chunks, so
		// the limit is hit while reading rather than by Content-Length.
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/v1/documents", io.MultiReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !bytes.Contains(b, []byte("limit of 262144 bytes (256 KiB)")) {
			t.Errorf("got %d %s, want 413 naming the limit", resp.StatusCode, b)
		}
		if e.ingester.calls != 0 {
			t.Error("the ingester was called")
		}
	})
}
