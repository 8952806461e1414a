package prompts_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amtsassist/prompts"
)

// woggSources reads the paragraphs of the Wohngeldgesetz from the shared
// real data (../shared/data from the project root), skipping when absent.
func woggSources(tb testing.TB) []prompts.SourceData {
	tb.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "laws", "federal", "WoGG", "paragraphs")
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		tb.Skipf("real data %s not available: the shared data set lives next to the project", dir)
	}
	var out []prompts.SourceData
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		front, body, ok := strings.Cut(string(b), "\n---\n")
		if !ok {
			tb.Fatalf("%s: no front matter", f)
		}
		var number, heading string
		for _, line := range strings.Split(front, "\n") {
			if v, ok := strings.CutPrefix(line, "number: "); ok {
				number = strings.Trim(v, `"`)
			}
			if v, ok := strings.CutPrefix(line, "heading: "); ok {
				heading = strings.Trim(v, `"`)
			}
		}
		body = strings.TrimSpace(body)
		if strings.HasPrefix(body, "#") {
			_, body, _ = strings.Cut(body, "\n")
		}
		out = append(out, prompts.SourceData{N: len(out) + 1, Citation: number + " WoGG", Heading: heading,
			Text: strings.TrimSpace(body), Kind: prompts.KindNorm})
	}
	return out
}

func TestRealLawTextIsRenderedVerbatim(t *testing.T) {
	s := load(t, "")
	d := wohngeld()
	d.Sources = woggSources(t)
	for _, typ := range prompts.Types {
		t.Run("the "+typ+" prompt shows every WoGG paragraph verbatim", func(t *testing.T) {
			p := render(t, s, typ, "", d)
			for _, src := range d.Sources {
				if !strings.Contains(p.User, "\n"+src.Text+"\n</quelle>") {
					t.Errorf("[%d] %s is not verbatim in the prompt", src.N, src.Citation)
				}
			}
			if n := strings.Count(p.User, "<quelle n="); n != len(d.Sources) {
				t.Errorf("%d sources delimited, want %d", n, len(d.Sources))
			}
			t.Logf("%d sources: system %d bytes, user %d bytes", len(d.Sources), len(p.System), len(p.User))
		})
	}
}

// BenchmarkMemo measures prompt rendering, part of the service's own
// overhead per memo, with eight real WoGG paragraphs as sources.
func BenchmarkMemo(b *testing.B) {
	s, err := prompts.Load("")
	if err != nil {
		b.Fatal(err)
	}
	d := wohngeld()
	d.Sources = woggSources(b)[:8]
	for b.Loop() {
		if _, err := s.Memo(prompts.Aktenvermerk, "Stadt Musterstadt", d); err != nil {
			b.Fatal(err)
		}
	}
}
