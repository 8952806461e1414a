// Package adapters turns the payloads ticket systems send into
// triage.Ticket values, so that the triage service reads one shape whatever
// system calls it. Three payload kinds are understood:
//
// "generic" is Amtsassist's own webhook shape (the JSON of triage.Ticket).
// Unknown fields are refused, so a misspelt field is an error, not silently
// lost text:
//
//	{"id": "4711", "subject": "Drucker druckt nicht", "body": "Seit heute ...",
//	 "desk": "it-servicedesk", "language": "de", "created": "2026-11-02T08:15:00Z",
//	 "requester": "m.muster@example.org", "meta": {"channel": "email"}}
//
// "znuny" is a Znuny/OTRS GenericInterface ticket, either a TicketGet
// response ({"Ticket": [{..., "Article": [...]}]}) or a TicketCreate
// request ({"Ticket": {...}, "Article": {...}}):
//
//	{"Ticket": [{"TicketID": 42, "TicketNumber": "2026110210000017",
//	  "Title": "VPN bricht ab", "Queue": "IT::Netz", "Priority": "3 normal",
//	  "State": "new", "Created": "2026-11-02 09:12:44", "CustomerUserID": "k.beispiel",
//	  "Article": [{"Subject": "VPN bricht ab", "Body": "<p>Seit dem Update ...</p>",
//	    "ContentType": "text/html; charset=utf-8", "From": "k.beispiel@example.org",
//	    "SenderType": "customer"}]}]}
//
// "zammad" is a Zammad webhook payload: a ticket with the triggering
// article and/or a list of articles:
//
//	{"ticket": {"id": 17, "number": "31017", "title": "Passwort abgelaufen",
//	  "group": {"name": "Servicedesk"}, "priority": {"name": "2 normal"},
//	  "state": {"name": "new"}, "created_at": "2026-11-02T10:01:02Z",
//	  "customer": {"email": "a.beispiel@example.org"}},
//	 "article": {"subject": "Passwort abgelaufen", "body": "<div>Hallo ...</div>",
//	  "content_type": "text/html", "from": "a.beispiel@example.org", "sender": "Customer"}}
//
// Full examples are in testdata/. The text of a Znuny or Zammad ticket is
// its title and the first article the customer wrote (internal notes never:
// they may be our own earlier suggestion). HTML bodies are reduced to text;
// script and style content never reaches the output. The ticket system's
// queue/group, priority, state and number go to Ticket.Meta ("queue",
// "priority", "state", "number"), where they serve as the agent's labels in
// feedback and training, never as input to the classifier.
package adapters

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/assist/triage"
)

// Payload kinds accepted by Parse.
const (
	KindGeneric = "generic"
	KindZnuny   = "znuny"
	KindZammad  = "zammad"
)

// Kinds lists the payload kinds Parse accepts.
var Kinds = []string{KindGeneric, KindZnuny, KindZammad}

// Limits on a payload and the ticket it yields. A ticket text over the
// limit is refused rather than cut, so that nobody triages half a ticket
// without knowing it.
const (
	MaxPayloadBytes  = 4 << 20   // one JSON payload, HTML included
	MaxSubjectBytes  = 2 << 10   // the subject after trimming
	MaxBodyTextBytes = 256 << 10 // the body after HTML stripping
	MaxFieldBytes    = 1 << 10   // id, desk, language, requester and each meta value
	MaxMetaEntries   = 50
	maxArticles      = 1000
)

const op = "parse ticket payload"

