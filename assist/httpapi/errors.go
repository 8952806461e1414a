package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"amtsassist/assist"
	"amtsassist/ingest"

	"github.com/gin-gonic/gin"
)

// StatusClientClosedRequest is the non-standard status (nginx's 499) used
// when the client went away before the answer was ready. Nobody reads it but
// the access log and the metrics, where it keeps cancellations apart from
// server failures.
const StatusClientClosedRequest = 499

// statusCause carries an HTTP status that no assist.Kind expresses (415,
// 405, 401) and, for 401, a kind name of its own. It is only ever the cause
// of an *assist.Error built in this package, so the one error path below
// still decides every status.
type statusCause struct {
	status int
	kind   string // overrides the kind name in the body when set
}

func (s statusCause) Error() string { return http.StatusText(s.status) }

// withStatus builds an error of kind k answered with the given status.
func withStatus(k assist.Kind, status int, op, format string, args ...any) error {
	return &assist.Error{Op: op, Kind: k, Msg: fmt.Sprintf(format, args...), Err: statusCause{status: status}}
}

// StatusOf maps err to the HTTP status the API answers it with:
// Invalid 400, NotFound 404, TooLarge 413, Unavailable 503, Timeout 504,
// Canceled 499, Conflict 409, anything else 500.
func StatusOf(err error) int {
	var sc statusCause
	if errors.As(err, &sc) {
		return sc.status
	}
	switch assist.KindOf(err) {
	case assist.Invalid:
		return http.StatusBadRequest
	case assist.NotFound:
		return http.StatusNotFound
	case assist.TooLarge:
		return http.StatusRequestEntityTooLarge
	case assist.Unavailable:
		return http.StatusServiceUnavailable
	case assist.Timeout:
		return http.StatusGatewayTimeout
	case assist.Canceled:
		return StatusClientClosedRequest
	case assist.Conflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorView `json:"error"`
	// Report is set when an ingest request failed after some inputs were
	// processed: it tells the client what was written and what was not.
	Report *ingest.Report `json:"report,omitempty"`
	// Checks is set by /readyz: the state of every readiness check.
	Checks map[string]string `json:"checks,omitempty"`
}

// ErrorView describes one error to a client.
type ErrorView struct {
	Kind      string `json:"kind"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// defaultMessages stand in when an error carries no user-safe message:
// the kind's bare name ("other") would tell a client nothing.
var defaultMessages = map[assist.Kind]string{
	assist.Invalid:     "invalid request",
	assist.NotFound:    "not found",
	assist.TooLarge:    "request too large",
	assist.Unavailable: "a dependency is unavailable",
	assist.Timeout:     "the request timed out",
	assist.Canceled:    "the request was canceled",
	assist.Conflict:    "conflict",
}

// publicError returns the kind name and user-safe message for err. Internal
// errors never expose anything but an explicit assist.Error message.
func publicError(err error) (kind, msg string) {
	k := assist.KindOf(err)
	if hasMessage(err) {
		msg = assist.Message(err)
	} else {
		msg = defaultMessages[k]
	}
	var sc statusCause
	switch {
	case errors.As(err, &sc) && sc.kind != "":
		kind = sc.kind
	case k == assist.Other, k == assist.Internal:
		kind = assist.Internal.String()
		if msg == "" {
			msg = "internal error"
		}
	default:
		kind = k.String()
	}
	return kind, msg
}

// hasMessage reports whether some *assist.Error in err's chain carries a
// user-safe message; assist.Message falls back to a kind name otherwise.
func hasMessage(err error) bool {
	var e *assist.Error
	for errors.As(err, &e) {
		if e.Msg != "" {
			return true
		}
		if e.Err == nil {
			return false
		}
		err = e.Err
	}
	return false
}

// writeError is the one way handlers answer with an error. It records err
// for the access log (which logs the full chain once) and writes the public
// body. body may carry extra fields (report, checks); its Error is filled in.
func writeError(c *gin.Context, err error, body *ErrorBody) {
	if body == nil {
		body = &ErrorBody{}
	}
	kind, msg := publicError(err)
	body.Error = ErrorView{Kind: kind, Message: msg, RequestID: RequestID(c.Request.Context())}
	_ = c.Error(err)
	c.AbortWithStatusJSON(StatusOf(err), body)
}
