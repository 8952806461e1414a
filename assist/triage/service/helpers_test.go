package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/assist/triage/service"
	"amtsassist/ingest"
	"amtsassist/rag/local"
)

// fixedNow is the clock of the tests: recency weights stay stable.
var fixedNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// ticketsCSV is a handful of past tickets of the it-service desk, written
// for these tests: near-duplicates (1 and 2), an unresolved one (4), an old
// and a new printer ticket (5, 6).
const ticketsCSV = `id,subject,body,queue,priority,status,answer,created
1,"Drucker druckt nicht","Der Drucker im Raum 3.12 druckt seit heute früh nicht mehr. Es leuchtet eine rote Lampe.",Hardware,mittel,geschlossen,"Bitte schalten Sie den Drucker aus und wieder ein; bleibt die Lampe rot, tauschen wir die Tonerkartusche.",2026-05-20
2,"AW: Drucker druckt nicht!","Der Drucker im Raum 3.12 druckt seit heute früh nicht mehr. Es leuchtet eine rote Lampe.",Hardware,mittel,geschlossen,"Duplikat: siehe Ticket 1.",2026-05-21
3,"Passwort vergessen","Ich habe mein Passwort für das Fachverfahren vergessen und komme nicht mehr rein.",Zugang,hoch,gelöst,"Ihr Passwort wurde zurückgesetzt; das Einmalpasswort kommt per SMS.",2026-04-01
4,"Drucker Papierstau","Im Drucker Raum 2.01 steckt Papier fest und der Drucker meldet Papierstau.",Hardware,niedrig,offen,"",2026-05-30
5,"Drucker zeigt Fehler 50","Der Drucker im Flur zeigt Fehler 50 und druckt nicht.",Hardware,mittel,closed,"Fehler 50 ist die Fixiereinheit: Techniker ist beauftragt.",2019-01-10
6,"Drucker zeigt Fehler 51","Der Netzwerkdrucker im Flur zeigt Fehler 51 und druckt nicht mehr.",Hardware,mittel,closed,"Fehler 51 betrifft den Laser: Techniker ist beauftragt.",2026-05-25
7,"Gehaltsabrechnung fehlt","Meine Gehaltsabrechnung für Mai ist nicht im Portal.",Gehalt,mittel,resolved,"Die Abrechnungen für Mai werden am 5. des Folgemonats bereitgestellt.",2026-05-02
`

// otherDeskCSV has a ticket of another desk that matches printer queries
// better than any of it-service: it must never appear in its suggestions.
const otherDeskCSV = `id,subject,body,queue,priority,status,answer,created
b1,Drucker druckt nicht,"Der Drucker im Raum 3.12 druckt seit heute früh nicht mehr. Es leuchtet eine rote Lampe. Drucker Drucker.",Meldewesen,normal,geschlossen,GEHEIM: Antwort des Bürgerbüros.,2026-05-31
`

// newIndex returns a local index with the test tickets ingested.
func newIndex(t testing.TB) *local.Index {
	t.Helper()
	ix, err := local.Open(t.TempDir(), local.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	p, err := ingest.New(ingest.Config{Index: ix})
	if err != nil {
		t.Fatal(err)
	}
	for desk, data := range map[string]string{"it-service": ticketsCSV, "buergerbuero": otherDeskCSV} {
		rep, err := p.IngestInputs(context.Background(), []ingest.Input{{Name: desk + ".csv", Data: []byte(data)}}, ingest.Options{Authority: desk})
		if err != nil || rep.Failed > 0 {
			t.Fatalf("ingest %s: %v %+v", desk, err, rep)
		}
	}
	return ix
}

func loadTaxonomy(t testing.TB) *service.Taxonomy {
	t.Helper()
	tax, err := service.LoadTaxonomy("testdata/taxonomy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return tax
}

// fakeClassifier returns a fixed distribution.
type fakeClassifier struct {
	dist []triage.Alternative
}

func (f fakeClassifier) Predict(string) []triage.Alternative {
	return append([]triage.Alternative(nil), f.dist...)
}

func (f fakeClassifier) Labels() []string {
	out := make([]string, len(f.dist))
	for i, a := range f.dist {
		out[i] = a.Label
	}
	return out
}

func classifiers(cat, prio service.Classifier) (func(string) (service.Classifier, error), func(string) (service.Classifier, error)) {
	get := func(c service.Classifier) func(string) (service.Classifier, error) {
		return func(desk string) (service.Classifier, error) {
			if desk == "it-service" && c != nil {
				return c, nil
			}
			return nil, assist.Errorf(assist.NotFound, "classifier", "no model for desk %q", desk)
		}
	}
	return get(cat), get(prio)
}

// fakeChat answers classification requests (schema with "category") with
// classify and answer requests with answer; it records the requests.
type fakeChat struct {
	classify, answer func(req assist.ChatRequest) (assist.ChatResult, error)

	mu   sync.Mutex
	reqs []assist.ChatRequest
}

func (f *fakeChat) Chat(ctx context.Context, req assist.ChatRequest, fn func(assist.Delta) error) (assist.ChatResult, error) {
	f.mu.Lock()
	if len(f.reqs) < 100 { // bounded: fuzzing sends many
		f.reqs = append(f.reqs, req)
	}
	f.mu.Unlock()
	h := f.answer
	if strings.Contains(string(req.Format), `"category"`) {
		h = f.classify
	}
	if h == nil {
		return assist.ChatResult{}, assist.Errorf(assist.Unavailable, "fake chat", "no handler")
	}
	res, err := h(req)
	if err == nil {
		if err := fn(assist.Delta{Content: res.Content}); err != nil {
			return assist.ChatResult{}, err
		}
	}
	return res, err
}

func (f *fakeChat) Model() assist.ModelInfo { return assist.ModelInfo{Name: "fake"} }

// reply returns a handler that answers content with the given done reason.
func reply(content, doneReason string) func(assist.ChatRequest) (assist.ChatResult, error) {
	return func(assist.ChatRequest) (assist.ChatResult, error) {
		return assist.ChatResult{Content: content, DoneReason: doneReason}, nil
	}
}

func replyJSON(v any) func(assist.ChatRequest) (assist.ChatResult, error) {
	b, _ := json.Marshal(v)
	return reply(string(b), "stop")
}

func fail(kind assist.Kind) func(assist.ChatRequest) (assist.ChatResult, error) {
	return func(assist.ChatRequest) (assist.ChatResult, error) {
		return assist.ChatResult{}, assist.Errorf(kind, "fake chat", "failing on purpose")
	}
}

func errKind(err error) assist.Kind {
	var e *assist.Error
	if !errors.As(err, &e) {
		return assist.Other
	}
	return assist.KindOf(err)
}
