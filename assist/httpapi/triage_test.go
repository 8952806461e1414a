package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/httpapi"
	"amtsassist/assist/triage"
)

// fakeTriager knows the desks in desks and the categories in labels; it
// answers every ticket with the first label, leaving the lists nil so that
// tests see the handler fill them.
type fakeTriager struct {
	mu       sync.Mutex
	desks    map[string]bool
	labels   []string
	err      error
	tickets  []triage.Ticket
	feedback []triage.Feedback
}

func newFakeTriager() *fakeTriager {
	return &fakeTriager{desks: map[string]bool{"it": true, "it-servicedesk": true}, labels: []string{"Hardware", "Netz"}}
}

func (f *fakeTriager) Triage(_ context.Context, t triage.Ticket) (triage.Suggestion, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tickets = append(f.tickets, t)
	if f.err != nil {
		return triage.Suggestion{}, f.err
	}
	if !f.desks[t.Desk] {
		return triage.Suggestion{}, assist.Errorf(assist.NotFound, "fake triage", "unknown desk %q", t.Desk)
	}
	return triage.Suggestion{
		Category: triage.Prediction{Label: f.labels[0], Confidence: 0.9, Source: "classifier"},
		Priority: triage.Prediction{Label: "mittel", Confidence: 0.4, Unsure: true, Source: "classifier",
			Alternatives: []triage.Alternative{{Label: "mittel", Confidence: 0.4}, {Label: "hoch", Confidence: 0.35}}},
		Answer: triage.Answer{Text: "Bitte neu starten.", Sources: []string{"ticket:1"}, Mode: "extractive"},
		Models: map[string]string{"category": "fake@v1"},
	}, nil
}

func (f *fakeTriager) TriageBatch(ctx context.Context, ts []triage.Ticket) ([]triage.Suggestion, []error) {
	sugs := make([]triage.Suggestion, len(ts))
	errs := make([]error, len(ts))
	failed := false
	for i, t := range ts {
		sugs[i], errs[i] = f.Triage(ctx, t)
		failed = failed || errs[i] != nil
	}
	if !failed {
		errs = nil
	}
	return sugs, errs
}

func (f *fakeTriager) RecordFeedback(_ context.Context, fb triage.Feedback) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.desks[fb.Desk] {
		return assist.Errorf(assist.NotFound, "fake feedback", "unknown desk %q", fb.Desk)
	}
	if fb.Category != "" && !slices.Contains(f.labels, fb.Category) {
		return assist.Errorf(assist.Invalid, "fake feedback", "category %q is not in the taxonomy of desk %q", fb.Category, fb.Desk)
	}
	f.feedback = append(f.feedback, fb)
	return nil
}

func (f *fakeTriager) lastTicket() triage.Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tickets[len(f.tickets)-1]
}

func newTriageEnv(t testing.TB, edit func(*httpapi.Config)) (*env, *fakeTriager) {
	t.Helper()
	ft := newFakeTriager()
	e := newEnv(t, func(c *httpapi.Config) {
		c.Triager = ft
		c.Note = func(s triage.Suggestion) string { return "Vorschlag: " + s.Category.Label }
		if edit != nil {
			edit(c)
		}
	})
	return e, ft
}

func adapterExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "triage", "adapters", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTriageAnswersEachPayloadFormatWithASuggestion(t *testing.T) {
	tests := []struct {
		name, query, file   string
		wantDesk, wantSubj  string
		wantID, wantQueueMD string
	}{
		{"a generic webhook uses its own desk", "", "generic.json", "it-servicedesk", "Drucker im 2. OG druckt nicht", "4711", ""},
		{"a Znuny ticket takes the desk from the query", "?format=znuny&desk=it", "znuny-ticketget.json", "it", "VPN bricht nach dem Update ab", "42", "IT::Netz"},
		{"a Zammad webhook takes the desk from the query", "?format=zammad&desk=it", "zammad-webhook.json", "it", "Passwort abgelaufen", "17", "Servicedesk"},
	}
	e, ft := newTriageEnv(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.post(t, "/v1/tickets/triage"+tt.query, "application/json; charset=utf-8", adapterExample(t, tt.file))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			// Lists are [] and never null, so that clients iterate without checks.
			for _, want := range []string{`"similar":[]`, `"alternatives":[]`, `"ticket_id":"` + tt.wantID + `"`} {
				if !strings.Contains(rec.Body.String(), want) {
					t.Errorf("body lacks %s: %s", want, rec.Body)
				}
			}
			sug := decodeJSON[triage.Suggestion](t, rec.Body)
			if sug.Category.Label != "Hardware" || sug.Answer.Mode != "extractive" || sug.Note != "" {
				t.Errorf("suggestion = %+v", sug)
			}
			got := ft.lastTicket()
			if got.Desk != tt.wantDesk || got.Subject != tt.wantSubj || got.Meta["queue"] != tt.wantQueueMD {
				t.Errorf("ticket = %+v", got)
			}
			if strings.Contains(got.Body, "<") || strings.Contains(got.Body, "alert") {
				t.Errorf("HTML or script reached the triager: %q", got.Body)
			}
		})
	}
}

