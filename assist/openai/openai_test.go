package openai_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/openai"
)

func wantError(t *testing.T, err error, kind assist.Kind, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind)
	}
	var ae *assist.Error
	if !errors.As(err, &ae) {
		t.Fatalf("got %T (%v), want *assist.Error", err, err)
	}
	if got := assist.KindOf(err); got != kind {
		t.Errorf("kind = %v, want %v (error: %v)", got, kind, err)
	}
	msg := assist.Message(err)
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("message %q does not contain %q", msg, f)
		}
	}
}

// fakeServer answers /chat/completions with a fixed status and body, and
// records the requests' headers and bodies.
type fakeServer struct {
	status int
	body   string

	mu      sync.Mutex
	headers []http.Header
	bodies  []map[string]any
}

func (f *fakeServer) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.headers = append(f.headers, r.Header.Clone())
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		if f.status != http.StatusOK {
			w.WriteHeader(f.status)
			w.Write([]byte(f.body))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, chunk := range []string{
			`{"choices":[{"index":0,"delta":{"role":"assistant","content":"Ver"}}]}`,
			`{"choices":[{"index":0,"delta":{"content":"merk"}}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`,
			`{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}`,
		} {
			w.Write([]byte("data: " + chunk + "\n\n"))
		}
		w.Write([]byte("data: [DONE]\n\n"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func TestChatTranslatesStatusCodes(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		kind      assist.Kind
		fragments []string
	}{
		{"a 404 with an API error is a missing model", 404, `{"error":{"message":"model \"x\" not found","type":"api_error"}}`, assist.NotFound, []string{"model m not found on the OpenAI-compatible server"}},
		{"a 404 without an API error is a wrong base URL", 404, `404 page not found`, assist.Unavailable, []string{"does not offer the OpenAI API"}},
		{"a 401 names the API key", 401, `{"error":{"message":"bad key"}}`, assist.Unavailable, []string{"check the API key"}},
		{"OpenAI's context_length_exceeded is TooLarge with the server's reason", 400, `{"error":{"message":"maximum context length is 8192 tokens","code":"context_length_exceeded"}}`, assist.TooLarge, []string{"rejected the prompt as too large: maximum context length is 8192 tokens"}},
		{"vLLM's flat 400 is Invalid with the server's reason", 400, `{"object":"error","message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","code":400}`, assist.Invalid, []string{"(HTTP 400): This model's maximum context length is 4096 tokens."}},
		{"a 503 is Unavailable", 503, `busy`, assist.Unavailable, []string{"busy or unavailable (HTTP 503)"}},
		{"a 500 is Unavailable and points to the server log", 500, `{"error":{"message":"runner crashed"}}`, assist.Unavailable, []string{"failed to run model m (HTTP 500)"}},
		{"a 504 is Timeout", 504, ``, assist.Timeout, []string{"did not answer in time (HTTP 504)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServer{status: tt.status, body: tt.body}
			c := newChat(t, openai.Config{BaseURL: f.start(t), Model: "m"})
			_, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Frage")}, func(assist.Delta) error { return nil })
			wantError(t, err, tt.kind, tt.fragments...)
		})
	}
}

func TestChatSendsTheRequest(t *testing.T) {
	f := &fakeServer{status: http.StatusOK}
	c := newChat(t, openai.Config{BaseURL: f.start(t), Model: "m", APIKey: "geheim", Options: assist.ChatOptions{Temperature: ptr(0.3), Seed: ptr(5)}})
	schema := json.RawMessage(`{"type":"object","properties":{"e":{"type":"string","enum":["a","b"]}},"required":["e"]}`)
	var streamed strings.Builder
	res, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Frage"), Format: schema, Options: assist.ChatOptions{NumPredict: 50}}, func(d assist.Delta) error {
		streamed.WriteString(d.Content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the result carries content, finish reason and usage", func(t *testing.T) {
		if res.Content != "Vermerk" || streamed.String() != "Vermerk" || res.DoneReason != "length" || res.PromptTokens != 12 || res.OutputTokens != 2 {
			t.Errorf("result %+v, streamed %q", res, streamed.String())
		}
	})
	body := f.bodies[0]
	t.Run("options, streaming and the schema are sent", func(t *testing.T) {
		if body["max_tokens"] != 50.0 || body["temperature"] != 0.3 || body["seed"] != 5.0 || body["stream"] != true {
			t.Errorf("body %v lacks max_tokens 50, temperature 0.3, seed 5 or stream", body)
		}
		rf, _ := json.Marshal(body["response_format"])
		if !strings.Contains(string(rf), `"type":"json_schema"`) || !strings.Contains(string(rf), `"enum":["a","b"]`) {
			t.Errorf("response_format %s does not carry the schema", rf)
		}
	})
	t.Run("the API key is sent as a bearer token", func(t *testing.T) {
		if got := f.headers[0].Get("Authorization"); got != "Bearer geheim" {
			t.Errorf("Authorization = %q", got)
		}
	})
	t.Run("without an API key no Authorization header is sent", func(t *testing.T) {
		c := newChat(t, openai.Config{BaseURL: f.start(t), Model: "m"})
		if _, err := c.Chat(t.Context(), assist.ChatRequest{Messages: messages("Frage")}, func(assist.Delta) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := f.headers[len(f.headers)-1].Get("Authorization"); got != "" {
			t.Errorf("Authorization = %q, want none", got)
		}
	})
}

func TestNewValidatesTheConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      openai.Config
		fragment string
	}{
		{"an empty base URL is invalid", openai.Config{Model: "m"}, "base URL of the OpenAI-compatible server is empty"},
		{"a base URL without http is invalid", openai.Config{BaseURL: "ftp://x/v1", Model: "m"}, "must start with http:// or https://"},
		{"a missing model is invalid", openai.Config{BaseURL: "http://x/v1"}, "no model is configured"},
		{"a negative timeout is invalid", openai.Config{BaseURL: "http://x/v1", Model: "m", Timeout: -1}, "chat timeout -1ns is negative"},
		{"a temperature above 2 is invalid", openai.Config{BaseURL: "http://x/v1", Model: "m", Options: assist.ChatOptions{Temperature: ptr(2.5)}}, "temperature 2.5 is outside 0..2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openai.New(tt.cfg, nil)
			wantError(t, err, assist.Invalid, tt.fragment)
		})
	}
}

