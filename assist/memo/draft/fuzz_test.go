package draft_test

import (
	"sync"
	"testing"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/assist/memo"
)

// FuzzPrepare feeds hostile request fields to Prepare and Run (extractive,
// so no model is needed): they must never panic, and every refusal must be
// an *assist.Error of a request kind with a message.
func FuzzPrepare(f *testing.F) {
	f.Add("WG-1", "Wohngeld", "aktenvermerk", "Miete 700 Euro", "Höhe?", "akte-a", "2026-03-10")
	f.Add("", "\x00", "../../x", "\xff\xfe", "§§§ [99] „", "../akte-b", "2026-02-30")
	f.Add("a\nb", "„Zitat“ [1]", "GESPRAECHSVERMERK", "", "", "", "")
	f.Fuzz(func(t *testing.T, az, betreff, typ, facts, instr, att, date string) {
		e := newEnv(t, nil, nil)
		req := memo.Request{Aktenzeichen: az, Betreff: betreff, Type: memo.Type(typ), Facts: facts, Instructions: instr, Authority: authA, Date: date}
		if att != "" {
			req.Attachments = []string{att}
		}
		job, err := e.svc.Prepare(t.Context(), req)
		if err != nil {
			switch assist.KindOf(err) {
			case assist.Invalid, assist.TooLarge, assist.NotFound:
			default:
				t.Fatalf("kind %s for a bad request: %v", assist.KindOf(err), err)
			}
			if msg := assist.Message(err); msg == "" || !utf8.ValidString(msg) {
				t.Fatalf("message %q", msg)
			}
			return
		}
		m, err := job.Run(t.Context(), nil)
		if err != nil {
			t.Fatalf("run after a successful prepare: %v", err)
		}
		if len(m.Sections) != 4 {
			t.Fatalf("%d sections", len(m.Sections))
		}
	})
}

func TestServiceIsSafeForConcurrentUse(t *testing.T) {
	chat := newFakeChat()
	for range 16 {
		chat.answers = append(chat.answers, fakeAnswer{pieces: split(cannedJSON, 5)})
	}
	e := newEnv(t, chat, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := validRequest()
			req.Extractive = i%2 == 0
			job, err := e.svc.Prepare(t.Context(), req)
			if err == nil {
				_, err = job.Run(t.Context(), nil)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if files := storedFiles(t, e.storeDir); len(files) != 16 {
		t.Errorf("%d memos stored, want 16", len(files))
	}
}