func TestTriageAddsTheInternalNoteOnRequest(t *testing.T) {
	body := adapterExample(t, "generic.json")
	t.Run("note=true renders the note", func(t *testing.T) {
		e, _ := newTriageEnv(t, nil)
		rec := e.post(t, "/v1/tickets/triage?note=true", "application/json", body)
		if sug := decodeJSON[triage.Suggestion](t, rec.Body); rec.Code != 200 || sug.Note != "Vorschlag: Hardware" {
			t.Errorf("status %d, note %q", rec.Code, sug.Note)
		}
	})
	t.Run("note=true without a renderer is 503", func(t *testing.T) {
		e, _ := newTriageEnv(t, func(c *httpapi.Config) { c.Note = nil })
		wantError(t, e.post(t, "/v1/tickets/triage?note=true", "application/json", body), 503, "unavailable", "internal notes are not configured")
	})
	t.Run("a note value that is no boolean is 400", func(t *testing.T) {
		e, _ := newTriageEnv(t, nil)
		wantError(t, e.post(t, "/v1/tickets/triage?note=ja", "application/json", body), 400, "invalid", `note must be true or false, not "ja"`)
	})
}

func TestTriageRefusesBadInputPrecisely(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 10<<20)
	bigJSON := append(append([]byte(`{"subject":"x","desk":"it","body":"`), big...), '"', '}')
	tests := []struct {
		name, target, contentType string
		body                      []byte
		chunked                   bool
		status                    int
		kind                      string
		msg                       string
	}{
		{"malformed JSON names the byte", "/v1/tickets/triage", "application/json", []byte(`{"subject":"x",}`), false, 400, "invalid", "not valid JSON"},
		{"a cut-off Zammad payload says it ends early", "/v1/tickets/triage?format=zammad&desk=it", "application/json", []byte(`{"ticket":{"title":"x"`), false, 400, "invalid", "ends early"},
		{"a Znuny payload without a ticket says so", "/v1/tickets/triage?format=znuny&desk=it", "application/json", []byte(`{"Article":{"Body":"x"}}`), false, 400, "invalid", `no "Ticket" object`},
		{"a misspelt generic field is named", "/v1/tickets/triage", "application/json", []byte(`{"subjekt":"x","desk":"it"}`), false, 400, "invalid", `unknown field "subjekt"`},
		{"an empty text is refused", "/v1/tickets/triage", "application/json", []byte(`{"subject":" ","body":"","desk":"it"}`), false, 400, "invalid", "has no text"},
		{"an empty body is refused", "/v1/tickets/triage", "application/json", nil, false, 400, "invalid", "payload is empty"},
		{"a ticket without desk is refused", "/v1/tickets/triage", "application/json", []byte(`{"subject":"x"}`), false, 400, "invalid", "no desk"},
		{"an unknown format names the valid ones", "/v1/tickets/triage?format=otrs", "application/json", []byte(`{}`), false, 400, "invalid", `unknown format "otrs" (valid: generic, znuny, zammad)`},
		{"an unknown query parameter is named", "/v1/tickets/triage?dsk=it", "application/json", []byte(`{}`), false, 400, "invalid", `unknown query parameter "dsk"`},
		{"an unknown desk is 404", "/v1/tickets/triage", "application/json", []byte(`{"subject":"x","desk":"finanzamt"}`), false, 404, "not_found", `unknown desk "finanzamt"`},
		{"an unknown desk from the query is 404", "/v1/tickets/triage?format=zammad&desk=nirgends", "application/json", adapterExample(t, "zammad-webhook.json"), false, 404, "not_found", `unknown desk "nirgends"`},
		{"a 10 MB body is 413", "/v1/tickets/triage", "application/json", bigJSON, false, 413, "too_large", "exceeds the limit of 4194304 bytes (4 MiB)"},
		{"a 10 MB body without a length is 413", "/v1/tickets/triage", "application/json", bigJSON, true, 413, "too_large", "exceeds the limit"},
		{"a missing Content-Type is 415", "/v1/tickets/triage", "", []byte(`{}`), false, 415, "invalid", "missing Content-Type"},
		{"a text body is 415", "/v1/tickets/triage", "text/plain", []byte(`x`), false, 415, "invalid", "text/plain is not accepted here"},
		{"a Latin-1 body is 415", "/v1/tickets/triage", "application/json; charset=latin1", []byte(`{}`), false, 415, "invalid", "unsupported charset"},
	}
	e, ft := newTriageEnv(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(http.MethodPost, tt.target, tt.body, tt.chunked)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			wantError(t, e.do(t, req), tt.status, tt.kind, tt.msg)
		})
	}
	t.Run("a triager failure keeps its kind", func(t *testing.T) {
		ft.err = assist.Errorf(assist.Unavailable, "fake", "the classifier of desk %q is not trained", "it")
		defer func() { ft.err = nil }()
		wantError(t, e.post(t, "/v1/tickets/triage", "application/json", adapterExample(t, "generic.json")), 503, "unavailable", "not trained")
	})
	t.Run("without a triager every route is 503", func(t *testing.T) {
		e := newEnv(t, nil)
		for _, target := range []string{"/v1/tickets/triage", "/v1/tickets/triage/batch", "/v1/tickets/7/feedback"} {
			wantError(t, e.post(t, target, "application/json", []byte(`{}`)), 503, "unavailable", "ticket triage is not configured")
		}
	})
}

