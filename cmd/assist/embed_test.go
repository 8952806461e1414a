package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amtsassist/assist/ollama/ollamatest"
)

// runWithEnv runs the CLI with extra environment variables.
func runWithEnv(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) string { return env[k] })
	return out.String(), errb.String(), code
}

// TestDenseIngestAgainstRealOllama indexes with embeddings from a real
// Ollama server (tiny generated model), searches in hybrid and dense mode,
// and shows that the index refuses a different embedding model.
func TestDenseIngestAgainstRealOllama(t *testing.T) {
	srv := ollamatest.Start(t)
	data := t.TempDir()
	env := map[string]string{"AMTSASSIST_DATA_DIR": data, "AMTSASSIST_OLLAMA_URL": srv.URL, "AMTSASSIST_EMBED_MODEL": srv.Model}
	doc := filepath.Join(t.TempDir(), "vermerk.md")
	os.WriteFile(doc, []byte("# Vermerk\n\n## Sachverhalt\n\nDer Antragsteller beantragt Wohngeld für einen Haushalt mit drei Personen.\n\n## Ergebnis\n\nDer Antrag ist vollständig.\n"), 0o644)

	out, errOut, code := runWithEnv(t, env, "ingest", "--quiet", doc)
	if code != 0 || !strings.Contains(out, "lexical + vectors") {
		t.Fatalf("ingest with embeddings: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = runWithEnv(t, env, "stats", "--json")
	if !strings.Contains(out, `"vectors":2`) && !strings.Contains(out, `"name":"`+srv.Model) {
		t.Fatalf("no vectors stored: %s", out)
	}
	for _, mode := range []string{"hybrid", "dense"} {
		out, errOut, code = runWithEnv(t, env, "search", "--json", "--mode", mode, "Wohngeld Haushalt")
		if code != 0 || !strings.Contains(out, `"doc_id"`) {
			t.Fatalf("%s search: exit %d\n%s%s", mode, code, out, errOut)
		}
	}

	// The tiny model under another name has the same dimension but is another model.
	env["AMTSASSIST_EMBED_MODEL"] = "other-model"
	_, errOut, code = runWithEnv(t, env, "stats")
	if code == 0 || !strings.Contains(errOut, "other-model") || !strings.Contains(errOut, "ollama pull") {
		t.Fatalf("a missing model must name the fix: exit %d, %s", code, errOut)
	}
}
