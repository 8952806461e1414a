// Package service triages service-desk tickets: it combines the desk's
// trained classifiers with an LLM (Ollama structured output restricted to
// the desk's taxonomy) into one confidence per label, finds the most similar
// resolved tickets of the same desk, suggests an answer with its sources,
// and records agents' feedback durably as training and gold data.
//
// Confidence rule (see combine): the suggestion's distribution is the
// mixture p(l) = (1-w)·p_classifier(l) + w·[l = LLM choice] with
// w = Config.LLMWeight (default 0.4). An LLM that agrees with the
// classifier's top label therefore raises its confidence by w·(1-p); one
// that disagrees needs p_classifier(choice) > p_top - w/(1-w) to win.
// Without a classifier p_classifier is uniform over the taxonomy, so an LLM
// alone never clears the default threshold for more than two labels. Below
// Config.Threshold (default 0.6) the prediction is Unsure and the agent picks
// among the alternatives. The classifier's own probabilities are calibrated
// by package classify; w is a prior, to be fitted on reviewed feedback
// (ExportGold) once enough has been collected.
//
// Every ticket text reaches the LLM only as delimited data; the model's
// output is never trusted: off-taxonomy, garbage or cut answers fall back to
// the classifier (Source "fallback", Fallback set), and a generated answer
// that echoes the ticket falls back to the best past answer.
package service

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/assist/triage/classify"
	"amtsassist/rag"
)

// Classifier is a trained label model of one desk (classify.Model
// satisfies it).
type Classifier interface {
	// Predict returns every label with its calibrated probability, most
	// likely first.
	Predict(text string) []triage.Alternative
	// Labels lists the labels the model knows.
	Labels() []string
}

// Defaults of Config.
const (
	DefaultThreshold = 0.6
	DefaultLLMWeight = 0.4
	// DefaultHalfLife is the age at which a past ticket's recency weight
	// has dropped half-way from 1 to its floor of 0.5.
	DefaultHalfLife = 180 * 24 * time.Hour
	// DefaultMaxTextBytes bounds the text of one ticket.
	DefaultMaxTextBytes = 256 << 10
	// MaxBatch bounds one TriageBatch call.
	MaxBatch = 1000
)

// Config configures a Service. Index or Retriever is required.
type Config struct {
	Index     rag.Index
	Retriever *rag.Retriever // preferred over Index: hybrid when it has an embedder
	Chat      assist.ChatModel
	// Category and Priority return the trained model of a desk, or an
	// error of kind NotFound when the desk has none. Either may be nil.
	Category, Priority func(desk string) (Classifier, error)
	// Taxonomy restricts labels; a desk missing from it (or a nil
	// Taxonomy) uses the labels of its classifiers.
	Taxonomy  *Taxonomy
	Threshold float64 // below: Unsure; default DefaultThreshold
	LLMWeight float64 // weight of the LLM choice in the mixture; default DefaultLLMWeight
	HalfLife  time.Duration
	Feedback  *FeedbackStore
	Options   assist.ChatOptions
	// MaxTextBytes bounds subject+body (TooLarge beyond); default DefaultMaxTextBytes.
	MaxTextBytes int
	// Knowledge adds the desk's documents of corpus regulations and cases
	// to the grounding of generated answers.
	Knowledge bool
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service triages tickets. It is safe for concurrent use.
type Service struct {
	cfg     Config
	log     *slog.Logger
	metrics counters
}

// Metrics are the service's counters since start, for the HTTP layer to
// export. AcceptedShare = CategoryAccepted / Feedback.
type Metrics struct {
	Suggestions      uint64 // suggestions returned
	Unsure           uint64 // category predictions below the threshold
	Fallbacks        uint64 // suggestions where the LLM output was unusable
	Feedback         uint64 // feedback records accepted
	CategoryAccepted uint64
	PriorityAccepted uint64
	AnswersUsed      uint64 // answers used as is or edited
}

type counters struct {
	suggestions, unsure, fallbacks, feedback, catAccepted, prioAccepted, answersUsed atomic.Uint64
}

// Metrics returns a snapshot of the counters.
func (s *Service) Metrics() Metrics {
	m := &s.metrics
	return Metrics{
		Suggestions: m.suggestions.Load(), Unsure: m.unsure.Load(), Fallbacks: m.fallbacks.Load(),
		Feedback: m.feedback.Load(), CategoryAccepted: m.catAccepted.Load(),
		PriorityAccepted: m.prioAccepted.Load(), AnswersUsed: m.answersUsed.Load(),
	}
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	const op = "triage service"
	if cfg.Retriever == nil && cfg.Index != nil {
		cfg.Retriever = &rag.Retriever{Index: cfg.Index}
	}
	if cfg.Retriever == nil || cfg.Retriever.Index == nil {
		return nil, assist.Errorf(assist.Invalid, op, "no ticket index configured")
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultThreshold
	}
	if cfg.Threshold < 0 || cfg.Threshold > 1 {
		return nil, assist.Errorf(assist.Invalid, op, "threshold %v is outside [0, 1]", cfg.Threshold)
	}
	if cfg.LLMWeight == 0 {
		cfg.LLMWeight = DefaultLLMWeight
	}
	if cfg.LLMWeight < 0 || cfg.LLMWeight >= 1 {
		return nil, assist.Errorf(assist.Invalid, op, "LLM weight %v is outside [0, 1)", cfg.LLMWeight)
	}
	if cfg.HalfLife <= 0 {
		cfg.HalfLife = DefaultHalfLife
	}
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = DefaultMaxTextBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: log}, nil
}

