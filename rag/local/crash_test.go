package local_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"amtsassist/assist"
	"amtsassist/rag"
	"amtsassist/rag/local"
)

// Flags of the child process of TestCrashSafety; empty in normal runs.
var (
	crashChildDir   = flag.String("crash-child-dir", "", "internal: directory the crash-test child writes to")
	crashChildStart = flag.Int("crash-child-start", 0, "internal: first batch the crash-test child writes")
)

const (
	crashDocPool = 24 // documents are rewritten often, so replacements are crashed too
	crashDim     = 64
)

// crashBatch is batch i of the crash workload; parent and child derive it
// from i alone, so the parent knows what the child was writing when killed.
// Every seventh batch deletes documents instead of writing them.
type crashBatch struct {
	put    []rag.DocumentData
	delete []string
}

func makeCrashBatch(i int) crashBatch {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	if i%7 == 6 {
		return crashBatch{delete: []string{fmt.Sprintf("doc-%02d", r.IntN(crashDocPool)), fmt.Sprintf("doc-%02d", r.IntN(crashDocPool))}}
	}
	var b crashBatch
	seen := map[string]bool{}
	for range 4 {
		id := fmt.Sprintf("doc-%02d", r.IntN(crashDocPool))
		if seen[id] {
			continue
		}
		seen[id] = true
		d := rag.DocumentData{Info: rag.DocInfo{ID: id, Corpus: assist.CorpusCases, Hash: fmt.Sprintf("batch-%d", i)}}
		n := 1 + r.IntN(40)
		for j := range n {
			vec := make([]float32, crashDim)
			for k := range vec {
				vec[k] = r.Float32() - 0.5
			}
			d.Chunks = append(d.Chunks, assist.Chunk{
				ID: fmt.Sprintf("%s#%d", id, j), DocID: id, Corpus: assist.CorpusCases, Ordinal: j,
				Text:   fmt.Sprintf("Fassung %d, Abschnitt %d von %s: %s", i, j, id, strings.Repeat("Verwaltungsverfahren Bescheid Widerspruch ", 8)),
				Vector: vec,
			})
		}
		d.Info.Chunks = n
		d.Info.Embedded = true
		b.put = append(b.put, d)
	}
	return b
}

// crashState replays batches start..end-1 onto state.
func crashState(state map[string]rag.DocumentData, start, end int) map[string]rag.DocumentData {
	out := make(map[string]rag.DocumentData, len(state))
	for k, v := range state {
		out[k] = v
	}
	for i := start; i < end; i++ {
		b := makeCrashBatch(i)
		for _, id := range b.delete {
			delete(out, id)
		}
		for _, d := range b.put {
			out[d.Info.ID] = d
		}
	}
	return out
}

// TestCrashChild is the child process of TestCrashSafety: it writes batches
// until it is killed and reports each batch after it is committed.
func TestCrashChild(t *testing.T) {
	if *crashChildDir == "" {
		t.Skip("helper process of TestCrashSafety; runs only when started by it")
	}
	ix, err := local.Open(*crashChildDir, local.Config{LockTimeout: 10 * time.Second}, discard)
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute) // never outlive a dead parent for long
	for i := *crashChildStart; time.Now().Before(deadline); i++ {
		b := makeCrashBatch(i)
		if b.delete != nil {
			_, err = ix.DeleteDocuments(ctx, rag.Filter{DocID: b.delete})
		} else {
			err = ix.PutDocuments(ctx, b.put)
		}
		if err != nil {
			fmt.Println("batch failed:", err)
			os.Exit(2)
		}
		fmt.Printf("committed %d\n", i)
	}
	os.Exit(3)
}

