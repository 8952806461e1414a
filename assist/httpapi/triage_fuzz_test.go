package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"amtsassist/assist/httpapi"
)

func FuzzTriageTicket(f *testing.F) {
	f.Add("format=znuny&desk=it", "application/json", adapterExample(f, "znuny-ticketget.json"))
	f.Add("format=zammad&desk=it&note=1", "application/json", adapterExample(f, "zammad-articles.json"))
	f.Add("", "application/json", adapterExample(f, "generic.json"))
	f.Add("format=zammad", "application/json", []byte(`{"ticket":{"id":{}},"article":{"content_type":"text/html","body":"<script>"}}`))
	f.Add("desk=%zz", "application/json; charset=x", []byte(`{"subject":"\u0000"}`))
	e, _ := newTriageEnv(f, func(c *httpapi.Config) { c.MaxBodyBytes = 8192 })
	f.Fuzz(func(t *testing.T, query, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/tickets/triage", bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", contentType)
		checkHostile(t, e.do(t, req), 200, 400, 404, 413, 415)
	})
}

func FuzzTriageBatch(f *testing.F) {
	f.Add("desk=it", "application/json", []byte(`[{"subject":"a"},{"body":""},3,null]`))
	f.Add("desk=it", "application/x-ndjson", []byte("{\"subject\":\"a\"}\n[\n\n{}"))
	f.Add("", "application/jsonl", []byte("\x00\n"))
	e, _ := newTriageEnv(f, func(c *httpapi.Config) { c.MaxBodyBytes = 8192 })
	f.Fuzz(func(t *testing.T, query, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/tickets/triage/batch", bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", contentType)
		checkHostile(t, e.do(t, req), 200, 207, 400, 413, 415)
	})
}

func FuzzFeedback(f *testing.F) {
	f.Add("7", "desk=it", []byte(`{"category":"Netz","answer":"edited","final_answer":"x"}`))
	f.Add("a%2Fb", "", []byte(`{"ticket_id":"a/b","desk":"it","at":"2026-01-01T00:00:00Z","category_accepted":true}`))
	f.Add("x", "desk=it", []byte(`{"at":5}`))
	e, _ := newTriageEnv(f, func(c *httpapi.Config) { c.MaxBodyBytes = 8192 })
	f.Fuzz(func(t *testing.T, id, query string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/tickets/x/feedback", bytes.NewReader(body))
		req.URL.RawPath = ""
		req.URL.Path = "/v1/tickets/" + id + "/feedback"
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/json")
		checkHostile(t, e.do(t, req), 204, 400, 404, 405, 413)
	})
}
