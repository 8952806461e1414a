package assist

import (
	"context"
	"errors"
	"fmt"
)

// Kind classifies an error for callers: the HTTP layer maps kinds to
// statuses, the CLI to exit messages. Backends translate their client errors
// into kinds at the boundary, from typed errors and status codes.
type Kind uint8

const (
	Other           Kind = iota // unclassified; treated as Internal
	Invalid                     // the input is malformed or violates a rule
	NotFound                    // the thing asked for does not exist (or is not visible to the caller)
	TooLarge                    // the input exceeds a configured limit
	Unavailable                 // a dependency (model server, index) cannot be reached
	Timeout                     // a deadline passed
	Canceled                    // the caller went away
	Conflict                    // the state does not allow the operation
	Internal                    // a bug or an unexpected failure
	Unauthenticated             // no credentials, or credentials that do not check out
	Forbidden                   // the caller is known but lacks the role for the operation
)

var kindNames = [...]string{"other", "invalid", "not_found", "too_large", "unavailable", "timeout", "canceled", "conflict", "internal", "unauthenticated", "forbidden"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is the project's error type. Op names the operation ("ingest pdf",
// "local search"); Msg is a message that is safe to show to users; Err is
// the underlying cause, which is logged but not sent to clients.
type Error struct {
	Op   string
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Op + ": " + e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Op + ": " + e.Msg
	case e.Err != nil:
		return e.Op + ": " + e.Err.Error()
	}
	return e.Op + ": " + e.Kind.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error wrapping err.
func E(kind Kind, op string, err error) *Error { return &Error{Op: op, Kind: kind, Err: err} }

// Errorf builds an *Error with a user-safe message.
func Errorf(kind Kind, op, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the outermost *Error in err's chain that has
// one, Canceled or Timeout for context errors, and Other otherwise.
func KindOf(err error) Kind {
	if err == nil {
		return Other
	}
	var e *Error
	for errors.As(err, &e) {
		if e.Kind != Other {
			return e.Kind
		}
		if e.Err == nil {
			break
		}
		err = e.Err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	}
	return Other
}

// Message returns the user-safe message of err: the Msg of the outermost
// *Error that has one, or the kind's name.
func Message(err error) string {
	var e *Error
	for errors.As(err, &e) {
		if e.Msg != "" {
			return e.Msg
		}
		if e.Err == nil {
			break
		}
		err = e.Err
	}
	return KindOf(err).String()
}
