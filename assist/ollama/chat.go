package ollama

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"amtsassist/assist"
)

// Defaults of ChatConfig and of the prompt budget.
const (
	// DefaultChatTimeout bounds one chat request including its whole stream.
	// Generous: a long draft on a CPU takes minutes, and the first request
	// after start loads the model.
	DefaultChatTimeout = 10 * time.Minute
	// DefaultAnswerReserve is the num_predict sent when neither the request
	// nor the configuration sets one, capped at a quarter of the context.
	// An explicit num_predict is always sent: with Ollama's default (-1) a
	// long answer runs past num_ctx and Ollama shifts the context, which
	// silently drops the start of the prompt.
	DefaultAnswerReserve = 1024

	// Reserves for the chat template, which wraps every message in role
	// markers and may add text of its own. The counts of CountTokens cover
	// message contents only, so the budget adds these.
	templateReserve   = 64 // per prompt
	perMessageReserve = 16 // per message

	// tokenCacheSize bounds the memo of exact token counts: a retried
	// prompt is not counted twice.
	tokenCacheSize = 4096
)

// DoneIncomplete is the DoneReason of an answer whose stream ended without
// the server's final message: like "length", the answer is not complete.
const DoneIncomplete = "incomplete"

// ChatConfig configures a Chat. Zero Timeout selects DefaultChatTimeout.
type ChatConfig struct {
	// URL is the Ollama server's base URL, e.g. "http://127.0.0.1:11434".
	URL string
	// Model names the chat model, e.g. "qwen2.5:7b-instruct".
	Model string
	// Timeout bounds one Chat call including streaming. Default
	// DefaultChatTimeout.
	Timeout time.Duration
	// Options are the defaults of this use case; a request's non-zero
	// options override them field by field.
	Options assist.ChatOptions
}

// Chat is an assist.ChatModel on Ollama's /api/chat. It is safe for
// concurrent use.
//
// It never lets Ollama truncate a prompt silently: every request carries an
// explicit num_ctx and num_predict, the prompt is budgeted before sending,
// and the server's prompt_eval_count is checked afterwards (see Chat).
type Chat struct {
	client *Client
	cfg    ChatConfig
	model  assist.ModelInfo
	// system is the model's default system prompt (SYSTEM in its
	// Modelfile). Ollama inserts it when a request has no system message,
	// so the budget must count it although the caller never sees it.
	system string
	logger *slog.Logger

	mu      sync.Mutex
	counts  map[[32]byte]int // exact token counts by SHA-256 of text and num_ctx
	perByte float64          // calibrated tokens per byte; 0 until calibrated
}

var (
	_ assist.ChatModel    = (*Chat)(nil)
	_ assist.TokenCounter = (*Chat)(nil)
	_ assist.Checker      = (*Chat)(nil)
)

// NewChat validates cfg and reads the model's context length (/api/show)
// and digest (/api/tags). It returns Unavailable when the server cannot be
// reached, NotFound naming `ollama pull` when the model is not installed,
// and Invalid for a bad configuration, including a num_ctx above the
// model's context length. A nil logger discards log output.
func NewChat(ctx context.Context, cfg ChatConfig, logger *slog.Logger) (*Chat, error) {
	const op = "ollama chat config"
	switch {
	case strings.TrimSpace(cfg.Model) == "":
		return nil, assist.Errorf(assist.Invalid, op, "no Ollama chat model is configured")
	case strings.TrimSpace(cfg.Model) != cfg.Model:
		return nil, assist.Errorf(assist.Invalid, op, "Ollama chat model name %s has leading or trailing spaces", quote(cfg.Model))
	case cfg.Timeout < 0:
		return nil, assist.Errorf(assist.Invalid, op, "chat timeout %v is negative", cfg.Timeout)
	}
	if err := cfg.Options.Validate(op); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultChatTimeout
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client, err := New(Config{URL: cfg.URL, Timeout: cfg.Timeout}, logger)
	if err != nil {
		return nil, err
	}
	c := &Chat{
		client: client,
		cfg:    cfg,
		logger: client.logger.With("model", cfg.Model),
		counts: map[[32]byte]int{},
	}
	info, system, err := c.show(ctx)
	if err != nil {
		return nil, err
	}
	c.model, c.system = info, system
	switch {
	case info.ContextLength == 0 && cfg.Options.NumCtx == 0:
		return nil, assist.Errorf(assist.Invalid, op, "Ollama at %s does not report the context length of model %s: set num_ctx in the configuration", client.url, cfg.Model)
	case info.ContextLength > 0 && cfg.Options.NumCtx > info.ContextLength:
		return nil, assist.Errorf(assist.Invalid, op, "num_ctx %d exceeds the context length %d of model %s", cfg.Options.NumCtx, info.ContextLength, cfg.Model)
	}
	c.logger.Info("ollama chat model", "digest", info.Digest, "context_length", info.ContextLength, "num_ctx", c.numCtx(assist.ChatOptions{}))
	return c, nil
}

