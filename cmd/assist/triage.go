package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/assist/triage/classify"
	"amtsassist/assist/triage/service"
	"amtsassist/cmd/internal/app"
	evaltriage "amtsassist/eval/triage"
)

const triageUsage = `Usage:
  assist triage train --input tickets.csv --text subject,body --label queue [--name NAME] [--test 0.2] [--feedback feedback.jsonl]
  assist triage predict --model NAME --input tickets.csv --text subject,body [--json]
  assist triage bench [--data ../shared/data] [--splits N] [--json FILE]
  assist triage export --training FIELD | --gold [--out FILE]

Models for a service desk are found as "<desk-slug>-category" / "<desk-slug>-priority", else as
"category" / "priority". The agents' feedback is in <data-dir>/triage/feedback.jsonl: train with
--feedback on it, or export it as training CSV or as reviewed gold data for the evaluation suites.

Models are stored, versioned, under <data-dir>/triage-models/NAME.
`

func cmdTriage(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, triageUsage)
		return usageError{errors.New("name a subcommand: train, predict, bench or export")}
	}
	switch args[0] {
	case "train":
		return triageTrain(ctx, args[1:], stdout, stderr, getenv)
	case "predict":
		return triagePredict(ctx, args[1:], stdout, stderr, getenv)
	case "bench":
		return triageBench(ctx, args[1:], stdout, stderr)
	case "export":
		return triageExport(ctx, args[1:], stdout, stderr, getenv)
	case "-h", "--help", "help":
		fmt.Fprint(stderr, triageUsage)
		return flag.ErrHelp
	}
	return usageError{fmt.Errorf("unknown subcommand %q: want train, predict, bench or export", args[0])}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func readExamples(path string, text []string, label string) ([]classify.Example, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, &assist.Error{Op: "read tickets csv", Kind: assist.NotFound, Msg: "cannot open " + path, Err: err}
	}
	defer f.Close()
	return classify.ReadCSV(bufio.NewReader(f), path, text, label)
}

func triageTrain(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var input, text, label, name, feedback, desk string
	var testFraction float64
	var seed uint64
	var asJSON bool
	cfg, rest, err := parse("triage train", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&input, "input", "", "CSV file with a header row (required)")
		fs.StringVar(&text, "text", "subject,body", "comma-separated text columns")
		fs.StringVar(&label, "label", "queue", "label column (e.g. queue, priority, category)")
		fs.StringVar(&name, "name", "", "model name (default: the label column)")
		fs.Float64Var(&testFraction, "test", 0.2, "share held back for scoring, stratified; 0 trains on everything and prints no scores")
		fs.Uint64Var(&seed, "seed", 1, "seed of the held-back split")
		fs.StringVar(&feedback, "feedback", "", "JSONL file of agent feedback: corrections override the label of the same ticket text and are always trained on")
		fs.StringVar(&desk, "desk", "", "use only the feedback of this service desk (default: all)")
		fs.BoolVar(&asJSON, "json", false, `print {"model":{…},"metrics":{…},"coverage":[…]} instead of tables`)
	}, "--input FILE --text COLS --label COL [flags]")
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usageError{fmt.Errorf("unexpected arguments %q", rest)}
	case input == "":
		return usageError{errors.New("--input is required")}
	case strings.TrimSpace(label) == "":
		return usageError{errors.New("--label is required")}
	case !(testFraction >= 0 && testFraction < 1):
		return usageError{fmt.Errorf("--test %v: want a share in [0, 1)", testFraction)}
	}
	cols := splitList(text)
	if len(cols) == 0 {
		return usageError{errors.New("--text names no column")}
	}
	if name == "" {
		name = label
	}
	if err := classify.CheckName(name); err != nil {
		return err
	}
	store, err := classify.OpenStore(app.TriageModelsDir(cfg.DataDir))
	if err != nil {
		return err
	}
	ex, skipped, err := readExamples(input, cols, label)
	if err != nil {
		return err
	}
	if skipped > 0 {
		fmt.Fprintf(stderr, "warning: %d rows of %s have no %q and were skipped\n", skipped, input, label)
	}
	var fb []classify.Example
	if feedback != "" {
		field := "category"
		if strings.EqualFold(label, "priority") {
			field = "priority"
		}
		if fb, err = readFeedback(feedback, field, desk); err != nil {
			return err
		}
		var corrected int
		ex, corrected = applyFeedback(ex, fb)
		fmt.Fprintf(stdout, "feedback: %d examples from %s (%s), %d of them correct rows of the input\n", len(fb), feedback, field, corrected)
	}
	train, test := ex, []classify.Example(nil)
	if testFraction > 0 {
		train, test = classify.Split(ex, testFraction, seed)
	}
	// Feedback is gold data: always trained on, never only scored.
	train = append(train, fb...)
	start := time.Now()
	m, err := classify.Train(ctx, train, classify.Config{Name: name})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	version, err := store.Put(name, m)
	if err != nil {
		return err
	}
	info := m.Info()
	if asJSON {
		out := struct {
			Model    classify.Info     `json:"model"`
			Metrics  *classify.Metrics `json:"metrics,omitempty"`
			Coverage []classify.Point  `json:"coverage,omitempty"`
		}{Model: info}
		if len(test) > 0 {
			met := classify.Evaluate(m, test)
			out.Metrics, out.Coverage = &met, classify.CoverageAccuracy(m, test, trainCoverages)
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "model %s %s: %d labels, %d training examples, %d features, %.1f MB, trained in %s\n",
		name, version, len(m.Labels()), len(train), info.Features, float64(info.SizeBytes)/1e6, elapsed.Round(time.Millisecond))
	if len(test) == 0 {
		return nil
	}
	met := classify.Evaluate(m, test)
	fmt.Fprintf(stdout, "\nheld-out scores (%d examples, %.0f %% of the input, stratified, seed %d):\n", met.N, 100*testFraction, seed)
	fmt.Fprintf(stdout, "accuracy %.3f  macro-F1 %.3f  weighted-F1 %.3f  calibration error (ECE) %.3f\n\n", met.Accuracy, met.MacroF1, met.WeightedF1, met.ECE)
	printMetrics(stdout, met)
	fmt.Fprintln(stdout, "\ncoverage–accuracy (choose the \"unsicher\" threshold: below it the suggestion is marked unsure)")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "coverage\tthreshold\taccuracy\t")
	for _, p := range classify.CoverageAccuracy(m, test, trainCoverages) {
		fmt.Fprintf(tw, "%.2f\t%.3f\t%.3f\t\n", p.Coverage, p.Threshold, p.Accuracy)
	}
	return tw.Flush()
}

