// Package extraction benchmarks PDF text extraction against ground truth:
// the word 3-gram recall (see Recall3) and the speed of ingest/pdf, of
// ledongthuc/pdf's own GetPlainText and of poppler's pdftotext on real
// PDFs whose text is published separately as XML.
package extraction

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"amtsassist/assist"
	"amtsassist/ingest/pdf"
)

// Extractor names as they appear in the report.
const (
	Ours         = "amtsassist"
	OursHeaders  = "amtsassist, headers kept"
	GetPlainText = "ledongthuc GetPlainText"
	Pdftotext    = "pdftotext"
)

// Report holds the figures of one run.
type Report struct {
	Files []FileReport `json:"files"`
	// PdftotextMissing says why the pdftotext column is empty, if it is.
	PdftotextMissing string `json:"pdftotext_missing,omitempty"`
}

// FileReport holds the figures of one PDF.
type FileReport struct {
	Name    string   `json:"name"`
	Truth   string   `json:"truth"` // ground-truth files, relative to the data directory
	Pages   int      `json:"pages"`
	Results []Result `json:"results"`
}

// Result is one extractor on one PDF.
type Result struct {
	Extractor string  `json:"extractor"`
	Recall    float64 `json:"recall"` // word 3-gram recall, see Recall3
	// Seconds is the median wall time of Runs extractions of the whole
	// file (for pdftotext including the process start, as a user runs it).
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the median CPU time (user + system, all threads; for
	// pdftotext the child process's). On a loaded machine it is steadier
	// than wall time; ingest/pdf spreads pages over all cores, so its wall
	// time can be lower than its CPU time.
	CPUSeconds     float64 `json:"cpu_seconds"`
	PagesPerSecond float64 `json:"pages_per_second"`
	// SpeedVsPdftotext is pdftotext's time divided by this one's: 2 means
	// twice as fast. Zero when pdftotext is missing.
	SpeedVsPdftotext float64 `json:"speed_vs_pdftotext,omitempty"`
	// CPUVsPdftotext is the same ratio for CPU time.
	CPUVsPdftotext float64 `json:"cpu_vs_pdftotext,omitempty"`
	Runs           int     `json:"runs"`
	Err            string  `json:"error,omitempty"`
}

// Recall returns the recall of extractor on the file named name, and
// whether it was measured.
func (r Report) Recall(name, extractor string) (float64, bool) {
	for _, f := range r.Files {
		if f.Name != name {
			continue
		}
		for _, x := range f.Results {
			if x.Extractor == extractor && x.Err == "" {
				return x.Recall, true
			}
		}
	}
	return 0, false
}

// benchFile is one PDF with its ground truth.
type benchFile struct {
	name  string
	pdf   string   // relative to dataDir
	truth []string // relative to dataDir, concatenated in order
	// element restricts the ground truth to the character data of the
	// elements with this local name; empty takes everything except
	// LegalDocML metadata.
	element string
}

// Files are the benchmark PDFs. Bundesgesetzblatt 2024 I Nr. 17 prints two
// acts, each with its own LegalDocML file; the Bundestag's official XML
// holds the protocol text in <TEXT>.
var files = []benchFile{
	{
		name: "BGBl. 2024 I Nr. 17",
		pdf:  "pdf/bgbl/bgbl-1_2024_17/17.pdf",
		truth: []string{
			"pdf/bgbl/bgbl-1_2024_17/regelungstext-verkuendung-1.xml",
			"pdf/bgbl/bgbl-1_2024_17/regelungstext-verkuendung-2.xml",
		},
	},
	{
		name:    "Plenarprotokoll 16/2",
		pdf:     "pdf/plenarprotokoll/16002.pdf",
		truth:   []string{"pdf/plenarprotokoll/16002.official-bundestag.xml"},
		element: "TEXT",
	},
}

// runs is how many times each extractor runs per file; the median counts.
const runs = 5

// Run measures every extractor on the benchmark PDFs below dataDir (the
// shared data directory, holding pdf/...), prints a table to w and returns
// the figures. It returns NotFound when the data is missing.
func Run(ctx context.Context, dataDir string, w io.Writer) (Report, error) {
	const op = "extraction benchmark"
	var rep Report
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		rep.PdftotextMissing = "pdftotext is not on PATH (install poppler-utils)"
		pdftotext = ""
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dataDir, f.pdf))
		if err != nil {
			return rep, &assist.Error{Op: op, Kind: assist.NotFound, Msg: "benchmark PDF missing: " + f.pdf, Err: err}
		}
		truth, err := loadTruth(dataDir, f)
		if err != nil {
			return rep, &assist.Error{Op: op, Kind: assist.NotFound, Msg: "ground truth unreadable for " + f.name, Err: err}
		}
		fr := FileReport{Name: f.name, Truth: strings.Join(f.truth, " + ")}
		extractors := []struct {
			name string
			fn   func(context.Context) (string, time.Duration, error)
		}{
			{Ours, inProcess(func(ctx context.Context) (string, error) { return ours(ctx, data, pdf.Options{}) })},
			{OursHeaders, inProcess(func(ctx context.Context) (string, error) {
				return ours(ctx, data, pdf.Options{KeepRunningHeaders: true})
			})},
			{GetPlainText, inProcess(func(context.Context) (string, error) { return plainText(data) })},
		}
		if pdftotext != "" {
			path := filepath.Join(dataDir, f.pdf)
			extractors = append(extractors, struct {
				name string
				fn   func(context.Context) (string, time.Duration, error)
			}{Pdftotext, func(ctx context.Context) (string, time.Duration, error) { return runPdftotext(ctx, pdftotext, path) }})
		}
		pages, err := pdf.Extract(ctx, data)
		if err == nil {
			fr.Pages = len(pages)
		}
		for _, x := range extractors {
			res := Result{Extractor: x.name}
			var times, cpus []float64
			var text string
			var cpu time.Duration
			for i := 0; i < runs; i++ {
				if err := ctx.Err(); err != nil {
					return rep, err
				}
				start := time.Now()
				text, cpu, err = x.fn(ctx)
				times = append(times, time.Since(start).Seconds())
				cpus = append(cpus, cpu.Seconds())
				if err != nil {
					break
				}
			}
			if err != nil {
				res.Err = err.Error()
				fr.Results = append(fr.Results, res)
				continue
			}
			slices.Sort(times)
			slices.Sort(cpus)
			res.Runs = len(times)
			res.Seconds = times[len(times)/2]
			res.CPUSeconds = cpus[len(cpus)/2]
			res.Recall = Recall3(truth, text)
			if res.Seconds > 0 && fr.Pages > 0 {
				res.PagesPerSecond = float64(fr.Pages) / res.Seconds
			}
			fr.Results = append(fr.Results, res)
		}
		var ref, refCPU float64
		for _, x := range fr.Results {
			if x.Extractor == Pdftotext && x.Err == "" {
				ref, refCPU = x.Seconds, x.CPUSeconds
			}
		}
		for i := range fr.Results {
			if x := &fr.Results[i]; ref > 0 && x.Seconds > 0 {
				x.SpeedVsPdftotext = ref / x.Seconds
				if refCPU > 0 && x.CPUSeconds > 0 {
					x.CPUVsPdftotext = refCPU / x.CPUSeconds
				}
			}
		}
		rep.Files = append(rep.Files, fr)
	}
	print(w, rep)
	return rep, nil
}

