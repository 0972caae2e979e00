package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/galvani-sync/galvani/internal/catalog"
	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/internal/shapes"
	"github.com/galvani-sync/galvani/protocol"
)

// errClientGone ends a request whose client went away; nothing is sent.
var errClientGone = errors.New("client gone")

// getShape serves GET /v1/shape.
func (s *Server) getShape(w http.ResponseWriter, r *http.Request) error {
	q, err := strictQuery(r)
	if err != nil {
		return err
	}
	req, err := parseShapeRequest(q)
	if err != nil {
		return err
	}
	subset, err := readSubset(r, q)
	if err != nil {
		return err
	}
	initial := req.handle == ""
	if !initial {
		_, known := s.registry.Get(req.handle)
		initial = !known
	}
	release, err := s.admit(initial)
	if err != nil {
		return err
	}
	defer func() { release() }()
	sh, err := s.resolve(r.Context(), req)
	if err != nil {
		return err
	}
	if initial {
		// The snapshot is done: hold an "existing" permit while serving.
		release()
		release = s.hold(&s.existing)
	}
	switch {
	case subset.present:
		err = s.serveSubset(w, r, req, sh, subset)
	case req.sse:
		err = s.serveSSE(w, r, req, sh)
	default:
		err = s.serveShape(w, r, req, sh)
	}
	if errors.Is(err, errClientGone) {
		return nil
	}
	return err
}

// resolve finds or creates the request's shape and applies the handle
// rules of §2.3: a handle that is not the definition's current one gets a
// 409 naming the current one.
func (s *Server) resolve(ctx context.Context, req *shapeRequest) (*shapes.Shape, error) {
	key := req.requestKey()
	s.mu.Lock()
	handle, ok := s.reqIndex[key]
	s.mu.Unlock()
	var sh *shapes.Shape
	if ok {
		if sh, ok = s.registry.Get(handle); ok && sh.Gone() {
			ok = false
		}
	}
	if !ok {
		rel, err := s.catalog.Lookup(ctx, req.schema, req.table)
		switch {
		case errors.Is(err, catalog.ErrTableNotFound):
			return nil, invalidField(protocol.ParamTable, catalog.NotFoundMessage(req.schema, req.table))
		case ctx.Err() != nil:
			return nil, errClientGone
		case err != nil:
			return nil, databaseUnreachable(err)
		}
		def, err := shapes.NewDefinition(rel, req.columns, req.where, req.paramList(), req.replica, req.log)
		var verr *shapes.ValidationError
		if errors.As(err, &verr) {
			return nil, invalidField(verr.Field, verr.Message)
		}
		if err != nil {
			return nil, err
		}
		if sh, ok = s.registry.Lookup(def.Key()); !ok {
			if err := s.waitStarted(ctx); err != nil {
				return nil, err
			}
			sh, err = s.registry.Resolve(ctx, def, rel)
			if err != nil {
				if ctx.Err() != nil {
					return nil, errClientGone
				}
				var um interface{ UserMessage() string }
				if errors.As(err, &um) {
					e := unavailable(um.UserMessage(), 10, err)
					e.headers[protocol.HeaderKnownError] = "true"
					return nil, e
				}
				e := unavailable("Failed to create shape, please retry", 1, err)
				e.headers[protocol.HeaderKnownError] = "true"
				return nil, e
			}
		}
		s.mu.Lock()
		s.reqIndex[key] = sh.Handle()
		s.mu.Unlock()
	}
	if req.handle != "" && req.handle != sh.Handle() {
		return nil, mustRefetch(sh.Handle())
	}
	sh.Touch()
	return sh, nil
}

// startTimeout bounds how long a request that creates a shape waits for
// replication to be set up before answering 503 (§2.6).
const startTimeout = 5 * time.Second

// waitStarted waits for replication to be set up at least once.
func (s *Server) waitStarted(ctx context.Context) error {
	if s.cfg.Started == nil {
		return nil
	}
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case <-s.cfg.Started:
		return nil
	case <-ctx.Done():
		return errClientGone
	case <-t.C:
		return unavailable("Timeout waiting for replication to start", 5, nil)
	}
}

// gone answers a request whose shape disappeared while it was served.
func (s *Server) gone(sh *shapes.Shape) error {
	if cur, ok := s.registry.Lookup(sh.Definition().Key()); ok && !cur.Gone() {
		return mustRefetch(cur.Handle())
	}
	return mustRefetch("")
}

// response is a shape response about to be written.
type response struct {
	msgs     []byte                  // comma-separated messages
	chunk    *shapelog.SnapshotChunk // or a snapshot chunk to stream in their place
	end      protocol.Offset
	upToDate bool
	hasData  bool
	lsn      pg.LSN // global_last_seen_lsn, when upToDate
}

