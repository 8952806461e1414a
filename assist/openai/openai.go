// Package openai connects Amtsassist to OpenAI-compatible chat servers
// (vLLM, llama.cpp's server, Ollama's /v1 endpoint): it implements
// assist.ChatModel, assist.TokenCounter and assist.Checker on
// github.com/tmc/langchaingo/llms/openai, the only package that imports it.
//
// langchaingo reports HTTP failures as plain strings ("API returned
// unexpected status code: 404: ...") and replaces transport errors with
// sanitized strings, so errors are not translated from its return values:
// the HTTP client handed to it records the status code, the error body and
// the transport error of each request, and translation rests on those.
//
// Unlike Ollama's native API, these servers reject a prompt longer than the
// context (HTTP 400) rather than cutting it; Ollama's /v1 endpoint is the
// exception and cuts silently, so the reported prompt tokens are checked
// against the configured context as well.
package openai

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tmc/langchaingo/llms"
	lcopenai "github.com/tmc/langchaingo/llms/openai"

	"amtsassist/assist"
)

// Defaults and estimates.
const (
	// DefaultTimeout bounds one Chat call including its stream.
	DefaultTimeout = 10 * time.Minute
	// BytesPerToken is the estimate CountTokens and the prompt budget use:
	// German administrative text takes about 3.5 to 4.5 bytes per token on
	// current multilingual tokenizers, so 3 over-counts ordinary text. It is
	// an estimate, not a bound; the server's own check (HTTP 400) and the
	// post-check on the reported prompt tokens remain the guards.
	BytesPerToken = 3

	// templateReserve and perMessageReserve budget the chat template's
	// markers, as in the Ollama backend.
	templateReserve   = 64
	perMessageReserve = 16

	// noKey is sent as the token when no API key is configured: langchaingo
	// insists on one (and would read OPENAI_API_KEY otherwise); the HTTP
	// client drops the header again before the request leaves.
	noKey = "amtsassist-no-api-key"
)

// Config configures a Chat.
type Config struct {
	// BaseURL is the server's OpenAI API root, including the version path:
	// "http://127.0.0.1:8000/v1" (vLLM), "http://127.0.0.1:11434/v1" (Ollama).
	BaseURL string
	// Model is the served model name, as GET <BaseURL>/models lists it.
	Model string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// Timeout bounds one Chat call including streaming. Default
	// DefaultTimeout.
	Timeout time.Duration
	// Options are the defaults of this use case; a request's non-zero
	// options override them. NumCtx is the server's context size: the API
	// cannot set it, so it only enables the prompt budget and the
	// post-check. KeepAlive has no equivalent and is ignored.
	Options assist.ChatOptions
}

// Chat is an assist.ChatModel on an OpenAI-compatible /chat/completions
// endpoint. It is safe for concurrent use.
type Chat struct {
	cfg    Config
	base   *url.URL
	url    string // base URL with the password redacted, for messages
	http   *http.Client
	logger *slog.Logger
}

var (
	_ assist.ChatModel    = (*Chat)(nil)
	_ assist.TokenCounter = (*Chat)(nil)
	_ assist.Checker      = (*Chat)(nil)
)

// New validates cfg and returns a Chat. It does not contact the server;
// call Check for that. A nil logger discards log output.
func New(cfg Config, logger *slog.Logger) (*Chat, error) {
	const op = "openai config"
	base, err := parseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(cfg.Model) == "":
		return nil, assist.Errorf(assist.Invalid, op, "no model is configured for the OpenAI-compatible server")
	case strings.TrimSpace(cfg.Model) != cfg.Model:
		return nil, assist.Errorf(assist.Invalid, op, "model name %s has leading or trailing spaces", quote(cfg.Model))
	case cfg.Timeout < 0:
		return nil, assist.Errorf(assist.Invalid, op, "chat timeout %v is negative", cfg.Timeout)
	}
	if err := cfg.Options.Validate(op); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Chat{
		cfg:    cfg,
		base:   base,
		url:    base.Redacted(),
		http:   &http.Client{}, // deadlines come from contexts
		logger: logger.With("component", "openai", "url", base.Redacted(), "model", cfg.Model),
	}, nil
}

