package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/httpapi"
	"amtsassist/ingest"
	"amtsassist/rag"
)

// fakeIndex serves a fixed set of chunks: Search returns those that pass
// the filter and contain the query text, and records the last query.
type fakeIndex struct {
	mu        sync.Mutex
	chunks    []assist.Chunk
	searchErr error
	statsErr  error
	last      rag.Query
}

func (f *fakeIndex) PutDocuments(context.Context, []rag.DocumentData) error { return nil }
func (f *fakeIndex) Document(context.Context, string) (rag.DocInfo, error) {
	return rag.DocInfo{}, assist.Errorf(assist.NotFound, "fake", "no document")
}
func (f *fakeIndex) Documents(context.Context, rag.Filter) ([]rag.DocInfo, error) { return nil, nil }
func (f *fakeIndex) DeleteDocuments(context.Context, rag.Filter) (int, error)     { return 0, nil }
func (f *fakeIndex) Chunk(context.Context, string) (assist.Chunk, error) {
	return assist.Chunk{}, assist.Errorf(assist.NotFound, "fake", "no chunk")
}
func (f *fakeIndex) Close() error { return nil }

func (f *fakeIndex) Search(_ context.Context, q rag.Query) ([]rag.Hit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = q
	if f.searchErr != nil {
		return nil, f.searchErr
	}
	var hits []rag.Hit
	for _, c := range f.chunks {
		if q.Filter.Match(&c) && strings.Contains(strings.ToLower(c.Text), strings.ToLower(q.Text)) {
			hits = append(hits, rag.Hit{Chunk: c, Score: 1 / float64(len(hits)+1)})
		}
	}
	if len(hits) > q.K {
		hits = hits[:q.K]
	}
	return hits, nil
}

func (f *fakeIndex) Stats(context.Context) (rag.Stats, error) {
	if f.statsErr != nil {
		return rag.Stats{}, f.statsErr
	}
	st := rag.Stats{Documents: 2, Chunks: len(f.chunks), ByCorpus: map[assist.Corpus]int{}}
	for _, c := range f.chunks {
		st.ByCorpus[c.Corpus]++
	}
	return st, nil
}

func (f *fakeIndex) lastQuery() rag.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// fakeIngester records what it was asked to ingest and answers with a
// report derived from the inputs, or with err.
type fakeIngester struct {
	mu     sync.Mutex
	inputs []ingest.Input
	opts   ingest.Options
	calls  int
	err    error
	report *ingest.Report
	panics bool
}

func (f *fakeIngester) IngestInputs(_ context.Context, inputs []ingest.Input, opts ingest.Options) (ingest.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panics {
		panic("secret internal state")
	}
	f.calls++
	f.inputs, f.opts = inputs, opts
	if f.report != nil {
		return *f.report, f.err
	}
	rep := ingest.Report{Documents: len(inputs), New: len(inputs), Chunks: 3 * len(inputs)}
	for _, in := range inputs {
		rep.Files = append(rep.Files, ingest.FileResult{Source: in.Name, Format: opts.Format, Documents: 1, Chunks: 3, New: 1})
	}
	return rep, f.err
}

var testChunks = []assist.Chunk{
	{ID: "WoGG#19", DocID: "WoGG", Corpus: assist.CorpusRegulations, Source: "laws/WoGG.xml", Ordinal: 0,
		Text:     "Höchstbeträge für Miete und Belastung nach § 12",
		Citation: assist.Citation{Law: "WoGG", Section: "§ 19", Paragraph: "1"}},
	{ID: "ticket:7#0", DocID: "ticket:7", Corpus: assist.CorpusTickets, Authority: "Bürgeramt", Ordinal: 0,
		Text: "Drucker druckt nicht, Miete der Geräte", Meta: map[string]string{"status": "closed"}},
}

type env struct {
	srv      *httpapi.Server
	index    *fakeIndex
	ingester *fakeIngester
	logs     *syncBuffer
}

// syncBuffer collects log output written from handler goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newEnv builds a server on fakes; edit adjusts the config before New.
func newEnv(t testing.TB, edit func(*httpapi.Config)) *env {
	t.Helper()
	e := &env{index: &fakeIndex{chunks: testChunks}, ingester: &fakeIngester{}, logs: &syncBuffer{}}
	cfg := httpapi.Config{
		Index: e.index, Ingester: e.ingester, Version: "test-1",
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := httpapi.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	return e
}

func (e *env) do(t testing.TB, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func (e *env) get(t testing.TB, target string) *httptest.ResponseRecorder {
	t.Helper()
	return e.do(t, httptest.NewRequest(http.MethodGet, target, nil))
}

func (e *env) post(t testing.TB, target, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.do(t, req)
}

// part is one multipart part: a file when filename is set or the field is "file".
type part struct {
	field, filename, contentType string
	data                         []byte
}

func multipartBody(t testing.TB, parts ...part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := make(map[string][]string)
		disp := `form-data; name="` + p.field + `"`
		if p.filename != "" {
			disp += `; filename="` + p.filename + `"`
		}
		h["Content-Disposition"] = []string{disp}
		if p.contentType != "" {
			h["Content-Type"] = []string{p.contentType}
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// decodeError parses an error body and fails unless it has the error shape.
func decodeError(t testing.TB, rec *httptest.ResponseRecorder) httpapi.ErrorBody {
	t.Helper()
	var body httpapi.ErrorBody
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type = %q, want JSON; body %s", ct, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, rec.Body)
	}
	if body.Error.Kind == "" || body.Error.Message == "" || body.Error.RequestID == "" {
		t.Fatalf("error body lacks kind, message or request_id: %s", rec.Body)
	}
	return body
}

// wantError checks status, kind and that the message contains each of msgs.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, kind string, msgs ...string) httpapi.ErrorBody {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	body := decodeError(t, rec)
	if body.Error.Kind != kind {
		t.Errorf("kind = %q, want %q", body.Error.Kind, kind)
	}
	for _, m := range msgs {
		if !strings.Contains(body.Error.Message, m) {
			t.Errorf("message %q does not contain %q", body.Error.Message, m)
		}
	}
	return body
}

func decodeJSON[T any](t testing.TB, r io.Reader) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}

// newRequest builds a request; chunked hides the body length, as a client
// streaming an upload would.
func newRequest(method, target string, body []byte, chunked bool) *http.Request {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if chunked {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = -1
	}
	return req
}
