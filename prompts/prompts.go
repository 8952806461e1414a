// Package prompts holds the German prompt templates of memo drafting: one
// system prompt with the rules every draft follows (cite only the given
// sources, [n] markers, verbatim quotes only with their marker, say when the
// sources are silent, never invent a norm) and one user template per memo
// type. The defaults are embedded; an authority can override any of them
// from a directory. Every rendered prompt carries a version hash of the
// template texts used, so that each stored memo records exactly which
// wording produced it.
//
// Templates are text/template with missingkey=error, executed with a
// MemoData; besides the built-ins they may call
//
//	datum  "2026-11-28" → "28.11.2026" (other text unchanged)
//	line   one line: whitespace runs become one space, delimiters neutralised
//	data   material (notes, instructions, source text): delimiters neutralised,
//	       everything else verbatim so that quotes can be checked
//
// The package depends on the domain package assist only, not on
// assist/memo: the memo use case imports prompts, and the data passed in
// is this package's own, deliberately flat structs.
package prompts

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
	"unicode/utf8"

	"amtsassist/assist"
)

//go:embed templates/*.tmpl
var embedded embed.FS

// SystemName is the template name of the system prompt.
const SystemName = "system"

// Memo type names, equal to the values of memo.Type. They are repeated here
// so that this package need not import assist/memo.
const (
	Aktenvermerk         = "aktenvermerk"
	Gespraechsvermerk    = "gespraechsvermerk"
	Entscheidungsvermerk = "entscheidungsvermerk"
)

// Types lists the memo types there is a template for, in a fixed order.
var Types = []string{Aktenvermerk, Gespraechsvermerk, Entscheidungsvermerk}

// TypeTitles are the German names of the memo types; Memo fills
// MemoData.TypeTitle from them when the caller leaves it empty.
var TypeTitles = map[string]string{
	Aktenvermerk:         "Aktenvermerk",
	Gespraechsvermerk:    "Gesprächs-/Telefonvermerk",
	Entscheidungsvermerk: "Entscheidungsvermerk",
}

// Answer keys of the JSON answer, in memo order. They equal the section
// keys of assist/memo.
var AnswerKeys = []string{"sachverhalt", "wuerdigung", "ergebnis", "verfuegung"}

// Source kinds.
const (
	KindNorm = "Norm" // a passage of a law or regulation
	KindAkte = "Akte" // a passage of one of the case's own documents
)

// MemoData is everything a memo prompt shows the model. Header fields are
// rendered on one line each; Facts, Instructions and source texts are
// rendered as delimited material.
type MemoData struct {
	Type         string // memo type; Memo sets it to its typ argument
	TypeTitle    string // German title; empty: TypeTitles[Type]
	Behoerde     string
	Aktenzeichen string
	Datum        string // YYYY-MM-DD (rendered as DD.MM.YYYY) or free text
	Betreff      string
	Verfasser    string
	Facts        string // the clerk's Sachverhalt notes
	Instructions string // the clerk's question or instructions
	Sources      []SourceData
}

// SourceData is one numbered source the model may cite as [N].
type SourceData struct {
	N        int    // 1-based marker number, unique within a prompt
	Citation string // "§ 19 Abs. 1 WoGG", "bescheid.pdf, S. 3"
	Heading  string // "Höhe des Wohngeldes"; may be empty
	Text     string
	Kind     string // KindNorm or KindAkte
}

// Prompt is a rendered memo prompt.
type Prompt struct {
	System string
	User   string
	// Name identifies the templates used: the memo type ("aktenvermerk"),
	// prefixed by the authority slug when an override of that authority
	// was used ("stadt-musterstadt/aktenvermerk").
	Name string
	// Hash is the version of the template texts used (system and type):
	// the first 16 hex digits of their SHA-256.
	Hash string
}