func parseURL(raw string) (*url.URL, error) {
	const op = "openai config"
	if strings.TrimSpace(raw) == "" {
		return nil, assist.Errorf(assist.Invalid, op, "the base URL of the OpenAI-compatible server is empty, e.g. http://127.0.0.1:8000/v1")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, assist.Errorf(assist.Invalid, op, "the base URL of the OpenAI-compatible server is not a valid URL (want e.g. http://127.0.0.1:8000/v1)")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, assist.Errorf(assist.Invalid, op, "base URL %s must start with http:// or https://", quote(u.Redacted()))
	case u.Hostname() == "":
		return nil, assist.Errorf(assist.Invalid, op, "base URL %s has no host", quote(u.Redacted()))
	case u.RawQuery != "" || u.Fragment != "":
		return nil, assist.Errorf(assist.Invalid, op, "base URL %s must not have a query or fragment", quote(u.Redacted()))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Model describes the chat model. The API tells neither digest nor
// context length; ContextLength is the configured NumCtx.
func (c *Chat) Model() assist.ModelInfo {
	return assist.ModelInfo{Name: c.cfg.Model, ContextLength: c.cfg.Options.NumCtx}
}

// CountTokens estimates the tokens of text as its bytes / BytesPerToken,
// rounded up; the API offers no tokenizer endpoint. It costs nothing and
// matches the prompt budget of Chat, so a context packed with it passes.
func (c *Chat) CountTokens(_ context.Context, text string) (int, error) {
	return estimate(text), nil
}

func estimate(text string) int { return (len(text) + BytesPerToken - 1) / BytesPerToken }

// Check lists the served models (GET <BaseURL>/models): Unavailable when the
// server cannot be reached or refuses access, NotFound when the model is
// not among them.
func (c *Chat) Check(ctx context.Context) error {
	const op = "openai check"
	rctx, cancel := context.WithTimeout(ctx, min(c.cfg.Timeout, time.Minute))
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.base.String()+"/models", nil)
	if err != nil {
		return assist.E(assist.Internal, op, err)
	}
	rec := c.recorder()
	resp, err := rec.Do(req)
	if err != nil {
		return c.translate(ctx, rctx, op, rec, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.translate(ctx, rctx, op, rec, errors.New(resp.Status))
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&list); err != nil {
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("the server at %s did not answer like an OpenAI-compatible server: check the base URL (it ends in /v1)", c.url), Err: err}
	}
	var names []string
	for _, m := range list.Data {
		if m.ID == c.cfg.Model || m.ID == c.cfg.Model+":latest" {
			return nil
		}
		names = append(names, m.ID)
	}
	if len(names) > 10 {
		names = append(names[:10], "...")
	}
	return assist.Errorf(assist.NotFound, op, "model %s is not served by %s (served: %s): check the model name or load it on the server", c.cfg.Model, c.url, strings.Join(names, ", "))
}

// merge applies the request's non-zero options over the configured ones.
func (c *Chat) merge(o assist.ChatOptions) assist.ChatOptions { return o.Over(c.cfg.Options) }

// Chat streams the answer to fn. Returning an error from fn stops the
// stream (the connection is closed, which vLLM, llama.cpp and Ollama take
// as the end of the request) and Chat returns that error.
//
// With a NumCtx configured, a prompt whose estimate plus num_predict and
// the template reserve exceeds it is TooLarge before sending, and a
// reported prompt token count at NumCtx (Ollama's /v1 cuts silently) is
// TooLarge afterwards. Temperature defaults to 0: langchaingo always sends
// one.
func (c *Chat) Chat(ctx context.Context, req assist.ChatRequest, fn func(assist.Delta) error) (assist.ChatResult, error) {
	const op = "openai chat"
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
	if opts.NumCtx > 0 {
		est := templateReserve + perMessageReserve*len(req.Messages)
		for _, m := range req.Messages {
			est += estimate(m.Content)
		}
		if est+opts.NumPredict > opts.NumCtx {
			return assist.ChatResult{}, assist.Errorf(assist.TooLarge, op, "prompt has about %d tokens (estimated, with the chat template), context is %d (num_ctx) of which %d are reserved for the answer (num_predict)", est, opts.NumCtx, opts.NumPredict)
		}
	}

	format, err := responseFormat(op, req.Format, c.logger)
	if err != nil {
		return assist.ChatResult{}, err
	}
	rec := c.recorder()
	lopts := []lcopenai.Option{
		lcopenai.WithBaseURL(c.base.String()),
		lcopenai.WithModel(c.cfg.Model),
		lcopenai.WithToken(orDefault(c.cfg.APIKey, noKey)),
		lcopenai.WithOrganization(""), // never OPENAI_ORGANIZATION from the environment
		lcopenai.WithHTTPClient(rec),
	}
	if format != nil {
		lopts = append(lopts, lcopenai.WithResponseFormat(format))
	}
	// A client per request: langchaingo sets the response format per
	// client, and each request needs its own recorder. Construction only
	// fills a struct.
	llm, err := lcopenai.New(lopts...)
	if err != nil {
		return assist.ChatResult{}, assist.E(assist.Internal, op, err)
	}

	messages := make([]llms.MessageContent, len(req.Messages))
	for i, m := range req.Messages {
		role := llms.ChatMessageTypeHuman
		switch m.Role {
		case assist.RoleSystem:
			role = llms.ChatMessageTypeSystem
		case assist.RoleAssistant:
			role = llms.ChatMessageTypeAI
		}
		messages[i] = llms.TextParts(role, m.Content)
	}

	var (
		content strings.Builder
		first   time.Duration
		fnErr   error
	)
	temperature := 0.0
	if opts.Temperature != nil {
		temperature = *opts.Temperature
	}
	callOpts := []llms.CallOption{
		llms.WithTemperature(temperature),
		// max_tokens, not max_completion_tokens: vLLM, llama.cpp and
		// Ollama (v0.6.5 reads only max_tokens) all accept it.
		llms.WithMetadata(map[string]any{"openai:use_legacy_max_tokens": true}),
		llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
			if len(chunk) == 0 {
				return nil // role-only, finish and usage chunks
			}
			if first == 0 {
				first = time.Since(began)
			}
			content.Write(chunk)
			if err := fn(assist.Delta{Content: string(chunk)}); err != nil {
				fnErr = err
				return err
			}
			return nil
		}),
	}
	if opts.Seed != nil {
		callOpts = append(callOpts, llms.WithSeed(*opts.Seed))
	}
	if opts.NumPredict > 0 {
		callOpts = append(callOpts, llms.WithMaxTokens(opts.NumPredict))
	}

	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	resp, err := llm.GenerateContent(rctx, messages, callOpts...)
	if fnErr != nil {
		return assist.ChatResult{}, fnErr
	}
	if err == nil && rctx.Err() != nil {
		// langchaingo ends a stream whose context ended without an error.
		err = rctx.Err()
	}
	if err != nil {
		err = c.translate(ctx, rctx, op, rec, err)
		c.logger.DebugContext(ctx, "openai chat failed", "err", err, "duration", time.Since(began))
		return assist.ChatResult{}, err
	}
	if len(resp.Choices) == 0 || resp.Choices[0].StopReason == "" {
		return assist.ChatResult{}, assist.Errorf(assist.Unavailable, op, "the server at %s ended the answer stream without a finish reason", c.url)
	}
	choice := resp.Choices[0]
	intInfo := func(key string) int { n, _ := choice.GenerationInfo[key].(int); return n }
	res := assist.ChatResult{
		Content:      content.String(),
		DoneReason:   choice.StopReason,
		PromptTokens: intInfo("PromptTokens"),
		OutputTokens: intInfo("CompletionTokens"),
		NumCtx:       opts.NumCtx,
		Model:        c.Model(),
		Duration:     time.Since(began),
		FirstToken:   first,
	}
	if res.Content == "" {
		res.Content = choice.Content
	}
	if opts.NumCtx > 0 {
		switch {
		case res.PromptTokens >= opts.NumCtx:
			return assist.ChatResult{}, assist.Errorf(assist.TooLarge, op, "prompt was cut to the context of %d tokens (num_ctx) by the server at %s: it has at least %d tokens", opts.NumCtx, c.url, res.PromptTokens)
		case res.PromptTokens+res.OutputTokens > opts.NumCtx:
			return assist.ChatResult{}, assist.Errorf(assist.TooLarge, op, "prompt (%d tokens) and answer (%d tokens) exceeded the context of %d tokens (num_ctx): the server may have dropped prompt tokens while generating", res.PromptTokens, res.OutputTokens, opts.NumCtx)
		}
	}
	c.logger.DebugContext(ctx, "openai chat", "prompt_tokens", res.PromptTokens, "output_tokens", res.OutputTokens,
		"done_reason", res.DoneReason, "first_token", first, "duration", res.Duration)
	return res, nil
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
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
	return req.Options.Validate(op)
}

