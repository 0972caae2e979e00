package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/galvani-sync/galvani/client"
	"github.com/galvani-sync/galvani/protocol"
)

// next calls st.Next with a test deadline.
func next(t *testing.T, st *client.ShapeStream) client.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := st.Next(ctx)
	if err != nil {
		t.Fatalf("Next() error = %v", err)
	}
	return b
}

func stream(t *testing.T, c *client.Client, req client.ShapeRequest) *client.ShapeStream {
	t.Helper()
	st, err := c.Stream(req)
	if err != nil {
		t.Fatalf("Stream(%+v) error = %v", req, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestStreamFollowsOffsetsHandlesAndCursors walks the protocol of §0 and
// §15.1: snapshot chunks by electric-offset and electric-handle, then live
// requests carrying live=true and the last electric-cursor.
func TestStreamFollowsOffsetsHandlesAndCursors(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			shapeResp{handle: "h1", offset: "0_0", body: array(insert(1, "a"))}.write(w, r)
		case 1:
			shapeResp{handle: "h1", offset: "0_1", body: array(insert(2, "b"), `{"headers":{"control":"snapshot-end","xmin":"1","xmax":"2","xip_list":[]}}`, upToDateMsg(5)), upToDate: true}.write(w, r)
		case 2:
			shapeResp{handle: "h1", offset: "100_2", cursor: "c1", body: array(change("update", 1, `{"id":"1","title":"A"}`, 100, 2), upToDateMsg(100)), upToDate: true}.write(w, r)
		default:
			shapeResp{handle: "h1", offset: "100_2", cursor: "c2", body: array(upToDateMsg(100)), upToDate: true}.write(w, r)
		}
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})

	b := next(t, st)
	if b.UpToDate || b.Live || len(b.Messages) != 1 || b.Offset != "0_0" || b.Handle != "h1" {
		t.Fatalf("first batch = %+v; want one message, offset 0_0, handle h1, not up to date", b)
	}
	if got := st.Schema().Names(); !cmp.Equal(got, []string{"id", "title"}) {
		t.Errorf("Schema().Names() = %v, want [id title] in header order", got)
	}
	b = next(t, st)
	if !b.UpToDate || b.Live || b.Offset != "0_1" {
		t.Fatalf("second batch = %+v; want up to date at 0_1, not live", b)
	}
	b = next(t, st)
	if !b.UpToDate || !b.Live || b.Offset != "100_2" || len(b.Messages) != 2 {
		t.Fatalf("third batch = %+v; want a live up-to-date batch at 100_2 with a change", b)
	}
	next(t, st)

	want := []string{
		"log=full&offset=-1&table=items",
		"handle=h1&log=full&offset=0_0&table=items",
		"handle=h1&live=true&log=full&offset=0_1&table=items",
		"cursor=c1&handle=h1&live=true&log=full&offset=100_2&table=items",
	}
	for i, w := range want {
		if got := f.request(i).URL.RawQuery; got != w {
			t.Errorf("request %d query = %q, want %q", i, got, w)
		}
	}
	if st.Offset() != "100_2" || st.Handle() != "h1" {
		t.Errorf("Offset(), Handle() = %q, %q; want 100_2, h1", st.Offset(), st.Handle())
	}
}

// TestStreamSendsDefinitionSorted: every definition parameter, the
// client's extra parameters and headers, sorted; columns quoted exactly.
func TestStreamSendsDefinitionSorted(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		shapeResp{handle: "h", offset: "0_0", body: array(upToDateMsg(1)), upToDate: true}.write(w, r)
	})
	c.Params = url.Values{"secret": {"s3cret"}, "table": {"ignored"}}
	c.Headers = http.Header{"Authorization": {"Bearer tok"}}
	st := stream(t, c, client.ShapeRequest{
		Table: `"My Schema".items`, Where: "owner = $1 AND n > $2", Params: []string{"ana", "3"},
		Columns: []string{"id", `we"ird,col`}, Replica: "full", ChangesOnly: true,
	})
	next(t, st)
	r := f.request(0)
	want := `columns=%22id%22%2C%22we%22%22ird%2Ccol%22&log=changes_only&offset=-1&params%5B1%5D=ana&params%5B2%5D=3&replica=full&secret=s3cret&table=%22My+Schema%22.items&where=owner+%3D+%241+AND+n+%3E+%242`
	if r.URL.RawQuery != want {
		t.Errorf("query = %s\nwant    %s", r.URL.RawQuery, want)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization = %q, want the client's header", got)
	}
	if r.URL.Path != client.ShapePath {
		t.Errorf("path = %q, want %q", r.URL.Path, client.ShapePath)
	}
}

