// Package pdf loads PDF files: it extracts the text of every page in
// reading order and turns it into one document with a chunk per page (or
// per passage of a long page), each citing its page.
//
// It is the only package that imports github.com/ledongthuc/pdf. That
// library parses the file structure and decodes fonts; its own plain-text
// output glues lines and mixes columns, so this package tokenises and
// interprets the content streams itself and rebuilds words, lines,
// columns, tables and reading order from glyph positions (layout.go),
// rejoins hyphenated words and drops running headers. Pages whose text
// layer is garbled by fonts without a usable character map are detected
// (readable.go) and, like scans, reported as needing OCR.
//
// Input is untrusted: cross-reference numbers that would make the library
// allocate gigabytes or loop are rejected up front (guard.go), content
// streams are lexed with hard bounds (lex.go), library panics are turned
// into Invalid errors, and the caller gets ctx's error back even if the
// library should hang.
package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"unicode"

	lpdf "github.com/ledongthuc/pdf"

	"amtsassist/assist"
	"amtsassist/ingest/split"
)

// Page is the text of one PDF page.
type Page struct {
	Number int // 1-based
	Text   string
	// NoTextLayer reports that the page shows no text at all: a scan that
	// needs OCR, a page of graphics or outlined text, or a blank page
	// (Load warns only about the first two).
	NoTextLayer bool
	// Unreadable reports that the page has a text layer but it is
	// garbage: fonts without a usable character map yield scrambled
	// letters ("6X \PWK ZS" for "Es wird um") or private-use code
	// points. Text keeps what was extracted; Load does not index it and
	// warns that the page needs OCR like a scan. NoTextLayer and
	// Unreadable are never both set.
	Unreadable bool
}

const op = "ingest pdf"

// Extract returns the text of every page of the PDF in data, in page order.
// It returns Invalid for input that is not a readable PDF (no header,
// truncated or damaged, encrypted), and ctx's error when ctx ends first.
// A page without a text layer is returned with NoTextLayer set, a page
// whose text layer is garbled with Unreadable set.
func Extract(ctx context.Context, data []byte) ([]Page, error) {
	pages, _, err := extract(ctx, data, Options{})
	return pages, err
}

// Options tune extraction; the zero value is what Extract and Load use.
type Options struct {
	// KeepRunningHeaders keeps running headers, footers, page numbers and
	// margin labels. Retrieval wants them gone; the extraction benchmark
	// uses it because some ground truths (the Bundestag's official
	// protocol text) keep them.
	KeepRunningHeaders bool
}

// ExtractWith is Extract with options.
func ExtractWith(ctx context.Context, data []byte, opts Options) ([]Page, error) {
	pages, _, err := extract(ctx, data, opts)
	return pages, err
}

// docInfo is what Load needs beyond the pages.
type docInfo struct {
	title string
	// blank holds the numbers of pages that show nothing at all: no text,
	// no image, no path. They need no OCR and get no warning.
	blank map[int]bool
}

// extractResult is what the worker goroutine hands back.
type extractResult struct {
	pages []Page
	info  docInfo
	err   error
}

// extract runs the parse in its own goroutine so that a file on which the
// library spins (it has no notion of a context) cannot hold the caller
// beyond ctx: the caller gets ctx's error back and the worker is left to
// finish on its own; its callbacks check ctx and stop as soon as they run.
func extract(ctx context.Context, data []byte, opts Options) ([]Page, docInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, docInfo{}, err
	}
	if err := checkHeader(data); err != nil {
		return nil, docInfo{}, err
	}
	done := make(chan extractResult, 1)
	go func() {
		var res extractResult
		defer func() {
			if r := recover(); r != nil {
				res = extractResult{err: recovered(r)}
			}
			done <- res
		}()
		res.pages, res.info, res.err = extractPages(ctx, data, opts)
	}()
	select {
	case res := <-done:
		return res.pages, res.info, res.err
	case <-ctx.Done():
		return nil, docInfo{}, ctx.Err()
	}
}

