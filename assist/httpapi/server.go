// Package httpapi is Amtsassist's HTTP API: document upload, ticket import,
// search, health, readiness, metrics and the OpenAPI description. It is the
// only package that imports gin; it depends on the index, the retriever and
// an Ingester interface of its own, never on their implementations.
//
// Every error leaves through one function (writeError) that maps the
// assist.Kind of the error to a status and a JSON body with a user-safe
// message, so internals never reach a client.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/ingest"
	"amtsassist/rag"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Ingester writes uploaded sources into the index. ingest.Pipeline
// implements it.
type Ingester interface {
	// IngestInputs ingests in-memory sources. It returns an *assist.Error
	// (Invalid, naming the input and the problem) when an input failed;
	// nothing of a failed input is written. The report lists per-input
	// results, also when an error is returned.
	IngestInputs(ctx context.Context, inputs []ingest.Input, opts ingest.Options) (ingest.Report, error)
}

// Default limits, used when Config leaves them zero.
const (
	DefaultMaxBodyBytes   int64 = 4 << 20  // JSON bodies
	DefaultMaxUploadBytes int64 = 64 << 20 // uploads (PDFs, ticket exports)
)

// readyTimeout bounds one readiness probe (all checks run in parallel).
const readyTimeout = 5 * time.Second

// Config configures a Server. Index is required; the rest is optional.
type Config struct {
	// Retriever answers searches; nil builds a lexical-only one on Index.
	Retriever *rag.Retriever
	// Index is checked by /readyz and reported by /metrics.
	Index rag.Index
	// Ingester handles uploads; nil answers them with 503.
	Ingester Ingester
	// Checks are extra readiness checks by name, e.g. "ollama".
	Checks map[string]assist.Checker
	// MaxBodyBytes limits JSON bodies; 0 uses DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxUploadBytes limits uploads (multipart, raw documents, ticket
	// exports); 0 uses DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// Logger receives the access log and errors; nil discards.
	Logger *slog.Logger
	// Version is reported by /healthz.
	Version string
	// Registry receives the API's metrics and is served on /metrics; nil
	// creates one with the Go and process collectors.
	Registry *prometheus.Registry
	// APIToken, when set, is required on every /v1 route as
	// "Authorization: Bearer <token>". Probes, metrics and the OpenAPI
	// document stay open, as orchestrators and scrapers expect.
	APIToken string
	// Drafter drafts memos; nil answers the memo routes with 503.
	Drafter Drafter
	// Triager triages tickets and records feedback; nil answers the
	// triage routes with 503.
	Triager Triager
	// Note renders a suggestion as an internal-note text for the ticket
	// system (?note=true); nil answers such requests with 503.
	Note func(triage.Suggestion) string
}

// Server is the HTTP API. It is an http.Handler; the caller owns the
// http.Server (timeouts, TLS, shutdown).
type Server struct {
	cfg       Config
	retriever *rag.Retriever
	log       *slog.Logger
	metrics   *metrics
	engine    *gin.Engine
	tokenHash []byte // SHA-256 of Config.APIToken; nil: no authentication
}

// Route is one registered method and path, in OpenAPI path syntax.
type Route struct {
	Method string
	Path   string
}

var ginModeOnce sync.Once

