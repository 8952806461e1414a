package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"amtsassist/assist"
	"amtsassist/assist/triage"
)

// FeedbackFile is the name of the feedback log inside its directory.
const FeedbackFile = "feedback.jsonl"

// maxFeedbackLine bounds one stored record (a ticket with its final answer).
const maxFeedbackLine = 4 << 20

// FeedbackStore keeps agents' feedback in an append-only JSON Lines file,
// one record per line, synced to disk before Append returns. A later record
// for the same ticket supersedes an earlier one in the exports; All returns
// every record. Safe for concurrent use within one process.
type FeedbackStore struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// OpenFeedback opens (creating) the feedback log in dir. It returns
// Invalid for an empty dir and Unavailable when the file cannot be opened.
func OpenFeedback(dir string) (*FeedbackStore, error) {
	const op = "open feedback"
	if dir == "" {
		return nil, assist.Errorf(assist.Invalid, op, "no feedback directory given")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot create feedback directory %s", dir), Err: err}
	}
	path := filepath.Join(dir, FeedbackFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("cannot open feedback file %s", path), Err: err}
	}
	// A crash during a write can leave a partial last line; terminate it so
	// that the next record starts on a line of its own (All skips it).
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		if last, err := readLastByte(path); err == nil && last != '\n' {
			if _, err := f.Write([]byte("\n")); err != nil {
				f.Close()
				return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot repair feedback file", Err: err}
			}
		}
	}
	if os.IsNotExist(statErr) {
		// A new file: make its directory entry durable before the first
		// acknowledged record relies on it.
		if d, err := os.Open(dir); err == nil {
			d.Sync()
			d.Close()
		}
	}
	return &FeedbackStore{path: path, f: f}, nil
}

func readLastByte(path string) (byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b := make([]byte, 1)
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if _, err := f.ReadAt(b, st.Size()-1); err != nil {
		return 0, err
	}
	return b[0], nil
}

// Append validates fb (Invalid for an empty ticket id or desk, an unknown
// answer verdict or an edited answer without text) and stores it durably.
// Labels are checked against the taxonomy by Service.RecordFeedback.
func (f *FeedbackStore) Append(ctx context.Context, fb triage.Feedback) error {
	const op = "append feedback"
	if err := validateFeedback(fb); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return assist.E(assist.KindOf(err), op, err)
	}
	line, err := json.Marshal(fb)
	if err != nil {
		return assist.E(assist.Internal, op, err)
	}
	line = append(line, '\n')
	if len(line) > maxFeedbackLine {
		return assist.Errorf(assist.TooLarge, op, "feedback record has %d bytes; the limit is %d", len(line), maxFeedbackLine)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return assist.Errorf(assist.Unavailable, op, "feedback store is closed")
	}
	// A failed write must not leave half a line that the next record
	// would be glued to: cut the file back to where this record began.
	end, err := f.f.Seek(0, io.SeekEnd)
	if err != nil {
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot write feedback", Err: err}
	}
	if _, err := f.f.Write(line); err != nil {
		if terr := f.f.Truncate(end); terr != nil {
			err = errors.Join(err, terr)
		}
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot write feedback", Err: err}
	}
	if err := f.f.Sync(); err != nil {
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot sync feedback to disk", Err: err}
	}
	return nil
}

// Close closes the file; later Appends return Unavailable.
func (f *FeedbackStore) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	return err
}

// All returns every stored record in the order it was written. Lines that
// do not parse (a write cut by a crash) are skipped.
func (f *FeedbackStore) All(ctx context.Context) ([]triage.Feedback, error) {
	const op = "read feedback"
	f.mu.Lock()
	data, err := os.ReadFile(f.path)
	f.mu.Unlock()
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot read feedback file", Err: err}
	}
	var out []triage.Feedback
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxFeedbackLine+1)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return nil, assist.E(assist.KindOf(err), op, err)
		}
		var fb triage.Feedback
		if len(bytes.TrimSpace(sc.Bytes())) == 0 || json.Unmarshal(sc.Bytes(), &fb) != nil {
			continue
		}
		out = append(out, fb)
	}
	if err := sc.Err(); err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Internal, Msg: "cannot parse feedback file", Err: err}
	}
	return out, nil
}