func print(w io.Writer, rep Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "file\tpages\textractor\t3-gram recall\tmedian s\tpages/s\tspeed vs pdftotext\tmedian CPU s\tCPU vs pdftotext\n")
	for _, f := range rep.Files {
		for _, x := range f.Results {
			if x.Err != "" {
				fmt.Fprintf(tw, "%s\t%d\t%s\terror: %s\t\t\t\n", f.Name, f.Pages, x.Extractor, x.Err)
				continue
			}
			speed, cpu := "-", "-"
			if x.SpeedVsPdftotext > 0 {
				speed = fmt.Sprintf("%.2f×", x.SpeedVsPdftotext)
			}
			if x.CPUVsPdftotext > 0 {
				cpu = fmt.Sprintf("%.2f×", x.CPUVsPdftotext)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.3f\t%.4f\t%.0f\t%s\t%.4f\t%s\n", f.Name, f.Pages, x.Extractor, x.Recall, x.Seconds, x.PagesPerSecond, speed, x.CPUSeconds, cpu)
		}
	}
	tw.Flush()
	if rep.PdftotextMissing != "" {
		fmt.Fprintf(w, "pdftotext column missing: %s\n", rep.PdftotextMissing)
	}
	fmt.Fprintf(w, "recall: share of the ground truth's word 3-grams found in the extracted text (NFKC, lower case, line-end hyphenation rejoined, words split at non-alphanumerics and at letter/digit and lower/upper case changes); times: median of %d runs, wall and CPU (ingest/pdf uses all cores)\n", runs)
}

// inProcess measures fn's CPU time as the process's: nothing else runs
// during the benchmark.
func inProcess(fn func(context.Context) (string, error)) func(context.Context) (string, time.Duration, error) {
	return func(ctx context.Context) (string, time.Duration, error) {
		before, _ := processCPU()
		text, err := fn(ctx)
		after, _ := processCPU()
		return text, after - before, err
	}
}

func ours(ctx context.Context, data []byte, opts pdf.Options) (string, error) {
	pages, err := pdf.ExtractWith(ctx, data, opts)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range pages {
		b.WriteString(p.Text)
		b.WriteString("\n\n")
	}
	return b.String(), nil
}

// plainText is ledongthuc/pdf's own whole-document text, the baseline.
func plainText(data []byte) (string, error) { return pdf.LibraryPlainText(data) }

func runPdftotext(ctx context.Context, bin, path string) (string, time.Duration, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-enc", "UTF-8", path, "-")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", 0, fmt.Errorf("pdftotext: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

func loadTruth(dataDir string, f benchFile) (string, error) {
	var parts []string
	for _, t := range f.truth {
		data, err := os.ReadFile(filepath.Join(dataDir, t))
		if err != nil {
			return "", err
		}
		text, err := xmlText(data, f.element)
		if err != nil {
			return "", fmt.Errorf("%s: %w", t, err)
		}
		parts = append(parts, text)
	}
	if len(parts) == 0 {
		return "", errors.New("no ground truth files")
	}
	return strings.Join(parts, "\n"), nil
}
