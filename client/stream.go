package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/galvani-sync/galvani/protocol"
)

// Limits of the stream's state machine, those of the TypeScript client.
const (
	maxStaleRetries = 3               // responses carrying the expired handle before ErrStaleCache
	maxStalled      = 5               // non-live responses without progress before ErrNoProgress
	maxShortSSE     = 3               // SSE connections shorter than minSSE before falling back to long-polls
	minSSE          = 1 * time.Second // an SSE connection shorter than this counts as short
)

// errConcurrentNext reports a misuse: Next called while another call runs.
var errConcurrentNext = errors.New("client: ShapeStream.Next called concurrently")

// Batch is what one ShapeStream.Next call returns: the messages of one
// response (long-poll), or of one SSE connection up to an up-to-date
// message, in log order.
type Batch struct {
	// Messages are the data and control messages. A must-refetch batch
	// holds one synthetic must-refetch control message.
	Messages []protocol.Message
	// UpToDate reports that the batch ends at the end of the shape's log
	// (it holds an up-to-date message, or was a 204): applying every batch
	// so far gives a state the shape really had.
	UpToDate bool
	// MustRefetch reports that the server invalidated the shape (409):
	// the caller must discard every row it holds; the stream starts again
	// from offset -1 under the handle the server named.
	MustRefetch bool
	// Live reports that the batch answered a live request (long-poll or
	// SSE), i.e. the stream had been up to date before.
	Live bool
	// Handle and Offset are the stream's position after this batch: the
	// values to persist, once the batch is applied, to resume there later.
	Handle, Offset string
}

// ShapeStream reads one shape's log: the initial snapshot chunk by chunk,
// then, after the first up-to-date, live changes by long-polling (or SSE
// when the request asks for it). The caller pulls with Next or All. While
// catching up, a Next call may leave the requests for the next chunks
// running in goroutines of their own (see prefetch.go); otherwise a Next
// call returns only once everything it started has stopped.
//
// Next must not be called concurrently with itself or Close. Offset,
// Handle, Schema and RequestSnapshot may be called from any goroutine.
type ShapeStream struct {
	c        *Client
	req      ShapeRequest
	endpoint *url.URL

	mu     sync.Mutex // guards handle, offset and schema
	handle string
	offset string
	schema Schema

	// Owned by the goroutine calling Next.
	cursor        string // last electric-cursor, sent on live requests
	live          bool   // an up-to-date was seen: requests are live
	expiredHandle string // handle a 409 invalidated, sent as expired_handle
	cacheBuster   string // sent once, on the request after a 409 or a stale response
	staleRetries  int
	stalled       int
	refetches     int // consecutive 409s
	sseShort      int // consecutive short SSE connections
	sseOff        bool
	sse           *sseConn
	pf            *prefetcher // catch-up requests sent ahead
	err           error       // sticky final error
	closed        bool
	busy          atomic.Bool
}

// Stream returns a stream for req. It validates req but sends nothing; the
// first Next call makes the first request.
func (c *Client) Stream(req ShapeRequest) (*ShapeStream, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	endpoint, err := c.endpoint()
	if err != nil {
		return nil, err
	}
	s := &ShapeStream{c: c, req: req, endpoint: endpoint, handle: req.Handle, offset: req.Offset}
	if s.offset == "" {
		s.offset = protocol.BeforeAll.String()
	}
	return s, nil
}

// Offset returns the offset after the last batch Next returned (the
// request's offset before the first): persist it with Handle to resume.
func (s *ShapeStream) Offset() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offset
}

// Handle returns the shape handle the stream follows ("" before the first
// response of a stream started without one).
func (s *ShapeStream) Handle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handle
}

// Schema returns the shape's columns from the first response that carried
// them (nil before; reset by a must-refetch).
func (s *ShapeStream) Schema() Schema {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schema
}

// Request returns the request the stream was made from.
func (s *ShapeStream) Request() ShapeRequest { return s.req }