// trainCoverages are the rows of the coverage–accuracy table of train.
var trainCoverages = []float64{0.5, 0.6, 0.7, 0.8, 0.9, 1}

func printMetrics(w io.Writer, met classify.Metrics) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "label\tprecision\trecall\tF1\tsupport")
	for _, c := range met.PerClass {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%d\n", c.Label, c.Precision, c.Recall, c.F1, c.Support)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nconfusion matrix (rows: true label, columns: predicted, in the order of the rows)")
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for i := range met.Labels {
		fmt.Fprintf(tw, "%d\t", i+1)
	}
	fmt.Fprintln(tw)
	for i, row := range met.Confusion {
		fmt.Fprintf(tw, "%d %s\t", i+1, met.Labels[i])
		for _, n := range row {
			fmt.Fprintf(tw, "%d\t", n)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// readFeedback reads triage.Feedback lines (the service's feedback log) and
// returns the ticket texts with the label the agent kept or set in field
// ("category" or "priority"), of desk unless it is empty. Lines without
// that label or without text are skipped; a malformed line is Invalid and
// names the file and line.
func readFeedback(path, field, desk string) ([]classify.Example, error) {
	const op = "read feedback"
	f, err := os.Open(path)
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.NotFound, Msg: "cannot open " + path, Err: err}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	var out []classify.Example
	for line := 1; sc.Scan(); line++ {
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var fb triage.Feedback
		if err := json.Unmarshal([]byte(b), &fb); err != nil {
			return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("%s:%d is not a feedback JSON object", path, line), Err: err}
		}
		if desk != "" && fb.Desk != desk {
			continue
		}
		lab := fb.Category
		if field == "priority" {
			lab = fb.Priority
		}
		text := triage.Ticket{Subject: strings.TrimSpace(fb.Subject), Body: strings.TrimSpace(fb.Body)}.Text()
		if strings.TrimSpace(lab) == "" || strings.TrimSpace(text) == "" {
			continue
		}
		out = append(out, classify.Example{Text: text, Label: strings.TrimSpace(lab)})
	}
	if err := sc.Err(); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "cannot read " + path, Err: err}
	}
	return out, nil
}

// applyFeedback removes from ex the rows whose text has feedback (the later
// feedback wins), so that a correction overrides the original label; it
// returns the remaining rows and how many were overridden.
func applyFeedback(ex, fb []classify.Example) ([]classify.Example, int) {
	key := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	has := map[string]bool{}
	for _, e := range fb {
		has[key(e.Text)] = true
	}
	out := ex[:0:0]
	var n int
	for _, e := range ex {
		if has[key(e.Text)] {
			n++
			continue
		}
		out = append(out, e)
	}
	return out, n
}