func (s *Server) serveShape(w http.ResponseWriter, r *http.Request, req *shapeRequest, sh *shapes.Shape) error {
	l, err := sh.Log()
	if err != nil {
		return s.gone(sh) // an unreadable log removes its shape
	}
	// Read the global LSN before the shape's head: every transaction up to
	// it is already in the log, so up-to-date at G is the truth (§5.4).
	global := s.global()
	latest, changed := l.Head()
	if l.Closed() {
		return s.gone(sh)
	}
	switch {
	case req.now:
		return s.write(w, r, req, sh, response{end: latest, upToDate: true, lsn: global})
	case req.offset == protocol.BeforeAll:
		chunk, err := l.OpenSnapshotChunk(0)
		if err != nil {
			return s.readFailed(sh, err)
		}
		defer chunk.Close()
		return s.write(w, r, req, sh, response{chunk: chunk, end: protocol.Offset{}, hasData: true})
	case req.offset.IsSnapshot() && req.offset.Op != protocol.OpInf && req.offset.Op+1 < uint64(l.SnapshotChunks()):
		i := int(req.offset.Op) + 1
		chunk, err := l.OpenSnapshotChunk(i)
		if err != nil {
			return s.readFailed(sh, err)
		}
		defer chunk.Close()
		end := protocol.Offset{Op: uint64(i)}
		return s.write(w, r, req, sh, response{chunk: chunk, end: end, hasData: true, upToDate: !end.Less(latest), lsn: global})
	}

	at := comparable(l, req.offset)
	if latest.Less(at) {
		var err error
		if latest, changed, err = s.catchUp(r.Context(), sh, changed, at); err != nil {
			return err
		}
		global = s.global()
	}
	if req.live && !at.Less(latest) {
		ok, err := s.wait(r.Context(), l, changed, at, s.cfg.LongPollTimeout, false)
		if err != nil {
			return s.mapWaitErr(sh, err)
		}
		if !ok {
			return s.write(w, r, req, sh, response{end: req.offset, upToDate: true, lsn: s.global()})
		}
		global = s.global()
		latest, _ = l.Head()
	}
	msgs, end, _, err := l.AppendChanges(nil, req.offset)
	if err != nil {
		return s.readFailed(sh, err)
	}
	resp := response{msgs: msgs, end: end, hasData: true, upToDate: !end.Less(latest)}
	if req.live {
		resp.lsn = pg.LSN(end.Tx)
	} else {
		resp.lsn = max(global, pg.LSN(end.Tx))
	}
	return s.write(w, r, req, sh, resp)
}

// catchUp handles a request ahead of the log (a client that saw data a
// crash lost): it waits up to half the long-poll timeout for the log to
// reach the offset (§2.4), then answers out of bounds.
func (s *Server) catchUp(ctx context.Context, sh *shapes.Shape, changed <-chan struct{}, at protocol.Offset) (protocol.Offset, <-chan struct{}, error) {
	l, err := sh.Log()
	if err != nil {
		return protocol.Offset{}, nil, s.gone(sh)
	}
	ok, err := s.wait(ctx, l, changed, at, s.cfg.LongPollTimeout/2, true)
	if err != nil {
		return protocol.Offset{}, nil, s.mapWaitErr(sh, err)
	}
	if !ok {
		if s.isDraining() {
			return protocol.Offset{}, nil, unavailable("Server is shutting down, please retry", 1, nil)
		}
		return protocol.Offset{}, nil, invalidField(protocol.ParamOffset, "out of bounds for this shape")
	}
	latest, changed := l.Head()
	return latest, changed, nil
}

// wait blocks until the log's head passes after, the timeout passes (false)
// or the request ends. With inclusive, reaching after is enough.
func (s *Server) wait(ctx context.Context, l *shapelog.Log, changed <-chan struct{}, after protocol.Offset, timeout time.Duration, inclusive bool) (bool, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	s.waiting.Add(1)
	defer s.waiting.Add(-1)
	for {
		select {
		case <-changed:
			if l.Closed() {
				return false, shapelog.ErrClosed
			}
			var latest protocol.Offset
			latest, changed = l.Head()
			if after.Less(latest) || (inclusive && latest == after) {
				return true, nil
			}
		case <-t.C:
			return false, nil
		case <-s.draining:
			return false, nil
		case <-ctx.Done():
			return false, errClientGone
		}
	}
}

func (s *Server) mapWaitErr(sh *shapes.Shape, err error) error {
	if errors.Is(err, shapelog.ErrClosed) {
		return s.gone(sh)
	}
	return err
}

