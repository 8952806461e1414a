// Package draft is the memo use case: it validates a clerk's request,
// retrieves the norms and the case's own documents (always filtered by case
// and authority), packs them into the model's context budget, streams a
// structured draft from the chat model, verifies every citation and stores
// the memo. Without a usable chat model it builds an extractive skeleton
// from the retrieved text.
//
// The work is split in two phases, Prepare and Run, so that the HTTP layer
// can answer every request error with a real status before it sends the
// first byte of a Server-Sent Events stream.
package draft

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/verify"
	"amtsassist/prompts"
	"amtsassist/rag"
)

// Defaults of Config.
const (
	DefaultMaxFactsBytes = 32 << 10
	DefaultMaxSources    = 12
	// DefaultNumCtx is the context budget when neither the options nor the
	// model name one.
	DefaultNumCtx = 8192
	// DefaultNumPredict is the answer budget when the options leave it
	// open; a memo is rarely longer, and the budget must be explicit so
	// that packing can reserve it.
	DefaultNumPredict = 1536
	// MaxAttachments bounds the attachment ids of one request.
	MaxAttachments = 50
	// maxLineBytes bounds the one-line header fields.
	maxLineBytes = 500
)

// Config configures a Service.
type Config struct {
	// Retriever searches; nil: a lexical Retriever on Index.
	Retriever *rag.Retriever
	// Index resolves attachment ids; required.
	Index rag.Index
	// Chat drafts; nil: every memo is extractive.
	Chat assist.ChatModel
	// Prompts renders the prompts; required when Chat is set.
	Prompts *prompts.Set
	// Norms tells the verifier which norms exist; nil means
	// verify.IndexNorms(Index).
	Norms verify.Norms
	// Store persists memos; nil: memos are returned but not stored.
	Store *Store
	// Options of the memo use case: temperature, seed, num_ctx,
	// num_predict, keep_alive.
	Options assist.ChatOptions
	// MaxFactsBytes bounds the facts and, separately, the instructions;
	// 0 means DefaultMaxFactsBytes.
	MaxFactsBytes int
	// MaxSources bounds the sources given to the model; 0 means
	// DefaultMaxSources.
	MaxSources int
	Logger     *slog.Logger
	// Now gives the memo date and creation time; nil means time.Now.
	Now func() time.Time
}

// Service drafts memos. It is safe for concurrent use.
type Service struct {
	cfg Config
	ret *rag.Retriever
	log *slog.Logger
}

