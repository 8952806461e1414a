package render_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/render"
)

// wogg reads the paragraphs of the Wohngeldgesetz from the shared real
// data (../shared/data from the project root), skipping when it is absent.
// It returns one source per paragraph, with the paragraph text.
func wogg(tb testing.TB) []memo.Source {
	tb.Helper()
	dir := filepath.Join("..", "..", "..", "..", "shared", "data", "laws", "federal", "WoGG", "paragraphs")
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		tb.Skipf("real data %s not available: the shared data set lives next to the project", dir)
	}
	var out []memo.Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var number, heading string
		parts := strings.SplitN(string(b), "\n---\n", 2)
		if len(parts) != 2 {
			tb.Fatalf("%s: no front matter", f)
		}
		for _, line := range strings.Split(parts[0], "\n") {
			if v, ok := strings.CutPrefix(line, "number: "); ok {
				number = strings.Trim(v, `"`)
			}
			if v, ok := strings.CutPrefix(line, "heading: "); ok {
				heading = strings.Trim(v, `"`)
			}
		}
		body := parts[1]
		if i := strings.Index(body, "\n\n"); strings.HasPrefix(strings.TrimSpace(body), "#") && i >= 0 {
			body = body[i+2:] // drop the "# § n heading" line
		}
		out = append(out, memo.Source{
			N: len(out) + 1, ChunkID: "WoGG#" + number, DocID: "WoGG", Corpus: assist.CorpusRegulations,
			Citation: number + " WoGG", Cite: assist.Citation{Law: "WoGG", Section: number, Heading: heading},
			Text: strings.TrimSpace(body),
		})
	}
	return out
}

// realMemo is an extractive memo quoting every paragraph of the WoGG:
// far longer than any real memo, with the statute's own special
// characters (§, „“, ·, –, formulas).
func realMemo(tb testing.TB) *memo.Memo {
	tb.Helper()
	srcs := wogg(tb)
	var w strings.Builder
	for _, s := range srcs {
		fmt.Fprintf(&w, "%s [%d]: „%s“\n", s.Citation, s.N, s.Text)
	}
	m := extractiveMemo()
	m.CreatedAt = time.Date(2026, 11, 28, 11, 0, 0, 0, time.UTC)
	m.Sections[1].Text = w.String()
	m.Sources = srcs
	return m
}

func TestRealLawTextRendersCompletely(t *testing.T) {
	m := realMemo(t)
	b, err := render.DOCX(m)
	if err != nil {
		t.Fatal(err)
	}
	d := unpack(t, b)
	for _, name := range render.DOCXParts {
		paragraphs(t, name, d[name])
	}
	text := strings.Join(paragraphs(t, "word/document.xml", d["word/document.xml"]), "\n")
	md := string(render.Markdown(m))
	t.Logf("%d WoGG paragraphs: DOCX %d bytes (document.xml %d), Markdown %d bytes", len(m.Sources), len(b), len(d["word/document.xml"]), len(md))
	for _, s := range m.Sources {
		// Each paragraph line of the law comes back verbatim in the DOCX.
		for _, line := range strings.Split(s.Text, "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.Contains(text, line) {
				t.Errorf("%s: line missing from the DOCX: %.60q", s.Citation, line)
				break
			}
		}
		if !strings.Contains(text, fmt.Sprintf("[%d] %s — WoGG", s.N, s.Citation)) {
			t.Errorf("source [%d] %s missing from the DOCX source list", s.N, s.Citation)
		}
		if !strings.Contains(md, fmt.Sprintf("- [%d] %s — WoGG", s.N, s.Citation)) {
			t.Errorf("source [%d] %s missing from the Markdown source list", s.N, s.Citation)
		}
	}
}

// BenchmarkMarkdown and BenchmarkDOCX measure the rendering part of the
// service's overhead per memo: a typical model draft, and the extreme
// memo quoting the whole WoGG.
func BenchmarkMarkdown(b *testing.B) {
	for _, c := range []struct {
		name string
		m    *memo.Memo
	}{{"draft", llmMemo()}, {"whole-WoGG", realMemo(b)}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				render.Markdown(c.m)
			}
		})
	}
}

func BenchmarkDOCX(b *testing.B) {
	for _, c := range []struct {
		name string
		m    *memo.Memo
	}{{"draft", llmMemo()}, {"whole-WoGG", realMemo(b)}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := render.DOCX(c.m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