// tmpl is one parsed template with the text it was parsed from.
type tmpl struct {
	name   string // "aktenvermerk"
	origin string // "embedded" or the override file's path, for messages
	text   string
	t      *template.Template
}

// Set is a loaded set of templates: the embedded defaults and the
// overrides of every authority found in the override directory. It is
// immutable after Load and safe for concurrent use.
type Set struct {
	defaults  map[string]*tmpl            // template name → template
	overrides map[string]map[string]*tmpl // authority slug → template name → template
}

// templateNames are the names a template file may have (without .tmpl).
func templateNames() []string { return append([]string{SystemName}, Types...) }

// Load parses the embedded templates and, when overrideDir is not empty,
// the per-authority overrides below it. The layout is
//
//	<overrideDir>/<authority-slug>/<template-name>.tmpl
//
// where the slug is Slug(authority) and the template name one of "system",
// "aktenvermerk", "gespraechsvermerk", "entscheidungsvermerk". An override
// replaces only the template of that name; the others stay embedded. Files
// not ending in .tmpl are ignored (a README may live there). A directory
// that is not a valid slug, a .tmpl file of an unknown name, or a template
// that does not parse or does not execute with sample data is an Invalid
// error naming the file: a broken override must stop the service at start,
// not the first clerk who drafts a memo. A missing overrideDir is NotFound.
func Load(overrideDir string) (*Set, error) {
	const op = "load prompts"
	s := &Set{defaults: map[string]*tmpl{}, overrides: map[string]map[string]*tmpl{}}
	for _, name := range templateNames() {
		b, err := embedded.ReadFile("templates/" + name + ".tmpl")
		if err != nil {
			return nil, assist.E(assist.Internal, op, err)
		}
		t, err := parse(name, "embedded "+name+".tmpl", string(b))
		if err != nil {
			return nil, assist.E(assist.Internal, op, err)
		}
		s.defaults[name] = t
	}
	if overrideDir == "" {
		return s, nil
	}
	entries, err := os.ReadDir(overrideDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &assist.Error{Op: op, Kind: assist.NotFound, Msg: fmt.Sprintf("prompt override directory %s does not exist", overrideDir), Err: err}
		}
		return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("cannot read prompt override directory %s", overrideDir), Err: err}
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		slug := e.Name()
		if Slug(slug) != slug {
			return nil, assist.Errorf(assist.Invalid, op, "prompt override directory %s: %q is not an authority slug (lower case a-z, 0-9 and single hyphens; e.g. %q)", overrideDir, slug, Slug(slug))
		}
		dir := filepath.Join(overrideDir, slug)
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("cannot read prompt override directory %s", dir), Err: err}
		}
		for _, f := range files {
			if f.IsDir() || !strings.HasSuffix(f.Name(), ".tmpl") {
				continue
			}
			path := filepath.Join(dir, f.Name())
			name := strings.TrimSuffix(f.Name(), ".tmpl")
			if !slices.Contains(templateNames(), name) {
				return nil, assist.Errorf(assist.Invalid, op, "prompt override %s: unknown template name %q (valid: %s)", path, name, strings.Join(templateNames(), ", "))
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("cannot read prompt override %s", path), Err: err}
			}
			if !utf8.Valid(b) {
				return nil, assist.Errorf(assist.Invalid, op, "prompt override %s is not valid UTF-8", path)
			}
			t, err := parse(name, path, string(b))
			if err != nil {
				return nil, &assist.Error{Op: op, Kind: assist.Invalid, Msg: fmt.Sprintf("prompt override %s is broken: %v", path, err), Err: err}
			}
			if s.overrides[slug] == nil {
				s.overrides[slug] = map[string]*tmpl{}
			}
			s.overrides[slug][name] = t
		}
	}
	return s, nil
}

var funcs = template.FuncMap{
	"datum": germanDate,
	"data":  neutralize,
	"line":  oneLine,
}

