package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/ollama"
	"amtsassist/assist/ollama/ollamatest"
)

// The tests below run the chat backend against a real Ollama server with
// the tiny model (ollamatest). Its text is gibberish; they assert on
// mechanics only. The tiny model's vocabulary is byte-level: one token per
// byte, which makes token counts predictable.

func newChat(t *testing.T, cfg ollama.ChatConfig) *ollama.Chat {
	t.Helper()
	c, err := ollama.NewChat(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("NewChat(%+v): %v", cfg, err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func userMessage(text string) []assist.ChatMessage {
	return []assist.ChatMessage{
		{Role: assist.RoleSystem, Content: "Du schreibst Vermerke."},
		{Role: assist.RoleUser, Content: text},
	}
}

func TestRealServerChatStreams(t *testing.T) {
	srv := ollamatest.StartShared(t)
	c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: srv.Model, Options: assist.ChatOptions{NumPredict: 40}})

	t.Run("the model's context length and digest are read at start", func(t *testing.T) {
		m := c.Model()
		if m.Name != srv.Model || m.ContextLength != srv.ContextLength || m.Digest == "" {
			t.Errorf("Model() = %+v, want name %s, context length %d and a digest", m, srv.Model, srv.ContextLength)
		}
	})

	t.Run("deltas arrive one by one and concatenate to the content", func(t *testing.T) {
		var deltas []string
		res, err := c.Chat(t.Context(), assist.ChatRequest{Messages: userMessage("Prüfe den Wohngeldantrag.")}, func(d assist.Delta) error {
			deltas = append(deltas, d.Content)
			return nil
		})
		if err != nil {
			t.Fatalf("chat: %v\nserver log:\n%s", err, srv.Log())
		}
		if len(deltas) < 2 {
			t.Errorf("got %d deltas, want a stream of several", len(deltas))
		}
		if got := strings.Join(deltas, ""); got != res.Content {
			t.Errorf("deltas concatenate to %q, content is %q", got, res.Content)
		}
		if res.PromptTokens <= 0 || res.OutputTokens <= 0 || res.OutputTokens > 40 {
			t.Errorf("prompt tokens %d, output tokens %d: want both positive and output at most num_predict 40", res.PromptTokens, res.OutputTokens)
		}
		if res.NumCtx != srv.ContextLength {
			t.Errorf("NumCtx = %d, want the model's context length %d when none is configured", res.NumCtx, srv.ContextLength)
		}
		if res.FirstToken <= 0 || res.FirstToken > res.Duration {
			t.Errorf("first token after %v, duration %v: want 0 < first token <= duration", res.FirstToken, res.Duration)
		}
		if res.Model.Digest == "" || res.DoneReason == "" {
			t.Errorf("result lacks the model digest or the done reason: %+v", res)
		}
	})

	t.Run("a small num_predict cuts the answer with done reason length", func(t *testing.T) {
		res, err := c.Chat(t.Context(), assist.ChatRequest{Messages: userMessage("Schreibe einen langen Vermerk."), Options: assist.ChatOptions{NumPredict: 3}}, func(assist.Delta) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if res.DoneReason != "length" || res.OutputTokens != 3 {
			t.Errorf("done reason %q with %d output tokens, want \"length\" with 3", res.DoneReason, res.OutputTokens)
		}
	})

	t.Run("seed and temperature 0 reproduce the answer", func(t *testing.T) {
		req := assist.ChatRequest{Messages: userMessage("Wohngeld für einen Haushalt mit zwei Personen?"), Options: assist.ChatOptions{Temperature: ptr(0.0), Seed: ptr(42), NumPredict: 30}}
		a, err := c.Chat(t.Context(), req, func(assist.Delta) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Chat(t.Context(), req, func(assist.Delta) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if a.Content != b.Content || a.Content == "" {
			t.Errorf("two runs differ or are empty:\n%q\n%q", a.Content, b.Content)
		}
	})

	t.Run("a JSON schema with an enum is respected", func(t *testing.T) {
		schema := json.RawMessage(`{"type":"object","properties":{"ergebnis":{"type":"string","enum":["bewilligen","ablehnen"]}},"required":["ergebnis"]}`)
		complete := 0
		for seed := range 2 {
			res, err := c.Chat(t.Context(), assist.ChatRequest{Messages: userMessage("Ergebnis?"), Format: schema, Options: assist.ChatOptions{Temperature: ptr(0.8), Seed: ptr(seed + 1), NumPredict: 60}}, func(assist.Delta) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("seed %d: %s after %v: %q", seed+1, res.DoneReason, res.Duration, res.Content)
			if res.DoneReason == "length" {
				// A cut structured answer is never valid; the caller must
				// see the reason and retry or fail.
				if json.Valid([]byte(res.Content)) {
					t.Errorf("seed %d: cut answer %q is valid JSON", seed, res.Content)
				}
				continue
			}
			complete++
			var got struct{ Ergebnis string }
			if err := json.Unmarshal([]byte(res.Content), &got); err != nil {
				t.Fatalf("seed %d: answer %q is not the schema's JSON: %v", seed, res.Content, err)
			}
			if got.Ergebnis != "bewilligen" && got.Ergebnis != "ablehnen" {
				t.Errorf("seed %d: ergebnis %q is not one of the enum's values", seed, got.Ergebnis)
			}
		}
		if complete == 0 {
			t.Error("every answer was cut by num_predict; the schema was never checked")
		}
	})
}

func TestRealServerCountsTokens(t *testing.T) {
	srv := ollamatest.StartShared(t)
	c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: srv.Model})
	embeds := func() int { return strings.Count(srv.Log(), `"/api/embed"`) }
	before := embeds()
	tests := []struct {
		name string
		text string
	}{
		{"ASCII text is estimated at no fewer tokens than it has", "Wohngeld"},
		{"umlauts count by their UTF-8 bytes", "Gebührenbescheid"},
		{"a text beyond the context is estimated beyond it", strings.Repeat("x", 600)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.CountTokens(t.Context(), tt.text)
			if err != nil {
				t.Fatal(err)
			}
			// The tiny model has one token per byte, so the true count is
			// len(text); the estimate may exceed it by the margin of 10%.
			if exact := len(tt.text); got < exact || got > exact+exact/10+1 {
				t.Errorf("CountTokens(%d bytes) = %d, want %d..%d", exact, got, exact, exact+exact/10+1)
			}
		})
	}
	t.Run("an empty text has no tokens", func(t *testing.T) {
		if got, err := c.CountTokens(t.Context(), ""); got != 0 || err != nil {
			t.Errorf("CountTokens(\"\") = %d, %v", got, err)
		}
	})
	t.Run("only the calibration asks the server", func(t *testing.T) {
		// The server logs a request after answering it; give the log a
		// moment to arrive.
		n := 0
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if n = embeds() - before; n >= 1 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		if n = embeds() - before; n != 1 {
			t.Errorf("%d /api/embed requests for 4 counts, want 1 (the calibration)", n)
		}
	})
}

// chatRequests counts the /api/chat requests in the server's log (one
// Gin access line each), to show that a request was never sent.
func chatRequests(srv *ollamatest.Server) int {
	return strings.Count(srv.Log(), `"/api/chat"`)
}

func TestRealServerRefusesPromptsBeyondTheContext(t *testing.T) {
	srv := ollamatest.StartShared(t)
	c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: srv.Model, Options: assist.ChatOptions{NumPredict: 50}})
	tests := []struct {
		name      string
		prompt    string
		options   assist.ChatOptions
		fragments []string
	}{
		{
			name:      "a prompt longer than num_ctx is TooLarge before sending",
			prompt:    strings.Repeat("Wohngeld ", 70), // 630 tokens, context 512
			fragments: []string{"context of 512 (num_ctx)"},
		},
		{
			name:      "a prompt that fits num_ctx but not with num_predict is TooLarge with the exact count",
			prompt:    strings.Repeat("a", 300), // 300 tokens + 50 answer + template reserve 96 > 400
			options:   assist.ChatOptions{NumCtx: 400},
			fragments: []string{"prompt has 322 tokens, context is 400 (num_ctx)", "50 are reserved for the answer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := chatRequests(srv)
			_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: userMessage(tt.prompt), Options: tt.options}, func(assist.Delta) error {
				t.Error("a delta arrived for a prompt that does not fit")
				return nil
			})
			wantError(t, err, assist.TooLarge, tt.fragments...)
			if after := chatRequests(srv); after != before {
				t.Errorf("%d chat requests reached the server, want none", after-before)
			}
		})
	}

	t.Run("a prompt just within the budget is sent and evaluated whole", func(t *testing.T) {
		prompt := strings.Repeat("b", 250) // counted 250 + 22 system + reserve 96 = 368 <= 512-50-... fits
		res, err := c.Chat(t.Context(), assist.ChatRequest{Messages: userMessage(prompt)}, func(assist.Delta) error { return nil })
		if err != nil {
			t.Fatalf("chat: %v", err)
		}
		if res.PromptTokens < 250+len("Du schreibst Vermerke.") {
			t.Errorf("prompt_eval_count %d is below the prompt's own tokens", res.PromptTokens)
		}
	})
}

