package ollama_test

import (
	"testing"

	"amtsassist/assist"
	"amtsassist/assist/ollama"
)

// FuzzNew checks that any configured URL either yields a client or an
// Invalid error, never a panic or another kind.
func FuzzNew(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:11434", "https://ollama.example/prefix/", "", "http://", "http://[::1]:0", "localhost", "http://h:65536", "http://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := ollama.New(ollama.Config{URL: raw, EmbedModel: "m"}, nil)
		switch {
		case err != nil && assist.KindOf(err) != assist.Invalid:
			t.Fatalf("New(%q): kind %v, want invalid: %v", raw, assist.KindOf(err), err)
		case err == nil && c.URL() == "":
			t.Fatalf("New(%q): client without URL", raw)
		}
	})
}
