package pdf_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/ingest/pdf"
)

// garble imitates a font without a usable character map: every letter
// comes out as a code shifted by a constant, as the form fields of the
// Bundesgesetzblatt's Anlage 1 do ("Es wird um" → "6X \PWK ZS").
func garble(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 29
		case r >= 'A' && r <= 'Z':
			return r - 15
		}
		return r
	}, s)
}

var prose = []string{
	"Der Antrag auf Wohngeld ist bei der zuständigen Behörde zu stellen.",
	"Die Behörde entscheidet über den Antrag innerhalb von drei Monaten",
	"nach Eingang der vollständigen Unterlagen. Wird der Antrag abgelehnt,",
	"so ist dies schriftlich zu begründen und mit einer Belehrung über",
	"den Rechtsbehelf zu versehen. The applicant may appeal the decision",
	"within one month of its notification to the authority that issued it.",
}

func TestUnreadablePages(t *testing.T) {
	garbled := make([]string, len(prose))
	for i, l := range prose {
		garbled[i] = garble(l)
	}
	tests := []struct {
		name  string
		lines []string
		want  bool
	}{
		{"German and English prose is readable", prose, false},
		{"a table of figures only is readable", []string{
			"1991 61,9 62,4 60,8 58,3", "1992 65,1 65,8 63,9 61,0", "1993 67,9 68,7 66,5 63,4",
			"1994 69,7 70,6 68,2 65,1", "1995 71,0 71,9 69,4 66,3", "1996 72,0 72,8 70,4 67,2",
		}, false},
		{"a page of formulas is readable", []string{
			"E = mc^2", "f(x) = ax^2 + bx + c", "x = (-b +/- sqrt(b^2 - 4ac)) / 2a",
			"sin(x)^2 + cos(x)^2 = 1", "dU/dt = -k (U - U0)", "Sum_i=1^n x_i / n = x_avg",
			"P(A|B) = P(B|A) P(A) / P(B)", "rho = m / V, p = rho g h",
		}, false},
		{"a title page is readable", []string{"Bundesgesetzblatt", "Teil I", "Nr. 203", "Ausgegeben zu Bonn am 21. Juni 2024"}, false},
		{"a page with only a page number is readable", []string{"- 17 -"}, false},
		{"abbreviations, codes and URLs are readable", []string{
			"Das BMWK und das BMFSFJ haben gemäß § 802c ZPO und § 9 UhVorschG",
			"die GmbH (USt-ID DE123456789) über https://www.bmj.de/formulare",
			"informiert; siehe BGBl. I Nr. 17, ZUGFeRD-XML und den Rechtsschutz.",
			"The API returns BigDecimal(\"19.00\") via getOwnOrganisationFullPlaintextInfo().",
		}, false},
		{"shifted letter codes are unreadable", garbled, true},
		{"form labels around shifted field contents are unreadable", append(append([]string{}, prose[:2]...), garbled...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := extractText(t, fixture{pages: []string{column(40, 800, tt.lines...)}}.build(t))
			if pages[0].Unreadable != tt.want || pages[0].NoTextLayer {
				t.Errorf("Unreadable %v NoTextLayer %v, want %v false; scores %+v\n%s", pages[0].Unreadable, pages[0].NoTextLayer, tt.want, pdf.ScorePage(pages[0].Text), pages[0].Text)
			}
		})
	}
	t.Run("private-use code points are unreadable", func(t *testing.T) {
		text := strings.Repeat("\uE041\uE042\uE043 \uE044\uE045 ", 10)
		if !pdf.ScorePage(text).Unreadable {
			t.Errorf("scores %+v", pdf.ScorePage(text))
		}
	})
	t.Run("an empty page is no text layer, not unreadable", func(t *testing.T) {
		pages := extractText(t, fixture{pages: []string{""}}.build(t))
		if !pages[0].NoTextLayer || pages[0].Unreadable {
			t.Errorf("NoTextLayer %v Unreadable %v", pages[0].NoTextLayer, pages[0].Unreadable)
		}
	})
}

