package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"amtsassist/assist/httpapi"
)

// checkHostile asserts the invariants every answer to outside input keeps:
// a handled status (a panic would surface as 500 through the recovery
// middleware) and, for errors, the JSON error shape.
func checkHostile(t *testing.T, rec *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	for _, s := range allowed {
		if rec.Code == s {
			if rec.Code >= 400 {
				decodeError(t, rec)
			}
			return
		}
	}
	t.Fatalf("status %d not in %v: %s", rec.Code, allowed, rec.Body)
}

func FuzzPostDocuments(f *testing.F) {
	ct, mp := multipartBody(f, part{field: "file", filename: "a.pdf", data: []byte("%PDF")}, part{field: "corpus", data: []byte("cases")})
	f.Add(ct, "corpus=cases", mp)
	f.Add("application/json", "", []byte(`{"text":"x","id":"../../a"}`))
	f.Add("application/json", "format=markdown", []byte(`{"text":"\u0000"}`))
	f.Add("text/plain; charset=utf-8", "name=..%2F..%2Fx&title=%00", []byte("abc"))
	f.Add("multipart/form-data; boundary=x", "", []byte("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--x--"))
	f.Add("application/pdf", "id=a&id=b", []byte("x"))
	e := newEnv(f, func(c *httpapi.Config) { c.MaxUploadBytes = 4096; c.MaxBodyBytes = 1024 })
	f.Fuzz(func(t *testing.T, contentType, query string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/documents", bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", contentType)
		checkHostile(t, e.do(t, req), 200, 400, 413, 415)
	})
}

func FuzzImportTickets(f *testing.F) {
	f.Add("text/csv", "columns=subject%3Dtitle", []byte("title\nx\n"))
	f.Add("application/x-ndjson", "columns=%3D%2C%3D", []byte("{}\n"))
	ct, mp := multipartBody(f, part{field: "file", filename: "t", data: []byte("a")}, part{field: "format", data: []byte("jsonl")})
	f.Add(ct, "", mp)
	e := newEnv(f, func(c *httpapi.Config) { c.MaxUploadBytes = 4096 })
	f.Fuzz(func(t *testing.T, contentType, query string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/tickets/import", bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", contentType)
		checkHostile(t, e.do(t, req), 200, 400, 413, 415)
	})
}

func FuzzSearch(f *testing.F) {
	for _, q := range []string{"q=miete", "q=x&corpus=,,,", "q=%ff", "k=1e3&q=a", "q=a&mode=%00", "q=a&distinct=1&corpus=tickets&status=closed", "q=%", ";;&&=="} {
		f.Add(q)
	}
	e := newEnv(f, nil)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/search", nil)
		req.URL.RawQuery = rawQuery
		checkHostile(t, e.do(t, req), 200, 400)
	})
}