// parse parses and trial-executes a template: text/template finds unknown
// fields only when executing, and an override must fail at load.
func parse(name, origin, text string) (*tmpl, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(&bytes.Buffer{}, sampleData()); err != nil {
		return nil, err
	}
	return &tmpl{name: name, origin: origin, text: text, t: t}, nil
}

// sampleData exercises every field, and both branches of a range over
// sources, in the trial execution at load.
func sampleData() MemoData {
	return MemoData{
		Type: Aktenvermerk, TypeTitle: TypeTitles[Aktenvermerk], Behoerde: "Behörde", Aktenzeichen: "Az",
		Datum: "2000-01-01", Betreff: "Betreff", Verfasser: "Verfasser", Facts: "Notizen", Instructions: "Auftrag",
		Sources: []SourceData{{N: 1, Citation: "§ 1 G", Heading: "Überschrift", Text: "Text", Kind: KindNorm}},
	}
}

// Memo renders the prompt of memo type typ for the given authority: the
// authority's override templates where it has them, the embedded ones
// otherwise. It returns Invalid for an unknown type, for a source whose N
// is not positive or repeats, and for a source of an unknown kind. Text
// that is not valid UTF-8 is repaired (U+FFFD), never passed on.
func (s *Set) Memo(typ, authority string, d MemoData) (Prompt, error) {
	const op = "render memo prompt"
	if _, ok := s.defaults[typ]; !ok || typ == SystemName {
		return Prompt{}, assist.Errorf(assist.Invalid, op, "unknown memo type %q (valid: %s)", typ, strings.Join(Types, ", "))
	}
	d.Type = typ
	if d.TypeTitle == "" {
		d.TypeTitle = TypeTitles[typ]
	}
	seen := map[int]bool{}
	for i, src := range d.Sources {
		switch {
		case src.N < 1:
			return Prompt{}, assist.Errorf(assist.Invalid, op, "source %d: marker number %d is not positive", i+1, src.N)
		case seen[src.N]:
			return Prompt{}, assist.Errorf(assist.Invalid, op, "source %d: marker number [%d] is used twice", i+1, src.N)
		case src.Kind != KindNorm && src.Kind != KindAkte:
			return Prompt{}, assist.Errorf(assist.Invalid, op, "source [%d]: unknown kind %q (valid: %s, %s)", src.N, src.Kind, KindNorm, KindAkte)
		}
		seen[src.N] = true
	}
	d = validUTF8(d)

	sys, typT, name := s.pick(typ, authority)
	var sb, ub strings.Builder
	if err := sys.t.Execute(&sb, d); err != nil {
		return Prompt{}, &assist.Error{Op: op, Kind: assist.Internal, Msg: "the system prompt template failed: " + sys.origin, Err: err}
	}
	if err := typT.t.Execute(&ub, d); err != nil {
		return Prompt{}, &assist.Error{Op: op, Kind: assist.Internal, Msg: "the memo prompt template failed: " + typT.origin, Err: err}
	}
	return Prompt{System: sb.String(), User: ub.String(), Name: name, Hash: hash(sys, typT)}, nil
}

// pick chooses the templates for a type and authority and names the
// combination.
func (s *Set) pick(typ, authority string) (sys, t *tmpl, name string) {
	sys, t, name = s.defaults[SystemName], s.defaults[typ], typ
	slug := Slug(authority)
	if ov, ok := s.overrides[slug]; ok && slug != "" {
		overridden := false
		if o, ok := ov[SystemName]; ok {
			sys, overridden = o, true
		}
		if o, ok := ov[typ]; ok {
			t, overridden = o, true
		}
		if overridden {
			name = slug + "/" + typ
		}
	}
	return sys, t, name
}

