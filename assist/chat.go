package assist

import (
	"context"
	"encoding/json"
	"time"
)

// Role of a chat message.
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// ChatMessage is one chat message.
type ChatMessage struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
}

// ChatOptions are the generation options of one use case, from
// configuration. Zero values leave the backend's default, except NumCtx:
// backends must always send an explicit context size (see ChatModel).
type ChatOptions struct {
	Temperature *float64      `json:"temperature,omitempty"`
	Seed        *int          `json:"seed,omitempty"`
	NumCtx      int           `json:"num_ctx,omitempty"`     // context window in tokens; 0: the model's full context length
	NumPredict  int           `json:"num_predict,omitempty"` // maximum output tokens; 0: backend default
	KeepAlive   time.Duration `json:"keep_alive,omitempty"`  // 0: server default
}

// ChatRequest is one generation request.
type ChatRequest struct {
	Messages []ChatMessage
	// Format, when set, is a JSON schema the answer must follow
	// (structured output).
	Format  json.RawMessage
	Options ChatOptions
}

// Delta is one streamed piece of the answer.
type Delta struct {
	Content string
}

// ChatResult describes a finished generation.
type ChatResult struct {
	Content string // the whole answer
	// DoneReason is "stop" for a natural end, "length" when the answer was
	// cut by NumPredict, and "incomplete" when the server ended the stream
	// without finishing the answer. Anything but "stop" is not a complete
	// answer (and a structured one is never valid).
	DoneReason   string
	PromptTokens int // tokens the model actually evaluated for the prompt
	OutputTokens int
	NumCtx       int // the context size that was in force
	Model        ModelInfo
	Duration     time.Duration
	// FirstToken is the time from the request to the first delta.
	FirstToken time.Duration
}

// ChatModel generates answers. Implementations must never let a prompt be
// truncated silently: they send an explicit context size and return
// TooLarge when the prompt (as counted by the server) does not fit.
type ChatModel interface {
	// Chat streams the answer to fn, delta by delta; returning an error
	// from fn stops generation on the server and Chat returns that error.
	// Cancelling ctx stops generation too (Canceled). It returns
	// Unavailable when the server cannot be reached, NotFound when the
	// model is missing (naming the fix), TooLarge when the prompt exceeds
	// the context, Timeout when the deadline passes.
	Chat(ctx context.Context, req ChatRequest, fn func(Delta) error) (ChatResult, error)
	// Model describes the chat model: name, digest and context length as
	// read from the server at start.
	Model() ModelInfo
}

// TokenCounter is implemented by chat models that can count the tokens of
// a text exactly or conservatively; context packing uses it to budget.
type TokenCounter interface {
	CountTokens(ctx context.Context, text string) (int, error)
}

// Over returns base with o's non-zero fields applied: a request's options
// override the use case's configured ones field by field.
func (o ChatOptions) Over(base ChatOptions) ChatOptions {
	if o.Temperature != nil {
		base.Temperature = o.Temperature
	}
	if o.Seed != nil {
		base.Seed = o.Seed
	}
	if o.NumCtx != 0 {
		base.NumCtx = o.NumCtx
	}
	if o.NumPredict != 0 {
		base.NumPredict = o.NumPredict
	}
	if o.KeepAlive != 0 {
		base.KeepAlive = o.KeepAlive
	}
	return base
}

// Validate returns an Invalid error (for operation op) when o holds a value
// no backend accepts: a negative context or answer size, or a temperature
// outside 0..2.
func (o ChatOptions) Validate(op string) error {
	switch {
	case o.NumCtx < 0:
		return Errorf(Invalid, op, "num_ctx %d is negative", o.NumCtx)
	case o.NumPredict < 0:
		return Errorf(Invalid, op, "num_predict %d is negative", o.NumPredict)
	case o.Temperature != nil && (*o.Temperature < 0 || *o.Temperature > 2):
		return Errorf(Invalid, op, "temperature %g is outside 0..2", *o.Temperature)
	}
	return nil
}
