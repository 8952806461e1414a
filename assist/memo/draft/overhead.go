package draft

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/assist/memo/render"
)

// OverheadReport is the service's own time per memo, without the model:
// retrieval, packing, streaming the answer through the parser, verification
// and rendering (Markdown and DOCX), measured with a model that replays a
// canned answer instantly. Storing is not included (its cost is the disk's
// fsync).
type OverheadReport struct {
	Memos int `json:"memos"`
	// Total is Prepare + Run + rendering per memo.
	P50 time.Duration `json:"p50_ns"`
	P95 time.Duration `json:"p95_ns"`
	Max time.Duration `json:"max_ns"`
	// Parts at p95.
	RetrievalP95 time.Duration `json:"retrieval_p95_ns"`
	PackingP95   time.Duration `json:"packing_p95_ns"`
	VerifyP95    time.Duration `json:"verify_p95_ns"`
	RenderP95    time.Duration `json:"render_p95_ns"`
	// FirstDelta is the time from the arrival of the model output carrying
	// the first section text to the emission of the first delta event.
	FirstDeltaP50 time.Duration `json:"first_delta_p50_ns"`
	FirstDeltaP95 time.Duration `json:"first_delta_p95_ns"`
	// Sources is the mean number of packed sources per memo.
	Sources float64 `json:"sources"`
}

func (r OverheadReport) String() string {
	return fmt.Sprintf("%d memos: overhead p50 %v p95 %v max %v (p95 retrieval %v, packing %v, verify %v, render %v); first token → first delta p50 %v p95 %v; %.1f sources/memo",
		r.Memos, r.P50, r.P95, r.Max, r.RetrievalP95, r.PackingP95, r.VerifyP95, r.RenderP95, r.FirstDeltaP50, r.FirstDeltaP95, r.Sources)
}

// Overhead drafts every request runs times with cfg's index, prompts and
// options, but with a chat model that replays a canned answer citing the
// first sources instantly (in pieces of a few bytes, as a model streams),
// and reports the service's own overhead. cfg.Chat and cfg.Store are
// ignored. The CLI calls it for `assist bench memo`-style measurements.
func Overhead(ctx context.Context, cfg Config, reqs []memo.Request, runs int) (OverheadReport, error) {
	if len(reqs) == 0 || runs <= 0 {
		return OverheadReport{}, assist.Errorf(assist.Invalid, "memo overhead", "no requests or runs given")
	}
	if cfg.Prompts == nil {
		return OverheadReport{}, assist.Errorf(assist.Invalid, "memo overhead", "no prompts configured")
	}
	cfg.Chat = replayChat{}
	cfg.Store = nil
	if cfg.Options.NumCtx == 0 {
		cfg.Options.NumCtx = DefaultNumCtx
	}
	svc, err := New(cfg)
	if err != nil {
		return OverheadReport{}, err
	}
	var total, retr, pack, ver, rend, first []time.Duration
	sources := 0
	for range runs {
		for _, req := range reqs {
			req.Extractive = false
			start := time.Now()
			job, err := svc.Prepare(ctx, req)
			if err != nil {
				return OverheadReport{}, err
			}
			m, err := job.Run(ctx, func(memo.Event) error { return nil })
			if err != nil {
				return OverheadReport{}, err
			}
			t := time.Now()
			if len(render.Markdown(m)) == 0 {
				return OverheadReport{}, assist.Errorf(assist.Internal, "memo overhead", "empty Markdown rendering")
			}
			if _, err := render.DOCX(m); err != nil {
				return OverheadReport{}, err
			}
			rend = append(rend, time.Since(t))
			total = append(total, time.Since(start))
			retr = append(retr, m.Timings.Retrieval)
			pack = append(pack, m.Timings.Packing)
			ver = append(ver, m.Timings.Verify)
			first = append(first, job.FirstDelta())
			sources += len(m.Sources)
		}
	}
	n := len(total)
	return OverheadReport{
		Memos: n, P50: quantile(total, 0.5), P95: quantile(total, 0.95), Max: quantile(total, 1),
		RetrievalP95: quantile(retr, 0.95), PackingP95: quantile(pack, 0.95), VerifyP95: quantile(ver, 0.95), RenderP95: quantile(rend, 0.95),
		FirstDeltaP50: quantile(first, 0.5), FirstDeltaP95: quantile(first, 0.95), Sources: float64(sources) / float64(n),
	}, nil
}

// quantile returns the q-quantile (nearest rank) of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// replayChat answers at once with a well-formed memo citing [1] and [2],
// streamed in pieces of a few bytes.
type replayChat struct{}

const replayAnswer = `{"sachverhalt":"Die Antragstellerin bewohnt mit zwei Kindern eine Mietwohnung; die Miete beträgt 720 Euro, das Einkommen 2.100 Euro monatlich.",` +
	`"wuerdigung":"Die Antragstellerin ist als Mieterin des selbst genutzten Wohnraums wohngeldberechtigt [1]. Zu berücksichtigen sind die Haushaltsmitglieder [2]. Die Höhe ergibt sich aus Miete, Einkommen und Zahl der Haushaltsmitglieder [3].\n\nDie vorliegenden Quellen enthalten keine Aussage zu den Heizkosten.",` +
	`"ergebnis":"Wohngeld ist dem Grunde nach zu bewilligen [1]; die Höhe ist nach den Quellen zu berechnen [3].",` +
	`"verfuegung":"1. Vermerk zur Akte.\n2. Wv. am 10.04.2026.\n3. z.d.A."}`

func (replayChat) Chat(ctx context.Context, req assist.ChatRequest, fn func(assist.Delta) error) (assist.ChatResult, error) {
	start := time.Now()
	const piece = 4
	var first time.Duration
	for i := 0; i < len(replayAnswer); i += piece {
		if err := ctx.Err(); err != nil {
			return assist.ChatResult{}, assist.E(assist.Canceled, "replay chat", err)
		}
		if i == 0 {
			first = time.Since(start)
		}
		if err := fn(assist.Delta{Content: replayAnswer[i:min(i+piece, len(replayAnswer))]}); err != nil {
			return assist.ChatResult{}, err
		}
	}
	return assist.ChatResult{Content: replayAnswer, DoneReason: "stop", Model: replayChat{}.Model(),
		OutputTokens: strings.Count(replayAnswer, " ") + 1, NumCtx: req.Options.NumCtx, Duration: time.Since(start), FirstToken: first}, nil
}

func (replayChat) Model() assist.ModelInfo {
	return assist.ModelInfo{Name: "replay", Digest: "sha256:replay", ContextLength: DefaultNumCtx}
}