// New checks cfg and returns a Service. It returns Invalid when a required
// dependency is missing.
func New(cfg Config) (*Service, error) {
	const op = "memo service"
	if cfg.Index == nil {
		return nil, assist.Errorf(assist.Invalid, op, "no index configured")
	}
	if cfg.Chat != nil && cfg.Prompts == nil {
		return nil, assist.Errorf(assist.Invalid, op, "a chat model is configured but no prompts")
	}
	if cfg.Norms == nil {
		cfg.Norms = verify.IndexNorms(cfg.Index)
	}
	if cfg.MaxFactsBytes <= 0 {
		cfg.MaxFactsBytes = DefaultMaxFactsBytes
	}
	if cfg.MaxSources <= 0 {
		cfg.MaxSources = DefaultMaxSources
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Options.NumCtx < 0 || cfg.Options.NumPredict < 0 {
		return nil, assist.Errorf(assist.Invalid, op, "num_ctx and num_predict must not be negative")
	}
	if cfg.Chat != nil {
		// Budget errors are configuration errors: refuse them at start,
		// not as a failed request.
		m := cfg.Chat.Model()
		if m.ContextLength > 0 && cfg.Options.NumCtx > m.ContextLength {
			return nil, assist.Errorf(assist.Invalid, op, "num_ctx %d exceeds the context length %d of model %s", cfg.Options.NumCtx, m.ContextLength, m.Name)
		}
		numCtx := cmp.Or(cfg.Options.NumCtx, m.ContextLength, DefaultNumCtx)
		if cfg.Options.NumPredict+promptReserve >= numCtx {
			return nil, assist.Errorf(assist.Invalid, op, "num_predict %d leaves no room for a prompt in num_ctx %d", cfg.Options.NumPredict, numCtx)
		}
	}
	ret := cfg.Retriever
	if ret == nil {
		ret = &rag.Retriever{Index: cfg.Index}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, ret: ret, log: log}, nil
}

// Job is a validated, retrieved and packed memo request, ready to Run.
type Job struct {
	s       *Service
	req     memo.Request
	header  memo.Header
	mode    memo.Mode
	sources []memo.Source
	// prompt and opts are set in LLM mode.
	prompt       prompts.Prompt
	promptTokens int
	opts         assist.ChatOptions
	warnings     []string
	timings      memo.Timings
	start        time.Time
	// firstDelta is the time from the arrival of the model output that
	// carries the first section text to the emission of its delta event.
	firstDelta time.Duration
	// streamed is set once a delta of the model's text was emitted.
	streamed bool
	ran      bool
}

// Mode says whether Run drafts with the model or extractively.
func (j *Job) Mode() memo.Mode { return j.mode }

// Sources are the packed sources, numbered [1..n].
func (j *Job) Sources() []memo.Source { return j.sources }

// Warnings are notices for the clerk collected while preparing, e.g. an
// extractive fallback or a shortened source.
func (j *Job) Warnings() []string { return j.warnings }

// PromptTokens is the packed prompt's size as counted (or estimated) for
// the budget; 0 in extractive mode.
func (j *Job) PromptTokens() int { return j.promptTokens }

// FirstDelta is the service's own latency from the model output carrying
// the first section text to the first delta event; 0 before Run.
func (j *Job) FirstDelta() time.Duration { return j.firstDelta }

// Prepare validates req, checks the chat model, retrieves and packs the
// sources. It stores nothing. It returns Invalid for a request that breaks
// a rule (missing Betreff, Aktenzeichen or authority, unknown type, bad
// date), TooLarge for oversized facts or instructions or a prompt that
// cannot fit the context, NotFound for an attachment that does not exist or
// belongs to another authority (the same answer for both), and Unavailable
// when the chat model cannot be used and the request does not allow the
// extractive fallback.
func (s *Service) Prepare(ctx context.Context, req memo.Request) (*Job, error) {
	const op = "prepare memo"
	start := time.Now()
	req, err := s.validate(req)
	if err != nil {
		return nil, err
	}
	if err := s.checkAttachments(ctx, req); err != nil {
		return nil, err
	}
	j := &Job{s: s, req: req, start: start, mode: memo.ModeLLM}
	j.header = memo.Header{
		Behoerde: req.Authority, Aktenzeichen: req.Aktenzeichen, Datum: req.Date,
		Betreff: req.Betreff, Verfasser: req.Author, Type: req.Type,
	}
	switch {
	case req.Extractive:
		j.mode = memo.ModeExtractive
	case s.cfg.Chat == nil:
		j.mode = memo.ModeExtractive
		j.warnings = append(j.warnings, "Kein Sprachmodell konfiguriert: extraktiver Entwurf aus den gefundenen Normen.")
	default:
		if c, ok := s.cfg.Chat.(assist.Checker); ok {
			if err := c.Check(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, assist.E(assist.KindOf(ctx.Err()), op, ctx.Err())
				}
				reason := assist.Message(err)
				if !req.AllowExtractive {
					return nil, &assist.Error{Op: op, Kind: assist.Unavailable, Msg: "Sprachmodell nicht verfügbar: " + reason, Err: err}
				}
				s.log.WarnContext(ctx, "chat model unavailable, extractive fallback", "err", err)
				j.mode = memo.ModeExtractive
				j.warnings = append(j.warnings, "Sprachmodell nicht verfügbar ("+reason+"): extraktiver Entwurf aus den gefundenen Normen.")
			}
		}
	}

	t := time.Now()
	cands, err := s.retrieve(ctx, req)
	if err != nil {
		return nil, err
	}
	j.timings.Retrieval = time.Since(t)

	t = time.Now()
	if j.mode == memo.ModeLLM {
		if err := j.pack(ctx, cands); err != nil {
			return nil, err
		}
	} else {
		if len(cands) > s.cfg.MaxSources {
			cands = cands[:s.cfg.MaxSources]
		}
		j.sources = number(cands)
	}
	j.timings.Packing = time.Since(t)
	return j, nil
}

