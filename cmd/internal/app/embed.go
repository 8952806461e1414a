package app

import (
	"context"
	"log/slog"

	"amtsassist/assist"
	"amtsassist/assist/ollama"
	"amtsassist/cmd/internal/config"
)

// openEmbedder connects to Ollama and checks the embedding model, so that
// its dimension is known before the index is touched and a missing model is
// reported at start with the fix ("run `ollama pull X`").
func openEmbedder(ctx context.Context, cfg config.Config, log *slog.Logger) (assist.Embedder, assist.Checker, error) {
	c, err := ollama.New(ollama.Config{URL: cfg.OllamaURL, EmbedModel: cfg.EmbedModel, Timeout: cfg.OllamaTimeout, BatchSize: cfg.EmbedBatch}, log)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Check(ctx); err != nil {
		return nil, nil, err
	}
	log.Info("embedding model ready", "model", c.Model().Name, "dimension", c.Model().Dimension, "digest", c.Model().Digest)
	return c, c, nil
}
