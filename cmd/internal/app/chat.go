package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/ollama"
	"amtsassist/assist/openai"
	"amtsassist/cmd/internal/config"
)

// memoOptions are the generation options of the memo use case.
func memoOptions(cfg config.Config) assist.ChatOptions {
	o := assist.ChatOptions{NumCtx: cfg.MemoNumCtx, NumPredict: cfg.MemoNumPredict, KeepAlive: cfg.ChatKeepAlive}
	t := cfg.MemoTemperature
	o.Temperature = &t
	if cfg.MemoSeed >= 0 {
		s := cfg.MemoSeed
		o.Seed = &s
	}
	return o
}

// lazyChat connects to the chat model on first use and again after a
// failure, so that the service starts (and serves search and extractive
// memos) while the model server is down, and recovers when it comes back.
// Until then Chat and Check return the connection error (Unavailable, or
// NotFound naming `ollama pull`). One connection attempt runs at a time,
// bounded by connectTimeout; callers wait for it only as long as their own
// context allows, so a hanging server cannot stall readiness probes.
type lazyChat struct {
	cfg     config.Config
	log     *slog.Logger
	mu      sync.Mutex
	chat    chatBackend
	lastErr error
	pending chan struct{} // closed when the running attempt ends; nil when none runs
}

type chatBackend interface {
	assist.ChatModel
	assist.Checker
}

// connectTimeout bounds one attempt to reach the chat model server.
const connectTimeout = 15 * time.Second

var (
	_ assist.ChatModel = (*lazyChat)(nil)
	_ assist.Checker   = (*lazyChat)(nil)
)

func (l *lazyChat) get(ctx context.Context) (chatBackend, error) {
	l.mu.Lock()
	if l.chat != nil {
		c := l.chat
		l.mu.Unlock()
		return c, nil
	}
	if l.pending == nil {
		done := make(chan struct{})
		l.pending = done
		go func() {
			c, err := l.connect()
			l.mu.Lock()
			l.chat, l.lastErr, l.pending = c, err, nil
			l.mu.Unlock()
			close(done)
		}()
	}
	done := l.pending
	l.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return nil, assist.E(assist.KindOf(ctx.Err()), "chat model", ctx.Err())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.chat != nil {
		return l.chat, nil
	}
	return nil, l.lastErr
}

// connect makes one attempt to reach the configured chat model.
func (l *lazyChat) connect() (chatBackend, error) {
	ctx, cancel := context.WithTimeout(context.Background(), min(connectTimeout, l.cfg.ChatTimeout))
	defer cancel()
	opts := memoOptions(l.cfg)
	var c chatBackend
	switch l.cfg.ChatBackend {
	case "openai":
		oc, err := openai.New(openai.Config{BaseURL: l.cfg.OpenAIURL, Model: l.cfg.ChatModel, APIKey: string(l.cfg.OpenAIKey),
			Timeout: l.cfg.ChatTimeout, Options: opts}, l.log)
		if err != nil {
			return nil, err
		}
		if err := oc.Check(ctx); err != nil {
			return nil, err
		}
		c = oc
	default:
		oc, err := ollama.NewChat(ctx, ollama.ChatConfig{URL: l.cfg.OllamaURL, Model: l.cfg.ChatModel, Timeout: l.cfg.ChatTimeout, Options: opts}, l.log)
		if err != nil {
			return nil, err
		}
		c = oc
	}
	m := c.Model()
	l.log.Info("chat model ready", "backend", l.cfg.ChatBackend, "model", m.Name, "digest", m.Digest, "context_length", m.ContextLength)
	return c, nil
}

func (l *lazyChat) Chat(ctx context.Context, req assist.ChatRequest, fn func(assist.Delta) error) (assist.ChatResult, error) {
	c, err := l.get(ctx)
	if err != nil {
		return assist.ChatResult{}, err
	}
	return c.Chat(ctx, req, fn)
}

func (l *lazyChat) Check(ctx context.Context) error {
	c, err := l.get(ctx)
	if err != nil {
		return err
	}
	return c.Check(ctx)
}

func (l *lazyChat) Model() assist.ModelInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.chat != nil {
		return l.chat.Model()
	}
	return assist.ModelInfo{Name: l.cfg.ChatModel}
}

// CountTokens passes through to the backend when it can count.
func (l *lazyChat) CountTokens(ctx context.Context, text string) (int, error) {
	c, err := l.get(ctx)
	if err != nil {
		return 0, err
	}
	if tc, ok := c.(assist.TokenCounter); ok {
		return tc.CountTokens(ctx, text)
	}
	return 0, assist.Errorf(assist.Invalid, "count tokens", "the chat backend cannot count tokens")
}
