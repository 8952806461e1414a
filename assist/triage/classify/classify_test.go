package classify_test

import (
	"bytes"
	"context"
	"fmt"

	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/assist/triage/classify"
)

// corpus is a small bilingual ticket set written for these tests.
func corpus(t *testing.T) []classify.Example {
	t.Helper()
	base := map[string][]string{
		"Hardware": {
			"Drucker druckt nicht, Papierstau im Fach", "Monitor flackert und bleibt schwarz",
			"Tastatur defekt, Tasten klemmen", "printer not working paper jam", "laptop screen broken",
			"Dockingstation erkennt Bildschirm nicht", "Maus reagiert nicht mehr", "Netzteil des Laptops defekt",
		},
		"Zugang": {
			"Passwort vergessen, bitte zurücksetzen", "Konto gesperrt nach drei Fehlversuchen",
			"Zugriff auf Laufwerk verweigert", "password reset needed for my account", "account locked cannot login",
			"Berechtigung für Ordner Personal fehlt", "VPN Anmeldung schlägt fehl", "Kennwort abgelaufen Anmeldung unmöglich",
		},
		"Gehalt": {
			"Gehaltsabrechnung fehlt für März", "Lohnsteuerbescheinigung falsch", "Überstunden nicht ausgezahlt",
			"salary statement missing", "payslip shows wrong tax class", "Reisekostenabrechnung noch nicht erstattet",
			"Zuschlag für Nachtdienst fehlt auf der Abrechnung", "Gehaltserhöhung nicht berücksichtigt",
		},
	}
	var ex []classify.Example
	for _, l := range []string{"Hardware", "Zugang", "Gehalt"} {
		for _, s := range base[l] {
			ex = append(ex, classify.Example{Text: s, Label: l})
		}
	}
	return ex
}

