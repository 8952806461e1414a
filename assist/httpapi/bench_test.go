package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkSearchOverhead measures what the API adds to a search: routing,
// middleware, parameter parsing and JSON rendering (the fake index is
// nearly free).
func BenchmarkSearchOverhead(b *testing.B) {
	e := newEnv(b, nil)
	req := httptest.NewRequest(http.MethodGet, "/v1/search?q=miete&corpus=regulations,tickets&k=10&distinct=true", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkMultipartUpload measures reading a 1 MiB multipart upload.
func BenchmarkMultipartUpload(b *testing.B) {
	e := newEnv(b, nil)
	ct, body := multipartBody(b, part{field: "file", filename: "a.pdf", data: bytes.Repeat([]byte("x"), 1<<20)}, part{field: "corpus", data: []byte("cases")})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rec := e.post(b, "/v1/documents", ct, body)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