// predictionLine is the stable JSON shape of one prediction; benchmark
// scripts parse it.
type predictionLine struct {
	Label        string               `json:"label"`
	Confidence   float64              `json:"confidence"`
	Alternatives []triage.Alternative `json:"alternatives"`
}

func triagePredict(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var input, text, model, version string
	var asJSON bool
	cfg, rest, err := parse("triage predict", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&model, "model", "", "model name (required)")
		fs.StringVar(&version, "version", "latest", "model version, e.g. v002")
		fs.StringVar(&input, "input", "", "CSV file with a header row (required)")
		fs.StringVar(&text, "text", "subject,body", "comma-separated text columns")
		fs.BoolVar(&asJSON, "json", false, `print one line per row, in input order: {"label":…,"confidence":…,"alternatives":[{"label":…,"confidence":…},…]}`)
	}, "--model NAME --input FILE [--text COLS] [--json]")
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usageError{fmt.Errorf("unexpected arguments %q", rest)}
	case model == "":
		return usageError{errors.New("--model is required")}
	case input == "":
		return usageError{errors.New("--input is required")}
	}
	cols := splitList(text)
	if len(cols) == 0 {
		return usageError{errors.New("--text names no column")}
	}
	store, err := classify.OpenStore(app.TriageModelsDir(cfg.DataDir))
	if err != nil {
		return err
	}
	m, err := store.Get(model, version)
	if err != nil {
		return err
	}
	ex, _, err := readExamples(input, cols, "")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(stdout)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	var tw *tabwriter.Writer
	if !asJSON {
		info := m.Info()
		fmt.Fprintf(bw, "model %s %s (trained %s on %d examples)\n", info.Name, info.Version, info.TrainedAt.Format(time.DateTime), info.Examples)
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "row\tlabel\tconfidence\tnext")
	}
	for i, e := range ex {
		if i%256 == 0 && ctx.Err() != nil {
			return assist.E(assist.Canceled, "triage predict", ctx.Err())
		}
		alts := m.Predict(e.Text)
		for j := range alts {
			alts[j].Confidence = math.Round(alts[j].Confidence*1e6) / 1e6
		}
		if asJSON {
			if err := enc.Encode(predictionLine{Label: alts[0].Label, Confidence: alts[0].Confidence, Alternatives: alts}); err != nil {
				return err
			}
			continue
		}
		var next []string
		for _, a := range alts[1:min(len(alts), 3)] {
			next = append(next, fmt.Sprintf("%s %.2f", a.Label, a.Confidence))
		}
		fmt.Fprintf(tw, "%d\t%s\t%.3f\t%s\n", i+1, alts[0].Label, alts[0].Confidence, strings.Join(next, ", "))
	}
	if tw != nil {
		tw.Flush()
	}
	return nil
}

func triageBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("assist triage bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", defaultDataDir, "folder with the shared benchmark data")
	asJSON := fs.String("json", "", "also write the figures as JSON to this file")
	nsplits := fs.Int("splits", 1, "also report the spread of our scores over this many seeded splits")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if _, err := os.Stat(*data); err != nil {
		return fmt.Errorf("benchmark data not found at %s (set --data): %v", *data, errors.Unwrap(err))
	}
	rep, err := evaltriage.RunWith(ctx, *data, stdout, evaltriage.Options{Splits: *nsplits})
	if err != nil {
		return err
	}
	if *asJSON != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		return os.WriteFile(*asJSON, append(b, '\n'), 0o644)
	}
	return nil
}

// triageExport writes the agents' feedback as training data for one label
// field (CSV: id,desk,subject,body,FIELD) or as reviewed gold data (JSONL).
func triageExport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var field, out string
	var gold bool
	cfg, rest, err := parse("triage export", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&field, "training", "", "export corrections as training CSV for this field: category or priority")
		fs.BoolVar(&gold, "gold", false, "export reviewed gold data (JSONL) for the evaluation suites")
		fs.StringVar(&out, "out", "", "write to this file instead of standard output")
	}, "--training FIELD | --gold [--out FILE]")
	if err != nil {
		return err
	}
	if len(rest) > 0 || (field == "") == !gold {
		return usageError{errors.New("give exactly one of --training FIELD or --gold")}
	}
	fb, err := service.OpenFeedback(app.TriageDir(cfg.DataDir))
	if err != nil {
		return err
	}
	defer fb.Close()
	w := stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("%s: %v", out, errors.Unwrap(err))
		}
		defer f.Close()
		w = f
	}
	var n int
	if gold {
		n, err = fb.ExportGold(ctx, w)
	} else {
		n, err = fb.ExportTraining(ctx, w, field)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d records exported\n", n)
	return nil
}