func TestChatRejectsBadRequests(t *testing.T) {
	f := &fakeServer{status: http.StatusOK}
	c := newChat(t, openai.Config{BaseURL: f.start(t), Model: "m"})
	user := []assist.ChatMessage{{Role: assist.RoleUser, Content: "Frage"}}
	tests := []struct {
		name     string
		req      assist.ChatRequest
		fragment string
	}{
		{"a request without messages is invalid", assist.ChatRequest{}, "no messages"},
		{"an unknown role is invalid", assist.ChatRequest{Messages: []assist.ChatMessage{{Role: "tool", Content: "x"}}}, `unknown role "tool"`},
		{"an empty last message is invalid", assist.ChatRequest{Messages: []assist.ChatMessage{{Role: assist.RoleUser}}}, "the last message (user) is empty"},
		{"a format that is not a JSON object is invalid", assist.ChatRequest{Messages: user, Format: json.RawMessage(`"x"`)}, "not a JSON schema object"},
		{"a schema with a type list cannot be sent", assist.ChatRequest{Messages: user, Format: json.RawMessage(`{"type":["string","null"]}`)}, "cannot be sent to an OpenAI-compatible server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Chat(t.Context(), tt.req, func(assist.Delta) error { return nil })
			wantError(t, err, assist.Invalid, tt.fragment)
		})
	}
	if len(f.bodies) != 0 {
		t.Errorf("%d bad requests reached the server", len(f.bodies))
	}
}