// latest keeps the last record per desk and ticket, in order of first
// appearance.
func latest(all []triage.Feedback) []triage.Feedback {
	idx := map[[2]string]int{}
	var out []triage.Feedback
	for _, fb := range all {
		k := [2]string{fb.Desk, fb.TicketID}
		if i, ok := idx[k]; ok {
			out[i] = fb
			continue
		}
		idx[k] = len(out)
		out = append(out, fb)
	}
	return out
}

// ExportTraining writes CSV training data for `assist triage train`: the
// columns id, desk, subject, body and field, where field is "category",
// "queue" (both the agent's category) or "priority". Only the latest record
// per ticket counts, and only records with text and the label. Train with
// `--text subject,body --label <field>`.
func (f *FeedbackStore) ExportTraining(ctx context.Context, w io.Writer, field string) (int, error) {
	const op = "export training data"
	label := func(fb triage.Feedback) string { return fb.Category }
	switch field {
	case "category", "queue":
	case "priority":
		label = func(fb triage.Feedback) string { return fb.Priority }
	default:
		return 0, assist.Errorf(assist.Invalid, op, "unknown label field %q (valid: category, queue, priority)", field)
	}
	all, err := f.All(ctx)
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "desk", "subject", "body", field})
	n := 0
	for _, fb := range latest(all) {
		if l := label(fb); l != "" && (fb.Subject != "" || fb.Body != "") {
			_ = cw.Write([]string{fb.TicketID, fb.Desk, fb.Subject, fb.Body, l})
			n++
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "cannot write training data", Err: err}
	}
	return n, nil
}

// GoldRecord is one reviewed ticket for the evaluation suites: the labels
// an agent confirmed or set and, when the answer was used or edited, the
// answer that was sent.
type GoldRecord struct {
	ID       string `json:"id"`
	Desk     string `json:"desk"`
	Subject  string `json:"subject,omitempty"`
	Body     string `json:"body,omitempty"`
	Category string `json:"category,omitempty"`
	Priority string `json:"priority,omitempty"`
	// CategorySuggested says whether the suggestion was right; false means
	// Category is a correction.
	CategorySuggested bool   `json:"category_suggested"`
	PrioritySuggested bool   `json:"priority_suggested"`
	AnswerVerdict     string `json:"answer_verdict,omitempty"`
	Answer            string `json:"answer,omitempty"`
	ReviewedAt        string `json:"reviewed_at"`
}

// ExportGold writes the latest reviewed record per ticket as JSON Lines
// (GoldRecord) and returns how many it wrote.
func (f *FeedbackStore) ExportGold(ctx context.Context, w io.Writer) (int, error) {
	all, err := f.All(ctx)
	if err != nil {
		return 0, err
	}
	enc := json.NewEncoder(w)
	n := 0
	for _, fb := range latest(all) {
		rec := GoldRecord{
			ID: fb.TicketID, Desk: fb.Desk, Subject: fb.Subject, Body: fb.Body,
			Category: fb.Category, Priority: fb.Priority,
			CategorySuggested: fb.CategoryAccepted, PrioritySuggested: fb.PriorityAccepted,
			AnswerVerdict: fb.Answer, ReviewedAt: fb.At.UTC().Format("2006-01-02T15:04:05Z"),
		}
		if fb.Answer == AnswerUsed || fb.Answer == AnswerEdited {
			rec.Answer = fb.FinalAnswer
		}
		if err := enc.Encode(rec); err != nil {
			return n, &assist.Error{Op: "export gold data", Kind: assist.Unavailable, Msg: "cannot write gold data", Err: err}
		}
		n++
	}
	return n, nil
}
