package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"amtsassist/eval/extraction"
	"amtsassist/eval/retrieval"
	"amtsassist/eval/throughput"
	evaltriage "amtsassist/eval/triage"
)

// defaultDataDir is where the shared benchmark data lies relative to the
// project root.
const defaultDataDir = "../shared/data"

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{errors.New("name a suite: retrieval, pdf, ingest or triage")}
	}
	suite, rest := args[0], args[1:]
	fs := flag.NewFlagSet("assist bench "+suite, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", defaultDataDir, "folder with the shared benchmark data")
	asJSON := fs.String("json", "", "also write the figures as JSON to this file")
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if _, err := os.Stat(*data); err != nil {
		return fmt.Errorf("benchmark data not found at %s (set --data): %v", *data, errors.Unwrap(err))
	}
	abs, _ := filepath.Abs(*data)
	var report any
	var err error
	switch suite {
	case "ingest":
		report, err = throughput.Run(ctx, abs, stdout)
	case "retrieval":
		report, err = benchRetrieval(ctx, abs, stdout)
	case "pdf":
		report, err = benchPDF(ctx, abs, stdout)
	case "triage":
		report, err = evaltriage.Run(ctx, abs, stdout)
	default:
		return usageError{fmt.Errorf("unknown suite %q: want retrieval, pdf, ingest or triage", suite)}
	}
	if err != nil {
		return err
	}
	if *asJSON != "" {
		b, _ := json.MarshalIndent(report, "", "  ")
		return os.WriteFile(*asJSON, append(b, '\n'), 0o644)
	}
	return nil
}

func benchRetrieval(ctx context.Context, dataDir string, w io.Writer) (any, error) {
	return retrieval.Run(ctx, dataDir, w, retrieval.Options{})
}

func benchPDF(ctx context.Context, dataDir string, w io.Writer) (any, error) {
	return extraction.Run(ctx, dataDir, w)
}
