package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/galvani-sync/galvani/client"
	"github.com/galvani-sync/galvani/protocol"
)

// sseHeaders writes the headers of an SSE response (§7.3) and flushes.
func sseHeaders(w http.ResponseWriter, handle, offset string) {
	h := w.Header()
	h.Set("content-type", "text/event-stream")
	h.Set(protocol.HeaderHandle, handle)
	h.Set(protocol.HeaderOffset, offset)
	h.Set(protocol.HeaderCursor, "1000")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

// events writes raw SSE text and flushes it.
func events(w http.ResponseWriter, text string) {
	fmt.Fprint(w, text)
	w.(http.Flusher).Flush()
}

// upToDateThenSSE answers the first (catch-up) request with an up-to-date
// and passes later requests to sse.
func upToDateThenSSE(t *testing.T, sse func(w http.ResponseWriter, r *http.Request, n int)) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			shapeResp{handle: "h", offset: "10_0", body: array(upToDateMsg(10)), upToDate: true}.write(w, r)
			return
		}
		sse(w, r, n)
	}
}

// TestSSEFraming: data events (including multi-line data and CRLF line
// ends) are batched up to each up-to-date, keep-alive comments and other
// fields are skipped, and the offset is that of the last change.
func TestSSEFraming(t *testing.T) {
	release := make(chan struct{})
	f, c := newFake(t, upToDateThenSSE(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n > 1 {
			<-r.Context().Done()
			return
		}
		sseHeaders(w, "h", "10_0")
		events(w, ": keep-alive\n\n")
		events(w, "event: message\nid: 1\ndata: "+change("insert", 1, `{"id":"1","title":"a"}`, 20, 0)+"\n\n")
		events(w, "data: {\"key\":\"\\\"public\\\".\\\"items\\\"/\\\"2\\\"\",\r\ndata: \"value\":{\"id\":\"2\",\"title\":\"b\"},\"headers\":{\"operation\":\"insert\",\"lsn\":\"20\",\"op_position\":2}}\r\n\r\n")
		events(w, "data: "+upToDateMsg(20)+"\n\n")
		<-release
		events(w, ": keep-alive\n\n")
		events(w, "data: "+change("delete", 1, `{"id":"1"}`, 30, 4)+"\n\ndata: "+upToDateMsg(30)+"\n\n")
		<-r.Context().Done()
	}))
	st := stream(t, c, client.ShapeRequest{Table: "items", LiveSSE: true})
	next(t, st)

	b := next(t, st)
	if !b.UpToDate || !b.Live || len(b.Messages) != 3 || b.Offset != "20_2" {
		t.Fatalf("first SSE batch = %+v; want 2 inserts + up-to-date, live, offset 20_2", b)
	}
	if b.Messages[1].Key != key(2) || *b.Messages[1].Value["title"] != "b" {
		t.Errorf("multi-line event decoded as %+v", b.Messages[1])
	}
	close(release)
	b = next(t, st)
	if len(b.Messages) != 2 || b.Messages[0].Headers.Operation != protocol.OperationDelete || b.Offset != "30_4" {
		t.Fatalf("second SSE batch = %+v; want the delete at 30_4 from the same connection", b)
	}
	if f.count() != 2 {
		t.Errorf("%d requests, want 2: both batches come from one SSE connection", f.count())
	}
	r := f.request(1)
	q := r.URL.Query()
	if r.Header.Get("Accept") != "text/event-stream" || q.Get("live") != "true" || q.Get("live_sse") != "true" || q.Get("experimental_live_sse") != "true" {
		t.Errorf("SSE request = %s Accept=%q; want live, live_sse, experimental_live_sse and Accept: text/event-stream", r.URL.RawQuery, r.Header.Get("Accept"))
	}
}

// TestSSEReconnectsFromLastChange: when the server ends the stream, the
// client reconnects at the offset of the last change it returned; a
// transaction cut short by the end is dropped and read again.
func TestSSEReconnectsFromLastChange(t *testing.T) {
	f, c := newFake(t, upToDateThenSSE(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 1:
			sseHeaders(w, "h", "10_0")
			events(w, "data: "+change("insert", 1, `{"id":"1","title":"a"}`, 20, 0)+"\n\ndata: "+upToDateMsg(20)+"\n\n")
			time.Sleep(1100 * time.Millisecond)                                             // a long connection, not a "short" one
			events(w, "data: "+change("insert", 2, `{"id":"2","title":"b"}`, 30, 0)+"\n\n") // no up-to-date: cut short
		case 2:
			sseHeaders(w, "h", "20_0")
			events(w, "data: "+change("insert", 2, `{"id":"2","title":"b"}`, 30, 0)+"\n\ndata: "+upToDateMsg(30)+"\n\n")
			<-r.Context().Done()
		default:
			<-r.Context().Done()
		}
	}))
	st := stream(t, c, client.ShapeRequest{Table: "items", LiveSSE: true})
	next(t, st)
	if b := next(t, st); b.Offset != "20_0" {
		t.Fatalf("first SSE batch offset = %s, want 20_0", b.Offset)
	}
	b := next(t, st)
	if len(b.Messages) != 2 || b.Messages[0].Key != key(2) || b.Offset != "30_0" {
		t.Fatalf("batch after reconnect = %+v; want row 2 once, offset 30_0", b)
	}
	if got := f.queries()[2].Get("offset"); got != "20_0" {
		t.Errorf("reconnect offset = %s, want 20_0 (the last change returned)", got)
	}
}

