package ollamatest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"amtsassist/assist/ollama/ollamatest"
)

func client(t *testing.T, s *ollamatest.Server) *api.Client {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewClient(u, &http.Client{Timeout: time.Minute})
}

func TestSharedServerServesTheTinyModel(t *testing.T) {
	s := ollamatest.StartShared(t)
	c := client(t, s)
	ctx := t.Context()

	t.Run("embed returns vectors of the embedding length", func(t *testing.T) {
		resp, err := c.Embed(ctx, &api.EmbedRequest{Model: s.Model, Input: []string{"Wohngeld", "Antrag auf Bürgergeld"}})
		if err != nil {
			t.Fatalf("embed: %v\n%s", err, s.Log())
		}
		if len(resp.Embeddings) != 2 {
			t.Fatalf("got %d embeddings, want 2", len(resp.Embeddings))
		}
		for i, v := range resp.Embeddings {
			if len(v) != s.EmbeddingLength {
				t.Errorf("embedding %d has length %d, want %d", i, len(v), s.EmbeddingLength)
			}
		}
	})

	t.Run("show reports the context length", func(t *testing.T) {
		resp, err := c.Show(ctx, &api.ShowRequest{Model: s.Model})
		if err != nil {
			t.Fatalf("show: %v", err)
		}
		if got := resp.ModelInfo["llama.context_length"]; got != float64(s.ContextLength) {
			t.Errorf("llama.context_length = %v, want %d", got, s.ContextLength)
		}
	})

	t.Run("chat streams until num_predict", func(t *testing.T) {
		var chunks int
		var last api.ChatResponse
		err := c.Chat(ctx, &api.ChatRequest{
			Model:    s.Model,
			Messages: []api.Message{{Role: "system", Content: "Du bist hilfreich."}, {Role: "user", Content: "Hallo"}},
			Options:  map[string]any{"num_predict": 8, "seed": 1, "temperature": 0},
		}, func(r api.ChatResponse) error {
			chunks++
			last = r
			return nil
		})
		if err != nil {
			t.Fatalf("chat: %v\n%s", err, s.Log())
		}
		if !last.Done || last.DoneReason != "length" {
			t.Errorf("last chunk done=%v reason=%q, want done with reason length", last.Done, last.DoneReason)
		}
		if chunks < 2 {
			t.Errorf("got %d chunks, want a stream", chunks)
		}
		if last.EvalCount != 8 {
			t.Errorf("eval count %d, want 8", last.EvalCount)
		}
	})
}

func TestStoppedServerRefusesConnections(t *testing.T) {
	s := ollamatest.Start(t)
	c := client(t, s)
	if _, err := c.Version(t.Context()); err != nil {
		t.Fatalf("version before stop: %v", err)
	}
	s.Stop()
	s.Stop() // idempotent
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.Version(ctx); err == nil {
		t.Fatal("version after stop succeeded, want a connection error")
	}
}

func TestMain(m *testing.M) { ollamatest.Main(m) }

// TestMissingBinary runs this test binary again in an environment without
// any Ollama binary and checks that it skips outside CI and fails in CI.
func TestMissingBinary(t *testing.T) {
	if os.Getenv("OLLAMATEST_CHILD") == "1" {
		ollamatest.Start(t)
		t.Fatal("Start returned without a binary")
	}
	tests := []struct {
		name string
		ci   string
		want string
	}{
		{"outside CI the test is skipped with the fix", "", "--- SKIP"},
		{"in CI the test fails with the fix", "true", "--- FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMissingBinary$", "-test.v")
			cmd.Dir = t.TempDir() // no go.mod above, so no repository .cache/bin
			cmd.Env = []string{"OLLAMATEST_CHILD=1", "PATH=", "HOME=" + cmd.Dir, "CI=" + tt.ci}
			out, _ := cmd.CombinedOutput()
			for _, want := range []string{tt.want, "no ollama binary: run deploy/ollama/install-test-server.sh"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestLongModelHasTheLongContext(t *testing.T) {
	s := ollamatest.Start(t)
	body := strings.NewReader(`{"model":"` + s.LongModel + `"}`)
	resp, err := http.Post(s.URL+"/api/show", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var show struct {
		ModelInfo map[string]any `json:"model_info"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&show); err != nil {
		t.Fatal(err)
	}
	if got := show.ModelInfo["llama.context_length"]; got != float64(ollamatest.LongContextLength) {
		t.Fatalf("context length of %s = %v, want %d", s.LongModel, got, ollamatest.LongContextLength)
	}
}