// Next returns the next batch of messages, waiting for one as long as
// needed: in live mode a long-poll may be held by the server for its
// timeout and then answer with an up-to-date batch and no data.
//
// 429s, 5xx and network errors are retried with backoff (Client.Backoff);
// a 409 resets the stream and returns a MustRefetch batch. Other failures
// are final: a *FetchError (other 4xx), ErrMissingHeaders, ErrBadResponse,
// ErrStaleCache or ErrNoProgress, which every later call returns again.
// When ctx ends, Next returns ctx.Err() and the stream is left as it was:
// a later call resumes from the same offset.
func (s *ShapeStream) Next(ctx context.Context) (Batch, error) {
	if !s.busy.CompareAndSwap(false, true) {
		return Batch{}, errConcurrentNext
	}
	defer s.busy.Store(false)
	switch {
	case s.closed:
		return Batch{}, ErrClosed
	case s.err != nil:
		return Batch{}, s.err
	}
	for attempt := 0; ; {
		if err := ctx.Err(); err != nil {
			return Batch{}, err
		}
		b, err := s.step(ctx)
		switch {
		case err == nil && b != nil:
			return *b, nil
		case err == nil: // ask again at once: live timeout, stale cache, SSE reconnect
			attempt = 0
			continue
		}
		if werr := s.c.retryWait(ctx, attempt, err); werr != nil {
			if ctx.Err() == nil && !Retryable(werr) {
				s.err = werr
				s.dropPrefetch()
			}
			return Batch{}, werr
		}
		attempt++
	}
}