// hash is the version of a pair of templates. The zero byte keeps
// "ab"+"c" apart from "a"+"bc".
func hash(sys, t *tmpl) string {
	h := sha256.New()
	h.Write([]byte(sys.text))
	h.Write([]byte{0})
	h.Write([]byte(t.text))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Versions returns the hash of every prompt the set can render, by name:
// each memo type, and "<slug>/<type>" for every authority with an override
// that affects that type. It is meant for /healthz and the start-up log.
func (s *Set) Versions() map[string]string {
	v := map[string]string{}
	for _, typ := range Types {
		v[typ] = hash(s.defaults[SystemName], s.defaults[typ])
	}
	slugs := make([]string, 0, len(s.overrides))
	for slug := range s.overrides {
		slugs = append(slugs, slug)
	}
	sort.Strings(slugs)
	for _, slug := range slugs {
		for _, typ := range Types {
			sys, t, name := s.pick(typ, slug)
			if name != typ {
				v[name] = hash(sys, t)
			}
		}
	}
	return v
}

// Schema returns the JSON schema of the model's answer, for Ollama's
// format parameter: an object with exactly the four string properties of
// AnswerKeys, all required.
func (s *Set) Schema() json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{`)
	for i, k := range AnswerKeys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%q:{"type":"string"}`, k)
	}
	b.WriteString(`},"required":[`)
	for i, k := range AnswerKeys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", k)
	}
	b.WriteString(`],"additionalProperties":false}`)
	return json.RawMessage(b.String())
}

// Slug turns an authority name into the directory name of its overrides:
// lower case, ä ö ü ß spelled ae oe ue ss, every run of other characters
// than a-z and 0-9 turned into one hyphen, no hyphen at either end.
// "Stadt Musterstadt" → "stadt-musterstadt", "Landratsamt Görlitz" →
// "landratsamt-goerlitz". An empty or all-punctuation name gives "".
func Slug(authority string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(authority) {
		var rep string
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			rep = string(r)
		case r == 'ä':
			rep = "ae"
		case r == 'ö':
			rep = "oe"
		case r == 'ü':
			rep = "ue"
		case r == 'ß':
			rep = "ss"
		default:
			hyphen = b.Len() > 0
			continue
		}
		if hyphen {
			b.WriteByte('-')
			hyphen = false
		}
		b.WriteString(rep)
	}
	return b.String()
}

var isoDate = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)

// germanDate renders YYYY-MM-DD as DD.MM.YYYY, the form German memos use;
// anything else is returned unchanged.
func germanDate(s string) string {
	if m := isoDate.FindStringSubmatch(s); m != nil {
		return m[3] + "." + m[2] + "." + m[1]
	}
	return s
}

// delimiter matches the opening of the tags that delimit material in the
// user templates, in any case and with any spacing.
var delimiter = regexp.MustCompile(`(?i)<\s*/?\s*(notizen|auftrag|quelle)`)

// neutralize keeps material from closing or opening a delimiter of its
// own: "</notizen>" in the clerk's notes becomes "‹/notizen>", which the
// model cannot mistake for the end of the material. Nothing else changes,
// so sources can still be quoted verbatim.
func neutralize(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	return delimiter.ReplaceAllStringFunc(s, func(m string) string { return "‹" + m[1:] })
}

// oneLine is for header fields: line breaks would let a Betreff start a
// new section of the prompt.
func oneLine(s string) string { return neutralize(strings.Join(strings.Fields(s), " ")) }

func validUTF8(d MemoData) MemoData {
	fix := func(s *string) { *s = strings.ToValidUTF8(*s, "\uFFFD") }
	for _, p := range []*string{&d.Type, &d.TypeTitle, &d.Behoerde, &d.Aktenzeichen, &d.Datum, &d.Betreff, &d.Verfasser, &d.Facts, &d.Instructions} {
		fix(p)
	}
	srcs := make([]SourceData, len(d.Sources))
	for i, src := range d.Sources {
		fix(&src.Citation)
		fix(&src.Heading)
		fix(&src.Text)
		srcs[i] = src
	}
	d.Sources = srcs
	return d
}
