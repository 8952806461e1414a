package service

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"amtsassist/assist"
	"amtsassist/assist/triage"
)

//go:embed prompts/*.tmpl
var promptFS embed.FS

// The templates define "system" and "user" in each file; parse them into
// separate sets so that the names do not collide.
var (
	classifyPrompt = mustPrompt("prompts/classify.tmpl")
	answerPrompt   = mustPrompt("prompts/answer.tmpl")
)

func mustPrompt(name string) *template.Template {
	return template.Must(template.New("").Option("missingkey=error").Funcs(template.FuncMap{
		"join": strings.Join,
		"inc":  func(i int) int { return i + 1 },
	}).ParseFS(promptFS, name))
}

func render(t *template.Template, data any) (system, user string, err error) {
	var sb, ub bytes.Buffer
	if err := t.ExecuteTemplate(&sb, "system", data); err != nil {
		return "", "", err
	}
	if err := t.ExecuteTemplate(&ub, "user", data); err != nil {
		return "", "", err
	}
	return sb.String(), ub.String(), nil
}

// delimiterRE matches anything that could close or open the <ticket>
// delimiter, so that ticket text cannot break out of it.
var delimiterRE = regexp.MustCompile(`(?i)<\s*/?\s*ticket\s*>`)

// asData prepares outside text for the inside of a <ticket> block.
func asData(s string) string { return delimiterRE.ReplaceAllString(s, "[ticket]") }

// llmChoice is the LLM's structured answer.
type llmChoice struct {
	Category string `json:"category"`
	Priority string `json:"priority,omitempty"`
}

// classifyNumPredict bounds the classification answer when the
// configuration sets no limit: the JSON object is a few dozen tokens.
const classifyNumPredict = 128

// errModelOutput marks unusable model output (garbage, cut, off-taxonomy).
var errModelOutput = errors.New("unusable model output")

func schemaEnum(labels []string) map[string]any {
	return map[string]any{"type": "string", "enum": labels}
}

// classifyLLM asks the chat model for a category and priority restricted to
// the taxonomy by a JSON schema, and checks the answer against the taxonomy
// anyway: constrained decoding is a request, not a guarantee.
func (s *Service) classifyLLM(ctx context.Context, t triage.Ticket, tax Desk, examples []example) (llmChoice, error) {
	props := map[string]any{"category": schemaEnum(tax.Categories)}
	required := []string{"category"}
	if len(tax.Priorities) > 0 {
		props["priority"] = schemaEnum(tax.Priorities)
		required = append(required, "priority")
	}
	schema, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false})
	for i := range examples {
		examples[i].Text = asData(examples[i].Text)
	}
	opts := s.cfg.Options
	if opts.NumPredict == 0 {
		opts.NumPredict = classifyNumPredict
	}
	text := t.Text()
	content, err := s.classifyOnce(ctx, t.Desk, tax, examples, text, schema, opts)
	if assist.KindOf(err) == assist.TooLarge && (len(examples) > 0 || len(text) > retryTextBytes) {
		// A small context: the examples help, but an answer without them
		// beats none. The subject and the start of the body carry the topic.
		s.log.InfoContext(ctx, "triage prompt too large; retrying without examples", "desk", t.Desk, "examples", len(examples))
		content, err = s.classifyOnce(ctx, t.Desk, tax, nil, truncate(text, retryTextBytes), schema, opts)
	}
	if err != nil {
		return llmChoice{}, err
	}
	var c llmChoice
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return llmChoice{}, fmt.Errorf("%w: not the JSON object of the schema: %v", errModelOutput, err)
	}
	if !tax.HasCategory(c.Category) {
		return llmChoice{}, fmt.Errorf("%w: category %q is not in the taxonomy", errModelOutput, c.Category)
	}
	if len(tax.Priorities) > 0 && !tax.HasPriority(c.Priority) {
		return llmChoice{}, fmt.Errorf("%w: priority %q is not in the taxonomy", errModelOutput, c.Priority)
	}
	return c, nil
}

// retryTextBytes bounds the ticket text of the retry after a prompt was
// too large for the model's context.
const retryTextBytes = 1000

func (s *Service) classifyOnce(ctx context.Context, desk string, tax Desk, examples []example, text string, schema json.RawMessage, opts assist.ChatOptions) (string, error) {
	system, user, err := render(classifyPrompt, map[string]any{
		"Desk": desk, "Categories": tax.Categories, "Priorities": tax.Priorities,
		"Examples": examples, "Ticket": asData(text),
	})
	if err != nil {
		return "", assist.E(assist.Internal, "triage prompt", err)
	}
	return s.chat(ctx, system, user, schema, opts)
}

// chat runs one structured request and returns the whole answer; a cut
// answer (DoneReason "length") is an error, since a cut JSON object is
// never valid even when it happens to parse.
func (s *Service) chat(ctx context.Context, system, user string, schema json.RawMessage, opts assist.ChatOptions) (string, error) {
	res, err := s.cfg.Chat.Chat(ctx, assist.ChatRequest{
		Messages: []assist.ChatMessage{{Role: assist.RoleSystem, Content: system}, {Role: assist.RoleUser, Content: user}},
		Format:   schema,
		Options:  opts,
	}, func(assist.Delta) error { return nil })
	if err != nil {
		return "", err
	}
	if res.DoneReason == "length" {
		return "", fmt.Errorf("%w: answer cut at %d tokens (done reason \"length\")", errModelOutput, res.OutputTokens)
	}
	return res.Content, nil
}
