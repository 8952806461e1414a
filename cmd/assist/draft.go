package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/render"
	"amtsassist/cmd/internal/app"
	"amtsassist/ingest"
)

func cmdDraft(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var req memo.Request
	var typ, factsFile, instrFile, docxOut string
	var attach stringList
	var asJSON, asMD, quiet bool
	cfg, rest, err := parse("draft", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&typ, "type", string(memo.Aktenvermerk), "memo type: aktenvermerk, gespraechsvermerk, entscheidungsvermerk")
		fs.StringVar(&req.Betreff, "betreff", "", "subject of the memo (required)")
		fs.StringVar(&req.Aktenzeichen, "az", "", "file number (Aktenzeichen, required)")
		fs.StringVar(&req.Authority, "authority", "", "authority (Behörde, required)")
		fs.StringVar(&req.Author, "author", "", "author (Verfasser)")
		fs.StringVar(&req.Date, "date", "", "date of the memo, YYYY-MM-DD (default: today)")
		fs.StringVar(&factsFile, "facts", "", "file with the Sachverhalt notes (- for standard input)")
		fs.StringVar(&req.Instructions, "question", "", "the question or instructions for the draft")
		fs.StringVar(&instrFile, "question-file", "", "file with the question or instructions")
		fs.Var(&attach, "attach", "case document to attach: a file to ingest, or the id of an ingested document (repeatable)")
		fs.BoolVar(&req.Extractive, "extractive", false, "extractive skeleton without a chat model")
		fs.BoolVar(&req.AllowExtractive, "allow-extractive", true, "fall back to the extractive skeleton when the chat model is unavailable")
		fs.BoolVar(&asJSON, "json", false, "print the memo as JSON")
		fs.BoolVar(&asMD, "md", false, "print the memo as Markdown (default)")
		fs.StringVar(&docxOut, "docx", "", "write the memo as a Word document to this file")
		fs.BoolVar(&quiet, "quiet", false, "do not show the draft while it is generated")
	}, "--type T --betreff B --az AZ --authority A --facts FILE [--attach FILE|ID]... [--extractive] [--json|--md|--docx OUT]")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(rest, " "))}
	}
	req.Type = memo.Type(typ)
	if req.Facts, err = readText(factsFile); err != nil {
		return err
	}
	if instrFile != "" {
		if req.Instructions, err = readText(instrFile); err != nil {
			return err
		}
	}
	a, err := app.Open(ctx, cfg, cfg.Logger())
	if err != nil {
		return err
	}
	defer a.Close()
	for _, at := range attach {
		if _, statErr := os.Stat(at); statErr != nil {
			req.Attachments = append(req.Attachments, at) // an id of an ingested document
			continue
		}
		rep, err := a.Pipeline.IngestPaths(ctx, []string{at}, ingest.Options{Corpus: assist.CorpusCases, Authority: req.Authority})
		if err != nil {
			return err
		}
		for _, f := range rep.Files {
			if f.Error != "" {
				return fmt.Errorf("%s: %s", f.Source, f.Error)
			}
			req.Attachments = append(req.Attachments, f.DocIDs...)
		}
	}
	job, err := a.Memos.Prepare(ctx, req)
	if err != nil {
		return err
	}
	show := !quiet && !asJSON
	section := ""
	m, err := job.Run(ctx, func(ev memo.Event) error {
		if !show {
			return nil
		}
		switch ev.Type {
		case "delta":
			if ev.Section != section {
				section = ev.Section
				fmt.Fprintf(stderr, "\n## %s\n", memo.SectionTitles[section])
			}
			fmt.Fprint(stderr, ev.Text)
		case "warning":
			if ev.Finding != nil {
				fmt.Fprintf(stderr, "\n[Hinweis] %s\n", ev.Finding.Message)
			} else if ev.Message != "" {
				fmt.Fprintf(stderr, "\n[Hinweis] %s\n", ev.Message)
			}
		}
		return nil
	})
	if show {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	switch {
	case docxOut != "":
		b, err := render.DOCX(m)
		if err != nil {
			return err
		}
		if err := os.WriteFile(docxOut, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "memo %s written to %s (%s, verification: %s)\n", m.ID, docxOut, m.Mode, m.Verification.Status)
	case asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	default:
		_, err = stdout.Write(render.Markdown(m))
	}
	return err
}

// readText reads a file, or standard input for "-"; empty name gives "".
func readText(name string) (string, error) {
	switch name {
	case "":
		return "", nil
	case "-":
		b, err := io.ReadAll(os.Stdin)
		return string(b), err
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("%s: %v", name, errors.Unwrap(err))
	}
	return string(b), nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
