package nodeclient

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	fakeKey1   = `"public"."t"/"1"`
	fakeKey2   = `"public"."t"/"2"`
	fakeSchema = `{"id":{"type":"int4","pk_index":0},"v":{"type":"text"}}`
	upToDate   = `[{"headers":{"control":"up-to-date","global_last_seen_lsn":"0"}}]`
)

func snapshotBody(id, v string) string {
	return `[{"key":"\"public\".\"t\"/\"` + id + `\"","value":{"id":"` + id + `","v":"` + v + `"},` +
		`"headers":{"operation":"insert","relation":["public","t"]}},` +
		`{"headers":{"control":"snapshot-end","xmin":"1","xmax":"1","xip_list":[]}}]`
}

// fakeShape answers like a minimal Galvani for one shape whose snapshot is given by
// snapshot(handle query param) → (handle, body); handleFor409 lists handles whose
// catch-up request is answered 409 with the given new handle.
type fakeShape struct {
	snapshot func(reqHandle string) (handle, body string)
	expired  map[string]string // old handle → new handle

	mu       sync.Mutex
	requests []string
}

func (f *fakeShape) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RawQuery)
	f.mu.Unlock()

	h := w.Header()
	h.Set("access-control-allow-origin", "*")
	h.Set("access-control-expose-headers", "electric-cursor,electric-handle,electric-offset,electric-schema,electric-up-to-date,retry-after")
	h.Set("content-type", "application/json; charset=utf-8")
	h.Set("cache-control", "no-store")

	if r.URL.Path != "/v1/shape" || q.Get("table") != "t" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"Invalid request","errors":{"table":["unexpected"]}}`))
		return
	}
	offset, handle := q.Get("offset"), q.Get("handle")
	switch {
	case offset == "-1":
		newHandle, body := f.snapshot(handle)
		h.Set("electric-handle", newHandle)
		h.Set("electric-offset", "0_0")
		h.Set("electric-schema", fakeSchema)
		_, _ = w.Write([]byte(body))
	case f.expired[handle] != "":
		h.Set("electric-handle", f.expired[handle])
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write([]byte(`[{"headers":{"control":"must-refetch"}}]`))
	case offset == "0_0" && q.Get("live") != "true":
		h.Set("electric-handle", handle)
		h.Set("electric-offset", "0_0")
		h.Set("electric-up-to-date", "")
		h.Set("electric-schema", fakeSchema)
		_, _ = w.Write([]byte(upToDate))
	case offset == "0_0":
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
			return
		}
		h.Set("electric-handle", handle)
		h.Set("electric-offset", "0_0")
		h.Set("electric-up-to-date", "")
		h.Set("electric-cursor", "1")
		_, _ = w.Write([]byte(upToDate))
	default:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"Invalid request","errors":{"offset":["out of bounds for this shape"]}}`))
	}
}

func (f *fakeShape) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.requests, "\n")
}

// syncBuffer is a goroutine-safe buffer for the Node process's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startNode starts sync.mjs or fails the test (with the install hint when
// node_modules is missing).
func startNode(t *testing.T, ctx context.Context, cfg Config) *Process {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Node; skipped in -short mode")
	}
	stderr := &syncBuffer{}
	p, err := Start(ctx, cfg, stderr)
	if err != nil {
		t.Fatalf("starting sync.mjs: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil && ctx.Err() == nil {
			t.Errorf("Stop: %v", err)
		}
		if s := stderr.String(); s != "" {
			t.Logf("sync.mjs stderr:\n%s", s)
		}
	})
	return p
}

func checkRow(t *testing.T, what string, rows map[string]map[string]*string, key string, want map[string]string) {
	t.Helper()
	row, ok := rows[key]
	if !ok {
		t.Fatalf("%s: no row %s in %v", what, key, rows)
	}
	if len(row) != len(want) {
		t.Fatalf("%s: row %s has %d columns, want %d", what, key, len(row), len(want))
	}
	for col, w := range want {
		g := row[col]
		if g == nil || *g != w {
			t.Fatalf("%s: row %s column %s = %v, want %q", what, key, col, show(g), w)
		}
	}
}

