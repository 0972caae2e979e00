package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/galvani-sync/galvani/protocol"
)

// httpError is an error with the exact response the protocol prescribes.
type httpError struct {
	status  int
	body    any               // JSON-encoded
	raw     string            // used instead of body when set
	headers map[string]string // extra headers
	cause   error             // logged, never sent
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.cause.Error()
	}
	return http.StatusText(e.status)
}

func (e *httpError) Unwrap() error { return e.cause }

// invalid returns the 400 validation error for one or more fields.
func invalid(errs map[string][]string) *httpError {
	return &httpError{status: http.StatusBadRequest, body: protocol.ErrorBody{Message: "Invalid request", Errors: errs}}
}

func invalidField(field, msg string) *httpError {
	return invalid(map[string][]string{field: {msg}})
}

func unavailable(msg string, retryAfter int, cause error) *httpError {
	return &httpError{
		status:  http.StatusServiceUnavailable,
		body:    map[string]string{"message": msg},
		headers: map[string]string{"retry-after": strconv.Itoa(retryAfter)},
		cause:   cause,
	}
}

func databaseUnreachable(cause error) *httpError {
	return &httpError{
		status:  http.StatusServiceUnavailable,
		body:    map[string]string{"code": "database_unreachable", "error": "Database is unreachable"},
		headers: map[string]string{"retry-after": "10"},
		cause:   cause,
	}
}

// mustRefetch is the 409 telling the client to start again, with the
// shape's current handle when there is one.
func mustRefetch(handle string) *httpError {
	e := &httpError{status: http.StatusConflict, raw: protocol.MustRefetchResponse, headers: map[string]string{}}
	if handle != "" {
		e.headers[protocol.HeaderHandle] = handle
	}
	return e
}

// writeError sends err as the protocol's response.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		he = &httpError{status: http.StatusInternalServerError, body: map[string]string{"error": "Internal server error"}}
	} else if he.cause != nil {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", he.status, "error", he.cause)
	}
	h := w.Header()
	for k, v := range he.headers {
		h.Set(k, v)
	}
	h.Set("content-type", "application/json; charset=utf-8")
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		h.Set("cache-control", "no-cache")
	case he.status == http.StatusConflict && he.headers[protocol.HeaderHandle] != "":
		h.Set("cache-control", "public, max-age=60, must-revalidate")
		h.Set("etag", `"`+he.headers[protocol.HeaderHandle]+`::"`)
	case he.status == http.StatusConflict:
		h.Set("cache-control", "public, max-age=1, must-revalidate")
	default:
		h.Set("cache-control", "no-store")
		h.Set("surrogate-control", "no-store")
	}
	w.WriteHeader(he.status)
	if r.Method == http.MethodHead {
		return
	}
	if he.raw != "" {
		w.Write([]byte(he.raw))
		return
	}
	b, _ := json.Marshal(he.body)
	w.Write(b)
}