// validate normalises req and checks every rule that needs no I/O.
// Validate checks req against the rules of Prepare that need no lookups
// and returns it normalised (trimmed fields, default type and date). Callers
// that store uploads for a request check it first, so that a request that
// will be refused leaves nothing behind.
func (s *Service) Validate(req memo.Request) (memo.Request, error) { return s.validate(req) }

func (s *Service) validate(req memo.Request) (memo.Request, error) {
	const op = "validate memo request"
	req.Betreff = strings.TrimSpace(req.Betreff)
	req.Aktenzeichen = strings.TrimSpace(req.Aktenzeichen)
	req.Authority = strings.TrimSpace(req.Authority)
	req.Author = strings.TrimSpace(req.Author)
	req.Date = strings.TrimSpace(req.Date)
	req.Type = memo.Type(strings.ToLower(strings.TrimSpace(string(req.Type))))
	for _, f := range []struct{ name, v string }{
		{"Betreff", req.Betreff}, {"Aktenzeichen", req.Aktenzeichen}, {"Behörde (authority)", req.Authority},
		{"Verfasser (author)", req.Author}, {"Sachverhalt (facts)", req.Facts},
		{"Auftrag (instructions)", req.Instructions}, {"Datum (date)", req.Date},
	} {
		if !utf8.ValidString(f.v) {
			return req, assist.Errorf(assist.Invalid, op, "%s ist kein gültiger UTF-8-Text", f.name)
		}
	}
	switch {
	case req.Betreff == "":
		return req, assist.Errorf(assist.Invalid, op, "Betreff fehlt: das Feld \"betreff\" ist leer")
	case req.Aktenzeichen == "":
		return req, assist.Errorf(assist.Invalid, op, "Aktenzeichen fehlt: das Feld \"aktenzeichen\" ist leer")
	case req.Authority == "":
		return req, assist.Errorf(assist.Invalid, op, "Behörde fehlt: das Feld \"authority\" ist leer")
	}
	for _, f := range []struct{ name, v string }{
		{"Betreff", req.Betreff}, {"Aktenzeichen", req.Aktenzeichen},
		{"Behörde (authority)", req.Authority}, {"Verfasser (author)", req.Author},
	} {
		if len(f.v) > maxLineBytes {
			return req, assist.Errorf(assist.TooLarge, op, "%s ist zu lang: %d Bytes, höchstens %d Bytes", f.name, len(f.v), maxLineBytes)
		}
		if strings.ContainsAny(f.v, "\r\n\x00") {
			return req, assist.Errorf(assist.Invalid, op, "%s muss einzeilig sein", f.name)
		}
	}
	if req.Type == "" {
		req.Type = memo.Aktenvermerk
	}
	if !validType(req.Type) {
		names := make([]string, len(memo.Types))
		for i, t := range memo.Types {
			names[i] = string(t)
		}
		return req, assist.Errorf(assist.Invalid, op, "unbekannter Vermerktyp %q (gültig: %s)", clip(string(req.Type), 64), strings.Join(names, ", "))
	}
	limit := s.cfg.MaxFactsBytes
	if len(req.Facts) > limit {
		return req, assist.Errorf(assist.TooLarge, op, "Sachverhalt (facts) ist zu lang: %d Bytes, höchstens %d Bytes", len(req.Facts), limit)
	}
	if len(req.Instructions) > limit {
		return req, assist.Errorf(assist.TooLarge, op, "Auftrag (instructions) ist zu lang: %d Bytes, höchstens %d Bytes", len(req.Instructions), limit)
	}
	if req.Date == "" {
		req.Date = s.cfg.Now().Format(time.DateOnly)
	} else if _, err := time.Parse(time.DateOnly, req.Date); err != nil {
		return req, assist.Errorf(assist.Invalid, op, "Datum %q ist ungültig: erwartet JJJJ-MM-TT", clip(req.Date, 32))
	}
	if len(req.Attachments) > MaxAttachments {
		return req, assist.Errorf(assist.TooLarge, op, "zu viele Anlagen: %d, höchstens %d", len(req.Attachments), MaxAttachments)
	}
	seen := map[string]bool{}
	atts := req.Attachments[:0:0]
	for _, a := range req.Attachments {
		a = strings.TrimSpace(a)
		if a == "" || !utf8.ValidString(a) || len(a) > maxLineBytes {
			return req, assist.Errorf(assist.Invalid, op, "ungültige Anlagen-ID %q", clip(a, 64))
		}
		if !seen[a] {
			seen[a] = true
			atts = append(atts, a)
		}
	}
	req.Attachments = atts
	return req, nil
}

