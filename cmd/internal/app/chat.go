package app

import (
	"context"
	"log/slog"
	"sync"

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
// NotFound naming `ollama pull`).
type lazyChat struct {
	cfg  config.Config
	log  *slog.Logger
	mu   sync.Mutex
	chat interface {
		assist.ChatModel
		assist.Checker
	}
}

var (
	_ assist.ChatModel = (*lazyChat)(nil)
	_ assist.Checker   = (*lazyChat)(nil)
)

func (l *lazyChat) get(ctx context.Context) (interface {
	assist.ChatModel
	assist.Checker
}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.chat != nil {
		return l.chat, nil
	}
	opts := memoOptions(l.cfg)
	switch l.cfg.ChatBackend {
	case "openai":
		c, err := openai.New(openai.Config{BaseURL: l.cfg.OpenAIURL, Model: l.cfg.ChatModel, APIKey: string(l.cfg.OpenAIKey),
			Timeout: l.cfg.ChatTimeout, Options: opts}, l.log)
		if err != nil {
			return nil, err
		}
		if err := c.Check(ctx); err != nil {
			return nil, err
		}
		l.chat = c
	default:
		c, err := ollama.NewChat(ctx, ollama.ChatConfig{URL: l.cfg.OllamaURL, Model: l.cfg.ChatModel, Timeout: l.cfg.ChatTimeout, Options: opts}, l.log)
		if err != nil {
			return nil, err
		}
		l.chat = c
	}
	m := l.chat.Model()
	l.log.Info("chat model ready", "backend", l.cfg.ChatBackend, "model", m.Name, "digest", m.Digest, "context_length", m.ContextLength)
	return l.chat, nil
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
