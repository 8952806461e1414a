package ollama_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/ollama"
)

// fakeChatServer imitates /api/show, /api/tags, /api/embed and /api/chat.
// It reports the prompt_eval_count the test sets, which is how the tests
// provoke the truncation a real server performs on prompts that the
// budget let through (for instance with a chat template larger than the
// reserve).
type fakeChatServer struct {
	contextLength int
	// promptEval is the prompt_eval_count /api/chat reports; evalCount
	// the eval_count.
	promptEval, evalCount int

	mu       sync.Mutex
	chats    []map[string]any // the decoded /api/chat requests
	embedded int              // /api/embed requests
}

func (f *fakeChatServer) start(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"model_info": map[string]any{
			"general.architecture": "llama", "llama.context_length": f.contextLength,
		}})
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"models": []map[string]any{{"name": "fake:latest", "model": "fake:latest", "digest": "sha256:f00"}}})
	})
	mux.HandleFunc("POST /api/embed", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Input string }
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.embedded++
		f.mu.Unlock()
		// Two bytes a token, about what BPE tokenizers do for German.
		json.NewEncoder(w).Encode(map[string]any{"embeddings": [][]float32{{1}}, "prompt_eval_count": (len(req.Input) + 1) / 2})
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		f.mu.Lock()
		f.chats = append(f.chats, req)
		f.mu.Unlock()
		enc := json.NewEncoder(w)
		enc.Encode(map[string]any{"message": map[string]any{"role": "assistant", "content": "Ver"}})
		enc.Encode(map[string]any{"message": map[string]any{"role": "assistant", "content": "merk"}})
		enc.Encode(map[string]any{"message": map[string]any{"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
			"prompt_eval_count": f.promptEval, "eval_count": f.evalCount})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestChatRefusesTruncatedPrompts(t *testing.T) {
	tests := []struct {
		name       string
		prompt     string
		promptEval int
		evalCount  int
		numPredict int // 0: the configured 100
		kind       assist.Kind
		fragments  []string
	}{
		{
			name:   "a prompt evaluated whole is a result",
			prompt: "kurz", promptEval: 40, evalCount: 2,
		},
		{
			name:   "a long prompt estimated within the budget and evaluated whole is a result",
			prompt: strings.Repeat("x", 1000), promptEval: 520, evalCount: 2,
		},
		{
			name:   "a prompt_eval_count at num_ctx means the runner cut the prompt",
			prompt: "kurz", promptEval: 1000, evalCount: 2,
			kind: assist.TooLarge, fragments: []string{"prompt was cut to the context of 1000 tokens (num_ctx)"},
		},
		{
			// The estimate (550 + reserve 80) misses the budget of 600, the
			// exact count (500 + 80) fits, so the prompt is sent counted.
			name:   "fewer evaluated tokens than counted means messages were dropped",
			prompt: strings.Repeat("x", 1000), promptEval: 300, evalCount: 2, numPredict: 400,
			kind: assist.TooLarge, fragments: []string{"Ollama evaluated 300 prompt tokens, but the messages have 500"},
		},
		{
			name:   "a prompt and answer beyond num_ctx means the context was shifted",
			prompt: "kurz", promptEval: 900, evalCount: 200,
			kind: assist.TooLarge, fragments: []string{"Ollama dropped prompt tokens while generating"},
		},
		{
			name:   "a server that reports no prompt_eval_count is not refused",
			prompt: "kurz", promptEval: 0, evalCount: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeChatServer{contextLength: 1000, promptEval: tt.promptEval, evalCount: tt.evalCount}
			c, err := ollama.NewChat(t.Context(), ollama.ChatConfig{URL: f.start(t), Model: "fake", Options: assist.ChatOptions{NumPredict: 100}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var streamed strings.Builder
			req := assist.ChatRequest{Messages: []assist.ChatMessage{{Role: assist.RoleUser, Content: tt.prompt}}, Options: assist.ChatOptions{NumPredict: tt.numPredict}}
			res, err := c.Chat(t.Context(), req, func(d assist.Delta) error {
				streamed.WriteString(d.Content)
				return nil
			})
			if tt.kind != assist.Other {
				wantError(t, err, tt.kind, tt.fragments...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Content != "Vermerk" || streamed.String() != "Vermerk" || res.DoneReason != "stop" || res.Model.Digest != "sha256:f00" {
				t.Errorf("result %+v, streamed %q", res, streamed.String())
			}
		})
	}
}

func TestChatSendsExplicitOptions(t *testing.T) {
	f := &fakeChatServer{contextLength: 8192, promptEval: 20, evalCount: 2}
	c, err := ollama.NewChat(t.Context(), ollama.ChatConfig{URL: f.start(t), Model: "fake", Options: assist.ChatOptions{
		Temperature: ptr(0.2), Seed: ptr(1), NumCtx: 4096, KeepAlive: time.Minute,
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	schema := json.RawMessage(`{"type":"object"}`)
	_, err = c.Chat(t.Context(), assist.ChatRequest{
		Messages: []assist.ChatMessage{{Role: assist.RoleSystem, Content: "Regeln"}, {Role: assist.RoleUser, Content: "Frage"}},
		Format:   schema,
		Options:  assist.ChatOptions{Seed: ptr(9), NumPredict: 300},
	}, func(assist.Delta) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	req := f.chats[0]
	opts := req["options"].(map[string]any)
	want := map[string]any{"num_ctx": 4096.0, "num_predict": 300.0, "temperature": 0.2, "seed": 9.0}
	for k, v := range want {
		if opts[k] != v {
			t.Errorf("option %s = %v, want %v (request options override the configuration)", k, opts[k], v)
		}
	}
	if req["keep_alive"] == nil || req["format"] == nil || req["stream"] != true || req["truncate"] != false || req["shift"] != false {
		t.Errorf("request lacks keep_alive, format, stream, truncate=false or shift=false: %v", req)
	}
	if f.embedded != 0 {
		t.Errorf("a prompt far below the budget was counted on the server %d times; the byte bound suffices", f.embedded)
	}

	t.Run("without num_predict a reserve is still sent, so Ollama never shifts the context", func(t *testing.T) {
		_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: []assist.ChatMessage{{Role: assist.RoleUser, Content: "Frage"}}}, func(assist.Delta) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if got := f.chats[1]["options"].(map[string]any)["num_predict"]; got != float64(ollama.DefaultAnswerReserve) {
			t.Errorf("num_predict = %v, want %d", got, ollama.DefaultAnswerReserve)
		}
	})
}

func TestChatRejectsBadRequests(t *testing.T) {
	f := &fakeChatServer{contextLength: 1000, promptEval: 20}
	c, err := ollama.NewChat(t.Context(), ollama.ChatConfig{URL: f.start(t), Model: "fake"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	user := []assist.ChatMessage{{Role: assist.RoleUser, Content: "Frage"}}
	tests := []struct {
		name     string
		req      assist.ChatRequest
		kind     assist.Kind
		fragment string
	}{
		{"a request without messages is invalid", assist.ChatRequest{}, assist.Invalid, "no messages"},
		{"an unknown role is invalid", assist.ChatRequest{Messages: []assist.ChatMessage{{Role: "tool", Content: "x"}}}, assist.Invalid, `unknown role "tool"`},
		{"an empty last message is invalid", assist.ChatRequest{Messages: []assist.ChatMessage{{Role: assist.RoleUser, Content: " "}}}, assist.Invalid, "the last message (user) is empty"},
		{"a format that is not a JSON object is invalid", assist.ChatRequest{Messages: user, Format: json.RawMessage(`[1`)}, assist.Invalid, "not a JSON schema object"},
		{"a negative num_predict is invalid", assist.ChatRequest{Messages: user, Options: assist.ChatOptions{NumPredict: -1}}, assist.Invalid, "num_predict -1 is negative"},
		{"a temperature above 2 is invalid", assist.ChatRequest{Messages: user, Options: assist.ChatOptions{Temperature: ptr(3.0)}}, assist.Invalid, "temperature 3 is outside 0..2"},
		{"a num_ctx above the model's is invalid", assist.ChatRequest{Messages: user, Options: assist.ChatOptions{NumCtx: 2000}}, assist.Invalid, "num_ctx 2000 exceeds the context length 1000"},
		{"a num_predict filling the context is TooLarge", assist.ChatRequest{Messages: user, Options: assist.ChatOptions{NumPredict: 1000}}, assist.TooLarge, "num_predict 1000 leaves no room for the prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Chat(t.Context(), tt.req, func(assist.Delta) error { return nil })
			wantError(t, err, tt.kind, tt.fragment)
		})
	}
	if len(f.chats) != 0 {
		t.Errorf("%d bad requests reached the server", len(f.chats))
	}
}

func TestNewChatValidatesTheConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      ollama.ChatConfig
		fragment string
	}{
		{"a config without a model is invalid", ollama.ChatConfig{URL: "http://127.0.0.1:1"}, "no Ollama chat model is configured"},
		{"a model name with spaces is invalid", ollama.ChatConfig{URL: "http://127.0.0.1:1", Model: "tiny "}, "leading or trailing spaces"},
		{"a negative timeout is invalid", ollama.ChatConfig{URL: "http://127.0.0.1:1", Model: "tiny", Timeout: -1}, "chat timeout -1ns is negative"},
		{"a negative num_ctx is invalid", ollama.ChatConfig{URL: "http://127.0.0.1:1", Model: "tiny", Options: assist.ChatOptions{NumCtx: -5}}, "num_ctx -5 is negative"},
		{"an empty URL is invalid", ollama.ChatConfig{Model: "tiny"}, "ollama URL is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ollama.NewChat(t.Context(), tt.cfg, nil)
			wantError(t, err, assist.Invalid, tt.fragment)
		})
	}
}