// deskModels is what triaging one desk needs.
type deskModels struct {
	tax            Desk
	category, prio Classifier
}

func (s *Service) desk(name string) (deskModels, error) {
	const op = "triage"
	var m deskModels
	var err error
	if m.category, err = classifier(s.cfg.Category, name); err != nil {
		return m, err
	}
	if m.prio, err = classifier(s.cfg.Priority, name); err != nil {
		return m, err
	}
	tax, terr := s.cfg.Taxonomy.Desk(name)
	if terr != nil {
		tax = DeskFromLabels(m.category, m.prio)
	}
	if len(tax.Categories) == 0 {
		return m, assist.Errorf(assist.NotFound, op, "unknown service desk %q: no taxonomy and no trained model", name)
	}
	m.tax = tax
	return m, nil
}

func classifier(get func(string) (Classifier, error), desk string) (Classifier, error) {
	if get == nil {
		return nil, nil
	}
	c, err := get(desk)
	if assist.KindOf(err) == assist.NotFound {
		return nil, nil
	}
	return c, err
}

// validate checks a ticket from outside.
func (s *Service) validate(t triage.Ticket) error {
	const op = "triage"
	if strings.TrimSpace(t.Desk) == "" {
		return assist.Errorf(assist.Invalid, op, "ticket has no desk (service desk or authority)")
	}
	if strings.TrimSpace(t.Subject) == "" && strings.TrimSpace(t.Body) == "" {
		return assist.Errorf(assist.Invalid, op, "ticket has neither subject nor body")
	}
	if n := len(t.Subject) + len(t.Body); n > s.cfg.MaxTextBytes {
		return assist.Errorf(assist.TooLarge, op, "ticket text has %d bytes; the limit is %d", n, s.cfg.MaxTextBytes)
	}
	if !utf8.ValidString(t.Subject) || !utf8.ValidString(t.Body) {
		return assist.Errorf(assist.Invalid, op, "ticket text is not valid UTF-8")
	}
	return nil
}

// Triage suggests category, priority, similar resolved tickets and an
// answer for t. It returns Invalid for a ticket without desk or text,
// TooLarge for an oversized text, NotFound for an unknown desk, the index's
// errors, and Canceled/Timeout from ctx. A failing LLM is never an error:
// the suggestion falls back and says so.
func (s *Service) Triage(ctx context.Context, t triage.Ticket) (triage.Suggestion, error) {
	if err := s.validate(t); err != nil {
		return triage.Suggestion{}, err
	}
	m, err := s.desk(t.Desk)
	if err != nil {
		return triage.Suggestion{}, err
	}
	text := t.Text()
	hits, err := s.search(ctx, t)
	if err != nil {
		return triage.Suggestion{}, err
	}
	examples := fewShot(hits, m.tax, 3)
	similar := s.similar(hits, 5)

	catDist := restrict(predict(m.category, text), m.tax.Categories)
	prioDist := restrict(predict(m.prio, text), m.tax.Priorities)
	sug := triage.Suggestion{TicketID: t.ID, Similar: similar, Models: s.models(m)}

	var choice llmChoice
	llmErr := errNoLLM
	if s.cfg.Chat != nil {
		choice, llmErr = s.classifyLLM(ctx, t, m.tax, examples)
		if err := ctx.Err(); err != nil {
			return triage.Suggestion{}, assist.E(assist.KindOf(err), "triage", err)
		}
		if llmErr != nil {
			s.log.WarnContext(ctx, "triage llm classification unusable", "desk", t.Desk, "ticket", t.ID, "err", llmErr)
		}
	}
	sug.Category = s.decide(catDist, m.category != nil, choice.Category, llmErr)
	if len(m.tax.Priorities) > 0 {
		sug.Priority = s.decide(prioDist, m.prio != nil, choice.Priority, llmErr)
	}
	sug.Answer = s.answer(ctx, t, similar)
	if err := ctx.Err(); err != nil {
		return triage.Suggestion{}, assist.E(assist.KindOf(err), "triage", err)
	}
	sug.Note = Note(sug)
	s.metrics.suggestions.Add(1)
	if sug.Category.Unsure {
		s.metrics.unsure.Add(1)
	}
	if sug.Category.Fallback {
		s.metrics.fallbacks.Add(1)
	}
	return sug, nil
}