// createModel creates a variant of the tiny model on srv through
// /api/create, with fields such as "system" or "template" set.
func createModel(t *testing.T, srv *ollamatest.Server, name string, fields map[string]any) {
	t.Helper()
	req := map[string]any{"model": name, "from": srv.Model, "stream": false}
	for k, v := range fields {
		req[k] = v
	}
	b, _ := json.Marshal(req)
	resp, err := http.Post(srv.URL+"/api/create", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create %s: %s: %s", name, resp.Status, body)
	}
}

func TestRealServerGuardsPromptTextTheCallerCannotSee(t *testing.T) {
	// A server of its own: the test adds models to it.
	srv := ollamatest.Start(t)
	rules := strings.Repeat("Regel. ", 86) // 602 bytes, 602 tokens
	question := []assist.ChatMessage{{Role: assist.RoleUser, Content: "Wohngeld?"}}

	t.Run("a model's default system prompt is counted before sending", func(t *testing.T) {
		// Ollama inserts the Modelfile's SYSTEM when a request has none;
		// v0.6.5 then drops it silently when it does not fit (the chat
		// handler keeps only the last message). The budget counts it.
		createModel(t, srv, "tiny-system", map[string]any{"system": rules})
		c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: "tiny-system", Options: assist.ChatOptions{NumPredict: 5}})
		before := chatRequests(srv)
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: question}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.TooLarge, "prompt has more tokens than the context of 512 (num_ctx)")
		if after := chatRequests(srv); after != before {
			t.Errorf("%d chat requests reached the server, want none", after-before)
		}
	})

	t.Run("a prompt the server cut is TooLarge afterwards, never a result", func(t *testing.T) {
		// A template with 602 bytes of text of its own, beyond the
		// template reserve: a 9-byte question passes the budget, the
		// rendered prompt has about 630 tokens, and the runner cuts it to
		// num_ctx (512) without telling the client. Only the post-check on
		// prompt_eval_count can notice.
		createModel(t, srv, "tiny-template", map[string]any{"template": "{{- range .Messages }}<|{{ .Role }}|>{{ .Content }}\n{{ end }}" + rules + "<|assistant|>"})
		c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: "tiny-template", Options: assist.ChatOptions{NumPredict: 5}})
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: question}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.TooLarge, "prompt was cut to the context of 512 tokens (num_ctx) by Ollama")
		if !strings.Contains(srv.Log(), "truncating input prompt") {
			t.Errorf("the server logged no truncation; the test no longer provokes one")
		}
	})
}

