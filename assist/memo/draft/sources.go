package draft

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"amtsassist/assist"
	"amtsassist/assist/memo"
	"amtsassist/prompts"
	"amtsassist/rag"
)

// maxQueryBytes bounds the facts used as a search query: long notes make
// slow queries and add little beyond their first paragraphs.
const maxQueryBytes = 2000

// rrfK is the usual constant of reciprocal rank fusion.
const rrfK = 60

// retrieve searches the regulations (federal law and the authority's own)
// and, when attachments are given, exactly those case documents of the
// authority. Several queries run per corpus: the Betreff with the clerk's
// question, each part of the question on its own (a question about
// entitlement, household and amount needs the norms of all three, and one
// long query lets the best-matching part drown the others), and the facts,
// at half weight, because they name circumstances rather than legal
// points. The rankings are fused by reciprocal rank.
func (s *Service) retrieve(ctx context.Context, req memo.Request) ([]memo.Source, error) {
	type query struct {
		text    string
		weight  float64
		heading bool // match the question's words against headings
	}
	queries := []query{{strings.TrimSpace(req.Betreff + "\n" + req.Instructions), 1, false}}
	for _, p := range questionParts(req.Instructions) {
		queries = append(queries, query{p, 1, true})
	}
	queries = append(queries, query{clip(strings.TrimSpace(req.Facts), maxQueryBytes), 0.5, false})
	k := min(2*s.cfg.MaxSources, rag.MaxK)
	filters := []rag.Filter{{Corpus: []assist.Corpus{assist.CorpusRegulations}, Authority: []string{"", req.Authority}}}
	if len(req.Attachments) > 0 {
		filters = append(filters, rag.Filter{Corpus: []assist.Corpus{assist.CorpusCases}, DocID: req.Attachments, Authority: []string{req.Authority}})
	}
	type fused struct {
		src   memo.Source
		score float64
		first int
	}
	byID := map[string]*fused{}
	order := 0
	// leads holds, per question part and corpus, the ids of its best hits.
	var leads [][]string
	for _, f := range filters {
		for _, q := range queries {
			if q.text == "" {
				continue
			}
			hits, err := s.ret.Search(ctx, rag.Query{Text: q.text, K: k, Filter: f})
			if err != nil {
				return nil, err
			}
			kept := hits[:0]
			for _, h := range hits {
				if !f.Match(&h.Chunk) {
					// Defence in depth: a backend that ignored the filter
					// must not leak another authority's documents.
					s.log.ErrorContext(ctx, "index returned a chunk outside the filter", "chunk", h.Chunk.ID)
					continue
				}
				kept = append(kept, h)
			}
			hits = kept
			if q.heading {
				// A § whose heading names what the question part asks
				// ("wohngeldberechtigt" → "Wohngeldberechtigung") is the
				// norm on that point, however its text scores.
				sort.SliceStable(hits, func(a, b int) bool {
					return headingMatches(q.text, hits[a].Chunk.Citation.Heading) && !headingMatches(q.text, hits[b].Chunk.Citation.Heading)
				})
				var lead []string
				for _, h := range hits[:min(leadsPerPart, len(hits))] {
					lead = append(lead, h.Chunk.ID)
				}
				leads = append(leads, lead)
			}
			for rank, h := range hits {
				e := byID[h.Chunk.ID]
				if e == nil {
					e = &fused{src: sourceOf(h), first: order}
					order++
					byID[h.Chunk.ID] = e
				}
				e.score += q.weight / float64(rrfK+rank+1)
			}
		}
	}
	all := make([]*fused, 0, len(byID))
	for _, e := range byID {
		all = append(all, e)
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].score != all[b].score {
			return all[a].score > all[b].score
		}
		return all[a].first < all[b].first
	})
	// Every part of the question first gets its best hits, round by round,
	// so that a three-part question is answered from three norms and not
	// from the one passage that mentions everything.
	placed := map[string]bool{}
	ordered := make([]*fused, 0, len(all))
	for r := range leadsPerPart {
		for _, lead := range leads {
			if r < len(lead) && !placed[lead[r]] {
				placed[lead[r]] = true
				ordered = append(ordered, byID[lead[r]])
			}
		}
	}
	for _, e := range all {
		if !placed[e.src.ChunkID] {
			ordered = append(ordered, e)
		}
	}
	all = ordered
	out := make([]memo.Source, 0, len(all))
	for _, e := range all {
		e.src.Score = e.score
		out = append(out, e.src)
	}
	return out, nil
}

