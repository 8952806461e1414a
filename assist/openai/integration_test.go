package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/ollama/ollamatest"
	"amtsassist/assist/openai"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// The tests below run against the OpenAI-compatible endpoint (/v1) of a
// real Ollama server with the tiny model, whose vocabulary is byte-level
// (one token per byte) and whose context is 512 tokens.

func ptr[T any](v T) *T { return &v }

func messages(text string) []assist.ChatMessage {
	return []assist.ChatMessage{
		{Role: assist.RoleSystem, Content: "Du schreibst Vermerke."},
		{Role: assist.RoleUser, Content: text},
	}
}

func newChat(t *testing.T, cfg openai.Config) *openai.Chat {
	t.Helper()
	c, err := openai.New(cfg, nil)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return c
}

func TestRealServerStreams(t *testing.T) {
	srv := ollamatest.StartShared(t)
	c := newChat(t, openai.Config{BaseURL: srv.URL + "/v1", Model: srv.Model, Options: assist.ChatOptions{NumPredict: 30, NumCtx: srv.ContextLength}})

	t.Run("the model is found by Check", func(t *testing.T) {
		if err := c.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("deltas arrive one by one and concatenate to the content", func(t *testing.T) {
		var deltas []string
		res, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Prüfe den Wohngeldantrag.")}, func(d assist.Delta) error {
			deltas = append(deltas, d.Content)
			return nil
		})
		if err != nil {
			t.Fatalf("chat: %v\nserver log:\n%s", err, srv.Log())
		}
		if len(deltas) < 2 || strings.Join(deltas, "") != res.Content {
			t.Errorf("%d deltas concatenate to %q, content is %q", len(deltas), strings.Join(deltas, ""), res.Content)
		}
		if res.PromptTokens <= 0 || res.OutputTokens <= 0 || res.OutputTokens > 30 {
			t.Errorf("usage: prompt %d, output %d tokens; want both positive and output at most 30", res.PromptTokens, res.OutputTokens)
		}
		if res.DoneReason != "stop" && res.DoneReason != "length" {
			t.Errorf("done reason %q, want stop or length", res.DoneReason)
		}
		if res.FirstToken <= 0 || res.FirstToken > res.Duration || res.NumCtx != srv.ContextLength {
			t.Errorf("first token %v, duration %v, num_ctx %d", res.FirstToken, res.Duration, res.NumCtx)
		}
	})

	t.Run("a small max tokens cuts the answer with done reason length", func(t *testing.T) {
		res, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Schreibe einen langen Vermerk."), Options: assist.ChatOptions{NumPredict: 3}}, func(assist.Delta) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if res.DoneReason != "length" || res.OutputTokens != 3 {
			t.Errorf("done reason %q with %d output tokens, want \"length\" with 3", res.DoneReason, res.OutputTokens)
		}
	})

	t.Run("seed and temperature 0 reproduce the answer", func(t *testing.T) {
		req := assist.ChatRequest{Messages: messages("Wohngeld?"), Options: assist.ChatOptions{Temperature: ptr(0.0), Seed: ptr(42), NumPredict: 20}}
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

	t.Run("a JSON schema with an enum is sent as the response format and respected", func(t *testing.T) {
		schema := json.RawMessage(`{"type":"object","properties":{"ergebnis":{"type":"string","enum":["bewilligen","ablehnen"]}},"required":["ergebnis"]}`)
		complete := 0
		for seed := range 2 {
			// Temperature 0 makes the tiny model pad with whitespace until
			// the cut; 0.8 with a seed is reproducible and ends.
			res, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Ergebnis?"), Format: schema, Options: assist.ChatOptions{Temperature: ptr(0.8), Seed: ptr(seed + 1), NumPredict: 60}}, func(assist.Delta) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("seed %d: %s after %v: %q", seed, res.DoneReason, res.Duration, res.Content)
			if res.DoneReason == "length" {
				continue // cut: the caller must retry or fail
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
			t.Error("every answer was cut by max tokens; the schema was never checked")
		}
	})

	t.Run("cancelling ctx stops the stream with Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		_, err := c.Chat(ctx, assist.ChatRequest{Messages: messages("Schreibe."), Options: assist.ChatOptions{NumPredict: 300, Temperature: ptr(0.0), Seed: ptr(7)}}, func(assist.Delta) error { cancel(); return nil })
		wantError(t, err, assist.Canceled)
	})
}

func TestRealServerStopsGeneration(t *testing.T) {
	// A server of its own, so that its log holds only this test's requests.
	srv := ollamatest.Start(t)
	c := newChat(t, openai.Config{BaseURL: srv.URL + "/v1", Model: srv.Model})
	req := assist.ChatRequest{Messages: messages("Schreibe."), Options: assist.ChatOptions{NumPredict: 120, Temperature: ptr(0.0), Seed: ptr(7)}}
	if _, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Hallo"), Options: assist.ChatOptions{NumPredict: 1}}, nil); err != nil {
		t.Fatal(err) // loads the model
	}
	full, err := c.Chat(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if full.OutputTokens < 60 {
		t.Skipf("the tiny model stopped after %d tokens; the test needs a long generation", full.OutputTokens)
	}
	fullLatency := lastLatency(t, srv, 2)

	errStop := errors.New("client went away")
	_, err = c.Chat(t.Context(), req, func(assist.Delta) error { return errStop })
	if !errors.Is(err, errStop) {
		t.Errorf("Chat returned %v, want fn's error", err)
	}
	// How the test knows generation stopped on the server: Ollama logs a
	// request's access line with its latency when its handler returns,
	// which before the end of the generation happens only when the
	// client closed the connection (the runner's sequence is closed with
	// the request's context).
	got := lastLatency(t, srv, 3)
	t.Logf("full generation: %v on the server; aborted: %v", fullLatency, got)
	if got > fullLatency/2 {
		t.Errorf("the aborted request ran %v on the server, the full one %v: generation did not stop", got, fullLatency)
	}
}

var ginLine = regexp.MustCompile(`\|\s+\d{3}\s+\|\s+([0-9][0-9.hmsµnu]*)\s+\|[^|]+\|\s+POST\s+"/v1/chat/completions"`)

// lastLatency waits until the server's log holds n chat completion access
// lines and returns the latency of the n-th.
func lastLatency(t *testing.T, srv *ollamatest.Server, n int) time.Duration {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := ginLine.FindAllStringSubmatch(srv.Log(), -1)
		if len(m) >= n {
			d, err := time.ParseDuration(strings.ReplaceAll(m[n-1][1], "µ", "u"))
			if err != nil {
				t.Fatalf("latency %q: %v", m[n-1][1], err)
			}
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server logged %d chat requests, want %d", len(m), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRealServerGuardsTheContext(t *testing.T) {
	srv := ollamatest.StartShared(t)
	c := newChat(t, openai.Config{BaseURL: srv.URL + "/v1", Model: srv.Model, Options: assist.ChatOptions{NumPredict: 10, NumCtx: srv.ContextLength}})
	t.Run("a prompt whose estimate exceeds num_ctx is TooLarge before sending", func(t *testing.T) {
		before := strings.Count(srv.Log(), `"/v1/chat/completions"`)
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages(strings.Repeat("Wohngeld ", 200))}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.TooLarge, "context is 512 (num_ctx)")
		if after := strings.Count(srv.Log(), `"/v1/chat/completions"`); after != before {
			t.Errorf("%d requests reached the server, want none", after-before)
		}
	})
	t.Run("a prompt Ollama's /v1 cut silently is TooLarge afterwards", func(t *testing.T) {
		// 1200 bytes estimate to 400 tokens and pass the budget, but the
		// byte-level tiny model needs 1200: Ollama cuts them to 512
		// without a word and reports 512 prompt tokens.
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: []assist.ChatMessage{{Role: assist.RoleUser, Content: strings.Repeat("a", 1200)}}}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.TooLarge, "prompt was cut to the context of 512 tokens (num_ctx)")
	})
}

