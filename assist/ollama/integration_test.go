package ollama_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/ollama"
	"amtsassist/assist/ollama/ollamatest"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// The tests below run against a real Ollama server with the tiny model.

func TestRealServerEmbeds(t *testing.T) {
	srv := ollamatest.StartShared(t)
	in := []string{
		"§ 19 Abs. 1 WoGG",
		"Antrag auf Wohngeld",
		"Der Bescheid ist bestandskräftig.",
		"§ 19 Abs. 1 WoGG", // a repeat must embed like its first occurrence
		"Widerspruch gegen den Bescheid",
	}

	oneBatch := newClient(t, ollama.Config{URL: srv.URL, EmbedModel: srv.Model, BatchSize: 100})
	want, err := oneBatch.Embed(t.Context(), in)
	if err != nil {
		t.Fatalf("embed: %v\nserver log:\n%s", err, srv.Log())
	}

	t.Run("every text gets a vector of the model's embedding length", func(t *testing.T) {
		if len(want) != len(in) {
			t.Fatalf("got %d vectors for %d texts", len(want), len(in))
		}
		for i, v := range want {
			if len(v) != srv.EmbeddingLength {
				t.Errorf("vector %d has length %d, want %d", i, len(v), srv.EmbeddingLength)
			}
		}
	})

	t.Run("vectors come back in the order of the texts", func(t *testing.T) {
		if d := distance(want[0], want[3]); d > 1e-4 {
			t.Errorf("the same text at positions 1 and 4 embeds %g apart", d)
		}
		for i := range want {
			for j := i + 1; j < len(want); j++ {
				if in[i] != in[j] && distance(want[i], want[j]) < 1e-6 {
					t.Errorf("different texts %d and %d embed identically", i+1, j+1)
				}
			}
		}
		for i, text := range in {
			single, err := oneBatch.Embed(t.Context(), []string{text})
			if err != nil {
				t.Fatal(err)
			}
			if d := distance(want[i], single[0]); d > 1e-4 {
				t.Errorf("text %d embeds %g away from its embedding alone", i+1, d)
			}
		}
	})

	t.Run("small batches give the same vectors as one batch", func(t *testing.T) {
		batched := newClient(t, ollama.Config{URL: srv.URL, EmbedModel: srv.Model, BatchSize: 2})
		got, err := batched.Embed(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := distance(want[i], got[i]); d > 1e-4 {
				t.Errorf("vector %d differs by %g between batch sizes 100 and 2", i+1, d)
			}
		}
	})

	t.Run("the model's metadata is learned", func(t *testing.T) {
		m := oneBatch.Model()
		if m.Name != srv.Model || m.Dimension != srv.EmbeddingLength || m.ContextLength != srv.ContextLength {
			t.Errorf("Model() = %+v, want name %q, dimension %d, context length %d", m, srv.Model, srv.EmbeddingLength, srv.ContextLength)
		}
		if len(m.Digest) < 12 {
			t.Errorf("digest %q, want the model's digest", m.Digest)
		}
	})

	t.Run("a text longer than the context is embedded", func(t *testing.T) {
		long := strings.Repeat("Wohngeld ", srv.ContextLength) // ~9 tokens per word with the byte vocabulary
		got, err := oneBatch.Embed(t.Context(), []string{long})
		if err != nil {
			t.Fatal(err)
		}
		if len(got[0]) != srv.EmbeddingLength {
			t.Errorf("vector length %d", len(got[0]))
		}
	})
}

func TestRealServerCheck(t *testing.T) {
	srv := ollamatest.StartShared(t)
	t.Run("an installed model passes and its dimension is known", func(t *testing.T) {
		c := newClient(t, ollama.Config{URL: srv.URL, EmbedModel: srv.Model})
		if err := c.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := c.Model().Dimension; got != srv.EmbeddingLength {
			t.Errorf("dimension %d after Check, want %d", got, srv.EmbeddingLength)
		}
	})
	t.Run("a missing model is NotFound and names the fix", func(t *testing.T) {
		c := newClient(t, ollama.Config{URL: srv.URL, EmbedModel: "bge-m3"})
		wantError(t, c.Check(t.Context()), assist.NotFound, "model bge-m3 not found on Ollama at "+srv.URL+": run `ollama pull bge-m3`")
	})
}

func TestRealServerErrors(t *testing.T) {
	t.Run("embedding with a missing model is NotFound and names the fix", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		c := newClient(t, ollama.Config{URL: srv.URL, EmbedModel: "nomic-embed-text"})
		_, err := c.Embed(t.Context(), []string{"Wohngeld"})
		wantError(t, err, assist.NotFound, "run `ollama pull nomic-embed-text`")
	})
	t.Run("a request slower than the timeout is Timeout", func(t *testing.T) {
		srv := ollamatest.StartShared(t)
		c := newClient(t, ollama.Config{URL: srv.URL, EmbedModel: srv.Model, Timeout: time.Nanosecond})
		_, err := c.Embed(t.Context(), []string{"Wohngeld"})
		wantError(t, err, assist.Timeout)
	})
	t.Run("a server that went away is Unavailable", func(t *testing.T) {
		srv := ollamatest.Start(t)
		c := newClient(t, ollama.Config{URL: srv.URL, EmbedModel: srv.Model})
		if _, err := c.Embed(t.Context(), []string{"Wohngeld"}); err != nil {
			t.Fatalf("embed before stopping: %v", err)
		}
		srv.Stop()
		_, err := c.Embed(t.Context(), []string{"Wohngeld"})
		wantError(t, err, assist.Unavailable, "Ollama at "+srv.URL+" is not reachable: start it with `ollama serve`")
		wantError(t, c.Check(t.Context()), assist.Unavailable, "is not reachable")
	})
}

func distance(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