// leadsPerPart is how many best hits of each question part go first.
const leadsPerPart = 2

// minHeadingWord is the shortest word compared with headings: long
// compounds ("Wohngeldberechtigung", "Haushaltsmitglieder") are specific,
// short words ("Wohngeld") are in every heading of a law.
const minHeadingWord = 12

// headingMatches reports whether a long word of the question and a long
// word of the heading share all but their inflection: a common prefix
// missing at most four letters of the shorter word.
func headingMatches(question, heading string) bool {
	if heading == "" {
		return false
	}
	hw := longWords(heading)
	for _, q := range longWords(question) {
		for _, h := range hw {
			n := 0
			for n < len(q) && n < len(h) && q[n] == h[n] {
				n++
			}
			if n >= min(len(q), len(h))-4 {
				return true
			}
		}
	}
	return false
}

func longWords(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len(w) >= minHeadingWord {
			out = append(out, w)
		}
	}
	return out
}

// maxQuestionParts bounds the sub-queries of one question.
const maxQuestionParts = 6

// questionParts splits the clerk's question into its parts: sentences, and
// within a sentence the clauses joined by a comma or "und"/"sowie" that
// carry a question of their own. Parts shorter than three words are
// merged into the previous one.
func questionParts(q string) []string {
	var parts []string
	flush := func(p string) {
		p = strings.Trim(strings.TrimSpace(p), ",;:")
		if p == "" {
			return
		}
		if len(strings.Fields(p)) < 3 && len(parts) > 0 {
			parts[len(parts)-1] += " " + p
			return
		}
		parts = append(parts, p)
	}
	for _, sentence := range strings.FieldsFunc(q, func(r rune) bool { return r == '?' || r == '.' || r == '!' || r == '\n' || r == ';' }) {
		start := 0
		words := strings.Fields(sentence)
		for i, w := range words {
			lw := strings.ToLower(strings.TrimRight(w, ","))
			if i > start && (lw == "und" || lw == "sowie" || lw == "oder" || strings.HasSuffix(words[i-1], ",")) {
				flush(strings.Join(words[start:i], " "))
				start = i
				if lw == "und" || lw == "sowie" || lw == "oder" {
					start = i + 1
				}
			}
		}
		flush(strings.Join(words[min(start, len(words)):], " "))
	}
	if len(parts) > maxQuestionParts {
		parts = parts[:maxQuestionParts]
	}
	return parts
}

func sourceOf(h rag.Hit) memo.Source {
	c := h.Chunk
	cite := c.Citation.String()
	if cite == "" {
		cite = c.DocID
	}
	return memo.Source{ChunkID: c.ID, DocID: c.DocID, Corpus: c.Corpus, Citation: cite, Cite: c.Citation, Text: c.Text}
}

// number gives sources their markers [1..n] in order.
func number(srcs []memo.Source) []memo.Source {
	out := make([]memo.Source, len(srcs))
	for i, s := range srcs {
		s.N = i + 1
		out[i] = s
	}
	return out
}

// Reserves for what the chat template adds around the messages (role
// markers, separators), the same as the Ollama backend reserves: packing and
// the backend's own check must agree on what fits.
const (
	templateReserve   = 64
	perMessageReserve = 16
	promptReserve     = templateReserve + 2*perMessageReserve
	// wrapperTokens estimates the markup around one source in the prompt
	// (<quelle n=… art=…>, the [n] line's punctuation).
	wrapperTokens = 16
)

