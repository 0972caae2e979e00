package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/internal/shapes"
	"github.com/galvani-sync/galvani/protocol"
)

// SSE timings (protocol §7.3).
const (
	sseTimeout   = 60 * time.Second // a stream ends after this; the client reconnects
	sseKeepAlive = 21 * time.Second // a comment is sent after this long without an event
)

// serveSSE answers a live_sse request: data already after the offset is
// sent and the response ends; a caught-up client gets a stream of events
// as changes become durable, until sseTimeout or the shape goes away.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request, req *shapeRequest, sh *shapes.Shape) error {
	l, err := sh.Log()
	if err != nil {
		return s.gone(sh) // an unreadable log removes its shape
	}
	latest, changed := l.Head()
	if l.Closed() {
		return s.gone(sh)
	}
	at := comparable(l, req.offset)
	if latest.Less(at) {
		var err error
		if latest, changed, err = s.catchUp(r.Context(), sh, changed, at); err != nil {
			return err
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errors.New("sse: response writer cannot flush")
	}
	caughtUp := !at.Less(latest)
	h := w.Header()
	h.Set("content-type", "text/event-stream")
	h.Set("connection", "keep-alive")
	h.Set("x-accel-buffering", "no") // nginx: stream, don't buffer
	h.Set("cache-control", "public, max-age="+strconv.Itoa(int(sseTimeout/time.Second)-1))
	h.Set(protocol.HeaderHandle, sh.Handle())
	h.Set(protocol.HeaderOffset, req.offset.String())
	h.Set(protocol.HeaderCursor, nextCursor(s.now(), s.cfg.LongPollTimeout, req.cursor))
	h.Set(protocol.HeaderHasData, "true")
	if caughtUp {
		h.Set(protocol.HeaderUpToDate, "")
	}
	h.Set("etag", `"`+sh.Handle()+":"+req.offsetText+":"+req.offset.String()+":"+strconv.FormatInt(s.now().UnixNano(), 10)+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	flusher.Flush()

	var buf []byte
	// emit sends everything after pos up to the log's head as events, then
	// up-to-date. It returns the new position.
	emit := func(pos protocol.Offset) (protocol.Offset, error) {
		for {
			head, _ := l.Head()
			if !pos.Less(head) {
				return pos, nil
			}
			buf = buf[:0]
			end, err := l.EachChange(pos, func(_ protocol.Offset, body []byte) {
				buf = append(buf, "data: "...)
				buf = append(buf, body...)
				buf = append(buf, '\n', '\n')
			})
			if err != nil {
				return pos, err
			}
			if !end.Less(head) {
				buf = append(buf, `data: {"headers":{"control":"up-to-date","global_last_seen_lsn":"`...)
				buf = strconv.AppendUint(buf, uint64(pg.LSN(end.Tx)), 10)
				buf = append(buf, "\"}}\n\n"...)
			}
			if _, err := w.Write(buf); err != nil {
				return pos, errClientGone
			}
			flusher.Flush()
			pos = end
		}
	}

	if !caughtUp {
		_, err := emit(req.offset)
		return s.sseEnd(err)
	}
	deadline := time.NewTimer(sseTimeout)
	defer deadline.Stop()
	keepAlive := time.NewTimer(sseKeepAlive)
	defer keepAlive.Stop()
	pos := req.offset
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	for {
		select {
		case <-changed:
			if l.Closed() {
				return nil // the reconnect gets the 409
			}
			_, changed = l.Head()
			var err error
			if pos, err = emit(pos); err != nil {
				return s.sseEnd(err)
			}
			keepAlive.Reset(sseKeepAlive)
		case <-keepAlive.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
			flusher.Flush()
			keepAlive.Reset(sseKeepAlive)
		case <-deadline.C:
			return nil
		case <-s.draining:
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}

// sseEnd ends a stream whose headers are sent: errors can only be logged.
func (s *Server) sseEnd(err error) error {
	if err != nil && !errors.Is(err, errClientGone) && !errors.Is(err, shapelog.ErrClosed) {
		s.log.Warn("sse stream failed", "error", err)
	}
	return nil
}
