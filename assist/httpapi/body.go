package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/ingest"

	"github.com/gin-gonic/gin"
)

// Limits on the parts of a request that are not the payload itself.
const (
	maxFieldBytes = 8 << 10 // one form field or query parameter value
	maxNameBytes  = 255     // an uploaded file name
	maxFiles      = 100     // files in one multipart upload
	maxParts      = 1000    // parts in one multipart body, files and fields
)

// limitBody caps the request body at limit bytes. A declared length over
// the limit is refused before anything is read.
func limitBody(c *gin.Context, op string, limit int64) error {
	if c.Request.ContentLength > limit {
		return tooLarge(op, limit)
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	return nil
}

func tooLarge(op string, limit int64) error {
	return assist.Errorf(assist.TooLarge, op, "request body exceeds the limit of %d bytes (%s)", limit, humanBytes(limit))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// bodyError classifies a failure to read the request body: over the limit,
// the client gone, or a malformed body.
func bodyError(op string, err error, what string) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(op, mbe.Limit)
	case errors.Is(err, context.Canceled):
		return assist.E(assist.Canceled, op, err)
	case errors.Is(err, context.DeadlineExceeded):
		return assist.E(assist.Timeout, op, err)
	}
	return &assist.Error{Op: op, Kind: assist.Invalid, Msg: "could not read " + what, Err: err}
}

// mediaType parses the Content-Type header. A missing or malformed header is
// 415: the client has not said what it sends.
func mediaType(r *http.Request, op string) (string, map[string]string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", nil, unsupported(op, "missing Content-Type header")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", nil, unsupported(op, "malformed Content-Type header")
	}
	return mt, params, nil
}

func unsupported(op, format string, args ...any) error {
	return withStatus(assist.Invalid, http.StatusUnsupportedMediaType, op, format, args...)
}

// checkCharset accepts UTF-8 text only: loaders expect it, and guessing a
// legacy encoding would silently corrupt umlauts.
func checkCharset(op string, params map[string]string) error {
	switch cs := strings.ToLower(params["charset"]); cs {
	case "", "utf-8", "utf8", "us-ascii":
		return nil
	default:
		return unsupported(op, "unsupported charset %.100q: send UTF-8", params["charset"])
	}
}

// cleanValue validates a user-supplied text field: valid UTF-8, no control
// characters, at most max bytes.
func cleanValue(op, name, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > max {
		return "", assist.Errorf(assist.Invalid, op, "%s is longer than %d bytes", name, max)
	}
	if !utf8.ValidString(v) {
		return "", assist.Errorf(assist.Invalid, op, "%s is not valid UTF-8", name)
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", assist.Errorf(assist.Invalid, op, "%s contains control characters", name)
	}
	return v, nil
}

// cleanName reduces an uploaded file name to its base name, so that a
// hostile name ("../../etc/passwd", "C:\\x") cannot pose as a path. It
// returns fallback when nothing usable remains.
func cleanName(op, name, fallback string) (string, error) {
	name = strings.ReplaceAll(name, "\\", "/")
	name, err := cleanValue(op, "file name", path.Base(name), maxNameBytes)
	if err != nil {
		return "", err
	}
	if name == "" || name == "." || name == ".." || name == "/" {
		return fallback, nil
	}
	return name, nil
}

// fields collects the single-valued options of an upload from the query
// string and form fields or JSON; the same option given twice with different
// values is refused rather than resolved silently.
type fields struct {
	op      string
	allowed map[string]bool
	values  map[string]string
	// raw are form fields that carry a document (e.g. a memo request as
	// JSON) rather than a short value: read up to their own limit, with
	// line breaks, and validated by their parser instead of cleanValue.
	raw map[string]int64
}

func newFields(op string, allowed ...string) *fields {
	f := &fields{op: op, allowed: map[string]bool{}, values: map[string]string{}}
	for _, a := range allowed {
		f.allowed[a] = true
	}
	return f
}

// parseQuery parses the query string strictly: url.URL.Query drops
// malformed pairs silently, which would turn "q=%zz" into "q is required".
func parseQuery(op string, r *http.Request) (url.Values, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "malformed query string", Err: err}
	}
	return v, nil
}

// addQuery adds every query parameter of r; malformed, unknown or repeated
// ones are Invalid.
func (f *fields) addQuery(r *http.Request) error {
	q, err := parseQuery(f.op, r)
	if err != nil {
		return err
	}
	for k, vs := range q {
		if len(vs) > 1 {
			return assist.Errorf(assist.Invalid, f.op, "query parameter %.100q given %d times", k, len(vs))
		}
		if err := f.set("query parameter", k, vs[0]); err != nil {
			return err
		}
	}
	return nil
}