// show reads the model's context length, digest and default system prompt.
func (c *Chat) show(ctx context.Context) (assist.ModelInfo, string, error) {
	const op = "ollama show"
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	show, err := c.client.api.Show(rctx, &api.ShowRequest{Model: c.cfg.Model})
	if err != nil {
		return assist.ModelInfo{}, "", c.translate(ctx, op, err)
	}
	list, err := c.client.api.List(rctx)
	if err != nil {
		return assist.ModelInfo{}, "", c.translate(ctx, op, err)
	}
	return assist.ModelInfo{
		Name:          c.cfg.Model,
		Digest:        digest(list, c.cfg.Model),
		ContextLength: contextLength(show.ModelInfo),
	}, show.System, nil
}

// Model describes the chat model as read at start.
func (c *Chat) Model() assist.ModelInfo { return c.model }

// Check reports whether the server is reachable and the chat model still
// installed: Unavailable or NotFound, both naming the fix.
func (c *Chat) Check(ctx context.Context) error {
	_, _, err := c.show(ctx)
	return err
}

// translate is the embedder's translation with a timeout message that fits
// chat: the embedder's advice (a smaller batch) does not apply here.
func (c *Chat) translate(ctx context.Context, op string, err error) error {
	err = c.client.translate(ctx, op, c.cfg.Model, err)
	var e *assist.Error
	if errors.As(err, &e) && e.Kind == assist.Timeout && ctx.Err() == nil && errors.Is(e.Err, context.DeadlineExceeded) {
		e.Msg = fmt.Sprintf("Ollama at %s did not finish within %v: raise the chat timeout or lower num_predict", c.client.url, c.cfg.Timeout)
	}
	return err
}

// merge applies the request's non-zero options over the configured ones.
func (c *Chat) merge(o assist.ChatOptions) assist.ChatOptions { return o.Over(c.cfg.Options) }

// numCtx is the context size in force for merged options m.
func (c *Chat) numCtx(m assist.ChatOptions) int {
	if m.NumCtx > 0 {
		return m.NumCtx
	}
	return c.model.ContextLength
}

// numPredict is the answer budget in force: the configured value or
// DefaultAnswerReserve, capped at a quarter of the context.
func numPredict(m assist.ChatOptions, numCtx int) int {
	if m.NumPredict > 0 {
		return m.NumPredict
	}
	return max(1, min(DefaultAnswerReserve, numCtx/4))
}

