package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"amtsassist/assist"
)

// Detect names the format of a source from its name and first bytes.
// Content wins where it is unambiguous (a PDF is a PDF whatever its name),
// the extension decides otherwise; an unknown type is an Invalid error.
func Detect(name string, data []byte) (Format, error) {
	ext := strings.ToLower(filepath.Ext(name))
	head := bytes.TrimLeft(data[:min(len(data), 512)], "\ufeff \t\r\n")
	switch ext {
	case ".pdf":
		return FormatPDF, nil // the loader says "not a PDF" when the header is missing
	case ".xml":
		return FormatLawXML, nil
	case ".md", ".markdown":
		return FormatMarkdown, nil
	case ".txt", ".text":
		return FormatText, nil
	case ".csv":
		return FormatTicketsCSV, nil
	case ".jsonl", ".ndjson":
		if isBEIR(data) {
			return FormatBEIR, nil
		}
		return FormatTicketsJSONL, nil
	}
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return FormatPDF, nil
	case bytes.HasPrefix(head, []byte("<?xml")) || bytes.HasPrefix(head, []byte("<dokumente")):
		return FormatLawXML, nil
	case ext == "" && utf8.Valid(data) && !bytes.ContainsRune(head, 0):
		return FormatText, nil
	}
	if ext == "" {
		return "", assist.Errorf(assist.Invalid, "detect format", "unrecognised content (supported: PDF, law XML, Markdown, text, ticket CSV/JSONL, BEIR corpus.jsonl)")
	}
	return "", assist.Errorf(assist.Invalid, "detect format", "unsupported file type %s (supported: .pdf, .xml, .md, .txt, .csv, .jsonl)", ext)
}

// isBEIR reports whether the first JSON line has a BEIR "_id" field.
func isBEIR(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var probe map[string]json.RawMessage
		if json.Unmarshal(line, &probe) != nil {
			// A broken first line: let the BEIR loader name the problem
			// when the line looks like BEIR.
			return bytes.Contains(line, []byte(`"_id"`))
		}
		_, ok := probe["_id"]
		return ok
	}
	return false
}

// walkable lists the extensions a folder walk picks up. Explicitly named
// files are always taken, whatever their extension.
var walkable = map[string]bool{".pdf": true, ".xml": true, ".md": true, ".markdown": true, ".txt": true, ".csv": true, ".jsonl": true, ".ndjson": true}

// skipped are files a folder walk passes over: licences and the parts of
// benchmark and law folders that are not content.
func skipped(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasPrefix(name, ".") || strings.HasPrefix(lower, "license") || strings.HasPrefix(lower, "readme") ||
		lower == "queries.jsonl" || lower == "toc.json" || lower == "meta.json"
}

// collect expands one absolute path into sources.
func collect(abs string) ([]source, error) {
	const op = "ingest"
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, assist.Errorf(assist.Invalid, op, "%s: no such file or folder", abs)
		}
		return nil, assist.Errorf(assist.Invalid, op, "%s: %v", abs, err)
	}
	if !fi.IsDir() {
		return []source{fileSource(abs)}, nil
	}
	var out []source
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return assist.Errorf(assist.Invalid, op, "%s: %v", path, err)
		}
		if d.IsDir() {
			if path != abs && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			// A gesetze-im-internet.de law folder: source.xml is the law;
			// paragraphs/ and annexes/ are derived copies of the same text.
			if law := filepath.Join(path, "source.xml"); fileExists(law) {
				out = append(out, fileSource(law))
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || skipped(d.Name()) || !walkable[strings.ToLower(filepath.Ext(d.Name()))] {
			return nil
		}
		out = append(out, fileSource(path))
		return nil
	})
	return out, err
}

func fileSource(path string) source { return source{name: path, path: path} }

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