func (f *fields) set(where, k, v string) error {
	if !f.allowed[k] {
		return assist.Errorf(assist.Invalid, f.op, "unknown %s %.100q (valid: %s)", where, k, f.names())
	}
	v, err := cleanValue(f.op, k, v, maxFieldBytes)
	if err != nil {
		return err
	}
	if old, ok := f.values[k]; ok && old != v {
		return assist.Errorf(assist.Invalid, f.op, "%s given twice with different values (%.100q and %.100q)", k, old, v)
	}
	if v != "" {
		f.values[k] = v
	}
	return nil
}

func (f *fields) names() string {
	var ns []string
	for n := range f.allowed {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ")
}

func (f *fields) get(k string) string { return f.values[k] }

// uploadedFile is one file part of a multipart body.
type uploadedFile struct {
	name        string
	contentType string
	data        []byte
}

// readMultipart streams a multipart body (already limited by limitBody):
// parts with a file name, or named "file"/"files", are files; every other
// part is a form field added to f. An empty file is Invalid.
func readMultipart(r *http.Request, f *fields) ([]uploadedFile, error) {
	op := f.op
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, assist.Errorf(assist.Invalid, op, "malformed multipart body: missing boundary")
	}
	var files []uploadedFile
	seen := map[string]bool{}
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bodyError(op, err, "the multipart body")
		}
		if parts >= maxParts {
			return nil, assist.Errorf(assist.Invalid, op, "multipart body has more than %d parts", maxParts)
		}
		field := part.FormName()
		if part.FileName() != "" || field == "file" || field == "files" {
			if len(files) >= maxFiles {
				return nil, assist.Errorf(assist.Invalid, op, "more than %d files in one upload", maxFiles)
			}
			file, err := readFilePart(op, part, len(files))
			if err != nil {
				return nil, err
			}
			// The name becomes the source (and often the id) of the
			// document: two files of one name would overwrite each other.
			if seen[file.name] {
				return nil, assist.Errorf(assist.Invalid, op, "file name %.100q appears twice in the upload", file.name)
			}
			seen[file.name] = true
			files = append(files, file)
			continue
		}
		limit := int64(maxFieldBytes)
		rawLimit, isRaw := f.raw[field]
		if isRaw {
			limit = rawLimit
		}
		v, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			return nil, bodyError(op, err, "the multipart body")
		}
		if int64(len(v)) > limit {
			return nil, assist.Errorf(assist.TooLarge, op, "form field %.100q is longer than %d bytes", field, limit)
		}
		if isRaw {
			if _, dup := f.values[field]; dup {
				return nil, assist.Errorf(assist.Invalid, op, "form field %.100q given twice", field)
			}
			f.values[field] = string(v)
			continue
		}
		if err := f.set("form field", field, string(v)); err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, `no file in the multipart body (send it in a part named "file")`)
	}
	return files, nil
}

func readFilePart(op string, part *multipart.Part, n int) (uploadedFile, error) {
	name, err := cleanName(op, part.FileName(), fmt.Sprintf("upload-%d", n+1))
	if err != nil {
		return uploadedFile{}, err
	}
	data, err := io.ReadAll(part)
	if err != nil {
		return uploadedFile{}, bodyError(op, err, fmt.Sprintf("file %.100q", name))
	}
	if len(data) == 0 {
		return uploadedFile{}, assist.Errorf(assist.Invalid, op, "empty file %.100q", name)
	}
	ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
	return uploadedFile{name: name, contentType: ct, data: data}, nil
}

// readAll reads a raw body (already limited by limitBody).
func readAll(r *http.Request, op, name string) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(op, err, "the request body")
	}
	if len(data) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "empty file %.100q", name)
	}
	return data, nil
}

// runIngest hands inputs to the ingester, counts the outcome and answers
// with the report (or the error, with the partial report when there is one).
func (s *Server) runIngest(c *gin.Context, endpoint string, inputs []ingest.Input, opts ingest.Options) {
	rep, err := s.cfg.Ingester.IngestInputs(c.Request.Context(), inputs, opts)
	s.metrics.observeIngest(endpoint, len(inputs), rep, err)
	if rep.Files == nil {
		rep.Files = []ingest.FileResult{}
	}
	if err != nil {
		var body *ErrorBody
		if len(rep.Files) > 0 {
			body = &ErrorBody{Report: &rep}
		}
		writeError(c, err, body)
		return
	}
	c.JSON(http.StatusOK, rep)
}

func (s *Server) requireIngester(op string) error {
	if s.cfg.Ingester == nil {
		return assist.Errorf(assist.Unavailable, op, "ingest is not configured on this server")
	}
	return nil
}