func validType(t memo.Type) bool {
	for _, v := range memo.Types {
		if v == t {
			return true
		}
	}
	return false
}

// checkAttachments answers NotFound for an attachment that does not exist,
// is not a case document, or belongs to another authority: the same answer
// for all three, so a clerk cannot learn about another authority's files.
func (s *Service) checkAttachments(ctx context.Context, req memo.Request) error {
	const op = "memo attachments"
	for _, id := range req.Attachments {
		info, err := s.cfg.Index.Document(ctx, id)
		if err != nil && assist.KindOf(err) != assist.NotFound {
			return err
		}
		if err != nil || info.Authority != req.Authority || info.Corpus != assist.CorpusCases {
			return assist.Errorf(assist.NotFound, op, "Anlage %q nicht gefunden", id)
		}
	}
	return nil
}

// Run drafts the memo, streaming events to emit, verifies it, stores it and
// returns it. The caller sends the final "done" event. Returning an error
// from emit (the client went away) stops the model's generation; Run then
// returns Canceled. A model answer that is cut off or not valid JSON is
// retried once; if the retry fails too Run returns Internal ("Die
// Modellantwort war unvollständig …") and never a half-parsed memo. A Job
// runs once.
func (j *Job) Run(ctx context.Context, emit func(memo.Event) error) (*memo.Memo, error) {
	const op = "draft memo"
	if j.ran {
		return nil, assist.Errorf(assist.Conflict, op, "job already ran")
	}
	j.ran = true
	if emit == nil {
		emit = func(memo.Event) error { return nil }
	}
	for _, w := range j.warnings {
		if err := emit(memo.Event{Type: "warning", Message: w}); err != nil {
			return nil, clientGone(op, err)
		}
	}
	var sections []memo.Section
	var model assist.ModelInfo
	if j.mode == memo.ModeExtractive {
		sections = j.extractive()
		for _, sec := range sections {
			if err := emit(memo.Event{Type: "delta", Section: sec.Key, Text: sec.Text}); err != nil {
				return nil, clientGone(op, err)
			}
		}
	} else {
		t := time.Now()
		ans, res, err := j.generate(ctx, emit)
		j.timings.Model = time.Since(t)
		switch k := assist.KindOf(err); {
		case err == nil:
			model = res.Model
			if model.Name == "" {
				model = j.s.cfg.Chat.Model()
			}
			sections = ans.sections()
		case j.req.AllowExtractive && !j.streamed && (k == assist.Unavailable || k == assist.NotFound):
			// The model went away between Prepare's check and the draft;
			// nothing was streamed yet, so the skeleton can still be sent.
			j.s.log.WarnContext(ctx, "chat model failed, extractive fallback", "err", err)
			j.mode = memo.ModeExtractive
			w := "Sprachmodell nicht verfügbar (" + assist.Message(err) + "): extraktiver Entwurf aus den gefundenen Normen."
			j.warnings = append(j.warnings, w)
			if err := emit(memo.Event{Type: "warning", Message: w}); err != nil {
				return nil, clientGone(op, err)
			}
			sections = j.extractive()
			for _, sec := range sections {
				if err := emit(memo.Event{Type: "delta", Section: sec.Key, Text: sec.Text}); err != nil {
					return nil, clientGone(op, err)
				}
			}
		default:
			return nil, err
		}
	}

	t := time.Now()
	sections, ver, err := verify.Check(ctx, sections, j.sources, j.s.cfg.Norms)
	if err != nil {
		return nil, err
	}
	j.timings.Verify = time.Since(t)
	for i := range sections {
		for k := range sections[i].Citations {
			if err := emit(memo.Event{Type: "citation", Section: sections[i].Key, Citation: &sections[i].Citations[k]}); err != nil {
				return nil, clientGone(op, err)
			}
		}
		for k := range sections[i].Findings {
			if err := emit(memo.Event{Type: "warning", Section: sections[i].Key, Finding: &sections[i].Findings[k], Message: sections[i].Findings[k].Message}); err != nil {
				return nil, clientGone(op, err)
			}
		}
	}

	m := &memo.Memo{
		ID:           NewID(),
		CreatedAt:    j.s.cfg.Now().UTC(),
		Mode:         j.mode,
		Header:       j.header,
		Sections:     sections,
		Sources:      j.sources,
		Verification: ver,
		Request:      j.req,
		Model:        model,
		Mark:         memo.DraftMark,
		Warnings:     j.warnings,
	}
	if j.mode == memo.ModeLLM {
		m.PromptHash, m.PromptName = j.prompt.Hash, j.prompt.Name
	}
	j.timings.Total = time.Since(j.start)
	m.Timings = j.timings
	if j.s.cfg.Store != nil {
		if err := j.s.cfg.Store.Put(ctx, m); err != nil {
			return nil, err
		}
	}
	j.s.log.InfoContext(ctx, "memo drafted", "id", m.ID, "mode", m.Mode, "sources", len(m.Sources),
		"status", m.Verification.Status, "model_time", j.timings.Model, "total", j.timings.Total)
	return m, nil
}