func TestRealServerChatStopsGeneration(t *testing.T) {
	// A server of its own, so that its log holds only this test's requests.
	srv := ollamatest.Start(t)
	c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: srv.Model})
	req := assist.ChatRequest{Messages: userMessage("Schreibe."), Options: assist.ChatOptions{NumPredict: 120, Temperature: ptr(0.0), Seed: ptr(7)}}

	// Load the model, so that the full generation's latency is generation
	// only.
	if _, err := c.Chat(t.Context(), assist.ChatRequest{Messages: userMessage("Hallo"), Options: assist.ChatOptions{NumPredict: 1}}, func(assist.Delta) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// The full generation: how long 120 tokens take on this machine.
	full, err := c.Chat(t.Context(), req, func(assist.Delta) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if full.OutputTokens < 60 {
		t.Skipf("the tiny model stopped after %d tokens; the test needs a long generation", full.OutputTokens)
	}
	fullLatency := lastChatLatency(t, srv, 2)

	errStop := errors.New("client went away")
	tests := []struct {
		name string
		run  func() error
		want func(t *testing.T, err error)
	}{
		{
			name: "an error from fn stops generation and is returned as is",
			run: func() error {
				_, err := c.Chat(t.Context(), req, func(assist.Delta) error { return errStop })
				return err
			},
			want: func(t *testing.T, err error) {
				if !errors.Is(err, errStop) {
					t.Errorf("Chat returned %v, want fn's error", err)
				}
			},
		},
		{
			name: "cancelling ctx after the first delta stops generation with Canceled",
			run: func() error {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				_, err := c.Chat(ctx, req, func(assist.Delta) error { cancel(); return nil })
				return err
			},
			want: func(t *testing.T, err error) { wantError(t, err, assist.Canceled) },
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want(t, tt.run())
			// How the test knows generation stopped on the server: Ollama's
			// chat handler writes its access line (with its latency) only
			// when it returns, and it returns before the end of the
			// generation only when its request context is canceled, which
			// also closes the runner's sequence (seq.quit in
			// runner/llamarunner). The aborted request must therefore end
			// on the server in a fraction of the full generation's time.
			got := lastChatLatency(t, srv, i+3)
			t.Logf("full generation: %v on the server; aborted: %v", fullLatency, got)
			if got > fullLatency/2 {
				t.Errorf("the aborted request ran %v on the server, the full one %v: generation did not stop", got, fullLatency)
			}
		})
	}
}

