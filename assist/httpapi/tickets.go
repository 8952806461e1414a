package httpapi

import (
	"path"
	"slices"
	"strings"

	"amtsassist/assist"
	"amtsassist/ingest"

	"github.com/gin-gonic/gin"
)

// ticketFields are the ticket fields a "columns" mapping may name; they are
// the keys of ingest.Options.TicketColumns.
var ticketFields = []string{"id", "subject", "body", "category", "queue", "priority", "status", "answer", "created"}

// ticketTypes maps the raw-body content types of POST /v1/tickets/import to
// the ticket format and the extension of the default file name.
var ticketTypes = map[string]ingest.Format{
	"text/csv":                ingest.FormatTicketsCSV,
	"application/csv":         ingest.FormatTicketsCSV,
	"application/x-ndjson":    ingest.FormatTicketsJSONL,
	"application/jsonl":       ingest.FormatTicketsJSONL,
	"application/x-jsonl":     ingest.FormatTicketsJSONL,
	"application/jsonlines":   ingest.FormatTicketsJSONL,
	"application/x-jsonlines": ingest.FormatTicketsJSONL,
}

// parseTicketFormat accepts the short and the full names.
func parseTicketFormat(op, s string) (ingest.Format, error) {
	switch s {
	case "":
		return ingest.FormatAuto, nil
	case "csv", string(ingest.FormatTicketsCSV):
		return ingest.FormatTicketsCSV, nil
	case "jsonl", "ndjson", string(ingest.FormatTicketsJSONL):
		return ingest.FormatTicketsJSONL, nil
	}
	return "", assist.Errorf(assist.Invalid, op, "unknown ticket format %.100q (valid: csv, jsonl)", s)
}

// ticketFormatOf infers the format of an uploaded file from its name, then
// from its part's content type.
func ticketFormatOf(f uploadedFile) ingest.Format {
	switch strings.ToLower(path.Ext(f.name)) {
	case ".csv":
		return ingest.FormatTicketsCSV
	case ".jsonl", ".ndjson", ".jsonlines":
		return ingest.FormatTicketsJSONL
	}
	return ticketTypes[f.contentType]
}

// ParseColumns parses a column mapping such as "subject=title,body=text"
// (ticket field = column or JSON key) into ingest.Options.TicketColumns.
// Unknown fields, empty columns and repeated fields are Invalid.
func ParseColumns(s string) (map[string]string, error) {
	const op = "parse columns"
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		field, column, ok := strings.Cut(pair, "=")
		field, column = strings.TrimSpace(field), strings.TrimSpace(column)
		if !ok || column == "" {
			return nil, assist.Errorf(assist.Invalid, op, "columns: %.100q is not field=column", pair)
		}
		if !slices.Contains(ticketFields, field) {
			return nil, assist.Errorf(assist.Invalid, op, "columns: unknown ticket field %.100q (valid: %s)", field, strings.Join(ticketFields, ", "))
		}
		if _, dup := out[field]; dup {
			return nil, assist.Errorf(assist.Invalid, op, "columns: field %.100q mapped twice", field)
		}
		out[field] = column
	}
	return out, nil
}

// importTickets ingests a ticket export (CSV or JSONL) into the tickets
// corpus: as a raw body or as multipart files.
func (s *Server) importTickets(c *gin.Context) {
	const op = "import tickets"
	inputs, opts, err := s.readTickets(c, op)
	if err != nil {
		writeError(c, err, nil)
		return
	}
	s.runIngest(c, "tickets", inputs, opts)
}

func (s *Server) readTickets(c *gin.Context, op string) ([]ingest.Input, ingest.Options, error) {
	opts := ingest.Options{Corpus: assist.CorpusTickets}
	if err := s.requireIngester(op); err != nil {
		return nil, opts, err
	}
	mt, params, err := mediaType(c.Request, op)
	if err != nil {
		return nil, opts, err
	}
	f := newFields(op, "columns", "authority", "format", "name")
	if err := f.addQuery(c.Request); err != nil {
		return nil, opts, err
	}
	// Query options are checked before a possibly large body is read.
	if _, err := parseTicketFormat(op, f.get("format")); err != nil {
		return nil, opts, err
	}
	if _, err := ParseColumns(f.get("columns")); err != nil {
		return nil, opts, &assist.Error{Op: op, Kind: assist.Invalid, Err: err}
	}
	var (
		inputs []ingest.Input
		format ingest.Format
	)
	if raw, isRaw := ticketTypes[mt]; isRaw {
		if err := checkCharset(op, params); err != nil {
			return nil, opts, err
		}
		if err := limitBody(c, op, s.cfg.MaxUploadBytes); err != nil {
			return nil, opts, err
		}
		ext := ".csv"
		if raw == ingest.FormatTicketsJSONL {
			ext = ".jsonl"
		}
		name, err := cleanName(op, f.get("name"), "tickets"+ext)
		if err != nil {
			return nil, opts, err
		}
		data, err := readAll(c.Request, op, name)
		if err != nil {
			return nil, opts, err
		}
		inputs = append(inputs, ingest.Input{Name: name, Data: data})
		format = raw
	} else if mt == "multipart/form-data" {
		if err := limitBody(c, op, s.cfg.MaxUploadBytes); err != nil {
			return nil, opts, err
		}
		files, err := readMultipart(c.Request, f)
		if err != nil {
			return nil, opts, err
		}
		if f.get("name") != "" {
			return nil, opts, assist.Errorf(assist.Invalid, op, "name applies to raw bodies only; multipart files carry their own names")
		}
		// One ingest call takes one format, so every file must agree.
		for _, file := range files {
			ff := ticketFormatOf(file)
			if format != "" && ff != format {
				return nil, opts, assist.Errorf(assist.Invalid, op, "files of one import must share a format: %.100q is not %s", file.name, format)
			}
			format = ff
			inputs = append(inputs, ingest.Input{Name: file.name, Data: file.data})
		}
	} else {
		return nil, opts, unsupported(op, "unsupported Content-Type %.100q (valid: text/csv, application/x-ndjson, application/jsonl, multipart/form-data)", mt)
	}

	forced, err := parseTicketFormat(op, f.get("format"))
	if err != nil {
		return nil, opts, err
	}
	if forced != ingest.FormatAuto {
		format = forced
	}
	if format == "" {
		return nil, opts, assist.Errorf(assist.Invalid, op, "cannot tell the format of %.100q: name it .csv or .jsonl, or set format=csv|jsonl", inputs[0].Name)
	}
	opts.Format = format
	opts.Authority = f.get("authority")
	if opts.TicketColumns, err = ParseColumns(f.get("columns")); err != nil {
		return nil, opts, &assist.Error{Op: op, Kind: assist.Invalid, Err: err}
	}
	return inputs, opts, nil
}
