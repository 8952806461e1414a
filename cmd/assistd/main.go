// Command assistd is the Amtsassist HTTP service: it opens the embedded
// index in the data directory and serves the API (search, uploads, ticket
// imports, health, metrics, OpenAPI).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"amtsassist/assist/httpapi"
	"amtsassist/assist/memo"
	"amtsassist/assist/triage/service"
	"amtsassist/cmd/internal/app"
	"amtsassist/cmd/internal/config"
	"amtsassist/cmd/internal/demo"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, _, err := config.Load("assistd", config.Common|config.Server, os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "assistd: %v\n", err)
		os.Exit(2)
	}
	m := &Main{Config: cfg, Log: cfg.Logger()}
	if err := m.Run(ctx); err != nil {
		m.Log.Error("assistd failed", "err", err)
		m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	m.Log.Info("shutting down")
	if err := m.Close(); err != nil {
		m.Log.Error("shutdown failed", "err", err)
		os.Exit(1)
	}
}

// Main is the service, startable from tests (listen on 127.0.0.1:0).
type Main struct {
	Config config.Config
	Log    *slog.Logger

	App    *app.App
	Addr   string // the address actually listened on, after Run
	server *http.Server
	done   chan error

	baseCtx    context.Context
	cancelBase context.CancelFunc
}

// Run opens everything, indexes the demo corpus when asked, and starts
// serving in the background. It returns once the listener is open.
func (m *Main) Run(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m.Log.Info("starting assistd", "version", version, "config", m.Config)
	a, err := app.Open(ctx, m.Config, m.Log)
	if err != nil {
		return err
	}
	m.App = a
	if m.Config.Demo {
		if err := m.loadDemo(ctx); err != nil {
			return err
		}
	}
	h, err := httpapi.New(httpapi.Config{
		Retriever: a.Retriever, Index: a.Index, Ingester: a.Pipeline, Checks: a.Checks,
		MaxBodyBytes: m.Config.MaxBodyBytes, MaxUploadBytes: m.Config.MaxUploadBytes,
		Logger: m.Log, Version: version, APIToken: string(m.Config.APIToken),
		Drafter: drafter{a}, Triager: a.Triage, Note: service.Note,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Listen, err)
	}
	m.Addr = ln.Addr().String()
	// Requests run in a context that Close cancels after the grace period,
	// so that streams still generating stop on the model server too.
	m.baseCtx, m.cancelBase = context.WithCancel(context.Background())
	m.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ReadTimeout: 10 * time.Minute, // a client trickling an upload does not hold a connection forever
		BaseContext: func(net.Listener) context.Context { return m.baseCtx }}
	m.done = make(chan error, 1)
	go func() { m.done <- m.server.Serve(ln) }()
	m.Log.Info("listening", "addr", "http://"+m.Addr)
	return nil
}

// loadDemo indexes the bundled demo corpus into an empty index.
func (m *Main) loadDemo(ctx context.Context) error {
	st, err := m.App.Index.Stats(ctx)
	if err != nil {
		return err
	}
	if st.Documents > 0 {
		m.Log.Info("demo corpus not loaded: the index already holds documents", "documents", st.Documents)
		return nil
	}
	for _, b := range demo.Batches() {
		rep, err := m.App.Pipeline.IngestInputs(ctx, b.Inputs, b.Options)
		if err != nil {
			return fmt.Errorf("demo corpus: %w", err)
		}
		m.Log.Info("demo corpus indexed", "corpus", b.Options.Corpus, "documents", rep.Documents, "chunks", rep.Chunks)
	}
	return nil
}

// Close stops serving (letting running requests finish for up to 10 s) and
// closes the index.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.server.Shutdown(ctx); err != nil {
			// The grace period is over: cancel what still runs (memo
			// streams stop generating) and close the connections.
			m.cancelBase()
			m.server.Close()
		}
		m.cancelBase()
		if err := <-m.done; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if m.App != nil {
		errs = append(errs, m.App.Close())
	}
	return errors.Join(errs...)
}

// drafter adapts the memo service to the HTTP API's Drafter.
type drafter struct{ a *app.App }

func (d drafter) Prepare(ctx context.Context, req memo.Request) (httpapi.DraftJob, error) {
	j, err := d.a.Memos.Prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (d drafter) Validate(req memo.Request) (memo.Request, error) { return d.a.Memos.Validate(req) }

func (d drafter) Memo(ctx context.Context, id string) (*memo.Memo, error) {
	return d.a.MemoStore.Get(ctx, id)
}
