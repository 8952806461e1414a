package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/assist/triage/adapters"

	"github.com/gin-gonic/gin"
)

// Triager suggests labels, similar tickets and answers for incoming
// tickets and records agents' feedback. cmd wires it to the triage
// service.
type Triager interface {
	// Triage returns the suggestion for one ticket. It returns Invalid for
	// a ticket without text, NotFound for a desk it does not know,
	// Unavailable when the classifier of the desk is not trained, and the
	// context's kind when the caller goes away.
	Triage(ctx context.Context, t triage.Ticket) (triage.Suggestion, error)
	// TriageBatch triages tickets in order. It returns one suggestion per
	// ticket and, when any failed, one error per ticket (nil for the ones
	// that succeeded), with the kinds Triage returns.
	TriageBatch(ctx context.Context, ts []triage.Ticket) ([]triage.Suggestion, []error)
	// RecordFeedback stores an agent's verdict durably. It returns Invalid
	// for a label outside the desk's taxonomy and NotFound for an unknown
	// desk.
	RecordFeedback(ctx context.Context, fb triage.Feedback) error
}

// MaxTriageBatch is the most tickets one batch request may hold; bigger
// backlogs are sent in several requests, so that one request never holds a
// worker for minutes.
const MaxTriageBatch = 100

// Limits on the free texts of a feedback record.
const (
	maxLabelBytes    = 200
	maxFeedbackText  = adapters.MaxBodyTextBytes
	maxTicketIDBytes = adapters.MaxFieldBytes
)

// answerVerdicts are the valid values of Feedback.Answer.
var answerVerdicts = []string{"used", "edited", "rejected"}

// triageAPI holds the triage handlers and their metrics; it keeps the
// feature's state out of Server.
type triageAPI struct {
	s *Server
	m *triageMetrics
}

// routeTriage registers the triage routes on v1 and their metrics.
func (s *Server) routeTriage(v1 *gin.RouterGroup) error {
	m, err := newTriageMetrics(s.cfg.Registry)
	if err != nil {
		return err
	}
	a := &triageAPI{s: s, m: m}
	v1.POST("/tickets/triage", a.triage)
	v1.POST("/tickets/triage/batch", a.batch)
	v1.POST("/tickets/:id/feedback", a.feedback)
	return nil
}

func (a *triageAPI) requireTriager(op string) error {
	if a.s.cfg.Triager == nil {
		return assist.Errorf(assist.Unavailable, op, "ticket triage is not configured on this server")
	}
	return nil
}

// triage answers POST /v1/tickets/triage: one webhook payload in
// (?format=generic|znuny|zammad), one suggestion out.
func (a *triageAPI) triage(c *gin.Context) {
	const op = "triage ticket"
	t, note, err := a.readTicket(c, op)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	sug, err := a.s.cfg.Triager.Triage(c.Request.Context(), t)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	sug = a.finish(t, sug, note)
	c.JSON(http.StatusOK, sug)
}

// readTicket checks the query and headers before reading the body, then
// parses the payload.
func (a *triageAPI) readTicket(c *gin.Context, op string) (triage.Ticket, bool, error) {
	if err := a.requireTriager(op); err != nil {
		return triage.Ticket{}, false, err
	}
	f := newFields(op, "format", "desk", "note")
	if err := f.addQuery(c.Request); err != nil {
		return triage.Ticket{}, false, err
	}
	kind := f.get("format")
	if kind == "" {
		kind = adapters.KindGeneric
	}
	if !slices.Contains(adapters.Kinds, kind) {
		return triage.Ticket{}, false, assist.Errorf(assist.Invalid, op, "unknown format %.100q (valid: %s)", kind, strings.Join(adapters.Kinds, ", "))
	}
	note, err := a.noteParam(op, f)
	if err != nil {
		return triage.Ticket{}, false, err
	}
	_, data, err := a.readJSONBody(c, op, "application/json")
	if err != nil {
		return triage.Ticket{}, false, err
	}
	t, err := adapters.Parse(kind, data, f.get("desk"))
	return t, note, err
}

func (a *triageAPI) noteParam(op string, f *fields) (bool, error) {
	v := f.get("note")
	if v == "" {
		return false, nil
	}
	note, err := strconv.ParseBool(v)
	if err != nil {
		return false, assist.Errorf(assist.Invalid, op, "note must be true or false, not %.40q", v)
	}
	if note && a.s.cfg.Note == nil {
		return false, assist.Errorf(assist.Unavailable, op, "internal notes are not configured on this server")
	}
	return note, nil
}