// recovered turns a panic of the library (or of hostile input reaching an
// index out of range) into an Invalid error; a context abort is returned as
// the context's error.
func recovered(r any) error {
	if a, ok := r.(abort); ok {
		return a.err
	}
	detail := fmt.Sprint(r)
	if _, ok := r.(runtime.Error); ok {
		detail = "internal parser failure"
	}
	return &assist.Error{Op: op, Kind: assist.Invalid, Msg: "truncated or damaged PDF: " + clip(detail, 120), Err: fmt.Errorf("%v", r)}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func checkHeader(data []byte) error {
	if len(data) == 0 {
		return assist.Errorf(assist.Invalid, op, "empty file: not a PDF")
	}
	head := data[:min(len(data), 1024)]
	if !bytes.Contains(head, []byte("%PDF-")) {
		return assist.Errorf(assist.Invalid, op, "not a PDF (no %%PDF header)")
	}
	return nil
}

func openReader(data []byte) (*lpdf.Reader, error) {
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return nil, assist.Errorf(assist.Invalid, op, "unsupported PDF: data before the %%PDF header")
	}
	// The library accepts only versions 1.0 to 1.7 followed directly by a
	// line break; PDF 2.0 files and headers followed by a comment on the
	// same line are common and otherwise fine. Rewriting the header in
	// place keeps every byte offset of the xref table valid.
	if len(data) >= 9 && !(data[5] == '1' && data[6] == '.' && data[7] >= '0' && data[7] <= '7' && (data[8] == '\r' || data[8] == '\n')) {
		fixed := bytes.Clone(data)
		copy(fixed, "%PDF-1.7\n")
		data = fixed
	}
	if !bytes.Contains(data[max(0, len(data)-1024):], []byte("%%EOF")) {
		return nil, assist.Errorf(assist.Invalid, op, "truncated or damaged PDF: no %%%%EOF marker at the end")
	}
	if err := guardXref(data); err != nil {
		return nil, err
	}
	r, err := lpdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if errors.Is(err, lpdf.ErrInvalidPassword) || strings.Contains(strings.ToLower(err.Error()), "encrypt") {
			return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "encrypted PDF is not supported", Err: err}
		}
		return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "truncated or damaged PDF: " + clip(err.Error(), 120), Err: err}
	}
	return r, nil
}

// maxPages bounds the page tree walk; a hostile Count would otherwise make
// us loop for billions of iterations.
const maxPages = 20000

func extractPages(ctx context.Context, data []byte, opts Options) ([]Page, docInfo, error) {
	r, err := openReader(data)
	if err != nil {
		return nil, docInfo{}, err
	}
	title := strings.TrimSpace(r.Trailer().Key("Info").Key("Title").Text())
	pageVals := collectPages(r)
	if len(pageVals) == 0 {
		return nil, docInfo{}, assist.Errorf(assist.Invalid, op, "truncated or damaged PDF: no pages found")
	}
	layouts, err := layoutPages(ctx, pageVals)
	if err != nil {
		return nil, docInfo{}, err
	}
	if !opts.KeepRunningHeaders {
		dropRepeated(layouts)
	}
	pages := make([]Page, len(layouts))
	blank := map[int]bool{}
	for i, l := range layouts {
		text := ""
		if len(l.segs) > 0 {
			text = render(linesOf(order(l.segs, l.width)))
		}
		pages[i] = Page{Number: i + 1, Text: text, NoTextLayer: len(l.segs) == 0, Unreadable: text != "" && unreadable(text)}
		if len(l.segs) == 0 && !l.paints {
			blank[i+1] = true
		}
	}
	return pages, docInfo{title: title, blank: blank}, nil
}

// layoutPages interprets the pages on all cores: the library's Reader is
// immutable once open and so safe for concurrent reads, and fonts are
// cached per worker.
func layoutPages(ctx context.Context, pageVals []lpdf.Value) ([]pageLayout, error) {
	layouts := make([]pageLayout, len(pageVals))
	workers := min(runtime.GOMAXPROCS(0), len(pageVals), 8)
	next := make(chan int)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			var err error
			defer func() {
				if r := recover(); r != nil {
					err = recovered(r)
					for range next { // let the feeder finish
					}
				}
				errs <- err
			}()
			in := &interpreter{ctx: ctx, fonts: make(map[string]*font)}
			for i := range next {
				layouts[i] = pageText(in, pageVals[i])
			}
		}()
	}
	var ctxErr error
	for i := range pageVals {
		if ctxErr = ctx.Err(); ctxErr != nil {
			break
		}
		next <- i
	}
	close(next)
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if ctxErr != nil {
		return nil, ctxErr
	}
	return layouts, first
}

