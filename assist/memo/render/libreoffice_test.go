package render_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtsassist/assist/memo"
	"amtsassist/assist/memo/render"

	"github.com/ledongthuc/pdf"
)

// TestDOCXConvertsToPDFWithLibreOffice is the second check of the .docx:
// LibreOffice must open it and print it. The structural test cannot see
// what a word processor rejects (element order, missing relationships);
// a real import can. It skips when soffice is not installed (install
// libreoffice-writer-nogui) and in -short mode: it takes a few seconds.
func TestDOCXConvertsToPDFWithLibreOffice(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: converting with LibreOffice takes seconds")
	}
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("soffice not installed (apt-get install libreoffice-writer-nogui); the structural DOCX tests still ran")
	}
	t.Run("a model draft prints with every part and the mark on every page", func(t *testing.T) {
		text, pages := convert(t, soffice, llmMemo())
		for _, want := range []string{memo.DraftMark, "Sachverhalt", "Rechtliche Würdigung", "Ergebnis/Vorschlag", "Verfügung",
			"Quellen", "[1] § 3 Abs. 1 WoGG — WoGG", "Norm nicht im Bestand", "WG-2026-0815"} {
			if !strings.Contains(text, squeeze(want)) {
				t.Errorf("the PDF lacks %q", want)
			}
		}
		checkMarks(t, text, pages)
	})
	t.Run("a memo quoting the whole WoGG prints on many pages, each marked", func(t *testing.T) {
		m := realMemo(t)
		text, pages := convert(t, soffice, m)
		if pages < 10 {
			t.Errorf("%d pages, want many", pages)
		}
		last := m.Sources[len(m.Sources)-1]
		if !strings.Contains(text, squeeze(fmt.Sprintf("[%d] %s — WoGG", last.N, last.Citation))) {
			t.Errorf("the PDF lacks the last source %s", last.Citation)
		}
		checkMarks(t, text, pages)
	})
}

// checkMarks wants the draft mark at the top and in the page header of
// every page.
func checkMarks(t *testing.T, text string, pages int) {
	t.Helper()
	if n := strings.Count(text, squeeze(memo.DraftMark)); n < 1+pages {
		t.Errorf("the draft mark appears %d times on %d pages, want at least %d", n, pages, 1+pages)
	}
}

// convert renders m as .docx, has LibreOffice print it as PDF and returns
// the PDF's text without whitespace and its page count.
func convert(t *testing.T, soffice string, m *memo.Memo) (string, int) {
	t.Helper()
	b, err := render.DOCX(m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "vermerk.docx")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A profile of its own keeps the conversion from touching (or waiting
	// for) the user's LibreOffice profile.
	cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--headless", "--norestore", "--convert-to", "pdf", "--outdir", dir, in)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	began := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice failed: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "vermerk.pdf"))
	if err != nil {
		t.Fatalf("no PDF written (%v); soffice said:\n%s", err, out)
	}
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Fatalf("output is not a PDF: %q", data[:min(len(data), 16)])
	}
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the PDF does not parse: %v", err)
	}
	tr, err := r.GetPlainText()
	if err != nil {
		t.Fatalf("no text in the PDF: %v", err)
	}
	raw, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	// Text extraction loses spaces and line breaks at will; compare
	// without whitespace.
	text := squeeze(string(raw))
	t.Logf("DOCX %d bytes → PDF %d bytes, %d pages, %d characters of text, in %v",
		len(b), len(data), r.NumPage(), len(text), time.Since(began).Round(time.Millisecond))
	return text, r.NumPage()
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }
