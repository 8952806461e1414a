package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/render"
	"amtsassist/ingest"

	"github.com/gin-gonic/gin"
)

// Drafter drafts and stores memos. cmd wires it to the memo service.
type Drafter interface {
	// Validate checks the request without lookups and returns it
	// normalised; uploads are stored only for a valid request.
	Validate(req memo.Request) (memo.Request, error)
	// Prepare validates the request, resolves attachments and retrieves
	// sources. Its errors come before any byte of the answer: Invalid,
	// NotFound (an attachment not found or of another authority), TooLarge,
	// Unavailable (chat model unreachable and no extractive fallback).
	Prepare(ctx context.Context, req memo.Request) (DraftJob, error)
	// Memo returns a stored memo, or NotFound.
	Memo(ctx context.Context, id string) (*memo.Memo, error)
}

// DraftJob generates one prepared memo. emit receives delta, citation and
// warning events; an error from emit cancels generation.
type DraftJob interface {
	Run(ctx context.Context, emit func(memo.Event) error) (*memo.Memo, error)
}

// memoIDPattern accepts the ids the store hands out, and nothing that could
// be a path.
var memoIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// postMemo drafts a memo. The body is a memo.Request as JSON, or multipart
// with the request in a part named "request" and case documents to attach
// as files. With "Accept: text/event-stream" the draft streams as SSE.
func (s *Server) postMemo(c *gin.Context) {
	const op = "draft memo"
	if s.cfg.Drafter == nil {
		writeError(c, assist.Errorf(assist.Unavailable, op, "memo drafting is not configured on this server"), nil)
		return
	}
	req, err := s.readMemoRequest(c, op)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	job, err := s.cfg.Drafter.Prepare(c.Request.Context(), req)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	if !wantsEventStream(c.Request) {
		m, err := job.Run(c.Request.Context(), func(memo.Event) error { return nil })
		if err != nil {
			writeError(c, err, nil)
			return
		}
		c.Header("Location", "/v1/memos/"+m.ID)
		c.JSON(http.StatusCreated, m)
		return
	}
	s.streamMemo(c, job)
}

func wantsEventStream(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(a, "text/event-stream") {
			return true
		}
	}
	return false
}

// streamMemo sends the draft as Server-Sent Events. The status is 200 from
// here on; failures become an "error" event. A client that goes away
// cancels the request context, which stops generation on the model server.
func (s *Server) streamMemo(c *gin.Context, job DraftJob) {
	w := c.Writer
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx must not buffer the stream
	w.WriteHeader(http.StatusOK)
	w.Flush()
	send := func(ev memo.Event) error {
		if err := c.Request.Context().Err(); err != nil {
			return assist.E(assist.Canceled, "stream memo", err)
		}
		if err := writeEvent(w, ev); err != nil {
			return assist.E(assist.Canceled, "stream memo", err)
		}
		w.Flush()
		return nil
	}
	m, err := job.Run(c.Request.Context(), send)
	if err != nil {
		kind, msg := publicError(err)
		if assist.KindOf(err) == assist.Canceled {
			s.log.InfoContext(c.Request.Context(), "memo stream canceled by the client", "request_id", RequestID(c.Request.Context()))
		} else {
			s.log.ErrorContext(c.Request.Context(), "memo draft failed", "err", err, "request_id", RequestID(c.Request.Context()))
		}
		_ = writeEvent(w, memo.Event{Type: "error", Kind: kind, Message: msg})
		w.Flush()
		return
	}
	v := m.Verification
	_ = writeEvent(w, memo.Event{Type: "done", MemoID: m.ID, Verification: &v})
	w.Flush()
}

// writeEvent writes one SSE event. JSON has no raw newlines, so the data
// fits on one line.
func writeEvent(w io.Writer, ev memo.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, data)
	return err
}