// Chat streams the answer to fn. Before sending, it budgets the prompt
// (the messages, plus the model's default system prompt when they bring
// none): when its bytes plus the template reserve fit into num_ctx minus
// num_predict, it fits (a token never covers less than one byte, and the
// reserve covers ordinary templates' role markers), and nothing is counted;
// otherwise the calibrated estimate of CountTokens decides, and a prompt it
// cannot place within the budget is counted exactly (/api/embed): one that
// does not fit is TooLarge without a chat request. After the answer,
// Ollama's prompt_eval_count is checked: a prompt that reached num_ctx was
// cut by the runner, one that came out shorter than counted lost messages;
// both are TooLarge, never a result.
func (c *Chat) Chat(ctx context.Context, req assist.ChatRequest, fn func(assist.Delta) error) (assist.ChatResult, error) {
	const op = "ollama chat"
	began := time.Now()
	if err := validateRequest(op, req); err != nil {
		return assist.ChatResult{}, err
	}
	if fn == nil {
		fn = func(assist.Delta) error { return nil }
	}
	opts := c.merge(req.Options)
	if err := opts.Validate(op); err != nil {
		return assist.ChatResult{}, err
	}
	numCtx := c.numCtx(opts)
	if c.model.ContextLength > 0 && numCtx > c.model.ContextLength {
		return assist.ChatResult{}, assist.Errorf(assist.Invalid, op, "num_ctx %d exceeds the context length %d of model %s", numCtx, c.model.ContextLength, c.cfg.Model)
	}
	predict := numPredict(opts, numCtx)
	budget := numCtx - predict
	if budget <= 0 {
		return assist.ChatResult{}, assist.Errorf(assist.TooLarge, op, "num_predict %d leaves no room for the prompt in a context of %d tokens (num_ctx)", predict, numCtx)
	}

	// What Ollama will render: the messages, preceded by the model's
	// default system prompt when they bring none.
	prompt := req.Messages
	if c.system != "" && req.Messages[0].Role != assist.RoleSystem {
		prompt = append([]assist.ChatMessage{{Role: assist.RoleSystem, Content: c.system}}, req.Messages...)
	}
	reserve := templateReserve + perMessageReserve*len(prompt)
	upper := reserve
	for _, m := range prompt {
		upper += len(m.Content)
	}
	counted := 0 // exact token count of the contents, 0 when not counted
	fits := upper <= budget
	if !fits {
		// The estimate is cheap; only a prompt it cannot place within
		// the budget is counted exactly (a forward pass over the prompt).
		est, err := c.estimateMessages(ctx, prompt)
		if err != nil {
			return assist.ChatResult{}, err
		}
		fits = est+reserve <= budget
	}
	if !fits {
		n, err := c.countMessages(ctx, prompt, numCtx)
		var e *assist.Error
		switch {
		case err == nil:
			counted = n
			if n+reserve > budget {
				return assist.ChatResult{}, assist.Errorf(assist.TooLarge, op, "prompt has %d tokens, context is %d (num_ctx) of which %d are reserved for the answer (num_predict) and %d for the chat template", n, numCtx, predict, reserve)
			}
		case errors.As(err, &e) && e.Kind == assist.TooLarge:
			return assist.ChatResult{}, assist.Errorf(assist.TooLarge, op, "prompt has more tokens than the context of %d (num_ctx): a single message exceeds it", numCtx)
		case errors.As(err, &e) && (e.Kind == assist.Invalid || e.Kind == assist.Internal):
			// The model cannot count (e.g. it does not embed); the
			// post-check below still refuses a cut prompt.
			c.logger.WarnContext(ctx, "ollama chat: prompt not counted before sending", "err", err)
		default:
			return assist.ChatResult{}, err
		}
	}

	options := map[string]any{"num_ctx": numCtx, "num_predict": predict}
	if opts.Temperature != nil {
		options["temperature"] = *opts.Temperature
	}
	if opts.Seed != nil {
		options["seed"] = *opts.Seed
	}
	stream, no := true, false
	areq := &api.ChatRequest{
		Model:    c.cfg.Model,
		Messages: make([]api.Message, len(req.Messages)),
		Stream:   &stream,
		Format:   req.Format,
		Options:  options,
		// Newer servers (not v0.6.5) honour these and fail instead of
		// truncating or shifting the context; older ones ignore them.
		Truncate: &no,
		Shift:    &no,
	}
	for i, m := range req.Messages {
		areq.Messages[i] = api.Message{Role: string(m.Role), Content: m.Content}
	}
	if opts.KeepAlive != 0 {
		areq.KeepAlive = &api.Duration{Duration: opts.KeepAlive}
	}

	// Returning fnErr from the callback makes the client close the response
	// body, which closes the connection; Ollama sees its request context
	// canceled and stops the runner's sequence. The deferred cancel makes
	// sure of it on every path.
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var (
		content strings.Builder
		first   time.Duration
		final   *api.ChatResponse
		fnErr   error
	)
	err := c.client.api.Chat(rctx, areq, func(r api.ChatResponse) error {
		if r.Message.Content != "" {
			if first == 0 {
				first = time.Since(began)
			}
			content.WriteString(r.Message.Content)
			if err := fn(assist.Delta{Content: r.Message.Content}); err != nil {
				fnErr = err
				cancel()
				return err
			}
		}
		if r.Done {
			final = &r
		}
		return nil
	})
	if fnErr != nil {
		c.logger.DebugContext(ctx, "ollama chat stopped by the consumer", "err", fnErr, "duration", time.Since(began))
		return assist.ChatResult{}, fnErr
	}
	if err != nil {
		err = c.translate(ctx, op, err)
		c.logger.DebugContext(ctx, "ollama chat failed", "err", err, "duration", time.Since(began))
		return assist.ChatResult{}, err
	}
	if final == nil {
		// The client ends the stream without an error when the body's
		// read fails, which is how a cancellation or deadline mid-stream
		// shows up.
		if err := rctx.Err(); err != nil {
			return assist.ChatResult{}, c.translate(ctx, op, err)
		}
		if content.Len() == 0 {
			return assist.ChatResult{}, assist.Errorf(assist.Unavailable, op, "Ollama at %s ended the answer stream without a final message", c.client.url)
		}
		// Ollama v0.6.5 ends a structured answer this way when one token
		// repeats too often (later versions report an error): the model's
		// output is unusable, the server is fine. Callers see an answer that
		// did not end normally and treat it like a cut one (retry or fail).
		c.logger.WarnContext(ctx, "ollama chat: stream ended without a final message", "output_bytes", content.Len())
		return assist.ChatResult{Content: content.String(), DoneReason: DoneIncomplete, NumCtx: numCtx, Model: c.model,
			Duration: time.Since(began), FirstToken: first}, nil
	}

	res := assist.ChatResult{
		Content:      content.String(),
		DoneReason:   final.DoneReason,
		PromptTokens: final.PromptEvalCount,
		OutputTokens: final.EvalCount,
		NumCtx:       numCtx,
		Model:        c.model,
		Duration:     time.Since(began),
		FirstToken:   first,
	}
	if err := checkEvaluated(op, res, counted, len(prompt)); err != nil {
		c.logger.WarnContext(ctx, "ollama chat: prompt truncated by the server", "prompt_eval_count", res.PromptTokens, "counted", counted, "num_ctx", numCtx)
		return assist.ChatResult{}, err
	}
	if res.PromptTokens == 0 {
		c.logger.WarnContext(ctx, "ollama chat: server reported no prompt_eval_count; truncation cannot be ruled out")
	}
	c.logger.DebugContext(ctx, "ollama chat", "prompt_tokens", res.PromptTokens, "output_tokens", res.OutputTokens,
		"done_reason", res.DoneReason, "num_ctx", numCtx, "first_token", first, "duration", res.Duration)
	return res, nil
}