// TestStreamBaseURLWithShapePath: a BaseURL already naming the endpoint
// (a proxy) is used as it is.
func TestStreamBaseURLWithShapePath(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		shapeResp{handle: "h", offset: "0_0", body: array(upToDateMsg(1)), upToDate: true}.write(w, r)
	})
	c.BaseURL += "/proxy/v1/shape"
	next(t, stream(t, c, client.ShapeRequest{Table: "items"}))
	if got := f.request(0).URL.Path; got != "/proxy/v1/shape" {
		t.Errorf("path = %q, want /proxy/v1/shape", got)
	}
}

// TestStreamMustRefetch: a 409 resets the stream to offset -1 with the
// new handle, surfaces a must-refetch batch, sends a cache-buster once
// and expired_handle on every later request (§9.3).
func TestStreamMustRefetch(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			shapeResp{handle: "h1", offset: "0_0", body: array(insert(1, "a"), upToDateMsg(5)), upToDate: true}.write(w, r)
		case 1:
			shapeResp{status: http.StatusConflict, handle: "h2", body: protocol.MustRefetchResponse}.write(w, r)
		case 2:
			shapeResp{handle: "h2", offset: "0_0", body: array(insert(2, "b"))}.write(w, r)
		default:
			shapeResp{handle: "h2", offset: "0_0", body: array(upToDateMsg(6)), upToDate: true}.write(w, r)
		}
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	next(t, st)
	b := next(t, st)
	if !b.MustRefetch || b.Handle != "h2" || b.Offset != "-1" || len(b.Messages) != 1 || !b.Messages[0].IsControl(protocol.ControlMustRefetch) {
		t.Fatalf("batch after 409 = %+v; want MustRefetch with one must-refetch message, handle h2, offset -1", b)
	}
	if st.Offset() != "-1" || st.Handle() != "h2" || st.Schema() != nil {
		t.Errorf("after 409: Offset, Handle, Schema = %q, %q, %v; want -1, h2, nil", st.Offset(), st.Handle(), st.Schema())
	}
	next(t, st)
	next(t, st)

	q := f.queries()
	if q[1].Get("live") != "true" {
		t.Errorf("request 1 = %v; want the live request that got the 409", q[1])
	}
	if q[2].Get("offset") != "-1" || q[2].Get("handle") != "h2" || q[2].Get("live") != "" || q[2].Get("cursor") != "" {
		t.Errorf("request after 409 = %v; want offset -1, handle h2, not live, no cursor", q[2])
	}
	if q[2].Get("cache-buster") == "" || q[2].Get("expired_handle") != "h1" {
		t.Errorf("request after 409 = %v; want a cache-buster and expired_handle=h1", q[2])
	}
	if q[3].Get("cache-buster") != "" || q[3].Get("expired_handle") != "h1" {
		t.Errorf("second request after 409 = %v; want expired_handle=h1 and no cache-buster", q[3])
	}
}

// TestStreamStaleCache: responses that keep carrying the expired handle
// are retried with a fresh cache-buster each, then fail with ErrStaleCache.
func TestStreamStaleCache(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			shapeResp{handle: "h1", offset: "0_0", body: array(upToDateMsg(5)), upToDate: true}.write(w, r)
		case 1:
			shapeResp{status: http.StatusConflict, handle: "h2", body: protocol.MustRefetchResponse}.write(w, r)
		default:
			shapeResp{handle: "h1", offset: "0_0", body: array(insert(1, "stale"), upToDateMsg(5)), upToDate: true}.write(w, r)
		}
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	next(t, st)
	next(t, st)
	_, err := st.Next(context.Background())
	if !errors.Is(err, client.ErrStaleCache) {
		t.Fatalf("Next() error = %v, want ErrStaleCache", err)
	}
	busters := map[string]bool{}
	for _, q := range f.queries()[2:] {
		busters[q.Get("cache-buster")] = true
	}
	if f.count() != 2+4 || len(busters) != 4 || busters[""] {
		t.Errorf("%d requests after the 409 with cache-busters %v; want 4, each with a different cache-buster", f.count()-2, busters)
	}
}

