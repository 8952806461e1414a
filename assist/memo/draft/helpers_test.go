package draft_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/draft"
	"amtsassist/prompts"
	"amtsassist/rag"
	"amtsassist/rag/local"
)

// Fixture texts, written for these tests (not statute text).
const (
	textP3  = "§ 3 WoGG Wohngeldberechtigung\n\n(1) Wohngeldberechtigt für den Mietzuschuss ist jede natürliche Person, die Wohnraum gemietet hat und ihn selbst bewohnt. Sie ist antragsberechtigt."
	textP19 = "§ 19 WoGG Höhe des Wohngeldes\n\n(1) Die Höhe des Wohngeldes richtet sich nach der Zahl der Haushaltsmitglieder, der Miete und dem Gesamteinkommen. Die Werte ergeben sich aus der Anlage."
	textP5  = "§ 5 WoGG Haushaltsmitglieder\n\n(1) Haushaltsmitglied ist die wohngeldberechtigte Person und wer mit ihr den Wohnraum gemeinsam bewohnt."
	textV28 = "§ 28 VwVfG Anhörung Beteiligter\n\n(1) Bevor ein Verwaltungsakt erlassen wird, der in Rechte eines Beteiligten eingreift, ist diesem Gelegenheit zu geben, sich zu äußern."
	textA   = "Antrag auf Wohngeld vom 3. März. Haushalt mit drei Personen, Miete 720 Euro monatlich, Gesamteinkommen 2100 Euro."
	textB   = "Vertrauliche Akte der Stadt B: Wohngeld für einen anderen Haushalt, Miete 500 Euro."
)

const (
	authA = "Stadt A"
	authB = "Stadt B"
)

// fixtureIndex builds a local index with a small law and one case
// document for each of two authorities.
func fixtureIndex(t *testing.T) rag.Index {
	t.Helper()
	ix, err := local.Open(t.TempDir(), local.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	law := func(id, law, sec, heading, text string) assist.Chunk {
		return assist.Chunk{ID: id, DocID: law, Corpus: assist.CorpusRegulations, Text: text,
			Citation: assist.Citation{Law: law, Section: sec, Heading: heading}, Meta: map[string]string{"kind": "paragraph"}}
	}
	wogg := []assist.Chunk{
		law("WoGG#p3", "WoGG", "§ 3", "Wohngeldberechtigung", textP3),
		law("WoGG#p5", "WoGG", "§ 5", "Haushaltsmitglieder", textP5),
		law("WoGG#p19", "WoGG", "§ 19", "Höhe des Wohngeldes", textP19),
	}
	vwvfg := []assist.Chunk{law("VwVfG#p28", "VwVfG", "§ 28", "Anhörung Beteiligter", textV28)}
	caseDoc := func(id, auth, text string) rag.DocumentData {
		return rag.DocumentData{
			Info:   rag.DocInfo{ID: id, Corpus: assist.CorpusCases, Authority: auth, Hash: id, Chunks: 1, Title: id + ".pdf"},
			Chunks: []assist.Chunk{{ID: id + "#1", DocID: id, Corpus: assist.CorpusCases, Authority: auth, Text: text, Citation: assist.Citation{Document: id + ".pdf", Page: 1}}},
		}
	}
	docs := []rag.DocumentData{
		{Info: rag.DocInfo{ID: "WoGG", Corpus: assist.CorpusRegulations, Title: "Wohngeldgesetz", Hash: "w", Chunks: len(wogg)}, Chunks: wogg},
		{Info: rag.DocInfo{ID: "VwVfG", Corpus: assist.CorpusRegulations, Title: "Verwaltungsverfahrensgesetz", Hash: "v", Chunks: 1}, Chunks: vwvfg},
		caseDoc("akte-a", authA, textA),
		caseDoc("akte-b", authB, textB),
	}
	for i := range docs {
		for k := range docs[i].Chunks {
			docs[i].Chunks[k].Ordinal = k
		}
	}
	if err := ix.PutDocuments(t.Context(), docs); err != nil {
		t.Fatal(err)
	}
	return ix
}

// fakeChat replays canned answers, one per call, piece by piece.
type fakeChat struct {
	mu       sync.Mutex
	answers  []fakeAnswer
	requests []assist.ChatRequest
	// delivered counts the pieces handed to fn in the last call; stopped
	// is set when fn returned an error and generation stopped.
	delivered int
	stopped   bool
	checkErr  error
	chatErr   error // returned by Chat before any delta, when set
	model     assist.ModelInfo
}

type fakeAnswer struct {
	pieces []string
	reason string // DoneReason; "" means "stop"
}

func newFakeChat(answers ...fakeAnswer) *fakeChat {
	return &fakeChat{answers: answers, model: assist.ModelInfo{Name: "fake:1b", Digest: "sha256:fake", ContextLength: 32768}}
}

func (f *fakeChat) Chat(ctx context.Context, req assist.ChatRequest, fn func(assist.Delta) error) (assist.ChatResult, error) {
	f.mu.Lock()
	call := len(f.requests)
	f.requests = append(f.requests, req)
	f.delivered, f.stopped = 0, false
	f.mu.Unlock()
	if f.chatErr != nil {
		return assist.ChatResult{}, f.chatErr
	}
	if call >= len(f.answers) {
		return assist.ChatResult{}, assist.Errorf(assist.Internal, "fake chat", "no answer for call %d", call+1)
	}
	a := f.answers[call]
	var content strings.Builder
	for _, p := range a.pieces {
		if err := ctx.Err(); err != nil {
			return assist.ChatResult{}, assist.E(assist.Canceled, "fake chat", err)
		}
		content.WriteString(p)
		if err := fn(assist.Delta{Content: p}); err != nil {
			f.mu.Lock()
			f.stopped = true
			f.mu.Unlock()
			return assist.ChatResult{}, err
		}
		f.mu.Lock()
		f.delivered++
		f.mu.Unlock()
	}
	reason := a.reason
	if reason == "" {
		reason = "stop"
	}
	return assist.ChatResult{Content: content.String(), DoneReason: reason, Model: f.model, OutputTokens: len(a.pieces), NumCtx: req.Options.NumCtx}, nil
}

func (f *fakeChat) Model() assist.ModelInfo { return f.model }

func (f *fakeChat) Check(context.Context) error { return f.checkErr }

func (f *fakeChat) calls() []assist.ChatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]assist.ChatRequest(nil), f.requests...)
}