// All returns an iterator over the stream's batches; it ends after the
// first error (ctx's end included), which it yields. Breaking out of the
// loop releases the stream's connection; the stream stays usable.
func (s *ShapeStream) All(ctx context.Context) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		defer s.release()
		for {
			b, err := s.Next(ctx)
			if err != nil {
				yield(Batch{}, err)
				return
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}

// Close releases the stream's SSE connection, if any; later Next calls
// return ErrClosed. It must not be called concurrently with Next.
func (s *ShapeStream) Close() error {
	s.closeSSE()
	s.dropPrefetch()
	s.closed = true
	return nil
}

// release drops an open SSE connection and a prefetched request; the next
// Next reconnects or sends it again.
func (s *ShapeStream) release() {
	if !s.busy.Load() {
		s.closeSSE()
		s.dropPrefetch()
	}
}

func (s *ShapeStream) closeSSE() {
	if s.sse != nil {
		s.sse.close()
		s.sse = nil
	}
}

// step makes one request (or reads an open SSE connection) and returns
// the batch, nil to ask again at once, or the error to retry or return.
func (s *ShapeStream) step(ctx context.Context) (*Batch, error) {
	if s.sse != nil {
		return s.readSSE(ctx)
	}
	if s.refetches > 1 { // a 409 answered the request after a 409: do not hammer
		if err := sleep(ctx, s.c.backoff().delay(s.refetches-2, nil, time.Now())); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	handle, offset := s.handle, s.offset
	s.mu.Unlock()
	useSSE := s.live && s.req.LiveSSE && !s.sseOff
	u := s.requestURL(handle, offset, useSSE)
	if useSSE {
		s.dropPrefetch()
		return s.openSSE(ctx, u)
	}
	return s.poll(ctx, u, offset)
}

// requestURL returns the URL of the stream's next request, at offset
// under handle.
func (s *ShapeStream) requestURL(handle, offset string, useSSE bool) string {
	return buildURL(s.endpoint, s.c.definition(&s.req), handle, offset, urlState{
		live: s.live, cursor: s.cursor, sse: useSSE,
		expiredHandle: s.expiredHandle, cacheBuster: s.cacheBuster,
	})
}

// urlState is the part of a stream's state its request URLs carry.
type urlState struct {
	live, sse                  bool
	cursor                     string
	expiredHandle, cacheBuster string
}

// buildURL returns the URL of a request for the shape defined by def (which
// it does not change) at offset under handle.
func buildURL(endpoint *url.URL, def url.Values, handle, offset string, st urlState) string {
	q := make(url.Values, len(def)+4)
	for k, v := range def {
		q[k] = v
	}
	q.Set(protocol.ParamOffset, offset)
	if handle != "" {
		q.Set(protocol.ParamHandle, handle)
	}
	if st.live {
		q.Set(protocol.ParamLive, "true")
		if st.cursor != "" {
			q.Set(protocol.ParamCursor, st.cursor)
		}
		if st.sse {
			q.Set(protocol.ParamLiveSSE, "true")
			q.Set(protocol.ParamLiveSSEv0, "true")
		}
	}
	if st.expiredHandle != "" {
		q.Set(paramExpiredHandle, st.expiredHandle)
	}
	if st.cacheBuster != "" {
		q.Set(paramCacheBuster, st.cacheBuster)
	}
	return urlFor(endpoint, q)
}

// poll makes one catch-up or long-poll request, or takes the answer to
// it that was prefetched.
func (s *ShapeStream) poll(ctx context.Context, u, offset string) (*Batch, error) {
	reqCtx := ctx
	if d := s.c.liveTimeout(); s.live && d > 0 {
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	heldTooLong := func() bool { return ctx.Err() == nil && reqCtx.Err() != nil }
	pre, err := s.take(ctx, u)
	var resp *http.Response
	switch {
	case err != nil:
	case pre != nil:
		resp, err = pre.resp, pre.err
	default:
		resp, err = s.c.send(reqCtx, http.MethodGet, u, nil)
	}
	if err != nil {
		if heldTooLong() {
			return nil, nil
		}
		return nil, err
	}
	defer resp.Body.Close()
	s.cacheBuster = ""
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		return s.mustRefetch(resp), nil
	case http.StatusNoContent:
		return s.noContent(), nil
	default:
		return nil, fetchError(http.MethodGet, u, resp)
	}
	meta, err := checkHeaders(resp.Header, s.live)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	if s.isStale(meta.handle) {
		return s.staleRetry(meta.handle)
	}
	var msgs []protocol.Message
	if pre != nil && pre.decoded {
		msgs, err = pre.msgs, pre.decodeErr
	} else {
		s.maybePrefetch(resp, meta, offset)
		var body []byte
		body, err = readBody(resp.Body, nil, resp.ContentLength)
		if err != nil {
			if heldTooLong() {
				return nil, nil
			}
			return nil, fmt.Errorf("GET %s: read body: %w", redact(u), err)
		}
		msgs, err = decodeMessages(body)
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	b, err := s.accept(meta, msgs, s.live)
	if s.live {
		s.dropPrefetch() // nothing is prefetched once up to date
	}
	return b, err
}

// respMeta holds a 200 response's protocol headers.
type respMeta struct {
	handle, offset, cursor, schema string
}

// checkHeaders returns the headers of a successful response, or
// ErrMissingHeaders naming those missing (§15.2), or ErrBadResponse for a
// malformed offset.
func checkHeaders(h http.Header, live bool) (respMeta, error) {
	m := respMeta{
		handle: h.Get(protocol.HeaderHandle),
		offset: h.Get(protocol.HeaderOffset),
		cursor: h.Get(protocol.HeaderCursor),
		schema: h.Get(protocol.HeaderSchema),
	}
	var missing []string
	if m.handle == "" {
		missing = append(missing, protocol.HeaderHandle)
	}
	if m.offset == "" {
		missing = append(missing, protocol.HeaderOffset)
	}
	if live && m.cursor == "" {
		missing = append(missing, protocol.HeaderCursor)
	}
	if !live && m.schema == "" {
		missing = append(missing, protocol.HeaderSchema)
	}
	if len(missing) > 0 {
		return m, fmt.Errorf("%w: %v", ErrMissingHeaders, missing)
	}
	if _, err := protocol.ParseOffset(m.offset); err != nil {
		return m, fmt.Errorf("%w: %s %q: %v", ErrBadResponse, protocol.HeaderOffset, m.offset, err)
	}
	return m, nil
}

// accept takes a 200 response's messages into the stream's state.
func (s *ShapeStream) accept(meta respMeta, msgs []protocol.Message, live bool) (*Batch, error) {
	var schema Schema
	if meta.schema != "" {
		var err error
		if schema, err = ParseSchema(meta.schema); err != nil {
			return nil, err
		}
	}
	upToDate := false
	for i := range msgs {
		if msgs[i].IsControl(protocol.ControlUpToDate) {
			upToDate = true
		}
	}
	s.mu.Lock()
	prev := s.offset
	s.handle, s.offset = meta.handle, meta.offset
	if s.schema == nil {
		s.schema = schema
	}
	s.mu.Unlock()
	if meta.cursor != "" {
		s.cursor = meta.cursor
	}
	s.refetches = 0
	switch {
	case upToDate:
		s.live, s.staleRetries, s.stalled = true, 0, 0
	case !live && meta.offset == prev:
		if s.stalled++; s.stalled >= maxStalled {
			return nil, fmt.Errorf("%w: %d responses at offset %s without up-to-date", ErrNoProgress, s.stalled, prev)
		}
	default:
		s.stalled = 0
	}
	return &Batch{Messages: msgs, UpToDate: upToDate, Live: live, Handle: meta.handle, Offset: meta.offset}, nil
}

// mustRefetch handles a 409 (§9.3): the stream restarts at offset -1
// under the handle the server names, remembers the old handle as expired
// and sends a cache-buster on the next request.
func (s *ShapeStream) mustRefetch(resp *http.Response) *Batch {
	next := resp.Header.Get(protocol.HeaderHandle)
	discard(resp)
	s.closeSSE()
	s.mu.Lock()
	if s.handle != "" && s.handle != next {
		s.expiredHandle = s.handle
	}
	s.handle, s.offset, s.schema = next, protocol.BeforeAll.String(), nil
	s.mu.Unlock()
	s.live, s.cursor, s.stalled, s.staleRetries = false, "", 0, 0
	s.refetches++
	s.cacheBuster = newCacheBuster()
	return &Batch{
		Messages:    []protocol.Message{{Headers: protocol.Headers{Control: protocol.ControlMustRefetch}}},
		MustRefetch: true,
		Handle:      next,
		Offset:      protocol.BeforeAll.String(),
	}
}

// noContent handles a 204, which old servers sent for a live timeout:
// up to date, nothing new.
func (s *ShapeStream) noContent() *Batch {
	live := s.live
	s.live, s.refetches = true, 0
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Batch{UpToDate: true, Live: live, Handle: s.handle, Offset: s.offset}
}

// isStale reports whether a response carries the handle a 409 expired:
// a cache served an old response despite the changed URL.
func (s *ShapeStream) isStale(handle string) bool {
	return s.expiredHandle != "" && handle == s.expiredHandle
}

// staleRetry retries a stale response with a fresh cache-buster, up to
// maxStaleRetries times.
func (s *ShapeStream) staleRetry(handle string) (*Batch, error) {
	s.staleRetries++
	if s.staleRetries > maxStaleRetries {
		return nil, fmt.Errorf("%w: responses still carry handle %s after %d retries", ErrStaleCache, handle, maxStaleRetries)
	}
	s.cacheBuster = newCacheBuster()
	return nil, nil
}

func (c *Client) liveTimeout() time.Duration {
	if c.LiveTimeout == 0 {
		return DefaultLiveTimeout
	}
	return c.LiveTimeout
}

func (c *Client) sseIdleTimeout() time.Duration {
	if c.SSEIdleTimeout == 0 {
		return DefaultSSEIdleTimeout
	}
	return c.SSEIdleTimeout
}

// checkMessage rejects data messages a materialiser cannot apply.
func checkMessage(m *protocol.Message) error {
	switch m.Headers.Operation {
	case "":
		return nil
	case protocol.OperationInsert, protocol.OperationUpdate, protocol.OperationDelete:
		if m.Key == "" {
			return fmt.Errorf("%w: %s message without a key", ErrBadResponse, m.Headers.Operation)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown operation %q", ErrBadResponse, m.Headers.Operation)
	}
}

func preview(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}