// TestStreamFatalStatus: 4xx other than 409 and 429 are final, not
// retried, and returned again by later calls.
func TestStreamFatalStatus(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.WriteHeader(status)
				w.Write([]byte(`{"message":"Invalid request","errors":{"where":["not supported"]}}`))
			})
			c.Params = url.Values{"secret": {"s3cret"}}
			st := stream(t, c, client.ShapeRequest{Table: "items"})
			_, err := st.Next(context.Background())
			var fe *client.FetchError
			if !errors.As(err, &fe) || fe.Status != status || fe.Body.Errors["where"][0] != "not supported" {
				t.Fatalf("Next() error = %#v; want *FetchError %d with the decoded body", err, status)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the secret", err)
			}
			if !strings.Contains(err.Error(), "where: not supported") {
				t.Errorf("error %q does not show the server's message", err)
			}
			if _, err2 := st.Next(context.Background()); err2 != err {
				t.Errorf("second Next() error = %v, want the same final error", err2)
			}
			if f.count() != 1 {
				t.Errorf("%d requests, want 1 (no retry)", f.count())
			}
		})
	}
}

// TestStreamMissingHeaders: a 200 without the headers §15.2 requires is
// ErrMissingHeaders, not retried.
func TestStreamMissingHeaders(t *testing.T) {
	tests := []struct {
		name string
		live bool
		omit string
	}{
		{"no handle", false, protocol.HeaderHandle},
		{"no offset", false, protocol.HeaderOffset},
		{"no schema on a non-live response", false, protocol.HeaderSchema},
		{"no cursor on a live response", true, protocol.HeaderCursor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				resp := shapeResp{handle: "h", offset: "0_0", body: array(upToDateMsg(1)), upToDate: true}
				if tt.live == (n == 1) {
					resp.omit = []string{tt.omit}
				}
				resp.write(w, r)
			})
			st := stream(t, c, client.ShapeRequest{Table: "items"})
			var err error
			for range 2 {
				if _, err = st.Next(context.Background()); err != nil {
					break
				}
			}
			if !errors.Is(err, client.ErrMissingHeaders) || !strings.Contains(err.Error(), tt.omit) {
				t.Fatalf("Next() error = %v; want ErrMissingHeaders naming %s", err, tt.omit)
			}
			if want := map[bool]int{false: 1, true: 2}[tt.live]; f.count() != want {
				t.Errorf("%d requests, want %d (no retry)", f.count(), want)
			}
		})
	}
}