// checkEvaluated is the post-check against silent truncation. Ollama's
// runner cuts a prompt longer than num_ctx to exactly num_ctx tokens, and
// its chat handler drops whole earlier messages when the rendered prompt
// does not fit; a prompt_eval_count at num_ctx or below the contents'
// exact count (minus one token per message for merges at the template's
// boundaries) shows either. An answer that ran past num_ctx means Ollama
// shifted the context, dropping prompt tokens mid-generation.
func checkEvaluated(op string, res assist.ChatResult, counted, messages int) error {
	switch {
	case res.PromptTokens == 0:
		return nil // not reported (servers omit zero); nothing to check
	case res.PromptTokens >= res.NumCtx:
		return assist.Errorf(assist.TooLarge, op, "prompt was cut to the context of %d tokens (num_ctx) by Ollama: it has at least %d tokens", res.NumCtx, res.PromptTokens)
	case counted > 0 && res.PromptTokens < counted-messages:
		return assist.Errorf(assist.TooLarge, op, "Ollama evaluated %d prompt tokens, but the messages have %d: it dropped part of the prompt to fit the context of %d tokens (num_ctx)", res.PromptTokens, counted, res.NumCtx)
	case res.PromptTokens+res.OutputTokens > res.NumCtx:
		return assist.Errorf(assist.TooLarge, op, "prompt (%d tokens) and answer (%d tokens) exceeded the context of %d tokens (num_ctx): Ollama dropped prompt tokens while generating", res.PromptTokens, res.OutputTokens, res.NumCtx)
	}
	return nil
}