// TestSSEFallsBackToLongPolling after three connections shorter than a
// second (a buffering proxy).
func TestSSEFallsBackToLongPolling(t *testing.T) {
	f, c := newFake(t, upToDateThenSSE(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Query().Get("live_sse") == "true" {
			sseHeaders(w, "h", "10_0") // and end at once
			return
		}
		shapeResp{handle: "h", offset: "40_0", body: array(change("insert", 4, `{"id":"4","title":"d"}`, 40, 0), upToDateMsg(40)), upToDate: true}.write(w, r)
	}))
	st := stream(t, c, client.ShapeRequest{Table: "items", LiveSSE: true})
	next(t, st)
	if b := next(t, st); b.Offset != "40_0" || !b.Live {
		t.Fatalf("batch = %+v; want the long-poll answer", b)
	}
	q := f.queries()
	for i := 1; i <= 3; i++ {
		if q[i].Get("live_sse") != "true" {
			t.Errorf("request %d = %v; want SSE", i, q[i])
		}
	}
	if len(q) != 5 || q[4].Get("live_sse") != "" || q[4].Get("live") != "true" {
		t.Errorf("requests = %v; want 3 SSE attempts then a plain long-poll", q)
	}
}

// TestSSEAnsweredWithJSON: a server that answers an SSE request with a
// JSON body is processed as a long-poll answer.
func TestSSEAnsweredWithJSON(t *testing.T) {
	_, c := newFake(t, upToDateThenSSE(t, func(w http.ResponseWriter, r *http.Request, n int) {
		shapeResp{handle: "h", offset: "40_0", body: array(change("insert", 4, `{"id":"4","title":"d"}`, 40, 0), upToDateMsg(40)), upToDate: true}.write(w, r)
	}))
	st := stream(t, c, client.ShapeRequest{Table: "items", LiveSSE: true})
	next(t, st)
	if b := next(t, st); b.Offset != "40_0" || len(b.Messages) != 2 {
		t.Fatalf("batch = %+v; want the JSON answer", b)
	}
}

// TestSSEMustRefetch: errors on the initial SSE request are ordinary
// responses; a 409 resets the stream to long-polls from -1.
func TestSSEMustRefetch(t *testing.T) {
	f, c := newFake(t, upToDateThenSSE(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			shapeResp{status: http.StatusConflict, handle: "h2", body: protocol.MustRefetchResponse}.write(w, r)
			return
		}
		shapeResp{handle: "h2", offset: "0_0", body: array(upToDateMsg(40)), upToDate: true}.write(w, r)
	}))
	st := stream(t, c, client.ShapeRequest{Table: "items", LiveSSE: true})
	next(t, st)
	if b := next(t, st); !b.MustRefetch || b.Handle != "h2" {
		t.Fatalf("batch = %+v; want must-refetch with handle h2", b)
	}
	next(t, st)
	if q := f.queries()[2]; q.Get("offset") != "-1" || q.Get("live_sse") != "" {
		t.Errorf("request after 409 = %v; want offset -1, not SSE", q)
	}
}

// TestSSEIdleTimeout: a connection silent for longer than SSEIdleTimeout
// (no event, no keep-alive) is dropped and reopened.
func TestSSEIdleTimeout(t *testing.T) {
	f, c := newFake(t, upToDateThenSSE(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseHeaders(w, "h", "10_0")
		if n == 2 {
			events(w, "data: "+change("insert", 5, `{"id":"5","title":"e"}`, 50, 0)+"\n\ndata: "+upToDateMsg(50)+"\n\n")
		}
		<-r.Context().Done()
	}))
	c.SSEIdleTimeout = 100 * time.Millisecond
	st := stream(t, c, client.ShapeRequest{Table: "items", LiveSSE: true})
	next(t, st)
	if b := next(t, st); b.Offset != "50_0" {
		t.Fatalf("batch = %+v; want the second connection's", b)
	}
	if f.count() != 3 {
		t.Errorf("%d requests, want 3", f.count())
	}
}

// TestSSECancelLeavesNothingBehind: cancelling Next while it waits on the
// event stream cuts the connection; Close after a batch releases it; no
// goroutine is left.
func TestSSECancelLeavesNothingBehind(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	waiting := make(chan struct{}, 4)
	f, c := newFake(t, upToDateThenSSE(t, func(w http.ResponseWriter, r *http.Request, n int) {
		sseHeaders(w, "h", "10_0")
		events(w, "data: "+change("insert", 5, `{"id":"5","title":"e"}`, 50, 0)+"\n\ndata: "+upToDateMsg(50)+"\n\n")
		waiting <- struct{}{}
		<-r.Context().Done()
	}))
	c.HTTPClient = &http.Client{Transport: tr}
	st, err := c.Stream(client.ShapeRequest{Table: "items", LiveSSE: true})
	if err != nil {
		t.Fatal(err)
	}
	next(t, st)
	next(t, st)
	<-waiting
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := st.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next() error = %v, want context.Canceled", err)
	}
	next(t, st) // reconnects
	<-waiting
	st.Close()
	if _, err := st.Next(context.Background()); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Next() after Close error = %v, want ErrClosed", err)
	}
	f.srv.Close()
}