func TestFakeServerSmoke(t *testing.T) {
	fake := &fakeShape{snapshot: func(string) (string, string) { return "h1", snapshotBody("1", "a") }}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startNode(t, ctx, Config{
		URL:     srv.URL + "/v1/shape",
		Shapes:  []ShapeConfig{{Name: "t", Params: map[string]string{"table": "t"}}},
		Verbose: true,
	})

	if _, err := p.WaitFor(ctx, func(e Event) bool { return e.Event == EventStarted }); err != nil {
		t.Fatal(err)
	}
	sawInsert := false
	ev, err := p.WaitFor(ctx, func(e Event) bool {
		if e.Event == EventMessage && strings.Contains(string(e.Message), `"operation":"insert"`) {
			sawInsert = true
		}
		return e.Event == EventUpToDate && e.Shape == "t"
	})
	if err != nil {
		t.Fatalf("%v\nrequests:\n%s", err, fake.log())
	}
	if !sawInsert {
		t.Errorf("no verbose message event for the insert")
	}
	if ev.Handle != "h1" || ev.Offset != "0_0" || ev.LSN == nil || *ev.LSN != "0" {
		t.Errorf("up-to-date event = %v", ev)
	}
	want := map[string]string{"id": "1", "v": "a"} // id stays the string "1" despite int4
	checkRow(t, "rows", ev.Rows, fakeKey1, want)
	checkRow(t, "shapeRows", ev.ShapeRows, fakeKey1, want)
	if len(ev.Rows) != 1 || len(ev.ShapeRows) != 1 {
		t.Errorf("rows = %v, shapeRows = %v; want one row each", ev.Rows, ev.ShapeRows)
	}

	// The live long-poll (held 1 s) ends in another up-to-date.
	ev, err = p.WaitFor(ctx, func(e Event) bool { return e.Event == EventUpToDate })
	if err != nil {
		t.Fatalf("%v\nrequests:\n%s", err, fake.log())
	}
	checkRow(t, "live rows", ev.Rows, fakeKey1, want)
	if !strings.Contains(fake.log(), "live=true") {
		t.Errorf("no live request seen:\n%s", fake.log())
	}

	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, ok := <-p.Events(); ok {
		t.Fatalf("Events not closed after Stop")
	}
}

func TestFakeServerMustRefetch(t *testing.T) {
	fake := &fakeShape{
		snapshot: func(reqHandle string) (string, string) {
			if reqHandle == "h2" {
				return "h2", snapshotBody("2", "b")
			}
			return "h1", snapshotBody("1", "a")
		},
		expired: map[string]string{"h1": "h2"},
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startNode(t, ctx, Config{
		URL:    srv.URL + "/v1/shape",
		Shapes: []ShapeConfig{{Name: "t", Params: map[string]string{"table": "t"}}},
	})
	if _, err := p.WaitFor(ctx, func(e Event) bool { return e.Event == EventMustRefetch && e.Shape == "t" }); err != nil {
		t.Fatalf("%v\nrequests:\n%s", err, fake.log())
	}
	ev, err := p.WaitFor(ctx, func(e Event) bool { return e.Event == EventUpToDate })
	if err != nil {
		t.Fatalf("%v\nrequests:\n%s", err, fake.log())
	}
	if ev.Handle != "h2" {
		t.Errorf("handle = %q, want h2", ev.Handle)
	}
	want := map[string]string{"id": "2", "v": "b"}
	checkRow(t, "rows", ev.Rows, fakeKey2, want)
	checkRow(t, "shapeRows", ev.ShapeRows, fakeKey2, want)
	if len(ev.Rows) != 1 || len(ev.ShapeRows) != 1 {
		t.Errorf("rows = %v, shapeRows = %v; want only the row of the new handle", ev.Rows, ev.ShapeRows)
	}
}

func TestFakeServerError(t *testing.T) {
	fake := &fakeShape{snapshot: func(string) (string, string) { return "h1", snapshotBody("1", "a") }}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startNode(t, ctx, Config{
		URL:    srv.URL + "/v1/shape",
		Shapes: []ShapeConfig{{Name: "bad", Params: map[string]string{"table": "nope"}}},
	})
	ev, err := p.WaitFor(ctx, func(e Event) bool { return e.Event == EventError })
	if err != nil {
		t.Fatal(err)
	}
	if ev.Shape != "bad" || ev.Status == nil || *ev.Status != 400 || !strings.Contains(ev.Text, "Invalid request") {
		t.Fatalf("error event = %v", ev)
	}
}

func TestWaitForTimeoutNamesLastEvents(t *testing.T) {
	// Nothing listens on the port: the client keeps retrying, so the wait times out.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startNode(t, ctx, Config{
		URL:    url + "/v1/shape",
		Shapes: []ShapeConfig{{Name: "x", Params: map[string]string{"table": "x"}}},
	})
	if _, err := p.WaitFor(ctx, func(e Event) bool { return e.Event == EventFetchFailed && e.Shape == "x" }); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	_, err := p.WaitFor(short, func(e Event) bool { return e.Event == EventUpToDate })
	if err == nil {
		t.Fatal("WaitFor succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "x: [fetch-failed") || !strings.Contains(err.Error(), "(no shape): [started]") {
		t.Fatalf("error does not name the last events: %v", err)
	}
}

func TestContextCancelEndsProcess(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	p := startNode(t, ctx, Config{
		URL:    url + "/v1/shape",
		Shapes: []ShapeConfig{{Name: "x", Params: map[string]string{"table": "x"}}},
	})
	if _, err := p.WaitFor(ctx, func(e Event) bool { return e.Event == EventStarted }); err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-p.Events():
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("Events not closed 10 s after the context ended")
		}
	}
}
