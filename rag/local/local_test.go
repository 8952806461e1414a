package local_test

import (
	"log/slog"
	"testing"

	"amtsassist/rag"
	"amtsassist/rag/indextest"
	"amtsassist/rag/local"
)

// openTemp opens an index in a fresh temporary directory, closed when the
// test ends.
func openTemp(t *testing.T) *local.Index {
	t.Helper()
	ix, err := local.Open(t.TempDir(), local.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T) rag.Index { return openTemp(t) })
}