// TestCrashSafety kills a writing process with SIGKILL at random moments
// and checks that the index then holds exactly the state after the last
// reported batch or after the one in flight: nothing reported is lost and
// no batch is half applied.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts child processes; skipped with -short")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	state := map[string]rag.DocumentData{}
	next := 0 // first batch not known to be in the index
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-crash-child-dir="+dir, "-crash-child-start="+strconv.Itoa(next))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 2 + r.IntN(12)
		last := next - 1
		lines := bufio.NewScanner(out)
		killed := false
		for lines.Scan() {
			line := lines.Text()
			n, ok := strings.CutPrefix(line, "committed ")
			if !ok {
				if strings.Contains(line, "failed") {
					t.Fatalf("round %d: child said %q", round, line)
				}
				continue // e.g. a note of the test framework
			}
			if last, err = strconv.Atoi(n); err != nil {
				t.Fatalf("round %d: child said %q", round, line)
			}
			if !killed && last-next+1 >= killAfter {
				// Kill somewhere inside one of the next batches.
				time.Sleep(time.Duration(r.IntN(15000)) * time.Microsecond)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		err = cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child ended by itself: %v", round, err)
		}

		reported := crashState(state, next, last+1)
		inFlight := crashState(reported, last+1, last+2)
		ix, err := local.Open(dir, local.Config{}, discard)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		got := readCrashState(t, ix)
		switch {
		case cmp.Diff(want(reported), got, cmpopts.EquateEmpty()) == "":
			state, next = reported, last+1
			t.Logf("round %d: killed after batch %d was reported; index holds exactly that state", round, last)
		case cmp.Diff(want(inFlight), got, cmpopts.EquateEmpty()) == "":
			state, next = inFlight, last+2
			t.Logf("round %d: killed after batch %d committed but before it was reported", round, last+1)
		default:
			t.Fatalf("round %d: index after kill matches neither the state after batch %d nor after %d (-reported +got):\n%s",
				round, last, last+1, cmp.Diff(want(reported), got, cmpopts.EquateEmpty()))
		}
		// The reopened index is usable, and its search agrees with its store.
		hits, err := ix.Search(context.Background(), rag.Query{Text: "Bescheid", K: 1000})
		if err != nil {
			t.Fatalf("round %d: search after reopen: %v", round, err)
		}
		if n := countChunks(state); len(hits) != n {
			t.Errorf("round %d: search after reopen found %d chunks, want %d", round, len(hits), n)
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashView is what the crash test compares: documents with their chunks'
// texts and vectors.
type crashView map[string]crashDoc

type crashDoc struct {
	Info   rag.DocInfo
	Texts  []string
	Vector [][]float32
}

func want(state map[string]rag.DocumentData) crashView {
	v := crashView{}
	for id, d := range state {
		cd := crashDoc{Info: d.Info}
		for _, c := range d.Chunks {
			cd.Texts = append(cd.Texts, c.Text)
			cd.Vector = append(cd.Vector, c.Vector)
		}
		v[id] = cd
	}
	return v
}

func readCrashState(t *testing.T, ix rag.Index) crashView {
	t.Helper()
	ctx := context.Background()
	docs, err := ix.Documents(ctx, rag.Filter{})
	if err != nil {
		t.Fatalf("Documents: %v", err)
	}
	v := crashView{}
	total := 0
	for _, info := range docs {
		cd := crashDoc{Info: info}
		for j := range info.Chunks {
			c, err := ix.Chunk(ctx, fmt.Sprintf("%s#%d", info.ID, j))
			if err != nil {
				t.Fatalf("document %s lists %d chunks, chunk %d: %v", info.ID, info.Chunks, j, err)
			}
			cd.Texts = append(cd.Texts, c.Text)
			cd.Vector = append(cd.Vector, c.Vector)
		}
		total += info.Chunks
		v[info.ID] = cd
	}
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Chunks != total || st.Vectors != total {
		t.Errorf("Stats: %d chunks, %d vectors; the manifest lists %d chunks", st.Chunks, st.Vectors, total)
	}
	return v
}

func countChunks(state map[string]rag.DocumentData) int {
	n := 0
	for _, d := range state {
		n += len(d.Chunks)
	}
	return n
}