func TestLoadSkipsUnreadablePages(t *testing.T) {
	garbled := make([]string, len(prose))
	for i, l := range prose {
		garbled[i] = garble(l)
	}
	t.Run("an unreadable page becomes a warning and is not indexed", func(t *testing.T) {
		data := fixture{pages: []string{column(40, 800, prose...), column(40, 800, garbled...), ""}}.build(t)
		doc, err := pdf.Load(context.Background(), "antrag.pdf", data)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"page 2: text layer unreadable (needs OCR)"}, doc.Warnings); diff != "" {
			t.Error(diff)
		}
		for _, c := range doc.Chunks {
			if c.Citation.Page != 1 {
				t.Errorf("chunk %s from page %d", c.ID, c.Citation.Page)
			}
		}
	})
	t.Run("a PDF without a readable page is refused", func(t *testing.T) {
		data := fixture{pages: []string{column(40, 800, garbled...), "q 0.5 g 50 50 495 742 re f Q"}}.build(t)
		_, err := pdf.Load(context.Background(), "antrag.pdf", data)
		if assist.KindOf(err) != assist.Invalid || assist.Message(err) != "no readable text layer on any of the 2 pages (needs OCR)" {
			t.Errorf("got %v", err)
		}
	})
}

// TestSharedPDFsReadability checks the unreadable-page verdict on every
// page of the shared real PDFs and logs the score distribution (go test
// -v -run SharedPDFsReadability) that the thresholds were chosen from.
func TestSharedPDFsReadability(t *testing.T) {
	sharedPDF(t, "bgbl/bgbl-1_2024_203/anlage-1.pdf") // skips when absent
	// 203.pdf prints the forms of its annexes with the same garbled field
	// fonts as anlage-1.pdf: pages 4–10 are Anlage 1, page by page.
	wantUnreadable := map[string][]int{
		"bgbl/bgbl-1_2024_203/anlage-1.pdf": {1, 2, 3, 4, 5, 6, 7},
		"bgbl/bgbl-1_2024_203/203.pdf":      {4, 5, 6, 7, 8, 9, 10, 12, 13, 22, 25, 26, 27, 34, 35, 37, 38, 40, 41, 42},
	}
	files := []string{
		"bgbl/bgbl-1_2024_17/17.pdf", "bgbl/bgbl-1_2024_107/107.pdf", "bgbl/bgbl-1_2024_203/203.pdf",
		"bgbl/bgbl-1_2024_203/anlage-1.pdf", "plenarprotokoll/16002.pdf",
		"misc/destatis_verbraucherpreisindex-lange-reihen-5611103.pdf",
		"misc/mustang_ZugferdDev.de.pdf", "misc/mustang_invoice_RE-20170509_505.pdf",
	}
	var readable, garbled []float64
	for _, rel := range files {
		t.Run(filepath.Base(rel)+" has unreadable pages only where the text is garbled", func(t *testing.T) {
			var got []int
			for _, p := range extractText(t, sharedPDF(t, rel)) {
				s := pdf.ScorePage(p.Text)
				if p.Unreadable != s.Unreadable {
					t.Errorf("page %d: Unreadable %v, scores say %v", p.Number, p.Unreadable, s.Unreadable)
				}
				if p.Unreadable {
					got = append(got, p.Number)
					garbled = append(garbled, s.OddShare)
				} else if !p.NoTextLayer && s.Words >= 8 {
					readable = append(readable, s.OddShare)
				}
				t.Logf("page %2d: %4d words, odd %.3f, function words %.3f, private %.3f, unreadable %v", p.Number, s.Words, s.OddShare, s.FunShare, s.PvtShare, p.Unreadable)
			}
			if diff := cmp.Diff(wantUnreadable[rel], got); diff != "" {
				t.Errorf("unreadable pages (-want +got):\n%s", diff)
			}
		})
	}
	t.Logf("odd-word share of readable pages with ≥8 words: %s", quantiles(readable))
	t.Logf("odd-word share of unreadable pages: %s", quantiles(garbled))
	t.Run("anlage-1.pdf is refused as needing OCR", func(t *testing.T) {
		_, err := pdf.Load(context.Background(), "anlage-1.pdf", sharedPDF(t, "bgbl/bgbl-1_2024_203/anlage-1.pdf"))
		if assist.KindOf(err) != assist.Invalid || assist.Message(err) != "no readable text layer on any of the 7 pages (needs OCR)" {
			t.Errorf("got %v", err)
		}
	})
}

func quantiles(xs []float64) string {
	if len(xs) == 0 {
		return "none"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	q := func(p float64) float64 { return s[int(p*float64(len(s)-1))] }
	return fmt.Sprintf("n=%d min %.3f p50 %.3f p90 %.3f p99 %.3f max %.3f", len(s), s[0], q(0.5), q(0.9), q(0.99), s[len(s)-1])
}