// countingChat is a fakeChat that counts one token per byte, which makes
// the budget arithmetic of a test exact.
type countingChat struct{ *fakeChat }

func (countingChat) CountTokens(_ context.Context, text string) (int, error) { return len(text), nil }

// env is a service on the fixture index with a store in a temp dir.
type env struct {
	svc      *draft.Service
	store    *draft.Store
	storeDir string
	ix       rag.Index
}

func loadPrompts(t testing.TB) *prompts.Set {
	t.Helper()
	set, err := prompts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func newEnv(t *testing.T, chat assist.ChatModel, mod func(*draft.Config)) env {
	t.Helper()
	ix := fixtureIndex(t)
	dir := t.TempDir()
	st, err := draft.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := draft.Config{
		Index: ix, Chat: chat, Prompts: loadPrompts(t), Store: st,
		Options: assist.ChatOptions{NumCtx: 16384, NumPredict: 1024},
		Now:     func() time.Time { return time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC) },
	}
	if chat == nil {
		cfg.Chat = nil // a typed nil would look configured
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := draft.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return env{svc: svc, store: st, storeDir: dir, ix: ix}
}

// storedFiles lists what the store directory holds.
func storedFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func validRequest() memo.Request {
	return memo.Request{
		Aktenzeichen: "WG-2026-0815", Betreff: "Antrag auf Wohngeld, Familie Muster", Type: memo.Aktenvermerk,
		Facts:        "Die Antragstellerin wohnt mit zwei Kindern zur Miete, 720 Euro monatlich, Gesamteinkommen 2100 Euro.",
		Instructions: "Ist die Antragstellerin wohngeldberechtigt und wie hoch ist das Wohngeld?",
		Authority:    authA, Author: "Frau Beispiel",
	}
}

// events collects emitted events.
type events struct {
	mu  sync.Mutex
	all []memo.Event
}

func (e *events) emit(ev memo.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	return nil
}

func (e *events) ofType(typ string) []memo.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []memo.Event
	for _, ev := range e.all {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// deltaText joins the delta text per section.
func (e *events) deltaText() map[string]string {
	out := map[string]string{}
	for _, ev := range e.ofType("delta") {
		out[ev.Section] += ev.Text
	}
	return out
}

func kindOf(t *testing.T, err error) assist.Kind {
	t.Helper()
	var ae *assist.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *assist.Error", err, err)
	}
	return assist.KindOf(err)
}