func TestRealServerErrors(t *testing.T) {
	t.Run("a missing model is NotFound and names the model", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		c := newChat(t, openai.Config{BaseURL: srv.URL + "/v1", Model: "qwen2.5:7b"})
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Hallo")}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.NotFound, "model qwen2.5:7b not found on the OpenAI-compatible server at "+srv.URL+"/v1")
		wantError(t, c.Check(t.Context()), assist.NotFound, "model qwen2.5:7b is not served by "+srv.URL+"/v1 (served: ", "tiny:latest")
	})
	t.Run("a base URL without /v1 is Unavailable and names the fix", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		c := newChat(t, openai.Config{BaseURL: srv.URL, Model: srv.Model})
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Hallo")}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.Unavailable, "does not offer the OpenAI API: check the base URL (it ends in /v1)")
	})
	t.Run("a server that went away is Unavailable", func(t *testing.T) {
		srv := ollamatest.Start(t)
		c := newChat(t, openai.Config{BaseURL: srv.URL + "/v1", Model: srv.Model})
		srv.Stop()
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Hallo")}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.Unavailable, "the OpenAI-compatible server at "+srv.URL+"/v1 is not reachable")
		wantError(t, c.Check(t.Context()), assist.Unavailable, "is not reachable")
	})
	t.Run("a chat timeout shorter than the generation is Timeout and names the fix", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		c := newChat(t, openai.Config{BaseURL: srv.URL + "/v1", Model: srv.LongModel, Timeout: 500 * time.Millisecond})
		// Evaluating 16 KiB of prompt takes seconds on the long-context
		// tiny model; a long answer is no test, the model may end it early.
		long := strings.Repeat("Wohngeld nach § 19 WoGG. ", 16<<10/26)
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages(long), Options: assist.ChatOptions{NumPredict: 10}}, func(assist.Delta) error { return nil })
		wantError(t, err, assist.Timeout, "did not finish within 500ms: raise the chat timeout")
	})
}
