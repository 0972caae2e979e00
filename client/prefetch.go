package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/galvani-sync/galvani/protocol"
)

// While a stream catches up (walks the snapshot and the log chunk by
// chunk, before its first up-to-date), it prefetches, as the TypeScript
// client does, by the header meant for it (§6.3 of the protocol
// reference): as soon as the headers of a response arrive and say more
// follows (no electric-up-to-date), the request for the next chunk is
// sent, at the electric-offset and electric-handle they carry. Each
// prefetched request runs in a goroutine that reads and decodes its body,
// so the server produces the next chunks, and they are decoded, while the
// caller applies this one; with prefetchDepth of them, decoding uses
// that many cores.
//
// Next takes the oldest prefetched answer if it was sent for the URL that
// call would request, and otherwise cancels them all and sends its own
// request. A prefetched answer goes through the same checks as any other
// (409, errors, retries). Live requests are never prefetched. Close, or
// breaking out of All, cancels the prefetched requests.

// prefetchDepth bounds the requests sent ahead of the Next call that
// needs them.
const prefetchDepth = 2

// maxPrefetchBody bounds the body size a buffer is allocated for from a
// response's Content-Length; bigger bodies grow as they are read.
const maxPrefetchBody = 256 << 20

// prefetch is one request sent ahead.
type prefetch struct {
	url    string
	offset string        // the offset it requests
	done   chan struct{} // closed once the fields below are set

	// resp is the response; its body is read (Body reads what is left
	// of it from memory). A 200 whose headers pass checkHeaders has its
	// messages decoded into msgs, or decodeErr.
	resp      *http.Response
	decoded   bool
	msgs      []protocol.Message
	decodeErr error
	err       error // the request or reading its body failed

	// Guarded by prefetcher.mu.
	next, nextOffset string // the URL and offset of the request after this one, once known
	succeeded        bool   // the request for next was sent
}

// prefetcher runs a stream's prefetched requests: a queue of at most
// prefetchDepth, oldest first, each started by its predecessor's headers.
type prefetcher struct {
	c      *Client
	urlFor func(handle, offset string) string // the stream's catch-up URL at handle and offset
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	queue  []*prefetch // sent and not yet taken by Next, oldest first
	last   *prefetch   // the newest sent, taken or not
	bufs   [][]byte    // body buffers to reuse
}

// maybePrefetch starts prefetching after a catch-up response that Next
// requested itself, when its headers meta say more follows.
func (s *ShapeStream) maybePrefetch(resp *http.Response, meta respMeta, requested string) {
	if s.live || s.closed || s.pf != nil || !morePending(resp.Header, meta, requested) {
		return
	}
	def, expired, endpoint := s.c.definition(&s.req), s.expiredHandle, s.endpoint
	ctx, cancel := context.WithCancel(context.Background())
	pf := &prefetcher{
		c: s.c, ctx: ctx, cancel: cancel,
		urlFor: func(handle, offset string) string {
			return buildURL(endpoint, def, handle, offset, urlState{expiredHandle: expired})
		},
	}
	pf.mu.Lock()
	pf.startLocked(pf.urlFor(meta.handle, meta.offset), meta.offset)
	pf.mu.Unlock()
	s.pf = pf
}

// morePending reports whether a catch-up response at offset requested,
// with headers h (meta as checkHeaders read them), has more after it.
func morePending(h http.Header, meta respMeta, requested string) bool {
	_, upToDate := h[http.CanonicalHeaderKey(protocol.HeaderUpToDate)]
	return !upToDate && meta.offset != requested
}

// take returns the prefetched answer to u, waiting for it; nil when there
// is none, after cancelling any prefetched requests for other URLs. When
// ctx ends first, the requests are kept for the next call.
func (s *ShapeStream) take(ctx context.Context, u string) (*prefetch, error) {
	pf := s.pf
	if pf == nil {
		return nil, nil
	}
	pf.mu.Lock()
	var p *prefetch
	if len(pf.queue) > 0 && pf.queue[0].url == u {
		p = pf.queue[0]
	}
	pf.mu.Unlock()
	if p == nil {
		s.dropPrefetch()
		return nil, nil
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	pf.mu.Lock()
	pf.queue = pf.queue[1:]
	pf.startNextLocked()
	pf.mu.Unlock()
	return p, nil
}

// dropPrefetch cancels the prefetched requests, if any, and waits for
// their goroutines to end.
func (s *ShapeStream) dropPrefetch() {
	pf := s.pf
	if pf == nil {
		return
	}
	s.pf = nil
	pf.mu.Lock()
	pf.closed = true
	pf.mu.Unlock()
	pf.cancel()
	pf.wg.Wait()
}

// startLocked sends a request for u (at offset) in a new goroutine.
func (pf *prefetcher) startLocked(u, offset string) {
	p := &prefetch{url: u, offset: offset, done: make(chan struct{})}
	pf.queue = append(pf.queue, p)
	pf.last = p
	var buf []byte
	if n := len(pf.bufs); n > 0 {
		buf, pf.bufs = pf.bufs[n-1], pf.bufs[:n-1]
	}
	pf.wg.Go(func() { pf.run(p, buf) })
}

// startNextLocked sends the request after the newest one if its URL is
// known and the queue has room.
func (pf *prefetcher) startNextLocked() {
	p := pf.last
	if pf.closed || p == nil || p.next == "" || p.succeeded || len(pf.queue) >= prefetchDepth {
		return
	}
	p.succeeded = true
	pf.startLocked(p.next, p.nextOffset)
}

// run makes p's request: once its headers are in, the next request may
// start; then the body is read and, for a good 200, decoded.
func (pf *prefetcher) run(p *prefetch, buf []byte) {
	defer close(p.done)
	resp, err := pf.c.send(pf.ctx, http.MethodGet, p.url, nil)
	if err != nil {
		p.err = err
		return
	}
	p.resp = resp
	good := false
	if resp.StatusCode == http.StatusOK {
		meta, err := checkHeaders(resp.Header, false)
		good = err == nil
		if good && morePending(resp.Header, meta, p.offset) {
			pf.mu.Lock()
			p.next, p.nextOffset = pf.urlFor(meta.handle, meta.offset), meta.offset
			if pf.last == p {
				pf.startNextLocked()
			}
			pf.mu.Unlock()
		}
	}
	body, err := readBody(resp.Body, buf, resp.ContentLength)
	resp.Body.Close()
	if err != nil {
		p.err = fmt.Errorf("GET %s: read body: %w", redact(p.url), err)
		return
	}
	if !good {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return
	}
	resp.Body = http.NoBody
	p.msgs, p.decodeErr = decodeMessages(body)
	p.decoded = true
	// The messages share nothing with the body: its buffer serves again.
	pf.mu.Lock()
	if len(pf.bufs) <= prefetchDepth {
		pf.bufs = append(pf.bufs, body)
	}
	pf.mu.Unlock()
}

// readBody reads r to its end into buf's memory (reallocated when too
// small), sized for a body of n bytes when n is known (≥ 0).
func readBody(r io.Reader, buf []byte, n int64) ([]byte, error) {
	buf = buf[:0]
	if n >= 0 && n <= maxPrefetchBody && int64(cap(buf)) <= n {
		// One byte more than the body, so the read that returns io.EOF
		// finds room and does not grow the buffer.
		buf = make([]byte, 0, n+1)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