// readJSONBody checks the media type against accepted, then reads the body
// within MaxBodyBytes. It returns the media type and the body.
func (a *triageAPI) readJSONBody(c *gin.Context, op string, accepted ...string) (string, []byte, error) {
	mt, params, err := mediaType(c.Request, op)
	if err != nil {
		return "", nil, err
	}
	if !slices.Contains(accepted, mt) {
		return "", nil, unsupported(op, "Content-Type %.100s is not accepted here (send %s)", mt, strings.Join(accepted, " or "))
	}
	if err := checkCharset(op, params); err != nil {
		return "", nil, err
	}
	if err := limitBody(c, op, a.s.cfg.MaxBodyBytes); err != nil {
		return "", nil, err
	}
	data, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return "", nil, bodyError(op, err, "the request body")
	}
	return mt, data, nil
}

// finish fills what the response promises whatever the triager left out:
// the ticket id, the note when asked, and empty lists instead of null, so
// that clients can iterate without checks.
func (a *triageAPI) finish(t triage.Ticket, sug triage.Suggestion, note bool) triage.Suggestion {
	if sug.TicketID == "" {
		sug.TicketID = t.ID
	}
	for _, p := range []*triage.Prediction{&sug.Category, &sug.Priority} {
		if p.Alternatives == nil {
			p.Alternatives = []triage.Alternative{}
		}
	}
	if sug.Similar == nil {
		sug.Similar = []triage.Similar{}
	}
	if sug.Answer.Sources == nil {
		sug.Answer.Sources = []string{}
	}
	if sug.Answer.Mode == "" {
		sug.Answer.Mode = "none"
	}
	if sug.Models == nil {
		sug.Models = map[string]string{}
	}
	if note {
		sug.Note = a.s.cfg.Note(sug)
	}
	a.m.suggested(t.Desk)
	return sug
}

// BatchResult is the answer to POST /v1/tickets/triage/batch. The status
// is 200 when every ticket was triaged and 207 (Multi-Status) when at least
// one was not; each item carries its own status. Problems of the request
// as a whole (malformed JSON, too many tickets, a body over the limit) are
// answered with a plain error instead.
type BatchResult struct {
	Results   []BatchItem `json:"results"`
	Succeeded int         `json:"succeeded"`
	Failed    int         `json:"failed"`
}

// BatchItem is the outcome for one ticket of a batch, at its position in
// the request (Index, from 0).
type BatchItem struct {
	Index      int                `json:"index"`
	Status     int                `json:"status"`
	TicketID   string             `json:"ticket_id,omitempty"`
	Suggestion *triage.Suggestion `json:"suggestion,omitempty"`
	Error      *ErrorView         `json:"error,omitempty"`
}

// jsonlTypes are the media types of a JSON Lines batch.
var jsonlTypes = []string{"application/x-ndjson", "application/jsonl", "application/x-jsonl", "application/jsonlines", "application/x-jsonlines"}

