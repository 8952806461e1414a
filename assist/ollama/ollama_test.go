package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/assist/ollama"
)

// fakeOllama imitates the endpoints the client uses. Each embedding is
// [index, length]: the index parsed from texts named "t<index>", so tests
// can see order and batching.
type fakeOllama struct {
	mu       sync.Mutex
	batches  [][]string
	requests []map[string]any
	// embed, when set, answers /api/embed instead of the default.
	embed func(w http.ResponseWriter, r *http.Request, input []string)
}

func (f *fakeOllama) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/version":
		writeJSON(w, http.StatusOK, map[string]any{"version": "0.6.5"})
	case "/api/show":
		var req struct{ Model string }
		json.NewDecoder(r.Body).Decode(&req)
		if req.Model != "fake-embed" {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("model '%s' not found", req.Model)})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"model_info": map[string]any{
			"general.architecture": "bert", "bert.context_length": 8192, "bert.embedding_length": 1024,
		}})
	case "/api/tags":
		writeJSON(w, http.StatusOK, map[string]any{"models": []map[string]any{
			{"name": "other:latest", "model": "other:latest", "digest": "0000"},
			{"name": "fake-embed:latest", "model": "fake-embed:latest", "digest": "abc123"},
		}})
	case "/api/embed":
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		var input []string
		for _, v := range req["input"].([]any) {
			input = append(input, v.(string))
		}
		f.mu.Lock()
		f.batches = append(f.batches, input)
		f.requests = append(f.requests, req)
		f.mu.Unlock()
		if f.embed != nil {
			f.embed(w, r, input)
			return
		}
		if req["model"] != "fake-embed" {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("model '%s' not found", req["model"])})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"model": req["model"], "embeddings": fakeVectors(input)})
	default:
		http.NotFound(w, r)
	}
}

func fakeVectors(input []string) [][]float32 {
	out := make([][]float32, len(input))
	for i, s := range input {
		n, _ := strconv.Atoi(strings.TrimPrefix(s, "t"))
		out[i] = []float32{float32(n), float32(len(s))}
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func newFake(t *testing.T) (*fakeOllama, string) {
	t.Helper()
	f := &fakeOllama{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func newClient(t *testing.T, cfg ollama.Config) *ollama.Client {
	t.Helper()
	c, err := ollama.New(cfg, nil)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return c
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "t" + strconv.Itoa(i)
	}
	return out
}

// wantError fails unless err is an *assist.Error of kind with a message
// containing every fragment.
func wantError(t *testing.T, err error, kind assist.Kind, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind)
	}
	var ae *assist.Error
	if !errors.As(err, &ae) {
		t.Fatalf("got %T (%v), want *assist.Error", err, err)
	}
	if got := assist.KindOf(err); got != kind {
		t.Errorf("kind = %v, want %v (error: %v)", got, kind, err)
	}
	msg := assist.Message(err)
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("message %q does not contain %q", msg, f)
		}
	}
}

func TestNewValidatesTheConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      ollama.Config
		fragment string
	}{
		{"an empty URL is rejected", ollama.Config{}, "URL is empty"},
		{"a URL without scheme is rejected", ollama.Config{URL: "localhost:11434"}, "must start with http://"},
		{"an ftp URL is rejected", ollama.Config{URL: "ftp://host"}, "must start with http://"},
		{"a URL without host is rejected", ollama.Config{URL: "http://"}, "has no host"},
		{"a URL with a query is rejected", ollama.Config{URL: "http://host:11434/?a=b"}, "query or fragment"},
		{"a bad URL with a password does not repeat it", ollama.Config{URL: "http://u:secret@[::1"}, "not a valid URL"},
		{"a rejected URL has its password redacted", ollama.Config{URL: "http://u:secret@host/?q"}, `"http://u:xxxxx@host/?q"`},
		{"a port out of range is rejected", ollama.Config{URL: "http://host:99999"}, "invalid port"},
		{"an unparsable URL is rejected", ollama.Config{URL: "http://[::1"}, "not a valid URL"},
		{"a negative timeout is rejected", ollama.Config{URL: "http://host", Timeout: -time.Second}, "timeout"},
		{"a negative batch size is rejected", ollama.Config{URL: "http://host", BatchSize: -1}, "batch size"},
		{"a model name with spaces around it is rejected", ollama.Config{URL: "http://host", EmbedModel: " bge-m3"}, "spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ollama.New(tt.cfg, nil)
			if c != nil {
				t.Errorf("got a client, want none")
			}
			wantError(t, err, assist.Invalid, tt.fragment)
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}

	t.Run("a URL with credentials is accepted and shown redacted", func(t *testing.T) {
		c := newClient(t, ollama.Config{URL: "http://user:secret@127.0.0.1:11434"})
		if c.URL() != "http://user:xxxxx@127.0.0.1:11434" {
			t.Errorf("URL() = %q", c.URL())
		}
	})

	t.Run("a trailing slash is dropped from the URL", func(t *testing.T) {
		c := newClient(t, ollama.Config{URL: "http://127.0.0.1:11434/"})
		if c.URL() != "http://127.0.0.1:11434" {
			t.Errorf("URL() = %q", c.URL())
		}
	})
}

