// Package classify is the trained ticket classifier of triage: tf-idf
// features over word uni- and bigrams and character n-grams, a one-vs-rest
// linear SVM (dual coordinate descent, as liblinear) and a softmax
// temperature fitted on a held-out fold, so that confidences are calibrated
// probabilities. It is pure Go, needs no GPU and trains on a few thousand
// tickets in seconds.
//
// A multinomial naive-Bayes model over words (TrainNaiveBayes) serves as the
// reference in benchmarks; both answer through the same Model.
package classify

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/triage"
)

// Example is one labelled text.
type Example struct{ Text, Label string }

// Config tunes training. The zero value gives the documented defaults.
type Config struct {
	// Name is recorded in Info; Store.Put overrides it with the store name.
	Name string
	// C is the SVM's inverse regularisation strength. Default 1.
	C float64
	// MinDF drops features seen in fewer training texts. Default 2.
	MinDF int
	// CharMin and CharMax bound the character n-gram lengths. Default 2 and 5.
	CharMin, CharMax int
	// NoChars and NoBigrams switch those feature families off.
	NoChars, NoBigrams bool
	// CharWeight scales the character n-gram block against the word block
	// (each is l2-normalised first). Default 1.
	CharWeight float64
	// Balance weighs the positive examples of each class by
	// (n / (K·n_class))^Balance: 0 is unweighted, 1 fully balanced (rare
	// classes count as much as frequent ones). Partial balancing lifts rare
	// classes without giving up accuracy on frequent ones. Default 0.75
	// (best mean over three development splits of two ticket sets; 0.5–1
	// are within their split-to-split noise); negative means 0.
	Balance float64
	// Epochs bounds the coordinate-descent passes per class. Default 60.
	Epochs int
	// CalibrationFraction is the share of examples held out to fit the
	// softmax temperature before the final model is trained on all of them.
	// Default 0.2; negative disables calibration (temperature 1).
	CalibrationFraction float64
	// Seed makes training deterministic. Default 1.
	Seed uint64
	// Workers bounds the classes trained in parallel. Default GOMAXPROCS.
	Workers int
	// MaxLabels bounds the distinct labels: the model holds a weight row
	// per label, and thousands of labels mean an id column was taken for a
	// label column. Default 500.
	MaxLabels int
}

func (c Config) withDefaults() Config {
	if c.C <= 0 {
		c.C = 1
	}
	if c.MinDF <= 0 {
		c.MinDF = 2
	}
	if c.CharMin <= 0 {
		c.CharMin = 2
	}
	if c.CharMax <= 0 {
		c.CharMax = 5
	}
	if c.Epochs <= 0 {
		c.Epochs = 60
	}
	if c.CalibrationFraction == 0 {
		c.CalibrationFraction = 0.2
	}
	if c.Balance == 0 {
		c.Balance = 0.75
	}
	c.Balance = max(c.Balance, 0)
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.MaxLabels <= 0 {
		c.MaxLabels = 500
	}
	return c
}

// Info describes a trained model.
type Info struct {
	Name        string         `json:"name"`
	Version     string         `json:"version,omitempty"`
	Kind        string         `json:"kind"` // "svm" or "naive-bayes"
	TrainedAt   time.Time      `json:"trained_at"`
	Examples    int            `json:"examples"`
	LabelCounts map[string]int `json:"label_counts"`
	Features    int            `json:"features"`
	Temperature float64        `json:"temperature"`
	SizeBytes   int64          `json:"size_bytes"` // gzip-compressed serialised size
	TrainTime   time.Duration  `json:"train_time"`
}

// Model is a trained classifier. It is safe for concurrent use.
type Model struct {
	info   Info
	labels []string
	vec    *vectorizer
	// w holds one weight row per label over the compact features; b the
	// biases. Scores are divided by temp before the softmax.
	w    [][]float32
	b    []float32
	temp float64

	sizeOnce sync.Once
	size     int64
	// mu guards info, whose name and version Store.Put sets.
	mu sync.Mutex
}

func (m *Model) infoCopy() Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	info := m.info
	info.LabelCounts = cloneMap(info.LabelCounts)
	return info
}

// Labels returns the labels the model can predict, sorted.
func (m *Model) Labels() []string { return slices.Clone(m.labels) }

// Info describes the model.
func (m *Model) Info() Info {
	m.sizeOnce.Do(func() {
		var cw countWriter
		if err := Save(&cw, m); err == nil {
			m.size = cw.n
		}
	})
	info := m.infoCopy()
	info.SizeBytes = m.size
	return info
}

// Predict returns every label with its probability, most likely first. An
// empty text yields the label priors' order from the biases alone.
func (m *Model) Predict(text string) []triage.Alternative {
	x := m.vec.vectorize(m.vec.cfg.extract(text))
	return m.predictVec(x)
}

func (m *Model) scores(x sparse) []float64 {
	s := make([]float64, len(m.labels))
	for k := range m.labels {
		s[k] = dot(m.w[k], x) + float64(m.b[k])
	}
	return s
}

func (m *Model) predictVec(x sparse) []triage.Alternative {
	p := softmax(m.scores(x), m.temp)
	out := make([]triage.Alternative, len(p))
	for k := range p {
		out[k] = triage.Alternative{Label: m.labels[k], Confidence: p[k]}
	}
	slices.SortStableFunc(out, func(a, b triage.Alternative) int {
		switch {
		case a.Confidence > b.Confidence:
			return -1
		case a.Confidence < b.Confidence:
			return 1
		}
		return 0
	})
	return out
}

func dot(w []float32, x sparse) float64 {
	var s float64
	for i, id := range x.idx {
		s += float64(w[id]) * float64(x.val[i])
	}
	return s
}

