package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/ingest"

	"github.com/gin-gonic/gin"
)

// rawDocumentTypes maps the raw-body content types of POST /v1/documents to
// the format they imply and the extension of the default file name.
var rawDocumentTypes = map[string]struct {
	format ingest.Format
	ext    string
}{
	"application/pdf": {ingest.FormatPDF, ".pdf"},
	"application/xml": {ingest.FormatLawXML, ".xml"},
	"text/xml":        {ingest.FormatLawXML, ".xml"},
	"text/markdown":   {ingest.FormatMarkdown, ".md"},
	"text/plain":      {ingest.FormatText, ".txt"},
}

// formats lists the values the "format" option accepts.
var formats = []ingest.Format{
	ingest.FormatLawXML, ingest.FormatMarkdown, ingest.FormatText, ingest.FormatPDF,
	ingest.FormatTicketsCSV, ingest.FormatTicketsJSONL, ingest.FormatBEIR,
}

func parseFormat(op, s string) (ingest.Format, error) {
	if s == "" || s == "auto" {
		return ingest.FormatAuto, nil
	}
	for _, f := range formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", assist.Errorf(assist.Invalid, op, "unknown format %.100q (valid: auto, lawxml, markdown, text, pdf, tickets-csv, tickets-jsonl, beir)", s)
}

// postDocuments ingests uploaded documents: multipart files, one raw body,
// or one JSON document.
func (s *Server) postDocuments(c *gin.Context) {
	const op = "upload documents"
	inputs, opts, err := s.readDocuments(c, op)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	s.runIngest(c, "documents", inputs, opts)
}

func (s *Server) readDocuments(c *gin.Context, op string) ([]ingest.Input, ingest.Options, error) {
	var opts ingest.Options
	if err := s.requireIngester(op); err != nil {
		return nil, opts, err
	}
	mt, params, err := mediaType(c.Request, op)
	if err != nil {
		return nil, opts, err
	}
	f := newFields(op, "corpus", "authority", "format", "id", "title", "name")
	if err := f.addQuery(c.Request); err != nil {
		return nil, opts, err
	}
	// Options from the query string are checked before a possibly large
	// body is read; form and JSON fields are checked once it has been.
	if _, err := documentOptions(op, f, ingest.FormatAuto); err != nil {
		return nil, opts, err
	}
	var inputs []ingest.Input
	defaultFormat := ingest.FormatAuto
	switch raw, isRaw := rawDocumentTypes[mt]; {
	case mt == "multipart/form-data":
		if err := limitBody(c, op, s.cfg.MaxUploadBytes); err != nil {
			return nil, opts, err
		}
		files, err := readMultipart(c.Request, f)
		if err != nil {
			return nil, opts, err
		}
		for _, file := range files {
			inputs = append(inputs, ingest.Input{Name: file.name, Data: file.data})
		}
	case mt == "application/json":
		if err := checkCharset(op, params); err != nil {
			return nil, opts, err
		}
		in, err := s.readJSONDocument(c, op, f)
		if err != nil {
			return nil, opts, err
		}
		inputs = append(inputs, in)
		defaultFormat = ingest.FormatText
	case isRaw:
		if strings.HasPrefix(mt, "text/") {
			if err := checkCharset(op, params); err != nil {
				return nil, opts, err
			}
		}
		if err := limitBody(c, op, s.cfg.MaxUploadBytes); err != nil {
			return nil, opts, err
		}
		name, err := cleanName(op, f.get("name"), "upload"+raw.ext)
		if err != nil {
			return nil, opts, err
		}
		data, err := readAll(c.Request, op, name)
		if err != nil {
			return nil, opts, err
		}
		inputs = append(inputs, ingest.Input{Name: name, Data: data})
		defaultFormat = raw.format
	default:
		return nil, opts, unsupported(op, "unsupported Content-Type %.100q (valid: multipart/form-data, application/json, application/pdf, application/xml, text/markdown, text/plain)", mt)
	}
	if f.get("name") != "" && (mt == "multipart/form-data" || mt == "application/json") {
		return nil, opts, assist.Errorf(assist.Invalid, op, "name applies to raw bodies only; multipart files carry their own names and JSON documents take theirs from id")
	}
	if opts, err = documentOptions(op, f, defaultFormat); err != nil {
		return nil, opts, err
	}
	if id, title := f.get("id"), f.get("title"); id != "" || title != "" {
		if len(inputs) != 1 {
			return nil, opts, assist.Errorf(assist.Invalid, op, "id and title apply to a single file; the upload has %d files", len(inputs))
		}
		inputs[0].ID, inputs[0].Title = id, title
	}
	return inputs, opts, nil
}

