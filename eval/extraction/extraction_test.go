package extraction_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amtsassist/eval/extraction"
)

// dataDir is the shared data directory, relative to this package.
var dataDir = filepath.Join("..", "..", "..", "shared", "data")

func TestRunBeatsGetPlainTextOnSharedData(t *testing.T) {
	if _, err := os.Stat(filepath.Join(dataDir, "pdf")); err != nil {
		t.Skipf("shared data not found at %s: the extraction benchmark needs its PDFs", dataDir)
	}
	var out strings.Builder
	rep, err := extraction.Run(context.Background(), dataDir, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, f := range rep.Files {
		t.Run(f.Name+" is extracted at least as well as by GetPlainText", func(t *testing.T) {
			ours, ok := rep.Recall(f.Name, extraction.Ours)
			if !ok {
				t.Fatalf("no recall for %s", extraction.Ours)
			}
			base, ok := rep.Recall(f.Name, extraction.GetPlainText)
			if ok && ours < base {
				t.Errorf("recall %.3f < GetPlainText's %.3f", ours, base)
			}
			// A loose floor against layout regressions; pdftotext reaches
			// about 0.97 on both files.
			if ours < 0.95 {
				t.Errorf("recall %.3f < 0.95", ours)
			}
		})
	}
}