// batch answers POST /v1/tickets/triage/batch: a JSON array or JSON Lines
// of generic tickets.
func (a *triageAPI) batch(c *gin.Context) {
	const op = "triage batch"
	if err := a.requireTriager(op); err != nil {
		writeError(c, err, nil)
		return
	}
	f := newFields(op, "desk", "note")
	if err := f.addQuery(c.Request); err != nil {
		writeError(c, err, nil)
		return
	}
	note, err := a.noteParam(op, f)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	mt, data, err := a.readJSONBody(c, op, append([]string{"application/json"}, jsonlTypes...)...)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	var raws []json.RawMessage
	if mt == "application/json" {
		raws, err = splitArray(op, data)
	} else {
		raws, err = splitLines(op, data)
	}
	if err != nil {
		writeError(c, err, nil)
		return
	}

	ctx := c.Request.Context()
	res := BatchResult{Results: make([]BatchItem, len(raws))}
	var (
		tickets []triage.Ticket
		at      []int // position in the request of tickets[i]
	)
	for i, raw := range raws {
		res.Results[i].Index = i
		t, err := adapters.Parse(adapters.KindGeneric, raw, f.get("desk"))
		if err != nil {
			// The position leads the message, so that a client logging
			// only messages still finds the ticket.
			a.itemError(ctx, &res.Results[i], &assist.Error{Op: op, Kind: assist.KindOf(err), Msg: fmt.Sprintf("ticket %d: %s", i, assist.Message(err)), Err: err})
			continue
		}
		res.Results[i].TicketID = t.ID
		tickets = append(tickets, t)
		at = append(at, i)
	}
	if len(tickets) > 0 {
		sugs, errs := a.s.cfg.Triager.TriageBatch(ctx, tickets)
		if len(sugs) != len(tickets) || (errs != nil && len(errs) != len(tickets)) {
			writeError(c, assist.Errorf(assist.Internal, op, "the triager answered %d suggestions and %d errors for %d tickets", len(sugs), len(errs), len(tickets)), nil)
			return
		}
		for j, t := range tickets {
			item := &res.Results[at[j]]
			if errs != nil && errs[j] != nil {
				a.itemError(ctx, item, errs[j])
				continue
			}
			sug := a.finish(t, sugs[j], note)
			item.Status = http.StatusOK
			item.Suggestion = &sug
		}
	}
	for _, it := range res.Results {
		if it.Error != nil {
			res.Failed++
		} else {
			res.Succeeded++
		}
	}
	status := http.StatusOK
	if res.Failed > 0 {
		status = http.StatusMultiStatus
	}
	c.JSON(status, res)
}

// itemError records a failed item: its status and public error. Server-side
// failures are logged, as writeError would for a whole request.
func (a *triageAPI) itemError(ctx context.Context, item *BatchItem, err error) {
	kind, msg := publicError(err)
	item.Status = StatusOf(err)
	item.Error = &ErrorView{Kind: kind, Message: msg, RequestID: RequestID(ctx)}
	if item.Status >= 500 {
		a.s.log.ErrorContext(ctx, "triage batch item failed", "index", item.Index, "err", err, "request_id", RequestID(ctx))
	}
}

// splitArray splits a JSON array into its elements, refusing anything but
// a non-empty array of at most MaxTriageBatch items.
func splitArray(op string, data []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "empty body: send a JSON array of tickets")
	}
	if trimmed[0] != '[' {
		return nil, assist.Errorf(assist.Invalid, op, "the body must be a JSON array of tickets (or JSON Lines with Content-Type application/x-ndjson)")
	}
	var raws []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&raws); err != nil {
		return nil, jsonError(op, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, assist.Errorf(assist.Invalid, op, "trailing data after the JSON array")
	}
	return raws, checkBatchSize(op, len(raws))
}

// splitLines splits JSON Lines; blank lines are skipped, a malformed line
// becomes that item's error.
func splitLines(op string, data []byte) ([]json.RawMessage, error) {
	var raws []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(raws) == MaxTriageBatch {
			return nil, checkBatchSize(op, MaxTriageBatch+1)
		}
		raws = append(raws, json.RawMessage(bytes.Clone(line)))
	}
	if err := sc.Err(); err != nil {
		return nil, bodyError(op, err, "the JSON Lines body")
	}
	return raws, checkBatchSize(op, len(raws))
}

func checkBatchSize(op string, n int) error {
	switch {
	case n == 0:
		return assist.Errorf(assist.Invalid, op, "the batch holds no tickets")
	case n > MaxTriageBatch:
		return assist.Errorf(assist.TooLarge, op, "the batch holds more than %d tickets; send the backlog in several requests", MaxTriageBatch)
	}
	return nil
}

// feedback answers POST /v1/tickets/{id}/feedback: the body is a
// triage.Feedback whose ticket_id, when given, must match the path.
func (a *triageAPI) feedback(c *gin.Context) {
	const op = "record feedback"
	fb, err := a.readFeedback(c, op)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	if err := a.s.cfg.Triager.RecordFeedback(c.Request.Context(), fb); err != nil {
		writeError(c, err, nil)
		return
	}
	a.m.fedBack(fb)
	c.Status(http.StatusNoContent)
}

