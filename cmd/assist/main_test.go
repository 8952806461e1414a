package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the assist binary for the crash test: with
// ASSIST_TEST_MAIN set it runs main() on its arguments.
func TestMain(m *testing.M) {
	if os.Getenv("ASSIST_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

const sharedData = "../../../shared/data"

func needData(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(sharedData, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not present (%v): skipping", p, err)
	}
	return p
}

// assist runs the CLI in-process with a private data directory.
func runAssist(t *testing.T, dataDir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == "AMTSASSIST_DATA_DIR" {
			return dataDir
		}
		return ""
	}
	code = run(context.Background(), args, &out, &errb, env)
	return out.String(), errb.String(), code
}

type searchOut struct {
	Hits []struct {
		DocID    string  `json:"doc_id"`
		ChunkID  string  `json:"chunk_id"`
		Citation string  `json:"citation"`
		Page     int     `json:"page"`
		Score    float64 `json:"score"`
		Text     string  `json:"text"`
	} `json:"hits"`
}

func search(t *testing.T, dataDir string, args ...string) searchOut {
	t.Helper()
	out, errOut, code := runAssist(t, dataDir, append([]string{"search", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("search %v: exit %d: %s", args, code, errOut)
	}
	var s searchOut
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("search output is not JSON: %v\n%s", err, out)
	}
	return s
}

var docsField = regexp.MustCompile(`documents=(\d+)`)

var summary = regexp.MustCompile(`documents: (\d+) \(new (\d+), changed (\d+), unchanged (\d+)\)\s+chunks written: (\d+)`)

func TestIngestLawsIsIdempotentAndCitesTheRightParagraph(t *testing.T) {
	federal, saxony := needData(t, "laws/federal"), needData(t, "laws/saxony")
	data := t.TempDir()

	out, errOut, code := runAssist(t, data, "ingest", "--quiet", federal, saxony)
	if code != 0 {
		t.Fatalf("first ingest: exit %d\n%s\n%s", code, out, errOut)
	}
	m := summary.FindStringSubmatch(out)
	if m == nil || m[2] == "0" {
		t.Fatalf("first ingest wrote nothing or printed no summary:\n%s", out)
	}
	if !strings.Contains(errOut, "lexical search only") {
		t.Errorf("ingest without an embedder does not say so; stderr: %s", errOut)
	}

	out, _, code = runAssist(t, data, "ingest", "--quiet", federal, saxony)
	m2 := summary.FindStringSubmatch(out)
	if code != 0 || m2 == nil {
		t.Fatalf("second ingest: exit %d\n%s", code, out)
	}
	if m2[2] != "0" || m2[3] != "0" || m2[5] != "0" || m2[4] != m[1] {
		t.Fatalf("second ingest should change nothing; first %q, second %q", m[0], m2[0])
	}

	s := search(t, data, "-k", "3", "Höhe des Wohngeldes")
	found := false
	for _, h := range s.Hits {
		if strings.HasPrefix(h.Citation, "§ 19") && strings.HasSuffix(h.Citation, "WoGG") {
			found = true
		}
	}
	if !found {
		t.Fatalf("§ 19 WoGG not in the top 3 for 'Höhe des Wohngeldes': %+v", s.Hits)
	}

	st, _, _ := runAssist(t, data, "stats", "--json")
	var stats struct{ Documents, Chunks int }
	json.Unmarshal([]byte(st), &stats)
	if stats.Documents < 17 || stats.Chunks < 500 {
		t.Fatalf("stats: %s", st)
	}
}

func TestBadInputIsReportedPerFileAndLosesNothing(t *testing.T) {
	data := t.TempDir()
	dir := t.TempDir()
	good := filepath.Join(dir, "vermerk.md")
	os.WriteFile(good, []byte("# Vermerk\n\nDer Antrag auf Wohngeld vom 3. März wurde vollständig eingereicht. Az. 32-0815/2024.\n"), 0o644)
	if out, errOut, code := runAssist(t, data, "ingest", "--quiet", good); code != 0 {
		t.Fatalf("good file: exit %d\n%s%s", code, out, errOut)
	}

	real := needData(t, "pdf/bgbl/bgbl-1_2024_17")
	var pdfPath string
	filepath.Walk(real, func(p string, info os.FileInfo, err error) error {
		if strings.HasSuffix(p, ".pdf") && pdfPath == "" {
			pdfPath = p
		}
		return nil
	})
	whole, _ := os.ReadFile(pdfPath)

	bad := map[string][]byte{
		"random.pdf":    bytes.Repeat([]byte{0x13, 0x37, 0xfe, 0x00, 0x42}, 500),
		"truncated.pdf": whole[:len(whole)/3],
		"bomb.xml": []byte(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
			`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><dokumente><norm>&lol3;</norm></dokumente>`),
		"empty.txt": {},
	}
	var paths []string
	for name, b := range bad {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		paths = append(paths, p)
	}
	csv := filepath.Join(dir, "tickets.csv")
	os.WriteFile(csv, []byte("title,text\nDrucker defekt,Der Drucker druckt nicht\n"), 0o644)

	for _, p := range paths {
		out, errOut, code := runAssist(t, data, "ingest", "--quiet", p)
		if code != 1 || !strings.Contains(out, "FAILED") || !strings.Contains(out, p) {
			t.Errorf("%s: exit %d, want 1 with a FAILED line naming the file\n%s%s", filepath.Base(p), code, out, errOut)
		}
	}
	out, _, code := runAssist(t, data, "ingest", "--quiet", "--columns", "subject=title,body=beschreibung", csv)
	if code != 1 || !strings.Contains(out, "beschreibung") {
		t.Errorf("CSV with a missing mapped column: exit %d, want the column named\n%s", code, out)
	}

	s := search(t, data, "Wohngeld Antrag")
	if len(s.Hits) == 0 || !strings.Contains(s.Hits[0].Text, "32-0815/2024") {
		t.Fatalf("the earlier document is no longer found: %+v", s.Hits)
	}
}

func TestExtractSeparatesPagesWithFormFeeds(t *testing.T) {
	p := needData(t, "pdf/plenarprotokoll/16002.pdf")
	out, errOut, code := runAssist(t, t.TempDir(), "extract", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "\f") + 1; n != 28 {
		t.Fatalf("got %d pages, want 28", n)
	}
	if !strings.Contains(out, "Bundestag") {
		t.Fatalf("no text extracted")
	}
}

// TestKilledIngestLeavesAConsistentIndex kills a real ingest process with
// SIGKILL in the middle, then checks that the index opens, that every source
// the process had reported as indexed is present, and that a second ingest
// completes the rest.
func TestKilledIngestLeavesAConsistentIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	federal := needData(t, "laws/federal")
	tickets := needData(t, "tickets")
	data := t.TempDir()
	cmd := exec.Command(os.Args[0], "ingest", "--quiet", "--log-level", "debug", "--ingest-workers", "1", federal, tickets)
	cmd.Env = append(os.Environ(), "ASSIST_TEST_MAIN=1", "AMTSASSIST_DATA_DIR="+data)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reported []string
	sc := bufio.NewScanner(stderr)
	deadline := time.After(2 * time.Minute)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break wait
			}
			if strings.Contains(l, "source indexed") {
				reported = append(reported, l)
				if len(reported) == 4 {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("ingest did not report progress in time")
		}
	}
	cmd.Wait()
	if len(reported) < 4 {
		t.Fatalf("child finished before it could be killed (%d sources reported)", len(reported))
	}

	out, errOut, code := runAssist(t, data, "stats", "--json")
	if code != 0 {
		t.Fatalf("index unusable after kill: %s", errOut)
	}
	var st struct{ Documents int }
	json.Unmarshal([]byte(out), &st)
	acked := 0
	for _, l := range reported {
		if m := docsField.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			acked += n
		}
	}
	if acked == 0 || st.Documents < acked {
		t.Fatalf("the child acknowledged %d documents, the index holds %d: %s", acked, st.Documents, out)
	}
	out, errOut, code = runAssist(t, data, "ingest", "--quiet", federal, tickets)
	m := summary.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("re-ingest after kill: exit %d\n%s%s", code, out, errOut)
	}
	if m[4] == "0" {
		t.Fatalf("re-ingest found nothing unchanged, so nothing survived the kill: %s", m[0])
	}
}