var errNoLLM = errors.New("no LLM configured")

func (s *Service) models(m deskModels) map[string]string {
	out := map[string]string{}
	if m.category != nil {
		out["category"] = modelName(m.category)
	}
	if m.prio != nil {
		out["priority"] = modelName(m.prio)
	}
	if s.cfg.Chat != nil {
		out["llm"] = s.cfg.Chat.Model().Name
	}
	return out
}

// modelName names a classifier for Suggestion.Models: "name@version" of
// a classify.Model, "classifier" for others.
func modelName(c Classifier) string {
	m, ok := c.(interface{ Info() classify.Info })
	if !ok {
		return "classifier"
	}
	info := m.Info()
	name := cmp.Or(info.Name, info.Kind, "classifier")
	if info.Version != "" {
		name += "@" + info.Version
	}
	return name
}

func predict(c Classifier, text string) []triage.Alternative {
	if c == nil {
		return nil
	}
	return c.Predict(text)
}

// restrict keeps the taxonomy's labels of dist, renormalised, adds missing
// labels with zero mass and sorts descending. Without any mass on the
// taxonomy (no classifier, or one trained on other labels) the result is
// uniform: the honest prior.
func restrict(dist []triage.Alternative, labels []string) []triage.Alternative {
	if len(labels) == 0 {
		return nil
	}
	p := map[string]float64{}
	for _, a := range dist {
		if a.Confidence > 0 && a.Confidence <= 1 {
			p[a.Label] += a.Confidence
		}
	}
	var sum float64
	for _, l := range labels {
		sum += p[l]
	}
	out := make([]triage.Alternative, len(labels))
	for i, l := range labels {
		c := 1 / float64(len(labels))
		if sum > 0 {
			c = p[l] / sum
		}
		out[i] = triage.Alternative{Label: l, Confidence: c}
	}
	sortAlts(out)
	return out
}

func sortAlts(a []triage.Alternative) {
	// Stable, so that ties keep the taxonomy's order.
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].Confidence > a[j-1].Confidence; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// maxAlternatives bounds the alternatives listed in a prediction.
const maxAlternatives = 3

// decide combines the classifier distribution with the LLM's choice (empty
// when llmErr is set) per the package's confidence rule.
func (s *Service) decide(dist []triage.Alternative, hasClassifier bool, choice string, llmErr error) triage.Prediction {
	var pred triage.Prediction
	switch {
	case llmErr != nil && !errors.Is(llmErr, errNoLLM):
		pred.Source, pred.Fallback = "fallback", true
	case llmErr != nil:
		pred.Source = "classifier"
	case hasClassifier:
		pred.Source = "combined"
	default:
		pred.Source = "llm"
	}
	if llmErr == nil && choice != "" {
		w := s.cfg.LLMWeight
		mixed := make([]triage.Alternative, len(dist))
		for i, a := range dist {
			c := (1 - w) * a.Confidence
			if a.Label == choice {
				c += w
			}
			mixed[i] = triage.Alternative{Label: a.Label, Confidence: c}
		}
		sortAlts(mixed)
		dist = mixed
	}
	pred.Label, pred.Confidence = dist[0].Label, dist[0].Confidence
	pred.Unsure = pred.Confidence < s.cfg.Threshold
	n := min(maxAlternatives, len(dist))
	pred.Alternatives = append([]triage.Alternative(nil), dist[:n]...)
	return pred
}