func (s *Server) readFailed(sh *shapes.Shape, err error) error {
	if errors.Is(err, shapelog.ErrClosed) || sh.Gone() {
		return s.gone(sh)
	}
	return unavailable("Failed to read the shape log, please retry", 10, err)
}

// write sends a 200 shape response with the headers of §6.4.
func (s *Server) write(w http.ResponseWriter, r *http.Request, req *shapeRequest, sh *shapes.Shape, resp response) error {
	h := w.Header()
	h.Set("content-type", "application/json; charset=utf-8")
	h.Set(protocol.HeaderHandle, sh.Handle())
	endText := resp.end.String()
	h.Set(protocol.HeaderOffset, endText)
	if !req.live {
		h.Set(protocol.HeaderSchema, sh.SchemaJSON())
	}
	if resp.upToDate {
		h.Set(protocol.HeaderUpToDate, "")
	}
	h.Set(protocol.HeaderHasData, strconv.FormatBool(resp.hasData))
	if req.live {
		h.Set(protocol.HeaderCursor, nextCursor(s.now(), s.cfg.LongPollTimeout, req.cursor))
	}
	etag := `"` + sh.Handle() + ":" + req.offsetText + ":" + endText
	if !resp.hasData {
		etag += ":" + strconv.FormatInt(s.now().UnixNano(), 10)
	}
	etag += `"`
	h.Set("etag", etag)
	switch {
	case r.Method == http.MethodPost:
		h.Set("cache-control", "no-cache")
	case req.offset == protocol.BeforeAll && !req.now:
		h.Set("cache-control", "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746")
	case req.live:
		h.Set("cache-control", "public, max-age=5, stale-while-revalidate=5")
	default:
		h.Set("cache-control", "public, max-age="+strconv.Itoa(s.cfg.CacheMaxAge)+", stale-while-revalidate="+strconv.Itoa(s.cfg.CacheStaleAge))
	}
	if notModified(r, etag) {
		h.Del(protocol.HeaderSchema)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	// The body is '[', the messages, the up-to-date message if any, ']'.
	// A snapshot chunk is streamed from its file between the two ends, so
	// a chunk of any size passes through a small buffer.
	size := int64(len(resp.msgs))
	if resp.chunk != nil {
		size = resp.chunk.Size()
	}
	var tail []byte
	if resp.upToDate {
		if size > 0 {
			tail = append(tail, ',')
		}
		tail = append(tail, `{"headers":{"control":"up-to-date","global_last_seen_lsn":"`...)
		tail = strconv.AppendUint(tail, uint64(resp.lsn), 10)
		tail = append(tail, `"}}`...)
	}
	tail = append(tail, ']')
	h.Set("content-length", strconv.FormatInt(1+size+int64(len(tail)), 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if resp.chunk == nil {
		body := make([]byte, 0, 1+len(resp.msgs)+len(tail))
		body = append(body, '[')
		body = append(body, resp.msgs...)
		body = append(body, tail...)
		w.Write(body)
		return nil
	}
	bw := &bodyWriter{w: w}
	bw.Write([]byte{'['})
	if _, err := resp.chunk.WriteTo(bw); err != nil && bw.err == nil {
		// Reading the chunk failed after the status line was sent: all
		// that is left is to cut the response short, which the client
		// sees as a body shorter than its content-length.
		s.log.Error("stream snapshot chunk", "handle", sh.Handle(), "offset", req.offsetText, "error", err)
		panic(http.ErrAbortHandler)
	}
	bw.Write(tail)
	if bw.err != nil {
		return errClientGone
	}
	return nil
}

// bodyWriter writes a response body and remembers the first write error
// (the client went away), after which it writes nothing more.
type bodyWriter struct {
	w   io.Writer
	err error
}

func (b *bodyWriter) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.w.Write(p)
	b.err = err
	return n, err
}

// notModified reports whether the request's If-None-Match names etag
// (§8.2: values split on commas, spaces and quotes trimmed, no weak forms).
func notModified(r *http.Request, etag string) bool {
	want := strings.Trim(etag, `"`)
	for _, line := range r.Header.Values("if-none-match") {
		for _, tag := range strings.Split(line, ",") {
			if strings.Trim(strings.TrimSpace(tag), `"`) == want {
				return true
			}
		}
	}
	return false
}

// comparable returns the offset to compare with the log's head: offsets
// past the last snapshot chunk (0_inf included) all mean "the snapshot is
// consumed", the last chunk's offset.
func comparable(l *shapelog.Log, off protocol.Offset) protocol.Offset {
	if n := uint64(l.SnapshotChunks()); off.IsSnapshot() && n > 0 && off.Op > n-1 {
		return protocol.Offset{Op: n - 1}
	}
	return off
}
