package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"amtsassist/assist"
	"amtsassist/assist/triage"
	"amtsassist/rag"
)

// source is one grounding text of a generated answer.
type source struct {
	ID, Title, Text string
}

// echoWords is the length of a word sequence of the incoming ticket that
// must not appear in a generated answer unless a source has it too: an
// answer repeating the ticket's words would present the requester's text
// (possibly an injected instruction) as the system's.
const echoWords = 5

// answer suggests a reply: generated from the similar tickets' answers when
// a chat model is configured and its output is usable, else the best past
// answer (Mode "extractive"), else nothing (Mode "none").
func (s *Service) answer(ctx context.Context, t triage.Ticket, similar []triage.Similar) triage.Answer {
	var srcs []source
	for _, sim := range similar {
		if sim.Answer != "" {
			srcs = append(srcs, source{ID: sim.ID, Title: sim.Subject, Text: truncate(sim.Answer, 1500)})
		}
	}
	if len(srcs) == 0 {
		return triage.Answer{Mode: "none", Sources: []string{}}
	}
	extractive := triage.Answer{Text: srcs[0].Text, Sources: []string{srcs[0].ID}, Mode: "extractive"}
	if s.cfg.Chat == nil {
		return extractive
	}
	srcs = srcs[:min(len(srcs), 3)]
	docs := s.knowledge(ctx, t)
	srcs = append(srcs, docs...)
	a, err := s.generate(ctx, t, srcs, len(docs) > 0)
	if err != nil {
		s.log.WarnContext(ctx, "triage answer generation unusable; using the best past answer", "desk", t.Desk, "ticket", t.ID, "err", err)
		return extractive
	}
	return a
}

// knowledge returns the desk's most relevant documents of corpus
// regulations and cases, or nothing when disabled or on error.
func (s *Service) knowledge(ctx context.Context, t triage.Ticket) []source {
	if !s.cfg.Knowledge {
		return nil
	}
	hits, err := s.cfg.Retriever.Search(ctx, rag.Query{
		Text: truncate(t.Text(), maxQueryBytes), K: 2, DistinctDocs: true,
		Filter: rag.Filter{Corpus: []assist.Corpus{assist.CorpusRegulations, assist.CorpusCases}, Authority: []string{t.Desk}},
	})
	if err != nil {
		s.log.WarnContext(ctx, "triage knowledge search failed", "desk", t.Desk, "err", err)
		return nil
	}
	var out []source
	for _, h := range hits {
		out = append(out, source{ID: h.Chunk.DocID, Title: h.Chunk.Citation.String(), Text: truncate(h.Chunk.Text, 1500)})
	}
	return out
}

func (s *Service) generate(ctx context.Context, t triage.Ticket, srcs []source, hasDocs bool) (triage.Answer, error) {
	ids := make([]string, len(srcs))
	for i := range srcs {
		ids[i] = srcs[i].ID
		srcs[i].Text = asData(srcs[i].Text)
		srcs[i].Title = asData(srcs[i].Title)
	}
	schema, _ := json.Marshal(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"answer":  map[string]any{"type": "string"},
			"sources": map[string]any{"type": "array", "items": schemaEnum(ids), "minItems": 1},
		},
		"required":             []string{"answer", "sources"},
		"additionalProperties": false,
	})
	system, user, err := render(answerPrompt, map[string]any{
		"Desk": t.Desk, "Sources": srcs, "HasDocs": hasDocs, "Ticket": asData(t.Text()),
	})
	if err != nil {
		return triage.Answer{}, assist.E(assist.Internal, "triage prompt", err)
	}
	content, err := s.chat(ctx, system, user, schema, s.cfg.Options)
	if err != nil {
		return triage.Answer{}, err
	}
	var out struct {
		Answer  string   `json:"answer"`
		Sources []string `json:"sources"`
	}
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return triage.Answer{}, fmt.Errorf("%w: not the JSON object of the schema: %v", errModelOutput, err)
	}
	text := strings.TrimSpace(out.Answer)
	if text == "" {
		return triage.Answer{}, fmt.Errorf("%w: empty answer", errModelOutput)
	}
	var used []string
	for _, id := range out.Sources {
		if !slices.Contains(ids, id) {
			return triage.Answer{}, fmt.Errorf("%w: unknown source %q", errModelOutput, id)
		}
		if !slices.Contains(used, id) {
			used = append(used, id)
		}
	}
	if len(used) == 0 {
		return triage.Answer{}, fmt.Errorf("%w: answer names no source", errModelOutput)
	}
	var grounding strings.Builder
	for _, src := range srcs {
		grounding.WriteString(src.Text)
		grounding.WriteByte('\n')
	}
	if seq := echo(text, t.Text(), grounding.String()); seq != "" {
		return triage.Answer{}, fmt.Errorf("%w: answer repeats the ticket (%q)", errModelOutput, seq)
	}
	return triage.Answer{Text: text, Sources: used, Mode: "llm"}, nil
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// echo returns the first echoWords-long word sequence of ticket that the
// answer contains and the grounding does not, or "".
func echo(answer, ticket, grounding string) string {
	join := func(ws []string) map[string]bool {
		m := map[string]bool{}
		for i := 0; i+echoWords <= len(ws); i++ {
			m[strings.Join(ws[i:i+echoWords], " ")] = true
		}
		return m
	}
	inTicket, inGrounding := join(words(ticket)), join(words(grounding))
	aw := words(answer)
	for i := 0; i+echoWords <= len(aw); i++ {
		seq := strings.Join(aw[i:i+echoWords], " ")
		if inTicket[seq] && !inGrounding[seq] {
			return seq
		}
	}
	return ""
}
