package draft

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// collect feeds pieces to a fresh fieldStream and returns the text per key
// and whether every reported piece was valid UTF-8.
func collect(t *testing.T, pieces []string) map[string]string {
	t.Helper()
	var fs fieldStream
	got := map[string]string{}
	for _, p := range pieces {
		fs.feed(p, func(key, text string) {
			if !utf8.ValidString(text) {
				t.Errorf("piece %q for key %q is not valid UTF-8", text, key)
			}
			if text == "" {
				t.Errorf("empty piece reported for key %q", key)
			}
			got[key] += text
		})
	}
	return got
}

// want decodes doc with encoding/json and keeps the top-level strings.
func want(t *testing.T, doc string) map[string]string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("test document is not JSON: %v", err)
	}
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok && s != "" {
			out[k] = s
		}
	}
	return out
}

func TestFieldStreamMatchesEncodingJSONAtEverySplitPoint(t *testing.T) {
	docs := []struct{ name, doc string }{
		{"plain strings", `{"sachverhalt":"Der Antrag ging ein.","wuerdigung":"Nach § 3 WoGG [1].","ergebnis":"Ja.","verfuegung":"z.d.A."}`},
		{"escaped quote and backslash", `{"wuerdigung":"Er sagte \"nein\" und C:\\pfad"}`},
		{"newline and tab escapes", `{"verfuegung":"1. Vermerk\n2. Wv.\t am\r\n3. z.d.A."}`},
		{"unicode escapes", `{"sachverhalt":"Gr\u00fc\u00dfe an Frau M\u00FCller, \u201eZitat\u201c"}`},
		{"surrogate pair escape", `{"ergebnis":"ok \ud83d\ude00 fertig"}`},
		{"raw multi-byte characters", `{"sachverhalt":"Müller wohnt in Görlitz – „Zitat“ € 😀"}`},
		{"slash and control escapes", `{"ergebnis":"a\/b\bc\fd"}`},
		{"whitespace between tokens", "{ \"sachverhalt\" :\n \"x y\" ,\n\t\"ergebnis\":\"z\" }"},
		{"nested values are skipped", `{"meta":{"sachverhalt":"not me","n":[1,"no",{"x":"no"}]},"sachverhalt":"me","zahl":-1.5e3,"ok":true,"nil":null,"ergebnis":"too"}`},
		{"empty strings", `{"sachverhalt":"","wuerdigung":"w"}`},
		{"unpaired surrogate", `{"ergebnis":"a\ud800b"}`},
	}
	for _, d := range docs {
		t.Run(d.name+" decodes like encoding/json for every split", func(t *testing.T) {
			w := want(t, d.doc)
			if diff := cmp.Diff(w, collect(t, []string{d.doc})); diff != "" {
				t.Fatalf("whole document (-want +got):\n%s", diff)
			}
			for i := 0; i <= len(d.doc); i++ {
				for k := i; k <= len(d.doc); k++ {
					got := collect(t, []string{d.doc[:i], d.doc[i:k], d.doc[k:]})
					if diff := cmp.Diff(w, got); diff != "" {
						t.Fatalf("split at %d and %d (-want +got):\n%s", i, k, diff)
					}
				}
			}
		})
	}
	t.Run("byte by byte feeding decodes the same", func(t *testing.T) {
		doc := `{"sachverhalt":"Gr\u00fc\u00dfe \"x\"\n 😀 ü","ergebnis":"\ud83d\ude00"}`
		pieces := strings.Split(doc, "")
		var bytes []string
		for i := 0; i < len(doc); i++ {
			bytes = append(bytes, doc[i:i+1])
		}
		_ = pieces
		if diff := cmp.Diff(want(t, doc), collect(t, bytes)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	})
}

func TestFieldStreamReportsOnlyCompletePiecesOfTruncatedAnswers(t *testing.T) {
	tests := []struct {
		name, doc string
		want      map[string]string
	}{
		{"a cut inside a string reports the text so far", `{"sachverhalt":"Der Antr`, map[string]string{"sachverhalt": "Der Antr"}},
		{"a cut inside an escape holds the escape back", `{"sachverhalt":"a\`, map[string]string{"sachverhalt": "a"}},
		{"a cut inside a unicode escape holds it back", `{"sachverhalt":"a\u00f`, map[string]string{"sachverhalt": "a"}},
		{"a cut inside a UTF-8 character holds it back", "{\"sachverhalt\":\"a\xc3", map[string]string{"sachverhalt": "a"}},
		{"garbage before the object reports nothing", `xx{"sachverhalt":"a"}`, map[string]string{}},
		{"garbage after a value stops reporting", `{"sachverhalt":"a" x "ergebnis":"b"}`, map[string]string{"sachverhalt": "a"}},
		{"a mismatched bracket stops reporting", `{"a":[1}, "sachverhalt":"x"}`, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, collect(t, []string{tt.doc})); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzFieldStream(f *testing.F) {
	f.Add(`{"sachverhalt":"Gr\u00fc\u00dfe \"x\"\n","ergebnis":"\ud83d\ude00"}`, 5)
	f.Add(`{"a":[{"b":"c"}],"sachverhalt":"ü"}`, 3)
	f.Fuzz(func(t *testing.T, doc string, split int) {
		if split < 0 || split > len(doc) {
			split = len(doc) / 2
		}
		var fs fieldStream
		got := map[string]string{}
		for _, p := range []string{doc[:split], doc[split:]} {
			fs.feed(p, func(key, text string) { got[key] += text })
		}
		var m map[string]any
		if json.Unmarshal([]byte(doc), &m) != nil || !utf8.ValidString(doc) {
			return // only valid documents have a defined answer
		}
		for k, v := range m {
			if s, ok := v.(string); ok && s != "" && !strings.HasSuffix(got[k], s) { // a repeated key: the last value wins
				t.Fatalf("key %q: got %q, want %q", k, got[k], s)
			}
		}
	})
}