// documentOptions builds the ingest options from the collected fields.
func documentOptions(op string, f *fields, defaultFormat ingest.Format) (ingest.Options, error) {
	var (
		opts ingest.Options
		err  error
	)
	if opts.Corpus, err = optionalCorpus(op, f.get("corpus")); err != nil {
		return opts, err
	}
	opts.Authority = f.get("authority")
	if opts.Format, err = parseFormat(op, f.get("format")); err != nil {
		return opts, err
	}
	if opts.Format == ingest.FormatAuto {
		opts.Format = defaultFormat
	}
	return opts, nil
}

func optionalCorpus(op, s string) (assist.Corpus, error) {
	if s == "" {
		return "", nil
	}
	c, err := assist.ParseCorpus(s)
	if err != nil {
		return "", &assist.Error{Op: op, Kind: assist.Invalid, Err: err}
	}
	return c, nil
}

// jsonDocumentFields are the keys of the JSON body of POST /v1/documents;
// every value is a string.
var jsonDocumentFields = []string{"id", "title", "text", "corpus", "authority", "format"}

// readJSONDocument decodes one JSON document strictly: unknown fields,
// non-string values and trailing data are refused, so that typos do not
// pass silently.
func (s *Server) readJSONDocument(c *gin.Context, op string, f *fields) (ingest.Input, error) {
	if err := limitBody(c, op, s.cfg.MaxBodyBytes); err != nil {
		return ingest.Input{}, err
	}
	obj, err := decodeObject(c.Request.Body, op, jsonDocumentFields)
	if err != nil {
		return ingest.Input{}, err
	}
	for _, k := range jsonDocumentFields {
		if k == "text" {
			continue
		}
		if err := f.set("JSON field", k, obj[k]); err != nil {
			return ingest.Input{}, err
		}
	}
	text := obj["text"]
	if strings.TrimSpace(text) == "" {
		return ingest.Input{}, assist.Errorf(assist.Invalid, op, "text is empty")
	}
	if !utf8.ValidString(text) {
		return ingest.Input{}, assist.Errorf(assist.Invalid, op, "text is not valid UTF-8")
	}
	ext := ".txt"
	switch ingest.Format(f.get("format")) {
	case ingest.FormatMarkdown:
		ext = ".md"
	case ingest.FormatLawXML:
		ext = ".xml"
	}
	name, err := cleanName(op, f.get("id"), "document")
	if err != nil {
		return ingest.Input{}, err
	}
	return ingest.Input{Name: name + ext, Data: []byte(text)}, nil
}

// decodeObject decodes a body holding exactly one JSON object whose keys
// are all in allowed and whose values are all strings.
func decodeObject(r io.Reader, op string, allowed []string) (map[string]string, error) {
	dec := json.NewDecoder(r)
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, assist.Errorf(assist.Invalid, op, "empty JSON body")
		}
		return nil, jsonError(op, err)
	}
	if raw == nil {
		return nil, assist.Errorf(assist.Invalid, op, "the JSON body must be an object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, jsonError(op, err)
		}
		return nil, assist.Errorf(assist.Invalid, op, "malformed JSON: more than one value in the body")
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if !slices.Contains(allowed, k) {
			return nil, assist.Errorf(assist.Invalid, op, "unknown JSON field %.100q (valid: %s)", k, strings.Join(allowed, ", "))
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, assist.Errorf(assist.Invalid, op, "JSON field %.100q must be a string", k)
		}
		out[k] = s
	}
	return out, nil
}

// jsonError names what is wrong with a JSON body. encoding/json's syntax
// messages describe only the input, so they are safe to show.
func jsonError(op string, err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()), Err: err}
	case errors.As(err, &typ):
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: "the JSON body must be an object", Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &assist.Error{Op: op, Kind: assist.Invalid, Msg: "malformed JSON: unexpected end of body", Err: err}
	}
	return bodyError(op, err, "the JSON body")
}
