package service_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/assist/triage/service"
)

func TestFeedbackSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	fs, err := service.OpenFeedback(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	records := []triage.Feedback{
		{TicketID: "1", Desk: "it-service", Category: "Hardware", CategoryAccepted: true, Priority: "mittel", PriorityAccepted: true, Answer: "used", At: at, Subject: "Drucker", Body: "druckt nicht"},
		{TicketID: "2", Desk: "it-service", Category: "Zugang", Answer: "edited", FinalAnswer: "Passwort ist zurückgesetzt.", At: at, Subject: "Login", Body: "geht nicht"},
		{TicketID: "1", Desk: "it-service", Category: "Software", Priority: "hoch", Answer: "rejected", At: at.Add(time.Hour), Subject: "Drucker", Body: "druckt nicht"},
	}
	for _, r := range records {
		if err := fs.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write leaves a partial line; reopening must cope.
	f, _ := os.OpenFile(filepath.Join(dir, service.FeedbackFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"ticket_id":"cut`)
	f.Close()

	fs, err = service.OpenFeedback(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if err := fs.Append(ctx, triage.Feedback{TicketID: "3", Desk: "it-service", Category: "Gehalt", At: at, Body: "Gehalt fehlt"}); err != nil {
		t.Fatal(err)
	}
	all, err := fs.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].FinalAnswer != "" || all[1].FinalAnswer != "Passwort ist zurückgesetzt." || all[3].TicketID != "3" {
		t.Fatalf("after reopening: %+v", all)
	}

	t.Run("training export has the latest label per ticket", func(t *testing.T) {
		var buf bytes.Buffer
		n, err := fs.ExportTraining(ctx, &buf, "category")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"id", "desk", "subject", "body", "category"}, {"1", "it-service", "Drucker", "druckt nicht", "Software"}, {"2", "it-service", "Login", "geht nicht", "Zugang"}, {"3", "it-service", "", "Gehalt fehlt", "Gehalt"}}
		if n != 3 || len(rows) != len(want) {
			t.Fatalf("rows = %v", rows)
		}
		for i := range want {
			if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
				t.Errorf("row %d = %v, want %v", i, rows[i], want[i])
			}
		}
	})
	t.Run("priority export skips records without a priority", func(t *testing.T) {
		var buf bytes.Buffer
		n, err := fs.ExportTraining(ctx, &buf, "priority")
		if err != nil || n != 1 || !strings.Contains(buf.String(), "hoch") {
			t.Errorf("n = %d, err = %v, out = %s", n, err, buf.String())
		}
	})
	t.Run("an unknown export field is invalid", func(t *testing.T) {
		_, err := fs.ExportTraining(ctx, &bytes.Buffer{}, "urgency")
		if errKind(err) != assist.Invalid {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("gold export carries verdicts and sent answers", func(t *testing.T) {
		var buf bytes.Buffer
		n, err := fs.ExportGold(ctx, &buf)
		if err != nil || n != 3 {
			t.Fatalf("n = %d, err = %v", n, err)
		}
		var recs []service.GoldRecord
		dec := json.NewDecoder(&buf)
		for dec.More() {
			var r service.GoldRecord
			if err := dec.Decode(&r); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, r)
		}
		if recs[0].Category != "Software" || recs[0].CategorySuggested || recs[0].AnswerVerdict != "rejected" || recs[1].Answer != "Passwort ist zurückgesetzt." {
			t.Errorf("gold = %+v", recs)
		}
	})
}

func TestRecordFeedbackValidates(t *testing.T) {
	fs, err := service.OpenFeedback(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	c, p := classifiers(hardwareLikely, mediumLikely)
	s, err := service.New(service.Config{Index: newIndex(t), Category: c, Priority: p, Taxonomy: loadTaxonomy(t), Feedback: fs, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	ok := triage.Feedback{TicketID: "9", Desk: "it-service", Category: "Hardware", CategoryAccepted: true, Priority: "hoch", Answer: "used"}
	tests := []struct {
		name   string
		modify func(*triage.Feedback)
		want   assist.Kind
	}{
		{name: "valid feedback is stored", modify: func(*triage.Feedback) {}, want: assist.Other},
		{name: "an empty ticket id is invalid", modify: func(f *triage.Feedback) { f.TicketID = " " }, want: assist.Invalid},
		{name: "an empty desk is invalid", modify: func(f *triage.Feedback) { f.Desk = "" }, want: assist.Invalid},
		{name: "an unknown answer verdict is invalid", modify: func(f *triage.Feedback) { f.Answer = "liked" }, want: assist.Invalid},
		{name: "an edited answer without text is invalid", modify: func(f *triage.Feedback) { f.Answer = "edited" }, want: assist.Invalid},
		{name: "a category outside the taxonomy is invalid", modify: func(f *triage.Feedback) { f.Category = "Kantine" }, want: assist.Invalid},
		{name: "a priority outside the taxonomy is invalid", modify: func(f *triage.Feedback) { f.Priority = "sofort" }, want: assist.Invalid},
		{name: "an unknown desk is not found", modify: func(f *triage.Feedback) { f.Desk = "kantine" }, want: assist.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fb := ok
			tt.modify(&fb)
			err := s.RecordFeedback(context.Background(), fb)
			if tt.want == assist.Other {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if errKind(err) != tt.want || assist.Message(err) == "" {
				t.Errorf("err = %v, want kind %v", err, tt.want)
			}
		})
	}
	all, _ := fs.All(context.Background())
	if len(all) != 1 || !all[0].At.Equal(fixedNow) {
		t.Errorf("stored %+v, want the one valid record stamped with Now", all)
	}
	if m := s.Metrics(); m.Feedback != 1 || m.CategoryAccepted != 1 || m.AnswersUsed != 1 {
		t.Errorf("metrics = %+v", m)
	}
}

func TestFeedbackWithoutTextTakesItFromTheIndexedTicket(t *testing.T) {
	ctx := context.Background()
	fs, err := service.OpenFeedback(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	c, p := classifiers(hardwareLikely, mediumLikely)
	s, err := service.New(service.Config{Index: newIndex(t), Category: c, Priority: p, Taxonomy: loadTaxonomy(t), Feedback: fs})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecordFeedback(ctx, triage.Feedback{TicketID: "3", Desk: "it-service", Category: "Zugang", CategoryAccepted: true}); err != nil {
		t.Fatal(err)
	}
	all, err := fs.All(ctx)
	if err != nil || len(all) != 1 || all[0].Subject != "Passwort vergessen" || !strings.Contains(all[0].Body, "Fachverfahren") {
		t.Fatalf("feedback not completed from the index: %+v %v", all, err)
	}
}