// Parse reads one payload of the given kind into a ticket. The desk comes
// from the payload (generic only) or defaultDesk. It returns Invalid, with
// a message naming the problem, for an unknown kind, malformed JSON, a field
// of the wrong type, a ticket without subject and body, or without a desk;
// and TooLarge for a payload or text over the limits above.
func Parse(kind string, data []byte, defaultDesk string) (triage.Ticket, error) {
	if len(data) > MaxPayloadBytes {
		return triage.Ticket{}, assist.Errorf(assist.TooLarge, op, "%s payload is %d bytes; the limit is %d", kind, len(data), MaxPayloadBytes)
	}
	var (
		t   triage.Ticket
		err error
	)
	switch kind {
	case KindGeneric:
		t, err = parseGeneric(data)
	case KindZnuny:
		t, err = parseZnuny(data)
	case KindZammad:
		t, err = parseZammad(data)
	default:
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, "unknown payload format %.100q (valid: %s)", kind, strings.Join(Kinds, ", "))
	}
	if err != nil {
		return triage.Ticket{}, err
	}
	if t.Desk == "" {
		t.Desk = defaultDesk
	}
	return finish(kind, t)
}

// finish cleans and checks every field, whatever the payload kind.
func finish(kind string, t triage.Ticket) (triage.Ticket, error) {
	var err error
	for _, f := range []struct {
		name string
		v    *string
	}{{"id", &t.ID}, {"desk", &t.Desk}, {"language", &t.Language}, {"requester", &t.Requester}} {
		if *f.v, err = cleanField(kind, f.name, *f.v, MaxFieldBytes); err != nil {
			return triage.Ticket{}, err
		}
	}
	t.Subject = cleanText(t.Subject)
	t.Body = cleanText(t.Body)
	// A subject is one line: ticket systems that fold long subjects leave
	// line breaks that would otherwise split it.
	t.Subject = strings.Join(strings.Fields(t.Subject), " ")
	if len(t.Subject) > MaxSubjectBytes {
		return triage.Ticket{}, assist.Errorf(assist.TooLarge, op, "%s ticket: subject is %d bytes; the limit is %d", kind, len(t.Subject), MaxSubjectBytes)
	}
	if len(t.Body) > MaxBodyTextBytes {
		return triage.Ticket{}, assist.Errorf(assist.TooLarge, op, "%s ticket: body text is %d bytes; the limit is %d", kind, len(t.Body), MaxBodyTextBytes)
	}
	if t.Subject == "" && t.Body == "" {
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, "%s ticket has no text: subject and body are empty", kind)
	}
	if t.Desk == "" {
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, "%s ticket has no desk: the payload names none and no default desk was given", kind)
	}
	if len(t.Meta) > MaxMetaEntries {
		return triage.Ticket{}, assist.Errorf(assist.Invalid, op, "%s ticket: meta has %d entries; the limit is %d", kind, len(t.Meta), MaxMetaEntries)
	}
	for k, v := range t.Meta {
		if _, err := cleanField(kind, "meta key", k, 100); err != nil {
			return triage.Ticket{}, err
		}
		if k == "" {
			return triage.Ticket{}, assist.Errorf(assist.Invalid, op, "%s ticket: meta has an empty key", kind)
		}
		cv, err := cleanField(kind, fmt.Sprintf("meta %.50q", k), v, MaxFieldBytes)
		if err != nil {
			return triage.Ticket{}, err
		}
		if cv == "" {
			delete(t.Meta, k)
			continue
		}
		t.Meta[k] = cv
	}
	if len(t.Meta) == 0 {
		t.Meta = nil
	}
	return t, nil
}

// cleanField trims a one-line field and refuses control characters and
// overlong values.
func cleanField(kind, name, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > max {
		return "", assist.Errorf(assist.Invalid, op, "%s ticket: %s is longer than %d bytes", kind, name, max)
	}
	if !utf8.ValidString(v) {
		return "", assist.Errorf(assist.Invalid, op, "%s ticket: %s is not valid UTF-8", kind, name)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", assist.Errorf(assist.Invalid, op, "%s ticket: %s contains control characters", kind, name)
	}
	return v, nil
}

// cleanText normalises line ends, drops control characters other than
// newline and tab, and trims. Invalid UTF-8 cannot occur: encoding/json
// replaces it with U+FFFD.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, s)
	return strings.TrimSpace(s)
}