func validateRequest(op string, req assist.ChatRequest) error {
	if len(req.Messages) == 0 {
		return assist.Errorf(assist.Invalid, op, "the chat request has no messages")
	}
	for i, m := range req.Messages {
		switch m.Role {
		case assist.RoleSystem, assist.RoleUser, assist.RoleAssistant:
		default:
			return assist.Errorf(assist.Invalid, op, "message %d has the unknown role %s (want system, user or assistant)", i+1, quote(string(m.Role)))
		}
	}
	if last := req.Messages[len(req.Messages)-1]; strings.TrimSpace(last.Content) == "" {
		return assist.Errorf(assist.Invalid, op, "the last message (%s) is empty", last.Role)
	}
	if len(req.Format) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(req.Format, &schema); err != nil {
			return assist.Errorf(assist.Invalid, op, "the response format is not a JSON schema object: %v", err)
		}
	}
	return req.Options.Validate(op)
}

// CountTokens returns a conservative estimate of the tokens text has for
// the chat model, excluding the chat template's markers (budget
// perMessageReserve per message and templateReserve per prompt on top).
//
// Ollama v0.6.5 has no tokenize endpoint. An exact count is possible
// (/api/embed with the chat model and truncate=false reports
// prompt_eval_count), but it costs a forward pass over the text: measured
// on the tiny model, 0.2-0.6 s for 1 KiB and 1.3 s for 4 KiB, about as much
// as evaluating the same text as a prompt. Context packing counts every
// candidate chunk, so CountTokens estimates instead: once per model it
// counts a German calibration text exactly (one short embed request) and
// scales by its tokens per byte plus estimateMargin. Afterwards a count
// costs no request. When the calibration cannot be done because the model
// does not embed, one token per byte is assumed (an upper bound for
// byte-level BPE tokenizers). Chat itself counts exactly whenever the
// estimate cannot place a prompt within the budget, and checks
// prompt_eval_count afterwards.
func (c *Chat) CountTokens(ctx context.Context, text string) (int, error) {
	if text == "" {
		return 0, nil
	}
	perByte, err := c.tokensPerByte(ctx)
	if err != nil {
		return 0, err
	}
	return estimateTokens(text, perByte), nil
}

// estimateMargin is added to the calibrated tokens per byte: texts differ
// from the calibration text (numbers, abbreviations, names).
const estimateMargin = 0.10

// calibrationText is ordinary German administrative prose with norm
// references, umlauts and an Aktenzeichen, below 400 bytes so that it fits
// even small contexts.
const calibrationText = "Vermerk zum Antrag auf Wohngeld (Az. 42-WG-2026/0815): Die Antragstellerin " +
	"bewohnt mit zwei Kindern eine Mietwohnung. Nach § 19 Abs. 1 WoGG ist die Höhe des " +
	"Wohngeldes nach der Formel der Anlage 1 zu berechnen; maßgeblich sind die zu " +
	"berücksichtigenden Haushaltsmitglieder (§§ 5, 6 WoGG), die Miete und das Gesamteinkommen. " +
	"Die Unterlagen sind vollständig."

func estimateTokens(text string, perByte float64) int {
	return int(float64(len(text))*perByte*(1+estimateMargin)) + 1
}

