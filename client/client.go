package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/galvani-sync/galvani/protocol"
)

// ShapePath is the shape endpoint, relative to Client.BaseURL.
const ShapePath = "/v1/shape"

// DefaultLiveTimeout bounds one live long-poll request. Servers hold a
// live request for 20 s by default; a request held longer than this is
// abandoned and sent again, as the TypeScript client does after 45 s.
const DefaultLiveTimeout = 45 * time.Second

// DefaultSSEIdleTimeout is how long an SSE connection may stay silent
// before it is dropped and reopened. Servers send a keep-alive comment
// after 21 s without events, so this is three missed keep-alives.
const DefaultSSEIdleTimeout = 65 * time.Second

// Query parameters the client sends besides protocol's definition
// parameters.
const (
	paramCacheBuster    = "cache-buster"
	paramExpiredHandle  = "expired_handle"
	paramSubsetWhere    = "subset__where"
	paramSubsetParams   = "subset__params"
	paramSubsetLimit    = "subset__limit"
	paramSubsetOffset   = "subset__offset"
	paramSubsetOrderBy  = "subset__order_by"
	contentTypeSSE      = "text/event-stream"
	headerAccept        = "Accept"
	headerContentType   = "Content-Type"
	redactedQueryMarker = "REDACTED"
)

// Client talks to one Galvani (or Electric) server. The zero value is not
// usable: set BaseURL. A Client is safe for concurrent use once its fields
// are set; do not change them afterwards.
type Client struct {
	// BaseURL is the server's root URL, such as "http://localhost:3000".
	// Requests go to BaseURL + ShapePath; a BaseURL whose path already
	// ends in ShapePath (a proxy mounted elsewhere) is used as it is.
	BaseURL string
	// HTTPClient sends the requests; nil means http.DefaultClient. Its
	// Timeout, if set, must exceed the server's long-poll hold (20 s).
	HTTPClient *http.Client
	// Headers are added to every request (for example Authorization for
	// an authenticating proxy).
	Headers http.Header
	// Params are added to every request's query, such as "secret". A shape
	// request's own parameters win over these.
	Params url.Values
	// Backoff configures retries; the zero value gives the defaults.
	Backoff Backoff
	// LiveTimeout bounds each live long-poll request; 0 means
	// DefaultLiveTimeout, negative means no bound.
	LiveTimeout time.Duration
	// SSEIdleTimeout bounds silence on an SSE connection; 0 means
	// DefaultSSEIdleTimeout, negative means no bound.
	SSEIdleTimeout time.Duration
	// OnRetry, when set, is called before each wait for a retry with the
	// error that caused it, the retry's number (from 1) and the wait. It
	// runs on the goroutine that called Next; it must not block.
	OnRetry func(err error, retry int, wait time.Duration)
}

// ShapeRequest defines a shape and where to start reading it.
type ShapeRequest struct {
	// Table is the root table, "name" or "schema.name"; parts may be
	// double-quoted to keep case or special characters.
	Table string
	// Where filters the rows (a Postgres boolean expression); empty for
	// every row.
	Where string
	// Params are the values of $1, $2, … in Where.
	Params []string
	// Columns are the exact names of the columns to sync (they must
	// include the primary key); nil for all columns.
	Columns []string
	// Replica is "default" (updates carry changed columns only) or "full"
	// (updates carry whole rows and old values); empty means default.
	Replica string
	// ChangesOnly asks for log=changes_only: no initial rows, only the
	// changes after the shape was created.
	ChangesOnly bool
	// LiveSSE makes live mode use one long-lived Server-Sent Events
	// connection instead of repeated long-polls.
	LiveSSE bool

	// Offset and Handle resume a stream where an earlier one stopped:
	// pass the values of its Offset and Handle methods. An empty Offset
	// (or "-1") starts from the beginning; "now" skips existing rows and
	// follows only new changes; any other offset needs its Handle.
	Offset string
	Handle string
}

// validate checks what the server would reject anyway, so the mistake is
// reported without a request.
func (r *ShapeRequest) validate() error {
	if err := r.validateDefinition(); err != nil {
		return err
	}
	switch r.Offset {
	case "", "-1", protocol.OffsetNow:
	default:
		if _, err := protocol.ParseOffset(r.Offset); err != nil {
			return fmt.Errorf("%w: offset %q: %v", ErrInvalidRequest, r.Offset, err)
		}
		if r.Handle == "" {
			return fmt.Errorf("%w: offset %q needs the shape handle it belongs to", ErrInvalidRequest, r.Offset)
		}
	}
	return nil
}

// validateDefinition checks the parameters that define the shape.
func (r *ShapeRequest) validateDefinition() error {
	if strings.TrimSpace(r.Table) == "" {
		return fmt.Errorf("%w: no table", ErrInvalidRequest)
	}
	switch r.Replica {
	case "", protocol.ReplicaDefault, protocol.ReplicaFull:
	default:
		return fmt.Errorf("%w: replica %q is not %q or %q", ErrInvalidRequest, r.Replica, protocol.ReplicaDefault, protocol.ReplicaFull)
	}
	for _, c := range r.Columns {
		if c == "" {
			return fmt.Errorf("%w: empty column name", ErrInvalidRequest)
		}
	}
	return nil
}