// collectPages walks the page tree itself: the library's Page(n) walks it
// from the root for every n, which is quadratic, and trusts Count.
func collectPages(r *lpdf.Reader) []lpdf.Value {
	var out []lpdf.Value
	// A hostile tree can list a node as its own kid: bound the nodes
	// visited, not just the depth, or the walk grows exponentially.
	// Inner nodes are remembered by their printed form (the library hides
	// object identity), which names their kids: a cycle stops at once.
	visits := 0
	seen := map[string]bool{}
	var walk func(v lpdf.Value, depth int)
	walk = func(v lpdf.Value, depth int) {
		visits++
		if depth > 64 || len(out) >= maxPages || visits > 3*maxPages {
			return
		}
		kids := v.Key("Kids")
		if v.Key("Type").Name() == "Page" || (kids.Kind() != lpdf.Array && !v.Key("Contents").IsNull()) {
			out = append(out, v)
			return
		}
		key := v.String()
		if seen[key] {
			return
		}
		seen[key] = true
		for i := 0; i < kids.Len() && len(out) < maxPages; i++ {
			walk(kids.Index(i), depth+1)
		}
	}
	walk(r.Trailer().Key("Root").Key("Pages"), 0)
	return out
}

// pageText interprets one page; a page whose content the library cannot
// parse keeps the glyphs read so far.
func pageText(in *interpreter, pv lpdf.Value) (l pageLayout) {
	l.width, l.height = 595, 842 // A4 when the page has no usable MediaBox
	// Inherited attributes: a hostile page can be its own parent, so the
	// walk up the tree is bounded.
	for v, up := pv, 0; !v.IsNull() && up < 32; v, up = v.Key("Parent"), up+1 {
		if mb := v.Key("MediaBox"); mb.Len() == 4 {
			w := mb.Index(2).Float64() - mb.Index(0).Float64()
			h := mb.Index(3).Float64() - mb.Index(1).Float64()
			if w > 1 && h > 1 && !math.IsInf(w, 0) && !math.IsInf(h, 0) {
				l.width, l.height = w, h
			}
			break
		}
		if v.Key("Parent").IsNull() {
			break
		}
	}
	var res lpdf.Value
	for v, up := pv, 0; !v.IsNull() && up < 32; v, up = v.Key("Parent"), up+1 {
		if res = v.Key("Resources"); !res.IsNull() {
			break
		}
	}
	in.glyphs = in.glyphs[:0]
	func() {
		defer func() {
			if r := recover(); r != nil {
				if a, ok := r.(abort); ok {
					panic(a)
				}
				// Damaged content stream: keep what was read.
			}
		}()
		contents := pv.Key("Contents")
		if contents.IsNull() {
			return
		}
		in.byName = make(map[fontRef]*font)
		in.forms = 0
		in.paints = false
		in.run(contents, res, identity, 0, "")
	}()
	l.segs = buildSegments(in.glyphs)
	l.paints = in.paints
	return l
}

var (
	pageNumber = regexp.MustCompile(`^(?i)[\s\-–—]*(seite|page|s\.)?\s*\d{1,4}(\s*(von|of|/)\s*\d{1,4})?[\s\-–—]*$`)
)

// dropRepeated marks running headers and footers: segments in the top
// or bottom margin with the same text (digits ignored) at the same height
// on many pages, margin labels such as the Bundestag's "(A)" … "(D)"
// repeated at the same place, and bare page numbers on a page's first or
// last line. Repeated text in the body (table stubs, column heads) stays.
func dropRepeated(pages []pageLayout) {
	candidate := func(s *segment, p *pageLayout) bool {
		return inMargin(s, p.height) || marginLabel(s, p.width)
	}
	for pi := range pages {
		p := &pages[pi]
		for _, s := range p.segs {
			if !candidate(s, p) {
				continue
			}
			// Digits vary in running headers ("Seite 7 von 33"); in short
			// labels and figures they are what tells them apart.
			text := s.text
			if letters(text) >= 4 {
				text = hashDigits(text)
			}
			s.repeatKey = text + "@" + strconv.Itoa(int(math.Round(s.y/3)))
			if len(s.glyphs) <= 3 {
				s.repeatKey += "," + strconv.Itoa(int(math.Round(s.x0/6)))
			}
		}
	}
	if len(pages) >= 3 {
		count := map[string]int{}
		for pi := range pages {
			seen := map[string]bool{}
			for _, s := range pages[pi].segs {
				if s.repeatKey != "" && !seen[s.repeatKey] {
					seen[s.repeatKey] = true
					count[s.repeatKey]++
				}
			}
		}
		threshold := max(int(math.Ceil(0.4*float64(len(pages)))), 3)
		for pi := range pages {
			for _, s := range pages[pi].segs {
				if s.repeatKey != "" && count[s.repeatKey] >= threshold && utf8Len(s.text) < 200 {
					s.dropped = true
				}
			}
		}
	}
	for pi := range pages {
		p := &pages[pi]
		if len(p.segs) == 0 {
			continue
		}
		top, bottom := p.segs[0].y, p.segs[0].y
		for _, s := range p.segs {
			top, bottom = math.Max(top, s.y), math.Min(bottom, s.y)
		}
		for _, s := range p.segs {
			edge := s.y >= top-2 || s.y <= bottom+2
			if edge && inMargin(s, p.height) && pageNumber.MatchString(s.text) {
				s.dropped = true
			}
		}
	}
}

