// Package throughput measures ingest speed on the shared data: law XML in
// §§/s, PDFs in pages/s and tickets in tickets/s, each for loading alone
// and for loading plus writing a fresh on-disk index, with the process's
// peak memory for each stage.
package throughput

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"amtsassist/ingest"
	"amtsassist/rag/local"
)

// Stage is one measured ingest.
type Stage struct {
	Name      string        `json:"name"`
	Paths     []string      `json:"paths"`
	Unit      string        `json:"unit"`  // "§§", "pages", "tickets"
	Units     int           `json:"units"` // how many of Unit were ingested
	Documents int           `json:"documents"`
	Chunks    int           `json:"chunks"`
	Failed    int           `json:"failed"`
	Failures  []string      `json:"failures,omitempty"` // "source: reason" of each failed source
	Duration  time.Duration `json:"duration_ns"`
	PerSecond float64       `json:"per_second"`
	PeakRSS   int64         `json:"peak_rss_bytes"` // 0 when the OS does not report it
	IndexSize int64         `json:"index_bytes"`
}

// Report is the result of Run.
type Report struct {
	Stages []Stage `json:"stages"`
}

// Run ingests, each into a fresh index in a temporary folder, the federal
// and Saxon laws, the PDFs and the ticket CSVs below dataDir (the shared
// data folder), prints a table to w and returns the figures. Missing parts
// of the data are skipped with a line saying so.
func Run(ctx context.Context, dataDir string, w io.Writer) (Report, error) {
	stages := []struct {
		name, unit string
		paths      []string
		opts       ingest.Options
	}{
		{"laws (federal XML + Saxon Markdown)", "§§", []string{"laws/federal", "laws/saxony"}, ingest.Options{}},
		{"PDFs", "pages", []string{"pdf"}, ingest.Options{Format: ingest.FormatPDF}},
		{"tickets (all CSVs)", "tickets", []string{"tickets"}, ingest.Options{}},
	}
	var rep Report
	for _, st := range stages {
		var paths []string
		for _, p := range st.paths {
			full := filepath.Join(dataDir, p)
			if _, err := os.Stat(full); err != nil {
				fmt.Fprintf(w, "skipped %s: %s not found\n", st.name, full)
				continue
			}
			paths = append(paths, full)
		}
		if st.opts.Format != "" { // only the files of that format (the PDF folder also holds ground-truth XML)
			files, err := ingest.Files(paths)
			if err != nil {
				return rep, err
			}
			paths = paths[:0]
			for _, f := range files {
				if fm, _ := ingest.Detect(f, nil); fm == st.opts.Format {
					paths = append(paths, f)
				}
			}
		}
		if len(paths) == 0 {
			continue
		}
		s, err := measure(ctx, st.name, st.unit, paths, st.opts)
		if err != nil {
			return rep, err
		}
		rep.Stages = append(rep.Stages, s)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tunits\tdocs\tchunks\tfailed\tseconds\tunits/s\tpeak RSS MiB\tindex MiB\t")
	for _, s := range rep.Stages {
		fmt.Fprintf(tw, "%s\t%d %s\t%d\t%d\t%d\t%.2f\t%.0f\t%.0f\t%.1f\t\n", s.Name, s.Units, s.Unit, s.Documents, s.Chunks, s.Failed,
			s.Duration.Seconds(), s.PerSecond, float64(s.PeakRSS)/(1<<20), float64(s.IndexSize)/(1<<20))
	}
	tw.Flush()
	for _, s := range rep.Stages {
		for _, f := range s.Failures {
			fmt.Fprintf(w, "refused in %s: %s\n", s.Name, f)
		}
	}
	fmt.Fprintf(w, "(%d CPUs; lexical indexing only, no embedding model; each stage writes a fresh on-disk index)\n", runtime.NumCPU())
	return rep, nil
}

func measure(ctx context.Context, name, unit string, paths []string, opts ingest.Options) (Stage, error) {
	units, err := countUnits(ctx, unit, paths, opts)
	if err != nil {
		return Stage{}, err
	}
	dir, err := os.MkdirTemp("", "amtsassist-throughput-")
	if err != nil {
		return Stage{}, err
	}
	defer os.RemoveAll(dir)
	runtime.GC()
	resetPeakRSS()
	start := time.Now()
	ix, err := local.Open(dir, local.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return Stage{}, err
	}
	defer ix.Close()
	p, err := ingest.New(ingest.Config{Index: ix})
	if err != nil {
		return Stage{}, err
	}
	r, err := p.IngestPaths(ctx, paths, opts)
	if err != nil {
		return Stage{}, err
	}
	d := time.Since(start)
	st, _ := ix.Stats(ctx)
	s := Stage{Name: name, Paths: paths, Unit: unit, Units: units, Documents: r.Documents, Chunks: r.Chunks,
		Failed: r.Failed, Duration: d, PeakRSS: peakRSS(), IndexSize: st.Bytes}
	for _, f := range r.Files {
		if f.Error != "" {
			s.Failures = append(s.Failures, filepath.Base(f.Source)+": "+f.Error)
		}
	}
	s.PerSecond = float64(s.Units) / d.Seconds()
	return s, nil
}

// countUnits loads every file once (without indexing) and counts
// distinct §§ (and annexes), PDF pages or documents (tickets).
func countUnits(ctx context.Context, unit string, paths []string, opts ingest.Options) (int, error) {
	files, err := ingest.Files(paths)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		docs, _, err := ingest.LoadFile(ctx, f, opts)
		if err != nil {
			continue // the pipeline run reports it
		}
		for _, d := range docs {
			seen := map[string]bool{}
			for _, c := range d.Chunks {
				switch unit {
				case "§§":
					if c.Citation.Section != "" {
						seen[c.Citation.Section] = true
					}
				case "pages":
					seen[strconv.Itoa(c.Citation.Page)] = true
				}
			}
			if unit == "pages" {
				n += len(seen) + countNoText(d.Warnings)
			} else if unit == "§§" {
				n += len(seen)
			} else {
				n++
			}
		}
	}
	return n, nil
}

// countNoText counts the pages that had no text layer (and so no chunk).
func countNoText(warnings []string) int {
	n := 0
	for _, w := range warnings {
		if strings.Contains(w, "no text layer") {
			n++
		}
	}
	return n
}

// peakRSS returns the process's peak resident set size (VmHWM), or 0.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM so that each stage reports its own peak
// (Linux: writing 5 to clear_refs).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
