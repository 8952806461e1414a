package draft_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"amtsassist/assist/ollama/ollamatest"
	"amtsassist/ingest"
	"amtsassist/rag"
	"amtsassist/rag/local"
)

// TestMain stops the shared Ollama test server and removes the federal
// law index the real-data tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	ollamatest.StopShared()
	if lawIx.dir != "" {
		if lawIx.ix != nil {
			lawIx.ix.Close()
		}
		os.RemoveAll(lawIx.dir)
	}
	os.Exit(code)
}

// sharedFederalLaws is the federal law corpus of the shared development
// data, relative to this package.
var sharedFederalLaws = filepath.Join("..", "..", "..", "..", "shared", "data", "laws", "federal")

var lawIx struct {
	once sync.Once
	dir  string
	ix   *local.Index
	err  error
}

// federalIndex ingests the shared federal laws (source.xml, through the
// real pipeline) into a local index once per test process. It skips when
// the data is absent.
func federalIndex(tb testing.TB) rag.Index {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(sharedFederalLaws, "WoGG", "source.xml")); err != nil {
		tb.Skipf("shared federal law data not found under %s: these tests need the development data set (../shared/data)", sharedFederalLaws)
	}
	lawIx.once.Do(func() {
		lawIx.dir, lawIx.err = os.MkdirTemp("", "amtsassist-draft-laws-")
		if lawIx.err != nil {
			return
		}
		lawIx.ix, lawIx.err = local.Open(lawIx.dir, local.Config{}, nil)
		if lawIx.err != nil {
			return
		}
		p, err := ingest.New(ingest.Config{Index: lawIx.ix})
		if err != nil {
			lawIx.err = err
			return
		}
		rep, err := p.IngestPaths(context.Background(), []string{sharedFederalLaws}, ingest.Options{})
		if err == nil && rep.Failed > 0 {
			err = os.ErrInvalid
		}
		lawIx.err = err
	})
	if lawIx.err != nil {
		tb.Fatalf("ingesting the federal laws: %v", lawIx.err)
	}
	return lawIx.ix
}