// TestStreamBadResponses: bodies and headers that break the protocol are
// ErrBadResponse.
func TestStreamBadResponses(t *testing.T) {
	tests := []struct {
		name string
		resp shapeResp
	}{
		{"object body", shapeResp{handle: "h", offset: "0_0", body: `{"headers":{}}`}},
		{"truncated JSON", shapeResp{handle: "h", offset: "0_0", body: `[{"headers":`}},
		{"data message without key", shapeResp{handle: "h", offset: "0_0", body: `[{"value":{},"headers":{"operation":"insert"}}]`}},
		{"unknown operation", shapeResp{handle: "h", offset: "0_0", body: `[{"key":"k","headers":{"operation":"upsert"}}]`}},
		{"malformed offset", shapeResp{handle: "h", offset: "0-0", body: `[]`}},
		{"malformed schema", shapeResp{handle: "h", offset: "0_0", schema: `[1]`, body: `[]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { tt.resp.write(w, r) })
			_, err := stream(t, c, client.ShapeRequest{Table: "items"}).Next(context.Background())
			if !errors.Is(err, client.ErrBadResponse) {
				t.Fatalf("Next() error = %v, want ErrBadResponse", err)
			}
		})
	}
}

// TestStreamNoProgress: non-live responses that never advance nor reach
// up-to-date stop the stream instead of looping forever.
func TestStreamNoProgress(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		shapeResp{handle: "h", offset: "0_0", body: `[]`}.write(w, r)
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	var err error
	for range 10 {
		if _, err = st.Next(context.Background()); err != nil {
			break
		}
	}
	if !errors.Is(err, client.ErrNoProgress) {
		t.Fatalf("Next() error = %v, want ErrNoProgress", err)
	}
	if f.count() > 6 {
		t.Errorf("%d requests before giving up, want at most 6", f.count())
	}
}

// TestStream204 treats the legacy 204 as up to date with no data.
func TestStream204(t *testing.T) {
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			shapeResp{handle: "h", offset: "0_0", body: array(insert(1, "a"))}.write(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	next(t, st)
	b := next(t, st)
	if !b.UpToDate || len(b.Messages) != 0 || b.Offset != "0_0" || b.Handle != "h" {
		t.Fatalf("batch for 204 = %+v; want up to date, empty, position unchanged", b)
	}
}

// TestStreamResume: a stream made with a saved offset and handle starts
// there with a catch-up (non-live) request.
func TestStreamResume(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		shapeResp{handle: "h7", offset: "200_4", body: array(change("delete", 1, `{"id":"1"}`, 200, 4), upToDateMsg(200)), upToDate: true}.write(w, r)
	})
	st := stream(t, c, client.ShapeRequest{Table: "items", Offset: "100_2", Handle: "h7"})
	if st.Offset() != "100_2" || st.Handle() != "h7" {
		t.Fatalf("before Next: Offset, Handle = %q, %q; want the request's", st.Offset(), st.Handle())
	}
	next(t, st)
	if got := f.request(0).URL.RawQuery; got != "handle=h7&log=full&offset=100_2&table=items" {
		t.Errorf("resume query = %q; want the saved offset and handle, not live", got)
	}
}

// TestStreamOffsetNow starts at the end of the log.
func TestStreamOffsetNow(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		shapeResp{handle: "h", offset: "300_0", body: array(upToDateMsg(300)), upToDate: true}.write(w, r)
	})
	st := stream(t, c, client.ShapeRequest{Table: "items", Offset: "now"})
	if b := next(t, st); !b.UpToDate || b.Offset != "300_0" {
		t.Fatalf("batch = %+v; want up to date at 300_0", b)
	}
	if got := f.request(0).URL.Query().Get("offset"); got != "now" {
		t.Errorf("offset sent = %q, want now", got)
	}
}

// TestStreamInvalidRequests are refused without a request.
func TestStreamInvalidRequests(t *testing.T) {
	c := &client.Client{BaseURL: "http://127.0.0.1:1"}
	tests := []struct {
		name string
		req  client.ShapeRequest
	}{
		{"no table", client.ShapeRequest{}},
		{"bad replica", client.ShapeRequest{Table: "t", Replica: "partial"}},
		{"bad offset", client.ShapeRequest{Table: "t", Offset: "1-2", Handle: "h"}},
		{"offset without handle", client.ShapeRequest{Table: "t", Offset: "1_2"}},
		{"empty column", client.ShapeRequest{Table: "t", Columns: []string{""}}},
	}
	for _, tt := range tests {
		if _, err := c.Stream(tt.req); !errors.Is(err, client.ErrInvalidRequest) {
			t.Errorf("%s: Stream(%+v) error = %v, want ErrInvalidRequest", tt.name, tt.req, err)
		}
	}
	for _, base := range []string{"", "localhost:3000", "/v1/shape"} {
		c := &client.Client{BaseURL: base}
		if _, err := c.Stream(client.ShapeRequest{Table: "t"}); !errors.Is(err, client.ErrInvalidRequest) {
			t.Errorf("Stream with BaseURL %q error = %v, want ErrInvalidRequest", base, err)
		}
	}
}

// TestStreamLiveTimeoutRestarts: a live request held past LiveTimeout is
// abandoned and sent again, without an error.
func TestStreamLiveTimeoutRestarts(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			shapeResp{handle: "h", offset: "0_0", body: array(upToDateMsg(1)), upToDate: true}.write(w, r)
		case 1:
			<-r.Context().Done() // never answers
		default:
			shapeResp{handle: "h", offset: "10_0", body: array(change("insert", 1, `{"id":"1","title":"x"}`, 10, 0), upToDateMsg(10)), upToDate: true}.write(w, r)
		}
	})
	c.LiveTimeout = 50 * time.Millisecond
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	next(t, st)
	if b := next(t, st); b.Offset != "10_0" {
		t.Fatalf("batch = %+v; want the answer of the repeated live request", b)
	}
	if f.count() != 3 {
		t.Errorf("%d requests, want 3", f.count())
	}
}

// TestStreamCancelDuringLongPoll: cancelling Next's context ends the held
// request at once, leaves no goroutine behind, and the stream resumes.
func TestStreamCancelDuringLongPoll(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	held := make(chan struct{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			shapeResp{handle: "h", offset: "0_0", body: array(upToDateMsg(1)), upToDate: true}.write(w, r)
		case 1:
			close(held)
			<-r.Context().Done()
		default:
			shapeResp{handle: "h", offset: "10_0", body: array(upToDateMsg(10)), upToDate: true}.write(w, r)
		}
	})
	c.HTTPClient = &http.Client{Transport: tr}
	st, err := c.Stream(client.ShapeRequest{Table: "items"})
	if err != nil {
		t.Fatal(err)
	}
	next(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-held; cancel() }()
	start := time.Now()
	if _, err := st.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next() error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Next returned %v after cancellation", d)
	}
	if b := next(t, st); b.Offset != "10_0" {
		t.Errorf("Next after cancellation = %+v; want the stream to continue", b)
	}
	if q := f.queries()[2]; q.Get("offset") != "0_0" || q.Get("live") != "true" {
		t.Errorf("request after cancellation = %v; want the same live request again", q)
	}
	f.srv.Close()
}

// TestStreamAll ranges over batches and stops on the first error.
func TestStreamAll(t *testing.T) {
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n < 2 {
			shapeResp{handle: "h", offset: "0_" + string(rune('0'+n)), body: array(insert(n, "x"))}.write(w, r)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	var batches int
	var last error
	for _, err := range st.All(context.Background()) {
		if err != nil {
			last = err
			continue
		}
		batches++
	}
	var fe *client.FetchError
	if batches != 2 || !errors.As(last, &fe) || fe.Status != 400 {
		t.Errorf("All gave %d batches and error %v; want 2 and a 400 FetchError", batches, last)
	}
}

// TestDeleteShape sends DELETE with the definition and the handle.
func TestDeleteShape(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"No existing shape found"}`))
	})
	c.Params = url.Values{"secret": {"x"}}
	if err := c.DeleteShape(context.Background(), client.ShapeRequest{Table: "items", Handle: "h1"}); err != nil {
		t.Fatalf("DeleteShape() error = %v", err)
	}
	r := f.request(0)
	if r.Method != http.MethodDelete || r.URL.RawQuery != "handle=h1&log=full&secret=x&table=items" {
		t.Errorf("request = %s %s; want DELETE with table, handle and secret", r.Method, r.URL.RawQuery)
	}
	err := c.DeleteShape(context.Background(), client.ShapeRequest{Handle: "h1"})
	var fe *client.FetchError
	if !errors.As(err, &fe) || fe.Status != 404 || fe.Body.Message != "No existing shape found" {
		t.Fatalf("DeleteShape() of a missing shape error = %v; want a 404 FetchError", err)
	}
	if got := f.request(1).URL.RawQuery; got != "handle=h1&secret=x" {
		t.Errorf("delete by handle query = %q, want handle and secret only", got)
	}
	if err := c.DeleteShape(context.Background(), client.ShapeRequest{}); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("DeleteShape() without table or handle error = %v, want ErrInvalidRequest", err)
	}
}
