package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"amtsassist/assist/ollama/ollamatest"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

const memoJSON = `{"aktenzeichen":"Az. 20-4711/2026","betreff":"Gebühr für eine erweiterte Meldebescheinigung","type":"aktenvermerk",
"facts":"Herr Muster beantragte am 3. November 2026 eine erweiterte Meldebescheinigung und bat um Gebührenbefreiung, weil er Wohngeld bezieht.",
"instructions":"Ist eine Gebühr zu erheben, und in welcher Höhe?","authority":"Stadt Musterstadt","author":"Frau Beispiel"%s}`

type sseEvent struct {
	Name string
	Data map[string]any
}

// postSSE posts a memo request with Accept: text/event-stream and calls
// fn for every event until the stream ends or fn returns false.
func postSSE(t *testing.T, ctx context.Context, m *Main, body string, fn func(sseEvent) bool) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+m.Addr+"/v1/memos", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data); err != nil {
				t.Fatalf("event %s: data is not JSON: %v", ev.Name, err)
			}
		case line == "":
			if ev.Name == "" {
				t.Fatal("event without a name")
			}
			if !fn(ev) {
				return resp
			}
			ev = sseEvent{}
		}
	}
	return resp
}

// shortPrompts writes per-authority prompt overrides for the demo
// authority that are a few hundred bytes long: the tiny test model reads
// every byte as a token on a slow CPU, and these tests are about the
// mechanics (streaming, cancellation), not the wording of the prompts,
// which prompts/ tests with golden files.
func shortPrompts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sub := filepath.Join(dir, "stadt-musterstadt")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "system.tmpl"), []byte("Antworte als JSON: {{line .TypeTitle}}."), 0o644)
	os.WriteFile(filepath.Join(sub, "aktenvermerk.tmpl"), []byte("Betreff: {{line .Betreff}}\n{{range .Sources}}[{{.N}}] {{line .Citation}}\n{{end}}"), 0o644)
	return dir
}

func TestMemoStreamsOverSSEWithTheRealModel(t *testing.T) {
	srv := ollamatest.StartShared(t)
	m := start(t, "--demo", "--ollama-url", srv.URL, "--chat-model", srv.LongModel, "--prompts-dir", shortPrompts(t),
		"--memo-num-predict", "150", "--memo-temperature", "0", "--memo-seed", "7")

	var events []sseEvent
	resp := postSSE(t, context.Background(), m, strings.Replace(memoJSON, "%s", "", 1), func(ev sseEvent) bool {
		events = append(events, ev)
		return true
	})
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	if len(events) == 0 {
		t.Fatal("no events")
	}
	last := events[len(events)-1]
	if last.Name != "done" && last.Name != "error" {
		t.Fatalf("the stream does not end with done or error: %+v", last)
	}
	deltas := 0
	for i, ev := range events {
		switch ev.Name {
		case "delta":
			deltas++
			switch ev.Data["section"] {
			case "sachverhalt", "wuerdigung", "ergebnis", "verfuegung":
			default:
				t.Errorf("delta for an unknown section: %v", ev.Data)
			}
		case "citation", "warning":
		case "done", "error":
			if i != len(events)-1 {
				t.Errorf("terminal event %s before the end", ev.Name)
			}
		default:
			t.Errorf("unknown event %q", ev.Name)
		}
	}
	if deltas == 0 {
		t.Errorf("no delta events before %s: %v", last.Name, last.Data)
	}
	if last.Name == "error" {
		// The tiny model writes gibberish; a cut or invalid answer must end
		// in a clear error (after the retry), never in a half-parsed memo.
		if msg, _ := last.Data["message"].(string); msg == "" {
			t.Fatalf("error event without a message: %v", last.Data)
		}
		t.Logf("draft ended with an error event (tiny model): %v", last.Data)
		return
	}
	id, _ := last.Data["memo_id"].(string)
	if id == "" || last.Data["verification"] == nil {
		t.Fatalf("done without memo id or verification: %v", last.Data)
	}
	checkStoredMemo(t, m, id)
}

