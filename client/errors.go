package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/galvani-sync/galvani/protocol"
)

var (
	// ErrInvalidRequest is returned, wrapped with the reason, by
	// Client.Stream, Client.RequestSnapshot and Client.DeleteShape for a
	// request that cannot be sent (no table, a bad offset, …). Nothing is
	// sent to the server.
	ErrInvalidRequest = errors.New("client: invalid request")

	// ErrMissingHeaders is returned by ShapeStream.Next when a successful
	// response lacks a header the protocol requires: electric-handle and
	// electric-offset always, electric-cursor on live responses,
	// electric-schema on other ones. It is not retried (like the
	// TypeScript client's MissingHeadersError); the usual cause is a proxy
	// that strips the headers or, in a browser, does not expose them.
	ErrMissingHeaders = errors.New("client: response lacks required electric headers")

	// ErrBadResponse is returned, wrapped with the details, when a
	// successful response does not follow the protocol: a body that is not
	// a JSON array of messages, a malformed offset or schema header. It is
	// not retried.
	ErrBadResponse = errors.New("client: malformed response")

	// ErrStaleCache is returned by ShapeStream.Next when, after a 409, the
	// server (or, in practice, a cache in front of it) keeps answering
	// with the expired shape handle although every retry carried a fresh
	// cache-buster parameter.
	ErrStaleCache = errors.New("client: a cache keeps serving the expired shape handle")

	// ErrNoProgress is returned by ShapeStream.Next when five non-live
	// responses in a row neither advance the offset nor reach up-to-date:
	// following the server would loop forever.
	ErrNoProgress = errors.New("client: the server does not advance the offset")

	// ErrSubsetUnsupported is returned by RequestSnapshot when the server
	// answers a subset request with a plain shape log: it ignored the
	// subset__* parameters, so the rows are not the requested subset.
	ErrSubsetUnsupported = errors.New("client: the server does not serve subset snapshots")

	// ErrClosed is returned by ShapeStream.Next after Close.
	ErrClosed = errors.New("client: stream closed")

	// ErrSlowSubscriber is reported by Subscription.Err when the
	// subscription was dropped because its buffer was full.
	ErrSlowSubscriber = errors.New("client: subscriber fell behind")
)

// FetchError is a response with a status the client does not process: any
// 4xx other than 409, or a 429 or 5xx once retries are exhausted.
type FetchError struct {
	// Method and URL identify the request; secrets in the query are
	// replaced by "REDACTED".
	Method, URL string
	// Status is the HTTP status code.
	Status int
	// Header holds the response headers.
	Header http.Header
	// Body is the protocol's error body ({"message":…,"errors":{…}})
	// when the response carried one, else zero.
	Body protocol.ErrorBody
	// Raw is the response body as received, up to 64 KiB.
	Raw []byte
}

// maxErrorBody bounds how much of an error response is kept.
const maxErrorBody = 64 << 10

func (e *FetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	switch {
	case e.Body.Message != "" || len(e.Body.Errors) > 0:
		if e.Body.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Body.Message)
		}
		fields := make([]string, 0, len(e.Body.Errors))
		for f := range e.Body.Errors {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		for _, f := range fields {
			fmt.Fprintf(&b, "; %s: %s", f, strings.Join(e.Body.Errors[f], ", "))
		}
	case len(e.Raw) > 0:
		raw := strings.TrimSpace(string(e.Raw))
		if len(raw) > 200 {
			raw = raw[:200] + "…"
		}
		b.WriteString(": ")
		b.WriteString(raw)
	}
	return b.String()
}

// Retryable reports whether the status says a retry may succeed: 429 and
// every 5xx.
func (e *FetchError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// newFetchError builds the error for an unprocessed response; raw is the
// (possibly truncated) body.
func newFetchError(method, url string, resp *http.Response, raw []byte) *FetchError {
	e := &FetchError{Method: method, URL: url, Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	// The protocol's bodies use "message"; POST body errors use "error".
	// Subset errors nest one level ({"subset":{"where":[…]}}); they are
	// flattened to "subset.where".
	var body struct {
		Message string          `json:"message"`
		Error   string          `json:"error"`
		Errors  json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return e
	}
	e.Body.Message = body.Message
	if e.Body.Message == "" {
		e.Body.Message = body.Error
	}
	var errs any
	if len(body.Errors) > 0 && json.Unmarshal(body.Errors, &errs) == nil {
		e.Body.Errors = map[string][]string{}
		flattenErrors(e.Body.Errors, "", errs)
		if len(e.Body.Errors) == 0 {
			e.Body.Errors = nil
		}
	}
	return e
}

// flattenErrors adds the messages of an "errors" value to out, naming
// nested fields with dots.
func flattenErrors(out map[string][]string, field string, v any) {
	switch v := v.(type) {
	case string:
		out[field] = append(out[field], v)
	case []any:
		for _, m := range v {
			flattenErrors(out, field, m)
		}
	case map[string]any:
		for k, m := range v {
			if field != "" {
				k = field + "." + k
			}
			flattenErrors(out, k, m)
		}
	default:
		if v != nil {
			b, _ := json.Marshal(v)
			out[field] = append(out[field], string(b))
		}
	}
}

// Retryable reports whether err, or an error it wraps, says a retry may
// succeed: a 429 or 5xx FetchError, or a transport error (connection
// refused or reset, a timeout, a body cut short). Cancellation, the
// package's sentinels and other FetchErrors are final.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	for _, final := range []error{ErrInvalidRequest, ErrMissingHeaders, ErrBadResponse, ErrStaleCache, ErrNoProgress, ErrSubsetUnsupported, ErrClosed} {
		if errors.Is(err, final) {
			return false
		}
	}
	return true
}