// decode unmarshals one JSON value into v and turns decoder errors into
// Invalid errors that say where the payload is wrong.
func decode(kind string, data []byte, v any, strict bool) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return assist.Errorf(assist.Invalid, op, "%s payload is empty", kind)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(kind, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return assist.Errorf(assist.Invalid, op, "%s payload: trailing data after the JSON value", kind)
	}
	return nil
}

func jsonError(kind string, err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("%s payload is not valid JSON: %s at byte %d", kind, syn.Error(), syn.Offset), Err: err}
	case errors.As(err, &typ):
		field := typ.Field
		switch {
		case field == "":
			field = "the payload"
		case field == "meta" && typ.Type.Kind() == reflect.String:
			// Map values carry no key in the decoder's error.
			return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("%s payload: meta values must be strings, not JSON %ss", kind, typ.Value), Err: err}
		}
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("%s payload: %.100s must be %s, not a JSON %s", kind, field, jsonType(typ.Type.String()), typ.Value), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("%s payload is not valid JSON: it ends early", kind), Err: err}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("%s payload: %.120s", kind, strings.TrimPrefix(err.Error(), "json: ")), Err: err}
	}
	return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("%s payload is not valid JSON", kind), Err: err}
}

// jsonType names a Go type the way a JSON author thinks of it.
func jsonType(goType string) string {
	switch goType {
	case "adapters.flexString":
		return "a string or a number"
	case "adapters.named":
		return `a string or an object with a "name"`
	}
	switch {
	case goType == "string", goType == "time.Time":
		return "a string"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "adapters."), strings.HasPrefix(goType, "triage."), strings.HasPrefix(goType, "struct"):
		return "an object"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	}
	return "of type " + goType
}

// --- generic -----------------------------------------------------------

// genericTicket is triage.Ticket with Created as a string, so that an empty
// or malformed date gets a message of its own.
type genericTicket struct {
	ID        flexString        `json:"id"`
	Subject   string            `json:"subject"`
	Body      string            `json:"body"`
	Desk      string            `json:"desk"`
	Language  string            `json:"language"`
	Created   string            `json:"created"`
	Requester string            `json:"requester"`
	Meta      map[string]string `json:"meta"`
}

func parseGeneric(data []byte) (triage.Ticket, error) {
	var g genericTicket
	if err := decode(KindGeneric, data, &g, true); err != nil {
		return triage.Ticket{}, err
	}
	t := triage.Ticket{ID: string(g.ID), Subject: g.Subject, Body: g.Body, Desk: g.Desk,
		Language: g.Language, Requester: g.Requester, Meta: g.Meta}
	var err error
	if t.Created, err = parseTime(KindGeneric, "created", g.Created); err != nil {
		return triage.Ticket{}, err
	}
	return t, nil
}

// --- shared helpers ----------------------------------------------------

// flexString accepts a JSON string or number: ticket systems send ids as
// either, depending on version and endpoint.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeOf(*f)}
	}
	*f = flexString(n.String())
	return nil
}

// jsonKind names the JSON type of a raw value for error messages.
func jsonKind(b []byte) string {
	switch b[0] {
	case '[':
		return "array"
	case '{':
		return "object"
	case 't', 'f':
		return "bool"
	case '"':
		return "string"
	}
	return "number"
}

// oneOrMany accepts a single object or an array of them: Znuny's TicketGet
// answers arrays, TicketCreate takes single objects.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '[' {
		var many []T
		if err := json.Unmarshal(b, &many); err != nil {
			return err
		}
		*o = many
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*o = []T{one}
	return nil
}

// timeLayouts are the date forms ticket systems send: RFC 3339 (Zammad,
// generic) and Znuny's local "YYYY-MM-DD hh:mm:ss".
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

func parseTime(kind, field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, assist.Errorf(assist.Invalid, op, "%s payload: %s %.40q is not a date (use RFC 3339, e.g. 2026-11-02T08:15:00Z)", kind, field, s)
}

func setMeta(m map[string]string, k, v string) map[string]string {
	v = strings.TrimSpace(v)
	if v == "" {
		return m
	}
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}