// readMemoRequest reads a JSON request, or a multipart one whose files are
// ingested first as case documents of the request's authority and
// attached.
func (s *Server) readMemoRequest(c *gin.Context, op string) (memo.Request, error) {
	var req memo.Request
	mt, params, err := mediaType(c.Request, op)
	if err != nil {
		return req, err
	}
	switch mt {
	case "application/json":
		if err := checkCharset(op, params); err != nil {
			return req, err
		}
		if err := limitBody(c, op, s.cfg.MaxBodyBytes); err != nil {
			return req, err
		}
		return req, decodeStrict(c.Request.Body, op, &req)
	case "multipart/form-data":
		if err := s.requireIngester(op); err != nil {
			return req, err
		}
		if err := limitBody(c, op, s.cfg.MaxUploadBytes); err != nil {
			return req, err
		}
		f := newFields(op, "request")
		f.raw = map[string]int64{"request": s.cfg.MaxBodyBytes}
		files, err := readMultipart(c.Request, f)
		if err != nil {
			return req, err
		}
		raw := f.get("request")
		if raw == "" {
			return req, assist.Errorf(assist.Invalid, op, `multipart memo request needs the request JSON in a part named "request"`)
		}
		if err := decodeStrict(strings.NewReader(raw), op, &req); err != nil {
			return req, err
		}
		if req, err = s.cfg.Drafter.Validate(req); err != nil {
			return req, err
		}
		// Attachments are documents of this case: their ids carry the
		// authority and the Aktenzeichen, so that another case's file of
		// the same name never replaces them.
		inputs := make([]ingest.Input, len(files))
		for i, file := range files {
			inputs[i] = ingest.Input{Name: file.name, Data: file.data,
				ID: "upload:" + req.Authority + "/" + req.Aktenzeichen + "/" + file.name}
		}
		rep, err := s.cfg.Ingester.IngestInputs(c.Request.Context(), inputs, ingest.Options{Corpus: assist.CorpusCases, Authority: req.Authority})
		s.metrics.observeIngest("memos", len(inputs), rep, err)
		if err != nil {
			return req, err
		}
		for _, f := range rep.Files {
			req.Attachments = append(req.Attachments, f.DocIDs...)
		}
		return req, nil
	}
	return req, unsupported(op, "Content-Type %s is not accepted here (send application/json or multipart/form-data)", mt)
}

// decodeStrict decodes one JSON object into the struct v points to,
// refusing unknown fields and trailing data, so that a misspelt field is an
// error rather than silently ignored.
func decodeStrict(r io.Reader, op string, v any) error {
	dec := json.NewDecoder(r)
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return jsonError(op, err)
	}
	if dec.More() {
		return assist.Errorf(assist.Invalid, op, "trailing data after the JSON object")
	}
	known := jsonFields(reflect.TypeOf(v).Elem())
	for k := range raw {
		if !known[k] {
			return assist.Errorf(assist.Invalid, op, "unknown field %.100q", k)
		}
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return assist.Errorf(assist.Invalid, op, "field %.100q must be of type %s", typ.Field, typ.Type)
		}
		return jsonError(op, err)
	}
	return nil
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = true
	}
	return out
}

// getMemo returns a stored memo as JSON, or with the suffix ".md" as
// Markdown and ".docx" as a Word document.
func (s *Server) getMemo(c *gin.Context) {
	const op = "get memo"
	if s.cfg.Drafter == nil {
		writeError(c, assist.Errorf(assist.Unavailable, op, "memo drafting is not configured on this server"), nil)
		return
	}
	id, format := c.Param("id"), "json"
	for _, ext := range []string{".md", ".docx"} {
		if strings.HasSuffix(id, ext) {
			id, format = strings.TrimSuffix(id, ext), ext[1:]
		}
	}
	if !memoIDPattern.MatchString(id) {
		writeError(c, assist.Errorf(assist.NotFound, op, "memo %.80q not found", id), nil)
		return
	}
	m, err := s.cfg.Drafter.Memo(c.Request.Context(), id)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	switch format {
	case "md":
		c.Data(http.StatusOK, "text/markdown; charset=utf-8", render.Markdown(m))
	case "docx":
		b, err := render.DOCX(m)
		if err != nil {
			writeError(c, assist.E(assist.Internal, op, err), nil)
			return
		}
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="vermerk-%s.docx"`, id))
		c.DataFromReader(http.StatusOK, int64(len(b)), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", bytes.NewReader(b), nil)
	default:
		c.JSON(http.StatusOK, m)
	}
}