// trimmedMark ends a source that was shortened to fit the context.
const trimmedMark = " [gekürzt]"

// pack chooses the sources that fit the context budget, in rank order,
// and renders the prompt. The budget is num_ctx minus num_predict minus
// the chat template reserve. Candidates are first chosen by the sum of
// their own counts (each counted once; counters cache), then the rendered
// prompt is counted as a whole, which is authoritative: sources are dropped
// from the end while it does not fit, and the next candidate is tried when
// the sum was too careful. Lower-ranked sources go first (a warning says
// how many); only when not even the best source fits whole is it
// shortened, at a sentence end and marked "[gekürzt]".
func (j *Job) pack(ctx context.Context, cands []memo.Source) error {
	const op = "pack memo context"
	s := j.s
	opts := s.cfg.Options
	if opts.NumCtx == 0 {
		opts.NumCtx = s.cfg.Chat.Model().ContextLength
	}
	if opts.NumCtx == 0 {
		opts.NumCtx = DefaultNumCtx
	}
	if opts.NumPredict == 0 {
		opts.NumPredict = max(1, min(DefaultNumPredict, opts.NumCtx/4))
	}
	j.opts = opts
	budget := opts.NumCtx - opts.NumPredict - promptReserve
	if budget <= 0 {
		return assist.Errorf(assist.Invalid, op, "num_predict (%d) leaves no room for a prompt in num_ctx (%d)", opts.NumPredict, opts.NumCtx)
	}

	data := prompts.MemoData{
		Behoerde: j.req.Authority, Aktenzeichen: j.req.Aktenzeichen, Datum: j.req.Date,
		Betreff: j.req.Betreff, Verfasser: j.req.Author, Facts: j.req.Facts, Instructions: j.req.Instructions,
	}
	render := func(srcs []memo.Source) (prompts.Prompt, int, error) {
		data.Sources = data.Sources[:0]
		for i, src := range srcs {
			data.Sources = append(data.Sources, prompts.SourceData{N: i + 1, Citation: src.Citation, Heading: src.Cite.Heading, Text: src.Text, Kind: kindOf(src)})
		}
		p, err := s.cfg.Prompts.Memo(string(j.req.Type), j.req.Authority, data)
		if err != nil {
			return p, 0, err
		}
		return p, j.count(ctx, p.System) + j.count(ctx, p.User), nil
	}

	p, base, err := render(nil)
	if err != nil {
		return err
	}
	// Choose by the sum of the sources' own counts.
	var taken, rest []memo.Source
	sum := base
	for _, c := range cands {
		if len(taken) == s.cfg.MaxSources || budget-sum < 2*wrapperTokens {
			// Full: counting the rest would only cost (a model counter
			// may run the model for every text).
			rest = append(rest, c)
			continue
		}
		cost := j.count(ctx, c.Citation+" "+c.Cite.Heading+"\n"+c.Text) + wrapperTokens
		if sum+cost <= budget {
			taken = append(taken, c)
			sum += cost
		} else {
			rest = append(rest, c)
		}
	}
	if err := ctx.Err(); err != nil {
		return assist.E(assist.KindOf(err), op, err)
	}
	// The rendered prompt decides.
	tokens := base
	if len(taken) > 0 {
		for {
			tp, tt, err := render(taken)
			if err != nil {
				return err
			}
			if tt <= budget {
				p, tokens = tp, tt
				break
			}
			rest = append([]memo.Source{taken[len(taken)-1]}, rest...)
			taken = taken[:len(taken)-1]
			if len(taken) == 0 {
				break
			}
		}
	}
	// The sum may have been too careful: try the next candidates exactly,
	// until one does not fit.
	for len(rest) > 0 && len(taken) < s.cfg.MaxSources && len(taken) > 0 {
		try := append(taken[:len(taken):len(taken)], rest[0])
		tp, tt, err := render(try)
		if err != nil {
			return err
		}
		if tt > budget {
			break
		}
		taken, p, tokens, rest = try, tp, tt, rest[1:]
	}
	if len(taken) == 0 && len(rest) > 0 {
		if tc, tp, tt, ok := j.trimToFit(rest[0], budget, render); ok {
			taken, p, tokens, rest = []memo.Source{tc}, tp, tt, rest[1:]
			j.warnings = append(j.warnings, fmt.Sprintf("Die Quelle %s war zu lang für das Kontextfenster und wurde gekürzt.", tc.Citation))
		}
	}
	if len(taken) == 0 && base > budget {
		// base counts the prompt without sources, which is close to the
		// smallest prompt there is: the request itself is too large.
		return assist.Errorf(assist.TooLarge, op, "Sachverhalt und Auftrag passen nicht in das Kontextfenster des Modells: der Prompt braucht %d Tokens, verfügbar sind %d (num_ctx %d − num_predict %d − %d für die Chat-Vorlage); bitte kürzen", base, budget, opts.NumCtx, opts.NumPredict, promptReserve)
	}
	if dropped := min(len(rest), s.cfg.MaxSources-len(taken)); dropped > 0 {
		j.warnings = append(j.warnings, fmt.Sprintf("%d weitere gefundene Quellen passten nicht in das Kontextfenster des Modells und wurden nicht berücksichtigt.", dropped))
	}
	j.sources = number(taken)
	j.prompt, j.promptTokens = p, tokens+promptReserve
	return nil
}

