package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"amtsassist/assist/triage"
	"amtsassist/assist/triage/service"
	"amtsassist/cmd/internal/app"
)

// runTriage runs "assist triage ARGS" in-process with a private data
// directory. It calls cmdTriage directly, so that it does not depend on the
// dispatch in main.go.
func runTriage(t *testing.T, dataDir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "AMTSASSIST_DATA_DIR" {
			return dataDir
		}
		return ""
	}
	err = cmdTriage(context.Background(), args, &out, &errb, env)
	return out.String(), errb.String(), err
}

const (
	triageTickets = "testdata/triage-tickets.csv"
	triageNew     = "testdata/triage-new.csv"
)

func predictJSON(t *testing.T, dataDir, model, input string) []map[string]json.RawMessage {
	t.Helper()
	out, errOut, err := runTriage(t, dataDir, "predict", "--model", model, "--input", input, "--text", "subject,body", "--json")
	if err != nil {
		t.Fatalf("predict: %v\n%s", err, errOut)
	}
	var lines []map[string]json.RawMessage
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestTriageTrainAndPredict(t *testing.T) {
	dir := t.TempDir()
	t.Run("train stores a versioned model and prints held-out scores", func(t *testing.T) {
		out, errOut, err := runTriage(t, dir, "train", "--input", triageTickets, "--text", "subject,body", "--label", "queue", "--test", "0.3")
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut)
		}
		for _, want := range []string{"model queue v001", "accuracy", "macro-F1", "precision", "confusion matrix", "Hardware", "Zugang", "Software"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "triage-models", "queue", "v001.gob.gz")); err != nil {
			t.Error(err)
		}
		if !strings.Contains(out, "coverage–accuracy") {
			t.Errorf("output lacks the coverage–accuracy table:\n%s", out)
		}
		out, _, err = runTriage(t, dir, "train", "--input", triageTickets, "--label", "queue", "--test", "0")
		if err != nil || !strings.Contains(out, "model queue v002") {
			t.Errorf("second training: %v\n%s", err, out)
		}
	})
	t.Run("train --json prints the model info and held-out metrics", func(t *testing.T) {
		out, _, err := runTriage(t, dir, "train", "--input", triageTickets, "--label", "queue", "--name", "q-json", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Model struct {
				Name, Version string
				Examples      int
			}
			Metrics  struct{ Accuracy float64 }
			Coverage []struct{ Coverage float64 }
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got.Model.Name != "q-json" || got.Model.Version != "v001" || got.Model.Examples != 24 || len(got.Coverage) == 0 {
			t.Errorf("unexpected %+v", got)
		}
	})
	t.Run("predict prints one JSON line per row in input order", func(t *testing.T) {
		lines := predictJSON(t, dir, "queue", triageNew)
		if len(lines) != 5 {
			t.Fatalf("got %d lines, want 5 (one per row, empty rows included)", len(lines))
		}
		taxonomy := []string{"Hardware", "Software", "Zugang"}
		for i, want := range []string{"Hardware", "Zugang", "Software"} {
			var got string
			json.Unmarshal(lines[i]["label"], &got)
			if got != want {
				t.Errorf("row %d: label %q, want %q", i+1, got, want)
			}
		}
		for i, l := range lines {
			keys := make([]string, 0, len(l))
			for k := range l {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, []string{"alternatives", "confidence", "label"}) {
				t.Errorf("row %d: keys %v, want exactly label, confidence, alternatives", i+1, keys)
			}
			var label string
			var conf float64
			var alts []triage.Alternative
			json.Unmarshal(l["label"], &label)
			json.Unmarshal(l["confidence"], &conf)
			json.Unmarshal(l["alternatives"], &alts)
			if !slices.Contains(taxonomy, label) {
				t.Errorf("row %d: label %q outside the taxonomy", i+1, label)
			}
			if len(alts) != 3 || alts[0].Label != label || alts[0].Confidence != conf {
				t.Errorf("row %d: alternatives %v do not start with the label %q %v", i+1, alts, label, conf)
			}
		}
	})
	t.Run("a prompt injection in the ticket still gets a taxonomy label", func(t *testing.T) {
		lines := predictJSON(t, dir, "queue", triageNew)
		var got string
		json.Unmarshal(lines[4]["label"], &got)
		if got == "Gehalt" || !slices.Contains([]string{"Hardware", "Software", "Zugang"}, got) {
			t.Errorf("label %q", got)
		}
	})
	t.Run("predict without --json prints a table", func(t *testing.T) {
		out, _, err := runTriage(t, dir, "predict", "--model", "queue", "--version", "v001", "--input", triageNew)
		if err != nil || !strings.Contains(out, "model queue v001") || !strings.Contains(out, "Hardware") {
			t.Errorf("%v\n%s", err, out)
		}
	})
	t.Run("priority trains the same way", func(t *testing.T) {
		out, errOut, err := runTriage(t, dir, "train", "--input", triageTickets, "--label", "priority", "--name", "prio")
		if err != nil || !strings.Contains(out, "model prio v001") {
			t.Fatalf("%v\n%s%s", err, out, errOut)
		}
		for _, l := range predictJSON(t, dir, "prio", triageNew) {
			var label string
			json.Unmarshal(l["label"], &label)
			if !slices.Contains([]string{"hoch", "mittel", "niedrig"}, label) {
				t.Errorf("priority %q outside the taxonomy", label)
			}
		}
	})
}