// supportedKeywords are the JSON schema keywords langchaingo's response
// format type carries; others are dropped on the way to the server.
var supportedKeywords = []string{"type", "description", "enum", "items", "properties", "additionalProperties", "required", "$ref"}

// responseFormat turns a JSON schema into langchaingo's json_schema
// response format. langchaingo models the schema as a fixed struct, so
// keywords beyond supportedKeywords (minItems, pattern, anyOf, ...) are
// lost; the answer must be validated by the caller anyway.
func responseFormat(op string, schema json.RawMessage, logger *slog.Logger) (*lcopenai.ResponseFormat, error) {
	if len(schema) == 0 {
		return nil, nil
	}
	var raw map[string]any
	if err := json.Unmarshal(schema, &raw); err != nil {
		return nil, assist.Errorf(assist.Invalid, op, "the response format is not a JSON schema object: %v", err)
	}
	var prop lcopenai.ResponseFormatJSONSchemaProperty
	if err := json.Unmarshal(schema, &prop); err != nil {
		return nil, assist.Errorf(assist.Invalid, op, "the response format's JSON schema cannot be sent to an OpenAI-compatible server: %v", err)
	}
	if dropped := unsupportedKeywords(raw); len(dropped) > 0 {
		logger.Warn("openai: JSON schema keywords not sent", "keywords", dropped)
	}
	return &lcopenai.ResponseFormat{
		Type:       "json_schema",
		JSONSchema: &lcopenai.ResponseFormatJSONSchema{Name: "answer", Schema: &prop},
	}, nil
}