// clientGone turns an error returned by emit into Canceled.
func clientGone(op string, err error) error {
	return &assist.Error{Op: op, Kind: assist.Canceled, Msg: "Verbindung zum Client abgebrochen", Err: err}
}

// answer is the model's structured answer.
type answer struct {
	Sachverhalt *string `json:"sachverhalt"`
	Wuerdigung  *string `json:"wuerdigung"`
	Ergebnis    *string `json:"ergebnis"`
	Verfuegung  *string `json:"verfuegung"`
}

// parseAnswer accepts only a complete JSON object with all four keys as
// strings; anything else is an incomplete answer.
func parseAnswer(content string) (answer, error) {
	var a answer
	dec := json.NewDecoder(strings.NewReader(content))
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("answer is not valid JSON: %w", err)
	}
	if dec.More() {
		return a, fmt.Errorf("answer has data after the JSON object")
	}
	var missing []string
	for _, f := range []struct {
		k string
		v *string
	}{{memo.SectionSachverhalt, a.Sachverhalt}, {memo.SectionWuerdigung, a.Wuerdigung}, {memo.SectionErgebnis, a.Ergebnis}, {memo.SectionVerfuegung, a.Verfuegung}} {
		if f.v == nil {
			missing = append(missing, f.k)
		}
	}
	if len(missing) > 0 {
		return a, fmt.Errorf("answer lacks %s", strings.Join(missing, ", "))
	}
	return a, nil
}