func TestTriageBatchAnswersEachTicket(t *testing.T) {
	tickets := []string{
		`{"id":"1","subject":"Drucker druckt nicht"}`,
		`{"id":"2","subject":""}`,
		`{"id":"3","subject":"VPN","desk":"finanzamt"}`,
		`{"id":"4","body":"Monitor flackert"}`,
	}
	wantStatus := []int{200, 400, 404, 200}
	tests := []struct {
		name, contentType string
		body              string
	}{
		{"a JSON array", "application/json", "[" + strings.Join(tickets, ",") + "]"},
		{"JSON Lines with blank lines", "application/x-ndjson", strings.Join(tickets, "\n\n") + "\n"},
	}
	e, _ := newTriageEnv(t, nil)
	for _, tt := range tests {
		t.Run(tt.name+" gets 207 with per-item statuses", func(t *testing.T) {
			rec := e.post(t, "/v1/tickets/triage/batch?desk=it", tt.contentType, []byte(tt.body))
			if rec.Code != http.StatusMultiStatus {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			res := decodeJSON[httpapi.BatchResult](t, rec.Body)
			if res.Succeeded != 2 || res.Failed != 2 || len(res.Results) != 4 {
				t.Fatalf("result = %+v", res)
			}
			for i, it := range res.Results {
				if it.Index != i || it.Status != wantStatus[i] {
					t.Errorf("item %d: index %d status %d, want %d", i, it.Index, it.Status, wantStatus[i])
				}
				if (it.Suggestion != nil) != (it.Status == 200) || (it.Error != nil) == (it.Status == 200) {
					t.Errorf("item %d: suggestion %v error %v", i, it.Suggestion, it.Error)
				}
			}
			if msg := res.Results[1].Error.Message; !strings.Contains(msg, "no text") {
				t.Errorf("item 1 message %q", msg)
			}
			if res.Results[3].TicketID != "4" || res.Results[3].Suggestion.TicketID != "4" {
				t.Errorf("item 3 = %+v", res.Results[3])
			}
		})
	}
	t.Run("a batch where every ticket succeeds is 200", func(t *testing.T) {
		rec := e.post(t, "/v1/tickets/triage/batch?desk=it&note=true", "application/json", []byte("["+tickets[0]+","+tickets[3]+"]"))
		res := decodeJSON[httpapi.BatchResult](t, rec.Body)
		if rec.Code != 200 || res.Succeeded != 2 || res.Results[0].Suggestion.Note == "" {
			t.Errorf("status %d, result %+v", rec.Code, res)
		}
	})
	t.Run("a malformed JSON line fails only its item", func(t *testing.T) {
		rec := e.post(t, "/v1/tickets/triage/batch?desk=it", "application/jsonl", []byte(tickets[0]+"\n{\"subject\":\n"))
		res := decodeJSON[httpapi.BatchResult](t, rec.Body)
		if rec.Code != 207 || res.Results[1].Status != 400 || !strings.Contains(res.Results[1].Error.Message, "ticket 1") {
			t.Errorf("status %d, result %+v", rec.Code, res)
		}
	})
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"subject":"x"},`, httpapi.MaxTriageBatch+1), ",") + "]"
	manyLines := strings.Repeat(`{"subject":"x"}`+"\n", httpapi.MaxTriageBatch+1)
	bad := []struct {
		name, contentType, body string
		status                  int
		msg                     string
	}{
		{"an object instead of an array is 400", "application/json", `{"subject":"x"}`, 400, "must be a JSON array"},
		{"a malformed array is 400", "application/json", `[{"subject":"x"},`, 400, "malformed JSON"},
		{"an empty array is 400", "application/json", `[]`, 400, "holds no tickets"},
		{"an empty JSON Lines body is 400", "application/x-ndjson", "\n\n", 400, "holds no tickets"},
		{"more than the batch limit is 413", "application/json", many, 413, fmt.Sprintf("more than %d tickets", httpapi.MaxTriageBatch)},
		{"more than the batch limit as lines is 413", "application/x-ndjson", manyLines, 413, "more than"},
		{"CSV is 415", "text/csv", "a,b\n", 415, "not accepted here"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			kind := map[int]string{400: "invalid", 413: "too_large", 415: "invalid"}[tt.status]
			wantError(t, e.post(t, "/v1/tickets/triage/batch?desk=it", tt.contentType, []byte(tt.body)), tt.status, kind, tt.msg)
		})
	}
}

func TestFeedbackIsRecorded(t *testing.T) {
	e, ft := newTriageEnv(t, nil)
	rec := e.post(t, "/v1/tickets/4711/feedback", "application/json",
		[]byte(`{"desk":"it","category":"Netz","category_accepted":false,"priority_accepted":true,"answer":"edited","final_answer":"Neu starten.","agent":"j.agent"}`))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	rec = e.post(t, "/v1/tickets/4712/feedback?desk=it", "application/json", []byte(`{"ticket_id":"4712","category_accepted":true,"answer":"used"}`))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if len(ft.feedback) != 2 {
		t.Fatalf("recorded %d records", len(ft.feedback))
	}
	fb := ft.feedback[0]
	if fb.TicketID != "4711" || fb.Desk != "it" || fb.Category != "Netz" || fb.FinalAnswer != "Neu starten." || fb.At.IsZero() {
		t.Errorf("first record = %+v", fb)
	}
	if fb := ft.feedback[1]; fb.TicketID != "4712" || fb.Desk != "it" {
		t.Errorf("second record = %+v", fb)
	}
}

func TestFeedbackRefusesBadInputPrecisely(t *testing.T) {
	tests := []struct {
		name, target, body string
		status             int
		msg                string
	}{
		{"a ticket id that does not match the path", "/v1/tickets/1/feedback", `{"ticket_id":"2","desk":"it","category":"Netz"}`, 400, `ticket_id "2" in the body does not match "1" in the path`},
		{"a desk that does not match the query", "/v1/tickets/1/feedback?desk=it", `{"desk":"hr","category":"Netz"}`, 400, `desk "hr" in the body does not match "it" in the query`},
		{"no desk at all", "/v1/tickets/1/feedback", `{"category":"Netz"}`, 400, "desk is required"},
		{"an unknown desk", "/v1/tickets/1/feedback", `{"desk":"finanzamt","category":"Netz"}`, 404, `unknown desk "finanzamt"`},
		{"a category outside the taxonomy", "/v1/tickets/1/feedback", `{"desk":"it","category":"Gehalt"}`, 400, `category "Gehalt" is not in the taxonomy`},
		{"an unknown answer verdict", "/v1/tickets/1/feedback", `{"desk":"it","answer":"ok"}`, 400, `answer must be one of used, edited, rejected, not "ok"`},
		{"an edited answer without its text", "/v1/tickets/1/feedback", `{"desk":"it","answer":"edited"}`, 400, `final_answer is required when answer is "edited"`},
		{"a final answer on a rejected answer", "/v1/tickets/1/feedback", `{"desk":"it","answer":"rejected","final_answer":"x"}`, 400, "final_answer applies only"},
		{"no verdict", "/v1/tickets/1/feedback", `{"desk":"it"}`, 400, "holds no verdict"},
		{"an unknown field", "/v1/tickets/1/feedback", `{"desk":"it","categorie":"Netz"}`, 400, `unknown field "categorie"`},
		{"a field of the wrong type", "/v1/tickets/1/feedback", `{"desk":"it","category_accepted":"yes"}`, 400, `field "category_accepted" must be of type bool`},
		{"malformed JSON", "/v1/tickets/1/feedback", `{"desk":`, 400, "malformed JSON"},
		{"an empty body", "/v1/tickets/1/feedback", ``, 400, "empty body"},
		{"a date that is not RFC 3339", "/v1/tickets/1/feedback", `{"desk":"it","category":"Netz","at":"gestern"}`, 400, `at must be an RFC 3339 date-time such as 2026-11-02T08:15:00Z, not "gestern"`},
		{"a control character in the path id", "/v1/tickets/a%01b/feedback", `{"desk":"it","category":"Netz"}`, 400, "ticket id contains control characters"},
	}
	e, ft := newTriageEnv(t, nil)
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			kind := map[int]string{400: "invalid", 404: "not_found"}[tt.status]
			wantError(t, e.post(t, tt.target, "application/json", []byte(tt.body)), tt.status, kind, tt.msg)
		})
	}
	if len(ft.feedback) != 0 {
		t.Errorf("refused feedback was recorded: %+v", ft.feedback)
	}
}

func TestTicketRoutesDoNotShadowEachOther(t *testing.T) {
	e, ft := newTriageEnv(t, nil)
	// Ticket ids that equal a static segment still reach the feedback route.
	for _, id := range []string{"triage", "import", "42"} {
		rec := e.post(t, "/v1/tickets/"+id+"/feedback", "application/json", []byte(`{"desk":"it","category":"Netz"}`))
		if rec.Code != http.StatusNoContent {
			t.Errorf("feedback for %q: status %d: %s", id, rec.Code, rec.Body)
		}
	}
	if got := ft.feedback[0].TicketID; got != "triage" {
		t.Errorf("ticket id = %q", got)
	}
	wantError(t, e.get(t, "/v1/tickets/triage"), 405, "invalid", "method GET is not allowed")
	if rec := e.post(t, "/v1/tickets/import", "text/csv", []byte("a\nb\n")); rec.Code != http.StatusOK {
		t.Errorf("import: status %d: %s", rec.Code, rec.Body)
	}
	if rec := e.post(t, "/v1/tickets/triage/batch?desk=it", "application/json", []byte(`[{"subject":"x"}]`)); rec.Code != http.StatusOK {
		t.Errorf("batch: status %d: %s", rec.Code, rec.Body)
	}
}

func TestTriageMetricsCountSuggestionsAndAcceptance(t *testing.T) {
	e, _ := newTriageEnv(t, nil)
	e.post(t, "/v1/tickets/triage", "application/json", adapterExample(t, "generic.json"))
	e.post(t, "/v1/tickets/triage/batch?desk=it", "application/json", []byte(`[{"subject":"a"},{"subject":"b"}]`))
	for _, body := range []string{
		`{"desk":"it","category":"Netz","category_accepted":false,"answer":"used"}`,
		`{"desk":"it","category":"Hardware","category_accepted":true,"answer":"rejected"}`,
		`{"desk":"it","category_accepted":true,"priority":"hoch","priority_accepted":false}`,
	} {
		if rec := e.post(t, "/v1/tickets/9/feedback", "application/json", []byte(body)); rec.Code != 204 {
			t.Fatalf("feedback: %d %s", rec.Code, rec.Body)
		}
	}
	text := e.get(t, "/metrics").Body.String()
	for _, want := range []string{
		`amtsassist_triage_suggestions_total{desk="it-servicedesk"} 1`,
		`amtsassist_triage_suggestions_total{desk="it"} 2`,
		`amtsassist_triage_feedback_total{desk="it",field="category",verdict="accepted"} 2`,
		`amtsassist_triage_feedback_total{desk="it",field="category",verdict="corrected"} 1`,
		`amtsassist_triage_feedback_total{desk="it",field="priority",verdict="corrected"} 1`,
		`amtsassist_triage_feedback_total{desk="it",field="answer",verdict="used"} 1`,
		`amtsassist_triage_feedback_total{desk="it",field="answer",verdict="rejected"} 1`,
		`amtsassist_triage_acceptance_ratio{desk="it",field="category"} 0.6666666666666666`,
		`amtsassist_triage_acceptance_ratio{desk="it",field="answer"} 0.5`,
		`amtsassist_triage_acceptance_ratio{desk="it",field="priority"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// BenchmarkTriageTicket measures the API's own cost per ticket (payload
// parsing, HTML stripping, response encoding) with a triager that answers
// at once.
func BenchmarkTriageTicket(b *testing.B) {
	for _, tt := range []struct{ name, query, file string }{
		{"generic", "", "generic.json"},
		{"znuny HTML", "?format=znuny&desk=it", "znuny-ticketget.json"},
		{"zammad HTML", "?format=zammad&desk=it", "zammad-webhook.json"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			e, _ := newTriageEnv(b, nil)
			body := adapterExample(b, tt.file)
			b.ReportAllocs()
			for b.Loop() {
				rec := e.post(b, "/v1/tickets/triage"+tt.query, "application/json", body)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
