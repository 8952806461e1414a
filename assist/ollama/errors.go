package ollama

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ollama/ollama/api"

	"amtsassist/assist"
)

// translate turns an error of the Ollama client into an *assist.Error. ctx is
// the caller's context (not the per-request one), which tells the caller's
// own cancellation apart from the per-request timeout. model is the model
// the request named, or "".
//
// The decision rests on types and status codes only, never on message text.
// The client error is kept as the cause for logs; only Ollama's own reason
// for a 4xx rejection reaches the user-facing message.
func (c *Client) translate(ctx context.Context, op, model string, err error) error {
	var (
		status    api.StatusError
		auth      api.AuthorizationError
		urlErr    *url.Error
		netErr    net.Error
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		assisErr  *assist.Error
		certErr   *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &assisErr):
		return err
	case ctx.Err() != nil:
		// The caller gave up; the request's failure is a consequence.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &assist.Error{Op: op, Kind: assist.Timeout, Msg: "the deadline passed while waiting for Ollama at " + c.url, Err: err}
		}
		return &assist.Error{Op: op, Kind: assist.Canceled, Msg: "the request was canceled", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &assist.Error{Op: op, Kind: assist.Timeout, Msg: fmt.Sprintf("Ollama at %s did not answer within %v: raise the Ollama timeout or use a smaller batch size", c.url, c.cfg.Timeout), Err: err}
	case errors.As(err, &status):
		return c.translateStatus(op, model, status.StatusCode, err)
	case errors.As(err, &auth):
		return c.translateStatus(op, model, auth.StatusCode, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return &assist.Error{Op: op, Kind: assist.Timeout, Msg: fmt.Sprintf("Ollama at %s did not answer in time", c.url), Err: err}
	case errors.As(err, &certErr):
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("the TLS certificate of Ollama at %s is not trusted: check --ollama-url and the system's CA certificates", c.url), Err: err}
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &recordErr):
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("Ollama at %s does not speak TLS: use an http:// URL", c.url), Err: err}
	case errors.As(err, &urlErr), errors.As(err, &netErr):
		// Refused, reset, DNS failure, the server closing the connection
		// mid-response: all mean the server is not there to answer.
		return c.unreachable(op, err)
	case errors.As(err, &syntax), errors.As(err, &typeErr):
		return &assist.Error{Op: op, Kind: assist.Unavailable, Msg: fmt.Sprintf("the server at %s did not answer like Ollama: check --ollama-url", c.url), Err: err}
	}
	return &assist.Error{Op: op, Kind: assist.Internal, Msg: "unexpected error from Ollama at " + c.url, Err: err}
}

func (c *Client) unreachable(op string, err error) error {
	return &assist.Error{
		Op:   op,
		Kind: assist.Unavailable,
		Msg:  fmt.Sprintf("Ollama at %s is not reachable: start it with `ollama serve` or set --ollama-url", c.url),
		Err:  err,
	}
}

func (c *Client) translateStatus(op, model string, code int, err error) error {
	e := &assist.Error{Op: op, Err: err}
	switch {
	case code == http.StatusNotFound && model != "":
		e.Kind = assist.NotFound
		e.Msg = fmt.Sprintf("model %s not found on Ollama at %s: run `ollama pull %s`", model, c.url, model)
	case code == http.StatusNotFound:
		e.Kind = assist.Unavailable
		e.Msg = fmt.Sprintf("the server at %s does not offer the Ollama API: check --ollama-url", c.url)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		e.Kind = assist.Unavailable
		e.Msg = fmt.Sprintf("Ollama at %s refused access (HTTP %d): check the proxy in front of it", c.url, code)
	case code == http.StatusRequestEntityTooLarge:
		e.Kind = assist.TooLarge
		e.Msg = fmt.Sprintf("Ollama at %s rejected the request as too large: use a smaller batch size", c.url)
	case code == http.StatusRequestTimeout || code == http.StatusGatewayTimeout:
		e.Kind = assist.Timeout
		e.Msg = fmt.Sprintf("Ollama at %s did not answer in time (HTTP %d)", c.url, code)
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable || code == http.StatusBadGateway:
		// Ollama answers 503 when its request queue is full.
		e.Kind = assist.Unavailable
		e.Msg = fmt.Sprintf("Ollama at %s is busy or unavailable (HTTP %d): try again later", c.url, code)
	case code >= 500:
		// Typically the model runner failed to load or crashed.
		e.Kind = assist.Unavailable
		e.Msg = fmt.Sprintf("Ollama at %s failed to run model %s (HTTP %d): see the Ollama server log", c.url, model, code)
	default:
		// Ollama's 4xx messages are written for users ("input length
		// exceeds maximum context length"); pass them on.
		e.Kind = assist.Invalid
		e.Msg = fmt.Sprintf("Ollama at %s rejected the request for model %s (HTTP %d)", c.url, model, code)
		if m := serverMessage(err); m != "" {
			e.Msg += ": " + m
		}
	}
	return e
}

// serverMessage returns the error text of an Ollama error response,
// shortened, or "" when the response carried none.
func serverMessage(err error) string {
	var status api.StatusError
	if !errors.As(err, &status) {
		return ""
	}
	m := strings.TrimSpace(status.ErrorMessage)
	if !utf8.ValidString(m) || strings.ContainsAny(m, "<>\x00") {
		return "" // an HTML page or binary garbage from a proxy, not a message
	}
	const maxLen = 300
	if len(m) > maxLen {
		m = strings.ToValidUTF8(m[:maxLen], "") + "..."
	}
	return m
}
