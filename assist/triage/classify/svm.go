package classify

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
)

// fitSVM trains one L2-regularised squared-hinge SVM per label against the
// rest by dual coordinate descent (Hsieh et al. 2008, liblinear's default
// solver), with a bias feature of value 1. Classes train in parallel.
func fitSVM(ctx context.Context, cfg Config, fc featureConfig, labels []string, ex []Example, raws []rawFeatures) (*Model, error) {
	vec := fitVectorizer(fc, raws, cfg.MinDF)
	xs := make([]sparse, len(raws))
	sq := make([]float64, len(raws))
	for i, rf := range raws {
		xs[i] = vec.vectorize(rf)
		for _, v := range xs[i].val {
			sq[i] += float64(v) * float64(v)
		}
		sq[i]++ // bias feature
	}
	lab := map[string]int{}
	for k, l := range labels {
		lab[l] = k
	}
	ys := make([]int, len(ex))
	counts := make([]int, len(labels))
	for i, e := range ex {
		ys[i] = lab[e.Label]
		counts[ys[i]]++
	}
	m := &Model{labels: labels, vec: vec, w: make([][]float32, len(labels)), b: make([]float32, len(labels)), temp: 1}
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, cfg.Workers))
	for k := range labels {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cPos, cNeg := cfg.C, cfg.C
			if cfg.Balance > 0 {
				n, K := float64(len(ex)), float64(len(labels))
				cPos = cfg.C * math.Pow(n/(K*float64(counts[k])), cfg.Balance)
			}
			w, b := dcd(ctx, xs, sq, ys, k, cPos, cNeg, len(vec.idf), cfg.Epochs, cfg.Seed+uint64(k))
			m.w[k], m.b[k] = w, b
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

func dcd(ctx context.Context, xs []sparse, sq []float64, ys []int, pos int, cPos, cNeg float64, dim, epochs int, seed uint64) ([]float32, float32) {
	w := make([]float64, dim)
	var b float64
	alpha := make([]float64, len(xs))
	y := make([]float64, len(xs))
	diag := make([]float64, len(xs))
	for i := range xs {
		y[i], diag[i] = -1, 1/(2*cNeg)
		if ys[i] == pos {
			y[i], diag[i] = 1, 1/(2*cPos)
		}
	}
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	const eps = 0.1 // liblinear's stopping tolerance on the projected gradient
	for range epochs {
		if ctx.Err() != nil {
			break
		}
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		maxPG, minPG := math.Inf(-1), math.Inf(1)
		for _, i := range order {
			x := xs[i]
			var wx float64
			for j, id := range x.idx {
				wx += w[id] * float64(x.val[j])
			}
			wx += b
			g := y[i]*wx - 1 + diag[i]*alpha[i]
			pg := g
			if alpha[i] == 0 {
				pg = min(g, 0)
			}
			maxPG, minPG = max(maxPG, pg), min(minPG, pg)
			if pg == 0 {
				continue
			}
			old := alpha[i]
			alpha[i] = max(old-g/(sq[i]+diag[i]), 0)
			d := (alpha[i] - old) * y[i]
			for j, id := range x.idx {
				w[id] += d * float64(x.val[j])
			}
			b += d
		}
		if maxPG-minPG <= eps {
			break
		}
	}
	out := make([]float32, dim)
	for i, v := range w {
		out[i] = float32(v)
	}
	return out, float32(b)
}