// marginLabel reports whether s is a short bracketed label (at most
// three glyphs) in the outer left or right margin, like "(A)".
func marginLabel(s *segment, width float64) bool {
	n, l := utf8Len(s.text), letters(s.text)
	if len(s.glyphs) > 3 || l == n || !strings.ContainsAny(s.text, "()[]") {
		return false
	}
	return s.x0 < 0.12*width || s.x1 > 0.88*width
}

// hashDigits replaces every run of digits by "#": page numbers and dates
// in running headers change from page to page.
func hashDigits(s string) string {
	b := make([]byte, 0, len(s))
	digit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			if !digit {
				b = append(b, '#')
			}
			digit = true
			continue
		}
		digit = false
		b = append(b, c)
	}
	return string(b)
}

// inMargin reports whether s lies in the top or bottom twelfth of a page.
func inMargin(s *segment, height float64) bool {
	return s.y < height/12 || s.y > height*11/12
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

func utf8Len(s string) int { return len([]rune(s)) }

// Load extracts the PDF named name and returns it as one document with a
// chunk per page, or per passage of a long page. Corpus and ID are left to
// the pipeline. Pages without a text layer or with an unreadable one
// become warnings and are not indexed; a PDF without any readable text is
// Invalid, so that nothing is silently indexed empty or as garbage.
func Load(ctx context.Context, name string, data []byte) (assist.Document, error) {
	pages, info, err := extract(ctx, data, Options{})
	if err != nil {
		return assist.Document{}, err
	}
	title := info.title
	if !usableTitle(title) {
		title = path.Base(strings.ReplaceAll(name, "\\", "/"))
	}
	doc := assist.Document{Title: title, Source: name, Format: "pdf"}
	textPages, garbled := 0, 0
	for _, p := range pages {
		if p.NoTextLayer {
			if !info.blank[p.Number] {
				doc.Warnings = append(doc.Warnings, fmt.Sprintf("page %d: no text layer (needs OCR)", p.Number))
			}
			continue
		}
		if p.Unreadable {
			garbled++
			doc.Warnings = append(doc.Warnings, fmt.Sprintf("page %d: text layer unreadable (needs OCR)", p.Number))
			continue
		}
		textPages++
		for n, passage := range split.Text(p.Text, 0, -1) {
			doc.Chunks = append(doc.Chunks, assist.Chunk{
				ID:       fmt.Sprintf("p%d-%d", p.Number, n),
				Source:   name,
				Ordinal:  len(doc.Chunks),
				Text:     passage,
				Citation: assist.Citation{Document: title, Page: p.Number},
				Meta:     map[string]string{"page": strconv.Itoa(p.Number)},
			})
		}
	}
	if textPages == 0 && garbled > 0 {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "no readable text layer on any of the %d pages (needs OCR)", len(pages))
	}
	if textPages == 0 {
		return assist.Document{}, assist.Errorf(assist.Invalid, op, "no text layer on any of the %d pages (needs OCR)", len(pages))
	}
	return doc, nil
}

// producerTitle matches Info titles that authoring tools fill in
// themselves: a file name ("BT-Plenarprotokoll_002.book", "Bescheid.docx")
// or "Microsoft Word - …".
var producerTitle = regexp.MustCompile(`(?i)(\.[a-z0-9]{2,5}$|^microsoft (word|excel|powerpoint) - |^untitled$|^unbenannt$)`)

// usableTitle reports whether an Info title names the document.
func usableTitle(title string) bool {
	return title != "" && hasLetter(title) && !producerTitle.MatchString(title)
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}