// logMode is the log parameter's value.
func (r *ShapeRequest) logMode() string {
	if r.ChangesOnly {
		return protocol.LogChangesOnly
	}
	return protocol.LogFull
}

// definition returns the query parameters that define the shape, merged
// over the client's extra parameters.
func (c *Client) definition(r *ShapeRequest) url.Values {
	q := url.Values{}
	for k, v := range c.Params {
		q[k] = append([]string(nil), v...)
	}
	q.Set(protocol.ParamTable, r.Table)
	if r.Where != "" {
		q.Set(protocol.ParamWhere, r.Where)
	}
	for i, p := range r.Params {
		q.Set(protocol.ParamParams+"["+strconv.Itoa(i+1)+"]", p)
	}
	if len(r.Columns) > 0 {
		q.Set(protocol.ParamColumns, quoteColumns(r.Columns))
	}
	if r.Replica != "" {
		q.Set(protocol.ParamReplica, r.Replica)
	}
	q.Set(protocol.ParamLog, r.logMode())
	return q
}

// quoteColumns renders exact column names as the columns parameter: each
// double-quoted with inner quotes doubled, so case and commas survive.
func quoteColumns(cols []string) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(c, `"`, `""`))
		b.WriteByte('"')
	}
	return b.String()
}

// endpoint returns the shape endpoint URL.
func (c *Client) endpoint() (*url.URL, error) {
	if c.BaseURL == "" {
		return nil, fmt.Errorf("%w: Client.BaseURL is empty", ErrInvalidRequest)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: BaseURL: %v", ErrInvalidRequest, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%w: BaseURL %q is not an absolute URL", ErrInvalidRequest, c.BaseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), ShapePath) {
		u = u.JoinPath(ShapePath)
	}
	return u, nil
}

// urlFor returns the request URL for q. Encode sorts the parameters, so
// equal requests have equal URLs (and hit the same cache entries).
func urlFor(endpoint *url.URL, q url.Values) string {
	u := *endpoint
	u.RawQuery = q.Encode()
	return u.String()
}

// secretParams are redacted from URLs in errors, as Electric redacts them
// from its logs.
var secretParams = []string{protocol.ParamSecret, protocol.ParamSecretV0, "token", "access_token", "api_key", "password"}

// redact returns rawURL with secret query parameters masked.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	changed := false
	for _, p := range secretParams {
		if _, ok := q[p]; ok {
			q.Set(p, redactedQueryMarker)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Client) backoff() Backoff { return c.Backoff.withDefaults() }

// send sends a bodyless request with the client's headers and extra ones.
func (c *Client) send(ctx context.Context, method, rawURL string, extra http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	for k, v := range c.Headers {
		req.Header[k] = append([]string(nil), v...)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		// *url.Error repeats the URL, secret included; keep only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("%s %s: %w", method, redact(rawURL), err)
	}
	return resp, nil
}

// fetchError reads (part of) resp's body, closes it and returns the
// FetchError describing resp.
func fetchError(method, rawURL string, resp *http.Response) *FetchError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	return newFetchError(method, redact(rawURL), resp, raw)
}

// discard drains a little of resp's body, so the connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// retryWait waits before retry number attempt+1 of a failed request, or
// returns the error to give up with: err itself when it is final or
// retries are exhausted, the context's error when ctx ends first.
func (c *Client) retryWait(ctx context.Context, attempt int, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	b := c.backoff()
	if !Retryable(err) || (b.MaxRetries > 0 && attempt >= b.MaxRetries) {
		return err
	}
	var h http.Header
	var fe *FetchError
	if errors.As(err, &fe) {
		h = fe.Header
	}
	d := b.delay(attempt, h, time.Now())
	if c.OnRetry != nil {
		c.OnRetry(err, attempt+1, d)
	}
	return sleep(ctx, d)
}

// newCacheBuster returns a random value for the cache-buster parameter.
func newCacheBuster() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DeleteShape deletes a shape (DELETE /v1/shape), named by its definition,
// by req.Handle, or both. The server allows it only when started with
// ELECTRIC_ENABLE_INTEGRATION_TESTING=true; every client of the shape
// gets must-refetch on its next request. A refusal is a *FetchError (404
// when no such shape exists). DeleteShape is not retried.
func (c *Client) DeleteShape(ctx context.Context, req ShapeRequest) error {
	endpoint, err := c.endpoint()
	if err != nil {
		return err
	}
	var q url.Values
	if req.Table == "" {
		if req.Handle == "" {
			return fmt.Errorf("%w: delete needs a table or a handle", ErrInvalidRequest)
		}
		q = url.Values{}
		for k, v := range c.Params {
			q[k] = append([]string(nil), v...)
		}
	} else {
		if err := req.validateDefinition(); err != nil {
			return err
		}
		q = c.definition(&req)
	}
	if req.Handle != "" {
		q.Set(protocol.ParamHandle, req.Handle)
	}
	u := urlFor(endpoint, q)
	resp, err := c.send(ctx, http.MethodDelete, u, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fetchError(http.MethodDelete, u, resp)
	}
	discard(resp)
	return nil
}