var ginChatLine = regexp.MustCompile(`\|\s+\d{3}\s+\|\s+([0-9][0-9.hmsµnu]*)\s+\|[^|]+\|\s+POST\s+"/api/chat"`)

// lastChatLatency waits until the server's log holds n /api/chat access
// lines and returns the latency of the last one.
func lastChatLatency(t *testing.T, srv *ollamatest.Server, n int) time.Duration {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := ginChatLine.FindAllStringSubmatch(srv.Log(), -1)
		if len(m) >= n {
			d, err := time.ParseDuration(strings.ReplaceAll(m[n-1][1], "µ", "u"))
			if err != nil {
				t.Fatalf("latency %q: %v", m[n-1][1], err)
			}
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server logged %d chat requests, want %d; log:\n%s", len(m), n, srv.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// longPrompt takes seconds to evaluate on the long-context tiny model.
var longPrompt = strings.Repeat("Wohngeld nach § 19 WoGG. ", 16<<10/26)

func TestRealServerChatErrors(t *testing.T) {
	t.Run("a missing model is NotFound at start and names the fix", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		_, err := ollama.NewChat(t.Context(), ollama.ChatConfig{URL: srv.URL, Model: "qwen2.5:7b"}, nil)
		wantError(t, err, assist.NotFound, "model qwen2.5:7b not found on Ollama at "+srv.URL+": run `ollama pull qwen2.5:7b`")
	})
	t.Run("a num_ctx above the model's context length is Invalid at start", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		_, err := ollama.NewChat(t.Context(), ollama.ChatConfig{URL: srv.URL, Model: srv.Model, Options: assist.ChatOptions{NumCtx: 4096}}, nil)
		wantError(t, err, assist.Invalid, "num_ctx 4096 exceeds the context length 512 of model tiny")
	})
	t.Run("a server that is not running is Unavailable at start", func(t *testing.T) {
		_, err := ollama.NewChat(t.Context(), ollama.ChatConfig{URL: "http://127.0.0.1:1", Model: "tiny"}, nil)
		wantError(t, err, assist.Unavailable, "is not reachable: start it with `ollama serve`")
	})
	t.Run("a server that went away is Unavailable for chat and check", func(t *testing.T) {
		srv := ollamatest.Start(t)
		c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: srv.Model, Options: assist.ChatOptions{NumPredict: 5}})
		if err := c.Check(t.Context()); err != nil {
			t.Fatalf("check before stopping: %v", err)
		}
		srv.Stop()
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: userMessage("Hallo")}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.Unavailable, "Ollama at "+srv.URL+" is not reachable")
		wantError(t, c.Check(t.Context()), assist.Unavailable, "is not reachable")
	})
	t.Run("a chat timeout shorter than the generation is Timeout and names the fix", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: srv.LongModel, Timeout: time.Second})
		// Evaluating 16 KiB of prompt takes several seconds on the tiny
		// model on 2 cores (measured: 1.3 s for 4 KiB), however short the
		// answer; a long answer is no test, the model may end it early.
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: userMessage(longPrompt), Options: assist.ChatOptions{NumPredict: 10}}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.Timeout, "did not finish within 1s: raise the chat timeout")
	})
	t.Run("a caller's deadline is Timeout", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		c := newChat(t, ollama.ChatConfig{URL: srv.URL, Model: srv.LongModel})
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		_, err := c.Chat(ctx, assist.ChatRequest{Messages: userMessage(longPrompt), Options: assist.ChatOptions{NumPredict: 10}}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.Timeout, "the deadline passed")
	})
}
