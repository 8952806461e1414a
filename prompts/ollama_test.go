package prompts_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"amtsassist/assist/ollama/ollamatest"
	"amtsassist/prompts"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// TestPromptAndSchemaWorkWithOllama sends a rendered prompt with the answer
// schema as format to a real Ollama server. The tiny model's text is
// gibberish; what is checked is that the server accepts the schema and
// holds the answer to it: a complete answer is an object of exactly the
// four keys, a cut one at least the start of such an object.
//
// The prompt comes from an authority override with short templates: the
// embedded prompt is about 6,600 tokens for the tiny model's byte-level
// tokenizer, which took 14 s (idle machine) to 70 s (busy) of prompt
// evaluation here, too slow for every test run. The override also shows
// that overrides render through to the model.
func TestPromptAndSchemaWorkWithOllama(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: needs an Ollama server")
	}
	srv := ollamatest.StartShared(t)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := api.NewClient(u, &http.Client{Timeout: 3 * time.Minute})
	dir := t.TempDir()
	writeOverride(t, dir, "testamt", "system.tmpl", "Antworte als JSON: {{line .TypeTitle}}.")
	writeOverride(t, dir, "testamt", "aktenvermerk.tmpl",
		"Betreff: {{line .Betreff}}\n{{range .Sources}}[{{.N}}] {{line .Citation}}\n{{end}}")
	s := load(t, dir)
	p := render(t, s, prompts.Aktenvermerk, "Testamt", wohngeld())
	if p.Name != "testamt/aktenvermerk" {
		t.Fatalf("prompt %q, want the override", p.Name)
	}
	numCtx := srv.ContextLength

	var last, final api.ChatResponse
	n := 0
	var out strings.Builder
	err = c.Chat(t.Context(), &api.ChatRequest{
		Model:    srv.Model,
		Messages: []api.Message{{Role: "system", Content: p.System}, {Role: "user", Content: p.User}},
		Format:   s.Schema(),
		Options:  map[string]any{"num_ctx": numCtx, "num_predict": 48, "seed": 7, "temperature": 0},
	}, func(r api.ChatResponse) error {
		out.WriteString(r.Message.Content)
		if r.Done {
			last = r
		}
		final = r
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, srv.Log())
	}
	if !last.Done {
		// Ollama (up to its fix of the repeat limit) ends the stream
		// without a final message when a token repeats 30 times; with
		// num_predict this small it cannot happen.
		t.Fatalf("the stream ended after %d chunks without a final message; last chunk %+v", n, final)
	}
	t.Logf("durations: total %v, load %v, prompt eval %v, eval %v", last.TotalDuration, last.LoadDuration, last.PromptEvalDuration, last.EvalDuration)
	t.Logf("prompt: %d bytes, prompt_eval_count %d, num_ctx %d, output %d tokens (%s): %.120q",
		len(p.System)+len(p.User), last.PromptEvalCount, numCtx, last.EvalCount, last.DoneReason, out.String())
	if last.PromptEvalCount < len(p.System)+len(p.User) || last.PromptEvalCount >= numCtx {
		t.Errorf("prompt_eval_count %d for %d prompt bytes and num_ctx %d: the prompt was cut", last.PromptEvalCount, len(p.System)+len(p.User), numCtx)
	}
	answer := strings.TrimSpace(out.String())
	switch last.DoneReason {
	case "stop":
		var got map[string]any
		if err := json.Unmarshal([]byte(answer), &got); err != nil {
			t.Fatalf("a complete answer is not JSON: %v\n%s", err, answer)
		}
		if len(got) != len(prompts.AnswerKeys) {
			t.Errorf("answer has keys %v, want exactly %v", keys(got), prompts.AnswerKeys)
		}
		for _, k := range prompts.AnswerKeys {
			if _, ok := got[k].(string); !ok {
				t.Errorf("answer key %q = %v, want a string", k, got[k])
			}
		}
	case "length":
		// Cut by num_predict: never a valid answer for the service, but
		// what there is must be the start of an object with an answer key.
		lead := strings.Join(strings.Fields(answer), "")
		ok := false
		for _, k := range prompts.AnswerKeys {
			key := `{"` + k + `"`
			ok = ok || strings.HasPrefix(lead, key) || strings.HasPrefix(key, lead)
		}
		if !ok {
			t.Errorf("a cut answer does not start an object with an answer key: %.80q", answer)
		}
	default:
		t.Errorf("done_reason %q, want stop or length", last.DoneReason)
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
