package httpapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/httpapi"
	"amtsassist/ingest"

	"github.com/google/go-cmp/cmp"
)

func TestPostDocumentsHandsInputsToTheIngester(t *testing.T) {
	pdf := []byte("%PDF-1.7 fake")
	tests := []struct {
		name        string
		target      string
		contentType string
		body        func(t *testing.T) (string, []byte)
		wantInputs  []ingest.Input
		wantOpts    ingest.Options
	}{
		{
			name: "a multipart file with every form field",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t,
					part{field: "file", filename: "bescheid.pdf", contentType: "application/pdf", data: pdf},
					part{field: "corpus", data: []byte("cases")},
					part{field: "authority", data: []byte("Landratsamt Bautzen")},
					part{field: "format", data: []byte("pdf")},
					part{field: "id", data: []byte("akte-42")},
					part{field: "title", data: []byte("Bescheid")})
			},
			wantInputs: []ingest.Input{{Name: "bescheid.pdf", Data: pdf, ID: "akte-42", Title: "Bescheid"}},
			wantOpts:   ingest.Options{Corpus: assist.CorpusCases, Authority: "Landratsamt Bautzen", Format: ingest.FormatPDF},
		},
		{
			name:   "several multipart files with options in the query string",
			target: "/v1/documents?corpus=regulations",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t,
					part{field: "files", filename: "a.md", data: []byte("# A")},
					part{field: "files", filename: "b.md", data: []byte("# B")})
			},
			wantInputs: []ingest.Input{{Name: "a.md", Data: []byte("# A")}, {Name: "b.md", Data: []byte("# B")}},
			wantOpts:   ingest.Options{Corpus: assist.CorpusRegulations},
		},
		{
			name: "a hostile file name reduced to its base name",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: `..\..\windows\evil.txt`, data: []byte("x")})
			},
			wantInputs: []ingest.Input{{Name: "evil.txt", Data: []byte("x")}},
		},
		{
			name:        "a raw PDF body with a name",
			target:      "/v1/documents?name=antrag.pdf&authority=Stadt+Leipzig",
			contentType: "application/pdf",
			body:        func(*testing.T) (string, []byte) { return "", pdf },
			wantInputs:  []ingest.Input{{Name: "antrag.pdf", Data: pdf}},
			wantOpts:    ingest.Options{Authority: "Stadt Leipzig", Format: ingest.FormatPDF},
		},
		{
			name:        "a raw Markdown body without a name",
			contentType: "text/markdown; charset=utf-8",
			body:        func(*testing.T) (string, []byte) { return "", []byte("## § 1 Zweck") },
			wantInputs:  []ingest.Input{{Name: "upload.md", Data: []byte("## § 1 Zweck")}},
			wantOpts:    ingest.Options{Format: ingest.FormatMarkdown},
		},
		{
			name:        "a raw XML body",
			target:      "/v1/documents?id=WoGG",
			contentType: "application/xml",
			body:        func(*testing.T) (string, []byte) { return "", []byte("<dokumente/>") },
			wantInputs:  []ingest.Input{{Name: "upload.xml", Data: []byte("<dokumente/>"), ID: "WoGG"}},
			wantOpts:    ingest.Options{Format: ingest.FormatLawXML},
		},
		{
			name:        "a raw text body whose format is forced",
			target:      "/v1/documents?format=markdown",
			contentType: "text/plain",
			body:        func(*testing.T) (string, []byte) { return "", []byte("Text") },
			wantInputs:  []ingest.Input{{Name: "upload.txt", Data: []byte("Text")}},
			wantOpts:    ingest.Options{Format: ingest.FormatMarkdown},
		},
		{
			name:        "a JSON document",
			contentType: "application/json",
			body: func(*testing.T) (string, []byte) {
				return "", []byte(`{"id":"memo-1","title":"Vermerk","text":"Der Antrag ist zulässig.","corpus":"cases","authority":"Bürgeramt"}`)
			},
			wantInputs: []ingest.Input{{Name: "memo-1.txt", Data: []byte("Der Antrag ist zulässig."), ID: "memo-1", Title: "Vermerk"}},
			wantOpts:   ingest.Options{Corpus: assist.CorpusCases, Authority: "Bürgeramt", Format: ingest.FormatText},
		},
		{
			name:        "a JSON Markdown document without id",
			contentType: "application/json",
			body:        func(*testing.T) (string, []byte) { return "", []byte(`{"text":"# Titel","format":"markdown"}`) },
			wantInputs:  []ingest.Input{{Name: "document.md", Data: []byte("# Titel")}},
			wantOpts:    ingest.Options{Format: ingest.FormatMarkdown},
		},
	}
	for _, tt := range tests {
		t.Run("it ingests "+tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ct, body := tt.body(t)
			if tt.contentType != "" {
				ct = tt.contentType
			}
			target := tt.target
			if target == "" {
				target = "/v1/documents"
			}
			rec := e.post(t, target, ct, body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.wantInputs, e.ingester.inputs); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOpts, e.ingester.opts); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			rep := decodeJSON[ingest.Report](t, rec.Body)
			if rep.Documents != len(tt.wantInputs) || len(rep.Files) != len(tt.wantInputs) {
				t.Errorf("report = %+v, want %d documents", rep, len(tt.wantInputs))
			}
		})
	}
}

