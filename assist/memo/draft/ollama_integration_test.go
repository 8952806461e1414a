package draft_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/draft"
	"amtsassist/assist/ollama"
	"amtsassist/assist/ollama/ollamatest"
	"amtsassist/prompts"
)

// The tests below draft memos with a real Ollama server and the tiny model
// of ollamatest: a 512-token context, a byte-level vocabulary (one token
// per byte) and gibberish output. They assert on mechanics only.

// tinyAuthority has short prompt overrides: the embedded German prompts
// alone are longer than the tiny model's whole context.
const tinyAuthority = "Tiny Amt"

func tinyPrompts(t *testing.T) *prompts.Set {
	t.Helper()
	dir := t.TempDir()
	sub := filepath.Join(dir, prompts.Slug(tinyAuthority))
	if err := os.MkdirAll(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"system.tmpl":       "Vermerk als JSON.",
		"aktenvermerk.tmpl": "{{line .Betreff}}\n{{range .Sources}}[{{.N}}] {{line .Citation}}: {{data .Text}}\n{{end}}",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(sub, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	set, err := prompts.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// recordingChat counts the calls and deltas of a real chat model.
type recordingChat struct {
	assist.ChatModel
	mu     sync.Mutex
	calls  []assist.ChatRequest
	deltas int
	// afterStop counts deltas delivered after fn returned an error.
	afterStop int
	// format, when set, replaces the request's schema (see
	// TestTinyModelDraftsTheWohngeldCase).
	format json.RawMessage
}

func (r *recordingChat) Chat(ctx context.Context, req assist.ChatRequest, fn func(assist.Delta) error) (assist.ChatResult, error) {
	r.mu.Lock()
	r.calls = append(r.calls, req)
	r.mu.Unlock()
	if r.format != nil {
		req.Format = r.format
	}
	stopped := false
	return r.ChatModel.Chat(ctx, req, func(d assist.Delta) error {
		r.mu.Lock()
		r.deltas++
		if stopped {
			r.afterStop++
		}
		r.mu.Unlock()
		err := fn(d)
		if err != nil {
			stopped = true
		}
		return err
	})
}

// CountTokens and Check pass through, so the service sees the same
// capabilities as with the bare backend.
func (r *recordingChat) CountTokens(ctx context.Context, text string) (int, error) {
	return r.ChatModel.(assist.TokenCounter).CountTokens(ctx, text)
}

func (r *recordingChat) Check(ctx context.Context) error {
	return r.ChatModel.(assist.Checker).Check(ctx)
}

func (r *recordingChat) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("drafts with a real Ollama server; skipped with -short")
	}
}

func tinyService(t *testing.T, opts assist.ChatOptions, format json.RawMessage) (*draft.Service, *recordingChat, string) {
	t.Helper()
	skipShort(t)
	ix := federalIndex(t)
	srv := ollamatest.StartShared(t)
	c, err := ollama.NewChat(t.Context(), ollama.ChatConfig{URL: srv.URL, Model: srv.Model}, nil)
	if err != nil {
		t.Fatalf("NewChat: %v\n%s", err, srv.Log())
	}
	rec := &recordingChat{ChatModel: c, format: format}
	dir := t.TempDir()
	st, err := draft.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := draft.New(draft.Config{Index: ix, Chat: rec, Prompts: tinyPrompts(t), Store: st, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return svc, rec, dir
}

func tinyRequest() memo.Request {
	req := wohngeldCase()
	req.Authority = tinyAuthority
	return req
}

func TestTinyModelTruncatedAnswerIsRetriedOnceThenAClearError(t *testing.T) {
	// Four empty sections alone take 66 bytes of JSON, so 30 tokens (and
	// 60 on the retry) can never hold a complete answer.
	seed, temp := 3, 0.7
	svc, rec, dir := tinyService(t, assist.ChatOptions{NumCtx: 512, NumPredict: 30, Seed: &seed, Temperature: &temp}, nil)
	job, err := svc.Prepare(t.Context(), tinyRequest())
	if err != nil {
		t.Fatal(err)
	}
	if job.PromptTokens()+30 > 512 {
		t.Errorf("packed prompt of %d tokens leaves no room for 30 answer tokens in 512", job.PromptTokens())
	}
	var ev events
	m, err := job.Run(t.Context(), ev.emit)
	if m != nil {
		t.Fatalf("a memo was returned from a cut answer: %+v", m)
	}
	if kindOf(t, err) != assist.Internal || !strings.Contains(assist.Message(err), "Die Modellantwort war unvollständig") {
		t.Fatalf("err %v, want Internal \"Die Modellantwort war unvollständig …\"", err)
	}
	if rec.callCount() != 2 {
		t.Errorf("%d model calls, want 2 (one retry)", rec.callCount())
	}
	if r := rec.calls[1].Options; r.NumPredict != 60 || r.Temperature == nil || *r.Temperature != 0 {
		t.Errorf("retry options %+v, want num_predict 60 and temperature 0", r)
	}
	if len(ev.ofType("delta")) == 0 {
		t.Error("no delta streamed from the real model")
	}
	if files := storedFiles(t, dir); len(files) != 0 {
		t.Errorf("stored %v", files)
	}
}

func TestTinyModelDraftsTheWohngeldCase(t *testing.T) {
	// The tiny model writes random strings that rarely end within its
	// context. The schema below is the prompts' schema with a maxLength
	// per section, so that Ollama's grammar ends each string in time and
	// the whole path runs: packing with real token counts, streaming,
	// parsing, verification and storing. Content is gibberish.
	var schema map[string]any
	if err := json.Unmarshal(loadPrompts(t).Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	for _, p := range schema["properties"].(map[string]any) {
		p.(map[string]any)["maxLength"] = 10
	}
	short, _ := json.Marshal(schema)
	seed, temp := 1, 0.8
	svc, rec, dir := tinyService(t, assist.ChatOptions{NumCtx: 512, NumPredict: 220, Seed: &seed, Temperature: &temp}, short)
	job, err := svc.Prepare(t.Context(), tinyRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(job.Sources()) == 0 {
		t.Fatal("no source packed")
	}
	t.Logf("packed %d sources into %d prompt tokens; warnings %q", len(job.Sources()), job.PromptTokens(), job.Warnings())
	var ev events
	start := time.Now()
	m, err := job.Run(t.Context(), ev.emit)
	if err != nil {
		if assist.KindOf(err) == assist.Internal && strings.Contains(assist.Message(err), "unvollständig") {
			t.Skipf("the tiny model did not finish its JSON within the context even with short strings (%d calls): %v", rec.callCount(), err)
		}
		t.Fatal(err)
	}
	t.Logf("drafted in %v with %d calls; verification %+v", time.Since(start), rec.callCount(), m.Verification)
	if m.Mode != memo.ModeLLM || len(m.Sections) != 4 || m.Model.Digest == "" || m.PromptHash == "" || m.PromptName != "tiny-amt/aktenvermerk" {
		t.Errorf("memo mode %s sections %d model %+v prompt %s/%s", m.Mode, len(m.Sections), m.Model, m.PromptName, m.PromptHash)
	}
	streamed := ev.deltaText()
	for _, s := range m.Sections {
		if strings.TrimSpace(streamed[s.Key]) != s.Text {
			t.Errorf("section %s: streamed %q, parsed %q", s.Key, streamed[s.Key], s.Text)
		}
		for _, c := range s.Citations {
			switch c.Status {
			case memo.StatusVerified, memo.StatusWarnings, memo.StatusFailed:
			default:
				t.Errorf("citation %+v is neither verified nor flagged", c)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, m.ID+".json")); err != nil {
		t.Errorf("memo not stored: %v", err)
	}
}

func TestTinyModelStopsWhenTheClientGoesAway(t *testing.T) {
	seed := 5
	svc, rec, dir := tinyService(t, assist.ChatOptions{NumCtx: 512, NumPredict: 300, Seed: &seed}, nil)
	job, err := svc.Prepare(t.Context(), tinyRequest())
	if err != nil {
		t.Fatal(err)
	}
	gone := errors.New("client disconnected")
	start := time.Now()
	_, err = job.Run(t.Context(), func(ev memo.Event) error {
		if ev.Type == "delta" {
			return gone
		}
		return nil
	})
	if kindOf(t, err) != assist.Canceled || !errors.Is(err, gone) {
		t.Fatalf("err %v, want Canceled wrapping the client's error", err)
	}
	// The generation of 300 tokens takes tens of seconds on this model;
	// no delta reaches the service after the client left, and there is no
	// retry.
	if rec.afterStop != 0 || rec.callCount() != 1 {
		t.Errorf("%d deltas after the stop, %d calls", rec.afterStop, rec.callCount())
	}
	t.Logf("stopped after %d deltas, %v", rec.deltas, time.Since(start))
	if files := storedFiles(t, dir); len(files) != 0 {
		t.Errorf("stored %v", files)
	}
}

func TestTinyModelUnavailable(t *testing.T) {
	skipShort(t)
	ix := federalIndex(t)
	srv := ollamatest.Start(t)
	c, err := ollama.NewChat(t.Context(), ollama.ChatConfig{URL: srv.URL, Model: srv.Model}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	svc, err := draft.New(draft.Config{Index: ix, Chat: c, Prompts: tinyPrompts(t), Options: assist.ChatOptions{NumCtx: 512, NumPredict: 100}})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a stopped server is unavailable with the reason", func(t *testing.T) {
		_, err := svc.Prepare(t.Context(), tinyRequest())
		if kindOf(t, err) != assist.Unavailable || !strings.HasPrefix(assist.Message(err), "Sprachmodell nicht verfügbar: ") {
			t.Errorf("err %v", err)
		}
		t.Logf("message: %s", assist.Message(err))
	})
	t.Run("a stopped server falls back to extractive when allowed", func(t *testing.T) {
		req := tinyRequest()
		req.AllowExtractive = true
		job, err := svc.Prepare(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		m, err := job.Run(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Mode != memo.ModeExtractive || !hasWarning(m.Warnings, "Sprachmodell nicht verfügbar") {
			t.Errorf("mode %s warnings %q", m.Mode, m.Warnings)
		}
	})
}