// New validates cfg and builds the API. It returns Invalid for a missing
// index or negative limits, and Conflict when the metrics cannot be
// registered (e.g. a Registry shared by two servers).
func New(cfg Config) (*Server, error) {
	const op = "new http api"
	if cfg.Index == nil {
		return nil, assist.Errorf(assist.Invalid, op, "an index is required")
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxUploadBytes < 0 {
		return nil, assist.Errorf(assist.Invalid, op, "body limits must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxUploadBytes == 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	for name, ch := range cfg.Checks {
		if ch == nil {
			return nil, assist.Errorf(assist.Invalid, op, "readiness check %.100q is nil", name)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{cfg: cfg, retriever: cfg.Retriever, log: cfg.Logger}
	if cfg.APIToken != "" {
		sum := sha256.Sum256([]byte(cfg.APIToken))
		s.tokenHash = sum[:]
	}
	if s.retriever == nil {
		s.retriever = &rag.Retriever{Index: cfg.Index}
	}
	m, err := newMetrics(cfg.Registry, cfg.Index, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s.metrics = m

	// Release mode is process-global in gin; setting it once keeps gin
	// from printing debug routes to stdout.
	ginModeOnce.Do(func() { gin.SetMode(gin.ReleaseMode) })
	e := gin.New()
	e.ContextWithFallback = true
	e.HandleMethodNotAllowed = true
	// Redirects would bypass the middleware (no request id, no JSON body).
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.Use(s.requestScope, s.accessLog, s.recovery)
	e.NoRoute(func(c *gin.Context) {
		writeError(c, assist.Errorf(assist.NotFound, "route", "no route for %s %s", c.Request.Method, c.Request.URL.Path), nil)
	})
	e.NoMethod(func(c *gin.Context) {
		writeError(c, withStatus(assist.Invalid, http.StatusMethodNotAllowed, "route", "method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path), nil)
	})

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry})))
	e.GET("/openapi.json", serveOpenAPI)
	v1 := e.Group("/v1", s.authenticate)
	v1.POST("/documents", s.postDocuments)
	v1.POST("/tickets/import", s.importTickets)
	v1.GET("/search", s.search)
	v1.POST("/memos", s.postMemo)
	v1.GET("/memos/:id", s.getMemo)
	if err := s.routeTriage(v1); err != nil {
		return nil, err
	}
	s.engine = e
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Routes lists the registered routes, sorted by path and method, with gin's
// ":param" segments written as OpenAPI's "{param}".
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.engine.Routes() {
		out = append(out, Route{Method: r.Method, Path: openAPIPath(r.Path)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

func openAPIPath(p string) string {
	b := []byte{}
	for i := 0; i < len(p); i++ {
		if (p[i] == ':' || p[i] == '*') && (i == 0 || p[i-1] == '/') {
			j := i + 1
			for j < len(p) && p[j] != '/' {
				j++
			}
			b = append(b, '{')
			b = append(b, p[i+1:j]...)
			b = append(b, '}')
			i = j - 1
			continue
		}
		b = append(b, p[i])
	}
	return string(b)
}

// authenticate requires the bearer token on /v1 when one is configured.
// Hashes are compared in constant time, so neither the token nor its length
// leaks through timing.
func (s *Server) authenticate(c *gin.Context) {
	if s.tokenHash == nil {
		return
	}
	const op = "authenticate"
	scheme, token, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], s.tokenHash) != 1 {
		c.Header("WWW-Authenticate", `Bearer realm="amtsassist"`)
		writeError(c, &assist.Error{Op: op, Kind: assist.Invalid, Msg: "missing or wrong bearer token",
			Err: statusCause{status: http.StatusUnauthorized, kind: "unauthorized"}}, nil)
	}
}

// healthz is liveness: it touches no dependency.
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": s.cfg.Version})
}

// readyz checks the index (Stats) and every configured check in parallel.
// It answers 503 naming the failed checks, with every check's state.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
	defer cancel()
	checks := map[string]func(context.Context) error{
		"index": func(ctx context.Context) error { _, err := s.cfg.Index.Stats(ctx); return err },
	}
	for name, ch := range s.cfg.Checks {
		checks[name] = ch.Check
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		states  = map[string]string{}
		failed  []string
		details []string
	)
	record := func(name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if _, done := states[name]; done {
			return
		}
		if err == nil {
			states[name] = "ok"
			return
		}
		_, msg := publicError(err)
		states[name] = msg
		failed = append(failed, name)
		details = append(details, name+": "+err.Error())
	}
	for name, check := range checks {
		wg.Go(func() { record(name, runCheck(ctx, check)) })
	}
	// A check that ignores its context must not hold the probe past its
	// budget: it counts as timed out, and its goroutine finishes later.
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		for name := range checks {
			record(name, assist.Errorf(assist.Timeout, "readiness", "no answer within %v", readyTimeout))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failed) == 0 {
		c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": states})
		return
	}
	sort.Strings(failed)
	err := &assist.Error{Op: "readiness", Kind: assist.Unavailable, Msg: "not ready: " + strings.Join(failed, ", ") + " failed",
		Err: errors.New(strings.Join(details, "; "))}
	writeError(c, err, &ErrorBody{Checks: states})
}

// runCheck turns a panicking check into an error: a probe must not take
// the server down.
func runCheck(ctx context.Context, check func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = assist.Errorf(assist.Internal, "readiness check", "check panicked")
		}
	}()
	return check(ctx)
}
