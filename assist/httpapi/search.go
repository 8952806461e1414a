package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/rag"

	"github.com/gin-gonic/gin"
)

// maxQueryBytes bounds q. Lay questions run to a few thousand characters;
// anything much longer is not a question.
const maxQueryBytes = 16 << 10

// maxFilterValues bounds the alternatives of one filter parameter.
const maxFilterValues = 100

// SearchResponse is the body of GET /v1/search.
type SearchResponse struct {
	Hits []rag.HitView `json:"hits"`
}

var searchParams = map[string]bool{
	"q": true, "corpus": true, "authority": true, "source": true, "doc_id": true,
	"status": true, "k": true, "mode": true, "distinct": true,
}

// search answers GET /v1/search through the Retriever.
func (s *Server) search(c *gin.Context) {
	q, err := parseSearch(c.Request)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	hits, err := s.retriever.Search(c.Request.Context(), q)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	resp := SearchResponse{Hits: make([]rag.HitView, 0, len(hits))}
	for _, h := range hits {
		resp.Hits = append(resp.Hits, rag.View(h))
	}
	c.JSON(http.StatusOK, resp)
}

// parseSearch turns the query string into a rag.Query, naming the first
// parameter that is wrong. Filters other than corpus are repeatable only:
// authority names and sources may contain commas.
func parseSearch(r *http.Request) (rag.Query, error) {
	const op = "search"
	var (
		q    rag.Query
		text string
	)
	params, err := parseQuery(op, r)
	if err != nil {
		return q, err
	}
	for k := range params {
		if !searchParams[k] {
			return q, assist.Errorf(assist.Invalid, op, "unknown query parameter %.100q (valid: q, corpus, authority, source, doc_id, status, k, mode, distinct)", k)
		}
	}
	single := func(name string) (string, error) {
		vs := params[name]
		if len(vs) > 1 {
			return "", assist.Errorf(assist.Invalid, op, "query parameter %.100q given %d times", name, len(vs))
		}
		if len(vs) == 0 {
			return "", nil
		}
		return vs[0], nil
	}

	text, err = single("q")
	if err != nil {
		return q, err
	}
	if len(text) > maxQueryBytes {
		return q, assist.Errorf(assist.Invalid, op, "q is longer than %d bytes", maxQueryBytes)
	}
	if q.Text, err = cleanQueryText(op, text); err != nil {
		return q, err
	}
	if q.Text == "" {
		return q, assist.Errorf(assist.Invalid, op, "query parameter q is required")
	}

	for _, v := range params["corpus"] {
		if _, err := cleanValue(op, "corpus", v, maxFieldBytes); err != nil {
			return q, err
		}
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			c, err := assist.ParseCorpus(name)
			if err != nil {
				return q, &assist.Error{Op: op, Kind: assist.Invalid, Err: err}
			}
			if !containsCorpus(q.Filter.Corpus, c) {
				q.Filter.Corpus = append(q.Filter.Corpus, c)
			}
		}
	}
	for _, p := range []struct {
		name string
		dst  *[]string
	}{
		{"authority", &q.Filter.Authority}, {"source", &q.Filter.Source},
		{"doc_id", &q.Filter.DocID}, {"status", &q.Filter.Status},
	} {
		vs := params[p.name]
		if len(vs) > maxFilterValues {
			return q, assist.Errorf(assist.Invalid, op, "more than %d values for %s", maxFilterValues, p.name)
		}
		for _, v := range vs {
			v, err := cleanValue(op, p.name, v, maxFieldBytes)
			if err != nil {
				return q, err
			}
			if v != "" {
				*p.dst = append(*p.dst, v)
			}
		}
	}

	k, err := single("k")
	if err != nil {
		return q, err
	}
	if k != "" {
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 || n > rag.MaxK {
			return q, assist.Errorf(assist.Invalid, op, "k must be an integer between 1 and %d", rag.MaxK)
		}
		q.K = n
	}

	mode, err := single("mode")
	if err != nil {
		return q, err
	}
	switch rag.Mode(mode) {
	case rag.ModeAuto, rag.ModeLexical, rag.ModeDense, rag.ModeHybrid:
		q.Mode = rag.Mode(mode)
	case "auto":
		q.Mode = rag.ModeAuto
	default:
		return q, assist.Errorf(assist.Invalid, op, "unknown mode %.100q (valid: auto, lexical, dense, hybrid)", mode)
	}

	distinct, err := single("distinct")
	if err != nil {
		return q, err
	}
	if distinct != "" {
		if q.DistinctDocs, err = strconv.ParseBool(distinct); err != nil {
			return q, assist.Errorf(assist.Invalid, op, "distinct must be true or false")
		}
	}
	return q, nil
}

// cleanQueryText accepts multi-line questions (newlines and tabs are
// ordinary whitespace) but no other control characters or broken UTF-8.
func cleanQueryText(op, s string) (string, error) {
	if !utf8.ValidString(s) { // checked first: strings.Map would mask it
		return "", assist.Errorf(assist.Invalid, op, "q is not valid UTF-8")
	}
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	return cleanValue(op, "q", s, maxQueryBytes)
}

func containsCorpus(cs []assist.Corpus, c assist.Corpus) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}