func unsupportedKeywords(schema map[string]any) []string {
	var out []string
	for k, v := range schema {
		if !slices.Contains(supportedKeywords, k) {
			out = append(out, k)
		}
		switch k {
		case "properties":
			if props, ok := v.(map[string]any); ok {
				for _, p := range props {
					if m, ok := p.(map[string]any); ok {
						out = append(out, unsupportedKeywords(m)...)
					}
				}
			}
		case "items":
			if m, ok := v.(map[string]any); ok {
				out = append(out, unsupportedKeywords(m)...)
			}
		}
	}
	return out
}

// recorder is the HTTP client handed to langchaingo. It keeps what
// langchaingo's errors lose: the transport error, the status code and the
// error body of the request.
type recorder struct {
	client *http.Client
	apiKey string

	mu     sync.Mutex
	err    error
	status int
	body   []byte
}

func (c *Chat) recorder() *recorder {
	return &recorder{client: c.http, apiKey: c.cfg.APIKey}
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	if r.apiKey == "" {
		req.Header.Del("Authorization")
	} else {
		req.Header.Set("Authorization", "Bearer "+r.apiKey)
	}
	resp, err := r.client.Do(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err = err
		return nil, err
	}
	r.status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		r.body = b
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

func (r *recorder) result() (int, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.body, r.err
}

// translate turns a failed request into an *assist.Error from the
// recorded transport error and status code, never from langchaingo's
// message text. ctx is the caller's context, rctx the request's.
func (c *Chat) translate(ctx, rctx context.Context, op string, rec *recorder, err error) error {
	status, body, transport := rec.result()
	var (
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		record  tls.RecordHeaderError
	)
	switch {
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &assist.Error{Op: op, Kind: assist.Timeout, Msg: "the deadline passed while waiting for the model server at " + c.url, Err: err}
		}
		return &assist.Error{Op: op, Kind: assist.Canceled, Msg: "the request was canceled", Err: err}
	case rctx.Err() != nil:
		return &assist.Error{Op: op, Kind: assist.Timeout, Msg: fmt.Sprintf("the model server at %s did not finish within %v: raise the chat timeout or lower num_predict", c.url, c.cfg.Timeout), Err: err}
	case transport != nil && errors.As(transport, &netErr) && netErr.Timeout():
		return &assist.Error{Op: op, Kind: assist.Timeout, Msg: fmt.Sprintf("the model server at %s did not answer in time", c.url), Err: transport}
	case transport != nil && errors.As(transport, &certErr):
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("the TLS certificate of the model server at %s is not trusted", c.url), Err: transport}
	case transport != nil && (errors.Is(transport, http.ErrSchemeMismatch) || errors.As(transport, &record)):
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("the model server at %s does not speak TLS: use an http:// URL", c.url), Err: transport}
	case transport != nil:
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("the OpenAI-compatible server at %s is not reachable: start it or check the base URL", c.url), Err: transport}
	case status != 0 && status != http.StatusOK:
		return c.translateStatus(op, status, body, err)
	}
	// A 200 whose stream broke off (the server went away mid-answer) or an
	// answer that is not the API's JSON.
	return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("the model server at %s broke off the answer or did not answer like an OpenAI-compatible server", c.url), Err: err}
}