func kindOf(src memo.Source) string {
	if src.Corpus == assist.CorpusRegulations {
		return prompts.KindNorm
	}
	return prompts.KindAkte
}

// trimToFit shortens src at the latest sentence end that lets the prompt
// fit, and marks the cut.
func (j *Job) trimToFit(src memo.Source, budget int, render func([]memo.Source) (prompts.Prompt, int, error)) (memo.Source, prompts.Prompt, int, bool) {
	cuts := sentenceEnds(src.Text)
	lo, hi := 0, len(cuts)-1 // binary search for the last cut that fits
	var best memo.Source
	var bestP prompts.Prompt
	bestT, found := 0, false
	for lo <= hi {
		mid := (lo + hi) / 2
		c := src
		c.Text = strings.TrimSpace(src.Text[:cuts[mid]]) + trimmedMark
		p, t, err := render([]memo.Source{c})
		if err == nil && t <= budget {
			best, bestP, bestT, found = c, p, t, true
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return best, bestP, bestT, found
}

// sentenceEnds returns the byte offsets just after each sentence end or
// line break of text, in increasing order, excluding the full length.
func sentenceEnds(text string) []int {
	var out []int
	for i := 0; i < len(text)-1; i++ {
		switch text[i] {
		case '.', '!', '?', ';':
			if n := text[i+1]; n == ' ' || n == '\n' {
				out = append(out, i+1)
			}
		case '\n':
			out = append(out, i)
		}
	}
	return out
}

// count counts tokens with the model's counter when it has one, else with
// a conservative estimate.
func (j *Job) count(ctx context.Context, text string) int {
	if tc, ok := j.s.cfg.Chat.(assist.TokenCounter); ok {
		n, err := tc.CountTokens(ctx, text)
		if err == nil {
			return n
		}
		j.s.log.WarnContext(ctx, "token count failed, estimating", "err", err)
	}
	return EstimateTokens(text)
}

// EstimateTokens is the budget's token estimate without a model counter:
// one token per three bytes, rounded up. German text in the BPE vocabularies
// of current instruct models averages about four bytes per token, so this
// over-counts; the chat backend's check of prompt_eval_count catches the
// rest.
func EstimateTokens(text string) int { return (len(text) + 2) / 3 }