// checkStoredMemo fetches a memo as JSON, Markdown and DOCX.
func checkStoredMemo(t *testing.T, m *Main, id string) {
	t.Helper()
	var memo struct {
		ID   string
		Mark string
		Mode string
	}
	if code := get(t, m, "/v1/memos/"+id, &memo); code != 200 || memo.ID != id || memo.Mark == "" {
		t.Fatalf("GET memo: %d %+v", code, memo)
	}
	for _, ext := range []string{".md", ".docx"} {
		resp, err := http.Get("http://" + m.Addr + "/v1/memos/" + id + ext)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", ext, resp.StatusCode, b)
		}
		switch ext {
		case ".md":
			if !strings.Contains(string(b), "KI-Entwurf – nicht geprüft") || !strings.Contains(string(b), "Sachverhalt") {
				t.Fatalf("markdown lacks mark or sections:\n%s", b)
			}
		case ".docx":
			if _, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err != nil {
				t.Fatalf("docx is not a zip: %v", err)
			}
		}
	}
}

func TestExtractiveMemoOverJSON(t *testing.T) {
	m := start(t, "--demo")
	resp, err := http.Post("http://"+m.Addr+"/v1/memos", "application/json", strings.NewReader(strings.Replace(memoJSON, "%s", `,"extractive":true`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	var memo struct {
		ID       string
		Mode     string
		Sources  []struct{ Citation string }
		Sections []struct{ Key, Text string }
	}
	json.NewDecoder(resp.Body).Decode(&memo)
	resp.Body.Close()
	if resp.StatusCode != 201 || memo.Mode != "extractive" || len(memo.Sections) != 4 {
		t.Fatalf("%d %+v", resp.StatusCode, memo)
	}
	found := false
	for _, s := range memo.Sources {
		found = found || strings.Contains(s.Citation, "§ 3") && strings.Contains(s.Citation, "VwGebS")
	}
	if !found {
		t.Errorf("the fee norm (§ 3 VwGebS) is not among the sources: %+v", memo.Sources)
	}
	checkStoredMemo(t, m, memo.ID)
}

func TestMissingChatModelIs503OrExtractiveWhenAllowed(t *testing.T) {
	srv := ollamatest.StartShared(t)
	m := start(t, "--demo", "--ollama-url", srv.URL, "--chat-model", "kein-solches-modell")
	resp, err := http.Post("http://"+m.Addr+"/v1/memos", "application/json", strings.NewReader(strings.Replace(memoJSON, "%s", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	var e apiError
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(e.Error.Message, "kein-solches-modell") || !strings.Contains(e.Error.Message, "ollama pull") {
		t.Fatalf("%d %+v", resp.StatusCode, e)
	}
	resp, err = http.Post("http://"+m.Addr+"/v1/memos", "application/json", strings.NewReader(strings.Replace(memoJSON, "%s", `,"allow_extractive":true`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	var memo struct {
		Mode     string
		Warnings []string
	}
	json.NewDecoder(resp.Body).Decode(&memo)
	resp.Body.Close()
	if resp.StatusCode != 201 || memo.Mode != "extractive" || len(memo.Warnings) == 0 {
		t.Fatalf("fallback: %d %+v", resp.StatusCode, memo)
	}
}

func TestBadMemoRequestsGet4xxAndStoreNothing(t *testing.T) {
	m := start(t, "--demo")
	// A case document of another authority.
	code, e := upload(t, m, "fremd.md", []byte("# Fremde Akte\n\nVertraulicher Inhalt des Landratsamts.\n"), map[string]string{"corpus": "cases", "authority": "Landratsamt Anderswo"})
	if code != 200 {
		t.Fatalf("upload: %d %+v", code, e)
	}
	var docs struct {
		Hits []struct {
			DocID string `json:"doc_id"`
		}
	}
	get(t, m, "/v1/search?q=Vertraulicher+Inhalt&corpus=cases", &docs)
	if len(docs.Hits) != 1 {
		t.Fatalf("uploaded document not found: %+v", docs)
	}
	foreign := docs.Hits[0].DocID
	big := strings.Repeat("Sachverhalt ", 100_000)
	for _, tc := range []struct {
		name   string
		body   string
		status int
		msg    string
	}{
		{"missing Betreff", `{"aktenzeichen":"Az. 1","type":"aktenvermerk","authority":"Stadt Musterstadt"}`, 400, "Betreff"},
		{"unknown memo type", `{"aktenzeichen":"Az. 1","betreff":"X","type":"brief","authority":"Stadt Musterstadt"}`, 400, "aktenvermerk"},
		{"an attachment of another authority", `{"aktenzeichen":"Az. 1","betreff":"X","type":"aktenvermerk","authority":"Stadt Musterstadt","attachments":["` + foreign + `"]}`, 404, foreign},
		{"oversized facts", `{"aktenzeichen":"Az. 1","betreff":"X","type":"aktenvermerk","authority":"Stadt Musterstadt","facts":"` + big + `"}`, 413, ""},
		{"a misspelt field", `{"aktenzeichen":"Az. 1","betref":"X","type":"aktenvermerk","authority":"Stadt Musterstadt"}`, 400, "betref"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post("http://"+m.Addr+"/v1/memos", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			var e apiError
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(e.Error.Message, tc.msg) {
				t.Fatalf("got %d %+v, want %d mentioning %q", resp.StatusCode, e, tc.status, tc.msg)
			}
		})
	}
	stored, _ := filepath.Glob(filepath.Join(m.Config.DataDir, "memos", "*"))
	for _, f := range stored {
		if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
			t.Errorf("a rejected request stored %s", f)
		}
	}
}

// chatDurations returns the durations Ollama logged for its /api/chat
// requests, in order. Ollama logs each request when it ends.
func chatDurations(t *testing.T, log string) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, m := range ginChat.FindAllStringSubmatch(log, -1) {
		d, err := time.ParseDuration(strings.TrimSpace(m[1]))
		if err != nil {
			t.Fatalf("cannot parse Ollama's duration %q: %v", m[1], err)
		}
		out = append(out, d)
	}
	return out
}

var ginChat = regexp.MustCompile(`\|\s*([0-9.]+[µnm]?s|[0-9]+m[0-9.]+s)\s*\|[^|]*\|\s*POST\s+"/api/chat"`)

// TestClientDisconnectStopsGeneration shows that a client going away stops
// generation on the model server. Ollama logs each /api/chat request when
// its handler returns, so the moment the log line appears is the moment
// generation ended. A draft dropped by its client at the first delta must
// end within a fraction of a second of the disconnect; for comparison the
// test first lets a draft with the same settings run to its end and
// measures how long generation went on after its first delta.
func TestClientDisconnectStopsGeneration(t *testing.T) {
	srv := ollamatest.Start(t) // own server: its log holds only this test's requests
	m := start(t, "--demo", "--ollama-url", srv.URL, "--chat-model", srv.LongModel, "--prompts-dir", shortPrompts(t),
		"--memo-num-predict", "150", "--memo-temperature", "1", "--memo-seed", "11")
	body := strings.Replace(memoJSON, "%s", "", 1)

	var firstDelta, finished time.Time
	resp := postSSE(t, context.Background(), m, body, func(ev sseEvent) bool {
		if ev.Name == "delta" && firstDelta.IsZero() {
			firstDelta = time.Now()
		}
		return true
	})
	resp.Body.Close()
	finished = time.Now()
	full := chatDurations(t, srv.Log())
	if len(full) == 0 || firstDelta.IsZero() {
		t.Fatal("the uncancelled draft produced no chat request or no delta")
	}
	tail := finished.Sub(firstDelta) // how long generation goes on after the first delta

	ctx, cancel := context.WithCancel(context.Background())
	var cancelledAt time.Time
	resp = postSSE(t, ctx, m, body, func(ev sseEvent) bool {
		if ev.Name == "delta" {
			cancelledAt = time.Now()
			cancel()
			return false
		}
		return ev.Name != "done" && ev.Name != "error"
	})
	resp.Body.Close()
	if cancelledAt.IsZero() {
		t.Fatal("no delta to cancel at")
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if d := chatDurations(t, srv.Log()); len(d) > len(full) {
			ended := time.Since(cancelledAt)
			t.Logf("uncancelled: generation went on %v after its first delta; cancelled: Ollama ended the request %v after the disconnect",
				tail.Round(time.Millisecond), ended.Round(time.Millisecond))
			if ended > 500*time.Millisecond {
				t.Fatalf("Ollama ended the request only %v after the client disconnected", ended)
			}
			if tail > 2*time.Second && ended > tail/4 {
				t.Fatalf("cancelled generation ran %v, an uncancelled one %v", ended, tail)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("Ollama still generating 15 s after the client disconnected (an uncancelled draft generated %v after its first delta)", tail)
}

// postMemoMultipart sends a memo request with attached files.
func postMemoMultipart(t *testing.T, m *Main, request string, files map[string]string) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("request", request)
	for name, text := range files {
		fw, _ := w.CreateFormFile("file", name)
		fw.Write([]byte(text))
	}
	w.Close()
	resp, err := http.Post("http://"+m.Addr+"/v1/memos", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestAttachmentsOfTwoCasesDoNotReplaceEachOther(t *testing.T) {
	m := start(t, "--demo")
	req := func(az, facts string) string { // pretty-printed, with line breaks, as clients send it
		return "{\n  \"aktenzeichen\": \"" + az + "\",\n  \"betreff\": \"Antrag\",\n  \"type\": \"aktenvermerk\",\n  \"authority\": \"Stadt Musterstadt\",\n  \"extractive\": true,\n  \"facts\": \"" + facts + "\"\n}"
	}
	code, a := postMemoMultipart(t, m, req("Az. 1/2026", "Fall eins"), map[string]string{"antrag.txt": "Antrag von Frau Erste auf Gebührenbefreiung."})
	if code != 201 {
		t.Fatalf("first memo: %d %v", code, a)
	}
	code, b := postMemoMultipart(t, m, req("Az. 2/2026", "Fall zwei"), map[string]string{"antrag.txt": "Antrag von Herrn Zweit auf Akteneinsicht."})
	if code != 201 {
		t.Fatalf("second memo: %d %v", code, b)
	}
	// A refused request stores none of its files.
	code, _ = postMemoMultipart(t, m, `{"aktenzeichen":"Az. 3/2026","type":"aktenvermerk","authority":"Stadt Musterstadt"}`, map[string]string{"antrag.txt": "Dritter Antrag"})
	if code != 400 {
		t.Fatalf("request without Betreff: %d", code)
	}
	for _, q := range []string{"Frau+Erste", "Herrn+Zweit"} {
		var h hits
		if get(t, m, "/v1/search?corpus=cases&q="+q, &h); len(h.Hits) != 1 {
			t.Errorf("attachment %s lost: %+v", q, h.Hits)
		}
	}
	var h hits
	if get(t, m, "/v1/search?corpus=cases&q=Dritter", &h); len(h.Hits) != 0 {
		t.Errorf("a refused request left its attachment in the index: %+v", h.Hits)
	}
}

// TestAHangingModelServerDoesNotStallReadiness points the chat model at a
// server that accepts connections and never answers: the readiness probe
// must still answer within its own budget.
func TestAHangingModelServerDoesNotStallReadiness(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold the connection open, say nothing
		}
	}()
	m := start(t, "--ollama-url", "http://"+ln.Addr().String(), "--chat-model", "stumm", "--chat-timeout", "60s")
	begin := time.Now()
	var e apiError
	code := get(t, m, "/readyz", &e)
	if took := time.Since(begin); code != 503 || took > 8*time.Second {
		t.Fatalf("readyz: %d after %v: %+v", code, took, e)
	}
}
