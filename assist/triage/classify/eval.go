package classify

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Split divides ex into a training and a test part, stratified by label and
// deterministic for a seed: each label contributes round(n·testFraction) of
// its n examples to the test part (none when it has a single example), so
// that every label is trained on. Both parts keep the input order.
func Split(ex []Example, testFraction float64, seed uint64) (train, test []Example) {
	trainIdx, testIdx := splitIndex(ex, testFraction, seed)
	return pick(ex, trainIdx), pick(ex, testIdx)
}

func splitIndex(ex []Example, frac float64, seed uint64) (train, test []int) {
	if frac <= 0 || math.IsNaN(frac) {
		frac = 0
	}
	frac = min(frac, 1)
	byLabel := map[string][]int{}
	var labels []string
	for i, e := range ex {
		if _, ok := byLabel[e.Label]; !ok {
			labels = append(labels, e.Label)
		}
		byLabel[e.Label] = append(byLabel[e.Label], i)
	}
	slices.Sort(labels)
	r := rand.New(rand.NewPCG(seed, 0x7e57))
	inTest := make([]bool, len(ex))
	for _, l := range labels {
		idx := byLabel[l]
		n := int(math.Round(float64(len(idx)) * frac))
		if n >= len(idx) && len(idx) > 0 && frac < 1 {
			n = len(idx) - 1
		}
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx[:n] {
			inTest[i] = true
		}
	}
	for i := range ex {
		if inTest[i] {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	return train, test
}

// ClassMetrics are the scores of one label.
type ClassMetrics struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // test examples with this label
}

// Metrics are the scores of a model on a labelled test set.
type Metrics struct {
	N          int     `json:"n"`
	Accuracy   float64 `json:"accuracy"`
	MacroF1    float64 `json:"macro_f1"`    // mean F1 over labels with test support
	WeightedF1 float64 `json:"weighted_f1"` // F1 weighted by test support
	// ECE is the expected calibration error of the top confidence over ten
	// equal-width bins: the mean gap between confidence and accuracy,
	// weighted by bin size. 0 is perfectly calibrated.
	ECE      float64        `json:"ece"`
	PerClass []ClassMetrics `json:"per_class"`
	// Confusion[i][j] counts test examples of Labels[i] predicted as Labels[j].
	Confusion [][]int  `json:"confusion"`
	Labels    []string `json:"labels"`
}

// Evaluate scores m's top prediction on test. Labels are the model's labels
// plus any test label it does not know (always wrong), sorted.
func Evaluate(m *Model, test []Example) Metrics {
	set := map[string]bool{}
	for _, l := range m.labels {
		set[l] = true
	}
	for _, e := range test {
		set[e.Label] = true
	}
	var labels []string
	for l := range set {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	idx := map[string]int{}
	for i, l := range labels {
		idx[l] = i
	}
	conf := make([][]int, len(labels))
	for i := range conf {
		conf[i] = make([]int, len(labels))
	}
	correct := 0
	var binConf, binRight [10]float64
	var binN [10]int
	for _, e := range test {
		top := m.Predict(e.Text)[0]
		p := top.Label
		conf[idx[e.Label]][idx[p]]++
		b := min(9, max(0, int(top.Confidence*10)))
		binN[b]++
		binConf[b] += top.Confidence
		if p == e.Label {
			correct++
			binRight[b]++
		}
	}
	met := Metrics{N: len(test), Confusion: conf, Labels: labels}
	if len(test) == 0 {
		return met
	}
	met.Accuracy = float64(correct) / float64(len(test))
	for b := range binN {
		if binN[b] > 0 {
			met.ECE += math.Abs(binConf[b]-binRight[b]) / float64(len(test))
		}
	}
	var macro float64
	var withSupport int
	for i, l := range labels {
		tp := conf[i][i]
		var support, predicted int
		for j := range labels {
			support += conf[i][j]
			predicted += conf[j][i]
		}
		c := ClassMetrics{Label: l, Support: support}
		if predicted > 0 {
			c.Precision = float64(tp) / float64(predicted)
		}
		if support > 0 {
			c.Recall = float64(tp) / float64(support)
		}
		if c.Precision+c.Recall > 0 {
			c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
		}
		if support > 0 {
			macro += c.F1
			withSupport++
			met.WeightedF1 += c.F1 * float64(support) / float64(len(test))
		}
		met.PerClass = append(met.PerClass, c)
	}
	if withSupport > 0 {
		met.MacroF1 = macro / float64(withSupport)
	}
	return met
}

// MacroF1Over is the mean F1 of the labels keep accepts, among those with
// test support.
func (m Metrics) MacroF1Over(keep func(label string) bool) float64 {
	var sum float64
	var n int
	for _, c := range m.PerClass {
		if c.Support > 0 && keep(c.Label) {
			sum += c.F1
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Point is one row of a coverage–accuracy table: predictions with a
// confidence of at least Threshold cover Coverage of the test set, and
// Accuracy of them are right. Below the threshold a suggestion is "unsicher".
type Point struct {
	Threshold float64 `json:"threshold"`
	Coverage  float64 `json:"coverage"`
	Accuracy  float64 `json:"accuracy"`
}

// CoverageAccuracy returns, for each wanted coverage in (0, 1], the
// confidence threshold that keeps that share of test predictions and their
// accuracy.
func CoverageAccuracy(m *Model, test []Example, coverages []float64) []Point {
	type pred struct {
		conf  float64
		right bool
	}
	ps := make([]pred, len(test))
	for i, e := range test {
		top := m.Predict(e.Text)[0]
		ps[i] = pred{top.Confidence, top.Label == e.Label}
	}
	slices.SortStableFunc(ps, func(a, b pred) int {
		switch {
		case a.conf > b.conf:
			return -1
		case a.conf < b.conf:
			return 1
		}
		return 0
	})
	var out []Point
	for _, c := range coverages {
		if len(ps) == 0 || !(c > 0) {
			continue
		}
		n := min(len(ps), max(1, int(math.Ceil(c*float64(len(ps))))))
		right := 0
		for _, p := range ps[:n] {
			if p.right {
				right++
			}
		}
		out = append(out, Point{Threshold: ps[n-1].conf, Coverage: float64(n) / float64(len(ps)), Accuracy: float64(right) / float64(n)})
	}
	return out
}
