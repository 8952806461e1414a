package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/httpapi"
	"amtsassist/ingest"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

type checkFunc func(context.Context) error

func (f checkFunc) Check(ctx context.Context) error { return f(ctx) }

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := httpapi.New(httpapi.Config{Index: &fakeIndex{}, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  httpapi.Config
		kind assist.Kind
	}{
		{"a missing index", httpapi.Config{}, assist.Invalid},
		{"a negative limit", httpapi.Config{Index: &fakeIndex{}, MaxBodyBytes: -1}, assist.Invalid},
		{"a nil check", httpapi.Config{Index: &fakeIndex{}, Checks: map[string]assist.Checker{"ollama": nil}}, assist.Invalid},
		{"a registry already holding the metrics", httpapi.Config{Index: &fakeIndex{}, Registry: reg}, assist.Conflict},
	}
	for _, tt := range tests {
		t.Run("it refuses "+tt.name, func(t *testing.T) {
			_, err := httpapi.New(tt.cfg)
			if assist.KindOf(err) != tt.kind {
				t.Errorf("err = %v, want kind %v", err, tt.kind)
			}
		})
	}
}

func TestHealthzIsAlwaysOK(t *testing.T) {
	e := newEnv(t, nil)
	e.index.statsErr = assist.Errorf(assist.Unavailable, "stats", "index closed")
	rec := e.get(t, "/healthz")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	body := decodeJSON[map[string]string](t, rec.Body)
	if diff := cmp.Diff(map[string]string{"status": "ok", "version": "test-1"}, body); diff != "" {
		t.Error(diff)
	}
}

func TestReadyz(t *testing.T) {
	down := checkFunc(func(context.Context) error {
		return assist.E(assist.Unavailable, "ollama check", errors.New("dial tcp 127.0.0.1:11434: connection refused"))
	})
	up := checkFunc(func(context.Context) error { return nil })
	tests := []struct {
		name       string
		statsErr   error
		checks     map[string]assist.Checker
		status     int
		wantChecks map[string]string
		msg        string
	}{
		{"it is ready when the index and every check work", nil, map[string]assist.Checker{"ollama": up},
			200, map[string]string{"index": "ok", "ollama": "ok"}, ""},
		{"it names a failed check", nil, map[string]assist.Checker{"ollama": down, "qdrant": up},
			503, map[string]string{"index": "ok", "ollama": "a dependency is unavailable", "qdrant": "ok"}, "not ready: ollama failed"},
		{"it names a failing index", assist.Errorf(assist.Unavailable, "stats", "index is closed"), nil,
			503, map[string]string{"index": "index is closed"}, "not ready: index failed"},
		{"it survives a panicking check", nil, map[string]assist.Checker{"broken": checkFunc(func(context.Context) error { panic("boom") })},
			503, map[string]string{"index": "ok", "broken": "check panicked"}, "not ready: broken failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *httpapi.Config) { c.Checks = tt.checks })
			e.index.statsErr = tt.statsErr
			rec := e.get(t, "/readyz")
			var checks map[string]string
			if tt.status == 200 {
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				checks = decodeJSON[struct {
					Checks map[string]string `json:"checks"`
				}](t, rec.Body).Checks
			} else {
				checks = wantError(t, rec, tt.status, "unavailable", tt.msg).Checks
				if strings.Contains(rec.Body.String(), "11434") {
					t.Errorf("body leaks the dial error: %s", rec.Body)
				}
			}
			if diff := cmp.Diff(tt.wantChecks, checks); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnknownRoutesAndMethodsAnswerJSON(t *testing.T) {
	e := newEnv(t, nil)
	wantError(t, e.get(t, "/v1/nothing"), http.StatusNotFound, "not_found", "no route for GET /v1/nothing")
	wantError(t, e.get(t, "/v1/search/"), http.StatusNotFound, "not_found", "no route")
	wantError(t, e.post(t, "/v1/search?q=x", "text/plain", nil), http.StatusMethodNotAllowed, "invalid", "method POST is not allowed on /v1/search")
}

func TestRequestIDs(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"a sane id is echoed", "req-42.a_b:c", true},
		{"a missing id is generated", "", false},
		{"an id with spaces is replaced", "a b", false},
		{"an id with a newline is replaced", "a\nlevel=ERROR", false},
		{"an overlong id is replaced", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			req := httptest.NewRequest(http.MethodGet, "/v1/search?k=0", nil)
			if tt.sent != "" {
				req.Header.Set(httpapi.RequestIDHeader, tt.sent)
			}
			rec := e.do(t, req)
			got := rec.Header().Get(httpapi.RequestIDHeader)
			if tt.echoed && got != tt.sent {
				t.Errorf("X-Request-ID = %q, want %q echoed", got, tt.sent)
			}
			if !tt.echoed && !hex32.MatchString(got) {
				t.Errorf("X-Request-ID = %q, want a generated id", got)
			}
			if body := decodeError(t, rec); body.Error.RequestID != got {
				t.Errorf("error body request_id = %q, header %q", body.Error.RequestID, got)
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(e.logs.String())), &line); err != nil {
				t.Fatalf("want one JSON access log line: %v: %s", err, e.logs)
			}
			if line["request_id"] != got || line["msg"] != "http request" || line["route"] != "/v1/search" || line["status"] != float64(400) {
				t.Errorf("access log line = %v", line)
			}
		})
	}
}

