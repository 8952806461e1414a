package ollama

import (
	"context"
	"time"

	"github.com/ollama/ollama/api"

	"amtsassist/assist"
)

// Embed returns one vector per text, in order, sending BatchSize texts per
// request with a per-request timeout. It returns Invalid for no texts or an
// empty text, Unavailable when the server cannot be reached, NotFound when
// the model is not installed, Timeout when a request or ctx's deadline
// passes and Canceled when ctx is canceled.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	const op = "ollama embed"
	if c.cfg.EmbedModel == "" {
		return nil, assist.Errorf(assist.Invalid, op, "no Ollama embedding model is configured")
	}
	if len(texts) == 0 {
		return nil, assist.Errorf(assist.Invalid, op, "nothing to embed: the list of texts is empty")
	}
	for i, t := range texts {
		// Ollama fails on empty input with an internal error; say which one.
		if t == "" {
			return nil, assist.Errorf(assist.Invalid, op, "text %d of %d is empty", i+1, len(texts))
		}
	}

	vectors := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.cfg.BatchSize {
		batch := texts[start:min(start+c.cfg.BatchSize, len(texts))]
		got, err := c.embedBatch(ctx, op, batch)
		if err != nil {
			return nil, err
		}
		vectors = append(vectors, got...)
	}

	if err := c.learnModel(ctx, op, len(vectors[0])); err != nil {
		return nil, err
	}
	return vectors, nil
}

func (c *Client) embedBatch(ctx context.Context, op string, batch []string) ([][]float32, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req := &api.EmbedRequest{Model: c.cfg.EmbedModel, Input: batch}
	if c.cfg.KeepAlive != 0 {
		req.KeepAlive = &api.Duration{Duration: c.cfg.KeepAlive}
	}
	began := time.Now()
	resp, err := c.api.Embed(rctx, req)
	if err != nil {
		err = c.translate(ctx, op, c.cfg.EmbedModel, err)
		c.logger.DebugContext(ctx, "ollama embed failed", "model", c.cfg.EmbedModel, "texts", len(batch), "err", err)
		return nil, err
	}
	c.logger.DebugContext(ctx, "ollama embed", "model", c.cfg.EmbedModel, "texts", len(batch), "tokens", resp.PromptEvalCount, "duration", time.Since(began))

	// The vectors are matched to texts by position; a short or ragged
	// answer would silently attach vectors to the wrong chunks.
	if len(resp.Embeddings) != len(batch) {
		return nil, assist.Errorf(assist.Internal, op, "Ollama at %s returned %d vectors for %d texts", c.url, len(resp.Embeddings), len(batch))
	}
	dim := len(resp.Embeddings[0])
	for i, v := range resp.Embeddings {
		if len(v) == 0 || len(v) != dim {
			return nil, assist.Errorf(assist.Internal, op, "Ollama at %s returned a vector of length %d for text %d, want %d", c.url, len(v), i+1, dim)
		}
	}
	return resp.Embeddings, nil
}

// learnModel records the dimension of the first result and checks that
// later results match it: vectors of different lengths must never meet in
// one index. On the first success it also fetches Digest and ContextLength;
// failing that is logged, not returned, because the vectors are good.
func (c *Client) learnModel(ctx context.Context, op string, dim int) error {
	c.mu.Lock()
	known, shown := c.model.Dimension, c.shown
	if known == 0 {
		c.model.Dimension = dim
	}
	c.mu.Unlock()
	if known != 0 && known != dim {
		return assist.Errorf(assist.Conflict, op, "model %s on Ollama at %s now returns vectors of length %d instead of %d: was it replaced? Re-index with the new model", c.cfg.EmbedModel, c.url, dim, known)
	}
	if !shown {
		if _, err := c.ShowEmbedModel(ctx); err != nil {
			c.logger.WarnContext(ctx, "ollama show failed after embedding", "model", c.cfg.EmbedModel, "err", err)
		}
	}
	return nil
}
