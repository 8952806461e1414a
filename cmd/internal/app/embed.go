package app

import (
	"context"
	"log/slog"

	"amtsassist/assist"
	"amtsassist/cmd/internal/config"
)

// openEmbedder connects to Ollama and probes the embedding model so that
// its dimension is known before the index is touched.
func openEmbedder(ctx context.Context, cfg config.Config, log *slog.Logger) (assist.Embedder, assist.Checker, error) {
	return nil, nil, assist.Errorf(assist.Unavailable, "embedder", "dense retrieval through Ollama is not wired yet")
}