func TestPostDocumentsRejectsBadUploads(t *testing.T) {
	tests := []struct {
		name        string
		target      string
		contentType string
		body        func(t *testing.T) (string, []byte)
		status      int
		kind        string
		msg         string
	}{
		{name: "an empty multipart file", status: 400, kind: "invalid", msg: `empty file "a.pdf"`,
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "a.pdf"})
			}},
		{name: "an empty raw body", contentType: "application/pdf", status: 400, kind: "invalid", msg: "empty file",
			body: func(*testing.T) (string, []byte) { return "", nil }},
		{name: "a multipart body without a file", status: 400, kind: "invalid", msg: "no file in the multipart body",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "corpus", data: []byte("cases")})
			}},
		{name: "a multipart body without boundary", contentType: "multipart/form-data", status: 400, kind: "invalid", msg: "missing boundary",
			body: func(*testing.T) (string, []byte) { return "", []byte("x") }},
		{name: "a truncated multipart body", status: 400, kind: "invalid", msg: "could not read",
			body: func(t *testing.T) (string, []byte) {
				ct, b := multipartBody(t, part{field: "file", filename: "a.txt", data: []byte("hello")})
				return ct, b[:len(b)-10]
			}},
		{name: "an unknown corpus in a form field", status: 400, kind: "invalid", msg: `unknown corpus "laws"`,
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "a.txt", data: []byte("x")}, part{field: "corpus", data: []byte("laws")})
			}},
		{name: "an unknown corpus in the query", target: "/v1/documents?corpus=gesetze", contentType: "text/plain", status: 400, kind: "invalid", msg: `unknown corpus "gesetze"`,
			body: func(*testing.T) (string, []byte) { return "", []byte("x") }},
		{name: "an unknown corpus in the query of a large raw body", target: "/v1/documents?corpus=gesetze", contentType: "application/pdf", status: 400, kind: "invalid", msg: `unknown corpus "gesetze"`,
			body: func(*testing.T) (string, []byte) { return "", bytes.Repeat([]byte("x"), 1<<20) }},
		{name: "a name for a JSON document", target: "/v1/documents?name=a.txt", contentType: "application/json", status: 400, kind: "invalid", msg: "name applies to raw bodies only",
			body: func(*testing.T) (string, []byte) { return "", []byte(`{"text":"x"}`) }},
		{name: "an unknown format", target: "/v1/documents?format=docx", contentType: "text/plain", status: 400, kind: "invalid", msg: `unknown format "docx"`,
			body: func(*testing.T) (string, []byte) { return "", []byte("x") }},
		{name: "an unknown form field", status: 400, kind: "invalid", msg: `unknown form field "korpus"`,
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "a.txt", data: []byte("x")}, part{field: "korpus", data: []byte("cases")})
			}},
		{name: "an option given twice with different values", target: "/v1/documents?corpus=cases", status: 400, kind: "invalid", msg: "corpus given twice",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "a.txt", data: []byte("x")}, part{field: "corpus", data: []byte("tickets")})
			}},
		{name: "an id for several files", status: 400, kind: "invalid", msg: "id and title apply to a single file; the upload has 2 files",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "a.txt", data: []byte("x")},
					part{field: "file", filename: "b.txt", data: []byte("y")}, part{field: "id", data: []byte("x")})
			}},
		{name: "two files of the same name", status: 400, kind: "invalid", msg: `file name "a.txt" appears twice`,
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "a.txt", data: []byte("x")}, part{field: "file", filename: "dir/a.txt", data: []byte("y")})
			}},
		{name: "a name for a multipart upload", target: "/v1/documents?name=x.pdf", status: 400, kind: "invalid", msg: "name applies to raw bodies only",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "a.txt", data: []byte("x")})
			}},
		{name: "a multipart file name with control characters", status: 400, kind: "invalid", msg: "could not read the multipart body",
			body: func(t *testing.T) (string, []byte) {
				return multipartBody(t, part{field: "file", filename: "a\x01b.txt", data: []byte("x")})
			}},
		{name: "a raw body name with control characters", target: "/v1/documents?name=a%01b.txt", contentType: "text/plain", status: 400, kind: "invalid", msg: "name contains control characters",
			body: func(*testing.T) (string, []byte) { return "", []byte("x") }},
		{name: "an unsupported content type", contentType: "application/msword", status: 415, kind: "invalid", msg: `unsupported Content-Type "application/msword"`,
			body: func(*testing.T) (string, []byte) { return "", []byte("x") }},
		{name: "a missing content type", status: 415, kind: "invalid", msg: "missing Content-Type",
			body: func(*testing.T) (string, []byte) { return "", []byte("x") }},
		{name: "a malformed content type", contentType: "text/;;", status: 415, kind: "invalid", msg: "malformed Content-Type",
			body: func(*testing.T) (string, []byte) { return "", []byte("x") }},
		{name: "a legacy charset", contentType: "text/plain; charset=iso-8859-1", status: 415, kind: "invalid", msg: `unsupported charset "iso-8859-1"`,
			body: func(*testing.T) (string, []byte) { return "", []byte("Gr\xfc\xdfe") }},
		{name: "malformed JSON", contentType: "application/json", status: 400, kind: "invalid", msg: "malformed JSON",
			body: func(*testing.T) (string, []byte) { return "", []byte(`{"text": "x",}`) }},
		{name: "truncated JSON", contentType: "application/json", status: 400, kind: "invalid", msg: "unexpected end",
			body: func(*testing.T) (string, []byte) { return "", []byte(`{"text": "x"`) }},
		{name: "an empty JSON body", contentType: "application/json", status: 400, kind: "invalid", msg: "empty JSON body",
			body: func(*testing.T) (string, []byte) { return "", nil }},
		{name: "a JSON array", contentType: "application/json", status: 400, kind: "invalid", msg: "must be an object",
			body: func(*testing.T) (string, []byte) { return "", []byte(`[{"text":"x"}]`) }},
		{name: "JSON null", contentType: "application/json", status: 400, kind: "invalid", msg: "must be an object",
			body: func(*testing.T) (string, []byte) { return "", []byte(`null`) }},
		{name: "two JSON values", contentType: "application/json", status: 400, kind: "invalid", msg: "more than one value",
			body: func(*testing.T) (string, []byte) { return "", []byte(`{"text":"x"} {}`) }},
		{name: "an unknown JSON field", contentType: "application/json", status: 400, kind: "invalid", msg: `unknown JSON field "body"`,
			body: func(*testing.T) (string, []byte) { return "", []byte(`{"body":"x"}`) }},
		{name: "a JSON field that is no string", contentType: "application/json", status: 400, kind: "invalid", msg: `JSON field "text" must be a string`,
			body: func(*testing.T) (string, []byte) { return "", []byte(`{"text":42}`) }},
		{name: "JSON with empty text", contentType: "application/json", status: 400, kind: "invalid", msg: "text is empty",
			body: func(*testing.T) (string, []byte) { return "", []byte(`{"id":"x","text":"  "}`) }},
		{name: "JSON with an unknown corpus", contentType: "application/json", status: 400, kind: "invalid", msg: `unknown corpus "x"`,
			body: func(*testing.T) (string, []byte) { return "", []byte(`{"text":"t","corpus":"x"}`) }},
	}
	for _, tt := range tests {
		t.Run("it refuses "+tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ct, body := tt.body(t)
			if tt.contentType != "" {
				ct = tt.contentType
			}
			target := tt.target
			if target == "" {
				target = "/v1/documents"
			}
			wantError(t, e.post(t, target, ct, body), tt.status, tt.kind, tt.msg)
			if e.ingester.calls != 0 {
				t.Errorf("the ingester was called for a refused upload")
			}
		})
	}
}