func train(t *testing.T, ex []classify.Example) *classify.Model {
	t.Helper()
	m, err := classify.Train(context.Background(), ex, classify.Config{Name: "test", MinDF: 1, CalibrationFraction: -1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrainRejectsUnusableSets(t *testing.T) {
	tests := []struct {
		name string
		ex   []classify.Example
		want string
	}{
		{"an empty set is invalid", nil, "no training examples"},
		{"a single label is invalid", []classify.Example{{"a", "x"}, {"b", "x"}}, "need at least 2 distinct labels, got 1"},
		{"an empty label is invalid", []classify.Example{{"a", "x"}, {"b", ""}}, "example 2 has an empty label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, trainer := range []func() (*classify.Model, error){
				func() (*classify.Model, error) { return classify.Train(context.Background(), tt.ex, classify.Config{}) },
				func() (*classify.Model, error) { return classify.TrainNaiveBayes(context.Background(), tt.ex) },
			} {
				_, err := trainer()
				if assist.KindOf(err) != assist.Invalid || assist.Message(err) != tt.want {
					t.Errorf("got %v (kind %v), want Invalid %q", err, assist.KindOf(err), tt.want)
				}
			}
		})
	}
}

func TestTrainLimitsLabels(t *testing.T) {
	var ex []classify.Example
	for i := range 600 {
		ex = append(ex, classify.Example{Text: "ticket", Label: fmt.Sprint("id-", i)})
	}
	_, err := classify.Train(context.Background(), ex, classify.Config{})
	if want := "600 distinct labels; at most 500 are supported (is the label column right?)"; assist.Message(err) != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestTrainOnEmptyTextsPredictsFromPriors(t *testing.T) {
	ex := []classify.Example{{"", "a"}, {"", "a"}, {"", "a"}, {"", "b"}}
	m, err := classify.Train(context.Background(), ex, classify.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Predict("irgendwas"); len(got) != 2 || got[0].Label != "a" {
		t.Errorf("got %v, want a before b", got)
	}
}

func TestTrainStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := classify.Train(ctx, corpus(t), classify.Config{})
	if assist.KindOf(err) != assist.Canceled {
		t.Fatalf("got %v, want Canceled", err)
	}
}

func TestPredict(t *testing.T) {
	ex := corpus(t)
	svm := train(t, ex)
	calibrated, err := classify.Train(context.Background(), append(append(ex, ex...), ex...), classify.Config{MinDF: 1})
	if err != nil {
		t.Fatal(err)
	}
	nb, err := classify.TrainNaiveBayes(context.Background(), ex)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*classify.Model{"svm": svm, "calibrated svm": calibrated, "naive Bayes": nb} {
		tests := []struct{ text, want string }{
			{"Der Drucker hat einen Papierstau", "Hardware"},
			{"my password expired, account locked", "Zugang"},
			{"GEHALTSABRECHNUNG für April fehlt", "Gehalt"},
			{"Überstunden wurden nicht ausgezahlt", "Gehalt"},
		}
		for _, tt := range tests {
			t.Run(name+" labels "+tt.text+" as "+tt.want, func(t *testing.T) {
				alts := m.Predict(tt.text)
				if len(alts) != 3 {
					t.Fatalf("got %d alternatives, want all 3 labels", len(alts))
				}
				if alts[0].Label != tt.want {
					t.Errorf("top label %q, want %q (%v)", alts[0].Label, tt.want, alts)
				}
				var sum float64
				for i, a := range alts {
					sum += a.Confidence
					if i > 0 && a.Confidence > alts[i-1].Confidence {
						t.Errorf("alternatives not in descending order: %v", alts)
					}
				}
				if math.Abs(sum-1) > 1e-6 {
					t.Errorf("probabilities sum to %v, want 1", sum)
				}
			})
		}
	}
}

func TestPredictSurvivesOddInput(t *testing.T) {
	m := train(t, corpus(t))
	for name, text := range map[string]string{
		"an empty text":         "",
		"only punctuation":      "!!! ??? ---",
		"invalid UTF-8":         "\xff\xfe Drucker \xc3",
		"a 10 MB text":          strings.Repeat("Drucker kaputt ", 700_000),
		"control characters":    "\x00\x01\x02 Passwort",
		"a single 1 MB word":    strings.Repeat("x", 1<<20),
		"emoji and other kinds": "🖨️ kaputt 打印机",
	} {
		t.Run("it answers "+name+" with every label", func(t *testing.T) {
			alts := m.Predict(text)
			if len(alts) != 3 {
				t.Fatalf("got %v", alts)
			}
			for _, a := range alts {
				if math.IsNaN(a.Confidence) || a.Confidence < 0 || a.Confidence > 1 {
					t.Errorf("confidence %v out of range", a.Confidence)
				}
			}
		})
	}
}

func TestUmlautsFoldToTheirTranscription(t *testing.T) {
	m := train(t, corpus(t))
	a, b := m.Predict("Gehaltserhöhung Überstunden"), m.Predict("gehaltserhoehung ueberstunden")
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("umlaut and transcription predict differently (-umlaut +transcription):\n%s", diff)
	}
}

func TestInfo(t *testing.T) {
	m := train(t, corpus(t))
	info := m.Info()
	if info.Name != "test" || info.Kind != "svm" || info.Examples != 24 || info.SizeBytes <= 0 || info.Features == 0 || info.TrainedAt.IsZero() {
		t.Errorf("unexpected info %+v", info)
	}
	if diff := cmp.Diff(map[string]int{"Hardware": 8, "Zugang": 8, "Gehalt": 8}, info.LabelCounts); diff != "" {
		t.Errorf("label counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Gehalt", "Hardware", "Zugang"}, m.Labels()); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, kind := range []string{"svm", "naive Bayes"} {
		t.Run("a "+kind+" model predicts the same after loading", func(t *testing.T) {
			m := train(t, corpus(t))
			if kind == "naive Bayes" {
				m, _ = classify.TrainNaiveBayes(context.Background(), corpus(t))
			}
			var buf bytes.Buffer
			if err := classify.Save(&buf, m); err != nil {
				t.Fatal(err)
			}
			got, err := classify.Load(&buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, text := range []string{"Drucker kaputt", "Passwort", "", "salary"} {
				if diff := cmp.Diff(m.Predict(text), got.Predict(text)); diff != "" {
					t.Errorf("%q (-before +after):\n%s", text, diff)
				}
			}
		})
	}
}

func TestLoadRejectsGarbage(t *testing.T) {
	m := train(t, corpus(t))
	var buf bytes.Buffer
	if err := classify.Save(&buf, m); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for name, data := range map[string][]byte{
		"empty input":      nil,
		"plain text":       []byte("hello"),
		"a truncated file": good[:len(good)/2],
		"a gzip of text":   gz(t, []byte("not a gob")),
	} {
		t.Run(name+" is invalid", func(t *testing.T) {
			_, err := classify.Load(bytes.NewReader(data))
			if assist.KindOf(err) != assist.Invalid {
				t.Errorf("got %v, want Invalid", err)
			}
		})
	}
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	s, err := classify.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	m1 := train(t, corpus(t))
	m2, _ := classify.TrainNaiveBayes(context.Background(), corpus(t))
	t.Run("versions count up from v001", func(t *testing.T) {
		for i, m := range []*classify.Model{m1, m2} {
			v, err := s.Put("queue", m)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"v001", "v002"}[i]; v != want {
				t.Errorf("version %q, want %q", v, want)
			}
		}
		vs, err := s.Versions("queue")
		if err != nil || !cmp.Equal(vs, []string{"v001", "v002"}) {
			t.Errorf("Versions = %v, %v", vs, err)
		}
	})
	t.Run("latest resolves to the newest version", func(t *testing.T) {
		for _, v := range []string{"", "latest", "v002", "2"} {
			m, err := s.Get("queue", v)
			if err != nil {
				t.Fatal(err)
			}
			if info := m.Info(); info.Version != "v002" || info.Kind != "naive-bayes" || info.Name != "queue" {
				t.Errorf("Get(%q) info %+v", v, info)
			}
		}
		m, err := s.Get("queue", "v001")
		if err != nil || m.Info().Kind != "svm" {
			t.Errorf("Get(v001) = %v, %v", m, err)
		}
	})
	t.Run("no temporary files remain", func(t *testing.T) {
		ents, _ := os.ReadDir(filepath.Join(dir, "queue"))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".tmp") {
				t.Errorf("left over %s", e.Name())
			}
		}
	})
	tests := []struct {
		name, model, version string
		kind                 assist.Kind
	}{
		{"an unknown model is not found", "priority", "", assist.NotFound},
		{"an unknown version is not found", "queue", "v009", assist.NotFound},
		{"a malformed version is invalid", "queue", "vx", assist.Invalid},
		{"a path in the name is invalid", "../etc", "", assist.Invalid},
		{"an empty name is invalid", "", "", assist.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Get(tt.model, tt.version)
			if assist.KindOf(err) != tt.kind {
				t.Errorf("got %v, want %v", err, tt.kind)
			}
		})
	}
	t.Run("a corrupt version file is invalid", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "queue", "v003.gob.gz"), []byte("junk"), 0o644)
		if _, err := s.Get("queue", ""); assist.KindOf(err) != assist.Invalid {
			t.Errorf("got %v, want Invalid", err)
		}
	})
}