func TestEmbedBatchesInOrder(t *testing.T) {
	tests := []struct {
		name        string
		texts       int
		batchSize   int
		wantBatches []int
	}{
		{"one text is one request", 1, 2, []int{1}},
		{"texts filling the batches exactly need no extra request", 4, 2, []int{2, 2}},
		{"a remainder gets a request of its own", 5, 2, []int{2, 2, 1}},
		{"the default batch size is used when none is set", ollama.DefaultBatchSize + 3, 0, []int{ollama.DefaultBatchSize, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFake(t)
			c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed", BatchSize: tt.batchSize})
			in := texts(tt.texts)
			got, err := c.Embed(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fakeVectors(in), got); diff != "" {
				t.Errorf("vectors (-want +got):\n%s", diff)
			}
			var sizes []int
			for _, b := range f.batches {
				sizes = append(sizes, len(b))
			}
			if diff := cmp.Diff(tt.wantBatches, sizes); diff != "" {
				t.Errorf("batch sizes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEmbedLearnsTheModel(t *testing.T) {
	_, url := newFake(t)
	c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed"})
	if got := c.Model(); got != (assist.ModelInfo{Name: "fake-embed"}) {
		t.Errorf("before the first call Model() = %+v, want only the name", got)
	}
	if _, err := c.Embed(t.Context(), texts(3)); err != nil {
		t.Fatal(err)
	}
	want := assist.ModelInfo{Name: "fake-embed", Digest: "abc123", Dimension: 2, ContextLength: 8192}
	if diff := cmp.Diff(want, c.Model()); diff != "" {
		t.Errorf("Model() (-want +got):\n%s", diff)
	}
}

func TestEmbedSendsKeepAlive(t *testing.T) {
	tests := []struct {
		name      string
		keepAlive time.Duration
		want      any
	}{
		{"no keep-alive leaves the server default", 0, nil},
		{"a positive keep-alive is sent", 30 * time.Minute, "30m0s"},
		{"a negative keep-alive keeps the model loaded", -1, float64(-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFake(t)
			c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed", KeepAlive: tt.keepAlive})
			if _, err := c.Embed(t.Context(), texts(1)); err != nil {
				t.Fatal(err)
			}
			if got := f.requests[0]["keep_alive"]; got != tt.want {
				t.Errorf("keep_alive = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestEmbedRejectsInvalidInput(t *testing.T) {
	tests := []struct {
		name     string
		model    string
		texts    []string
		fragment string
	}{
		{"no texts are invalid", "fake-embed", nil, "list of texts is empty"},
		{"an empty text is invalid and named by position", "fake-embed", []string{"a", "", "c"}, "text 2 of 3 is empty"},
		{"a client without embedding model cannot embed", "", []string{"a"}, "no Ollama embedding model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFake(t)
			c := newClient(t, ollama.Config{URL: url, EmbedModel: tt.model})
			_, err := c.Embed(t.Context(), tt.texts)
			wantError(t, err, assist.Invalid, tt.fragment)
			if len(f.batches) != 0 {
				t.Errorf("sent %d requests, want none", len(f.batches))
			}
		})
	}
}

func TestEmbedTranslatesServerErrors(t *testing.T) {
	status := func(code int, body string) func(http.ResponseWriter, *http.Request, []string) {
		return func(w http.ResponseWriter, _ *http.Request, _ []string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		}
	}
	tests := []struct {
		name      string
		model     string
		embed     func(http.ResponseWriter, *http.Request, []string)
		kind      assist.Kind
		fragments []string
	}{
		{"a missing model is NotFound and names the pull command", "bge-m3", nil, assist.NotFound,
			[]string{"model bge-m3 not found on Ollama at http://", "run `ollama pull bge-m3`"}},
		{"a bad request is Invalid and passes on the server's reason", "fake-embed", status(400, `{"error":"input length exceeds maximum context length"}`), assist.Invalid,
			[]string{"rejected the request for model fake-embed (HTTP 400): input length exceeds maximum context length"}},
		{"a bad request with an HTML body is Invalid without the page", "fake-embed", status(400, `<html><body>bad</body></html>`), assist.Invalid,
			[]string{"rejected the request for model fake-embed (HTTP 400)"}},
		{"a too large request is TooLarge", "fake-embed", status(413, `too big`), assist.TooLarge, []string{"smaller batch size"}},
		{"a full queue is Unavailable", "fake-embed", status(503, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`), assist.Unavailable, []string{"busy", "503"}},
		{"a crashed runner is Unavailable", "fake-embed", status(500, `{"error":"llama runner process has terminated"}`), assist.Unavailable, []string{"failed to run model fake-embed", "server log"}},
		{"a gateway timeout is Timeout", "fake-embed", status(504, `<html>gateway timeout</html>`), assist.Timeout, []string{"did not answer in time"}},
		{"a proxy asking for credentials is Unavailable", "fake-embed", status(401, `{}`), assist.Unavailable, []string{"refused access"}},
		{"a response that is not JSON is Unavailable", "fake-embed", status(200, `<html>hello</html>`), assist.Unavailable, []string{"did not answer like Ollama", "--ollama-url"}},
		{"too few vectors are an internal error", "fake-embed", func(w http.ResponseWriter, _ *http.Request, in []string) {
			writeJSON(w, 200, map[string]any{"embeddings": fakeVectors(in[1:])})
		}, assist.Internal, []string{"returned 1 vectors for 2 texts"}},
		{"vectors of different lengths are an internal error", "fake-embed", func(w http.ResponseWriter, _ *http.Request, in []string) {
			writeJSON(w, 200, map[string]any{"embeddings": [][]float32{{1, 2}, {1}}})
		}, assist.Internal, []string{"vector of length 1 for text 2, want 2"}},
		{"a connection closed mid-response is Unavailable", "fake-embed", func(w http.ResponseWriter, _ *http.Request, _ []string) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, assist.Unavailable, []string{"is not reachable: start it with `ollama serve` or set --ollama-url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFake(t)
			f.embed = tt.embed
			c := newClient(t, ollama.Config{URL: url, EmbedModel: tt.model})
			got, err := c.Embed(t.Context(), []string{"t0", "t1"})
			if got != nil {
				t.Errorf("got vectors %v, want none", got)
			}
			wantError(t, err, tt.kind, tt.fragments...)
			if msg := assist.Message(err); strings.Contains(msg, "<html>") {
				t.Errorf("message %q passes on an HTML page", msg)
			}
		})
	}
}

func TestEmbedDistinguishesTimeoutFromCancellation(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request, _ []string) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	t.Run("a request slower than the timeout is Timeout", func(t *testing.T) {
		f, url := newFake(t)
		f.embed = slow
		c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed", Timeout: 50 * time.Millisecond})
		_, err := c.Embed(t.Context(), texts(1))
		wantError(t, err, assist.Timeout, "did not answer within 50ms")
	})
	t.Run("a caller's deadline is Timeout", func(t *testing.T) {
		f, url := newFake(t)
		f.embed = slow
		c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed"})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Embed(ctx, texts(1))
		wantError(t, err, assist.Timeout, "deadline passed")
	})
	t.Run("a caller's cancellation is Canceled", func(t *testing.T) {
		f, url := newFake(t)
		f.embed = slow
		c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed"})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := c.Embed(ctx, texts(1))
		wantError(t, err, assist.Canceled)
	})
}

func TestEmbedRejectsAChangedDimension(t *testing.T) {
	f, url := newFake(t)
	c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed"})
	if _, err := c.Embed(t.Context(), texts(1)); err != nil {
		t.Fatal(err)
	}
	f.embed = func(w http.ResponseWriter, _ *http.Request, in []string) {
		writeJSON(w, 200, map[string]any{"embeddings": [][]float32{{1, 2, 3}}})
	}
	_, err := c.Embed(t.Context(), texts(1))
	wantError(t, err, assist.Conflict, "length 3 instead of 2")
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()

	want := []string{"Ollama at " + url + " is not reachable: start it with `ollama serve` or set --ollama-url"}
	tests := []struct {
		name string
		call func(c *ollama.Client) error
	}{
		{"embedding", func(c *ollama.Client) error { _, err := c.Embed(t.Context(), texts(1)); return err }},
		{"checking", func(c *ollama.Client) error { return c.Check(t.Context()) }},
		{"showing the model", func(c *ollama.Client) error { _, err := c.ShowEmbedModel(t.Context()); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" a server that is down is Unavailable", func(t *testing.T) {
			c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed"})
			wantError(t, tt.call(c), assist.Unavailable, want...)
		})
	}
}

func TestTLSProblemsAreUnavailable(t *testing.T) {
	t.Run("an untrusted certificate is named", func(t *testing.T) {
		srv := httptest.NewTLSServer(&fakeOllama{})
		t.Cleanup(srv.Close)
		c := newClient(t, ollama.Config{URL: srv.URL, EmbedModel: "fake-embed"})
		wantError(t, c.Check(t.Context()), assist.Unavailable, "TLS certificate of Ollama at "+srv.URL+" is not trusted")
	})
	t.Run("https to a plain HTTP server names the fix", func(t *testing.T) {
		_, url := newFake(t)
		url = "https://" + strings.TrimPrefix(url, "http://")
		c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed"})
		wantError(t, c.Check(t.Context()), assist.Unavailable, "does not speak TLS: use an http:// URL")
	})
}

func TestCheck(t *testing.T) {
	t.Run("an installed model passes and its metadata is known", func(t *testing.T) {
		_, url := newFake(t)
		c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed"})
		if err := c.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := assist.ModelInfo{Name: "fake-embed", Digest: "abc123", Dimension: 2, ContextLength: 8192}
		if diff := cmp.Diff(want, c.Model()); diff != "" {
			t.Errorf("Model() (-want +got):\n%s", diff)
		}
	})
	t.Run("a missing model is NotFound and names the pull command", func(t *testing.T) {
		_, url := newFake(t)
		c := newClient(t, ollama.Config{URL: url, EmbedModel: "bge-m3"})
		wantError(t, c.Check(t.Context()), assist.NotFound, "run `ollama pull bge-m3`")
	})
	t.Run("without an embedding model only reachability is checked", func(t *testing.T) {
		f, url := newFake(t)
		c := newClient(t, ollama.Config{URL: url})
		if err := c.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(f.batches) != 0 {
			t.Errorf("embedded %d batches, want none", len(f.batches))
		}
	})
	t.Run("a server that is not Ollama is Unavailable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		c := newClient(t, ollama.Config{URL: srv.URL})
		wantError(t, c.Check(t.Context()), assist.Unavailable, "does not offer the Ollama API")
	})
}

func TestClientIsSafeForConcurrentUse(t *testing.T) {
	_, url := newFake(t)
	c := newClient(t, ollama.Config{URL: url, EmbedModel: "fake-embed", BatchSize: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			in := texts(10)
			got, err := c.Embed(t.Context(), in)
			if err == nil && !cmp.Equal(fakeVectors(in), got) {
				err = fmt.Errorf("vectors out of order: %v", got)
			}
			_ = c.Model()
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCredentialsInTheURLAreSentAsBasicAuth(t *testing.T) {
	f := &fakeOllama{}
	var gotUser, gotPass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	url := "http://amt:secret@" + strings.TrimPrefix(srv.URL, "http://")
	c := newClient(t, ollama.Config{URL: url, EmbedModel: "bge-m3"})
	err := c.Check(t.Context())
	if gotUser != "amt" || gotPass != "secret" {
		t.Errorf("basic auth %q:%q, want amt:secret", gotUser, gotPass)
	}
	wantError(t, err, assist.NotFound, "amt:xxxxx@")
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}