func TestBodiesOverTheLimitAreRefusedWith413(t *testing.T) {
	const limit = 1 << 10
	big := bytes.Repeat([]byte("a"), limit+1)
	tests := []struct {
		name    string
		target  string
		ct      func(t *testing.T) (string, []byte)
		chunked bool // hide the length so the limit is hit while reading
	}{
		{name: "a raw upload with a declared length", target: "/v1/documents", ct: func(*testing.T) (string, []byte) { return "application/pdf", big }},
		{name: "a raw upload streamed without length", target: "/v1/documents", chunked: true, ct: func(*testing.T) (string, []byte) { return "text/plain", big }},
		{name: "a multipart upload streamed without length", target: "/v1/documents", chunked: true, ct: func(t *testing.T) (string, []byte) {
			return multipartBody(t, part{field: "file", filename: "big.pdf", data: big})
		}},
		{name: "a JSON document over the JSON limit", target: "/v1/documents", chunked: true, ct: func(*testing.T) (string, []byte) {
			return "application/json", []byte(`{"text":"` + strings.Repeat("b", limit/2+1) + `"}`)
		}},
		{name: "a ticket export", target: "/v1/tickets/import", chunked: true, ct: func(*testing.T) (string, []byte) { return "text/csv", big }},
	}
	for _, tt := range tests {
		t.Run("it refuses "+tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *httpapi.Config) { c.MaxUploadBytes = limit; c.MaxBodyBytes = limit / 2 })
			ct, body := tt.ct(t)
			req := newRequest(http.MethodPost, tt.target, body, tt.chunked)
			req.Header.Set("Content-Type", ct)
			rec := e.do(t, req)
			want := "limit of 1024 bytes (1 KiB)"
			if ct == "application/json" {
				want = "limit of 512 bytes"
			}
			wantError(t, rec, http.StatusRequestEntityTooLarge, "too_large", want)
			if e.ingester.calls != 0 {
				t.Errorf("the ingester was called for an oversized body")
			}
		})
	}
}