func (a *triageAPI) readFeedback(c *gin.Context, op string) (triage.Feedback, error) {
	var fb triage.Feedback
	if err := a.requireTriager(op); err != nil {
		return fb, err
	}
	id, err := cleanValue(op, "ticket id", c.Param("id"), maxTicketIDBytes)
	if err != nil {
		return fb, err
	}
	if id == "" {
		return fb, assist.Errorf(assist.Invalid, op, "the ticket id in the path is empty")
	}
	f := newFields(op, "desk")
	if err := f.addQuery(c.Request); err != nil {
		return fb, err
	}
	_, data, err := a.readJSONBody(c, op, "application/json")
	if err != nil {
		return fb, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fb, assist.Errorf(assist.Invalid, op, "empty body: send the feedback as a JSON object")
	}
	if err := checkFeedbackTime(op, data); err != nil {
		return fb, err
	}
	if err := decodeStrict(bytes.NewReader(data), op, &fb); err != nil {
		return fb, err
	}
	return fb, checkFeedback(op, id, f.get("desk"), &fb)
}

// checkFeedbackTime gives a malformed "at" a message of its own: the JSON
// decoder's time error would surface as "could not read the JSON body".
func checkFeedbackTime(op string, data []byte) error {
	var probe struct {
		At json.RawMessage `json:"at"`
	}
	if json.Unmarshal(data, &probe) != nil || len(probe.At) == 0 || string(probe.At) == "null" {
		return nil // decodeStrict reports malformed JSON precisely
	}
	var s string
	if json.Unmarshal(probe.At, &s) == nil {
		if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return nil
		}
	}
	return assist.Errorf(assist.Invalid, op, "at must be an RFC 3339 date-time such as 2026-11-02T08:15:00Z, not %.40s", probe.At)
}

// checkFeedback fills the ticket id and desk from the path and query and
// refuses contradictions and malformed fields, each with its own message.
func checkFeedback(op, id, desk string, fb *triage.Feedback) error {
	var err error
	if fb.TicketID, err = cleanValue(op, "ticket_id", fb.TicketID, maxTicketIDBytes); err != nil {
		return err
	}
	switch {
	case fb.TicketID == "":
		fb.TicketID = id
	case fb.TicketID != id:
		return assist.Errorf(assist.Invalid, op, "ticket_id %.100q in the body does not match %.100q in the path", fb.TicketID, id)
	}
	if fb.Desk, err = cleanValue(op, "desk", fb.Desk, maxFieldBytes); err != nil {
		return err
	}
	switch {
	case fb.Desk == "" && desk == "":
		return assist.Errorf(assist.Invalid, op, "desk is required (in the body or as ?desk=)")
	case fb.Desk == "":
		fb.Desk = desk
	case desk != "" && fb.Desk != desk:
		return assist.Errorf(assist.Invalid, op, "desk %.100q in the body does not match %.100q in the query", fb.Desk, desk)
	}
	for _, l := range []struct {
		name string
		v    *string
	}{{"category", &fb.Category}, {"priority", &fb.Priority}, {"agent", &fb.Agent}, {"answer", &fb.Answer}} {
		if *l.v, err = cleanValue(op, l.name, *l.v, maxLabelBytes); err != nil {
			return err
		}
	}
	if fb.Answer != "" && !slices.Contains(answerVerdicts, fb.Answer) {
		return assist.Errorf(assist.Invalid, op, "answer must be one of %s, not %.40q", strings.Join(answerVerdicts, ", "), fb.Answer)
	}
	fb.FinalAnswer = strings.TrimSpace(fb.FinalAnswer)
	switch {
	case fb.Answer == "edited" && fb.FinalAnswer == "":
		return assist.Errorf(assist.Invalid, op, `final_answer is required when answer is "edited"`)
	case fb.Answer != "edited" && fb.Answer != "used" && fb.FinalAnswer != "":
		return assist.Errorf(assist.Invalid, op, `final_answer applies only when answer is "edited" or "used"`)
	}
	if fb.Category == "" && fb.Priority == "" && fb.Answer == "" && !fb.CategoryAccepted && !fb.PriorityAccepted {
		return assist.Errorf(assist.Invalid, op, "the feedback holds no verdict: set category, priority or answer")
	}
	for _, t := range []struct {
		name string
		v    string
	}{{"final_answer", fb.FinalAnswer}, {"subject", fb.Subject}, {"body", fb.Body}} {
		if len(t.v) > maxFeedbackText {
			return assist.Errorf(assist.TooLarge, op, "%s is %d bytes; the limit is %d", t.name, len(t.v), maxFeedbackText)
		}
	}
	if fb.At.IsZero() {
		fb.At = time.Now().UTC()
	}
	return nil
}
