// Package ollama connects Amtsassist to an Ollama server: it implements
// assist.Embedder and assist.Checker on Ollama's HTTP API.
//
// It is the only package that imports github.com/ollama/ollama/api (its
// ollamatest subpackage aside). Client errors are translated into
// *assist.Error at this boundary, from typed errors and status codes, so
// callers see kinds and messages that name the fix ("run `ollama pull X`")
// instead of transport details.
package ollama

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"amtsassist/assist"
)

// Defaults for zero Config fields.
const (
	// DefaultTimeout bounds one request. Generous, because the first request
	// after start loads the model into memory.
	DefaultTimeout = 2 * time.Minute
	// DefaultBatchSize is the number of texts per /api/embed request: large
	// enough to amortise the request overhead, small enough that one batch
	// finishes well within the timeout on a CPU.
	DefaultBatchSize = 32
)

// Config configures a Client. The zero values of Timeout, BatchSize and
// KeepAlive select the defaults.
type Config struct {
	// URL is the Ollama server's base URL, e.g. "http://127.0.0.1:11434".
	URL string
	// EmbedModel names the embedding model, e.g. "bge-m3". Embed and Check
	// need it; a Client without one can still be checked for reachability.
	EmbedModel string
	// Timeout bounds each HTTP request (one batch of texts), not a whole
	// Embed call. Default DefaultTimeout.
	Timeout time.Duration
	// BatchSize is the number of texts sent per /api/embed request. Default
	// DefaultBatchSize.
	BatchSize int
	// KeepAlive is how long Ollama keeps the model loaded after a request.
	// Zero leaves the server's default (5 minutes); negative keeps it loaded
	// until the server stops.
	KeepAlive time.Duration
}

// Client talks to one Ollama server. It is safe for concurrent use.
type Client struct {
	cfg    Config
	url    string // normalised base URL, for messages
	api    *api.Client
	logger *slog.Logger

	mu    sync.Mutex
	model assist.ModelInfo
	// shown records that Digest and ContextLength were fetched, so Embed
	// asks /api/show only once.
	shown bool
}

var (
	_ assist.Embedder = (*Client)(nil)
	_ assist.Checker  = (*Client)(nil)
)

// New validates cfg and returns a Client. It does not contact the server;
// call Check for that. A nil logger discards log output.
func New(cfg Config, logger *slog.Logger) (*Client, error) {
	const op = "ollama config"
	base, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Timeout < 0:
		return nil, assist.Errorf(assist.Invalid, op, "ollama timeout %v is negative", cfg.Timeout)
	case cfg.BatchSize < 0:
		return nil, assist.Errorf(assist.Invalid, op, "ollama batch size %d is negative", cfg.BatchSize)
	case strings.TrimSpace(cfg.EmbedModel) != cfg.EmbedModel:
		return nil, assist.Errorf(assist.Invalid, op, "ollama embedding model name %q has leading or trailing spaces", cfg.EmbedModel)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// No http.Client timeout: each request gets a context deadline, which
	// keeps timeouts distinguishable from the caller's cancellation.
	return &Client{
		cfg:    cfg,
		url:    base.Redacted(),
		api:    api.NewClient(base, &http.Client{}),
		logger: logger.With("component", "ollama", "url", base.Redacted()),
		model:  assist.ModelInfo{Name: cfg.EmbedModel},
	}, nil
}