func TestIngestErrorsKeepThePartialReport(t *testing.T) {
	e := newEnv(t, nil)
	e.ingester.report = &ingest.Report{Documents: 1, Chunks: 4, Failed: 1, Files: []ingest.FileResult{
		{Source: "ok.md", Documents: 1, Chunks: 4, New: 1},
		{Source: "broken.pdf", Error: "no text layer"},
	}}
	e.ingester.err = assist.Errorf(assist.Invalid, "ingest", `broken.pdf: no text layer (needs OCR)`)
	ct, body := multipartBody(t, part{field: "file", filename: "ok.md", data: []byte("# ok")}, part{field: "file", filename: "broken.pdf", data: []byte("%PDF")})
	rec := e.post(t, "/v1/documents", ct, body)
	got := wantError(t, rec, http.StatusBadRequest, "invalid", "broken.pdf: no text layer")
	if got.Report == nil || len(got.Report.Files) != 2 || got.Report.Failed != 1 {
		t.Errorf("error body report = %+v, want both files and one failure", got.Report)
	}
}

func TestUploadsWithoutAnIngesterAreUnavailable(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.Ingester = nil })
	wantError(t, e.post(t, "/v1/documents", "text/plain", []byte("x")), http.StatusServiceUnavailable, "unavailable", "ingest is not configured")
	wantError(t, e.post(t, "/v1/tickets/import", "text/csv", []byte("x")), http.StatusServiceUnavailable, "unavailable", "ingest is not configured")
}

func TestAPanickingHandlerAnswersAJSON500WithoutInternals(t *testing.T) {
	e := newEnv(t, nil)
	e.ingester.panics = true
	rec := e.post(t, "/v1/documents", "text/plain", []byte("x"))
	wantError(t, rec, http.StatusInternalServerError, "internal", "internal error")
	if strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("body leaks the panic value: %s", rec.Body)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "handler panicked") || !strings.Contains(logs, "secret internal state") {
		t.Errorf("the panic is not logged: %s", logs)
	}
	// The server keeps serving.
	if rec := e.get(t, "/healthz"); rec.Code != http.StatusOK {
		t.Errorf("healthz after a panic: %d", rec.Code)
	}
}