func (a answer) sections() []memo.Section {
	texts := map[string]string{
		memo.SectionSachverhalt: *a.Sachverhalt, memo.SectionWuerdigung: *a.Wuerdigung,
		memo.SectionErgebnis: *a.Ergebnis, memo.SectionVerfuegung: *a.Verfuegung,
	}
	out := make([]memo.Section, 0, len(memo.SectionKeys))
	for _, k := range memo.SectionKeys {
		out = append(out, memo.Section{Key: k, Title: memo.SectionTitles[k], Text: strings.TrimSpace(texts[k])})
	}
	return out
}

// generate asks the model for the answer, with one retry for an answer
// that is cut off or malformed.
func (j *Job) generate(ctx context.Context, emit func(memo.Event) error) (answer, assist.ChatResult, error) {
	const op = "draft memo"
	opts := j.opts
	var why error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt == 1 {
			// The retry is deterministic and, when the context allows, gets
			// more room for the answer: a cut answer is the common failure.
			zero := 0.0
			opts.Temperature = &zero
			if room := opts.NumCtx - j.promptTokens; room > opts.NumPredict {
				opts.NumPredict = min(2*opts.NumPredict, room)
			}
			j.s.log.WarnContext(ctx, "incomplete model answer, retrying", "err", why, "num_predict", opts.NumPredict)
			if err := emit(memo.Event{Type: "warning", Kind: "retry", Message: "Die Modellantwort war unvollständig; der Entwurf wird neu erstellt (bisher gesendeter Text ist verworfen)."}); err != nil {
				return answer{}, assist.ChatResult{}, clientGone(op, err)
			}
		}
		res, err := j.attempt(ctx, opts, emit)
		if err != nil {
			return answer{}, res, err
		}
		if res.DoneReason != "" && res.DoneReason != "stop" { // "length", "incomplete"
			why = fmt.Errorf("answer ended with %q after %d tokens (num_predict %d)", res.DoneReason, res.OutputTokens, opts.NumPredict)
			continue
		}
		a, err := parseAnswer(res.Content)
		if err != nil {
			why = err
			continue
		}
		return a, res, nil
	}
	return answer{}, assist.ChatResult{}, &assist.Error{Op: op, Kind: assist.Internal,
		Msg: "Die Modellantwort war unvollständig (abgeschnitten oder kein vollständiges JSON), auch nach einem zweiten Versuch; bitte den Umfang verringern oder num_predict erhöhen", Err: why}
}

// attempt runs one generation, streaming section text as delta events.
func (j *Job) attempt(ctx context.Context, opts assist.ChatOptions, emit func(memo.Event) error) (assist.ChatResult, error) {
	const op = "draft memo"
	req := assist.ChatRequest{
		Messages: []assist.ChatMessage{
			{Role: assist.RoleSystem, Content: j.prompt.System},
			{Role: assist.RoleUser, Content: j.prompt.User},
		},
		Format:  j.s.cfg.Prompts.Schema(),
		Options: opts,
	}
	var fs fieldStream
	var emitErr error
	var content strings.Builder
	first := j.firstDelta == 0
	var arrived time.Time
	fn := func(d assist.Delta) error {
		arrived = time.Now()
		content.WriteString(d.Content)
		fs.feed(d.Content, func(key, text string) {
			if emitErr != nil || !isSectionKey(key) {
				return
			}
			if first {
				j.firstDelta = time.Since(arrived)
				first = false
			}
			j.streamed = true
			emitErr = emit(memo.Event{Type: "delta", Section: key, Text: text})
		})
		return emitErr
	}
	res, err := j.s.cfg.Chat.Chat(ctx, req, fn)
	if emitErr != nil {
		return res, clientGone(op, emitErr)
	}
	if err != nil {
		return res, err
	}
	if res.Content == "" {
		res.Content = content.String()
	}
	return res, nil
}

func isSectionKey(k string) bool {
	_, ok := memo.SectionTitles[k]
	return ok
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