// estimateMessages estimates the contents' tokens like CountTokens.
func (c *Chat) estimateMessages(ctx context.Context, msgs []assist.ChatMessage) (int, error) {
	perByte, err := c.tokensPerByte(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range msgs {
		if m.Content != "" {
			n += estimateTokens(m.Content, perByte)
		}
	}
	return n, nil
}

// tokensPerByte calibrates once per Chat; a failure for lack of the
// server (or of the caller) is returned and retried next time.
func (c *Chat) tokensPerByte(ctx context.Context) (float64, error) {
	c.mu.Lock()
	perByte := c.perByte
	c.mu.Unlock()
	if perByte > 0 {
		return perByte, nil
	}
	n, err := c.countMessages(ctx, []assist.ChatMessage{{Role: assist.RoleUser, Content: calibrationText}}, c.numCtx(assist.ChatOptions{}))
	var e *assist.Error
	switch {
	case err == nil && n > 0:
		perByte = min(1, float64(n)/float64(len(calibrationText)))
	case errors.As(err, &e) && (e.Kind == assist.TooLarge || e.Kind == assist.Invalid || e.Kind == assist.Internal):
		c.logger.WarnContext(ctx, "ollama: token estimate not calibrated, assuming one token per byte", "err", err)
		perByte = 1
	case err == nil:
		perByte = 1
	default:
		return 0, err
	}
	c.logger.InfoContext(ctx, "ollama: token estimate calibrated", "tokens_per_byte", perByte)
	c.mu.Lock()
	c.perByte = perByte
	c.mu.Unlock()
	return perByte, nil
}

// countMessages counts the tokens of the messages' contents exactly with
// one /api/embed request. It sends the same num_ctx as the chat requests
// do: a different one would make Ollama reload the model.
func (c *Chat) countMessages(ctx context.Context, msgs []assist.ChatMessage, numCtx int) (int, error) {
	const op = "ollama count tokens"
	total := 0
	var pending []string
	var keys [][32]byte
	c.mu.Lock()
	for _, m := range msgs {
		if m.Content == "" {
			continue
		}
		k := countKey(m.Content, numCtx)
		if n, ok := c.counts[k]; ok {
			total += n
			continue
		}
		pending = append(pending, m.Content)
		keys = append(keys, k)
	}
	c.mu.Unlock()
	if len(pending) == 0 {
		return total, nil
	}

	// One request per text: prompt_eval_count is a total, and the memo
	// needs each text's own count.
	for i, text := range pending {
		n, err := c.embedCount(ctx, op, text, numCtx)
		if err != nil {
			return 0, err
		}
		total += n
		c.mu.Lock()
		if len(c.counts) >= tokenCacheSize {
			clear(c.counts)
		}
		c.counts[keys[i]] = n
		c.mu.Unlock()
	}
	return total, nil
}

func (c *Chat) embedCount(ctx context.Context, op, text string, numCtx int) (int, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	no := false
	req := &api.EmbedRequest{
		Model:    c.cfg.Model,
		Input:    text,
		Truncate: &no,
		Options:  map[string]any{"num_ctx": numCtx},
	}
	if c.cfg.Options.KeepAlive != 0 {
		req.KeepAlive = &api.Duration{Duration: c.cfg.Options.KeepAlive}
	}
	resp, err := c.client.api.Embed(rctx, req)
	if err != nil {
		var status api.StatusError
		if errors.As(err, &status) && status.StatusCode == http.StatusBadRequest && ctx.Err() == nil {
			// Ollama answers 400 "input length exceeds maximum context
			// length" when the text alone exceeds num_ctx; other 400s
			// (the model does not embed) are Invalid via translate.
			if strings.Contains(status.ErrorMessage, "context length") {
				return 0, &assist.Error{Op: op, Kind: assist.TooLarge, Msg: fmt.Sprintf("text has more tokens than the context of %d (num_ctx)", numCtx), Err: err}
			}
		}
		return 0, c.translate(ctx, op, err)
	}
	if resp.PromptEvalCount <= 0 {
		return 0, assist.Errorf(assist.Internal, op, "Ollama at %s reported no token count for model %s", c.client.url, c.cfg.Model)
	}
	return resp.PromptEvalCount, nil
}

func countKey(text string, numCtx int) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00", numCtx)
	h.Write([]byte(text))
	var k [32]byte
	h.Sum(k[:0])
	return k
}
