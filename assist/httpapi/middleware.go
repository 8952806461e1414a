package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"amtsassist/assist"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-ID"

// maxRequestIDLen bounds accepted request ids: they go into every log line.
const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestID returns the request id the API assigned to ctx's request, or "".
// Code below the API (ingest, backends) can use it to correlate its logs.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// saneRequestID accepts ids made of characters that cannot forge log lines
// or headers: letters, digits and . _ : -.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '.', b == '_', b == ':', b == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

type loggerKey struct{}

// logger returns the request-scoped logger (with request_id) for c.
func (s *Server) logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Request.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return s.log
}

// requestScope assigns the request id, echoes it, and puts it and a logger
// carrying it into the request context. It runs first, so that every later
// log line and error body has the id.
func (s *Server) requestScope(c *gin.Context) {
	id := c.GetHeader(RequestIDHeader)
	if !saneRequestID(id) {
		id = newRequestID()
	}
	c.Header(RequestIDHeader, id)
	l := s.log.With("request_id", id)
	ctx := context.WithValue(c.Request.Context(), requestIDKey{}, id)
	ctx = context.WithValue(ctx, loggerKey{}, l)
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// routeLabel keeps metric cardinality bounded: unmatched paths share a label.
func routeLabel(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// accessLog writes one structured line per request, with the full error
// chain when the handler failed (the only place errors are logged), and
// observes the latency histogram.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	elapsed := time.Since(start)
	status := c.Writer.Status()
	route := routeLabel(c)
	s.metrics.requestDuration.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Observe(elapsed.Seconds())

	attrs := []any{
		"method", c.Request.Method,
		"route", route,
		"path", c.Request.URL.Path,
		"status", status,
		"bytes", c.Writer.Size(),
		"duration", elapsed,
		"client", c.ClientIP(),
	}
	level := slog.LevelInfo
	if len(c.Errors) > 0 {
		err := c.Errors.Last().Err
		attrs = append(attrs, "err", err.Error(), "kind", assist.KindOf(err).String())
		if status >= 500 && status != http.StatusServiceUnavailable {
			level = slog.LevelError
		} else if status >= 500 {
			level = slog.LevelWarn
		}
	}
	s.logger(c).Log(c.Request.Context(), level, "http request", attrs...)
}

// recovery turns a panic into a JSON 500 without internals and logs the
// stack. http.ErrAbortHandler keeps its meaning (abort the response).
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		rec := recover()
		if rec == nil {
			return
		}
		if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			panic(rec)
		}
		s.logger(c).ErrorContext(c.Request.Context(), "handler panicked", "panic", rec, "stack", string(debug.Stack()))
		err := assist.Errorf(assist.Internal, "http handler", "internal error")
		if c.Writer.Written() {
			_ = c.Error(err)
			c.Abort()
			return
		}
		writeError(c, err, nil)
	}()
	c.Next()
}
