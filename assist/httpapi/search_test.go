package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/httpapi"
	"amtsassist/rag"

	"github.com/google/go-cmp/cmp"
)

func TestSearchReturnsHitsInTheStableShape(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.get(t, "/v1/search?q=miete&corpus=regulations&k=5")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	resp := decodeJSON[struct {
		Hits []map[string]any `json:"hits"`
	}](t, rec.Body)
	if len(resp.Hits) != 1 {
		t.Fatalf("got %d hits, want 1: %s", len(resp.Hits), rec.Body)
	}
	h := resp.Hits[0]
	for _, key := range []string{"doc_id", "chunk_id", "citation", "page", "score", "text", "corpus", "cite"} {
		if _, ok := h[key]; !ok {
			t.Errorf("hit lacks %q: %v", key, h)
		}
	}
	if h["citation"] != "§ 19 Abs. 1 WoGG" {
		t.Errorf("citation = %v", h["citation"])
	}
}

func TestSearchWithoutHitsReturnsAnEmptyArray(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.get(t, "/v1/search?q=nichtvorhanden")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"hits":[]}` {
		t.Fatalf("got %d %s, want 200 {\"hits\":[]}", rec.Code, rec.Body)
	}
}

func TestSearchParsesEveryParameterIntoTheQuery(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  rag.Query
	}{
		{"a bare query gets the defaults", "q=miete",
			rag.Query{Text: "miete", K: 10}},
		{"corpus accepts a comma list and repeats and drops duplicates", "q=x&corpus=regulations,tickets&corpus=cases&corpus=tickets",
			rag.Query{Text: "x", K: 10, Filter: rag.Filter{Corpus: []assist.Corpus{"regulations", "tickets", "cases"}}}},
		{"every filter, k, mode and distinct are passed on", "q=x&authority=B%C3%BCrgeramt&authority=LRA%2C+Bautzen&source=a.pdf&doc_id=WoGG&status=open&k=3&mode=lexical&distinct=true",
			rag.Query{Text: "x", K: 3, Mode: rag.ModeLexical, DistinctDocs: true, Filter: rag.Filter{
				Authority: []string{"Bürgeramt", "LRA, Bautzen"}, Source: []string{"a.pdf"}, DocID: []string{"WoGG"}, Status: []string{"open"}}}},
		{"mode auto is the default mode", "q=x&mode=auto",
			rag.Query{Text: "x", K: 10}},
		{"newlines in a long question become spaces", "q=" + url.QueryEscape("Mein Vermieter\nkündigt"),
			rag.Query{Text: "Mein Vermieter kündigt", K: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			rec := e.get(t, "/v1/search?"+tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.want, e.index.lastQuery()); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSearchRejectsBadParameters(t *testing.T) {
	tests := []struct {
		name, query string
		msg         string
	}{
		{"a missing q", "k=3", "q is required"},
		{"a malformed query string", "q=%zz", "malformed query string"},
		{"a blank q", "q=+++", "q is required"},
		{"an unknown corpus", "q=x&corpus=laws", `unknown corpus "laws"`},
		{"an unknown corpus in a list", "q=x&corpus=regulations,foo", `unknown corpus "foo"`},
		{"k of zero", "q=x&k=0", "k must be an integer between 1 and 200"},
		{"k above the maximum", "q=x&k=201", "between 1 and 200"},
		{"a negative k", "q=x&k=-1", "between 1 and 200"},
		{"a k that is no number", "q=x&k=ten", "between 1 and 200"},
		{"a huge k", "q=x&k=99999999999999999999999", "between 1 and 200"},
		{"an unknown mode", "q=x&mode=magic", `unknown mode "magic"`},
		{"distinct that is no boolean", "q=x&distinct=maybe", "distinct must be true or false"},
		{"an unknown parameter", "q=x&corpora=cases", `unknown query parameter "corpora"`},
		{"q given twice", "q=x&q=y", `"q" given 2 times`},
		{"q with invalid UTF-8", "q=%ff%fe", "q is not valid UTF-8"},
		{"q with a control character", "q=a%00b", "q contains control characters"},
		{"an overlong q", "q=" + strings.Repeat("a", 16<<10+1), "q is longer than 16384 bytes"},
		{"a filter with invalid UTF-8", "q=x&authority=%c3", "authority is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run("it refuses "+tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			wantError(t, e.get(t, "/v1/search?"+tt.query), http.StatusBadRequest, "invalid", tt.msg)
		})
	}
}

// TestSearchMapsIndexErrorsToStatuses exercises the one error path with
// every kind an index can return.
func TestSearchMapsIndexErrorsToStatuses(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		kind   string
		msg    string
	}{
		{"invalid", assist.Errorf(assist.Invalid, "local search", "dense mode needs vectors"), 400, "invalid", "dense mode needs vectors"},
		{"not found", assist.Errorf(assist.NotFound, "local search", "no such collection"), 404, "not_found", "no such collection"},
		{"too large", assist.Errorf(assist.TooLarge, "local search", "too many terms"), 413, "too_large", "too many terms"},
		{"unavailable", assist.E(assist.Unavailable, "qdrant search", errors.New("dial tcp 10.0.0.5:6333: refused")), 503, "unavailable", "a dependency is unavailable"},
		{"timeout", context.DeadlineExceeded, 504, "timeout", "timed out"},
		{"canceled", context.Canceled, 499, "canceled", "canceled"},
		{"conflict", assist.Errorf(assist.Conflict, "bind", "index built with another model"), 409, "conflict", "another model"},
		{"unclassified", errors.New("secret: /var/lib/amtsassist/index corrupted"), 500, "internal", "internal error"},
		{"internal without message", assist.E(assist.Internal, "local search", errors.New("nil map at /home/x")), 500, "internal", "internal error"},
	}
	for _, tt := range tests {
		t.Run("an index error of kind "+tt.name+" becomes "+http.StatusText(tt.status), func(t *testing.T) {
			e := newEnv(t, nil)
			e.index.searchErr = tt.err
			rec := e.get(t, "/v1/search?q=miete")
			wantError(t, rec, tt.status, tt.kind, tt.msg)
			for _, leak := range []string{"secret", "/home/x", "10.0.0.5"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("body leaks %q: %s", leak, rec.Body)
				}
			}
			if !strings.Contains(e.logs.String(), tt.err.Error()) {
				t.Errorf("the full error %q is not in the log", tt.err)
			}
		})
	}
}

func TestStatusOfMapsEveryKind(t *testing.T) {
	tests := []struct {
		kind   assist.Kind
		status int
	}{
		{assist.Other, 500}, {assist.Invalid, 400}, {assist.NotFound, 404}, {assist.TooLarge, 413},
		{assist.Unavailable, 503}, {assist.Timeout, 504}, {assist.Canceled, 499}, {assist.Conflict, 409}, {assist.Internal, 500},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String()+" maps to its status", func(t *testing.T) {
			if got := httpapi.StatusOf(assist.Errorf(tt.kind, "op", "m")); got != tt.status {
				t.Errorf("StatusOf = %d, want %d", got, tt.status)
			}
		})
	}
}