// apiError is the error body of OpenAI-compatible servers:
// {"error": {"message", "type", "code"}} (OpenAI, Ollama, llama.cpp) or a
// flat {"message", "type", "code"} (vLLM).
type apiError struct {
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    any    `json:"code"`
}

func parseAPIError(body []byte) (msg, code string, ok bool) {
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil {
		return "", "", false
	}
	msg, c := e.Message, e.Code
	if e.Error != nil {
		msg, c = e.Error.Message, e.Error.Code
	}
	if c != nil {
		code = fmt.Sprint(c)
	}
	msg = strings.TrimSpace(msg)
	if !utf8.ValidString(msg) || strings.ContainsAny(msg, "<>\x00") {
		msg = ""
	}
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "..."
	}
	return msg, code, msg != "" || code != ""
}

func (c *Chat) translateStatus(op string, status int, body []byte, err error) error {
	msg, code, isAPI := parseAPIError(body)
	e := &assist.Error{Op: op, Err: err}
	switch {
	case status == http.StatusNotFound && isAPI:
		e.Kind = assist.NotFound
		e.Msg = fmt.Sprintf("model %s not found on the OpenAI-compatible server at %s: check the model name (GET %s/models lists the served ones) or load it on the server", c.cfg.Model, c.url, c.url)
	case status == http.StatusNotFound:
		e.Kind = assist.Unavailable
		e.Msg = fmt.Sprintf("the server at %s does not offer the OpenAI API: check the base URL (it ends in /v1)", c.url)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = assist.Unavailable
		e.Msg = fmt.Sprintf("the model server at %s refused access (HTTP %d): check the API key", c.url, status)
	case status == http.StatusRequestEntityTooLarge || code == "context_length_exceeded":
		e.Kind = assist.TooLarge
		e.Msg = fmt.Sprintf("the model server at %s rejected the prompt as too large", c.url)
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		e.Kind = assist.Timeout
		e.Msg = fmt.Sprintf("the model server at %s did not answer in time (HTTP %d)", c.url, status)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusBadGateway:
		e.Kind = assist.Unavailable
		e.Msg = fmt.Sprintf("the model server at %s is busy or unavailable (HTTP %d): try again later", c.url, status)
	case status >= 500:
		e.Kind = assist.Unavailable
		e.Msg = fmt.Sprintf("the model server at %s failed to run model %s (HTTP %d): see its log", c.url, c.cfg.Model, status)
	default:
		// 400 and other rejections: the servers' messages are written for
		// users ("This model's maximum context length is 4096 tokens ...").
		e.Kind = assist.Invalid
		e.Msg = fmt.Sprintf("the model server at %s rejected the request for model %s (HTTP %d)", c.url, c.cfg.Model, status)
	}
	if msg != "" && (e.Kind == assist.Invalid || e.Kind == assist.TooLarge) {
		e.Msg += ": " + msg
	}
	return e
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
