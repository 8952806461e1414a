package classify

import (
	"context"
	"math"
	"time"
)

// TrainNaiveBayes fits a multinomial naive-Bayes model over word counts with
// Laplace smoothing (alpha 1): the usual reference for ticket classification.
// Its probabilities are not calibrated. It returns the errors of Train.
func TrainNaiveBayes(ctx context.Context, ex []Example) (*Model, error) {
	const op = "train naive Bayes"
	start := time.Now()
	labels, counts, err := validate(op, ex)
	if err != nil {
		return nil, err
	}
	fc := featureConfig{Raw: true}
	raws, err := extractAll(ctx, fc, ex, 1)
	if err != nil {
		return nil, err
	}
	vec := fitVectorizer(fc, raws, 1)
	dim := len(vec.idf)
	lab := map[string]int{}
	for k, l := range labels {
		lab[l] = k
	}
	tot := make([][]float64, len(labels))
	for k := range tot {
		tot[k] = make([]float64, dim)
	}
	sum := make([]float64, len(labels))
	for i, rf := range raws {
		k := lab[ex[i].Label]
		x := vec.vectorize(rf)
		for j, id := range x.idx {
			tot[k][id] += float64(x.val[j])
			sum[k] += float64(x.val[j])
		}
	}
	m := &Model{labels: labels, vec: vec, w: make([][]float32, len(labels)), b: make([]float32, len(labels)), temp: 1}
	for k := range labels {
		m.w[k] = make([]float32, dim)
		den := sum[k] + float64(dim)
		for f := range dim {
			m.w[k][f] = float32(math.Log((tot[k][f] + 1) / den))
		}
		m.b[k] = float32(math.Log(float64(counts[labels[k]]) / float64(len(ex))))
	}
	m.info = Info{Kind: "naive-bayes", TrainedAt: time.Now().UTC(), Examples: len(ex), LabelCounts: counts,
		Features: dim, Temperature: 1, TrainTime: time.Since(start)}
	return m, nil
}
