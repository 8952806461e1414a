// Package app wires the components both binaries share: the embedded index
// in the data directory, the optional Ollama embedder, the ingest pipeline
// and the retriever. Nothing here decides behaviour; it only connects.
package app

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"

	"amtsassist/assist"
	"amtsassist/assist/memo/draft"
	"amtsassist/assist/triage/service"
	"amtsassist/cmd/internal/config"
	"amtsassist/ingest"
	"amtsassist/prompts"
	"amtsassist/rag"
	"amtsassist/rag/local"
)

// App holds the opened components.
type App struct {
	Config    config.Config
	Log       *slog.Logger
	Index     rag.Index
	Embedder  assist.Embedder // nil: lexical only
	Checks    map[string]assist.Checker
	Pipeline  *ingest.Pipeline
	Retriever *rag.Retriever
	Chat      assist.ChatModel // nil: no chat model configured
	Memos     *draft.Service
	MemoStore *draft.Store
	Triage    *service.Service

	closers []func() error
}

// IndexDir is where the embedded index lives inside the data directory.
func IndexDir(dataDir string) string { return filepath.Join(dataDir, "index") }

// Open opens the index and, when an embedding model is configured, checks
// it against Ollama and against the model the index was built with.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	ix, err := local.Open(IndexDir(cfg.DataDir), local.Config{}, log)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Index: ix, Checks: map[string]assist.Checker{}}
	if cfg.EmbedModel != "" {
		emb, checker, err := openEmbedder(ctx, cfg, log)
		if err != nil {
			ix.Close()
			return nil, err
		}
		if err := ix.BindEmbedding(ctx, emb.Model()); err != nil {
			ix.Close()
			return nil, err
		}
		a.Embedder = emb
		a.Checks["ollama"] = checker
	} else if st, err := ix.Stats(ctx); err == nil && st.Embedding != nil {
		log.Warn("index has vectors but no embedding model is configured: searching lexically only",
			"index_model", st.Embedding.Name, "fix", "set --embed-model "+st.Embedding.Name)
	}
	a.Pipeline, err = ingest.New(ingest.Config{
		Index: ix, Embedder: a.Embedder, Workers: cfg.IngestWorkers, EmbedBatch: cfg.EmbedBatch,
		MaxFileBytes: max(cfg.MaxUploadBytes, ingest.DefaultMaxFileBytes), Logger: log,
	})
	if err != nil {
		ix.Close()
		return nil, err
	}
	a.Retriever = &rag.Retriever{Index: ix, Embedder: a.Embedder}
	if err := a.openMemos(cfg, log); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openTriage(cfg, log); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the index and the stores.
func (a *App) Close() error {
	errs := []error{a.Index.Close()}
	for _, c := range a.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// openMemos builds the memo service: prompts (with the authorities'
// overrides), the memo store in the data directory and, when configured,
// the chat model, connected lazily so that its outage does not stop the
// service (memos then fall back to extractive drafts where allowed).
func (a *App) openMemos(cfg config.Config, log *slog.Logger) error {
	ps, err := prompts.Load(cfg.PromptsDir)
	if err != nil {
		return err
	}
	store, err := draft.OpenStore(filepath.Join(cfg.DataDir, "memos"))
	if err != nil {
		return err
	}
	a.MemoStore = store
	dc := draft.Config{Retriever: a.Retriever, Index: a.Index, Prompts: ps, Store: store, Options: memoOptions(cfg), Logger: log}
	if cfg.ChatModel != "" {
		lc := &lazyChat{cfg: cfg, log: log}
		a.Chat, dc.Chat = lc, lc
		a.Checks["chat"] = lc
	}
	a.Memos, err = draft.New(dc)
	return err
}