// parseURL accepts an absolute http(s) URL with a host, optionally with a
// path prefix and user info for servers behind an authenticating reverse
// proxy (Go's HTTP client sends the user info as basic auth). Messages and
// logs show the URL with the password redacted.
func parseURL(raw string) (*url.URL, error) {
	const op = "ollama config"
	if strings.TrimSpace(raw) == "" {
		return nil, assist.Errorf(assist.Invalid, op, "ollama URL is empty: set --ollama-url, e.g. http://127.0.0.1:11434")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Neither the message nor the cause repeats raw: it may hold a password.
		return nil, assist.Errorf(assist.Invalid, op, "ollama URL is not a valid URL (want e.g. http://127.0.0.1:11434)")
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, assist.Errorf(assist.Invalid, op, "ollama URL %s must start with http:// or https://", quote(shown))
	case u.Host == "" || u.Hostname() == "":
		return nil, assist.Errorf(assist.Invalid, op, "ollama URL %s has no host", quote(shown))
	case u.RawQuery != "" || u.Fragment != "":
		return nil, assist.Errorf(assist.Invalid, op, "ollama URL %s must not have a query or fragment", quote(shown))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, assist.Errorf(assist.Invalid, op, "ollama URL %s has an invalid port %q", quote(shown), p)
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Model describes the embedding model. Dimension is set after the first
// successful Embed or Check; Digest and ContextLength once /api/show and
// /api/tags have answered (during Check or the first Embed).
func (c *Client) Model() assist.ModelInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.model
}

// URL returns the server's base URL as the client uses it, with any
// password redacted.
func (c *Client) URL() string { return c.url }

// Check reports whether the server is reachable and, when an embedding model
// is configured, whether it is installed. It returns Unavailable when the
// server cannot be reached and NotFound when the model is missing; both
// messages name the fix. On success the model's metadata, including its
// Dimension, is known to Model.
func (c *Client) Check(ctx context.Context) error {
	const op = "ollama check"
	if c.cfg.EmbedModel == "" {
		rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		if _, err := c.api.Version(rctx); err != nil {
			return c.translate(ctx, op, "", err)
		}
		return nil
	}
	if _, err := c.ShowEmbedModel(ctx); err != nil {
		return err
	}
	if c.Model().Dimension == 0 {
		// /api/show's embedding_length is not always the output dimension
		// (pooling and projection layers may change it), so embed a probe.
		if _, err := c.Embed(ctx, []string{"Amtsassist"}); err != nil {
			return err
		}
	}
	return nil
}

// ShowEmbedModel fetches the embedding model's metadata from /api/show and
// its digest from /api/tags, records them for Model and returns them. It
// returns NotFound, naming `ollama pull`, when the model is not installed.
func (c *Client) ShowEmbedModel(ctx context.Context) (assist.ModelInfo, error) {
	const op = "ollama show"
	name := c.cfg.EmbedModel
	if name == "" {
		return assist.ModelInfo{}, assist.Errorf(assist.Invalid, op, "no Ollama embedding model is configured")
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	show, err := c.api.Show(rctx, &api.ShowRequest{Model: name})
	if err != nil {
		return assist.ModelInfo{}, c.translate(ctx, op, name, err)
	}
	list, err := c.api.List(rctx)
	if err != nil {
		return assist.ModelInfo{}, c.translate(ctx, op, name, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.model.ContextLength = contextLength(show.ModelInfo)
	c.model.Digest = digest(list, name)
	c.shown = true
	return c.model, nil
}

// contextLength reads "<architecture>.context_length" from /api/show's
// model_info; JSON numbers arrive as float64.
func contextLength(info map[string]any) int {
	arch, _ := info["general.architecture"].(string)
	if arch == "" {
		return 0
	}
	n, _ := info[arch+".context_length"].(float64)
	if n <= 0 || n > 1<<30 {
		return 0
	}
	return int(n)
}

// digest finds name in the installed models. Ollama lists names with their
// tag, so "bge-m3" is listed as "bge-m3:latest".
func digest(list *api.ListResponse, name string) string {
	want := normalizeName(name)
	for _, m := range list.Models {
		if normalizeName(m.Name) == want || normalizeName(m.Model) == want {
			return m.Digest
		}
	}
	return ""
}

func normalizeName(name string) string {
	name = strings.ToLower(name)
	if i := strings.LastIndex(name, "/"); !strings.Contains(name[i+1:], ":") {
		name += ":latest"
	}
	return name
}

// quote quotes user input for a message, shortened so that a hostile
// value cannot flood logs and responses.
func quote(s string) string {
	const maxLen = 200
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	return strconv.Quote(s)
}
