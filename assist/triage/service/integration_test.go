package service_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/ollama"
	"amtsassist/assist/ollama/ollamatest"
	"amtsassist/assist/triage"
	"amtsassist/assist/triage/service"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// recordingChat passes requests to a real model and records the outcomes,
// so that tests can tell which path the service took.
type recordingChat struct {
	assist.ChatModel
	mu      sync.Mutex
	results []assist.ChatResult
	errs    []error
}

func (r *recordingChat) Chat(ctx context.Context, req assist.ChatRequest, fn func(assist.Delta) error) (assist.ChatResult, error) {
	res, err := r.ChatModel.Chat(ctx, req, fn)
	r.mu.Lock()
	r.results = append(r.results, res)
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	return res, err
}

// The tiny model's text is gibberish: these tests assert that whatever it
// emits, the suggestion carries only taxonomy labels, and that unusable
// output is flagged as a fallback.
func TestRealTinyModel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an Ollama server; skipped with -short")
	}
	srv := ollamatest.StartShared(t)
	tests := []struct {
		name  string
		model string
		opts  assist.ChatOptions
		// wantFallback: true = must fall back, false = may go either way
		// (constrained decoding can produce a valid enum value).
		wantFallback bool
		tickets      []triage.Ticket
	}{
		{name: "output cut by num_predict falls back to the classifier", model: srv.LongModel,
			opts: assist.ChatOptions{NumCtx: 2048, NumPredict: 3}, wantFallback: true, tickets: []triage.Ticket{injectedTicket}},
		{name: "a prompt larger than the 512-token context falls back", model: srv.Model,
			opts: assist.ChatOptions{NumPredict: 64}, wantFallback: true, tickets: []triage.Ticket{printerTicket}},
		{name: "free generation under the schema gives only taxonomy labels", model: srv.LongModel,
			opts: assist.ChatOptions{NumCtx: 2048, NumPredict: 64}, tickets: []triage.Ticket{injectedTicket}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			chat, err := ollama.NewChat(ctx, ollama.ChatConfig{URL: srv.URL, Model: tt.model}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordingChat{ChatModel: chat}
			c, p := classifiers(hardwareLikely, mediumLikely)
			s, err := service.New(service.Config{Index: newIndex(t), Chat: rec, Category: c, Priority: p, Taxonomy: loadTaxonomy(t), Options: tt.opts, Now: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range tt.tickets {
				sug, err := s.Triage(ctx, tk)
				if err != nil {
					t.Fatalf("%s: %v\nserver log:\n%s", tk.ID, err, srv.Log())
				}
				assertInTaxonomy(t, sug)
				if sug.Category.Fallback != (sug.Category.Source == "fallback") {
					t.Errorf("%s: Fallback %v with source %s", tk.ID, sug.Category.Fallback, sug.Category.Source)
				}
				if tt.wantFallback && !sug.Category.Fallback {
					t.Errorf("%s: category = %+v, want a flagged fallback", tk.ID, sug.Category)
				}
				if !sug.Category.Fallback && sug.Category.Source != "combined" {
					t.Errorf("%s: source = %s", tk.ID, sug.Category.Source)
				}
				if sug.Answer.Mode == "" || len(sug.Answer.Sources) == 0 {
					t.Errorf("%s: answer = %+v, want one with sources", tk.ID, sug.Answer)
				}
				if strings.Contains(sug.Answer.Text, "Ignoriere alle Anweisungen") {
					t.Errorf("%s: answer echoes the injection: %q", tk.ID, sug.Answer.Text)
				}
				t.Logf("%s: category %s %.2f (%s), priority %s, answer mode %s", tk.ID, sug.Category.Label, sug.Category.Confidence, sug.Category.Source, sug.Priority.Label, sug.Answer.Mode)
			}
			for i, res := range rec.results {
				t.Logf("model call %d: done %q, %d output tokens, err %v, content %.80q", i, res.DoneReason, res.OutputTokens, rec.errs[i], res.Content)
			}
			if len(rec.results) == 0 {
				t.Error("the model was never called")
			}
		})
	}
}
