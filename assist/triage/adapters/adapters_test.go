package adapters_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/assist/triage/adapters"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseReadsTheDocumentedExamples(t *testing.T) {
	tests := []struct {
		name, kind, file, desk string
		want                   triage.Ticket
	}{
		{
			name: "a generic webhook keeps every field", kind: "generic", file: "generic.json", desk: "fallback",
			want: triage.Ticket{ID: "4711", Subject: "Drucker im 2. OG druckt nicht",
				Body: "Seit heute Morgen druckt der Drucker im Raum 2.14 nicht mehr.\nFehlermeldung: Papierstau, obwohl kein Papier klemmt.",
				Desk: "it-servicedesk", Language: "de", Created: time.Date(2026, 11, 2, 8, 15, 0, 0, time.UTC),
				Requester: "m.muster@example.org", Meta: map[string]string{"channel": "email"}},
		},
		{
			name: "a Znuny TicketGet answer yields the customer article as text, without HTML", kind: "znuny", file: "znuny-ticketget.json", desk: "it",
			want: triage.Ticket{ID: "42", Subject: "VPN bricht nach dem Update ab",
				Body: "Guten Tag,\nseit dem Update gestern bricht die VPN-Verbindung alle 5 Minuten ab.\nMit freundlichen Grüßen\nKarin Beispiel",
				Desk: "it", Created: time.Date(2026, 11, 2, 9, 12, 44, 0, time.UTC), Requester: "k.beispiel",
				Meta: map[string]string{"number": "2026110210000017", "queue": "IT::Netz", "priority": "3 normal", "state": "new", "type": "Incident", "source": "znuny"}},
		},
		{
			name: "a Znuny TicketCreate request reads the article beside the ticket", kind: "znuny", file: "znuny-ticketcreate.json", desk: "it",
			want: triage.Ticket{Subject: "Zugang zum Fachverfahren gesperrt",
				Body: "Mein Konto im Fachverfahren ist nach drei Fehlversuchen gesperrt.",
				Desk: "it", Requester: "s.sachbearbeiter",
				Meta: map[string]string{"queue": "Fachverfahren", "priority": "4 high", "state": "new", "source": "znuny"}},
		},
		{
			name: "a Zammad webhook with expanded references and an HTML article", kind: "zammad", file: "zammad-webhook.json", desk: "it",
			want: triage.Ticket{ID: "17", Subject: "Passwort abgelaufen",
				Body: "Hallo,\nmein Windows-Passwort ist abgelaufen und ich komme nicht mehr an den Rechner.\n\nDanke!",
				Desk: "it", Created: time.Date(2026, 11, 2, 10, 1, 2, 123e6, time.UTC), Requester: "a.beispiel@example.org",
				Meta: map[string]string{"number": "31017", "queue": "Servicedesk", "priority": "2 normal", "state": "new", "source": "zammad"}},
		},
		{
			name: "a Zammad payload with articles takes the customer's, never the internal note or the agent's reply", kind: "zammad", file: "zammad-articles.json", desk: "it",
			want: triage.Ticket{ID: "18", Subject: "Monitor flackert", Body: "Der zweite Monitor flackert seit Montag.",
				Desk: "it", Created: time.Date(2026, 11, 3, 7, 30, 0, 0, time.UTC), Requester: "b.nutzer@example.org",
				Meta: map[string]string{"number": "31018", "group_id": "3", "priority": "3 high", "state": "open", "source": "zammad"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := adapters.Parse(tt.kind, readTestdata(t, tt.file), tt.desk)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ticket (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRefusesBadPayloadsPrecisely(t *testing.T) {
	big := `{"subject":"x","body":"` + strings.Repeat("a", adapters.MaxBodyTextBytes+1) + `"}`
	tests := []struct {
		name, kind, payload, desk string
		kindWant                  assist.Kind
		msg                       string
	}{
		{"an unknown format names the valid ones", "otrs", `{}`, "d", assist.Invalid, `unknown payload format "otrs" (valid: generic, znuny, zammad)`},
		{"an empty payload says so", "generic", "  ", "d", assist.Invalid, "generic payload is empty"},
		{"broken JSON names the byte", "generic", `{"subject": "x",}`, "d", assist.Invalid, "not valid JSON"},
		{"cut-off JSON says it ends early", "zammad", `{"ticket": {"title": "x"`, "d", assist.Invalid, "ends early"},
		{"trailing data is refused", "generic", `{"subject":"x"} {"subject":"y"}`, "d", assist.Invalid, "trailing data"},
		{"a misspelt generic field is named", "generic", `{"subjekt":"x"}`, "d", assist.Invalid, `unknown field "subjekt"`},
		{"a field of the wrong type is named", "generic", `{"subject": 5}`, "d", assist.Invalid, "subject must be a string"},
		{"meta values must be strings", "generic", `{"subject":"x","meta":{"a":1}}`, "d", assist.Invalid, "meta values must be strings, not JSON numbers"},
		{"a Znuny id that is an array is named", "znuny", `{"Ticket":{"TicketID":[1],"Title":"x"}}`, "d", assist.Invalid, "Ticket.TicketID must be a string or a number, not a JSON array"},
		{"a Zammad group that is a number is named", "zammad", `{"ticket":{"title":"x","group":5}}`, "d", assist.Invalid, `ticket.group must be a string or an object with a "name", not a JSON number`},
		{"Zammad articles that are an object are named", "zammad", `{"ticket":{"title":"x"},"articles":{"body":"x"}}`, "d", assist.Invalid, "articles must be an array, not a JSON object"},
		{"a Znuny article body that is a number is named", "znuny", `{"Ticket":{"Title":"x","Article":[{"Body":5}]}}`, "d", assist.Invalid, "Ticket.Article.Body must be a string"},
		{"a ticket without text is refused", "generic", `{"subject":"  ","body":"\n"}`, "d", assist.Invalid, "generic ticket has no text: subject and body are empty"},
		{"a Zammad ticket whose only article is internal has no text", "zammad", `{"ticket":{"id":1},"article":{"body":"x","internal":true}}`, "d", assist.Invalid, "no text"},
		{"a ticket without any desk is refused", "generic", `{"subject":"x"}`, "", assist.Invalid, "no desk"},
		{"a malformed date is named", "generic", `{"subject":"x","created":"gestern"}`, "d", assist.Invalid, `created "gestern" is not a date`},
		{"a Znuny payload without a ticket says so", "znuny", `{"Article":{"Body":"x"}}`, "d", assist.Invalid, `no "Ticket" object`},
		{"a Znuny payload with two tickets says so", "znuny", `{"Ticket":[{"Title":"a"},{"Title":"b"}]}`, "d", assist.Invalid, "holds 2 tickets"},
		{"a Zammad payload without a ticket says so", "zammad", `{"article":{"body":"x"}}`, "d", assist.Invalid, `no "ticket" object`},
		{"a JSON array is not a ticket", "generic", `[{"subject":"x"}]`, "d", assist.Invalid, "must be an object"},
		{"control characters in the id are refused", "generic", `{"id":"a\u0000b","subject":"x"}`, "d", assist.Invalid, "id contains control characters"},
		{"an overlong body is TooLarge", "generic", big, "d", assist.TooLarge, "body text is"},
		{"a payload over the limit is TooLarge", "zammad", strings.Repeat(" ", adapters.MaxPayloadBytes+1), "d", assist.TooLarge, "the limit is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := adapters.Parse(tt.kind, []byte(tt.payload), tt.desk)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if k := assist.KindOf(err); k != tt.kindWant {
				t.Errorf("kind = %v, want %v (%v)", k, tt.kindWant, err)
			}
			if msg := assist.Message(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not contain %q", msg, tt.msg)
			}
		})
	}
}

func TestParseFillsTheDefaultDeskOnlyWhenThePayloadHasNone(t *testing.T) {
	got, err := adapters.Parse("generic", []byte(`{"subject":"x","desk":"own"}`), "default")
	if err != nil || got.Desk != "own" {
		t.Errorf("desk = %q, %v; want own", got.Desk, err)
	}
	got, err = adapters.Parse("generic", []byte(`{"subject":"x"}`), "default")
	if err != nil || got.Desk != "default" {
		t.Errorf("desk = %q, %v; want default", got.Desk, err)
	}
}

func TestStripHTMLDropsScriptsAndKeepsText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"entities are decoded", "<p>Gr&uuml;&szlig;e &amp; Dank</p>", "Grüße & Dank"},
		{"scripts and styles vanish", "<p>a</p><script>steal()</script><style>x{}</style><p>b</p>", "a\nb"},
		{"an unclosed script swallows the rest, never leaks it", "<p>a</p><script>evil(); <p>b</p>", "a"},
		{"uppercase and attributed scripts vanish", `x<SCRIPT type="text/javascript">evil()</SCRIPT>y`, "xy"},
		{"nested skipped elements close in order", "<noscript><style>s</style>n</noscript>t", "t"},
		{"broken tags do not become markup", "a <b b", "a"},
		{"line breaks and list items become lines", "eins<br>zwei<ul><li>drei</li><li>vier</li></ul>", "eins\nzwei\ndrei\nvier"},
		{"comments vanish", "a<!-- <script>x</script> -->b", "ab"},
		{"plain text stays", "kein HTML", "kein HTML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := adapters.StripHTML(tt.in); got != tt.want {
				t.Errorf("StripHTML(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"generic.json", "znuny-ticketget.json", "znuny-ticketcreate.json", "zammad-webhook.json", "zammad-articles.json"} {
		kind, _, _ := strings.Cut(name, "-")
		kind = strings.TrimSuffix(kind, ".json")
		f.Add(kind, readTestdata(f, name))
	}
	f.Add("zammad", []byte(`{"ticket":{"id":1e400},"article":{"content_type":"text/html","body":"<script>x"}}`))
	f.Add("znuny", []byte(`{"Ticket":{"TicketID":[1]}}`))
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		got, err := adapters.Parse(kind, data, "desk")
		if err != nil {
			if k := assist.KindOf(err); k != assist.Invalid && k != assist.TooLarge {
				t.Fatalf("kind %v: %v", k, err)
			}
			if assist.Message(err) == "" {
				t.Fatal("error without message")
			}
			return
		}
		if got.Subject == "" && got.Body == "" {
			t.Fatal("accepted a ticket without text")
		}
		if got.Desk == "" {
			t.Fatal("accepted a ticket without desk")
		}
	})
}

func FuzzStripHTML(f *testing.F) {
	f.Add("<p>a</p><script>SECRET</script>")
	f.Add("<svg><script>SECRET</script></svg>")
	f.Add("<scr<script>ipt>SECRET</script>")
	f.Fuzz(func(t *testing.T, in string) {
		// Whatever surrounds it, text inside a script element never
		// reaches the output.
		out := adapters.StripHTML("<div>" + in + "</div><script>SECRET_PAYLOAD</script>")
		if strings.Contains(out, "SECRET_PAYLOAD") && !strings.Contains(in, "SECRET_PAYLOAD") {
			t.Fatalf("script content leaked: %q", out)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, tt := range []struct{ kind, file string }{{"generic", "generic.json"}, {"znuny", "znuny-ticketget.json"}, {"zammad", "zammad-webhook.json"}} {
		b.Run(tt.kind, func(b *testing.B) {
			data := readTestdata(b, tt.file)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := adapters.Parse(tt.kind, data, "it"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
