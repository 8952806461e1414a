package pdf_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/ingest/pdf"
)

// FuzzExtract feeds arbitrary bytes to Extract: it must return pages or a
// classified error, never panic, and stay within its context.
func FuzzExtract(f *testing.F) {
	small := fixture{title: "T", pages: []string{
		column(72, 700, "Die Verwal-", "tung entscheidet."),
		column(72, 700, "Links eins zwei drei vier fünf") + column(320, 700, "Rechts eins zwei drei vier"),
	}}.build(f)
	f.Add(small)
	f.Add(small[:len(small)/2])
	f.Add(small[len(small)/3:])
	f.Add(fixture{pages: []string{""}, encrypt: true}.build(f))
	f.Add(fixture{pages: []string{"BT /F1 10 Tf [(A) -300 (B)] TJ T* (C) ' 1 2 (D) \" ET q Q Q Q cm /X Do"}}.build(f))
	f.Add([]byte("%PDF-1.7\n%%EOF\n"))
	f.Add(rawPDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /X 7 0 R >> >> /Contents 4 0 R >>",
		stream("BI /W 1 /H 1 ID x EI /X Do " + textAt(72, 700, "AB")),
		"<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [<< /DW 500 /W [65 [600 700]] >>] /ToUnicode 6 0 R >>",
		stream("begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfchar <4142> <0041> endbfchar endcmap"),
		"<< /Type /XObject /Subtype /Form /Length 20 >>\nstream\nBT /F1 9 Tf (A) Tj ET\nendstream",
	}, 1))
	// Real files are too large to mutate usefully as a whole; their
	// beginnings and ends (header, xref, trailer) are good seeds.
	real := filepath.Join("..", "..", "..", "shared", "data", "pdf", "bgbl", "bgbl-1_2024_107", "107.pdf")
	if data, err := os.ReadFile(real); err == nil {
		// Kept small: the fuzzer minimises every new interesting input,
		// which takes long for large ones and stalls the run meanwhile.
		f.Add(data[:1024])
		f.Add(append(append([]byte{}, data[:256]...), data[len(data)-768:]...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		pages, err := pdf.Extract(ctx, data)
		if err != nil {
			var e *assist.Error
			if !errors.As(err, &e) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			if e != nil && e.Msg == "" {
				t.Fatalf("error without a user-safe message: %v", err)
			}
			return
		}
		for i, p := range pages {
			if p.Number != i+1 {
				t.Fatalf("page %d numbered %d", i+1, p.Number)
			}
		}
	})
}
