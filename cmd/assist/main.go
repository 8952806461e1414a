// Command assist is the Amtsassist command line: it ingests documents into
// the embedded index, searches it, prints statistics, extracts text from
// single documents and runs the benchmark suites.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"amtsassist/assist"
	"amtsassist/cmd/internal/app"
	"amtsassist/cmd/internal/config"
	"amtsassist/ingest"
	"amtsassist/rag"
)

const usage = `assist — Amtsassist command line

Usage:
  assist ingest [flags] PATH...        index files and folders (format detected)
  assist search [flags] QUERY          search the index
  assist stats [--json]                show what the index holds
  assist extract FILE                  print the text extracted from one document
  assist draft [flags]                 draft a memo (Vermerk) with verified citations
  assist triage train|predict|bench    train and apply ticket classifiers
  assist bench retrieval|pdf|ingest|triage   run a benchmark suite on ../shared/data

Run "assist COMMAND --help" for the flags of a command. Every command also
takes the common flags (--data-dir, --embed-model, --ollama-url, ...), each of
which can be set as an AMTSASSIST_* environment variable or in a YAML file.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one command and returns the exit code: 0 success, 1 a
// failure of the work (e.g. a file that could not be ingested), 2 a usage
// error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "ingest":
		err = cmdIngest(ctx, rest, stdout, stderr, getenv)
	case "search":
		err = cmdSearch(ctx, rest, stdout, stderr, getenv)
	case "stats":
		err = cmdStats(ctx, rest, stdout, stderr, getenv)
	case "extract":
		err = cmdExtract(ctx, rest, stdout, stderr, getenv)
	case "draft":
		err = cmdDraft(ctx, rest, stdout, stderr, getenv)
	case "triage":
		err = cmdTriage(ctx, rest, stdout, stderr, getenv)
	case "bench":
		err = cmdBench(ctx, rest, stdout, stderr, getenv)
	default:
		fmt.Fprintf(stderr, "assist: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ue usageError
	var fe failedError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "assist %s: %v\n", cmd, err)
		return 2
	case errors.As(err, &fe):
		return 1 // already reported
	default:
		fmt.Fprintf(stderr, "assist %s: %s\n", cmd, describe(err))
		return 1
	}
}

// usageError marks mistakes in the command line itself.
type usageError struct{ error }

// failedError marks a run whose failures were already printed.
type failedError struct{ error }

// describe renders an error for a person: the user-safe message and, for
// failures that are not the user's input, the cause.
func describe(err error) string {
	var e *assist.Error
	if errors.As(err, &e) {
		switch assist.KindOf(err) {
		case assist.Invalid, assist.NotFound, assist.TooLarge, assist.Conflict:
			return assist.Message(err)
		}
	}
	return err.Error()
}

// parse builds the configuration for a command from its flags; extra
// binds the command's own flags.
func parse(name string, args []string, stderr io.Writer, getenv func(string) string, extra func(fs *flag.FlagSet), synopsis string) (config.Config, []string, error) {
	// The command's own flags are parsed together with the common ones, so
	// they can be mixed; config.Load then sees only the common ones.
	var c config.Config
	fs := config.NewFlagSet("assist "+name, config.Common, &c)
	extra(fs)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: assist %s %s\n\nFlags (each common flag also reads AMTSASSIST_<NAME>, e.g. AMTSASSIST_DATA_DIR):\n", name, synopsis)
		fs.PrintDefaults()
	}
	if err := fs.Parse(interleave(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, nil, err
		}
		return c, nil, usageError{err}
	}
	var common []string
	fs.Visit(func(f *flag.Flag) {
		if config.IsCommon(f.Name) {
			common = append(common, "--"+f.Name+"="+f.Value.String())
		}
	})
	cfg, _, err := config.Load("assist "+name, config.Common, common, getenv)
	if err != nil {
		return cfg, nil, usageError{err}
	}
	return cfg, fs.Args(), nil
}

// interleave moves flags after positional arguments to the front, so that
// "assist search Wohngeld -k 3" works like "assist search -k 3 Wohngeld".
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}

// corpusList parses repeatable, comma-separated --corpus values.
type corpusList []assist.Corpus

func (l *corpusList) String() string {
	s := make([]string, len(*l))
	for i, c := range *l {
		s[i] = string(c)
	}
	return strings.Join(s, ",")
}

func (l *corpusList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		c, err := assist.ParseCorpus(strings.TrimSpace(p))
		if err != nil {
			return errors.New(assist.Message(err))
		}
		*l = append(*l, c)
	}
	return nil
}

func cmdIngest(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var corpus corpusList
	var authority, format, columns string
	var prune, asJSON, quiet bool
	cfg, paths, err := parse("ingest", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.Var(&corpus, "corpus", "corpus to index into: regulations, cases or tickets (default: by format)")
		fs.StringVar(&authority, "authority", "", "authority the documents belong to")
		fs.StringVar(&format, "format", "", "force a format: lawxml, markdown, text, pdf, tickets-csv, tickets-jsonl, beir")
		fs.StringVar(&columns, "columns", "", "ticket column mapping, e.g. subject=title,body=text,category=queue")
		fs.BoolVar(&prune, "prune", false, "delete indexed documents from below PATH that no longer exist")
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
		fs.BoolVar(&quiet, "quiet", false, "no progress bar")
	}, "[flags] PATH...")
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError{errors.New("no PATH given")}
	}
	if len(corpus) > 1 {
		return usageError{errors.New("--corpus takes one corpus for ingest")}
	}
	opts := ingest.Options{Authority: authority, Format: ingest.Format(format), Prune: prune}
	if len(corpus) == 1 {
		opts.Corpus = corpus[0]
	}
	if opts.TicketColumns, err = parseColumns(columns); err != nil {
		return usageError{err}
	}
	a, err := app.Open(ctx, cfg, cfg.Logger())
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Embedder == nil && !asJSON {
		fmt.Fprintln(stderr, "note: no embedding model configured (--embed-model): indexing for lexical search only")
	}
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && !quiet && !asJSON && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("ingest"),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	if bar != nil {
		opts.Progress = func(pr ingest.Progress) {
			bar.ChangeMax(pr.Total)
			bar.Set(pr.Done)
		}
	}
	rep, runErr := a.Pipeline.IngestPaths(ctx, paths, opts)
	if bar != nil {
		bar.Finish()
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		printReport(stdout, rep)
	}
	if runErr != nil {
		return runErr
	}
	if rep.Failed > 0 {
		return failedError{fmt.Errorf("%d sources failed", rep.Failed)}
	}
	return nil
}

func parseColumns(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("--columns: %q is not FIELD=COLUMN", part)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

func printReport(w io.Writer, rep ingest.Report) {
	for _, f := range rep.Files {
		for _, wmsg := range f.Warnings {
			fmt.Fprintf(w, "warning  %s: %s\n", f.Source, wmsg)
		}
		if f.Error != "" {
			fmt.Fprintf(w, "FAILED   %s: %s\n", f.Source, f.Error)
		}
	}
	mode := "lexical only"
	if rep.Embedded {
		mode = "lexical + vectors"
	}
	fmt.Fprintf(w, "sources: %d  documents: %d (new %d, changed %d, unchanged %d)  chunks written: %d  deleted: %d  failed: %d  [%s, %s]\n",
		len(rep.Files), rep.Documents, rep.New, rep.Changed, rep.Unchanged, rep.Chunks, rep.Deleted, rep.Failed, mode, rep.Duration.Round(time.Millisecond))
}

func cmdSearch(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var q rag.Query
	var corpus corpusList
	var authority, mode string
	var asJSON bool
	cfg, words, err := parse("search", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.Var(&corpus, "corpus", "restrict to corpora (repeatable or comma-separated): regulations, cases, tickets")
		fs.IntVar(&q.K, "k", 10, "number of hits")
		fs.StringVar(&authority, "authority", "", "restrict to one authority")
		fs.StringVar(&mode, "mode", "", "lexical, dense or hybrid (default: hybrid when an embedding model is configured)")
		fs.BoolVar(&q.DistinctDocs, "distinct", false, "at most one hit per document")
		fs.BoolVar(&asJSON, "json", false, `print {"hits":[{"doc_id","chunk_id","citation","page","score","text",…}]}`)
	}, "[flags] QUERY")
	if err != nil {
		return err
	}
	q.Text = strings.Join(words, " ")
	if strings.TrimSpace(q.Text) == "" {
		return usageError{errors.New("no QUERY given")}
	}
	q.Filter.Corpus = corpus
	if authority != "" {
		q.Filter.Authority = []string{authority}
	}
	q.Mode = rag.Mode(mode)
	a, err := app.Open(ctx, cfg, cfg.Logger())
	if err != nil {
		return err
	}
	defer a.Close()
	hits, err := a.Retriever.Search(ctx, q)
	if err != nil {
		return err
	}
	if asJSON {
		views := make([]rag.HitView, len(hits))
		for i, h := range hits {
			views[i] = rag.View(h)
		}
		return json.NewEncoder(stdout).Encode(map[string]any{"hits": views})
	}
	if len(hits) == 0 {
		fmt.Fprintln(stdout, "no hits")
		return nil
	}
	for i, h := range hits {
		fmt.Fprintf(stdout, "%2d. %-28s %6.3f  %s\n    %s\n", i+1, h.Chunk.Citation.String(), h.Score, h.Chunk.DocID, snippet(h.Chunk.Text, 180))
	}
	return nil
}

func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func cmdStats(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var asJSON bool
	cfg, _, err := parse("stats", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	}, "[--json]")
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, cfg.Logger())
	if err != nil {
		return err
	}
	defer a.Close()
	st, err := a.Index.Stats(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(st)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "index\t%s\n", app.IndexDir(cfg.DataDir))
	fmt.Fprintf(tw, "documents\t%d\n", st.Documents)
	fmt.Fprintf(tw, "chunks\t%d\n", st.Chunks)
	corpora := make([]string, 0, len(st.ByCorpus))
	for c := range st.ByCorpus {
		corpora = append(corpora, string(c))
	}
	sort.Strings(corpora)
	for _, c := range corpora {
		fmt.Fprintf(tw, "  %s\t%d chunks\n", c, st.ByCorpus[assist.Corpus(c)])
	}
	fmt.Fprintf(tw, "vectors\t%d\n", st.Vectors)
	if st.Embedding != nil {
		fmt.Fprintf(tw, "embedding model\t%s (dimension %d)\n", st.Embedding.Name, st.Embedding.Dimension)
	} else {
		fmt.Fprintf(tw, "embedding model\tnone (lexical only)\n")
	}
	fmt.Fprintf(tw, "size on disk\t%.1f MiB\n", float64(st.Bytes)/(1<<20))
	return tw.Flush()
}

func cmdExtract(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var format string
	_, files, err := parse("extract", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&format, "format", "", "force a format instead of detecting it")
	}, "FILE")
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return usageError{errors.New("give exactly one FILE")}
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return fmt.Errorf("%s: %v", files[0], errors.Unwrap(err))
	}
	pages, warnings, err := ingest.Extract(ctx, files[0], data, ingest.Format(format))
	if err != nil {
		return fmt.Errorf("%s: %s", files[0], describe(err))
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s: %s\n", files[0], w)
	}
	_, err = io.WriteString(stdout, strings.Join(pages, "\f"))
	return err
}