func TestSplit(t *testing.T) {
	ex := corpus(t)
	ex = append(ex, classify.Example{Text: "einzeln", Label: "Selten"})
	train1, test1 := classify.Split(ex, 0.25, 42)
	train2, test2 := classify.Split(ex, 0.25, 42)
	if !cmp.Equal(train1, train2) || !cmp.Equal(test1, test2) {
		t.Error("the same seed gives different splits")
	}
	if len(train1)+len(test1) != len(ex) {
		t.Errorf("split loses examples: %d + %d != %d", len(train1), len(test1), len(ex))
	}
	per := map[string]int{}
	for _, e := range test1 {
		per[e.Label]++
	}
	if diff := cmp.Diff(map[string]int{"Hardware": 2, "Zugang": 2, "Gehalt": 2}, per); diff != "" {
		t.Errorf("test part is not stratified (-want +got):\n%s", diff)
	}
	_, test3 := classify.Split(ex, 0.25, 43)
	if cmp.Equal(test1, test3) {
		t.Error("another seed gives the same test part")
	}
}

func TestEvaluateAndCoverage(t *testing.T) {
	ex := corpus(t)
	m := train(t, ex)
	test := append([]classify.Example{{Text: "Drucker kaputt", Label: "Unbekannt"}}, ex...)
	met := classify.Evaluate(m, test)
	if met.N != 25 || len(met.Labels) != 4 || len(met.Confusion) != 4 {
		t.Fatalf("unexpected metrics %+v", met)
	}
	var total int
	for _, row := range met.Confusion {
		for _, n := range row {
			total += n
		}
	}
	if total != 25 {
		t.Errorf("confusion matrix counts %d examples, want 25", total)
	}
	if met.Accuracy > 24.0/25 || met.Accuracy < 0.8 {
		t.Errorf("accuracy %v: the unknown label must count as an error, training examples mostly right", met.Accuracy)
	}
	pts := classify.CoverageAccuracy(m, test, []float64{0.2, 0.6, 1})
	if len(pts) != 3 || pts[2].Coverage != 1 {
		t.Fatalf("points %+v", pts)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Threshold > pts[i-1].Threshold {
			t.Errorf("threshold rises with coverage: %+v", pts)
		}
	}
}

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		text    []string
		label   string
		want    []classify.Example
		skipped int
		err     string
	}{
		{name: "text columns are joined and labels read", csv: "\ufeffsubject,body,queue\nA,b,Q1\n,nur Text,Q2\n",
			text: []string{"subject", "body"}, label: "queue",
			want: []classify.Example{{"A\n\nb", "Q1"}, {"nur Text", "Q2"}}},
		{name: "rows without a label are skipped", csv: "subject,queue\nA,\nB,Q\n", text: []string{"subject"}, label: "queue",
			want: []classify.Example{{"B", "Q"}}, skipped: 1},
		{name: "no label column is needed to predict", csv: "subject\nA\n", text: []string{"subject"},
			want: []classify.Example{{Text: "A"}}},
		{name: "a missing text column names the column and file", csv: "subject,queue\n", text: []string{"body"}, label: "queue",
			err: `t.csv has no column "body" (columns: subject, queue)`},
		{name: "a missing label column names the column and file", csv: "subject\n", text: []string{"subject"}, label: "queue",
			err: `t.csv has no column "queue" (columns: subject)`},
		{name: "an empty file is invalid", csv: "", text: []string{"subject"}, err: "t.csv is empty (no header row)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, skipped, err := classify.ReadCSV(strings.NewReader(tt.csv), "t.csv", tt.text, tt.label)
			if tt.err != "" {
				if assist.KindOf(err) != assist.Invalid || assist.Message(err) != tt.err {
					t.Fatalf("got %v, want Invalid %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || skipped != tt.skipped {
				t.Errorf("skipped %d (want %d), examples (-want +got):\n%s", skipped, tt.skipped, diff)
			}
		})
	}
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := newGzip(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestPredictIsSafeForConcurrentUse(t *testing.T) {
	m := train(t, corpus(t))
	want := m.Predict("Drucker kaputt")
	done := make(chan []triage.Alternative)
	for range 8 {
		go func() {
			var last []triage.Alternative
			for range 50 {
				last = m.Predict("Drucker kaputt")
				m.Info()
			}
			done <- last
		}()
	}
	for range 8 {
		if diff := cmp.Diff(want, <-done); diff != "" {
			t.Errorf("concurrent prediction differs:\n%s", diff)
		}
	}
}

func TestRestrict(t *testing.T) {
	alts := []triage.Alternative{{Label: "A", Confidence: 0.5}, {Label: "B", Confidence: 0.3}, {Label: "C", Confidence: 0.2}}
	tests := []struct {
		name    string
		allowed []string
		want    []triage.Alternative
	}{
		{"allowed labels keep their order and sum to 1", []string{"C", "B"}, []triage.Alternative{{Label: "B", Confidence: 0.6}, {Label: "C", Confidence: 0.4}}},
		{"all labels allowed change nothing", []string{"A", "B", "C"}, alts},
		{"no allowed label gives nothing", []string{"Gehalt"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify.Restrict(slices.Clone(alts), tt.allowed)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrentPutsGetDistinctVersions(t *testing.T) {
	s, err := classify.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := train(t, corpus(t))
	got := make(chan string)
	for range 6 {
		go func() {
			v, err := s.Put("queue", m)
			if err != nil {
				t.Error(err)
			}
			got <- v
		}()
	}
	seen := map[string]bool{}
	for range 6 {
		seen[<-got] = true
	}
	if len(seen) != 6 {
		t.Errorf("6 concurrent puts made versions %v", seen)
	}
}