// TriageBatch triages ts concurrently (two at a time: the LLM is the
// bottleneck) and returns one suggestion and one error per ticket, in
// order. More than MaxBatch tickets fail as a whole with TooLarge.
func (s *Service) TriageBatch(ctx context.Context, ts []triage.Ticket) ([]triage.Suggestion, []error) {
	out := make([]triage.Suggestion, len(ts))
	errs := make([]error, len(ts))
	if len(ts) > MaxBatch {
		err := assist.Errorf(assist.TooLarge, "triage batch", "%d tickets in one batch; the limit is %d", len(ts), MaxBatch)
		for i := range errs {
			errs[i] = err
		}
		return out, errs
	}
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, t := range ts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = assist.E(assist.KindOf(ctx.Err()), "triage batch", ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = s.Triage(ctx, t)
		}()
	}
	wg.Wait()
	return out, errs
}

// RecordFeedback validates fb against the desk's taxonomy and stores it.
// It returns Invalid for an empty ticket id or desk, an unknown answer
// verdict, an edited answer without its text or a label outside the
// taxonomy; NotFound for an unknown desk; Unavailable without a store.
func (s *Service) RecordFeedback(ctx context.Context, fb triage.Feedback) error {
	const op = "record feedback"
	if s.cfg.Feedback == nil {
		return assist.Errorf(assist.Unavailable, op, "no feedback store configured")
	}
	if err := validateFeedback(fb); err != nil {
		return err
	}
	m, err := s.desk(fb.Desk)
	if err != nil {
		return err
	}
	if fb.Category != "" && !m.tax.HasCategory(fb.Category) {
		return assist.Errorf(assist.Invalid, op, "category %q is not in the taxonomy of desk %q (valid: %s)", fb.Category, fb.Desk, strings.Join(m.tax.Categories, ", "))
	}
	if fb.Priority != "" && !m.tax.HasPriority(fb.Priority) {
		return assist.Errorf(assist.Invalid, op, "priority %q is not in the taxonomy of desk %q (valid: %s)", fb.Priority, fb.Desk, strings.Join(m.tax.Priorities, ", "))
	}
	if fb.At.IsZero() {
		fb.At = s.cfg.Now().UTC()
	}
	if fb.Subject == "" && fb.Body == "" {
		// Ticket systems send the verdict without the text; take it from the
		// indexed ticket so that the correction can train the next model.
		fb.Subject, fb.Body = s.ticketText(ctx, fb.Desk, fb.TicketID)
	}
	if err := s.cfg.Feedback.Append(ctx, fb); err != nil {
		return err
	}
	s.metrics.feedback.Add(1)
	if fb.CategoryAccepted {
		s.metrics.catAccepted.Add(1)
	}
	if fb.PriorityAccepted {
		s.metrics.prioAccepted.Add(1)
	}
	if fb.Answer == AnswerUsed || fb.Answer == AnswerEdited {
		s.metrics.answersUsed.Add(1)
	}
	return nil
}

// Answer verdicts of triage.Feedback.
const (
	AnswerUsed     = "used"
	AnswerEdited   = "edited"
	AnswerRejected = "rejected"
)

func validateFeedback(fb triage.Feedback) error {
	const op = "feedback"
	switch {
	case strings.TrimSpace(fb.TicketID) == "":
		return assist.Errorf(assist.Invalid, op, "feedback has no ticket id")
	case strings.TrimSpace(fb.Desk) == "":
		return assist.Errorf(assist.Invalid, op, "feedback for ticket %q has no desk", fb.TicketID)
	}
	switch fb.Answer {
	case "", AnswerUsed, AnswerRejected:
	case AnswerEdited:
		if strings.TrimSpace(fb.FinalAnswer) == "" {
			return assist.Errorf(assist.Invalid, op, "answer verdict \"edited\" needs the final answer text")
		}
	default:
		return assist.Errorf(assist.Invalid, op, "unknown answer verdict %q (valid: used, edited, rejected)", fb.Answer)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + " …"
}

// ticketText returns subject and body of an indexed ticket of desk, or
// empty strings when the ticket is not in the index.
func (s *Service) ticketText(ctx context.Context, desk, id string) (subject, body string) {
	if id == "" || s.cfg.Retriever == nil || s.cfg.Retriever.Index == nil {
		return "", ""
	}
	ix := s.cfg.Retriever.Index
	for _, docID := range []string{"ticket:" + desk + "/" + id, "ticket:" + id} {
		c, err := ix.Chunk(ctx, docID+"#text") // the tickets loader's one chunk per ticket
		if err != nil || c.Authority != desk {
			continue
		}
		subj, rest, _ := strings.Cut(c.Text, "\n\n")
		return strings.TrimSpace(subj), strings.TrimSpace(rest)
	}
	return "", ""
}
