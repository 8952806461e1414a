package draft_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/draft"
)

// cannedJSON is a well-formed answer with escapes that streaming must
// decode across piece boundaries.
const cannedJSON = `{"sachverhalt":"Die Antragstellerin wohnt mit zwei Kindern zur Miete (720 Euro) \u2013 \"Familie Muster\".",` +
	`"wuerdigung":"Die Antragstellerin hat Wohnraum gemietet und bewohnt ihn selbst [1].\nDie H\u00f6he richtet sich nach Miete und Einkommen [2].",` +
	`"ergebnis":"Wohngeld ist dem Grunde nach zu bewilligen [1].","verfuegung":"1. Vermerk zur Akte.\n2. z.d.A."}`

// split cuts s into pieces of n bytes (cutting through escapes and UTF-8).
func split(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func wantSections(t *testing.T) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(cannedJSON), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRunDraftsStreamsVerifiesAndStoresAMemo(t *testing.T) {
	for _, size := range []int{1, 3, 7, 64, len(cannedJSON)} {
		t.Run("pieces of "+strconv.Itoa(size)+" bytes stream the same memo", func(t *testing.T) {
			chat := newFakeChat(fakeAnswer{pieces: split(cannedJSON, size)})
			e := newEnv(t, chat, nil)
			job, err := e.svc.Prepare(t.Context(), validRequest())
			if err != nil {
				t.Fatal(err)
			}
			if job.Mode() != memo.ModeLLM || len(job.Sources()) == 0 {
				t.Fatalf("mode %s with %d sources, want llm with sources", job.Mode(), len(job.Sources()))
			}
			var ev events
			m, err := job.Run(t.Context(), ev.emit)
			if err != nil {
				t.Fatal(err)
			}
			want := wantSections(t)
			got := map[string]string{}
			for _, s := range m.Sections {
				got[s.Key] = s.Text
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sections (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want, ev.deltaText()); diff != "" {
				t.Errorf("streamed deltas (-want +got):\n%s", diff)
			}
			wantHeader := memo.Header{Behoerde: authA, Aktenzeichen: "WG-2026-0815", Datum: "2026-03-10", Betreff: "Antrag auf Wohngeld, Familie Muster", Verfasser: "Frau Beispiel", Type: memo.Aktenvermerk}
			if diff := cmp.Diff(wantHeader, m.Header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if m.Mark != memo.DraftMark || m.Mode != memo.ModeLLM || m.Model.Digest != "sha256:fake" || m.PromptHash == "" || m.PromptName != "aktenvermerk" {
				t.Errorf("mark %q mode %q model %+v prompt %q/%q", m.Mark, m.Mode, m.Model, m.PromptName, m.PromptHash)
			}
			if m.Verification.Status != memo.StatusVerified {
				t.Errorf("verification %+v, want verified; sections %+v", m.Verification, m.Sections)
			}
			if len(ev.ofType("citation")) == 0 {
				t.Error("no citation events")
			}
			if m.Timings.Total <= 0 || m.Timings.Retrieval <= 0 || m.Timings.Verify <= 0 {
				t.Errorf("timings %+v", m.Timings)
			}
			stored, err := e.store.Get(t.Context(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(m.Sections, stored.Sections); diff != "" || stored.Request.Facts != validRequest().Facts || stored.PromptHash != m.PromptHash || stored.Model.Digest != "sha256:fake" {
				t.Errorf("stored memo differs (-run +stored):\n%s", diff)
			}
			req := chat.calls()[0]
			if len(req.Format) == 0 || req.Options.NumCtx != 16384 || req.Options.NumPredict != 1024 {
				t.Errorf("request format %s options %+v", req.Format, req.Options)
			}
			if job.FirstDelta() <= 0 {
				t.Error("first delta latency not measured")
			}
		})
	}
}

func TestPrepareRejectsBadRequestsAndStoresNothing(t *testing.T) {
	big := strings.Repeat("x", draft.DefaultMaxFactsBytes+1)
	tests := []struct {
		name   string
		mod    func(*memo.Request)
		kind   assist.Kind
		substr string
	}{
		{"a missing Betreff is invalid", func(r *memo.Request) { r.Betreff = "  " }, assist.Invalid, "Betreff fehlt"},
		{"a missing Aktenzeichen is invalid", func(r *memo.Request) { r.Aktenzeichen = "" }, assist.Invalid, "Aktenzeichen fehlt"},
		{"a missing authority is invalid", func(r *memo.Request) { r.Authority = "" }, assist.Invalid, "Behörde fehlt"},
		{"an unknown memo type is invalid and lists the types", func(r *memo.Request) { r.Type = "gutachten" }, assist.Invalid, `unbekannter Vermerktyp "gutachten" (gültig: aktenvermerk, gespraechsvermerk, entscheidungsvermerk)`},
		{"oversized facts are too large and name the limit", func(r *memo.Request) { r.Facts = big }, assist.TooLarge, "höchstens 32768 Bytes"},
		{"oversized instructions are too large", func(r *memo.Request) { r.Instructions = big }, assist.TooLarge, "Auftrag (instructions) ist zu lang"},
		{"an unknown attachment is not found", func(r *memo.Request) { r.Attachments = []string{"gibt-es-nicht"} }, assist.NotFound, `Anlage "gibt-es-nicht" nicht gefunden`},
		{"an attachment of another authority is not found", func(r *memo.Request) { r.Attachments = []string{"akte-b"} }, assist.NotFound, `Anlage "akte-b" nicht gefunden`},
		{"a law given as attachment is not found", func(r *memo.Request) { r.Attachments = []string{"WoGG"} }, assist.NotFound, `Anlage "WoGG" nicht gefunden`},
		{"a malformed date is invalid", func(r *memo.Request) { r.Date = "10.03.2026" }, assist.Invalid, "erwartet JJJJ-MM-TT"},
		{"a multi-line Betreff is invalid", func(r *memo.Request) { r.Betreff = "a\nb" }, assist.Invalid, "einzeilig"},
		{"invalid UTF-8 in the facts is invalid", func(r *memo.Request) { r.Facts = "a\xffb" }, assist.Invalid, "kein gültiger UTF-8-Text"},
		{"too many attachments are too large", func(r *memo.Request) { r.Attachments = make([]string, draft.MaxAttachments+1) }, assist.TooLarge, "zu viele Anlagen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chat := newFakeChat(fakeAnswer{pieces: []string{cannedJSON}})
			e := newEnv(t, chat, nil)
			req := validRequest()
			tt.mod(&req)
			_, err := e.svc.Prepare(t.Context(), req)
			if err == nil {
				t.Fatal("no error")
			}
			if k := kindOf(t, err); k != tt.kind {
				t.Errorf("kind %s, want %s (%v)", k, tt.kind, err)
			}
			if msg := assist.Message(err); !strings.Contains(msg, tt.substr) {
				t.Errorf("message %q does not contain %q", msg, tt.substr)
			}
			if files := storedFiles(t, e.storeDir); len(files) != 0 || len(chat.calls()) != 0 {
				t.Errorf("stored %v and called the model %d times", files, len(chat.calls()))
			}
		})
	}
	t.Run("another authority's attachment and a missing one get the same message shape", func(t *testing.T) {
		e := newEnv(t, newFakeChat(), nil)
		r1, r2 := validRequest(), validRequest()
		r1.Attachments, r2.Attachments = []string{"akte-b"}, []string{"akte-x"}
		_, e1 := e.svc.Prepare(t.Context(), r1)
		_, e2 := e.svc.Prepare(t.Context(), r2)
		m1 := strings.Replace(assist.Message(e1), "akte-b", "ID", 1)
		m2 := strings.Replace(assist.Message(e2), "akte-x", "ID", 1)
		if m1 != m2 || e1.Error() == "" {
			t.Errorf("messages differ: %q vs %q", m1, m2)
		}
	})
}

func TestPrepareFiltersCaseDocumentsByAttachmentAndAuthority(t *testing.T) {
	tests := []struct {
		name        string
		attachments []string
		wantCase    []string
	}{
		{"without attachments no case document is used", nil, nil},
		{"with the authority's own attachment only that document is used", []string{"akte-a"}, []string{"akte-a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, newFakeChat(), nil)
			req := validRequest()
			req.Attachments = tt.attachments
			req.Facts += " Miete Haushalt Wohngeld Stadt B"
			job, err := e.svc.Prepare(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			var gotCase []string
			for _, s := range job.Sources() {
				if s.Corpus == assist.CorpusCases {
					gotCase = append(gotCase, s.DocID)
				}
			}
			if diff := cmp.Diff(tt.wantCase, gotCase); diff != "" {
				t.Errorf("case sources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPreparePacksSourcesAtTheBudgetEdge(t *testing.T) {
	const predict = 500
	// Measure the prompt with exactly two sources, then give the budget
	// exactly that much, and one token less.
	probe := newEnv(t, countingChat{newFakeChat()}, func(c *draft.Config) {
		c.MaxSources = 2
		c.Options = assist.ChatOptions{NumCtx: 32000, NumPredict: predict}
	})
	job, err := probe.svc.Prepare(t.Context(), validRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(job.Sources()) != 2 {
		t.Fatalf("probe packed %d sources, want 2", len(job.Sources()))
	}
	exact := job.PromptTokens() + predict
	tests := []struct {
		name        string
		numCtx      int
		wantSources int
		wantWarning bool
	}{
		{"a prompt that exactly fits keeps both sources", exact, 2, false},
		{"one token over drops the lower-ranked source", exact - 1, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, countingChat{newFakeChat()}, func(c *draft.Config) {
				c.MaxSources = 2
				c.Options = assist.ChatOptions{NumCtx: tt.numCtx, NumPredict: predict}
			})
			job, err := e.svc.Prepare(t.Context(), validRequest())
			if err != nil {
				t.Fatal(err)
			}
			if len(job.Sources()) != tt.wantSources {
				t.Fatalf("packed %d sources, want %d", len(job.Sources()), tt.wantSources)
			}
			if job.PromptTokens()+predict > tt.numCtx {
				t.Errorf("prompt %d + answer %d exceeds num_ctx %d", job.PromptTokens(), predict, tt.numCtx)
			}
			if got := job.Sources()[0].ChunkID; got != probeFirst(t, probe, validRequest()) {
				t.Errorf("kept %s, want the best-ranked source", got)
			}
			if hasWarning(job.Warnings(), "passten nicht") != tt.wantWarning {
				t.Errorf("warnings %q", job.Warnings())
			}
		})
	}
	t.Run("a top source longer than the budget is cut at a sentence end and marked", func(t *testing.T) {
		one := newEnv(t, countingChat{newFakeChat()}, func(c *draft.Config) {
			c.MaxSources = 1
			c.Options = assist.ChatOptions{NumCtx: 32000, NumPredict: predict}
		})
		full, err := one.svc.Prepare(t.Context(), validRequest())
		if err != nil {
			t.Fatal(err)
		}
		first := full.Sources()[0]
		// 15 tokens short: dropping the last sentence (and adding the
		// mark) makes it fit.
		numCtx := full.PromptTokens() + predict - 15
		e := newEnv(t, countingChat{newFakeChat()}, func(c *draft.Config) {
			c.MaxSources = 1
			c.Options = assist.ChatOptions{NumCtx: numCtx, NumPredict: predict}
		})
		job, err := e.svc.Prepare(t.Context(), validRequest())
		if err != nil {
			t.Fatal(err)
		}
		if len(job.Sources()) != 1 {
			t.Fatalf("packed %d sources, want 1 shortened", len(job.Sources()))
		}
		got := job.Sources()[0].Text
		if !strings.HasSuffix(got, ". [gekürzt]") || !strings.HasPrefix(first.Text, strings.TrimSuffix(got, " [gekürzt]")) {
			t.Errorf("shortened source %q is not a sentence-end prefix of %q", got, first.Text)
		}
		if !hasWarning(job.Warnings(), "gekürzt") {
			t.Errorf("warnings %q", job.Warnings())
		}
	})
	t.Run("facts that alone exceed the context are too large", func(t *testing.T) {
		e := newEnv(t, countingChat{newFakeChat()}, func(c *draft.Config) {
			c.Options = assist.ChatOptions{NumCtx: 3000, NumPredict: predict}
		})
		req := validRequest()
		req.Facts = strings.Repeat("Sachverhalt. ", 400)
		_, err := e.svc.Prepare(t.Context(), req)
		if kindOf(t, err) != assist.TooLarge || !strings.Contains(assist.Message(err), "num_ctx 3000") {
			t.Errorf("err %v, want TooLarge naming num_ctx", err)
		}
	})
}

func probeFirst(t *testing.T, e env, req memo.Request) string {
	t.Helper()
	job, err := e.svc.Prepare(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return job.Sources()[0].ChunkID
}

func hasWarning(ws []string, substr string) bool {
	for _, w := range ws {
		if strings.Contains(w, substr) {
			return true
		}
	}
	return false
}

func TestRunRetriesAnIncompleteAnswerOnceThenFails(t *testing.T) {
	cut := cannedJSON[:len(cannedJSON)/2]
	tests := []struct {
		name     string
		answers  []fakeAnswer
		wantErr  bool
		wantCall int
	}{
		{"an answer cut by num_predict twice fails clearly", []fakeAnswer{{pieces: split(cut, 9), reason: "length"}, {pieces: split(cut, 9), reason: "length"}}, true, 2},
		{"invalid JSON twice fails clearly", []fakeAnswer{{pieces: []string{`{"sachverhalt":"a"} trailing`}}, {pieces: []string{`not json`}}}, true, 2},
		{"a complete JSON without all sections fails clearly", []fakeAnswer{{pieces: []string{`{"sachverhalt":"a"}`}}, {pieces: []string{`{"ergebnis":"b"}`}}}, true, 2},
		{"a cut answer followed by a complete one succeeds", []fakeAnswer{{pieces: split(cut, 9), reason: "length"}, {pieces: split(cannedJSON, 11)}}, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chat := newFakeChat(tt.answers...)
			e := newEnv(t, chat, func(c *draft.Config) { c.Options.NumPredict = 1000 })
			job, err := e.svc.Prepare(t.Context(), validRequest())
			if err != nil {
				t.Fatal(err)
			}
			var ev events
			m, err := job.Run(t.Context(), ev.emit)
			calls := chat.calls()
			if len(calls) != tt.wantCall {
				t.Fatalf("%d model calls, want %d", len(calls), tt.wantCall)
			}
			if r := calls[1].Options; r.Temperature == nil || *r.Temperature != 0 || r.NumPredict != 2000 {
				t.Errorf("retry options %+v, want temperature 0 and num_predict 2000", r)
			}
			retries := 0
			for _, w := range ev.ofType("warning") {
				if w.Kind == "retry" {
					retries++
				}
			}
			if retries != 1 {
				t.Errorf("%d retry warnings, want 1", retries)
			}
			if !tt.wantErr {
				if err != nil || m == nil || len(m.Sections) != 4 {
					t.Fatalf("err %v, memo %v", err, m)
				}
				return
			}
			if m != nil {
				t.Fatalf("a half-parsed memo was returned: %+v", m)
			}
			if kindOf(t, err) != assist.Internal || !strings.Contains(assist.Message(err), "Die Modellantwort war unvollständig") {
				t.Errorf("err %v", err)
			}
			if files := storedFiles(t, e.storeDir); len(files) != 0 {
				t.Errorf("stored %v", files)
			}
		})
	}
}

func TestRunStopsTheModelWhenTheClientGoesAway(t *testing.T) {
	chat := newFakeChat(fakeAnswer{pieces: split(cannedJSON, 2)})
	e := newEnv(t, chat, nil)
	job, err := e.svc.Prepare(t.Context(), validRequest())
	if err != nil {
		t.Fatal(err)
	}
	gone := errors.New("client disconnected")
	deltas := 0
	_, err = job.Run(t.Context(), func(ev memo.Event) error {
		if ev.Type == "delta" {
			deltas++
			if deltas == 3 {
				return gone
			}
		}
		return nil
	})
	if kindOf(t, err) != assist.Canceled || !errors.Is(err, gone) {
		t.Errorf("err %v, want Canceled wrapping the emit error", err)
	}
	if !chat.stopped || chat.delivered >= len(split(cannedJSON, 2))-1 {
		t.Errorf("generation not stopped: stopped %v after %d of %d pieces", chat.stopped, chat.delivered, len(split(cannedJSON, 2)))
	}
	if len(chat.calls()) != 1 {
		t.Errorf("%d calls: a gone client must not cause a retry", len(chat.calls()))
	}
	if files := storedFiles(t, e.storeDir); len(files) != 0 {
		t.Errorf("stored %v", files)
	}
}

func TestExtractiveMode(t *testing.T) {
	unreachable := assist.Errorf(assist.Unavailable, "ollama", "Ollama unter http://127.0.0.1:1 nicht erreichbar")
	tests := []struct {
		name        string
		chat        *fakeChat
		mod         func(*memo.Request)
		wantErr     assist.Kind
		wantWarning string
	}{
		{"asked for, it uses no model", newFakeChat(), func(r *memo.Request) { r.Extractive = true }, 0, ""},
		{"without a configured model it is the only mode", nil, nil, 0, "Kein Sprachmodell"},
		{"an unreachable model is unavailable with the reason", &fakeChat{checkErr: unreachable}, nil, assist.Unavailable, ""},
		{"an unreachable model falls back when allowed", &fakeChat{checkErr: unreachable}, func(r *memo.Request) { r.AllowExtractive = true }, 0, "nicht erreichbar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chat assist.ChatModel
			if tt.chat != nil {
				chat = tt.chat
			}
			e := newEnv(t, chat, nil)
			req := validRequest()
			req.Attachments = []string{"akte-a"}
			if tt.mod != nil {
				tt.mod(&req)
			}
			job, err := e.svc.Prepare(t.Context(), req)
			if tt.wantErr != 0 {
				if kindOf(t, err) != tt.wantErr || !strings.Contains(assist.Message(err), "nicht erreichbar") {
					t.Fatalf("err %v, want %s with the reason", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ev events
			m, err := job.Run(t.Context(), ev.emit)
			if err != nil {
				t.Fatal(err)
			}
			if m.Mode != memo.ModeExtractive || m.Model.Name != "" || m.Mark != memo.DraftMark {
				t.Errorf("mode %s model %+v mark %q", m.Mode, m.Model, m.Mark)
			}
			if tt.chat != nil && len(tt.chat.calls()) != 0 {
				t.Error("the model was called")
			}
			if tt.wantWarning != "" && !hasWarning(m.Warnings, tt.wantWarning) {
				t.Errorf("warnings %q lack %q", m.Warnings, tt.wantWarning)
			}
			sec := map[string]memo.Section{}
			for _, s := range m.Sections {
				sec[s.Key] = s
			}
			if !strings.HasPrefix(sec[memo.SectionSachverhalt].Text, req.Facts) || !strings.Contains(sec[memo.SectionSachverhalt].Text, "„"+textA+"“") {
				t.Errorf("Sachverhalt %q lacks the facts or the quoted attachment", sec[memo.SectionSachverhalt].Text)
			}
			w := sec[memo.SectionWuerdigung].Text
			for _, s := range m.Sources {
				if s.Corpus != assist.CorpusRegulations {
					continue
				}
				body := s.Text[strings.Index(s.Text, "\n")+2:]
				quote := s.Citation + " (" + s.Cite.Heading + ") [" + strconv.Itoa(s.N) + "]: „" + body + "“ [" + strconv.Itoa(s.N) + "]"
				if !strings.Contains(w, quote) {
					t.Errorf("Würdigung lacks %q:\n%s", quote, w)
				}
			}
			if !strings.Contains(sec[memo.SectionErgebnis].Text, "Bitte prüfen") || !strings.Contains(sec[memo.SectionVerfuegung].Text, "z.d.A.") {
				t.Errorf("placeholders missing: %q / %q", sec[memo.SectionErgebnis].Text, sec[memo.SectionVerfuegung].Text)
			}
			if sec[memo.SectionWuerdigung].Status != memo.StatusVerified {
				t.Errorf("Würdigung status %s, findings %+v", sec[memo.SectionWuerdigung].Status, sec[memo.SectionWuerdigung].Findings)
			}
			if diff := cmp.Diff(map[string]string{memo.SectionSachverhalt: sec[memo.SectionSachverhalt].Text, memo.SectionWuerdigung: w,
				memo.SectionErgebnis: sec[memo.SectionErgebnis].Text, memo.SectionVerfuegung: sec[memo.SectionVerfuegung].Text}, ev.deltaText()); diff != "" {
				t.Errorf("deltas (-sections +deltas):\n%s", diff)
			}
		})
	}
}

func TestRunFallsBackWhenTheModelFailsBeforeStreaming(t *testing.T) {
	down := assist.Errorf(assist.Unavailable, "ollama chat", "Ollama nicht erreichbar")
	tests := []struct {
		name  string
		allow bool
	}{
		{"with the fallback allowed the skeleton is returned", true},
		{"without it the outage is the answer", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chat := newFakeChat()
			chat.chatErr = down
			e := newEnv(t, chat, nil)
			req := validRequest()
			req.AllowExtractive = tt.allow
			job, err := e.svc.Prepare(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			var ev events
			m, err := job.Run(t.Context(), ev.emit)
			if !tt.allow {
				if kindOf(t, err) != assist.Unavailable || m != nil {
					t.Fatalf("err %v memo %v", err, m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Mode != memo.ModeExtractive || !hasWarning(m.Warnings, "Ollama nicht erreichbar") || len(ev.ofType("delta")) != 4 {
				t.Errorf("mode %s warnings %q deltas %d", m.Mode, m.Warnings, len(ev.ofType("delta")))
			}
		})
	}
}

func TestRunTwiceIsAConflict(t *testing.T) {
	e := newEnv(t, nil, nil)
	job, err := e.svc.Prepare(t.Context(), validRequest())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.Run(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := job.Run(context.Background(), nil); kindOf(t, err) != assist.Conflict {
		t.Errorf("second run: %v", err)
	}
}
