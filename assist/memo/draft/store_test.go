package draft_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/draft"
)

func TestStoreKeepsMemosAndRejectsBadIDs(t *testing.T) {
	dir := t.TempDir()
	st, err := draft.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := &memo.Memo{ID: draft.NewID(), CreatedAt: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC), Mode: memo.ModeLLM,
		Header: memo.Header{Behoerde: authA, Betreff: "B"}, Request: validRequest(), Mark: memo.DraftMark,
		Model: assist.ModelInfo{Name: "m", Digest: "sha256:d"}, PromptHash: "abc", PromptName: "aktenvermerk",
		Sections: []memo.Section{{Key: memo.SectionSachverhalt, Title: "Sachverhalt", Text: "x", Status: memo.StatusUnverified}}}
	t.Run("a stored memo comes back equal", func(t *testing.T) {
		if err := st.Put(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(t.Context(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("(-put +get):\n%s", diff)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) != 1 || filepath.Base(files[0]) != m.ID+".json" {
			t.Errorf("store holds %v, want only the memo file (no temp files)", files)
		}
	})
	t.Run("ids are random and URL-safe", func(t *testing.T) {
		seen := map[string]bool{}
		for range 1000 {
			id := draft.NewID()
			if seen[id] || !draft.ValidID(id) || strings.ContainsAny(id, "/+=.") {
				t.Fatalf("bad or repeated id %q", id)
			}
			seen[id] = true
		}
	})
	for _, id := range []string{"", "..", "../../etc/passwd", "AAAAAAAAAAAAAAAAAAAAA/", strings.Repeat("A", 23), "AAAAAAAAAAAAAAAAAAAA.A", draft.NewID()} {
		t.Run("get of "+strconvQ(id)+" is not found", func(t *testing.T) {
			_, err := st.Get(t.Context(), id)
			if kindOf(t, err) != assist.NotFound || !strings.Contains(assist.Message(err), "nicht gefunden") {
				t.Errorf("err %v", err)
			}
		})
	}
	t.Run("a memo without a valid id is not written", func(t *testing.T) {
		if err := st.Put(t.Context(), &memo.Memo{ID: "../x"}); kindOf(t, err) != assist.Invalid {
			t.Errorf("err %v", err)
		}
	})
	t.Run("a damaged file is an internal error, not a memo", func(t *testing.T) {
		id := draft.NewID()
		if err := os.WriteFile(filepath.Join(dir, id+".json"), []byte(`{"id":`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Get(t.Context(), id); kindOf(t, err) != assist.Internal {
			t.Errorf("err %v", err)
		}
	})
	t.Run("an empty directory name is invalid", func(t *testing.T) {
		if _, err := draft.OpenStore(""); kindOf(t, err) != assist.Invalid {
			t.Errorf("err %v", err)
		}
	})
}

func strconvQ(s string) string { return "\"" + s + "\"" }
