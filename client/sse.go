package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/galvani-sync/galvani/protocol"
)

// SSE live mode (§7.3 of the protocol reference).
//
// A live request with live_sse=true is answered by a stream of events,
// "data: <one JSON message>\n\n", with ": keep-alive" comments while idle.
// The server ends the stream after a while (60 s upstream) or when the
// shape goes away; the client then reconnects, and a gone shape answers
// the reconnect with 409.
//
// Resume offset. The TypeScript client sets its offset from each
// up-to-date message to "<global_last_seen_lsn>_0", so a reconnect
// re-delivers the ops of that transaction after op 0, and can point past
// the shape's log if the server's global LSN runs ahead of the shape. This
// client instead tracks the offset of the last change it received,
// "<lsn>_<op_position>", which is the offset the server would have put in
// electric-offset for a long-poll ending there: exact, no re-delivery, and
// never beyond the log. Messages are handed out only at an up-to-date, and
// the offset advances only then; if a stream ends in between, the partial
// transaction is dropped and re-read from the last offset.

// sseConn is an open SSE response, read across Next calls.
type sseConn struct {
	body        io.ReadCloser
	r           *bufio.Reader
	cancel      context.CancelFunc // ends the request
	started     time.Time
	idle        *time.Timer // cancels the request after idleTimeout of silence; nil when unbounded
	idleTimeout time.Duration
	timedOut    atomic.Bool
	buf         []protocol.Message // messages since the last up-to-date
	last        protocol.Offset    // offset of the last change in buf or before
	hasLast     bool
}

func newSSEConn(resp *http.Response, cancel context.CancelFunc, idleTimeout time.Duration, started time.Time) *sseConn {
	c := &sseConn{body: resp.Body, r: bufio.NewReaderSize(resp.Body, 64<<10), cancel: cancel, started: started, idleTimeout: idleTimeout}
	if idleTimeout > 0 {
		c.idle = time.AfterFunc(idleTimeout, func() {
			c.timedOut.Store(true)
			cancel()
		})
	}
	return c
}

func (c *sseConn) close() {
	if c.idle != nil {
		c.idle.Stop()
	}
	c.cancel()
	c.body.Close()
}

// event returns the data of the next event, skipping comments (the
// keep-alives) and fields other than data. It returns io.EOF when the
// server ends the stream; an event cut short by the end is dropped.
func (c *sseConn) event() ([]byte, error) {
	var data []byte
	hasData := false
	for {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, err
		}
		if c.idle != nil {
			c.idle.Reset(c.idleTimeout)
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		switch {
		case len(line) == 0:
			if hasData {
				return data, nil
			}
			continue
		case line[0] == ':':
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		if string(field) != "data" {
			continue // event, id, retry: unused by the protocol
		}
		if hasData {
			data = append(data, '\n')
		}
		data = append(data, value...)
		hasData = true
	}
}

// openSSE sends a live SSE request. The connection outlives this Next
// call, so its context is not ctx; ctx only aborts it while Next waits.
func (s *ShapeStream) openSSE(ctx context.Context, u string) (*Batch, error) {
	connCtx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	started := time.Now()
	resp, err := s.c.send(connCtx, http.MethodGet, u, http.Header{headerAccept: {contentTypeSSE}})
	if !stop() { // ctx ended during the request
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, ctx.Err()
	}
	if err != nil {
		cancel()
		return nil, err
	}
	s.cacheBuster = ""
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		defer cancel()
		return s.mustRefetch(resp), nil
	case http.StatusNoContent:
		discard(resp)
		cancel()
		return s.noContent(), nil
	default:
		defer cancel()
		return nil, fetchError(http.MethodGet, u, resp)
	}
	meta, err := checkHeaders(resp.Header, true)
	if err != nil {
		discard(resp)
		cancel()
		return nil, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	if s.isStale(meta.handle) {
		discard(resp)
		cancel()
		return s.staleRetry(meta.handle)
	}
	if !strings.HasPrefix(resp.Header.Get(headerContentType), contentTypeSSE) {
		// Answered with a JSON body instead of a stream: a long-poll answer.
		defer cancel()
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("GET %s: read body: %w", redact(u), err)
		}
		msgs, err := decodeMessages(body)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", redact(u), err)
		}
		return s.accept(meta, msgs, true)
	}
	s.mu.Lock()
	s.handle = meta.handle
	s.mu.Unlock()
	s.cursor = meta.cursor
	s.refetches = 0
	s.sse = newSSEConn(resp, cancel, s.c.sseIdleTimeout(), started)
	return s.readSSE(ctx)
}

// readSSE reads events until an up-to-date, and returns the messages
// since the previous one as a batch. When the server ends the stream it
// returns nil (reconnect); after maxShortSSE connections in a row shorter
// than minSSE it falls back to long-polling, as the TypeScript client does
// (a buffering proxy makes every SSE connection short).
func (s *ShapeStream) readSSE(ctx context.Context) (*Batch, error) {
	c := s.sse
	stop := context.AfterFunc(ctx, c.cancel)
	defer func() {
		if !stop() { // ctx ended while reading: the connection is cut
			s.closeSSE()
		}
	}()
	for {
		data, err := c.event()
		if err != nil {
			s.closeSSE()
			switch {
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case c.timedOut.Load():
				return nil, fmt.Errorf("read events: nothing received for %v", c.idleTimeout)
			case errors.Is(err, io.EOF):
				return nil, s.sseEnded(ctx, c)
			default:
				return nil, fmt.Errorf("read events: %w", err)
			}
		}
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		m, err := decodeMessage(data)
		if err != nil {
			s.closeSSE()
			return nil, err
		}
		c.buf = append(c.buf, m)
		if off, ok := m.Offset(); ok {
			c.last, c.hasLast = off, true
		}
		if !m.IsControl(protocol.ControlUpToDate) {
			continue
		}
		msgs := c.buf
		c.buf = nil
		s.mu.Lock()
		if c.hasLast {
			s.offset = c.last.String()
		}
		b := &Batch{Messages: msgs, UpToDate: true, Live: true, Handle: s.handle, Offset: s.offset}
		s.mu.Unlock()
		s.live, s.staleRetries, s.stalled = true, 0, 0
		return b, nil
	}
}

// sseEnded accounts for a stream the server ended and waits a little
// before reconnecting when it was short.
func (s *ShapeStream) sseEnded(ctx context.Context, c *sseConn) error {
	if time.Since(c.started) >= minSSE {
		s.sseShort = 0
		return nil
	}
	s.sseShort++
	if s.sseShort >= maxShortSSE {
		s.sseOff = true
		return nil
	}
	b := s.c.backoff()
	short := Backoff{Initial: b.Initial / 10, Max: b.Max * 5 / 32, Multiplier: b.Multiplier}
	return sleep(ctx, short.delay(s.sseShort-1, nil, time.Now()))
}
