package pdf_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/ingest/pdf"
)

// sharedPDF reads a PDF of the shared data set or skips the test.
func sharedPDF(t *testing.T, rel string) []byte {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", "pdf", rel)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("shared data not available (%s): %v", p, err)
	}
	return data
}

func extractText(t *testing.T, data []byte) []pdf.Page {
	t.Helper()
	pages, err := pdf.Extract(context.Background(), data)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	return pages
}

func TestExtractRebuildsLayout(t *testing.T) {
	tests := []struct {
		name  string
		pages []string
		want  []string // page texts
	}{
		{
			name:  "words on one line are separated by spaces",
			pages: []string{textAt(72, 700, "Der Bescheid ist rechtskräftig.")},
			want:  []string{"Der Bescheid ist rechtskräftig."},
		},
		{
			name: "two columns are read left column first",
			pages: []string{column(72, 700, "Die linke Spalte beginnt hier", "und setzt sich in der zweiten", "Zeile fort, bis sie endet.") +
				column(320, 700, "Die rechte Spalte folgt erst", "danach, obwohl ihre Zeilen", "auf gleicher Höhe stehen.")},
			want: []string{"Die linke Spalte beginnt hier\nund setzt sich in der zweiten\nZeile fort, bis sie endet.\nDie rechte Spalte folgt erst\ndanach, obwohl ihre Zeilen\nauf gleicher Höhe stehen."},
		},
		{
			name: "a table with loosely spaced rows is read row by row",
			pages: []string{
				textAt(72, 700, "Bahr (Münster), Daniel") + textAt(300, 700, "FDP") + textAt(450, 700, "08.11.2005") +
					textAt(72, 676, "Eichel, Hans Georg Karl") + textAt(300, 676, "SPD") + textAt(450, 676, "08.11.2005") +
					textAt(72, 652, "Fell, Hans-Josef Peter") + textAt(300, 652, "GRÜNE") + textAt(450, 652, "09.11.2005"),
			},
			want: []string{"Bahr (Münster), Daniel FDP 08.11.2005\n\nEichel, Hans Georg Karl SPD 08.11.2005\n\nFell, Hans-Josef Peter GRÜNE 09.11.2005"},
		},
		{
			name: "a dense table of figures is read row by row",
			pages: []string{
				column(72, 700, "1948 Jahresdurchschnitt", "1949 Jahresdurchschnitt", "1950 Jahresdurchschnitt") +
					column(300, 700, "28,5", "28,2", "26,4") + column(400, 700, "42,5", "39,7", "35,9"),
			},
			want: []string{"1948 Jahresdurchschnitt 28,5 42,5\n1949 Jahresdurchschnitt 28,2 39,7\n1950 Jahresdurchschnitt 26,4 35,9"},
		},
		{
			name: "wide word gaps of a justified line are no column gutter",
			pages: []string{
				textAt(72, 700, "10. den") + textAt(140, 700, "Hinweis, dass jede Wahlberechtigte für") + textAt(350, 700, "den Wahlgang zur Wahl der") +
					textAt(72, 688, "Gleichstellungsbeauftragten nur eine Stimme hat, und so weiter bis zum Rand"),
			},
			want: []string{"10. den Hinweis, dass jede Wahlberechtigte für den Wahlgang zur Wahl der\nGleichstellungsbeauftragten nur eine Stimme hat, und so weiter bis zum Rand"},
		},
		{
			name:  "a word hyphenated at the line end is rejoined",
			pages: []string{column(72, 700, "Die Verwal-", "tung entscheidet.")},
			want:  []string{"Die Verwaltung entscheidet."},
		},
		{
			name:  "a real hyphen before a capitalised word is kept",
			pages: []string{column(72, 700, "Das E-", "Government-Gesetz gilt.")},
			want:  []string{"Das E-Government-Gesetz gilt."},
		},
		{
			name:  "a suspended compound before und keeps its hyphen",
			pages: []string{column(72, 700, "Landes-", "und Bundesrecht")},
			want:  []string{"Landes-\nund Bundesrecht"},
		},
		{
			name:  "a larger gap between lines starts a paragraph",
			pages: []string{textAt(72, 700, "Absatz eins.") + textAt(72, 670, "Absatz zwei.")},
			want:  []string{"Absatz eins.\n\nAbsatz zwei."},
		},
		{
			name: "running headers and page numbers are dropped",
			pages: []string{
				textAt(72, 800, "Amtsblatt der Stadt") + textAt(72, 700, "Erste Seite.") + textAt(290, 40, "1"),
				textAt(72, 800, "Amtsblatt der Stadt") + textAt(72, 700, "Zweite Seite.") + textAt(290, 40, "2"),
				textAt(72, 800, "Amtsblatt der Stadt") + textAt(72, 700, "Dritte Seite.") + textAt(290, 40, "3"),
			},
			want: []string{"Erste Seite.", "Zweite Seite.", "Dritte Seite."},
		},
		{
			name:  "inline image data is skipped",
			pages: []string{"BI /W 2 /H 2 /BPC 8 /CS /G ID \x00EIx(\xff EI " + textAt(72, 700, "Hallo")},
			want:  []string{"Hallo"},
		},
		{
			name:  "text before a string left open at the end is kept",
			pages: []string{textAt(72, 700, "Hallo") + "BT (offen"},
			want:  []string{"Hallo"},
		},
		{
			name: "repeated body text such as paragraph numbers and table rows is kept",
			pages: []string{
				textAt(72, 700, "(1)") + textAt(95, 700, "Erster Absatz.") + textAt(72, 600, "Januar 104,2"),
				textAt(72, 700, "(1)") + textAt(95, 700, "Zweiter Absatz.") + textAt(72, 600, "Januar 104,2"),
				textAt(72, 700, "(1)") + textAt(95, 700, "Dritter Absatz.") + textAt(72, 600, "Januar 104,2"),
			},
			want: []string{
				"(1) Erster Absatz.\n\nJanuar 104,2",
				"(1) Zweiter Absatz.\n\nJanuar 104,2",
				"(1) Dritter Absatz.\n\nJanuar 104,2",
			},
		},
		{
			name: "margin labels repeated at the same place are dropped",
			pages: []string{
				textAt(40, 700, "(A)") + textAt(72, 700, "Erste Seite."),
				textAt(40, 700, "(A)") + textAt(72, 700, "Zweite Seite."),
				textAt(40, 700, "(A)") + textAt(72, 700, "Dritte Seite."),
			},
			want: []string{"Erste Seite.", "Zweite Seite.", "Dritte Seite."},
		},
		{
			name:  "text drawn twice for a bold effect appears once",
			pages: []string{textAt(72, 700, "Fett") + textAt(72.3, 700, "Fett")},
			want:  []string{"Fett"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := extractText(t, fixture{pages: tt.pages}.build(t))
			var got []string
			for _, p := range pages {
				got = append(got, p.Text)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("page texts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExtractRejectsBadInput(t *testing.T) {
	valid := fixture{pages: []string{textAt(72, 700, "Hallo Welt")}}.build(t)
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	tests := []struct {
		name string
		data []byte
		want string // substring of the user-safe message
	}{
		{"an empty file is not a PDF", nil, "empty file"},
		{"random bytes are not a PDF", random, "not a PDF (no %PDF header)"},
		{"a header alone is truncated", []byte("%PDF-1.7\n"), "truncated or damaged PDF"},
		{"a PDF cut in half is truncated", valid[:len(valid)/2], "truncated or damaged PDF"},
		{"a PDF with a garbage xref is damaged", append(append([]byte{}, valid[:len(valid)-40]...), []byte("startxref\n99999\n%%EOF\n")...), "truncated or damaged PDF"},
		{"an xref subsection with a huge object number is refused", bytes.Replace(valid, []byte("xref\n0 "), []byte("xref\n474411660 "), 1), "out of range"},
		{"a huge xref subsection on the line of its first entry is refused", bytes.Replace(bytes.Replace(valid, []byte("xref\n0 "), []byte("xref\n474411660 "), 1), []byte("\n0000000000 65535 f"), []byte(" 0000000000 65535 f"), 1), "out of range"},
		{"a trailer size beyond any object count is refused", bytes.Replace(valid, []byte("/Size "), []byte("/Size 99999999999"), 1), "out of range"},
		{"xref sections that point back to themselves are refused", prevLoop(t, valid), "loop"},
		{"an encrypted PDF is refused", fixture{pages: []string{textAt(72, 700, "geheim")}, encrypt: true}.build(t), "encrypted PDF is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pdf.Extract(context.Background(), tt.data)
			if err == nil {
				t.Fatal("Extract succeeded")
			}
			var e *assist.Error
			if !errors.As(err, &e) || e.Kind != assist.Invalid {
				t.Fatalf("error %v: want *assist.Error of kind Invalid", err)
			}
			if msg := assist.Message(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain %q", msg, tt.want)
			}
		})
	}
}

func TestExtractSurvivesHostileStructure(t *testing.T) {
	font := "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
	tests := []struct {
		name string
		data []byte
	}{
		{"a page tree that lists itself as its kid", rawPDF([]string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [2 0 R 2 0 R 2 0 R 3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
			stream(textAt(72, 700, "Hallo")),
			font,
		}, 1)},
		{"a form that draws itself", rawPDF([]string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /X 6 0 R >> >> /Contents 4 0 R >>",
			stream("/X Do /X Do /X Do /X Do"),
			font,
			"<< /Type /XObject /Subtype /Form /Resources << /Font << /F1 5 0 R >> /XObject << /X 6 0 R >> >> /Length 40 >>\nstream\n" +
				"BT /F1 10 Tf (x) Tj ET /X Do /X Do /X Do\nendstream",
		}, 1)},
		{"a content stream ending inside a string", fixture{pages: []string{textAt(72, 700, "Hallo") + "(offen", textAt(72, 700, "Welt") + "<4142"}}.build(t)},
		{"arrays nested ten thousand deep", fixture{pages: []string{strings.Repeat("[", 10000) + textAt(72, 700, "Hallo")}}.build(t)},
		{"an inline image whose data contains EI", fixture{pages: []string{"BI /W 2 /H 2 /BPC 8 /CS /G ID \x00EIx\xff EI " + textAt(72, 700, "Hallo")}}.build(t)},
		{"a ToUnicode map that ends inside a hex string", rawPDF([]string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
			stream(textAt(72, 700, "Hallo")),
			"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
			stream("begincmap 1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <48> <00"),
		}, 1)},
		{"a graphics state restored more often than saved", rawPDF([]string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
			stream("Q Q Q " + textAt(72, 700, "Hallo") + " Q Tf Tj TJ Tm cm"),
			font,
		}, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := pdf.Extract(ctx, tt.data)
			if err != nil && assist.KindOf(err) != assist.Invalid {
				t.Errorf("error %v: want success or Invalid", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// prevLoop makes the trailer of data name its own xref section as the
// previous one.
func prevLoop(t *testing.T, data []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(data, []byte("startxref\n"))
	off := strings.TrimSpace(strings.SplitN(string(data[i+len("startxref\n"):]), "\n", 2)[0])
	return bytes.Replace(data, []byte("trailer\n<< "), []byte("trailer\n<< /Prev "+off+" "), 1)
}

func TestExtractHonoursContext(t *testing.T) {
	data := fixture{pages: []string{textAt(72, 700, "Hallo")}}.build(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pdf.Extract(ctx, data); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: got %v, want context.Canceled", err)
	}
}

func TestLoad(t *testing.T) {
	long := make([]string, 0, 60)
	for i := range 60 {
		long = append(long, "Dies ist eine lange Zeile mit vielen Wörtern "+strings.Repeat("x", i%7))
	}
	data := fixture{title: "Bescheid 2024", pages: []string{
		textAt(72, 700, "Erste Seite."),
		"q 0.5 g 50 50 495 742 re f Q", // paints, shows no text: a scan
		column(72, 800, long...),
		"", // blank
	}}.build(t)
	doc, err := pdf.Load(context.Background(), "akten/bescheid.pdf", data)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the document carries title, source and format", func(t *testing.T) {
		got := []string{doc.Title, doc.Source, doc.Format, string(doc.Corpus), doc.ID}
		if diff := cmp.Diff([]string{"Bescheid 2024", "akten/bescheid.pdf", "pdf", "", ""}, got); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("a page that paints but shows no text becomes a warning, a blank page does not", func(t *testing.T) {
		if diff := cmp.Diff([]string{"page 2: no text layer (needs OCR)"}, doc.Warnings); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("chunks cite their page and are numbered per page", func(t *testing.T) {
		if len(doc.Chunks) < 3 {
			t.Fatalf("%d chunks, want the long page split", len(doc.Chunks))
		}
		want := []string{"p1-0", "p3-0", "p3-1"}
		for i, c := range doc.Chunks[:3] {
			if c.ID != want[i] || c.Ordinal != i {
				t.Errorf("chunk %d: id %q ordinal %d, want %q %d", i, c.ID, c.Ordinal, want[i], i)
			}
		}
		for _, c := range doc.Chunks {
			page := c.Meta["page"]
			if c.Citation.Document != "Bescheid 2024" || page == "" || c.Citation.Page == 0 || page != strings.TrimPrefix(strings.Split(c.ID, "-")[0], "p") {
				t.Errorf("chunk %s: citation %+v meta %v", c.ID, c.Citation, c.Meta)
			}
		}
	})
	for _, title := range []string{"", "Microsoft Word - Bescheid", "BT-Plenarprotokoll_002.book"} {
		t.Run("with info title "+strconv.Quote(title)+" the file name is the title", func(t *testing.T) {
			doc, err := pdf.Load(context.Background(), "akten/bescheid.pdf", fixture{title: title, pages: []string{textAt(72, 700, "x y z")}}.build(t))
			if err != nil {
				t.Fatal(err)
			}
			if doc.Title != "bescheid.pdf" {
				t.Errorf("title %q", doc.Title)
			}
		})
	}
	t.Run("a PDF without any text is refused", func(t *testing.T) {
		_, err := pdf.Load(context.Background(), "scan.pdf", fixture{pages: []string{"", ""}}.build(t))
		if assist.KindOf(err) != assist.Invalid || assist.Message(err) != "no text layer on any of the 2 pages (needs OCR)" {
			t.Errorf("got %v", err)
		}
	})
}

func TestSharedPDFs(t *testing.T) {
	t.Run("the Bundesgesetzblatt reads in order with words intact", func(t *testing.T) {
		pages := extractText(t, sharedPDF(t, "bgbl/bgbl-1_2024_17/17.pdf"))
		if len(pages) != 33 {
			t.Fatalf("%d pages, want 33", len(pages))
		}
		for _, want := range []string{"Gleichstellungsfortentwicklungsgesetz militärisches Personal", "Der Bundestag hat das folgende Gesetz beschlossen:"} {
			if !strings.Contains(pages[0].Text, want) {
				t.Errorf("page 1 lacks %q", want)
			}
		}
	})
	t.Run("the two-column plenary protocol keeps sentences together", func(t *testing.T) {
		pages := extractText(t, sharedPDF(t, "plenarprotokoll/16002.pdf"))
		all := ""
		for _, p := range pages {
			all += p.Text + "\n"
		}
		for _, want := range []string{
			"eine etwas\nkomplizierte Lage",
			"Ich begrüße Sie alle herzlich. Ich wünsche uns gute\nBeratungen",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("text lacks %q", want)
			}
		}
		if strings.Contains(all, "Deutscher Bundestag – 16. Wahlperiode – 2. Sitzung. Berlin, Dienstag, den 8. November 2005 ") {
			t.Error("running header was kept")
		}
	})
	t.Run("a blank page of the protocol has no text layer", func(t *testing.T) {
		// The shared data's README says bgbl-1_2024_203/anlage-1.pdf has
		// no text layer; it has one, but garbled (Unreadable, see
		// readable_test.go), so the protocol's empty page 2 is the
		// real-data case.
		pages := extractText(t, sharedPDF(t, "plenarprotokoll/16002.pdf"))
		if !pages[1].NoTextLayer || pages[0].NoTextLayer {
			t.Errorf("NoTextLayer: page 1 %v, page 2 %v; want false, true", pages[0].NoTextLayer, pages[1].NoTextLayer)
		}
	})
	t.Run("every shared PDF loads within seconds", func(t *testing.T) {
		for _, rel := range []string{
			"bgbl/bgbl-1_2024_107/107.pdf", "bgbl/bgbl-1_2024_203/203.pdf",
			"misc/destatis_verbraucherpreisindex-lange-reihen-5611103.pdf",
			"misc/mustang_ZugferdDev.de.pdf", "misc/mustang_invoice_RE-20170509_505.pdf",
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			doc, err := pdf.Load(ctx, rel, sharedPDF(t, rel))
			cancel()
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				continue
			}
			if len(doc.Chunks) == 0 {
				t.Errorf("%s: no chunks", rel)
			}
		}
	})
	t.Run("a truncated real PDF is refused as damaged", func(t *testing.T) {
		data := sharedPDF(t, "bgbl/bgbl-1_2024_107/107.pdf")
		_, err := pdf.Extract(context.Background(), data[:len(data)*2/3])
		if assist.KindOf(err) != assist.Invalid || !strings.Contains(assist.Message(err), "truncated or damaged PDF") {
			t.Errorf("got %v", err)
		}
	})
}

func TestLibraryPlainText(t *testing.T) {
	t.Run("a valid PDF yields the library's text", func(t *testing.T) {
		text, err := pdf.LibraryPlainText(fixture{pages: []string{textAt(72, 700, "Hallo Welt")}}.build(t))
		if err != nil || !strings.Contains(text, "Hallo Welt") {
			t.Errorf("got %q, %v", text, err)
		}
	})
	t.Run("random bytes are Invalid", func(t *testing.T) {
		if _, err := pdf.LibraryPlainText([]byte("not a pdf at all")); assist.KindOf(err) != assist.Invalid {
			t.Errorf("got %v", err)
		}
	})
}