func softmax(s []float64, temp float64) []float64 {
	p := make([]float64, len(s))
	mx := math.Inf(-1)
	for _, v := range s {
		mx = max(mx, v/temp)
	}
	var z float64
	for i, v := range s {
		p[i] = math.Exp(v/temp - mx)
		z += p[i]
	}
	for i := range p {
		p[i] /= z
	}
	return p
}

// validate checks the training set: at least two distinct labels, no empty
// labels, and at least one example.
func validate(op string, ex []Example) (labels []string, counts map[string]int, err error) {
	if len(ex) == 0 {
		return nil, nil, assist.Errorf(assist.Invalid, op, "no training examples")
	}
	counts = map[string]int{}
	for i, e := range ex {
		if e.Label == "" {
			return nil, nil, assist.Errorf(assist.Invalid, op, "example %d has an empty label", i+1)
		}
		counts[e.Label]++
	}
	if len(counts) < 2 {
		return nil, nil, assist.Errorf(assist.Invalid, op, "need at least 2 distinct labels, got %d", len(counts))
	}
	for l := range counts {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	return labels, counts, nil
}

// Train fits a classifier on ex. It returns Invalid for an empty set, an
// empty label, fewer than two or more than MaxLabels labels, and Canceled
// when ctx ends.
func Train(ctx context.Context, ex []Example, cfg Config) (*Model, error) {
	const op = "train classifier"
	start := time.Now()
	cfg = cfg.withDefaults()
	labels, counts, err := validate(op, ex)
	if err != nil {
		return nil, err
	}
	if len(labels) > cfg.MaxLabels {
		return nil, assist.Errorf(assist.Invalid, op, "%d distinct labels; at most %d are supported (is the label column right?)", len(labels), cfg.MaxLabels)
	}
	fc := featureConfig{Bigrams: !cfg.NoBigrams}
	if !cfg.NoChars {
		fc.CharMin, fc.CharMax, fc.CharWeight = cfg.CharMin, cfg.CharMax, float32(cfg.CharWeight)
	}
	raws, err := extractAll(ctx, fc, ex, cfg.Workers)
	if err != nil {
		return nil, assist.E(assist.Canceled, op, err)
	}
	temp := 1.0
	if cfg.CalibrationFraction > 0 && cfg.CalibrationFraction < 1 {
		fitIdx, calIdx := splitIndex(ex, cfg.CalibrationFraction, cfg.Seed)
		if len(calIdx) > 0 && distinct(ex, fitIdx) == len(labels) {
			m, err := fitSVM(ctx, cfg, fc, labels, pick(ex, fitIdx), pick(raws, fitIdx))
			if err != nil {
				return nil, assist.E(assist.Canceled, op, err)
			}
			temp = fitTemperature(m, pick(ex, calIdx), pick(raws, calIdx))
		}
	}
	m, err := fitSVM(ctx, cfg, fc, labels, ex, raws)
	if err != nil {
		return nil, assist.E(assist.Canceled, op, err)
	}
	m.temp = temp
	m.info = Info{Name: cfg.Name, Kind: "svm", TrainedAt: time.Now().UTC(), Examples: len(ex), LabelCounts: counts,
		Features: len(m.vec.idf), Temperature: temp, TrainTime: time.Since(start)}
	return m, nil
}

func extractAll(ctx context.Context, fc featureConfig, ex []Example, workers int) ([]rawFeatures, error) {
	raws := make([]rawFeatures, len(ex))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				raws[i] = fc.extract(ex[i].Text)
			}
		}()
	}
	var err error
	for i := range ex {
		if i%256 == 0 && ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return raws, err
}

func distinct(ex []Example, idx []int) int {
	seen := map[string]bool{}
	for _, i := range idx {
		seen[ex[i].Label] = true
	}
	return len(seen)
}

func pick[T any](xs []T, idx []int) []T {
	out := make([]T, len(idx))
	for j, i := range idx {
		out[j] = xs[i]
	}
	return out
}

// fitTemperature chooses the softmax temperature that minimises the
// negative log-likelihood of the held-out examples (golden-section search
// over log T): SVM margins are not probabilities until scaled.
func fitTemperature(m *Model, ex []Example, raws []rawFeatures) float64 {
	idx := map[string]int{}
	for k, l := range m.labels {
		idx[l] = k
	}
	type row struct {
		s []float64
		y int
	}
	rows := make([]row, 0, len(ex))
	for i, e := range ex {
		y, ok := idx[e.Label]
		if !ok {
			continue
		}
		rows = append(rows, row{m.scores(m.vec.vectorize(raws[i])), y})
	}
	if len(rows) == 0 {
		return 1
	}
	nll := func(logT float64) float64 {
		t := math.Exp(logT)
		var sum float64
		for _, r := range rows {
			p := softmax(r.s, t)
			sum -= math.Log(max(p[r.y], 1e-12))
		}
		return sum
	}
	lo, hi := math.Log(0.005), math.Log(10.0)
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := nll(a), nll(b)
	for range 60 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = nll(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = nll(b)
		}
	}
	return math.Exp((lo + hi) / 2)
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func cloneMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Restrict keeps the alternatives whose label is in allowed and rescales
// their probabilities to sum to 1, so that a taxonomy narrower than the
// model's labels (a desk that dropped a queue) is never left. It returns
// nil when no alternative is allowed; order is kept.
func Restrict(alts []triage.Alternative, allowed []string) []triage.Alternative {
	var out []triage.Alternative
	var sum float64
	for _, a := range alts {
		if slices.Contains(allowed, a.Label) {
			out = append(out, a)
			sum += a.Confidence
		}
	}
	if sum > 0 {
		for i := range out {
			out[i].Confidence /= sum
		}
	}
	return out
}