func TestMetricsExposeLatencyIngestAndIndexSize(t *testing.T) {
	e := newEnv(t, nil)
	e.get(t, "/v1/search?q=miete")
	e.post(t, "/v1/documents", "text/plain", []byte("Vermerk"))
	e.get(t, "/nowhere/42")
	rec := e.get(t, "/metrics")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	text := rec.Body.String()
	for _, want := range []string{
		"# TYPE amtsassist_http_request_duration_seconds histogram",
		`amtsassist_http_request_duration_seconds_bucket{method="GET",route="/v1/search",status="200",le="0.005"}`,
		`amtsassist_http_request_duration_seconds_count{method="POST",route="/v1/documents",status="200"} 1`,
		`amtsassist_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
		`amtsassist_ingest_documents_total{endpoint="documents"} 1`,
		`amtsassist_ingest_chunks_total{endpoint="documents"} 3`,
		`amtsassist_ingest_failed_total{endpoint="documents"} 0`,
		"amtsassist_index_up 1",
		"amtsassist_index_chunks 2",
		`amtsassist_index_corpus_chunks{corpus="tickets"} 1`,
		`amtsassist_index_corpus_chunks{corpus="cases"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, "/nowhere/42") {
		t.Errorf("an unmatched path became a label value")
	}
}

func TestMetricsCountFailedIngestsAndAnUnreadableIndex(t *testing.T) {
	e := newEnv(t, nil)
	e.ingester.err = assist.Errorf(assist.Unavailable, "embed", "ollama is not reachable")
	e.ingester.report = &ingest.Report{}
	e.index.statsErr = errors.New("disk gone")
	ct, body := multipartBody(t, part{field: "file", filename: "a.md", data: []byte("a")}, part{field: "file", filename: "b.md", data: []byte("b")})
	wantError(t, e.post(t, "/v1/documents", ct, body), http.StatusServiceUnavailable, "unavailable", "ollama is not reachable")
	text := e.get(t, "/metrics").Body.String()
	for _, want := range []string{`amtsassist_ingest_failed_total{endpoint="documents"} 2`, "amtsassist_index_up 0"} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestOpenAPIDescribesExactlyTheRoutes walks gin's routes and the served
// document's paths and fails when either has one the other lacks.
func TestOpenAPIDescribesExactlyTheRoutes(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.get(t, "/openapi.json")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			var o struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || len(o.Responses) == 0 {
				t.Errorf("%s %s has no responses", method, path)
			}
		}
	}
	var routed []string
	for _, r := range e.srv.Routes() {
		routed = append(routed, r.Method+" "+r.Path)
	}
	sort.Strings(documented)
	sort.Strings(routed)
	if diff := cmp.Diff(routed, documented); diff != "" {
		t.Errorf("routes (-gin +openapi):\n%s", diff)
	}
}

// TestOpenAPIReferencesResolve catches typos in $ref, which the path test
// cannot see.
func TestOpenAPIReferencesResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`"\$ref":\s*"#/components/(\w+)/(\w+)"`).FindAllStringSubmatch(string(httpapi.OpenAPI), -1)
	if len(refs) == 0 {
		t.Fatal("no references found")
	}
	comps := doc["components"].(map[string]any)
	for _, m := range refs {
		group, _ := comps[m[1]].(map[string]any)
		if _, ok := group[m[2]]; !ok {
			t.Errorf("unresolved reference #/components/%s/%s", m[1], m[2])
		}
	}
}

func TestAPITokenGuardsTheV1Routes(t *testing.T) {
	tests := []struct {
		name, target, auth string
		status             int
	}{
		{"a request without a token is refused", "/v1/search?q=miete", "", 401},
		{"a wrong token is refused", "/v1/search?q=miete", "Bearer wrong", 401},
		{"a token with a longer prefix is refused", "/v1/search?q=miete", "Bearer s3cret-and-more", 401},
		{"another scheme is refused", "/v1/search?q=miete", "Basic s3cret", 401},
		{"the right token is accepted", "/v1/search?q=miete", "Bearer s3cret", 200},
		{"the scheme is case-insensitive", "/v1/search?q=miete", "bearer s3cret", 200},
		{"liveness needs no token", "/healthz", "", 200},
		{"readiness needs no token", "/readyz", "", 200},
		{"metrics need no token", "/metrics", "", 200},
		{"the OpenAPI document needs no token", "/openapi.json", "", 200},
	}
	e := newEnv(t, func(c *httpapi.Config) { c.APIToken = "s3cret" })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := e.do(t, req)
			if tt.status == 401 {
				wantError(t, rec, 401, "unauthorized", "missing or wrong bearer token")
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			if rec.Code != tt.status {
				t.Errorf("status %d: %s", rec.Code, rec.Body)
			}
		})
	}
	t.Run("uploads are refused before the body is read", func(t *testing.T) {
		wantError(t, e.post(t, "/v1/documents", "text/plain", []byte("x")), 401, "unauthorized")
		if e.ingester.calls != 0 {
			t.Error("the ingester was called without a token")
		}
	})
}