func TestTriageFeedbackCorrectsTheModel(t *testing.T) {
	dir := t.TempDir()
	ticket := []string{"subject,body", `Monitor flackert,Mein Bildschirm flackert seit heute morgen.`}
	input := filepath.Join(dir, "one.csv")
	os.WriteFile(input, []byte(strings.Join(ticket, "\n")+"\n"), 0o644)
	label := func() string {
		t.Helper()
		var got string
		json.Unmarshal(predictJSON(t, dir, "queue", input)[0]["label"], &got)
		return got
	}
	if _, _, err := runTriage(t, dir, "train", "--input", triageTickets, "--label", "queue", "--test", "0"); err != nil {
		t.Fatal(err)
	}
	if got := label(); got != "Hardware" {
		t.Fatalf("before feedback: %q, want Hardware", got)
	}
	fb := triage.Feedback{TicketID: "7", Desk: "it", Category: "Software", CategoryAccepted: false,
		Subject: "Monitor flackert", Body: "Mein Bildschirm flackert seit heute morgen."}
	b, _ := json.Marshal(fb)
	fbPath := filepath.Join(dir, "feedback.jsonl")
	os.WriteFile(fbPath, append(append([]byte("\n"), b...), '\n'), 0o644)
	out, _, err := runTriage(t, dir, "train", "--input", triageTickets, "--label", "queue", "--feedback", fbPath, "--desk", "hr")
	if err != nil || !strings.Contains(out, "feedback: 0 examples") {
		t.Errorf("feedback of another desk is used: %v\n%s", err, out)
	}
	out, errOut, err := runTriage(t, dir, "train", "--input", triageTickets, "--label", "queue", "--feedback", fbPath, "--desk", "it")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(out, "feedback: 1 examples") || !strings.Contains(out, "1 of them correct rows") {
		t.Errorf("output does not report the feedback:\n%s", out)
	}
	if got := label(); got != "Software" {
		t.Errorf("after the correction: %q, want Software", got)
	}
}

func TestTriageRejectsBadInvocations(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"category\":\"x\"}\nnot json\n"), 0o644)
	tests := []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no subcommand is a usage error", nil, true, "name a subcommand"},
		{"an unknown subcommand is a usage error", []string{"explain"}, true, `unknown subcommand "explain"`},
		{"train without input is a usage error", []string{"train", "--label", "queue"}, true, "--input is required"},
		{"a test share of 1 is a usage error", []string{"train", "--input", triageTickets, "--test", "1"}, true, "--test 1"},
		{"predict without a model is a usage error", []string{"predict", "--input", triageNew}, true, "--model is required"},
		{"a missing text column names the column and file", []string{"train", "--input", triageTickets, "--text", "title,body"}, false,
			`testdata/triage-tickets.csv has no column "title"`},
		{"a missing label column names the column and file", []string{"train", "--input", triageTickets, "--label", "queue_id"}, false,
			`testdata/triage-tickets.csv has no column "queue_id"`},
		{"a missing input file is named", []string{"train", "--input", "testdata/nope.csv"}, false, "cannot open testdata/nope.csv"},
		{"an unknown model is not found", []string{"predict", "--model", "nope", "--input", triageNew}, false, `no model named "nope"`},
		{"a malformed feedback line names file and line", []string{"train", "--input", triageTickets, "--feedback", bad}, false, "bad.jsonl:2 is not a feedback JSON object"},
		{"bench without data names the folder", []string{"bench", "--data", "testdata/no-such-dir"}, false, "benchmark data not found at testdata/no-such-dir"},
		{"a model name with a path is invalid", []string{"train", "--input", triageTickets, "--name", "../x"}, false, `model name "../x" is invalid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runTriage(t, dir, tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			var ue usageError
			if isUsage := errorsAs(err, &ue); isUsage != tt.usage {
				t.Errorf("usage error %v, want %v: %v", isUsage, tt.usage, err)
			}
			if msg := describe(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain %q", msg, tt.want)
			}
		})
	}
}

func errorsAs(err error, target *usageError) bool { return errors.As(err, target) }

func TestTriageExportWritesRecordedFeedback(t *testing.T) {
	data := t.TempDir()
	fb, err := service.OpenFeedback(app.TriageDir(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := fb.Append(context.Background(), triage.Feedback{TicketID: "T-1", Desk: "IT-Service", Category: "Drucker",
		CategoryAccepted: false, Answer: "rejected", Subject: "Drucker druckt nicht", Body: "Papierstau"}); err != nil {
		t.Fatal(err)
	}
	fb.Close()
	out, _, err := runTriage(t, data, "export", "--training", "category")
	if err != nil || !strings.Contains(out, "Drucker druckt nicht") || !strings.Contains(out, "Drucker") {
		t.Fatalf("training export: %v\n%s", err, out)
	}
	out, _, err = runTriage(t, data, "export", "--gold")
	if err != nil || !strings.Contains(out, `"T-1"`) {
		t.Fatalf("gold export: %v\n%s", err, out)
	}
	if _, _, err := runTriage(t, data, "export"); err == nil {
		t.Fatal("export without --training or --gold must be a usage error")
	}
}
