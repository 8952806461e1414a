package app

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"amtsassist/assist"
	"amtsassist/assist/triage/classify"
	"amtsassist/assist/triage/service"
	"amtsassist/cmd/internal/config"
	"amtsassist/prompts"
)

// TriageModelsDir and TriageDir hold the trained classifiers and the
// agents' feedback inside the data directory.
func TriageModelsDir(dataDir string) string { return filepath.Join(dataDir, "triage-models") }
func TriageDir(dataDir string) string       { return filepath.Join(dataDir, "triage") }

// openTriage builds the triage service: classifiers from the model store
// (per desk "<desk-slug>-category", else "category"; the same for
// priority), the taxonomy file when configured, the feedback log, and the
// chat model when configured.
func (a *App) openTriage(cfg config.Config, log *slog.Logger) error {
	store, err := classify.OpenStore(TriageModelsDir(cfg.DataDir))
	if err != nil {
		return err
	}
	fb, err := service.OpenFeedback(TriageDir(cfg.DataDir))
	if err != nil {
		return err
	}
	a.closers = append(a.closers, fb.Close)
	var tax *service.Taxonomy
	if cfg.TriageTaxonomy != "" {
		if tax, err = service.LoadTaxonomy(cfg.TriageTaxonomy); err != nil {
			return err
		}
	}
	models := &modelCache{store: store, loaded: map[string]cachedModel{}}
	tc := service.Config{Retriever: a.Retriever, Index: a.Index, Chat: a.Chat,
		Category: models.forField("category"), Priority: models.forField("priority"),
		Taxonomy: tax, Threshold: cfg.TriageThreshold, Feedback: fb, Logger: log,
		// Classification wants the most likely label, not variety; the
		// answer fits in a few hundred tokens.
		Options: assist.ChatOptions{Temperature: new(0.0), NumPredict: 512}}
	a.Triage, err = service.New(tc)
	return err
}

// modelCache keeps loaded classifiers and reloads one when a newer version
// appears in the store (after `assist triage train`), so that a running
// service picks up retrained models without a restart.
type modelCache struct {
	store  *classify.Store
	mu     sync.Mutex
	loaded map[string]cachedModel
}

type cachedModel struct {
	version string
	model   *classify.Model
}

func (c *modelCache) get(name string) (*classify.Model, error) {
	versions, err := c.store.Versions(name)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, assist.Errorf(assist.NotFound, "triage model", "no model %q", name)
	}
	latest := versions[len(versions)-1]
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.loaded[name]; ok && m.version == latest {
		return m.model, nil
	}
	m, err := c.store.Get(name, latest)
	if err != nil {
		return nil, err
	}
	c.loaded[name] = cachedModel{version: latest, model: m}
	return m, nil
}

// forField looks up the model of a desk for one label field.
func (c *modelCache) forField(field string) func(desk string) (service.Classifier, error) {
	return func(desk string) (service.Classifier, error) {
		specific := deskModelName(desk, field)
		for _, name := range []string{specific, field} {
			m, err := c.get(name)
			if err == nil {
				return m, nil
			}
			// Invalid: a desk name that makes no valid model name has no
			// model of its own.
			if k := assist.KindOf(err); k != assist.NotFound && k != assist.Invalid {
				return nil, err
			}
		}
		return nil, assist.Errorf(assist.NotFound, "triage model",
			"no %s model for desk %q: train one with `assist triage train --name %s …` (or --name %s for every desk)", field, desk, specific, field)
	}
}

// deskModelName is the name of a desk's own model for field: the desk's
// slug, shortened with a hash of the full name when long, and a hash alone
// for names without Latin letters or digits.
func deskModelName(desk, field string) string {
	slug := prompts.Slug(desk)
	sum := sha256.Sum256([]byte(desk))
	tag := hex.EncodeToString(sum[:4])
	switch {
	case slug == "":
		slug = "desk-" + tag
	case len(slug) > 40:
		slug = strings.TrimRight(slug[:40], "-") + "-" + tag
	}
	return slug + "-" + field
}
